#!/usr/bin/env bash
# Scenario 7: peer messages from a node without the cluster key, forged,
# tampered or replayed messages, and messages from a far-future (or stale)
# clock are refused with 401 and logged; a node with the wrong token cannot join.
source "$(dirname "$0")/lib.sh"
cl_init "$@"
CL_LOG_LEVEL=info
cl_create 2
A1=$(cl_addr 1)
MESH="$(cl_url 1)/.mesh/v1"
refusals() { grep -c "peer message refused.*reason=\"$1" "$CL_TMP/n1.log" || true; }

st=$("$CL_BIN" cluster ping "$A1" --data "$(cl_data 2)" || true)
check "a member's sealed ping is answered (got $st)" test "$st" == 200

# Another cluster's key.
"$CL_BIN" cluster init --data "$CL_TMP/other" >/dev/null
st=$("$CL_BIN" cluster ping "$A1" --data "$CL_TMP/other" || true)
check "a ping sealed with another cluster's key is refused (got $st)" test "$st" == 401
check "the refusal is logged as a bad seal" test "$(refusals 'bad seal')" -ge 1

# No key at all: raw bytes, and an empty body.
st=$(curl -s -o /dev/null -w '%{http_code}' --data-binary 'hello' "$MESH/get")
check "an unsealed message is refused (got $st)" test "$st" == 401
st=$(curl -s -o /dev/null -w '%{http_code}' -X GET "$MESH/get")
check "peer routes only take POST (got $st)" test "$st" == 405

# Replay: the exact bytes of an accepted message, sent again.
st=$("$CL_BIN" cluster ping "$A1" --data "$(cl_data 2)" --save "$CL_TMP/ping.bin" || true)
check "the original message is accepted (got $st)" test "$st" == 200
st=$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$CL_TMP/ping.bin" "$MESH/ping")
check "the replayed message is refused (got $st)" test "$st" == 401
check "the replay is logged" test "$(refusals replayed)" -ge 1

# Tampering: one flipped bit in the ciphertext, or in the header (sender id).
python3 - "$CL_TMP/ping.bin" "$CL_TMP" <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
t = bytearray(data); t[-1] ^= 1
open(sys.argv[2] + "/tampered.bin", "wb").write(t)
h = bytearray(data); h[5] ^= 1
open(sys.argv[2] + "/forged-sender.bin", "wb").write(h)
v = bytearray(data); v[2] = 9
open(sys.argv[2] + "/version9.bin", "wb").write(v)
PY
st=$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$CL_TMP/tampered.bin" "$MESH/ping")
check "a tampered message is refused (got $st)" test "$st" == 401
st=$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$CL_TMP/forged-sender.bin" "$MESH/ping")
check "a message with a forged sender id is refused (got $st)" test "$st" == 401
st=$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$CL_TMP/version9.bin" "$MESH/ping")
check "an unknown protocol version is refused with 400 (got $st)" test "$st" == 400

# Clocks: a small skew is fine, an hour ahead or behind is not.
st=$("$CL_BIN" cluster ping "$A1" --data "$(cl_data 2)" --clock-offset 5000 || true)
check "a clock 5 s ahead is accepted (got $st)" test "$st" == 200
st=$("$CL_BIN" cluster ping "$A1" --data "$(cl_data 2)" --clock-offset 3600000 || true)
check "a clock an hour ahead is refused (got $st)" test "$st" == 401
check "the far-future clock is logged" test "$(refusals 'clock too far ahead')" -ge 1
st=$("$CL_BIN" cluster ping "$A1" --data "$(cl_data 2)" --clock-offset -3600000 || true)
check "a message an hour old is refused (got $st)" test "$st" == 401

# The far-future message did not move node 1's clock: writes still carry today's time.
cl_kv 1 put test/clock r v
check "node 1 still accepts writes after the refusals" bash -c "test \"\$('$CL_BIN' kv get test/clock r --data '$(cl_data 2)')\" == v"

# A node holding the wrong token cannot join.
wrong=$("$CL_BIN" cluster token --data "$CL_TMP/other")
if timeout 60 "$CL_BIN" serve --listen "$(cl_addr 3)" --data "$(cl_data 3)" --log-level warn \
    --join "$A1" --token "$wrong" >"$CL_TMP/n3.log" 2>&1; then
    fail "a node with another cluster's token started"
else
    pass "a node with another cluster's token is refused and exits"
fi
check "the members are still exactly 2" cl_members_alive 1 2
refused=$(cl_status 1 | python3 -c "import json,sys; print(json.load(sys.stdin)['refused_messages'])")
check "status counts the refused messages (got $refused)" test "$refused" -ge 6
cl_finish
