# shellcheck shell=bash disable=SC2034
# (SC2034: the variables set here are used by the scripts that source this file)
# lib.sh - helpers sourced by every tests/integration/test_*.sh script.
#
# A test script looks like this:
#
#   source "$(dirname "$0")/lib.sh"
#   mg_init "$@"                  # $1 = path to the meshgate binary
#   mg_add_user alice "$ALICE_PW"
#   mg_start                      # background server on a free loopback port
#   expect_status PUT "$DAV/a.txt" 201 "${ALICE[@]}" --data-binary @file
#   expect_header ETag '^"'
#   mg_finish                     # stops the server, prints "N passed, N failed", exits
#
# Helpers (each documented where it is defined):
#   set-up      mg_init, mg_add_user, mg_add_standard_users (alice, bob), mg_start,
#               mg_stop, mg_finish, mg_alive, mg_vmhwm_kib, mg_cli, require_cmd
#   requests    mg_request (no check), expect_status (one request, one check);
#               the response stays in LAST_STATUS, LAST_TIME, LAST_BODY_FILE,
#               LAST_HEADERS_FILE; header_value NAME reads a header of it
#   checks      expect_header, expect_no_header, expect_body_contains,
#               expect_body_not_contains, expect_body_matches, expect_body_file,
#               expect_fast, expect_eq, expect_contains, expect_not_contains,
#               expect_alive, check DESC CMD..., pass, fail
#   REST        mg_login (a bearer token), jget, expect_json, expect_problem
#               (RFC 9457), poll_status (repeat a request until a status)
#   Checks never return non-zero (scripts run under set -e); MG_OK is 1 or 0
#   after each. A server that dies mid-script ends it with one clear failure.
#
# Environment:
#   MESHGATE_WRAPPER   command prefix for the server, e.g.
#                      "valgrind --leak-check=full --error-exitcode=99 --errors-for-leak-kinds=definite"
#   MESHGATE_KEEP=1    keep the temporary directory (data, logs) after the run
#   MESHGATE_VERBOSE=1 print every passing check too
#
# Everything listens on 127.0.0.1 only. Every wait polls with a deadline; no loop
# runs unbounded.

set -euo pipefail

# ---- state -------------------------------------------------------------------

MG_BIN=""
MG_TMP=""
MG_DATA=""
MG_LOG=""
MG_PID=""
MG_PORT=""
MG_BASE=""
MG_SCHEME=${MG_SCHEME:-http} # https: the script starts the server with tls_cert/tls_key
MG_CURL_TLS=()               # curl options every request takes (e.g. --cacert FILE)
MG_PASSED=0
MG_FAILED=0
MG_NAME=""
MG_FINISHED=0
MG_LOG_SHOWN=0
MG_OK=1 # outcome of the last check: assertions always return 0 (scripts run
        # under set -e), so a script tests $MG_OK to skip dependent steps
MG_WRAPPED=0
MG_START_TIMEOUT=30
MG_STOP_TIMEOUT=20
MG_CURL_TIMEOUT=60

# Filled by mg_request / expect_status: the last response.
LAST_STATUS=""
LAST_TIME="" # seconds, as curl reports time_total
LAST_BODY_FILE=""
LAST_HEADERS_FILE=""
LAST_DESC=""

# Credentials of the standard users (fixed, test-only).
ALICE_PW='alice-Secret-1'
BOB_PW='bob-Secret-2'
ALICE=(-u "alice:$ALICE_PW")
BOB=(-u "bob:$BOB_PW")

# ---- output and counting -----------------------------------------------------

# log MSG...: a progress line on stderr, prefixed with the script's name.
log() {
    printf '[%s] %s\n' "$MG_NAME" "$*" >&2
}

# pass DESC: records a passing check.
pass() {
    MG_OK=1
    MG_PASSED=$((MG_PASSED + 1))
    if [[ "${MESHGATE_VERBOSE:-0}" == 1 ]]; then
        printf 'ok   %s\n' "$*"
    fi
}

