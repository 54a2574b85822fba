# shellcheck shell=bash disable=SC2034
# lib.sh - helpers sourced by every tests/cluster/test_*.sh script: real
# meshgate nodes on 127.0.0.2 .. 127.0.0.6 (one port number, free on every
# address; gossip uses the same number over UDP).
#
#   source "$(dirname "$0")/lib.sh"
#   cl_init "$@"                    # $1 = path to the meshgate binary
#   cl_create 3                     # cluster init on node 1, start 3 nodes, wait for gossip
#   cl_kv 2 put p r value           # raw rows through node 2
#   cl_kill 3; cl_start 3           # kill -9 and restart by PID
#   cl_finish                       # stops the nodes, prints "N passed, N failed", exits
#
# A scenario that cuts the network (cl_cut/cl_heal) sets CL_NETNS=1 before
# cl_init: its nodes, and every client command (cl_run), then run in a
# network namespace of their own, where policy routing rules drop traffic
# between chosen node addresses (nodes send from their own address). Nothing
# outside the namespace sees the rules; it is deleted at the end. Without
# root or `ip netns` such a scenario is skipped.
#
# Every wait polls with a deadline; nothing sleeps blindly; only processes
# started here are signalled, by PID. Environment: MESHGATE_KEEP=1 keeps the
# temporary directory, CL_LOG_LEVEL (default warn) sets the nodes' log level,
# CL_SLOW (default 3 for an ASan/UBSan build, else 1) multiplies every
# deadline and the failure detector's suspicion time: a slower build gets
# more time, a correct run takes no longer (waits end when their condition
# holds).

set -euo pipefail

CL_BIN=""
CL_TMP=""
CL_PORT=""
CL_NAME=""
CL_PASSED=0
CL_FAILED=0
CL_TOKEN=""
declare -a CL_PID=()
declare -a CL_ARGS=()
CL_SLOW=${CL_SLOW:-}
CL_END=0
CL_NETNS=${CL_NETNS:-0}
CL_NS_NAME=""
declare -a CL_NS=() # command prefix that runs a client in the scenario's namespace
# Fast protocol timings so that failure detection and repair fit a test
# (set in cl_init, once CL_SLOW is known).
CL_GOSSIP_MS=${CL_GOSSIP_MS:-200}
CL_SUSPECT_MS=${CL_SUSPECT_MS:-}
CL_AE_MS=${CL_AE_MS:-3000}
CL_TIMEOUT_MS=${CL_TIMEOUT_MS:-}

log() { printf '[%s %s] %s\n' "$CL_NAME" "$(date +%T)" "$*" >&2; }
pass() {
    CL_PASSED=$((CL_PASSED + 1))
    if [[ "${MESHGATE_VERBOSE:-0}" == 1 ]]; then printf 'ok   %s\n' "$*"; fi
}
fail() {
    CL_FAILED=$((CL_FAILED + 1))
    printf 'FAIL %s\n' "$*"
}
check() { # check DESC CMD...: passes when CMD succeeds
    local desc=$1
    shift
    if "$@"; then pass "$desc"; else fail "$desc"; fi
}

cl_ip() { echo "127.0.0.$(($1 + 1))"; }
# cl_run CMD...: runs a client command where the nodes are (their namespace).
cl_run() { "${CL_NS[@]}" "$@"; }
cl_addr() { echo "$(cl_ip "$1"):$CL_PORT"; }
cl_url() { echo "http://$(cl_addr "$1")"; }
cl_data() { echo "$CL_TMP/n$1"; }

# Python: prints a port number free for TCP and UDP on every test address.
CL_PICK_PORT=$(
    cat <<'PY'
import random, socket
for _ in range(200):
    port = random.randint(20000, 60000)
    ok = True
    for i in range(2, 8):
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind((f"127.0.0.{i}", port))
            except OSError:
                ok = False
            finally:
                s.close()
    if ok:
        print(port)
        break
PY
)

