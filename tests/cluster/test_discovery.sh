#!/usr/bin/env bash
# Scenario: zero-config LAN discovery by multicast beacon. Node 1 creates
# the cluster with a token that carries no address; nodes 2 and 3 start with
# that token and --discover but no --join, and all three become alive
# members of each other. A node of another cluster on the same group does
# not join and its beacons are refused; so are a replayed beacon and junk.
# The nodes run in a network namespace of their own (CL_NETNS), so the
# multicast never leaves it (and TTL 1 keeps it on the link anyway).
CL_NETNS=1
source "$(dirname "$0")/lib.sh"
cl_init "$@"
GROUP="239.255.77.77:$CL_PORT"
DISCO=(--discover --discovery-group "$GROUP")

# cl_disco N FIELD: a counter of node N's discovery (sent, accepted, refused, contacted).
cl_disco() {
    cl_status "$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['discovery']['$2'])"
}
# disco_grew N FIELD BEFORE: node N's counter is above BEFORE.
disco_grew() { (($(cl_disco "$1" "$2") > $3)); }
# members_of N: node N's member ids, sorted, one line.
members_of() {
    cl_status "$1" | python3 -c "
import json, sys
print(' '.join(sorted(m['id'] for m in json.load(sys.stdin)['members'])))"
}

# No --advertise: the token holds the cluster key and no address.
CL_TOKEN=$("$CL_BIN" cluster init --data "$(cl_data 1)" --gossip-ms "$CL_GOSSIP_MS" \
    --suspect-ms "$CL_SUSPECT_MS" --anti-entropy-ms "$CL_AE_MS" --timeout-ms "$CL_TIMEOUT_MS")
cl_start 1 "${DISCO[@]}"

# Without --discover such a token is refused at once: it is discovery that
# finds the cluster below, not an address hidden in the token.
if cl_run "$CL_BIN" serve --listen "$(cl_addr 5)" --data "$(cl_data 5)" \
    --token "$CL_TOKEN" --log-level error >"$CL_TMP/n5.out" 2>&1; then
    fail "a token without an address and no --join/--discover was accepted"
else
    check "a token without an address needs --join or --discover" \
        grep -q -e '--discover' "$CL_TMP/n5.out"
fi

# A node with the token of a cluster that runs nowhere: it hears only
# beacons it cannot open, and gives up (after 30 s; checked at the end).
OTHER_TOKEN=$("$CL_BIN" cluster init --data "$CL_TMP/nowhere")
"${CL_NS[@]}" "$CL_BIN" serve --listen "$(cl_addr 6)" --data "$(cl_data 6)" --log-level info \
    --token "$OTHER_TOKEN" "${DISCO[@]}" >"$(cl_data 6).log" 2>&1 &
CL_PID[6]=$!

cl_start 2 --token "$CL_TOKEN" "${DISCO[@]}" || fail "node 2 did not start by discovery"
cl_start 3 --token "$CL_TOKEN" "${DISCO[@]}" || fail "node 3 did not start by discovery"
ok=1
for n in 1 2 3; do
    cl_wait "node $n sees 3 alive members" 30 cl_members_alive "$n" 3 || ok=0
done
check "nodes 2 and 3, started with --discover and no --join, are alive members of all three" \
    test "$ok" == 1
check "node 1 hears the others' beacons" cl_wait "node 1 accepted beacons" 20 \
    disco_grew 1 accepted 0

# The discovered cluster is a working one: a row written through node 2
# reads through node 3.
cl_kv 2 put disco/p r1 found-by-beacon >/dev/null
check "a row written through node 2 reads through node 3" \
    test "$(cl_kv 3 get disco/p r1 2>/dev/null)" == found-by-beacon

# A node of another cluster (its own key) on the same group.
"$CL_BIN" cluster init --data "$(cl_data 4)" --gossip-ms "$CL_GOSSIP_MS" \
    --suspect-ms "$CL_SUSPECT_MS" >/dev/null
refused1=$(cl_disco 1 refused)
cl_start 4 "${DISCO[@]}"
check "node 1 refuses the other cluster's beacons" \
    cl_wait "node 1 refused a beacon" 20 disco_grew 1 refused "$refused1"
check "the other cluster's node refuses ours" \
    cl_wait "node 4 refused a beacon" 20 disco_grew 4 refused 0
# Give it a few beacon periods to do harm, then look.
sleep $((6 * CL_SLOW))
want=$(for n in 1 2 3; do cl_node_id "$n"; done | sort | tr '\n' ' ' | sed 's/ $//')
ok=1
for n in 1 2 3; do
    got=$(members_of "$n") || got="(no answer)"
    [[ "$got" == "$want" ]] || { ok=0; log "node $n members: $got (want $want)"; }
done
check "the other cluster's node joined nobody, and nobody it" test "$ok" == 1
check "the other cluster's node knows only itself" test "$(members_of 4)" == "$(cl_node_id 4)"
check "the other cluster's node contacted nobody" test "$(cl_disco 4 contacted)" == 0
cl_stop 4

# A beacon of node 1, captured off the group and sent again, and a datagram
# of junk: both refused (replayed; malformed), nothing changes.
refused2=$(cl_disco 2 refused)
id1=$(cl_node_id 1)
if cl_run python3 - "$GROUP" "$id1" <<'PY'; then
import socket, struct, sys, time
host, port = sys.argv[1].rsplit(":", 1)
want = int(sys.argv[2], 16)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, int(port)))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             socket.inet_aton(host) + socket.inet_aton("127.0.0.1"))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
s.settimeout(1)
deadline = time.time() + 30
while time.time() < deadline:
    try:
        pkt = s.recv(2048)
    except socket.timeout:
        continue
    if len(pkt) > 12 and struct.unpack(">Q", pkt[4:12])[0] == want:
        s.sendto(pkt, (host, int(port)))
        s.sendto(b"MP" + bytes(100), (host, int(port)))
        sys.exit(0)
sys.exit(1)
PY
    check "a replayed beacon and junk are refused" \
        cl_wait "node 2 refused 2 more datagrams" 10 disco_grew 2 refused $((refused2 + 1))
else
    fail "no beacon of node 1 captured off the group within 30 s"
fi
check "still exactly the three members" test "$(members_of 2)" == "$want"

# The node with the other cluster's token gave up and said why.
exited() { ! kill -0 "${CL_PID[6]}" 2>/dev/null; }
if cl_wait "the node with another cluster's token gives up" 40 exited; then
    st=0
    wait "${CL_PID[6]}" || st=$?
    CL_PID[6]=""
    check "a node with another cluster's token and no member to hear exits with an error" \
        test "$st" != 0
    check "it says no member answered and that it refused beacons" \
        grep -q -E 'no member of this cluster answered .*\([1-9][0-9]* datagrams refused' \
        "$(cl_data 6).log"
else
    fail "a node with another cluster's token did not give up within 40 s"
fi
cl_finish
