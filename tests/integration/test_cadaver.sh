#!/usr/bin/env bash
# test_cadaver.sh - one scripted cadaver session (commands on standard input,
# credentials from a temporary HOME's .netrc) against /dav/files/alice/, with
# the results checked again with curl, including while cadaver holds a lock.
#
#   bash tests/integration/test_cadaver.sh /path/to/meshgate
source "$(dirname "$0")/lib.sh"
mg_init "$@"
require_cmd cadaver stdbuf
mg_add_standard_users
mg_start

DAV="$MG_BASE/dav/files/alice"
W="$MG_TMP/work"
mkdir -p "$W/home"
printf 'machine 127.0.0.1\nlogin alice\npassword %s\n' "$ALICE_PW" >"$W/home/.netrc"
chmod 600 "$W/home/.netrc"
printf 'uploaded by cadaver\nsecond line\n' >"$W/up.txt"
head -c 200000 /dev/urandom >"$W/binary.bin"
printf 'new content while locked\n' >"$W/up2.txt"

# ---- the session: commands go through a FIFO so curl can check in between ----

CAD_OUT="$W/cadaver.out"
CAD_PID=""
CAD_SENT=0
mkfifo "$W/cadaver.in"
# stdbuf: line-buffered output, so each command's result can be waited for
HOME="$W/home" timeout 300 stdbuf -oL -eL cadaver "$DAV/" <"$W/cadaver.in" >"$CAD_OUT" 2>&1 &
CAD_PID=$!
exec 7>"$W/cadaver.in"

# shellcheck disable=SC2317 # called by the EXIT trap
cad_cleanup() {
    exec 7>&- 2>/dev/null || true
    if [[ -n "$CAD_PID" ]] && kill -0 "$CAD_PID" 2>/dev/null; then
        kill -TERM "$CAD_PID" 2>/dev/null || true
        wait "$CAD_PID" 2>/dev/null || true
    fi
    mg_cleanup
}
trap cad_cleanup EXIT

# cad_prompts: how many prompts cadaver has printed ("dav:/path/> ").
cad_prompts() {
    grep -oE 'dav:[^ ]*> ' "$CAD_OUT" 2>/dev/null | wc -l
}

# cad_wait N: waits (30 s deadline) until cadaver printed N prompts.
cad_wait() {
    local deadline=$(($(now_ms) + 30000))
    while (($(cad_prompts) < $1)); do
        if ! kill -0 "$CAD_PID" 2>/dev/null || (($(now_ms) > deadline)); then
            return 1
        fi
        sleep 0.02
    done
}

# cad CMD EXPECTED_REGEX: sends one command, waits for its result and checks that
# the command's output matches the extended regex.
CAD_BLOCK=""
cad() {
    local cmd=$1 expected=$2 offset
    offset=$(wc -c <"$CAD_OUT")
    printf '%s\n' "$cmd" >&7
    CAD_SENT=$((CAD_SENT + 1))
    if ! cad_wait $((CAD_SENT + 1)); then
        CAD_BLOCK=$(tail -c +$((offset + 1)) "$CAD_OUT")
        fail "cadaver '$cmd': no prompt after the command (cadaver exited or hung); output: $(tr '\n' ' ' <<<"$CAD_BLOCK" | head -c 400)"
        return 0
    fi
    CAD_BLOCK=$(tail -c +$((offset + 1)) "$CAD_OUT")
    if grep -qE -- "$expected" <<<"$CAD_BLOCK"; then
        pass "cadaver '$cmd'"
    else
        fail "cadaver '$cmd': expected /$expected/ in: $(tr '\n' ' ' <<<"$CAD_BLOCK" | head -c 400)"
    fi
}

if ! cad_wait 1; then
    fail "cadaver did not start: $(head -c 400 "$CAD_OUT")"
    mg_finish
fi
if grep -q 'dav:!>' "$CAD_OUT"; then
    fail "cadaver could not open $DAV/: $(head -c 400 "$CAD_OUT" | tr '\n' ' ')"
fi

