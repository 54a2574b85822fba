#!/usr/bin/env bash
# Tombstone purge and conflict copies, N=3 W=2 R=2, tombstone grace 3 s.
#
# 1. Rows are deleted while node 3 is down: nodes 1 and 2 keep the
#    tombstones past the grace period (node 3, an owner, has not confirmed
#    them). Node 3 comes back: once anti-entropy saw every owner hold them,
#    all three purge them, the partition converges to the live rows only,
#    and no deleted row comes back on any node, node 3 included.
# 2. Two clients PUT the same file with If-Match on the same old ETag through
#    nodes 1 and 2 at once, round after round. When both are acknowledged,
#    both bodies stay reachable: the winner as the file, the loser as its
#    conflict copy (partition conflict/<pkey>), on every replica.
# 3. A sync-collection token taken before a deletion whose tombstone was
#    since purged gets 403 DAV:valid-sync-token (no silently missed
#    deletion); the full sync that follows gives a token that resumes.
source "$(dirname "$0")/lib.sh"
cl_init "$@"
GRACE=3
printf '{"tombstone_grace": %d}\n' "$GRACE" >"$CL_TMP/gc.json"
CL_SERVE_ARGS="--config $CL_TMP/gc.json"
cl_create 3 --replicas 3 --write-quorum 2 --read-quorum 2

PK=gc/part
KEYS=20
DELETED=10

# status_num N KEY: a number from node N's cluster status.
status_num() {
    cl_status "$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"
}
# rows_on N: rows (tombstones included) of $PK in node N's own replica.
rows_on() {
    cl_digests "$1" | awk -F'\t' -v p="$PK" '$2 == p { print $3; f = 1 } END { if (!f) print 0 }'
}
local_has() { cl_kv "$1" get "$PK" "$2" --local >/dev/null 2>&1; }
converged() { cl_converged 1 2 3 >/dev/null; }

for i in $(seq 1 "$KEYS"); do cl_kv 1 put "$PK" "k$i" "value $i" >/dev/null; done
rows_everywhere() { for n in 1 2 3; do test "$(rows_on "$n")" == "$1" || return 1; done; }
cl_wait "every node holds the $KEYS rows" 30 rows_everywhere "$KEYS" ||
    fail "the rows did not reach every replica"

# ---- 1. a replica down during the delete ---------------------------------------
cl_stop 3
for i in $(seq 1 "$DELETED"); do cl_kv 1 del "$PK" "k$i" >/dev/null; done
log "deleted $DELETED rows with node 3 down"
# Past the grace period and two anti-entropy rounds: still kept.
sleep $((GRACE + 2 * CL_AE_MS / 1000 + 1))
for n in 1 2; do
    check "node $n keeps the tombstones while node 3 has not confirmed them" \
        test "$(rows_on "$n")" == "$KEYS"
    check "node $n purged nothing while an owner is down" test "$(status_num "$n" tombstones_purged)" == 0
done

cl_start 3
purged_all() { for n in 1 2 3; do test "$(status_num "$n" tombstones_purged)" -ge "$DELETED" || return 1; done; }
t0=$SECONDS
if cl_wait "every node purged the $DELETED tombstones" 60 purged_all; then
    pass "the tombstones were purged on every replica $((SECONDS - t0)) s after node 3 came back"
else
    fail "tombstones not purged everywhere: purged $(status_num 1 tombstones_purged)," \
        "$(status_num 2 tombstones_purged), $(status_num 3 tombstones_purged)"
fi
check "every replica holds the live rows only" \
    cl_wait "live rows only" 30 rows_everywhere $((KEYS - DELETED))
check "the replicas converged" cl_wait "converged" 30 converged
# Two more rounds: nothing comes back.
sleep $((2 * CL_AE_MS / 1000 + 1))
back=0
for i in $(seq 1 "$DELETED"); do
    for n in 1 2 3; do
        if local_has "$n" "k$i" || cl_kv "$n" get "$PK" "k$i" >/dev/null 2>&1; then
            back=$((back + 1))
            log "k$i came back on node $n"
        fi
    done