# fail DESC: records a failing check; DESC says what broke.
fail() {
    MG_OK=0
    MG_FAILED=$((MG_FAILED + 1))
    printf 'FAIL %s\n' "$*"
}

# check DESC CMD...: passes when CMD succeeds.
check() {
    local desc=$1
    shift
    if "$@"; then pass "$desc"; else fail "$desc"; fi
}

# now_ms: milliseconds since the epoch.
now_ms() {
    local ns
    ns=$(date +%s%N)
    echo $((ns / 1000000))
}

# require_cmd CMD...: fails the script (counted, not skipped) when a client is missing.
require_cmd() {
    local c missing=0
    for c in "$@"; do
        if ! command -v "$c" >/dev/null 2>&1; then
            fail "required command '$c' not found (run scripts/setup.sh --test)"
            missing=1
        fi
    done
    if ((missing)); then
        mg_finish
    fi
}

# ---- set-up and tear-down ----------------------------------------------------

# mg_init BINARY: checks the binary, makes the temporary directory, installs the trap.
mg_init() {
    MG_NAME=$(basename "${0%.sh}")
    MG_BIN=${1:-${MESHGATE_BIN:-}}
    if [[ -z "$MG_BIN" ]]; then
        echo "usage: bash $0 /path/to/meshgate" >&2
        exit 2
    fi
    if [[ ! -x "$MG_BIN" ]]; then
        echo "$MG_NAME: meshgate binary not executable: $MG_BIN" >&2
        exit 2
    fi
    MG_BIN=$(cd "$(dirname "$MG_BIN")" && pwd)/$(basename "$MG_BIN")
    require_cmd curl
    MG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mg-${MG_NAME}.XXXXXX")
    MG_DATA="$MG_TMP/data"
    MG_LOG="$MG_TMP/server.log"
    LAST_BODY_FILE="$MG_TMP/last.body"
    LAST_HEADERS_FILE="$MG_TMP/last.headers"
    mkdir -p "$MG_DATA"
    : >"$MG_LOG"
    if [[ -n "${MESHGATE_WRAPPER:-}" ]]; then
        MG_WRAPPED=1
        # valgrind makes start-up and shutdown an order of magnitude slower
        MG_START_TIMEOUT=180
        MG_STOP_TIMEOUT=120
        MG_CURL_TIMEOUT=300
    fi
    trap mg_cleanup EXIT
    trap 'fail "interrupted"; exit 130' INT TERM
}

# mg_cleanup: the EXIT trap; kills a server still running (by its PID) and removes
# the temporary directory unless MESHGATE_KEEP=1 or the run failed.
mg_cleanup() {
    local rc=$?
    if [[ -n "$MG_PID" ]] && kill -0 "$MG_PID" 2>/dev/null; then
        kill -KILL "$MG_PID" 2>/dev/null || true
        wait "$MG_PID" 2>/dev/null || true
    fi
    MG_PID=""
    if [[ "$MG_FINISHED" != 1 ]]; then
        echo "$MG_NAME: ended early (exit $rc) after $MG_PASSED passed, $MG_FAILED failed" >&2
        mg_show_log
    fi
    if [[ -n "$MG_TMP" && -d "$MG_TMP" ]]; then
        if [[ "${MESHGATE_KEEP:-0}" == 1 ]]; then
            echo "$MG_NAME: kept $MG_TMP" >&2
        else
            rm -rf "$MG_TMP"
        fi
    fi
}