# cl_netns_up: a fresh network namespace with loopback up, local delivery
# moved behind the rules cl_cut adds. Returns 1 when it cannot be made.
cl_netns_up() {
    [[ $EUID == 0 ]] && command -v ip >/dev/null || return 1
    # Namespaces of scenarios that were killed (their shell is gone) go first.
    local ns pid
    for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^mgc-[0-9]+-[0-9]+$/ { print $1 }'); do
        pid=${ns#mgc-}
        pid=${pid%%-*}
        kill -0 "$pid" 2>/dev/null || ip netns del "$ns" 2>/dev/null || true
    done
    local name="mgc-$$-$RANDOM"
    ip netns add "$name" 2>/dev/null || return 1
    CL_NS_NAME=$name
    ip -n "$name" link set lo up &&
        ip -n "$name" rule add pref 100 lookup local &&
        ip -n "$name" rule del pref 0 || return 1
    CL_NS=(ip netns exec "$name")
}

# cl_cut A B...: drops every packet between node A and each node B, both
# directions, TCP and gossip (prohibit routes: senders see EACCES at once,
# as the old in-process fault injection did).
cl_cut() {
    local a=$1 b
    shift
    for b in "$@"; do
        ip -n "$CL_NS_NAME" rule add pref 10 from "$(cl_ip "$a")" to "$(cl_ip "$b")" prohibit
        ip -n "$CL_NS_NAME" rule add pref 10 from "$(cl_ip "$b")" to "$(cl_ip "$a")" prohibit
    done
}

# cl_heal: removes every rule cl_cut added.
cl_heal() {
    local i
    for i in $(seq 1 64); do
        ip -n "$CL_NS_NAME" rule del pref 10 2>/dev/null || break
    done
}

# cl_secs SECONDS: a deadline scaled by CL_SLOW.
cl_secs() { echo $(($1 * CL_SLOW)); }

cl_init() {
    CL_BIN=$(readlink -f "${1:?usage: $0 /path/to/meshgate}")
    CL_NAME=$(basename "$0" .sh)
    if [[ -z "$CL_SLOW" ]]; then
        CL_SLOW=1
        # (no `ldd | grep -q`: under pipefail an early grep exit fails it at random)
        if ldd "$CL_BIN" 2>/dev/null | grep -e libasan -e libubsan >/dev/null; then CL_SLOW=3; fi
    fi
    CL_END=$((SECONDS + ${CL_BUDGET:-480}))
    CL_SUSPECT_MS=${CL_SUSPECT_MS:-$((1000 * CL_SLOW))}
    CL_TIMEOUT_MS=${CL_TIMEOUT_MS:-$((1000 * CL_SLOW))}
    CL_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mg-cluster.XXXXXX")
    trap cl_cleanup EXIT
    if [[ "$CL_NETNS" == 1 ]] && ! cl_netns_up; then
        echo "SKIP $CL_NAME: needs root and network namespaces (ip netns) to cut the network"
        echo "0 passed, 0 failed"
        exit 0
    fi
    CL_PORT=$(cl_run python3 -c "$CL_PICK_PORT")
    [[ -n "$CL_PORT" ]] || { echo "no free port"; exit 1; }
    log "work dir $CL_TMP port $CL_PORT slow x$CL_SLOW${CL_NS_NAME:+ netns $CL_NS_NAME}"
}

cl_cleanup() {
    local i
    for i in "${!CL_PID[@]}"; do
        local pid=${CL_PID[$i]}
        [[ -n "$pid" ]] || continue
        kill -CONT "$pid" 2>/dev/null || true
        kill -TERM "$pid" 2>/dev/null || true
    done
    for i in "${!CL_PID[@]}"; do
        local pid=${CL_PID[$i]}
        [[ -n "$pid" ]] || continue
        local n
        for n in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ -n "$CL_NS_NAME" ]]; then
        ip netns del "$CL_NS_NAME" 2>/dev/null || true
        CL_NS_NAME=""
    fi
    if [[ "${MESHGATE_KEEP:-0}" == 1 || "$CL_FAILED" != 0 ]]; then
        echo "kept $CL_TMP" >&2
        local f
        if [[ "$CL_FAILED" != 0 ]]; then
            for f in "$CL_TMP"/n*.log; do
                [[ -f "$f" ]] || continue
                echo "---- tail $f" >&2
                tail -n 15 "$f" >&2
            done
        fi
    else
        rm -rf "$CL_TMP"
    fi
}