done
check "no deleted row came back on any node ($back did)" test "$back" == 0
alive=0
for i in $(seq $((DELETED + 1)) "$KEYS"); do
    got=$(cl_kv 3 get "$PK" "k$i" 2>/dev/null || true)
    [[ "$got" == "value $i" ]] && alive=$((alive + 1))
done
check "the rows not deleted are all there ($alive)" test "$alive" == $((KEYS - DELETED))
check "the partitions are digested alike" converged

# ---- 2. conditional writes racing through two nodes -----------------------------
PW='alice-Secret-1'
echo "$PW" | "$CL_BIN" user add alice --data "$(cl_data 1)" >/dev/null
URL=/dav/files/alice/race
curl -sf -o /dev/null -u "alice:$PW" -X MKCOL "$(cl_url 1)$URL/"
ROUNDS=${CL_RACE_ROUNDS:-25}
both=0 lost=0 wrong=0
: >"$CL_TMP/losers"
for r in $(seq 1 "$ROUNDS"); do
    etag=$(curl -sf --max-time $((10 * CL_SLOW)) -u "alice:$PW" -T - -D - -o /dev/null \
        "$(cl_url 3)$URL/f.txt" <<<"base $r" |
        tr -d '\r' | awk -F': ' 'tolower($1) == "etag" { print $2 }')
    [[ -n "$etag" ]] || { fail "round $r: no ETag for the base version"; break; }
    # Both requests arrive whole but for their last body byte, which is then
    # sent to both at once: the two checks and writes overlap.
    read -r s1 s2 < <(python3 - "$(cl_addr 1)" "$(cl_addr 2)" "$etag" "$r" "alice:$PW" <<'PY'
import base64, socket, sys, time
auth = base64.b64encode(sys.argv[5].encode()).decode()
socks = []
for n, addr in ((1, sys.argv[1]), (2, sys.argv[2])):
    host, port = addr.rsplit(":", 1)
    body = f"round {sys.argv[4]} via node {n}\n".encode()
    head = (f"PUT /dav/files/alice/race/f.txt HTTP/1.1\r\nHost: {addr}\r\n"
            f"Authorization: Basic {auth}\r\nIf-Match: {sys.argv[3]}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    s = socket.create_connection((host, int(port)), timeout=30)
    s.sendall(head + body[:-1])
    socks.append((s, body[-1:]))
time.sleep(0.2)
for s, last in socks:
    s.sendall(last)
codes = []
for s, _ in socks:
    data = b""
    while b"\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    parts = data.split(b" ", 2)
    codes.append(parts[1].decode() if len(parts) > 1 else "000")
print(*codes)
PY
    )
    if [[ "$s1" == 2* && "$s2" == 2* ]]; then
        # Both acknowledged: the newer is the file (until the next round's
        # base replaces it, having seen it); the other must be kept.
        both=$((both + 1))
        got=$(curl -sf -u "alice:$PW" "$(cl_url 3)$URL/f.txt" || true)
        case "$got" in
        "round $r via node 1") echo "round $r via node 2" >>"$CL_TMP/losers" ;;
        "round $r via node 2") echo "round $r via node 1" >>"$CL_TMP/losers" ;;
        *) wrong=$((wrong + 1)) ;;
        esac
    elif [[ "$s1" == 2* || "$s2" == 2* ]]; then
        winner=$([[ "$s1" == 2* ]] && echo 1 || echo 2)
        got=$(curl -sf -u "alice:$PW" "$(cl_url 3)$URL/f.txt" || true)
        # One passed, the other was refused (412): the passer's body is the file.
        [[ "$got" == "round $r via node $winner" ]] || wrong=$((wrong + 1))
    else
        lost=$((lost + 1))
        log "round $r: neither write was acknowledged ($s1, $s2)"
    fi