# mg_show_log [LINES]: prints the tail of the server's log (stderr), and before
# it the first crash or sanitizer/valgrind report, which a leak summary at the
# end would otherwise push out of the tail.
mg_show_log() {
    local n=${1:-40} first
    MG_LOG_SHOWN=1
    if [[ -s "${MG_LOG:-}" ]]; then
        first=$(grep -nE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|Process terminating|Invalid (read|write|free)|uninitialised|Conditional jump|definitely lost in' \
            "$MG_LOG" | head -n 1 | cut -d: -f1 || true)
        if [[ -n "$first" ]] && ((first < $(wc -l <"$MG_LOG") - n)); then
            echo "---- first report in the server log ($MG_LOG, line $first) ----" >&2
            tail -n +"$first" "$MG_LOG" | head -n 30 >&2
        fi
        echo "---- last $n lines of the server log ($MG_LOG) ----" >&2
        tail -n "$n" "$MG_LOG" >&2
        echo "---- end of server log ----" >&2
    fi
}

# mg_port_free PORT: true when nothing listens on 127.0.0.1:PORT.
mg_port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# mg_pick_port: prints a free loopback port below the usual ephemeral range
# (32768+), so it does not collide with client sockets; random so parallel
# tests (ctest -j) pick different ones.
mg_pick_port() {
    local i p
    for ((i = 0; i < 50; i++)); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        if mg_port_free "$p"; then
            echo "$p"
            return 0
        fi
    done
    echo "no free port found" >&2
}

# mg_cli ARGS...: runs the meshgate CLI (not wrapped: only the server is under valgrind).
mg_cli() {
    "$MG_BIN" "$@"
}

# mg_add_user NAME PASSWORD [--admin]: creates a user in the data directory,
# password on standard input.
mg_add_user() {
    local name=$1 pw=$2
    shift 2
    local out
    if ! out=$(printf '%s\n' "$pw" | "$MG_BIN" user add "$name" --data "$MG_DATA" "$@" 2>&1); then
        fail "meshgate user add $name failed: $out"
        mg_finish
    fi
    pass "user add $name"
}

# mg_add_standard_users: alice and bob with $ALICE_PW and $BOB_PW.
mg_add_standard_users() {
    mg_add_user alice "$ALICE_PW"
    mg_add_user bob "$BOB_PW"
}

# mg_start [EXTRA SERVE ARGS...]: starts the server in the background on a free
# port and waits (with a deadline) until /healthz answers 200. Sets MG_PID,
# MG_PORT, MG_BASE. Retries with another port if the first was taken meanwhile.
# On failure, records it, shows the log and ends the script.
mg_start() {
    local attempt deadline code wrapper=()
    if [[ -n "${MESHGATE_WRAPPER:-}" ]]; then
        # word splitting intended: the wrapper is a command with arguments
        read -r -a wrapper <<<"$MESHGATE_WRAPPER"
    fi
    for ((attempt = 1; attempt <= 3; attempt++)); do
        MG_PORT=$(mg_pick_port)
        MG_BASE="$MG_SCHEME://127.0.0.1:$MG_PORT"
        echo "== start attempt $attempt on port $MG_PORT: ${wrapper[*]-} meshgate serve $*" >>"$MG_LOG"
        "${wrapper[@]}" "$MG_BIN" serve --listen "127.0.0.1:$MG_PORT" --data "$MG_DATA" \
            --log-level "${MESHGATE_LOG_LEVEL:-info}" "$@" >>"$MG_LOG" 2>&1 &
        MG_PID=$!
        mg_watchdog "$MG_PID"
        deadline=$(($(now_ms) + MG_START_TIMEOUT * 1000))
        while (($(now_ms) < deadline)); do
            if ! kill -0 "$MG_PID" 2>/dev/null; then
                break
            fi
            code=$(curl -s "${MG_CURL_TLS[@]}" -o /dev/null -w '%{http_code}' --max-time 2 \
                "$MG_BASE/healthz" || true)
            if [[ "$code" == 200 ]]; then
                pass "server started on port $MG_PORT"
                return 0
            fi
            sleep 0.05
        done
        if kill -0 "$MG_PID" 2>/dev/null; then
            fail "server did not answer 200 on /healthz within ${MG_START_TIMEOUT}s (last status: ${code:-none})"
            mg_show_log
            mg_finish
        fi
        wait "$MG_PID" 2>/dev/null && code=0 || code=$?
        MG_PID=""
        if grep -qiE 'address already in use|EADDRINUSE' "$MG_LOG" && ((attempt < 3)); then
            log "port $MG_PORT taken, retrying"
            continue
        fi
        fail "server exited during start-up with status $code"
        mg_show_log
        mg_finish
    done
}

# mg_watchdog PID: if this script dies without running its EXIT trap (ctest's
# timeout kills with SIGKILL), kills the server PID and removes the temporary
# directory, so no server or gigabyte of test data outlives its test. Polls
# once a second, for at most 2 hours; its output goes nowhere so ctest does
# not wait on it.
mg_watchdog() {
    local server=$1 script=$$ tmp=$MG_TMP keep=${MESHGATE_KEEP:-0}
    (
        for ((i = 0; i < 7200; i++)); do
            kill -0 "$server" 2>/dev/null || exit 0
            # gone, or a zombie its parent has not reaped yet
            if ! kill -0 "$script" 2>/dev/null ||
                grep -q '^State:.*Z' "/proc/$script/status" 2>/dev/null; then
                kill -KILL "$server" 2>/dev/null
                if [[ "$keep" != 1 && -n "$tmp" ]]; then
                    sleep 0.5 # let the killed server's files close
                    rm -rf "$tmp"
                fi
                exit 0
            fi
            sleep 1
        done
    ) </dev/null >/dev/null 2>&1 &
}

# mg_alive: true when the server process runs and /healthz answers 200 within 5 s.
mg_alive() {
    [[ -n "$MG_PID" ]] && kill -0 "$MG_PID" 2>/dev/null &&
        [[ $(curl -s "${MG_CURL_TLS[@]}" -o /dev/null -w '%{http_code}' --max-time 5 "$MG_BASE/healthz" || true) == 200 ]]
}

# expect_alive DESC: a check that the server still runs and answers.
expect_alive() {
    if mg_alive; then
        pass "server alive: $*"
    else
        fail "server not alive/healthy after: $*"
        mg_show_log 20
    fi
}

# mg_stop: SIGTERM, waits with a deadline; a server that does not exit in time
# is killed and that is a failure; so is a non-zero exit status (ASan leak
# reports, valgrind's --error-exitcode).
mg_stop() {
    local deadline rc
    if [[ -z "$MG_PID" ]]; then
        return 0
    fi
    if ! kill -0 "$MG_PID" 2>/dev/null; then
        wait "$MG_PID" 2>/dev/null && rc=0 || rc=$?
        fail "server (pid $MG_PID) had already exited with status $rc before shutdown"
        MG_PID=""
        mg_show_log
        return 0
    fi
    kill -TERM "$MG_PID" 2>/dev/null || true
    deadline=$(($(now_ms) + MG_STOP_TIMEOUT * 1000))
    while kill -0 "$MG_PID" 2>/dev/null && (($(now_ms) < deadline)); do
        # a zombie still answers kill -0; reap it once it has exited
        if grep -q '^State:.*Z' "/proc/$MG_PID/status" 2>/dev/null; then
            break
        fi
        sleep 0.05
    done
    if kill -0 "$MG_PID" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$MG_PID/status" 2>/dev/null; then
        fail "server did not exit within ${MG_STOP_TIMEOUT}s of SIGTERM; killed"
        kill -KILL "$MG_PID" 2>/dev/null || true
        wait "$MG_PID" 2>/dev/null || true
        MG_PID=""
        mg_show_log
        return 0
    fi
    wait "$MG_PID" 2>/dev/null && rc=0 || rc=$?
    MG_PID=""
    if ((rc == 0)); then
        pass "server shut down cleanly on SIGTERM"
    else
        fail "server exited with status $rc after SIGTERM (sanitizer/valgrind report or crash?)"
        mg_show_log 60
    fi
}

# mg_finish: stops the server, prints the summary and exits (1 on any failure,
# or when nothing was checked).
mg_finish() {
    mg_stop
    if ((MG_FAILED > 0 && MG_LOG_SHOWN == 0)); then
        mg_show_log 30
    fi
    MG_FINISHED=1
    echo "$MG_NAME: $MG_PASSED passed, $MG_FAILED failed"
    if ((MG_FAILED > 0 || MG_PASSED == 0)); then
        exit 1
    fi
    exit 0
}

# mg_vmhwm_kib: peak resident set size of the server in KiB (VmHWM), or empty.
mg_vmhwm_kib() {
    awk '/^VmHWM:/ {print $2}' "/proc/$MG_PID/status" 2>/dev/null || true
}

# ---- HTTP --------------------------------------------------------------------

# mg_request METHOD URL [CURL ARGS...]: sends one request; sets LAST_STATUS and
# writes the body and headers to LAST_BODY_FILE / LAST_HEADERS_FILE. The URL is
# sent as is (--path-as-is: no dot-segment removal by curl; -g: no globbing).
mg_request() {
    local method=$1 url=$2
    shift 2
    local margs=(-X "$method")
    case "$method" in
    HEAD) margs=(-I) ;;
    GET) margs=() ;;
    esac
    LAST_DESC="$method ${url:0:200}" # (no printf | head: SIGPIPE under pipefail)
    local out rc=0
    : >"$LAST_HEADERS_FILE"
    : >"$LAST_BODY_FILE"
    out=$(curl -s -g --path-as-is "${MG_CURL_TLS[@]}" --max-time "$MG_CURL_TIMEOUT" \
        -o "$LAST_BODY_FILE" -D "$LAST_HEADERS_FILE" -w '%{http_code} %{time_total}' \
        "${margs[@]}" "$@" -- "$url" 2>"$MG_TMP/curl.err") || rc=$?
    LAST_STATUS=${out%% *}
    LAST_TIME=${out##* }
    [[ -n "$LAST_STATUS" ]] || LAST_STATUS=000
    if ((rc != 0)); then
        # 000 = no response (connection refused/reset, timeout): the message says why
        echo "[curl exit $rc: $(head -c 300 "$MG_TMP/curl.err")]" >>"$LAST_BODY_FILE"
        # the server crashed: say so once, with its log, rather than fail every later check
        if [[ -n "$MG_PID" ]] && { ! kill -0 "$MG_PID" 2>/dev/null ||
            grep -q '^State:.*Z' "/proc/$MG_PID/status" 2>/dev/null; }; then
            local st
            wait "$MG_PID" 2>/dev/null && st=0 || st=$?
            fail "server died (exit status $st$( ((st > 128)) && echo ", signal $((st - 128))")) during $LAST_DESC"
            MG_PID=""
            mg_show_log 40
            mg_finish
        fi
        return 0
    fi
    # HEAD responses: curl -I prints headers to stdout too; keep the body empty
    if [[ "$method" == HEAD ]]; then : >"$LAST_BODY_FILE"; fi
    return 0
}

