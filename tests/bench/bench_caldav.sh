#!/usr/bin/env bash
# bench_caldav.sh - meshgate next to Radicale and Xandikos (Debian packages)
# on loopback, each loaded with the same calendar of N events (default
# 10,000: two years of one-hour events, some in Europe/Berlin with their
# VTIMEZONE, 2% all-day, 3% weekly recurring without end). Not part of
# ctest: a benchmark prints numbers, it never fails because a machine is slow.
#
#   tests/bench/bench_caldav.sh [--bin PATH] [--events N] [--repeat K] [--parallel P]
#
#   --bin PATH      meshgate binary (default: ./build/meshgate)
#   --events N      events in the calendar (default 10000)
#   --repeat K      runs of each query; the median is printed (default 5)
#   --parallel P    concurrent uploads while loading (default 8)
#   --servers LIST  comma-separated subset of meshgate,radicale,xandikos
#
# Rows: PUT rate over the first 1,000 events (curl, kept-alive connections, P
# in parallel; meshgate loads all N by PUT and its rate over the rest is
# logged; the peers get the rest written straight into their storage, far
# faster than their PUT: Radicale's folder of .ics files, Xandikos' git tree);
# PROPFIND Depth 1 of the calendar (getetag, getcontenttype); calendar-multiget
# of 100 events; a one-month time-range calendar-query returning
# calendar-data; sync-collection from an empty token; sync-collection from a
# recent token (10 changes since); each server's peak RSS (VmHWM) and RSS at
# the end. meshgate's peak includes the argon2id check of the first login
# (Basic credentials are cached after it); Radicale's htpasswd here is plain.
# Radicale runs with htpasswd auth (plain); Xandikos has no authentication.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN="$ROOT/build/meshgate"
EVENTS=10000
REPEAT=5
PARALLEL=8
SERVERS=meshgate,radicale,xandikos
while (($#)); do
    case "$1" in
    --bin) BIN=$2; shift ;;
    --events) EVENTS=$2; shift ;;
    --repeat) REPEAT=$2; shift ;;
    --parallel) PARALLEL=$2; shift ;;
    --servers) SERVERS=$2; shift ;;
    -h | --help)
        sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "bench_caldav.sh: unknown option $1 (see --help)" >&2
        exit 2
        ;;
    esac
    shift
done
if [[ ! "$EVENTS" =~ ^[0-9]+$ ]] || ((EVENTS < 200 || EVENTS > 1000000)); then
    echo "bench_caldav.sh: --events wants 200..1000000" >&2
    exit 2
fi

bash "$ROOT/scripts/setup.sh" --bench
for c in radicale xandikos curl /usr/bin/python3; do
    if ! command -v "$c" >/dev/null 2>&1; then
        echo "bench_caldav.sh: $c missing (scripts/setup.sh --bench)" >&2
        exit 2
    fi
done
if [[ ! -x "$BIN" ]]; then
    echo "bench_caldav.sh: no meshgate binary at $BIN; build first" >&2
    exit 2
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/meshgate-bench-caldav.XXXXXX")
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        if kill -0 "$p" 2>/dev/null; then
            kill -TERM "$p" 2>/dev/null || true
            for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
            kill -KILL "$p" 2>/dev/null || true
            wait "$p" 2>/dev/null || true
        fi
    done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ns() { date +%s%N; }
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
    local p
    for _ in $(seq 1 50); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        if port_free "$p"; then echo "$p"; return 0; fi
    done
    return 1
}
wait_http() {
    local deadline=$(($(date +%s) + 30)) code
    while (($(date +%s) < deadline)); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true)
        if [[ "$code" != 000 ]]; then return 0; fi
        sleep 0.05
    done
    return 1
}
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# ---- the calendar ------------------------------------------------------------------

