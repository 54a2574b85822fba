#!/usr/bin/env bash
# bench_rest.sh - the JSON REST API of one fresh meshgate node on loopback:
# login, mail send, listing an Inbox of 1,000 messages, contact create (with a
# CardDAV PUT of the same contact beside it), and the server's memory. Not part
# of ctest: a benchmark prints numbers, it never fails because a machine is
# slow; it exits non-zero only when a request failed.
#
#   tests/bench/bench_rest.sh [--bin PATH] [--quick] [--threads T]
#
#   --bin PATH     meshgate binary (default: ./build/meshgate)
#   --quick        a smoke run of about 30 s with small counts
#   --threads T    client threads, each on its own kept-alive connection (default 4)
#
# Counts (environment; the defaults keep a run under about 3 minutes on 2 cores):
#   REST_BENCH_LOGINS   logins (default 200, --quick 30)
#   REST_BENCH_SENDS    mails from a to b (default 600, --quick 100)
#   REST_BENCH_SENDS3   mails from a to b, c and d (default 300, --quick 50)
#   REST_BENCH_INBOX    messages in b's Inbox before it is listed (default 1000)
#   REST_BENCH_LISTS    first-page listings per page size (default 500, --quick 100)
#   REST_BENCH_WALKS    walks of the whole Inbox by cursor per page size (default 20, --quick 4)
#   REST_BENCH_CONTACTS contacts created over REST, and again over CardDAV (default 1000, --quick 100)
#   REST_BENCH_SECONDS  time limit of each row; a row stops early past it (default 40, --quick 8)
#
# Each row: requests done, failed, requests/s, p50 and p99 latency in ms (a
# walk counts as one request: every page of the Inbox in turn, by the "next"
# cursor). A login runs argon2id (t=2, 19 MiB) to unwrap the account's key,
# and once more to check the password when it is not cached; each of the two
# runs at most 2 at once, so with more client threads p50 includes the wait
# for a slot, and the peak can hold four 19 MiB buffers. Sending to 3
# recipients seals 4 copies (3 Inboxes and Sent). Memory: the server's RSS
# (VmRSS) and peak (VmHWM) when idle after start-up and after each group of
# rows. The set-up (temporary directory, free port, stopping the server) is
# tests/integration/lib.sh's.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN="$ROOT/build/meshgate"
THREADS=4
QUICK=0
while (($#)); do
    case "$1" in
    --bin) BIN=$2; shift ;;
    --quick) QUICK=1 ;;
    --threads) THREADS=$2; shift ;;
    -h | --help)
        awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
        exit 0
        ;;
    *)
        echo "bench_rest.sh: unknown option $1 (see --help)" >&2
        exit 2
        ;;
    esac
    shift
done
# count NAME DEFAULT QUICK: the environment's value, or the default for this kind of run
count() {
    local v=${!1:-}
    if [[ -z "$v" ]]; then
        v=$2
        if ((QUICK)); then v=$3; fi
    fi
    if [[ ! "$v" =~ ^[0-9]+$ ]] || ((v < 1 || v > 100000)); then
        echo "bench_rest.sh: $1 wants 1..100000" >&2
        exit 2
    fi
    echo "$v"
}
LOGINS=$(count REST_BENCH_LOGINS 200 30)
SENDS=$(count REST_BENCH_SENDS 600 100)
SENDS3=$(count REST_BENCH_SENDS3 300 50)
INBOX=$(count REST_BENCH_INBOX 1000 1000)
LISTS=$(count REST_BENCH_LISTS 500 100)
WALKS=$(count REST_BENCH_WALKS 20 4)
CONTACTS=$(count REST_BENCH_CONTACTS 1000 100)
SECONDS_PER_ROW=$(count REST_BENCH_SECONDS 40 8)
if [[ ! "$THREADS" =~ ^[0-9]+$ ]] || ((THREADS < 1 || THREADS > 64)); then
    echo "bench_rest.sh: --threads wants 1..64" >&2
    exit 2
fi
if [[ ! -x "$BIN" ]]; then
    echo "bench_rest.sh: no meshgate binary at $BIN; build first" >&2
    exit 2
fi

# the integration tests' set-up: temporary data directory, free port, a
# watchdog and a trap that stop the server; each row of requests is a check
source "$ROOT/tests/integration/lib.sh"
mg_init "$BIN"
require_cmd python3
export MESHGATE_LOG_LEVEL=${MESHGATE_LOG_LEVEL:-warn}
PW="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
for u in a b c d; do mg_add_user "$u" "$PW"; done
mg_start
LOAD=(python3 "$ROOT/tests/bench/rest_load.py")