# expect_fast MAX_SECONDS: the last request took at most MAX_SECONDS.
expect_fast() {
    if awk -v t="${LAST_TIME:-999}" -v m="$1" 'BEGIN { exit !(t + 0 <= m + 0) }'; then
        pass "$LAST_DESC answered in ${LAST_TIME}s"
    else
        fail "$LAST_DESC took ${LAST_TIME}s (limit ${1}s)"
    fi
}

# status_matches STATUS EXPECTED: EXPECTED is a code or alternatives "400|403|404".
status_matches() {
    local s=$1 alt
    local IFS='|'
    for alt in $2; do
        [[ "$s" == "$alt" ]] && return 0
    done
}

# body_excerpt: the first bytes of the last body, one line, for failure messages.
body_excerpt() {
    if [[ -s "$LAST_BODY_FILE" ]]; then
        head -c "${1:-300}" "$LAST_BODY_FILE" | tr '\n\r' '  ' | LC_ALL=C tr -c '[:print:]' '?'
    else
        printf '(empty body)'
    fi
}

# expect_status METHOD URL EXPECTED [CURL ARGS...]: one request, one check.
# EXPECTED may list alternatives: "400|403|404".
expect_status() {
    local method=$1 url=$2 expected=$3
    shift 3
    mg_request "$method" "$url" "$@"
    if status_matches "$LAST_STATUS" "$expected"; then
        pass "$method $url -> $LAST_STATUS"
        return 0
    fi
    fail "$method $url: expected $expected, got $LAST_STATUS; body: $(body_excerpt)"
}

