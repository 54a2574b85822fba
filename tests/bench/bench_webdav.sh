#!/usr/bin/env bash
# bench_webdav.sh - meshgate next to nginx (dav + dav_ext modules) on loopback,
# loaded with wrk. Not part of ctest: a benchmark prints numbers, it never fails
# because a machine is slow.
#
#   tests/bench/bench_webdav.sh [--bin PATH] [--threads LIST] [--duration S]
#                               [--connections C] [--wrk-threads T]
#
#   --bin PATH        meshgate binary (default: ./build/meshgate)
#   --threads LIST    comma-separated values for "meshgate serve --threads N",
#                     one meshgate run per value, e.g. 0,2,8 (default: the
#                     server's own default)
#   --duration S      seconds per measurement (default 10)
#   --connections C   wrk connections (default 32); --wrk-threads T (default 2)
#   --warmup S        seconds of unmeasured load before each measurement (default 1)
#
# Workloads: GET of a 1 KiB file; PROPFIND Depth 1 on a folder of 1,000 files;
# PUT of 1 KiB under a unique name per request. Output: requests/s and p99
# latency per server, the ratio meshgate/nginx, and meshgate's peak RSS (VmHWM).
# meshgate is measured with HTTP Basic auth (it requires it); nginx without auth.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN="$ROOT/build/meshgate"
THREADS_LIST=""
DURATION=10
WARMUP=1
CONNS=32
WRK_THREADS=2
while (($#)); do
    case "$1" in
    --bin) BIN=$2; shift ;;
    --threads) THREADS_LIST=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --connections) CONNS=$2; shift ;;
    --wrk-threads) WRK_THREADS=$2; shift ;;
    -h | --help)
        awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
        exit 0
        ;;
    *)
        echo "bench_webdav.sh: unknown option $1 (see --help)" >&2
        exit 2
        ;;
    esac
    shift
done
if [[ ! "$DURATION" =~ ^[0-9]+$ ]] || ((DURATION < 1 || DURATION > 600)); then
    echo "bench_webdav.sh: --duration wants 1..600 seconds" >&2
    exit 2
fi
if [[ ! "$WARMUP" =~ ^[0-9]+$ ]] || ((WARMUP > 20)); then
    echo "bench_webdav.sh: --warmup wants 0..20 seconds" >&2
    exit 2
fi

bash "$ROOT/scripts/setup.sh" --bench
if [[ ! -x "$BIN" ]]; then
    echo "bench_webdav.sh: no meshgate binary at $BIN; build first (scripts/test.sh or cmake --build build)" >&2
    exit 2
fi
NGINX_MOD=/usr/lib/nginx/modules/ngx_http_dav_ext_module.so
if [[ ! -f "$NGINX_MOD" ]]; then
    echo "bench_webdav.sh: $NGINX_MOD missing (apt-get install libnginx-mod-http-dav-ext)" >&2
    exit 2
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/meshgate-bench.XXXXXX")
MG_PID=""
NG_PID=""
cleanup() {
    local p workers=()
    # nginx's workers, so none outlives a master that had to be killed
    if [[ -n "$NG_PID" ]]; then
        mapfile -t workers < <(pgrep -P "$NG_PID" 2>/dev/null || true)
    fi
    for p in "$MG_PID" "$NG_PID"; do
        if [[ -n "$p" ]] && kill -0 "$p" 2>/dev/null; then
            kill -TERM "$p" 2>/dev/null || true
            for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
            kill -KILL "$p" 2>/dev/null || true
            wait "$p" 2>/dev/null || true
        fi
    done
    for p in "${workers[@]}"; do
        kill -KILL "$p" 2>/dev/null || true
    done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { echo $(($(date +%s%N) / 1000000)); }
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
    local p
    for _ in $(seq 1 50); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        if port_free "$p"; then echo "$p"; return 0; fi
    done
    return 1
}
# wait_http URL: polls until the URL answers at all (any status), 30 s deadline.
wait_http() {
    local deadline=$(($(now_ms) + 30000)) code
    while (($(now_ms) < deadline)); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true)
        if [[ "$code" != 000 ]]; then return 0; fi
        sleep 0.05
    done
    return 1
}