done
log "$ROUNDS rounds: $both with both writes acknowledged"
check "the file is always one of the acknowledged writes ($wrong rounds not)" test "$wrong" == 0
check "every round acknowledged a write ($lost did not)" test "$lost" == 0
check "the race happened: some rounds acknowledged both writes ($both)" test "$both" -gt 0

# reachable N: every overwritten acknowledged body is in a conflict copy,
# read through node N (a quorum scan of the copies' partition).
reachable() {
    cl_kv "$1" scan conflict/coll/alice/files/race >"$CL_TMP/copies.$1" 2>/dev/null || return 1
    python3 - "$CL_TMP/losers" "$CL_TMP/copies.$1" <<'PY'
import sys
want = [l for l in open(sys.argv[1]).read().split("\n") if l]
have = open(sys.argv[2], "rb").read()
missing = [w for w in want if w.encode() not in have]
if missing:
    print(f"{len(missing)} of {len(want)} overwritten acknowledged bodies unreachable,"
          f" e.g. {missing[:2]}")
    sys.exit(1)
PY
}
for n in 1 2 3; do
    if cl_wait "every acknowledged body reachable through node $n" 20 reachable "$n"; then
        pass "the losing body of each double-acknowledged round is reachable through node $n"
    else
        fail "through node $n: $(reachable "$n")"
    fi
done
copies=$(status_num 1 conflict_copies)
log "conflict copies kept by node 1: $copies"
check "the replicas, conflict copies included, converged" cl_wait "converged" 30 converged

# ---- 3. a sync token from before a purged deletion ---------------------------------
# sync N TOKEN: HTTP status and sync token of a sync-collection REPORT on
# /dav/files/alice/sync/ through node N.
sync() {
    curl -s -u "alice:$PW" -X REPORT -H 'Content-Type: application/xml' \
        -w '\n%{http_code}\n' "$(cl_url "$1")/dav/files/alice/sync/" --data-binary \
        "<?xml version=\"1.0\"?><D:sync-collection xmlns:D=\"DAV:\"><D:sync-token>$2</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>" |
        python3 -c "
import re, sys
text = sys.stdin.read().rstrip('\n')
body, code = text.rsplit('\n', 1)
tok = re.search(r'<D:sync-token>([^<]*)</D:sync-token>', body)
err = 'valid-sync-token' if 'valid-sync-token' in body else ''
print(code, tok.group(1) if tok else '-', err)"
}
curl -sf -o /dev/null -u "alice:$PW" -X MKCOL "$(cl_url 1)/dav/files/alice/sync/"
for f in a b; do
    curl -sf -o /dev/null -u "alice:$PW" -T - "$(cl_url 1)/dav/files/alice/sync/$f.txt" <<<"$f"
done
read -r code old_token _ < <(sync 2 "")
check "a full sync answers 207 with a token ($code $old_token)" test "$code" == 207
before=$(status_num 1 tombstones_purged)
curl -sf -o /dev/null -u "alice:$PW" -X DELETE "$(cl_url 1)/dav/files/alice/sync/a.txt"
read -r code _ _ < <(sync 2 "$old_token")
check "before the purge the old token is answered ($code)" test "$code" == 207
more_purged() { for n in 1 2 3; do test "$(status_num "$n" tombstones_purged)" -gt "$before" || return 1; done; }
cl_wait "the deletion's tombstone purged everywhere" 60 more_purged ||
    fail "the tombstone of a.txt was not purged"
read -r code _ err < <(sync 2 "$old_token")
check "a token from before a purged deletion gets 403 valid-sync-token ($code $err)" \
    test "$code $err" == "403 valid-sync-token"
read -r code new_token _ < <(sync 3 "")
check "a full sync after the purge answers 207 ($code)" test "$code" == 207
read -r code _ _ < <(sync 1 "$new_token")
check "the full sync's token resumes ($code)" test "$code" == 207
cl_finish