# header_value NAME: the value of a header of the last response, CR removed;
# repeated fields are joined with ", " (RFC 9110 5.3).
header_value() {
    local name=$1
    # the last header block counts (after "100 Continue" and the like)
    awk -v n="$(printf '%s' "$name" | tr '[:upper:]' '[:lower:]')" '
        {
            sub(/\r$/, "")
            if ($0 ~ /^HTTP\//) { found = 0; v = ""; next }
            i = index($0, ":")
            if (i > 0 && tolower(substr($0, 1, i - 1)) == n) {
                x = substr($0, i + 1); sub(/^[ \t]+/, "", x); sub(/[ \t]+$/, "", x)
                v = found ? v ", " x : x; found = 1
            }
        }
        END { if (found) print v }' "$LAST_HEADERS_FILE"
}

# expect_header NAME REGEX: the last response has header NAME matching the
# extended regular expression REGEX.
expect_header() {
    local name=$1 re=$2 v
    v=$(header_value "$name")
    if [[ -n "$v" ]] && printf '%s' "$v" | grep -qE -- "$re"; then
        pass "$LAST_DESC: header $name: $v"
        return 0
    fi
    fail "$LAST_DESC: expected header $name matching /$re/, got '${v:-<absent>}'"
}

# expect_no_header NAME: the last response lacks header NAME.
expect_no_header() {
    local v
    v=$(header_value "$1")
    if [[ -z "$v" ]]; then
        pass "$LAST_DESC: no $1 header"
        return 0
    fi
    fail "$LAST_DESC: expected no $1 header, got '$v'"
}

# expect_body_contains STRING [DESC]: the last body contains STRING (fixed string).
expect_body_contains() {
    if grep -qF -- "$1" "$LAST_BODY_FILE"; then
        pass "$LAST_DESC: body contains '$1'"
        return 0
    fi
    fail "$LAST_DESC: ${2:-body} should contain '$1'; body: $(body_excerpt 600)"
}

# expect_body_matches REGEX [DESC]: the last body, with line breaks turned into
# spaces (XML may be pretty-printed), matches an extended regex.
expect_body_matches() {
    # grep without -q reads all its input: with pipefail, grep -q exiting
    # early would kill tr with SIGPIPE and fail a matching body at random
    if tr '\r\n' '  ' <"$LAST_BODY_FILE" | grep -E -- "$1" >/dev/null; then
        pass "$LAST_DESC: body matches /$1/"
        return 0
    fi
    fail "$LAST_DESC: ${2:-body} should match /$1/; body: $(body_excerpt 600)"
}

# expect_body_not_contains STRING [DESC]: the last body does not contain STRING.
expect_body_not_contains() {
    if ! grep -qF -- "$1" "$LAST_BODY_FILE"; then
        pass "$LAST_DESC: body lacks '$1'"
        return 0
    fi
    fail "$LAST_DESC: ${2:-body} must not contain '$1'; body: $(body_excerpt 600)"
}

# expect_body_file FILE: the last body equals FILE byte for byte.
expect_body_file() {
    if cmp -s "$LAST_BODY_FILE" "$1"; then
        pass "$LAST_DESC: body equals $(basename "$1")"
        return 0
    fi
    fail "$LAST_DESC: body differs from $(basename "$1") ($(wc -c <"$LAST_BODY_FILE") vs $(wc -c <"$1") bytes)"
}

# expect_eq ACTUAL EXPECTED DESC
expect_eq() {
    if [[ "$1" == "$2" ]]; then
        pass "$3"
        return 0
    fi
    fail "$3: expected '$2', got '$1'"
}

# expect_contains HAYSTACK NEEDLE DESC: a string contains a fixed substring.
expect_contains() {
    if [[ "$1" == *"$2"* ]]; then
        pass "$3"
        return 0
    fi
    fail "$3: expected to contain '$2', got '$(printf '%s' "$1" | head -c 400 | tr '\n' ' ')'"
}

# expect_not_contains HAYSTACK NEEDLE DESC
expect_not_contains() {
    if [[ "$1" != *"$2"* ]]; then
        pass "$3"
        return 0
    fi
    fail "$3: must not contain '$2', got '$(printf '%s' "$1" | head -c 400 | tr '\n' ' ')'"
}

# propfind_body PROPS...: a PROPFIND body asking for the named DAV: properties,
# or allprop when none are given.
propfind_body() {
    local p out='<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:">'
    if (($# == 0)); then
        out+='<D:allprop/>'
    else
        out+='<D:prop>'
        for p in "$@"; do out+="<D:$p/>"; done
        out+='</D:prop>'
    fi
    printf '%s</D:propfind>' "$out"
}

# sha256_of FILE: the hex digest.
sha256_of() {
    sha256sum "$1" | awk '{print $1}'
}

# ---- the REST API ------------------------------------------------------------

# mg_login USER PASSWORD [TTL]: prints a bearer token from POST /api/v1/login
# (TTL: its lifetime in seconds); a failed login is recorded, nothing printed.
mg_login() {
    local body
    body=$(jq -cn --arg u "$1" --arg p "$2" --argjson t "${3:-null}" \
        '{user: $u, password: $p} + (if $t == null then {} else {ttl: $t} end)')
    mg_request POST "$MG_BASE/api/v1/login" -H 'Content-Type: application/json' --data-binary "$body"
    if [[ "$LAST_STATUS" != 200 ]]; then
        fail "login $1: expected 200, got $LAST_STATUS; body: $(body_excerpt)"
        return 0
    fi
    jq -r '.token // empty' "$LAST_BODY_FILE"
}

# jget FILTER: a field of the last body (jq -r); empty when it is not JSON.
jget() {
    jq -r "$1" "$LAST_BODY_FILE" 2>/dev/null || true
}

# expect_json FILTER EXPECTED: a field of the last body.
expect_json() {
    expect_eq "$(jget "$1")" "$2" "$LAST_DESC: $1"
}

# expect_problem STATUS [SLUG]: the last response is an RFC 9457 problem with
# that status and a detail, of type urn:meshgate:problem:SLUG when one is given.
expect_problem() {
    local ct
    ct=$(header_value Content-Type)
    if [[ "$ct" == application/problem+json* ]] &&
        jq -e --argjson s "$1" '.status == $s and (.type|type) == "string" and
            (.title|type) == "string" and (.detail|length) > 0' "$LAST_BODY_FILE" >/dev/null 2>&1; then
        pass "$LAST_DESC: problem+json $1"
    else
        fail "$LAST_DESC: expected an RFC 9457 problem with status $1 (Content-Type '$ct'); body: $(body_excerpt)"
    fi
    if [[ -n "${2:-}" ]]; then
        expect_json .type "urn:meshgate:problem:$2"
    fi
}

# poll_status EXPECTED SECONDS METHOD URL [CURL ARGS...]: repeats the request
# every 0.2 s until it answers EXPECTED or SECONDS pass; one check.
poll_status() {
    local expected=$1 secs=$2 deadline=$(($(now_ms) + $2 * 1000))
    shift 2
    while :; do
        mg_request "$@"
        if [[ "$LAST_STATUS" == "$expected" ]] || (($(now_ms) >= deadline)); then
            break
        fi
        sleep 0.2
    done
    expect_eq "$LAST_STATUS" "$expected" "$LAST_DESC answers $expected within ${secs}s"
}
