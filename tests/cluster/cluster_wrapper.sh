#!/usr/bin/env bash
# cluster_wrapper.sh - runs `meshgate serve` as node 1 of a 3-node cluster,
# for the integration suite (tests/integration, MESHGATE_WRAPPER=this file):
#
#   MESHGATE_WRAPPER="bash tests/cluster/cluster_wrapper.sh" \
#       bash tests/integration/test_litmus.sh build/meshgate
#
# Called as: cluster_wrapper.sh MESHGATE serve --listen 127.0.0.1:P --data D ...
# Node 1 is the server the test talks to (its address and data directory);
# nodes 2 and 3 listen on 127.0.1.2:P and 127.0.1.3:P with data beside D, so
# every request the test makes is coordinated across three replicas.
# A data directory without cluster state (accounts made before start-up)
# becomes the cluster's first member, its data spreading by anti-entropy.
set -euo pipefail
bin=$1
shift
[[ "${1:-}" == serve ]] || exec "$bin" "$@"
listen="" data=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[$i]}" in
    --listen) listen=${args[$((i + 1))]} ;;
    --data) data=${args[$((i + 1))]} ;;
    esac
done
port=${listen##*:}
[[ -n "$port" && -n "$data" ]] || { echo "cluster_wrapper: need --listen and --data" >&2; exit 2; }
if [[ ! -f "$data/cluster.json" ]]; then
    "$bin" cluster init --data "$data" --advertise "$listen" --gossip-ms 200 \
        --suspect-ms 1000 --anti-entropy-ms 2000 --timeout-ms 3000 >"$data.token"
fi
token=$(cat "$data.token")
pids=()
stop_all() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
# The test stops the server with SIGTERM and expects a clean exit: pass the
# signal on and exit with node 1's own status.
on_signal() {
    stop_all
    local st=0
    wait "$main" 2>/dev/null || st=$?
    exit "$st"
}
main=""
trap on_signal TERM INT
for n in 2 3; do
    "$bin" serve --listen "127.0.1.$n:$port" --data "$data.node$n" \
        --log-level "${CLUSTER_WRAPPER_LOG_LEVEL:-warn}" --join "$listen" --token "$token" \
        >>"$data.node$n.log" 2>&1 &
    pids+=($!)
done
"$bin" "${args[@]}" &
main=$!
pids=("$main" "${pids[@]}")
rc=0
wait "$main" || rc=$?
# Node 1 exited by itself (or wait was interrupted by the trap, which exits).
stop_all
exit "$rc"