ROWS=()
MEM=()
# memory LABEL: notes the server's RSS and peak now
memory() {
    MEM+=("$1 $(awk '/^VmRSS:/ {r = $2} /^VmHWM:/ {h = $2} END {print r + 0, h + 0}' \
        "/proc/$MG_PID/status" 2>/dev/null || echo 0 0)")
}
# rest COMMAND ARGS...: one rest_load.py command against the server
rest() { "${LOAD[@]}" "$1" --base "$MG_BASE" "${@:2}"; }
# load COMMAND NAME COUNT ARGS...: one row of requests; a failed request fails the run
load() {
    local cmd=$1 name=$2 n=$3 out
    shift 3
    log "$name ($n) ..."
    if out=$(rest "$cmd" --name "$name" --count "$n" --threads "$THREADS" \
        --seconds "$SECONDS_PER_ROW" "$@"); then
        pass "$name"
    else
        fail "$name: some requests failed (above)"
    fi
    out=$(printf '%s\n' "$out" | sed -n 's/^ROW //p' | tail -n 1)
    ROWS+=("${out:-$name: no result}")
    LAST_DONE=$(awk '{print $(NF - 5) + 0}' <<<"${out:-0 0 0 0 0 0}")
    expect_alive "$name"
}

sleep 1
memory "idle after start-up"

load login login "$LOGINS" --user a --password "$PW"
memory "after login"

TA=$(rest token --user a --password "$PW")
TB=$(rest token --user b --password "$PW")
load send "send a -> b" "$SENDS" --token "$TA" --to b
load send "send a -> b,c,d" "$SENDS3" --token "$TA" --to b,c,d
memory "after send"

# b's Inbox to REST_BENCH_INBOX messages (untimed), then listed
have=$(rest inbox --token "$TB")
if ((have < INBOX)); then
    log "filling b's Inbox from $have to $INBOX messages ..."
    check "fill b's Inbox" rest send --name fill --count $((INBOX - have)) --threads "$THREADS" \
        --seconds 300 --token "$TA" --to b >/dev/null
fi
INBOX=$(rest inbox --token "$TB")
load list "list Inbox, first page of 50" "$LISTS" --token "$TB" --limit 50 --expect "$INBOX"
load list "list Inbox, first page of 200" "$LISTS" --token "$TB" --limit 200 --expect "$INBOX"
load walk "walk Inbox, pages of 50" "$WALKS" --token "$TB" --limit 50 --expect "$INBOX"
load walk "walk Inbox, pages of 200" "$WALKS" --token "$TB" --limit 200 --expect "$INBOX"
memory "after listing"

BOOK=$(rest books --token "$TA")
created=0
if [[ "$BOOK" == none ]]; then
    ROWS+=("contact create: route not available")
    BOOK=contacts
else
    load contacts "contact create (REST, jCard)" "$CONTACTS" --token "$TA" --book "$BOOK"
    created=$LAST_DONE
fi
load davput "contact PUT (CardDAV, vCard)" "$CONTACTS" --user a --password "$PW" --book "$BOOK"
created=$((created + LAST_DONE))
# every acknowledged contact is stored: PROPFIND Depth 1 answers for each and the book
mg_request PROPFIND "$MG_BASE/dav/addressbooks/a/$BOOK/" -u "a:$PW" -H 'Depth: 1'
stored=$({ grep -oE '<([A-Za-z0-9]+:)?response[ >]' "$LAST_BODY_FILE" || true; } | wc -l)
expect_eq "$((stored - 1))" "$created" "contacts in the address book"
memory "after contacts"
sleep 1
memory "idle at the end"

# ---- report ---------------------------------------------------------------------------

echo
echo "bench_rest: $("$MG_BIN" --version 2>/dev/null | head -n 1 || echo "$BIN"), $(nproc) cores," \
    "$THREADS client threads (kept-alive), Inbox of $INBOX messages"
python3 - "${ROWS[@]}" -- "${MEM[@]}" <<'PY'
import sys
args = sys.argv[1:]
cut = args.index("--")
rows, mem = args[:cut], args[cut + 1:]
print(f"{'operation':34}{'count':>8}{'failed':>8}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
for r in rows:
    f = r.split()
    if len(f) < 7 or not f[-6].isdigit():
        print(r)
        continue
    name, (done, failed, _secs, rps, p50, p99) = " ".join(f[:-6]), f[-6:]
    print(f"{name:34}{done:>8}{failed:>8}{float(rps):>10.1f}{float(p50):>10.1f}{float(p99):>10.1f}")
print()
print(f"{'server memory (MiB)':34}{'RSS':>8}{'peak':>8}")
for m in mem:
    f = m.split()
    label, rss, hwm = " ".join(f[:-2]), int(f[-2]), int(f[-1])
    print(f"{label:34}{rss / 1024:>8.1f}{hwm / 1024:>8.1f}")
PY
mg_finish
