#!/usr/bin/env bash
# Scenario 6: a node joins a loaded cluster and later one is removed. The
# ranges move (streamed by anti-entropy/handoff); afterwards every partition
# has exactly N=3 replicas with one digest, old owners dropped their copies,
# and every acknowledged write reads the same through every node.
source "$(dirname "$0")/lib.sh"
cl_init "$@"
cl_create 3
PW='alice-Secret-1'
LOAD="python3 $(dirname "$0")/load.py"
COUNT=${CL_WRITES:-3000}
echo "$PW" | "$CL_BIN" user add alice --data "$(cl_data 1)" >/dev/null
curl -sf -o /dev/null -u "alice:$PW" -X MKCOL "$(cl_url 1)/dav/files/alice/r/"
curl -sf -o /dev/null -u "alice:$PW" -X MKCOL "$(cl_url 1)/dav/files/alice/r2/"
$LOAD put --nodes "$(cl_url 1),$(cl_url 2),$(cl_url 3)" --user "alice:$PW" --dirs 48 \
    --path /dav/files/alice/r --count "$COUNT" --threads 4 --seconds 200 \
    --out "$CL_TMP/acked" >"$CL_TMP/put.out" 2>&1
grep -E '^put' "$CL_TMP/put.out" >&2
check "the load was acknowledged ($(wc -l <"$CL_TMP/acked") of $COUNT)" \
    test "$(wc -l <"$CL_TMP/acked")" == "$COUNT"
parts=$(cl_converged 1 2 3) || parts=0
log "$parts partitions on 3 nodes before the join"

# Join while writes continue.
$LOAD put --nodes "$(cl_url 1),$(cl_url 2)" --user "alice:$PW" --dirs 48 \
    --path /dav/files/alice/r2 --count 600 --threads 2 --seconds 200 \
    --out "$CL_TMP/acked2" >"$CL_TMP/put2.out" 2>&1 &
LOADER=$!
t0=$(date +%s.%N)
cl_start 4 --join "$(cl_addr 1)" --token "$CL_TOKEN"
check "node 1 sees 4 alive members" cl_wait "4 members" 30 cl_members_alive 1 4
wait "$LOADER" || true
if cl_wait "every partition has 3 identical replicas on 4 nodes" 120 cl_converged 1 2 3 4; then
    n=$(cl_converged 1 2 3 4)
    echo "join: $n partitions with exactly 3 identical replicas over 4 nodes" \
        "$(python3 -c "import time; print(f'{time.time() - $t0:.1f}')")s after node 4 started"
    pass "after the join every partition keeps exactly 3 replicas"
else
    fail "partitions not balanced to 3 replicas after the join"
fi
own4=$(wc -l <"$CL_TMP/digests.4")
check "node 4 took over ranges ($own4 partitions)" test "$own4" -gt 0
cat "$CL_TMP/acked" "$CL_TMP/acked2" >"$CL_TMP/all"
if $LOAD verify --nodes "$(cl_url 1),$(cl_url 2),$(cl_url 3),$(cl_url 4)" --user "alice:$PW" \
    --acked "$CL_TMP/all" --threads 4 >"$CL_TMP/verify1.out" 2>&1; then
    pass "every acknowledged write reads the same through all 4 nodes after the join"
else
    fail "after the join: $(tail -n 4 "$CL_TMP/verify1.out")"
fi

# Remove node 2 for good: stop it, then tell the cluster.
ID2=$(cl_node_id 2)
cl_stop 2
check "cluster remove is accepted by node 1" \
    bash -c "'$CL_BIN' cluster remove '$ID2' --data '$(cl_data 1)' >/dev/null"
left_in() { cl_status "$1" | python3 -c "
import json, sys
sys.exit(0 if any(m['id'] == '$ID2' and m['state'] == 'left'
                  for m in json.load(sys.stdin)['members']) else 1)"; }
check "node 2 is gone from node 3's ring" cl_wait "node 3 sees node 2 left" 30 left_in 3
check "node 2 is gone from node 4's ring" cl_wait "node 4 sees node 2 left" 30 left_in 4
t0=$(date +%s.%N)
if cl_wait "every partition has 3 identical replicas on nodes 1 3 4" 120 cl_converged 1 3 4; then
    echo "remove: every partition re-replicated to 3 copies" \
        "$(python3 -c "import time; print(f'{time.time() - $t0:.1f}')")s after the removal"
    pass "after the removal every partition has 3 replicas again"
else
    fail "partitions not re-replicated after removing node 2"
fi
if $LOAD verify --nodes "$(cl_url 1),$(cl_url 3),$(cl_url 4)" --user "alice:$PW" \
    --acked "$CL_TMP/all" --threads 4 >"$CL_TMP/verify2.out" 2>&1; then
    pass "nothing lost: every acknowledged write reads through the 3 remaining nodes"
else
    fail "after the removal: $(tail -n 4 "$CL_TMP/verify2.out")"
fi
cl_finish
