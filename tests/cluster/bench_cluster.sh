#!/usr/bin/env bash
# bench_cluster.sh - WebDAV put/get throughput and latency on 1 node (no
# cluster) and on a 3-node cluster (N=3, W=2, R=2), and the time a node that
# missed 10,000 writes needs to converge (hints + anti-entropy) after it
# comes back. A benchmark, not a test: it prints numbers, never fails on a
# slow machine. Everything runs on 127.0.0.x.
#
#   bash tests/cluster/bench_cluster.sh build/meshgate [WRITES]
source "$(dirname "$0")/lib.sh"
cl_init "$1"
WRITES=${2:-10000}
PW='bench-Secret-1'
LOAD="python3 $(dirname "$0")/load.py"
THREADS=${BENCH_THREADS:-8}
result() { printf '%-34s %s\n' "$1" "$2" | tee -a "$CL_TMP/results"; }

run_load() { # run_load LABEL NODES: put then get WRITES files
    local label=$1 nodes=$2 base
    base=$(cut -d, -f1 <<<"$nodes")
    curl -sf -o /dev/null -u "bench:$PW" -X MKCOL "$base/dav/files/bench/$label/"
    $LOAD put --nodes "$nodes" --user "bench:$PW" --path "/dav/files/bench/$label" --dirs 16 \
        --count "$WRITES" --threads "$THREADS" --out "$CL_TMP/acked.$label" >"$CL_TMP/put.$label"
    $LOAD get --nodes "$nodes" --user "bench:$PW" --acked "$CL_TMP/acked.$label" \
        --count "$WRITES" --threads "$THREADS" >"$CL_TMP/get.$label"
    result "$label put" "$(sed 's/^put: //' "$CL_TMP/put.$label")"
    result "$label get" "$(sed 's/^get: //' "$CL_TMP/get.$label")"
}

# 1 node: no cluster state, the embedded default.
echo "$PW" | "$CL_BIN" user add bench --data "$(cl_data 1)" >/dev/null
cl_start 1
run_load single "$(cl_url 1)"
cl_stop 1
rm -rf "$(cl_data 1)"

# 3 nodes.
cl_create 3
echo "$PW" | "$CL_BIN" user add bench --data "$(cl_data 1)" >/dev/null
run_load cluster3 "$(cl_url 1),$(cl_url 2),$(cl_url 3)"

# Node 3 misses WRITES writes, then comes back.
cl_stop 3
curl -sf -o /dev/null -u "bench:$PW" -X MKCOL "$(cl_url 1)/dav/files/bench/missed/"
$LOAD put --nodes "$(cl_url 1),$(cl_url 2)" --user "bench:$PW" --path /dav/files/bench/missed \
    --dirs 16 --count "$WRITES" --threads "$THREADS" --out "$CL_TMP/acked.missed" >"$CL_TMP/put.missed"
result "writes while node 3 was down" "$(sed 's/^put: //' "$CL_TMP/put.missed")"
t0=$(date +%s.%N)
cl_start 3
if cl_wait "converged" 600 cl_converged 1 2 3; then
    result "node 3 converged after" \
        "$(python3 -c "import time; print(f'{time.time() - $t0:.1f} s')") ($(cl_converged 1 2 3) partitions identical on 3 replicas)"
else
    result "node 3 converged after" "not within 600 s"
fi
echo
echo "== results ($WRITES writes, $THREADS client threads, $(nproc) cores)"
cat "$CL_TMP/results"
cl_finish
