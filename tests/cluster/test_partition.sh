#!/usr/bin/env bash
# Scenario 5: node 3 is cut off from nodes 1 and 2 (both directions, TCP
# and gossip: the nodes run in a network namespace of their own, where
# policy routing rules drop the packets between their addresses; see
# cl_cut in lib.sh). The majority side keeps reading and writing (quorums
# of 2 of 3); the minority side answers promptly that no quorum is
# reachable. After the partition heals, the members welcome each other back
# and converge. curl reaches every node throughout; each node's CLI sends
# from its node's address, so it is on its node's side of the cut.
CL_NETNS=1
source "$(dirname "$0")/lib.sh"
cl_init "$@"
CL_LOG_LEVEL=info
cl_create 3
PW='alice-Secret-1'
echo "$PW" | cl_run "$CL_BIN" user add alice --data "$(cl_data 1)" >/dev/null
cl_run curl -sf -o /dev/null -u "alice:$PW" -X MKCOL "$(cl_url 1)/dav/files/alice/p/"
echo before >"$CL_TMP/before.txt"
cl_run curl -sf -o /dev/null -u "alice:$PW" -T "$CL_TMP/before.txt" \
    "$(cl_url 1)/dav/files/alice/p/before.txt"
state_is() { test "$(cl_state_of "$1" "$2")" == "$3"; }

cl_cut 3 1 2
log "partitioned node 3 from nodes 1 and 2"
check "the majority declares node 3 dead" cl_wait "node 1 sees 3 dead" 30 state_is 1 3 dead
# The cut-off node's own probes all fail, so Lifeguard raises its local
# health multiplier and it is slow, by design, to declare others dead:
# noticing that the majority is unreachable (suspect, then dead) is what counts.
state_down() { [[ "$(cl_state_of "$1" "$2")" == @(suspect|dead) ]]; }
check "node 3 notices the majority is unreachable" \
    cl_wait "node 3 sees 1 suspect or dead" 60 state_down 3 1

# Majority side: reads and writes keep working.
ok=1
for i in $(seq 1 20); do cl_kv $(((i % 2) + 1)) put test/part "r$i" "v$i" || ok=0; done
check "the majority side accepts writes during the partition" test "$ok" == 1
echo during >"$CL_TMP/during.txt"
st=$(cl_run curl -s -o /dev/null -w '%{http_code}' -u "alice:$PW" -T "$CL_TMP/during.txt" \
    "$(cl_url 2)/dav/files/alice/p/during.txt")
check "a WebDAV PUT through the majority succeeds (got $st)" test "${st:0:1}" == 2
st=$(cl_run curl -s -o /dev/null -w '%{http_code}' -u "alice:$PW" \
    "$(cl_url 1)/dav/files/alice/p/before.txt")
check "a WebDAV GET through the majority succeeds (got $st)" test "$st" == 200

# Minority side: no quorum, said quickly and clearly, nothing half-written acknowledged.
t0=$SECONDS
if cl_kv 3 put test/part minority x 2>"$CL_TMP/minority.err"; then
    fail "node 3 acknowledged a write without a write quorum"
else
    pass "node 3 refuses writes without a quorum: $(cat "$CL_TMP/minority.err")"
fi
if cl_kv 3 get test/part r1 >/dev/null 2>"$CL_TMP/minority.err"; then
    fail "node 3 answered a read without a read quorum"
else
    rc=$?
    check "node 3 refuses reads without a quorum, not with a wrong 'not found' (exit $rc)" \
        test "$rc" == 1
fi
# Through WebDAV the answer must not be a wrong one (200 with stale data or
# 404, or 401 for a right password): without a quorum it is 503.
st=$(cl_run curl -s -o /dev/null -w '%{http_code}' --max-time 20 -u "alice:$PW" \
    "$(cl_url 3)/dav/files/alice/p/before.txt")
check "a WebDAV read through node 3 answers 503 without a quorum (got $st)" test "$st" == 503
check "node 3 answers within the peer timeout, without hanging" test $((SECONDS - t0)) -le 10

cl_heal
t0=$(date +%s.%N)
log "healed the partition"
check "node 1 welcomes node 3 back" cl_wait "node 1 sees 3 alive" 30 cl_members_alive 1 3
check "node 3 welcomes nodes 1 and 2 back" cl_wait "node 3 sees 3 alive" 30 cl_members_alive 3 3
if cl_wait "every partition converged" 90 cl_converged 1 2 3; then
    echo "converged $(python3 -c "import time; print(f'{time.time() - $t0:.1f}')")s after the heal"
    pass "replicas converge after the heal"
else
    fail "replicas did not converge within 90 s of the heal"
fi
check "node 3's own replica has a write made during the partition" \
    bash -c "test \"\$('$CL_BIN' kv get test/part r20 --local --data '$(cl_data 3)')\" == v20"
got=$(cl_run curl -sf -u "alice:$PW" "$(cl_url 3)/dav/files/alice/p/during.txt" || true)
check "the file written during the partition reads through node 3 (got $got)" test "$got" == during
cl_finish