mkdir -p "$T/events"
/usr/bin/python3 - "$T/events" "$EVENTS" <<'PY'
import random, sys
out, n = sys.argv[1], int(sys.argv[2])
random.seed(42)
TZ = """BEGIN:VTIMEZONE\r
TZID:Europe/Berlin\r
BEGIN:DAYLIGHT\r
TZOFFSETFROM:+0100\r
TZOFFSETTO:+0200\r
TZNAME:CEST\r
DTSTART:19700329T020000\r
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r
END:DAYLIGHT\r
BEGIN:STANDARD\r
TZOFFSETFROM:+0200\r
TZOFFSETTO:+0100\r
TZNAME:CET\r
DTSTART:19701025T030000\r
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r
END:STANDARD\r
END:VTIMEZONE\r
"""
for i in range(n):
    day = random.randrange(0, 730)
    y, doy = (2024, day) if day < 366 else (2025, day - 366)
    import datetime as dt
    d = dt.date(y, 1, 1) + dt.timedelta(days=doy)
    h = random.randrange(7, 19)
    kind = random.random()
    uid = f"bench-{i:06d}@meshgate.bench"
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//meshgate bench//EN"]
    body = [f"UID:{uid}", "DTSTAMP:20240101T000000Z", f"SUMMARY:Event {i}",
            f"DESCRIPTION:Benchmark event number {i} with a little text to look real."]
    if kind < 0.02:
        body += [f"DTSTART;VALUE=DATE:{d:%Y%m%d}",
                 f"DTEND;VALUE=DATE:{d + dt.timedelta(days=1):%Y%m%d}"]
        tz = ""
    elif kind < 0.05:
        body += [f"DTSTART;TZID=Europe/Berlin:{d:%Y%m%d}T{h:02d}0000",
                 f"DTEND;TZID=Europe/Berlin:{d:%Y%m%d}T{h:02d}3000",
                 "RRULE:FREQ=WEEKLY"]
        tz = TZ
    elif kind < 0.5:
        body += [f"DTSTART;TZID=Europe/Berlin:{d:%Y%m%d}T{h:02d}0000",
                 f"DTEND;TZID=Europe/Berlin:{d:%Y%m%d}T{h + 1:02d}0000"]
        tz = TZ
    else:
        body += [f"DTSTART:{d:%Y%m%d}T{h:02d}0000Z", f"DTEND:{d:%Y%m%d}T{h + 1:02d}0000Z"]
        tz = ""
    text = "\r\n".join(lines) + "\r\n" + tz + "BEGIN:VEVENT\r\n" + "\r\n".join(body) + \
        "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    with open(f"{out}/e{i:06d}.ics", "w", newline="") as f:
        f.write(text)
PY

cat >"$T/propfind.xml" <<'EOF'
<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:getcontenttype/></D:prop></D:propfind>
EOF
cat >"$T/month.xml" <<'EOF'
<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="20250301T000000Z" end="20250401T000000Z"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>
EOF
cat >"$T/sync-empty.xml" <<'EOF'
<?xml version="1.0" encoding="utf-8"?>
<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level>
<D:prop><D:getetag/></D:prop></D:sync-collection>
EOF

# ---- helpers -----------------------------------------------------------------------------

# load NAME BASEURL LIST AUTH...: PUTs the events listed in LIST, P at a time;
# prints events/s
load() {
    local name=$1 base=$2 list=$3 cfg="$T/put-$1.cfg" f t0 t1 n
    shift 3
    n=$(wc -l <"$list")
    {
        local sep=""
        while IFS= read -r f; do
            printf '%surl = "%s%s"\nupload-file = "%s"\noutput = "/dev/null"\n' "$sep" "$base" \
                "$(basename "$f")" "$f"
            # no "Expect: 100-continue": Python servers do not answer it and
            # curl would wait a second per request
            printf 'header = "Content-Type: text/calendar; charset=utf-8"\nheader = "Expect:"\n'
            if (($#)); then printf 'user = "%s"\n' "$1"; fi
            printf 'write-out = "%%{http_code}\\n"\n'
            sep="next"$'\n'
        done <"$list"
    } >"$cfg"
    t0=$(now_ns)
    curl -s --no-progress-meter --parallel --parallel-max "$PARALLEL" -K "$cfg" \
        >"$T/put-$name.codes" || true
    t1=$(now_ns)
    local ok
    ok=$(grep -cE '^20[14]$' "$T/put-$name.codes" || true)
    if ((ok != n)); then
        echo "warning: $name stored $ok of $n events ($(sort "$T/put-$name.codes" |
            uniq -c | tr '\n' ' '))" >&2
    fi
    awk -v n="$ok" -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f\n", n / (ns / 1e9) }'
}