cl_finish() {
    # Stop the nodes here, not in the exit trap, so that a node that does not
    # exit cleanly (a sanitizer report, a crash on shutdown) fails the run.
    local i
    for i in "${!CL_PID[@]}"; do
        [[ -n "${CL_PID[$i]}" ]] && cl_stop "$i"
    done
    printf '%s: %d passed, %d failed\n' "$CL_NAME" "$CL_PASSED" "$CL_FAILED"
    echo "$CL_PASSED passed, $CL_FAILED failed"
    [[ "$CL_FAILED" == 0 ]]
    exit $?
}

# cl_wait DESC SECONDS CMD...: polls CMD every 0.1 s until it succeeds, for
# at most SECONDS * CL_SLOW (and never past the scenario's budget, CL_BUDGET
# seconds from cl_init, so that a failing run ends and cleans up before
# ctest's timeout would kill it); on a timeout prints CMD's last output.
cl_wait() {
    local desc=$1 secs=$(($2 * CL_SLOW))
    shift 2
    local deadline=$((SECONDS + secs))
    if ((deadline > CL_END)); then deadline=$CL_END; fi
    while ((SECONDS < deadline)); do
        if "$@" >"$CL_TMP/wait.out" 2>&1; then return 0; fi
        sleep 0.1
    done
    log "timed out after ${secs}s: $desc"
    sed 's/^/    last try: /' "$CL_TMP/wait.out" | tail -n 3 >&2
    return 1
}

cl_healthy() { cl_run curl -sf --max-time $((2 * CL_SLOW)) "$(cl_url "$1")/healthz" >/dev/null; }

