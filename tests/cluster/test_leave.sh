#!/usr/bin/env bash
# Scenario 9: graceful leave. Node 4 of a loaded 4-node cluster (N=3) runs
# `meshgate cluster leave`: the others see it leave the ring, it hands every
# partition it holds to the new owners and keeps none, every partition then
# has exactly 3 identical replicas on nodes 1-3, and after node 4 stops
# every acknowledged write still reads the same through every remaining
# node, which keep taking writes.
source "$(dirname "$0")/lib.sh"
cl_init "$@"
cl_create 4
PW='alice-Secret-1'
LOAD="python3 $(dirname "$0")/load.py"
COUNT=${CL_WRITES:-1200}
echo "$PW" | "$CL_BIN" user add alice --data "$(cl_data 1)" >/dev/null
curl -sf -o /dev/null -u "alice:$PW" -X MKCOL "$(cl_url 1)/dav/files/alice/l/"
$LOAD put --nodes "$(cl_url 1),$(cl_url 2),$(cl_url 3),$(cl_url 4)" --user "alice:$PW" \
    --dirs 24 --path /dav/files/alice/l --count "$COUNT" --threads 4 --seconds 200 \
    --out "$CL_TMP/acked" >"$CL_TMP/put.out" 2>&1
grep -E '^put' "$CL_TMP/put.out" >&2
check "the load was acknowledged ($(wc -l <"$CL_TMP/acked") of $COUNT)" \
    test "$(wc -l <"$CL_TMP/acked")" == "$COUNT"
if cl_wait "3 identical replicas on 4 nodes" 60 cl_converged 1 2 3 4; then
    own4=$(wc -l <"$CL_TMP/digests.4")
    log "node 4 holds $own4 partitions before it leaves"
else
    fail "the cluster did not converge before the leave"
fi

ID4=$(cl_node_id 4)
t0=$(date +%s.%N)
if out=$("$CL_BIN" cluster leave --data "$(cl_data 4)" 2>&1); then
    pass "cluster leave is accepted: $out"
else
    fail "cluster leave failed: $out"
fi
sees_left() { # sees_left VIEWER: VIEWER has node 4 as left, with no ring share
    cl_status "$1" | python3 -c "
import json, sys
m = [m for m in json.load(sys.stdin)['members'] if m['id'] == '$ID4']
sys.exit(0 if m and m[0]['state'] == 'left' and m[0]['ownership'] == 0 else 1)"
}
for n in 1 2 3 4; do
    check "node $n sees node 4 out of the ring" cl_wait "node $n sees node 4 left" 30 sees_left "$n"
done
holds_nothing() { test -z "$(cl_digests "$1")"; }
check "node 4 handed off every partition and keeps none" \
    cl_wait "node 4 holds nothing" 90 holds_nothing 4
if cl_wait "every partition has 3 identical replicas on nodes 1 2 3" 90 cl_converged 1 2 3; then
    echo "leave: $(cl_converged 1 2 3) partitions with 3 identical replicas on the remaining nodes" \
        "$(python3 -c "import time; print(f'{time.time() - $t0:.1f}')")s after the leave"
    pass "after the leave every partition has exactly 3 replicas on the remaining nodes"
else
    fail "partitions not re-replicated after node 4 left"
fi

cl_stop 4
if $LOAD verify --nodes "$(cl_url 1),$(cl_url 2),$(cl_url 3)" --user "alice:$PW" \
    --acked "$CL_TMP/acked" --threads 4 >"$CL_TMP/verify.out" 2>&1; then
    pass "nothing lost: every acknowledged write reads the same through nodes 1-3"
else
    fail "after the leave: $(tail -n 4 "$CL_TMP/verify.out")"
fi
grep -E '^verify' "$CL_TMP/verify.out" >&2 || true
ok=1
for i in $(seq 1 12); do cl_kv $(((i % 3) + 1)) put test/after-leave "r$i" "v$i" || ok=0; done
check "the remaining nodes take writes with node 4 gone" test "$ok" == 1
check "a write after the leave reads through another node" \
    bash -c "test \"\$('$CL_BIN' kv get test/after-leave r12 --data '$(cl_data 2)')\" == v12"
cl_finish