OK='succeeded\.'
cad "mkcol cdir" "Creating .cdir.: $OK"
cad "mkcol cdir" 'failed:.*405|405'
cad "cd cdir" 'dav:/dav/files/alice/cdir/> '
cad "put $W/up.txt up.txt" "$OK"
cad "put $W/binary.bin binary.bin" "$OK"
cad "put $W/up.txt \"name with space.txt\"" "$OK"
cad "get up.txt $W/down.txt" "$OK"
check "cadaver get returns the uploaded bytes" cmp -s "$W/up.txt" "$W/down.txt"
cad "get binary.bin $W/binary.down" "$OK"
check "cadaver get of a 200 kB binary file is byte-exact" cmp -s "$W/binary.bin" "$W/binary.down"
cad "ls" "Listing collection .*: $OK"
expect_contains "$CAD_BLOCK" "up.txt" "cadaver ls lists up.txt"
expect_contains "$CAD_BLOCK" "name with space.txt" "cadaver ls lists 'name with space.txt'"
if grep -qE 'binary\.bin +200000 ' <<<"$CAD_BLOCK"; then pass "cadaver ls shows the size"; else
    fail "cadaver ls: no 'binary.bin 200000' line in: $(tr '\n' ' ' <<<"$CAD_BLOCK" | head -c 400)"
fi
cad "copy up.txt copy.txt" "Copying .*: +$OK"
cad "move copy.txt moved.txt" "Moving .*: +$OK"
cad "mkcol sub" "$OK"
cad "copy up.txt sub/in-sub.txt" "$OK"
cad "propset up.txt color blue" "Setting property on .up.txt.: $OK"
cad "propget up.txt color" 'color = blue|blue'
cad "propget up.txt" 'getcontentlength'
cad "lock up.txt" "Locking .up.txt.: $OK"
cad "discover up.txt" 'Lock token <'

# while cadaver holds the lock: curl without the token is refused
expect_status PUT "$DAV/cdir/up.txt" 423 "${ALICE[@]}" --data-binary 'not locked by me'
expect_status DELETE "$DAV/cdir/up.txt" 423 "${ALICE[@]}"
# the lock holder can write (cadaver sends its token in an If header)
cad "put $W/up2.txt up.txt" "$OK"
cad "unlock up.txt" "Unlocking .up.txt.: $OK"
cad "delete moved.txt" "Deleting .moved.txt.: $OK"
cad "get nosuch.txt $W/nosuch" 'failed:|404'
cad "rmcol sub" "$OK"
printf 'quit\n' >&7
exec 7>&-
# cadaver exits after quit
deadline=$(($(now_ms) + 10000))
while kill -0 "$CAD_PID" 2>/dev/null && (($(now_ms) < deadline)); do sleep 0.02; done
if kill -0 "$CAD_PID" 2>/dev/null; then
    fail "cadaver did not exit after quit"
else
    wait "$CAD_PID" 2>/dev/null && rc=0 || rc=$?
    expect_eq "$rc" 0 "cadaver exit status"
fi
CAD_PID=""

# ---- the same state, seen with curl ----------------------------------------------

expect_status GET "$DAV/cdir/up.txt" 200 "${ALICE[@]}"
expect_body_file "$W/up2.txt"
expect_status GET "$DAV/cdir/binary.bin" 200 "${ALICE[@]}"
expect_body_file "$W/binary.bin"
expect_status GET "$DAV/cdir/name%20with%20space.txt" 200 "${ALICE[@]}"
expect_body_file "$W/up.txt"
expect_status GET "$DAV/cdir/copy.txt" 404 "${ALICE[@]}"
expect_status GET "$DAV/cdir/moved.txt" 404 "${ALICE[@]}"
expect_status PROPFIND "$DAV/cdir/sub/" 404 "${ALICE[@]}" -H 'Depth: 0'
# cadaver's propset uses its own namespace
expect_status PROPFIND "$DAV/cdir/up.txt" 207 "${ALICE[@]}" -H 'Depth: 0' \
    -H 'Content-Type: application/xml' --data-binary '<?xml version="1.0"?>
<D:propfind xmlns:D="DAV:" xmlns:C="http://webdav.org/cadaver/custom-properties/"><D:prop><C:color/></D:prop></D:propfind>'
expect_body_matches 'color[^>]*>blue<'
# the lock is gone: curl writes without a token
expect_status PUT "$DAV/cdir/up.txt" '200|204' "${ALICE[@]}" --data-binary "@$W/up.txt"
expect_status PROPFIND "$DAV/cdir/" 207 "${ALICE[@]}" -H 'Depth: 1'
expect_body_contains 'binary.bin'
expect_body_not_contains 'moved.txt'

expect_alive "cadaver session"
mg_finish
