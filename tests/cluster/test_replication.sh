#!/usr/bin/env bash
# Scenario 1: a write through any node reads the same, with the same ETag,
# through every other node; replicas hold it (checked on each node's own copy).
source "$(dirname "$0")/lib.sh"
cl_init "$@"
cl_create 3
PW='alice-Secret-1'
NODES="$(cl_url 1),$(cl_url 2),$(cl_url 3)"

echo "$PW" | "$CL_BIN" user add alice --data "$(cl_data 2)" >/dev/null
check "account made through node 2 verifies on node 3" \
    curl -sf -o /dev/null -u "alice:$PW" -X PROPFIND -H 'Depth: 0' "$(cl_url 3)/dav/files/alice/"

# Raw rows through each node in turn, read through every node.
ok=1
for i in $(seq 1 30); do
    via=$(((i % 3) + 1))
    cl_kv "$via" put "test/p$((i % 7))" "row$i" "value-$i" || ok=0
done
for n in 1 2 3; do
    for i in 1 11 29; do
        got=$(cl_kv "$n" get "test/p$((i % 7))" "row$i") || got="(error)"
        [[ "$got" == "value-$i" ]] || { ok=0; log "node $n read row$i as $got"; }
    done
done
check "raw rows written through any node read the same through every node" test "$ok" == 1

# Every node's own replica holds the row (N=3 on 3 nodes).
ok=1
for n in 1 2 3; do
    got=$(cl_kv "$n" get test/p1 row1 --local) || got="(missing)"
    [[ "$got" == "value-1" ]] || { ok=0; log "node $n replica: $got"; }
done
check "every replica holds the row" test "$ok" == 1

etags=$(for n in 1 2 3; do cl_kv "$n" get test/p2 row9 --etag; done | sort -u | wc -l)
check "the row's ETag is the same on every node" test "$etags" == 1

# WebDAV: files written through one node read through every node, same ETag.
curl -sf -o /dev/null -u "alice:$PW" -X MKCOL "$(cl_url 1)/dav/files/alice/w/"
python3 "$(dirname "$0")/load.py" put --nodes "$NODES" --user "alice:$PW" \
    --path /dav/files/alice/w --count 300 --threads 3 --out "$CL_TMP/acked" >"$CL_TMP/put.out"
check "300 WebDAV PUTs acknowledged" test "$(wc -l <"$CL_TMP/acked")" == 300
if python3 "$(dirname "$0")/load.py" verify --nodes "$NODES" --user "alice:$PW" \
    --acked "$CL_TMP/acked" --threads 3 >"$CL_TMP/verify.out"; then
    pass "every file reads the same, with one ETag, through every node"
else
    fail "files differ between nodes: $(tail -n 5 "$CL_TMP/verify.out")"
fi
cat "$CL_TMP/put.out" "$CL_TMP/verify.out" | grep -E '^(put|verify)' >&2 || true

# A listing through each node names the same members.
for n in 1 2 3; do
    curl -s -u "alice:$PW" -X PROPFIND -H 'Depth: 1' "$(cl_url "$n")/dav/files/alice/w/" |
        grep -o '<D:href>[^<]*</D:href>' | sort >"$CL_TMP/list.$n" || true
done
check "PROPFIND lists the same 301 entries through every node" \
    bash -c "cmp -s '$CL_TMP/list.1' '$CL_TMP/list.2' && cmp -s '$CL_TMP/list.1' '$CL_TMP/list.3' \
             && test \$(wc -l <'$CL_TMP/list.1') -ge 301"

# An idle cluster does not rehash its store each round: anti-entropy reuses
# the digests of its last scan while nothing was written (antientropy.c).
ae_field() { cl_status 1 | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
r0=$(ae_field anti_entropy_rounds)
s0=$(ae_field anti_entropy_scans)
rounds_since() { test "$(ae_field anti_entropy_rounds)" -ge $((r0 + $1)); }
cl_wait "three idle anti-entropy rounds" 60 rounds_since 3 || true
r1=$(ae_field anti_entropy_rounds)
s1=$(ae_field anti_entropy_scans)
log "idle: $((r1 - r0)) rounds, $((s1 - s0)) full scans (node 1)"
check "idle rounds reuse the last scan ($((r1 - r0)) rounds, $((s1 - s0)) scans)" \
    test $((r1 - r0)) -ge 3 -a $((s1 - s0)) -le 1
cl_finish