# ---- fixtures -------------------------------------------------------------------

head -c 1024 /dev/urandom >"$T/1k.bin"
BENCH_USER=bench
BENCH_PW="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
AUTH_HEADER="Authorization: Basic $(printf '%s:%s' "$BENCH_USER" "$BENCH_PW" | base64 -w0)"

# nginx: files straight on disk
NG_ROOT="$T/nginx-root"
mkdir -p "$NG_ROOT/folder1000" "$NG_ROOT/putdir" "$T/nginx/tmp" "$T/nginx/logs"
cp "$T/1k.bin" "$NG_ROOT/file1k.bin"
for i in $(seq 1 1000); do printf 'file %d\n' "$i" >"$NG_ROOT/folder1000/f$i.txt"; done

# ---- wrk scripts: results printed by done() in one parsable line -------------------

cat >"$T/report.lua" <<'LUA'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT rps=%.1f p99_us=%d p50_us=%d requests=%d non2xx=%d sockerr=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(99), latency:percentile(50),
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout))
end
LUA
cat "$T/report.lua" >"$T/get.lua"
{
    cat <<'LUA'
wrk.method = "PROPFIND"
wrk.headers["Depth"] = "1"
wrk.headers["Content-Type"] = "application/xml; charset=utf-8"
wrk.body = '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop>' ..
  '<D:resourcetype/><D:getcontentlength/><D:getetag/><D:getlastmodified/></D:prop></D:propfind>'
LUA
    cat "$T/report.lua"
} >"$T/propfind.lua"
{
    cat <<'LUA'
-- PUT of 1 KiB under a unique name: thread id + counter, below the path given
-- after "--" on the wrk command line
local threads = {}
local next_id = 0
setup = function(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end
init = function(args)
  prefix = args[1]
  counter = 0
  local f = assert(io.open(args[2], "rb"))
  payload = f:read("*a")
  f:close()
end
request = function()
  counter = counter + 1
  return wrk.format("PUT", string.format("%s/t%d-%d.bin", prefix, id, counter), nil, payload)
end
LUA
    cat "$T/report.lua"
} >"$T/put.lua"

# run_wrk LABEL URL SCRIPT [-- ARGS] [-H HEADER]: prints "rps p99_ms non2xx sockerr".
run_wrk() {
    local label=$1 url=$2 script=$3
    shift 3
    local hdr=() args=()
    while (($#)); do
        case "$1" in
        -H) hdr+=(-H "$2"); shift 2 ;;
        --) shift; args=("$@"); break ;;
        *) shift ;;
        esac
    done
    local out="$T/wrk-$label.txt"
    # a short warm-up (caches, connections, first allocations) before measuring
    if ((WARMUP > 0)); then
        timeout 30 wrk -t"$WRK_THREADS" -c"$CONNS" -d"${WARMUP}s" --timeout 10s \
            "${hdr[@]}" -s "$script" "$url" ${args[@]+-- "${args[@]}"} >/dev/null 2>&1 || true
    fi
    timeout $((DURATION + 60)) wrk -t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 10s \
        "${hdr[@]}" -s "$script" "$url" ${args[@]+-- "${args[@]}"} >"$out" 2>&1 || true
    local line
    line=$(grep '^RESULT' "$out" | tail -n 1 || true)
    if [[ -z "$line" ]]; then
        echo "wrk failed for $label: $(tail -n 3 "$out" | tr '\n' ' ')" >&2
        echo "0 0 0 0"
        return 0
    fi
    local rps p99 non2xx sockerr
    rps=$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$line")
    p99=$(sed -E 's/.*p99_us=([0-9]+).*/\1/' <<<"$line")
    non2xx=$(sed -E 's/.*non2xx=([0-9]+).*/\1/' <<<"$line")
    sockerr=$(sed -E 's/.*sockerr=([0-9]+).*/\1/' <<<"$line")
    awk -v r="$rps" -v p="$p99" -v n="$non2xx" -v s="$sockerr" 'BEGIN { printf "%.0f %.2f %d %d\n", r, p / 1000, n, s }'
}

# ---- nginx ----------------------------------------------------------------------

