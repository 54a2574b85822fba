#!/usr/bin/env bash
# Scenario 4: a SIGSTOP'd node is suspected, then declared dead by the
# others; writes go on (hinted); after SIGCONT it refutes, is welcomed back
# as alive, and receives what it missed.
source "$(dirname "$0")/lib.sh"
cl_init "$@"
CL_LOG_LEVEL=info
cl_create 3
ID3=$(cl_node_id 3)
state_is() { test "$(cl_state_of "$1" "$2")" == "$3"; }
logged() { grep -q "$1" "$CL_TMP/n$2.log"; }

t0=$SECONDS
cl_pause 3
check "node 1 suspects the paused node" \
    cl_wait "node 1 suspects node 3" 20 logged "member suspect node=$ID3" 1
check "node 1 declares the paused node dead" \
    cl_wait "node 1 declares node 3 dead" 30 logged "member dead node=$ID3" 1
log "suspected and declared dead $((SECONDS - t0))s after SIGSTOP"
check "node 2 agrees that node 3 is dead" \
    cl_wait "node 2 sees node 3 dead" 20 state_is 2 3 dead

for i in $(seq 1 20); do cl_kv $(((i % 2) + 1)) put test/pause "r$i" "v$i" || fail "write $i with node 3 paused"; done
pass "writes succeed with node 3 paused (W=2 of the 2 live nodes)"

cl_resume 3
check "node 1 welcomes node 3 back as alive" \
    cl_wait "node 1 sees node 3 alive" 30 cl_members_alive 1 3
check "node 3 sees everyone alive" cl_wait "node 3 sees 3 alive" 30 cl_members_alive 3 3
check "node 3 refuted the suspicion with a higher incarnation" logged "refuting" 3
check "node 3's own replica received the writes made while it was paused" \
    cl_wait "node 3 has r20" 30 bash -c "'$CL_BIN' kv get test/pause r20 --local --data '$(cl_data 3)' >/dev/null"
check "every partition converges" cl_wait "converged" 60 cl_converged 1 2 3
cl_finish