# timed REPEAT METHOD URL BODYFILE AUTH...: median milliseconds of REPEAT requests
# (kept-alive connection: one curl process); the last body is in $T/last.out
timed() {
    local reps=$1 method=$2 url=$3 body=$4 cfg="$T/timed.cfg" i
    shift 4
    : >"$cfg"
    for ((i = 0; i < reps; i++)); do
        {
            if ((i)); then printf 'next\n'; fi
            printf 'url = "%s"\nrequest = "%s"\noutput = "%s/last.out"\n' "$url" "$method" "$T"
            printf 'header = "Depth: 1"\nheader = "Content-Type: application/xml; charset=utf-8"\n'
            printf 'data-binary = "@%s"\nwrite-out = "%%{http_code} %%{time_total}\\n"\n' "$body"
            if (($#)); then printf 'user = "%s"\n' "$1"; fi
        } >>"$cfg"
    done
    curl -s -K "$cfg" >"$T/timed.txt" || true
    if ! grep -qE '^20[07] ' "$T/timed.txt"; then
        echo "warning: $method $url answered $(head -n 1 "$T/timed.txt")" >&2
    fi
    awk '{ print $2 * 1000 }' "$T/timed.txt" | sort -n |
        awk '{ v[NR] = $1 } END { printf "%.1f\n", NR ? v[int((NR + 1) / 2)] : 0 }'
}

# multiget BASE PATHPREFIX: a calendar-multiget body of 100 events into $T/multiget.xml
multiget_body() {
    local prefix=$1 i
    {
        printf '<?xml version="1.0" encoding="utf-8"?>\n'
        printf '<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">\n'
        printf '<D:prop><D:getetag/><C:calendar-data/></D:prop>\n'
        for ((i = 0; i < 100; i++)); do
            printf '<D:href>%se%06d.ics</D:href>\n' "$prefix" $((i * (EVENTS / 100)))
        done
        printf '</C:calendar-multiget>\n'
    } >"$T/multiget.xml"
}

count_responses() { grep -oE '<([A-Za-z0-9]+:)?response[ >]' "$T/last.out" | wc -l; }

# run_suite NAME BASEURL PATHPREFIX PID BULK AUTH...: every row for one server, as
# "name put propfind multiget month syncempty syncrecent hwm counts"; BULK is a
# command that stores the events of $T/rest.list without HTTP ("" = PUT them)
run_suite() {
    local name=$1 base=$2 prefix=$3 pid=$4 bulk=$5
    shift 5
    local put all pf mg month se sr tok n_pf n_month n_se n_sr i
    echo "$name: PUT of the first $(wc -l <"$T/sample.list") events ..." >&2
    put=$(load "$name" "$base" "$T/sample.list" "$@")
    if [[ -s "$T/rest.list" ]]; then
        echo "$name: loading the other $(wc -l <"$T/rest.list") events ..." >&2
        if [[ -n "$bulk" ]]; then
            $bulk
        else
            all=$(load "$name-rest" "$base" "$T/rest.list" "$@")
            echo "$name: PUT rate over the other events: $all events/s" >&2
        fi
    fi
    # one untimed request first: caches that servers fill lazily are warm
    timed 1 PROPFIND "$base" "$T/propfind.xml" "$@" >/dev/null
    pf=$(timed "$REPEAT" PROPFIND "$base" "$T/propfind.xml" "$@")
    n_pf=$(count_responses)
    multiget_body "$prefix"
    mg=$(timed "$REPEAT" REPORT "$base" "$T/multiget.xml" "$@")
    month=$(timed "$REPEAT" REPORT "$base" "$T/month.xml" "$@")
    n_month=$(count_responses)
    se=$(timed "$REPEAT" REPORT "$base" "$T/sync-empty.xml" "$@")
    n_se=$(count_responses)
    tok=$(grep -oE '<([A-Za-z0-9]+:)?sync-token>[^<]+' "$T/last.out" | sed 's/.*>//' | tail -n 1)
    # ten changes after the token, then sync from it
    for ((i = 0; i < 10; i++)); do
        sed "s/SUMMARY:Event/SUMMARY:Changed event/" "$T/events/e$(printf %06d $((i * 7)))".ics \
            >"$T/changed.ics"
        curl -s -o /dev/null ${1:+-u "$1"} -X PUT -H 'Content-Type: text/calendar' -H 'Expect:' \
            --data-binary "@$T/changed.ics" "$base$(printf 'e%06d' $((i * 7))).ics"
    done
    cat >"$T/sync-recent.xml" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<D:sync-collection xmlns:D="DAV:"><D:sync-token>$tok</D:sync-token><D:sync-level>1</D:sync-level>
<D:prop><D:getetag/></D:prop></D:sync-collection>
EOF
    sr=$(timed "$REPEAT" REPORT "$base" "$T/sync-recent.xml" "$@")
    n_sr=$(count_responses)
    echo "$name $put $pf $mg $month $se $sr $(hwm_kib "$pid") $(rss_kib "$pid")" \
        "$n_pf/$n_month/$n_se/$n_sr"
}

# the first SAMPLE events are PUT to every server; the rest is loaded in bulk
SAMPLE=1000
if ((SAMPLE > EVENTS)); then SAMPLE=$EVENTS; fi
find "$T/events" -name "*.ics" | sort | sed -n "1,${SAMPLE}p" >"$T/sample.list"
find "$T/events" -name '*.ics' | sort | tail -n +"$((SAMPLE + 1))" >"$T/rest.list"

radicale_bulk() {
    xargs -a "$T/rest.list" cp -t "$T/radicale/collections/collection-root/bench/bench/"
}
xandikos_bulk() {
    local d="$T/xandikos/user/calendars/calendar"
    xargs -a "$T/rest.list" cp -t "$d"
    git -C "$d" add -A >/dev/null
    git -C "$d" -c user.name=bench -c user.email=bench@localhost commit -q -m "bulk load"
}

want() { [[ ",$SERVERS," == *",$1,"* ]]; }
ROWS=()

# ---- meshgate ---------------------------------------------------------------------------

if want meshgate; then
PW="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
mkdir -p "$T/mg"
printf '%s\n' "$PW" | "$BIN" user add bench --data "$T/mg" >/dev/null
MG_PORT=$(pick_port)
"$BIN" serve --listen "127.0.0.1:$MG_PORT" --data "$T/mg" --log-level warn >"$T/mg.log" 2>&1 &
MG_PID=$!
PIDS+=("$MG_PID")
wait_http "http://127.0.0.1:$MG_PORT/healthz" || { echo "meshgate did not start" >&2; exit 1; }
MG="http://127.0.0.1:$MG_PORT/dav/calendars/bench/bench/"
curl -s -o /dev/null -u "bench:$PW" -X MKCALENDAR "$MG"
ROWS+=("$(run_suite meshgate "$MG" /dav/calendars/bench/bench/ "$MG_PID" "" "bench:$PW")")
fi

# ---- Radicale ---------------------------------------------------------------------------

if want radicale; then
mkdir -p "$T/radicale/collections"
printf 'bench:%s\n' "$PW" >"$T/radicale/users"
RA_PORT=$(pick_port)
cat >"$T/radicale/config" <<EOF
[server]
hosts = 127.0.0.1:$RA_PORT
max_content_length = 100000000
[auth]
type = htpasswd
htpasswd_filename = $T/radicale/users
htpasswd_encryption = plain
[rights]
type = owner_only
[storage]
filesystem_folder = $T/radicale/collections
[logging]
level = warning
EOF
radicale --config "$T/radicale/config" >"$T/radicale/log" 2>&1 &
RA_PID=$!
PIDS+=("$RA_PID")
wait_http "http://127.0.0.1:$RA_PORT/" || { echo "radicale did not start" >&2; exit 1; }
RA="http://127.0.0.1:$RA_PORT/bench/bench/"
curl -s -o /dev/null -u "bench:$PW" -X MKCALENDAR "$RA"
ROWS+=("$(run_suite radicale "$RA" /bench/bench/ "$RA_PID" radicale_bulk "bench:$PW")")
fi

# ---- Xandikos ---------------------------------------------------------------------------

if want xandikos; then
XA_PORT=$(pick_port)
xandikos -d "$T/xandikos" -l 127.0.0.1 -p "$XA_PORT" --defaults >"$T/xandikos.log" 2>&1 &
XA_PID=$!
PIDS+=("$XA_PID")
wait_http "http://127.0.0.1:$XA_PORT/" || { echo "xandikos did not start" >&2; exit 1; }
XA="http://127.0.0.1:$XA_PORT/user/calendars/calendar/"
ROWS+=("$(run_suite xandikos "$XA" /user/calendars/calendar/ "$XA_PID" xandikos_bulk)")
fi

# ---- report -----------------------------------------------------------------------------

echo
echo "bench_caldav: $EVENTS events, $(nproc) cores, $PARALLEL parallel uploads, median of" \
    "$REPEAT runs per query; meshgate $("$BIN" --version 2>/dev/null | head -n 1 || echo "$BIN"),"\
    "Radicale $(radicale --version 2>/dev/null), Xandikos $(xandikos --version 2>/dev/null)"
/usr/bin/python3 - "${ROWS[@]}" <<'PY'
import sys
rows = [r.split() for r in sys.argv[1:]]
names = [r[0] for r in rows]
vals = [[float(x) for x in r[1:9]] for r in rows]
labels = ["PUT, first 1000 (events/s, more=better)", "PROPFIND Depth 1 (ms)",
          "calendar-multiget 100 (ms)",
          "calendar-query one month (ms)", "sync-collection empty token (ms)",
          "sync-collection recent token (ms)", "peak RSS, VmHWM (MiB)", "RSS after the run (MiB)"]
peers = [n for n in names[1:]] if names and names[0] == "meshgate" else []
print(f"{'':38}" + "".join(f"{n:>12}" for n in names) + "".join(f"{'vs ' + p:>14}" for p in peers))
for i, label in enumerate(labels):
    v = [row[i] for row in vals]
    if i >= 6:
        v = [x / 1024 for x in v]
    cells = "".join(f"{x:>12.1f}" for x in v)
    def ratio(mg, other):
        if mg <= 0 or other <= 0:
            return "n/a"
        r = mg / other if i == 0 else other / mg
        return f"{r:.1f}x"
    ratios = "".join(f"{ratio(v[0], v[k]):>14}" for k in range(1, len(v))) if peers else ""
    print(f"{label:38}{cells}{ratios}")
print("responses (PROPFIND/query/sync empty/sync recent):",
      ", ".join(f"{r[0]} {r[9]}" for r in rows))
print("ratios: how many times better meshgate is"
      " (rates: meshgate/peer; times and memory: peer/meshgate)")
PY