NG_PORT=$(pick_port)
user_line=""
if [[ $(id -u) -eq 0 ]]; then user_line="user root root;"; fi # workers run as the current user
cat >"$T/nginx/nginx.conf" <<EOF
load_module $NGINX_MOD;
$user_line
worker_processes auto;
pid $T/nginx/nginx.pid;
error_log $T/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $T/nginx/tmp/body;
    proxy_temp_path $T/nginx/tmp/proxy;
    fastcgi_temp_path $T/nginx/tmp/fastcgi;
    uwsgi_temp_path $T/nginx/tmp/uwsgi;
    scgi_temp_path $T/nginx/tmp/scgi;
    client_max_body_size 16m;
    sendfile on;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$NG_PORT;
        root $NG_ROOT;
        location / {
            dav_methods PUT DELETE MKCOL COPY MOVE;
            dav_ext_methods PROPFIND OPTIONS LOCK UNLOCK;
            create_full_put_path on;
        }
    }
}
EOF
nginx -p "$T/nginx" -c "$T/nginx/nginx.conf" -g 'daemon off;' >"$T/nginx/logs/stderr.log" 2>&1 &
NG_PID=$!
if ! wait_http "http://127.0.0.1:$NG_PORT/file1k.bin"; then
    echo "nginx did not start: $(tail -n 5 "$T/nginx/logs/error.log" "$T/nginx/logs/stderr.log" 2>/dev/null)" >&2
    exit 1
fi
NG="http://127.0.0.1:$NG_PORT"

# ---- meshgate -------------------------------------------------------------------

# start_meshgate [THREADS]: a fresh data dir, the bench user and the fixtures.
start_meshgate() {
    local threads=$1 extra=()
    if [[ -n "$threads" ]]; then extra=(--threads "$threads"); fi
    rm -rf "$T/mg-data"
    mkdir -p "$T/mg-data"
    printf '%s\n' "$BENCH_PW" | "$BIN" user add "$BENCH_USER" --data "$T/mg-data" >/dev/null
    MG_PORT=$(pick_port)
    "$BIN" serve --listen "127.0.0.1:$MG_PORT" --data "$T/mg-data" --log-level warn "${extra[@]}" \
        >"$T/mg.log" 2>&1 &
    MG_PID=$!
    if ! wait_http "http://127.0.0.1:$MG_PORT/healthz"; then
        echo "meshgate did not start: $(tail -n 5 "$T/mg.log")" >&2
        exit 1
    fi
    MG="http://127.0.0.1:$MG_PORT/dav/files/$BENCH_USER"
    # fixtures over HTTP, one curl process, kept-alive connections ("next"
    # resets the options, so each request repeats them)
    local cfg="$T/curl-fixtures.cfg" i
    {
        printf 'user = "%s:%s"\nrequest = "MKCOL"\nurl = "%s/folder1000/"\noutput = "/dev/null"\n' \
            "$BENCH_USER" "$BENCH_PW" "$MG"
        printf 'next\nuser = "%s:%s"\nrequest = "MKCOL"\nurl = "%s/putdir/"\noutput = "/dev/null"\n' \
            "$BENCH_USER" "$BENCH_PW" "$MG"
        printf 'next\nuser = "%s:%s"\nupload-file = "%s"\nurl = "%s/file1k.bin"\noutput = "/dev/null"\n' \
            "$BENCH_USER" "$BENCH_PW" "$T/1k.bin" "$MG"
        for i in $(seq 1 1000); do
            printf 'next\nuser = "%s:%s"\nupload-file = "%s"\nurl = "%s/folder1000/f%d.txt"\noutput = "/dev/null"\n' \
                "$BENCH_USER" "$BENCH_PW" "$NG_ROOT/folder1000/f$i.txt" "$MG" "$i"
        done
    } >"$cfg"
    curl -s -K "$cfg" >/dev/null
    local n
    n=$(curl -s -u "$BENCH_USER:$BENCH_PW" -X PROPFIND -H 'Depth: 1' "$MG/folder1000/" |
        grep -oE '<([A-Za-z0-9]+:)?href>' | wc -l || true)
    if ((n < 1001)); then
        echo "warning: meshgate folder1000 lists $n entries, expected 1001 (folder + 1000 files)" >&2
    fi
}