# cl_start N [extra serve args]: starts node N (in the background) and waits for /healthz.
cl_start() {
    local n=$1
    shift
    local args=(serve --listen "$(cl_addr "$n")" --data "$(cl_data "$n")"
        --log-level "${CL_LOG_LEVEL:-warn}" "$@")
    if [[ -n "${CL_ARGS[$n]:-}" && $# == 0 ]]; then
        # shellcheck disable=SC2206
        args+=(${CL_ARGS[$n]})
    fi
    # CL_SERVE_ARGS: extra serve arguments for every node of the scenario.
    # shellcheck disable=SC2206
    args+=(${CL_SERVE_ARGS:-})
    # `ip netns exec` execs the node: $! is the node's own PID.
    "${CL_NS[@]}" "$CL_BIN" "${args[@]}" >>"$CL_TMP/n$n.log" 2>&1 &
    CL_PID[$n]=$!
    cl_wait "node $n healthy" 40 cl_healthy "$n"
}

cl_kill() { # kill -9 node N
    local pid=${CL_PID[$1]}
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    CL_PID[$1]=""
}

cl_stop() { # graceful stop of node N; fails the run unless it exits with status 0
    local pid=${CL_PID[$1]} st=0 n
    kill -CONT "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
    for n in $(seq 1 $((100 * CL_SLOW))); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        fail "node $1 did not stop within $((10 * CL_SLOW)) s of SIGTERM"
    fi
    wait "$pid" 2>/dev/null || st=$?
    CL_PID[$1]=""
    if [[ "$st" != 0 ]]; then
        fail "node $1 exited with status $st on SIGTERM: $(grep -m 1 -E 'Sanitizer|runtime error' \
            "$CL_TMP/n$1.log" || echo 'see its log')"
    fi
    return 0
}

cl_pause() { kill -STOP "${CL_PID[$1]}"; }
cl_resume() { kill -CONT "${CL_PID[$1]}"; }

# cl_status N: node N's live view as JSON. Fails when the running node did
# not answer (the CLI then prints the view saved on disk, which may be stale:
# a wait must poll the node, not the file).
cl_status() {
    local out
    out=$(cl_run "$CL_BIN" cluster status --data "$(cl_data "$1")" --json) || return 1
    python3 -c "import json,sys; sys.exit(0 if json.loads(sys.argv[1])['running'] else 1)" \
        "$out" || { echo "node $1 did not answer its status" >&2; return 1; }
    printf '%s\n' "$out"
}

# cl_state_of VIEWER NODE_N: the state NODE_N has in VIEWER's view.
cl_state_of() {
    local id
    id=$(cl_node_id "$2")
    cl_status "$1" | python3 -c "
import json, sys
o = json.load(sys.stdin)
print(next((m['state'] for m in o['members'] if m['id'] == '$id'), 'unknown'))"
}

# cl_node_id N: node N's id (from its data directory; the node need not run).
cl_node_id() {
    "$CL_BIN" cluster status --data "$(cl_data "$1")" --json |
        python3 -c "import json,sys; print(json.load(sys.stdin)['node'])"
}

# cl_hints N: the hints node N keeps, for all members together.
cl_hints() {
    cl_status "$1" | python3 -c "
import json, sys
print(sum(m['hints'] for m in json.load(sys.stdin)['members']))"
}

# cl_members_alive N COUNT: node N sees exactly COUNT alive members.
cl_members_alive() {
    local got
    got=$(cl_status "$1" | python3 -c "
import json, sys
o = json.load(sys.stdin)
print(sum(1 for m in o['members'] if m['state'] == 'alive'))") || return 1
    [[ "$got" == "$2" ]]
}

# cl_create COUNT [init args]: a cluster of COUNT nodes, every one seeing all alive.
cl_create() {
    local count=$1
    shift
    CL_TOKEN=$("$CL_BIN" cluster init --data "$(cl_data 1)" --advertise "$(cl_addr 1)" \
        --gossip-ms "$CL_GOSSIP_MS" --suspect-ms "$CL_SUSPECT_MS" \
        --anti-entropy-ms "$CL_AE_MS" --timeout-ms "$CL_TIMEOUT_MS" "$@")
    cl_start 1
    local i
    for i in $(seq 2 "$count"); do
        cl_start "$i" --join "$(cl_addr 1)" --token "$CL_TOKEN"
    done
    for i in $(seq 1 "$count"); do
        cl_wait "node $i sees $count alive members" 30 cl_members_alive "$i" "$count" ||
            { fail "cluster of $count did not form (node $i)"; cl_finish; }
    done
    log "cluster of $count formed"
}

cl_kv() { # cl_kv N ACTION ARGS...: meshgate kv through node N's data directory
    local n=$1
    shift
    local action=$1
    shift
    cl_run "$CL_BIN" kv "$action" --data "$(cl_data "$n")" "$@"
}

# cl_digests N: "digest pkey rows" lines of node N's replicas.
cl_digests() { "$CL_BIN" cluster digests --data "$(cl_data "$1")"; }

# cl_converged N1 N2 ... [--replicas R]: every partition held by the listed
# nodes has exactly R copies (default 3) with one digest.
cl_converged() {
    local want=3 nodes=()
    while (($#)); do
        if [[ "$1" == --replicas ]]; then want=$2; shift 2; else nodes+=("$1"); shift; fi
    done
    local n
    for n in "${nodes[@]}"; do cl_digests "$n" >"$CL_TMP/digests.$n" || return 1; done
    local files=()
    for n in "${nodes[@]}"; do files+=("$CL_TMP/digests.$n"); done
    python3 - "$want" "${files[@]}" <<'PY'
import collections, sys
want = int(sys.argv[1])
seen = collections.defaultdict(list)
for f in sys.argv[2:]:
    node = f.rsplit(".", 1)[1]
    for line in open(f):
        digest, pkey, rows = line.rstrip("\n").split("\t")
        seen[pkey].append((node, digest[:8], rows))
bad = [(p, d) for p, d in seen.items()
       if len(d) != want or len(set(x[1] for x in d)) != 1]
if bad:
    eg = "; ".join(f"{p}: " + " ".join(f"n{n}={dg}/{r}" for n, dg, r in d) for p, d in bad[:3])
    print(f"{len(bad)} of {len(seen)} partitions not converged to {want} copies, e.g. {eg}",
          file=sys.stderr)
    sys.exit(1)
print(len(seen))
PY
}