stop_meshgate() {
    kill -TERM "$MG_PID" 2>/dev/null || true
    for _ in $(seq 1 200); do kill -0 "$MG_PID" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$MG_PID" 2>/dev/null || true
    wait "$MG_PID" 2>/dev/null || true
    MG_PID=""
}

hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# ---- measurements -----------------------------------------------------------------

echo "bench: wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s on $(nproc) cores; meshgate $BIN;" \
    "nginx $(nginx -v 2>&1 | sed 's/.*nginx\///') with worker_processes auto"
echo "note: meshgate requests carry HTTP Basic auth (required); nginx serves without auth"

ROWS=()
run_set() {
    local tlabel=$1
    local w r_mg r_ng
    # each set starts from the same state: meshgate has a fresh data dir, and
    # nginx's PUT folder is emptied
    rm -rf "$NG_ROOT/putdir"
    mkdir -p "$NG_ROOT/putdir"
    for w in get propfind put; do
        case "$w" in
        get)
            r_mg=$(run_wrk "mg-$w-$tlabel" "$MG/file1k.bin" "$T/get.lua" -H "$AUTH_HEADER")
            r_ng=$(run_wrk "ng-$w-$tlabel" "$NG/file1k.bin" "$T/get.lua")
            name="GET 1 KiB"
            ;;
        propfind)
            r_mg=$(run_wrk "mg-$w-$tlabel" "$MG/folder1000/" "$T/propfind.lua" -H "$AUTH_HEADER")
            r_ng=$(run_wrk "ng-$w-$tlabel" "$NG/folder1000/" "$T/propfind.lua")
            name="PROPFIND D1 1000"
            ;;
        put)
            r_mg=$(run_wrk "mg-$w-$tlabel" "$MG/putdir/" "$T/put.lua" -H "$AUTH_HEADER" -- \
                "/dav/files/$BENCH_USER/putdir" "$T/1k.bin")
            r_ng=$(run_wrk "ng-$w-$tlabel" "$NG/putdir/" "$T/put.lua" -- "/putdir" "$T/1k.bin")
            name="PUT 1 KiB"
            ;;
        esac
        ROWS+=("$tlabel|$name|$r_mg|$r_ng")
    done
}

if [[ -z "$THREADS_LIST" ]]; then THREADS_LIST="default"; fi
HWMS=()
for t in ${THREADS_LIST//,/ }; do
    if [[ "$t" == default ]]; then start_meshgate ""; else start_meshgate "$t"; fi
    echo "running meshgate --threads $t ..." >&2
    run_set "$t"
    HWMS+=("$t:$(hwm_kib "$MG_PID")")
    stop_meshgate
done
ng_hwm=0
for p in $(pgrep -P "$NG_PID" 2>/dev/null || true) "$NG_PID"; do
    ng_hwm=$((ng_hwm + $(hwm_kib "$p")))
done

echo
printf '%-8s %-18s %12s %10s %8s %12s %10s %8s %8s\n' threads workload "mg req/s" "mg p99" "mg !2xx" \
    "nginx req/s" "ngx p99" "ngx !2xx" "mg/ngx"
for row in "${ROWS[@]}"; do
    IFS='|' read -r tl name mg ng <<<"$row"
    read -r mrps mp99 mnon msock <<<"$mg"
    read -r nrps np99 nnon nsock <<<"$ng"
    ratio=$(awk -v a="$mrps" -v b="$nrps" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
    printf '%-8s %-18s %12s %8s ms %8s %12s %7s ms %8s %8s\n' "$tl" "$name" "$mrps" "$mp99" \
        "$((mnon + msock))" "$nrps" "$np99" "$((nnon + nsock))" "$ratio"
done
echo
for h in "${HWMS[@]}"; do
    echo "meshgate peak RSS (VmHWM), --threads ${h%%:*}: $((${h##*:} / 1024)) MiB"
done
echo "nginx peak RSS (VmHWM, master + workers): $((ng_hwm / 1024)) MiB"
echo "(!2xx = non-2xx/3xx responses plus socket errors; a non-zero count makes that row's req/s meaningless)"
