#!/usr/bin/env bash
# test_bad_input.sh - hostile and malformed requests: XML bombs and external
# entities, deep nesting, non-XML bodies, path traversal, oversized headers and
# bodies, wrong credentials, login rate limiting, and one user reaching into
# another's tree. Each must get a clean 4xx, the server must stay up and fast,
# and at the end alice's files must be exactly what she stored.
#
#   bash tests/integration/test_bad_input.sh /path/to/meshgate
source "$(dirname "$0")/lib.sh"
mg_init "$@"
mg_add_standard_users
mg_add_user carol 'carol-Secret-3'

# Small limits so that "too big" is cheap to send. The JSON keys are those of
# server/config.c; --max-body/--max-upload are the serve flags.
MAX_BODY=1048576 # 1 MiB of buffered body (XML)
MAX_UPLOAD=$((4 * 1048576))
cat >"$MG_TMP/config.json" <<EOF
{
  "login_max_failures": 5,
  "login_lockout": 60,
  "limits": { "max_header": 8192, "max_xml_depth": 64, "max_xml_elements": 10000 }
}
EOF
mg_start --config "$MG_TMP/config.json" --max-body "$MAX_BODY" --max-upload "$MAX_UPLOAD"

A="$MG_BASE/dav/files/alice"
B="$MG_BASE/dav/files/bob"
XML=(-H 'Content-Type: application/xml; charset=utf-8')
W="$MG_TMP/work"
mkdir -p "$W"
SLOW=5 # seconds: generous on a loaded 2-core machine; a bomb that expands takes far longer
if ((MG_WRAPPED)); then SLOW=30; fi

# ---- alice's and bob's files, and their checksums ------------------------------

printf 'ALICE-SECRET-%s\n' "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$W/secret.txt"
head -c 65536 /dev/urandom >"$W/b.bin"
printf 'note a\n' >"$W/a.txt"
printf 'BOB-SECRET-CONTENT\n' >"$W/bob-secret.txt"
printf 'bob own file\n' >"$W/bob-own.txt"
ALICE_FILES=(secret.txt notes/a.txt notes/b.bin "%C3%BC%20file.txt")

expect_status PUT "$A/secret.txt" 201 "${ALICE[@]}" --data-binary "@$W/secret.txt"
expect_status MKCOL "$A/notes/" 201 "${ALICE[@]}"
expect_status PUT "$A/notes/a.txt" 201 "${ALICE[@]}" --data-binary "@$W/a.txt"
expect_status PUT "$A/notes/b.bin" 201 "${ALICE[@]}" --data-binary "@$W/b.bin"
expect_status PUT "$A/%C3%BC%20file.txt" 201 "${ALICE[@]}" --data-binary 'umlaut'
expect_status PROPPATCH "$A/secret.txt" 207 "${ALICE[@]}" "${XML[@]}" --data-binary \
    '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:x-test:"><D:set><D:prop><Z:tag>original</Z:tag></D:prop></D:set></D:propertyupdate>'
expect_status PUT "$B/secret.txt" 201 "${BOB[@]}" --data-binary "@$W/bob-secret.txt"
expect_status PUT "$B/own.txt" 201 "${BOB[@]}" --data-binary "@$W/bob-own.txt"

# snapshot FILE: sha256 of each of alice's files plus the listing of her tree.
snapshot() {
    local f
    for f in "${ALICE_FILES[@]}"; do
        { curl -s -g --max-time 30 "${ALICE[@]}" "$A/$f" || true; } | sha256sum | sed "s|-\$|$f|"
    done
    for f in "" notes/; do
        { curl -s -g --max-time 30 "${ALICE[@]}" -X PROPFIND -H 'Depth: 1' "$A/$f" || true; } |
            { grep -oE '<([A-Za-z0-9]+:)?href>[^<]*<' || true; } | sort
    done
    { curl -s -g --max-time 30 "${BOB[@]}" "$B/secret.txt" || true; } | sha256sum | sed 's|-$|bob/secret.txt|'
}
snapshot >"$W/before.txt"
if grep -q 'secret.txt' "$W/before.txt" && [[ $(wc -l <"$W/before.txt") -ge 8 ]]; then
    pass "snapshot of alice's tree taken"
else
    fail "could not snapshot alice's tree: $(tr '\n' ' ' <"$W/before.txt")"
fi

# ---- XML bombs and external entities --------------------------------------------

bomb_dtd='<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>'
bomb_propfind="<?xml version=\"1.0\"?>
$bomb_dtd
<D:propfind xmlns:D=\"DAV:\"><D:prop><D:displayname/><D:x>&lol9;</D:x></D:prop></D:propfind>"
bomb_proppatch="<?xml version=\"1.0\"?>
$bomb_dtd
<D:propertyupdate xmlns:D=\"DAV:\" xmlns:Z=\"urn:x-test:\"><D:set><D:prop><Z:bomb>&lol9;</Z:bomb></D:prop></D:set></D:propertyupdate>"

expect_status PROPFIND "$A/" 400 "${ALICE[@]}" "${XML[@]}" -H 'Depth: 0' --data-binary "$bomb_propfind"
expect_fast "$SLOW"
expect_body_not_contains 'lollollol'
expect_status PROPPATCH "$A/secret.txt" 400 "${ALICE[@]}" "${XML[@]}" --data-binary "$bomb_proppatch"
expect_fast "$SLOW"
expect_alive "billion laughs"
# quadratic blowup: one big entity referenced many times, no nesting
# (large bodies go through files: one argument may not exceed 128 KiB)
{
    printf '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "'
    head -c 50000 /dev/zero | tr '\0' 'a'
    printf '">]><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:x-test:"><D:set><D:prop><Z:q>'
    for _ in $(seq 1 2000); do printf '&a;'; done
    printf '</Z:q></D:prop></D:set></D:propertyupdate>'
} >"$W/quadratic.xml"
expect_status PROPPATCH "$A/secret.txt" 400 "${ALICE[@]}" "${XML[@]}" --data-binary "@$W/quadratic.xml"
expect_fast "$SLOW"

xxe_propfind='<?xml version="1.0"?>
<!DOCTYPE D:propfind [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<D:propfind xmlns:D="DAV:"><D:prop><D:displayname/><D:x>&xxe;</D:x></D:prop></D:propfind>'
xxe_proppatch='<?xml version="1.0"?>
<!DOCTYPE D:propertyupdate [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:x-test:"><D:set><D:prop><Z:leak>&xxe;</Z:leak></D:prop></D:set></D:propertyupdate>'
xxe_param='<?xml version="1.0"?>
<!DOCTYPE D:propfind [<!ENTITY % ext SYSTEM "file:///etc/passwd"> %ext;]>
<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'
xxe_doctype='<?xml version="1.0"?>
<!DOCTYPE D:propfind SYSTEM "file:///etc/passwd">
<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'
xinclude='<?xml version="1.0"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:x-test:" xmlns:xi="http://www.w3.org/2001/XInclude"><D:set><D:prop><Z:inc><xi:include href="file:///etc/passwd" parse="text"/></Z:inc></D:prop></D:set></D:propertyupdate>'
get_leak='<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:x-test:"><D:prop><Z:leak/><Z:inc/><Z:tag/></D:prop></D:propfind>'

for body in "$xxe_propfind" "$xxe_param" "$xxe_doctype"; do
    expect_status PROPFIND "$A/secret.txt" 400 "${ALICE[@]}" "${XML[@]}" -H 'Depth: 0' --data-binary "$body"
    expect_body_not_contains 'root:x:0:0' 'response to an external entity'
done
expect_status PROPPATCH "$A/secret.txt" 400 "${ALICE[@]}" "${XML[@]}" --data-binary "$xxe_proppatch"
expect_body_not_contains 'root:x:0:0' 'response to an external entity'
# XInclude is plain XML in a dead property: storing it is fine, expanding it is not
expect_status PROPPATCH "$A/secret.txt" '207|400' "${ALICE[@]}" "${XML[@]}" --data-binary "$xinclude"
expect_body_not_contains 'root:x:0:0'
expect_status PROPFIND "$A/secret.txt" 207 "${ALICE[@]}" "${XML[@]}" -H 'Depth: 0' --data-binary "$get_leak"
expect_body_not_contains 'root:x:0:0' 'stored dead properties'
expect_body_contains 'original' 'the dead property set before the attacks'
expect_alive "external entities"

# ---- deep nesting, too many elements, not XML at all ---------------------------------

{
    printf '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:x-test:"><D:set><D:prop><Z:deep>'
    for _ in $(seq 1 20000); do printf '<Z:n>'; done
    printf x
    for _ in $(seq 1 20000); do printf '</Z:n>'; done
    printf '</Z:deep></D:prop></D:set></D:propertyupdate>'
} >"$W/deep.xml"
expect_status PROPPATCH "$A/secret.txt" '400|413' "${ALICE[@]}" "${XML[@]}" --data-binary "@$W/deep.xml"
expect_fast "$SLOW"
{
    printf '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>'
    for _ in $(seq 1 5000); do printf '<D:a>'; done
    for _ in $(seq 1 5000); do printf '</D:a>'; done
    printf '</D:prop></D:propfind>'
} >"$W/deep-propfind.xml"
expect_status PROPFIND "$A/" '400|413' "${ALICE[@]}" "${XML[@]}" -H 'Depth: 0' --data-binary "@$W/deep-propfind.xml"
expect_fast "$SLOW"
{
    printf '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>'
    printf '<D:p%d/>' $(seq 1 20000)
    printf '</D:prop></D:propfind>'
} >"$W/many.xml"
expect_status PROPFIND "$A/" '400|413' "${ALICE[@]}" "${XML[@]}" -H 'Depth: 0' --data-binary "@$W/many.xml"
expect_fast "$SLOW"
expect_alive "deep and wide XML"

expect_status PROPFIND "$A/" 400 "${ALICE[@]}" "${XML[@]}" -H 'Depth: 0' --data-binary 'this is not XML <<<'
expect_status PROPPATCH "$A/secret.txt" 400 "${ALICE[@]}" -H 'Content-Type: application/json' \
    --data-binary '{"set": {"color": "blue"}}'
expect_status PROPFIND "$A/" 400 "${ALICE[@]}" "${XML[@]}" -H 'Depth: 0' \
    --data-binary '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:displayname/></D:prop>'
expect_status PROPFIND "$A/" 400 "${ALICE[@]}" "${XML[@]}" -H 'Depth: 0' \
    --data-binary '<?xml version="1.0"?><D:wrongroot xmlns:D="DAV:"/>'
expect_status PROPPATCH "$A/secret.txt" 400 "${ALICE[@]}" "${XML[@]}" \
    --data-binary '<?xml version="1.0"?><propertyupdate><set><prop><x>no namespace</x></prop></set></propertyupdate>'
printf '<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:x-test:"><D:set><D:prop><Z:bad>\xff\xfe\xc3</Z:bad></D:prop></D:set></D:propertyupdate>' >"$W/badutf8.xml"
expect_status PROPPATCH "$A/secret.txt" 400 "${ALICE[@]}" "${XML[@]}" --data-binary "@$W/badutf8.xml"
expect_status LOCK "$A/secret.txt" 400 "${ALICE[@]}" "${XML[@]}" --data-binary '<not-a-lockinfo'
head -c 4096 /dev/urandom >"$W/noise.bin"
expect_status PROPFIND "$A/" 400 "${ALICE[@]}" "${XML[@]}" -H 'Depth: 0' --data-binary "@$W/noise.bin"
expect_status PROPFIND "$A/" 400 "${ALICE[@]}" -H 'Depth: banana'
expect_alive "malformed bodies"

# ---- path traversal ----------------------------------------------------------------

# requests alice makes that must never reach bob's file or the host's files
traversals=(
    "/dav/files/alice/../bob/secret.txt"
    "/dav/files/alice/%2e%2e/bob/secret.txt"
    "/dav/files/alice/%2E%2E/bob/secret.txt"
    "/dav/files/alice/.%2e/bob/secret.txt"
    "/dav/files/alice/..%2fbob%2fsecret.txt"
    "/dav/files/alice/%2e%2e%2fbob%2fsecret.txt"
    "/dav/files/alice/..%5cbob%5csecret.txt"
    "/dav/files/alice//../bob/secret.txt"
    "/dav/files/alice/./../../files/bob/secret.txt"
    "/dav/files/alice%2f..%2fbob/secret.txt"
    "/dav/files/alice/notes/../../bob/secret.txt"
    "/dav/files/alice/%00/../../bob/secret.txt"
    "/dav/files/alice/..%00/bob/secret.txt"
    "/dav/files/alice/%c0%ae%c0%ae/bob/secret.txt"
)
for p in "${traversals[@]}"; do
    expect_status GET "$MG_BASE$p" '400|403|404' "${ALICE[@]}"
    expect_body_not_contains 'BOB-SECRET' "response to $p"
    # a backslash is an ordinary character in a file name: no PUT for that one
    if [[ "$p" != *%5c* ]]; then
        expect_status PUT "$MG_BASE$p" '400|403|404|409' "${ALICE[@]}" --data-binary 'EVIL-OVERWRITE'
    fi
done
expect_status PROPFIND "$MG_BASE/dav/files/alice/../bob/" '400|403|404' "${ALICE[@]}" -H 'Depth: 1'
expect_body_not_contains 'secret.txt'
expect_status DELETE "$MG_BASE/dav/files/alice/%2e%2e/bob/own.txt" '400|403|404' "${ALICE[@]}"
expect_status MKCOL "$MG_BASE/dav/files/alice/../bob/evil/" '400|403|404|409' "${ALICE[@]}"
# NUL bytes must not truncate a name
expect_status GET "$A/secret.txt%00.jpg" '400|404' "${ALICE[@]}"
expect_body_not_contains 'ALICE-SECRET'
expect_status GET "$A/%00" '400|404' "${ALICE[@]}"
expect_status PUT "$A/nul%00name.txt" '400|404|409' "${ALICE[@]}" --data-binary 'x'
# Destination header pointing elsewhere
expect_status COPY "$A/secret.txt" '400|403|404|502' "${ALICE[@]}" -H "Destination: $MG_BASE/dav/files/alice/../bob/copied.txt"
expect_status MOVE "$A/notes/a.txt" '400|403|404|502' "${ALICE[@]}" -H "Destination: $MG_BASE/dav/files/alice/%2e%2e/bob/moved.txt"
expect_status COPY "$A/secret.txt" '400|403|502' "${ALICE[@]}" -H "Destination: http://127.0.0.1:9/elsewhere/x.txt"
# the host's files, through the DAV tree and through the portal's static files
for p in "/dav/files/alice/../../../../../../etc/passwd" "/dav/files/alice/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd" \
    "/../../../../etc/passwd" "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd" "/..%2f..%2f..%2f..%2fetc%2fpasswd" \
    "/static/../../../../etc/passwd" "/%2e%2e%5c%2e%2e%5c%2e%2e%5cetc%5cpasswd"; do
    expect_status GET "$MG_BASE$p" '400|401|403|404' "${ALICE[@]}"
    expect_body_not_contains 'root:x:0:0' "response to $p"
done
expect_status GET "$B/secret.txt" 200 "${BOB[@]}"
expect_body_file "$W/bob-secret.txt"
for f in evil.txt copied.txt moved.txt evil/; do
    expect_status GET "$B/$f" 404 "${BOB[@]}"
done
expect_alive "path traversal"

# ---- oversized requests --------------------------------------------------------------

head -c 32768 /dev/zero | tr '\0' 'h' | sed 's/^/X-Big: /' >"$W/bigheader.txt"
expect_status GET "$A/secret.txt" '431|400|413' "${ALICE[@]}" -H "@$W/bigheader.txt"
for i in $(seq 1 400); do printf 'X-Many-%d: %s\n' "$i" "$(head -c 60 /dev/zero | tr '\0' 'm')"; done >"$W/manyheaders.txt"
expect_status GET "$A/secret.txt" '431|400|413' "${ALICE[@]}" -H "@$W/manyheaders.txt"
longurl="$A/$(head -c 60000 /dev/zero | tr '\0' 'u')"
expect_status GET "$longurl" '414|431|400|404' "${ALICE[@]}"
expect_alive "oversized headers"

# bodies beyond the configured limits (MAX_BODY for XML, MAX_UPLOAD for files)
{
    printf '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:displayname/></D:prop><!-- '
    head -c $((MAX_BODY + 4096)) /dev/zero | tr '\0' 'c'
    printf ' --></D:propfind>'
} >"$W/bigbody.xml"
expect_status PROPFIND "$A/" 413 "${ALICE[@]}" "${XML[@]}" -H 'Depth: 0' --data-binary "@$W/bigbody.xml"
head -c $((MAX_UPLOAD + 1)) /dev/urandom >"$W/toobig.bin"
expect_status PUT "$A/toobig.bin" 413 "${ALICE[@]}" --data-binary "@$W/toobig.bin"
expect_status GET "$A/toobig.bin" 404 "${ALICE[@]}"
# the same without a Content-Length (chunked): the limit still holds
expect_status PUT "$A/toobig-chunked.bin" 413 "${ALICE[@]}" -H 'Transfer-Encoding: chunked' -T "$W/toobig.bin"
expect_status GET "$A/toobig-chunked.bin" 404 "${ALICE[@]}"
# a Content-Length far beyond the limit is refused at once, before any body arrives
expect_status PUT "$A/huge-declared.bin" 413 "${ALICE[@]}" -H 'Content-Length: 1099511627776' \
    -H 'Expect:' --max-time 10 --data-binary 'x'
expect_fast 5
# exactly at the limit is fine
head -c "$MAX_UPLOAD" /dev/urandom >"$W/atlimit.bin"
expect_status PUT "$A/atlimit.bin" 201 "${ALICE[@]}" --data-binary "@$W/atlimit.bin"
expect_status DELETE "$A/atlimit.bin" 204 "${ALICE[@]}"
expect_alive "oversized bodies"

# ---- authentication ----------------------------------------------------------------
# Failed logins come from 127.0.0.2 and 127.0.0.3 (curl --interface) so that the
# per-address limit they trigger does not lock out the rest of this script.

FROM2=(--interface 127.0.0.2)
expect_status GET "$A/secret.txt" 401 "${FROM2[@]}" -u 'alice:wrong-password'
expect_header WWW-Authenticate '^Basic realm='
expect_body_not_contains 'ALICE-SECRET'
expect_status GET "$A/secret.txt" 401 "${FROM2[@]}" -u 'nosuchuser:whatever'
expect_status GET "$A/secret.txt" '400|401' "${FROM2[@]}" -H 'Authorization: Basic !!!not-base64!!!'
expect_status GET "$A/secret.txt" '400|401' "${FROM2[@]}" -H "Authorization: Basic $(printf 'no-colon' | base64)"
expect_status GET "$A/secret.txt" '400|401' "${FROM2[@]}" -H 'Authorization: Bearer not-a-token'
expect_status GET "$A/secret.txt" '400|401|431' "${FROM2[@]}" -u "$(head -c 4000 /dev/zero | tr '\0' 'n'):x"

# rate limiting: carol's password guessed from 127.0.0.3, 12 times (limit: 5)
FROM3=(--interface 127.0.0.3)
statuses=""
for i in $(seq 1 12); do
    mg_request GET "$MG_BASE/dav/files/carol/" "${FROM3[@]}" -u "carol:guess-$i" --max-time 15
    statuses+="$LAST_STATUS "
done
if [[ "$statuses" =~ ^((401|429)\ )+$ ]]; then
    pass "failed logins answered 401/429: $statuses"
else
    fail "failed logins: expected only 401 or 429, got: $statuses"
fi
if [[ "$statuses" == *429* ]]; then pass "rate limit answers 429 after repeated failures"; else
    log "note: no 429 among the failures (all 401): $statuses"
fi
# locked out now: even the right password is refused from that address
expect_status GET "$MG_BASE/dav/files/carol/" '401|403|429' "${FROM3[@]}" -u 'carol:carol-Secret-3'
# ...but another account from another address is not locked out by it
expect_status GET "$A/secret.txt" 200 "${ALICE[@]}"
expect_alive "authentication"

# ---- bob reaching into alice's tree ----------------------------------------------------

expect_status GET "$A/secret.txt" 403 "${BOB[@]}"
expect_body_not_contains 'ALICE-SECRET'
expect_status HEAD "$A/secret.txt" 403 "${BOB[@]}"
expect_status PUT "$A/secret.txt" 403 "${BOB[@]}" --data-binary 'EVIL-OVERWRITE'
expect_status PUT "$A/planted.txt" 403 "${BOB[@]}" --data-binary 'planted'
expect_status PROPFIND "$A/" 403 "${BOB[@]}" -H 'Depth: 1'
expect_body_not_contains 'secret.txt'
expect_status PROPFIND "$A/notes/" 403 "${BOB[@]}" -H 'Depth: 0'
expect_status PROPPATCH "$A/secret.txt" 403 "${BOB[@]}" "${XML[@]}" --data-binary \
    '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:x-test:"><D:set><D:prop><Z:tag>defaced</Z:tag></D:prop></D:set></D:propertyupdate>'
expect_status DELETE "$A/secret.txt" 403 "${BOB[@]}"
expect_status DELETE "$A/notes/" 403 "${BOB[@]}"
expect_status MKCOL "$A/evil/" 403 "${BOB[@]}"
expect_status MOVE "$A/secret.txt" 403 "${BOB[@]}" -H "Destination: $B/stolen.txt"
expect_status COPY "$A/secret.txt" 403 "${BOB[@]}" -H "Destination: $B/stolen.txt"
expect_status COPY "$A/notes/" 403 "${BOB[@]}" -H "Destination: $B/stolen-notes/"
expect_status MOVE "$B/own.txt" 403 "${BOB[@]}" -H "Destination: $A/planted.txt"
expect_status COPY "$B/own.txt" 403 "${BOB[@]}" -H "Destination: $A/planted.txt"
expect_status COPY "$B/own.txt" 403 "${BOB[@]}" -H "Destination: $A/secret.txt" -H 'Overwrite: T'
expect_status LOCK "$A/secret.txt" 403 "${BOB[@]}" "${XML[@]}" --data-binary \
    '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>'
expect_status GET "$MG_BASE/dav/files/ALICE/secret.txt" '403|404' "${BOB[@]}"
expect_body_not_contains 'ALICE-SECRET'
expect_status GET "$MG_BASE/dav/files/alice%2fsecret.txt" '400|403|404' "${BOB[@]}"
expect_body_not_contains 'ALICE-SECRET'
expect_status GET "$B/stolen.txt" 404 "${BOB[@]}"
expect_status PROPFIND "$B/stolen-notes/" 404 "${BOB[@]}" -H 'Depth: 0'
expect_status GET "$B/own.txt" 200 "${BOB[@]}"
expect_body_file "$W/bob-own.txt"
expect_alive "cross-user access"

# ---- an early refusal of a small body keeps the connection ----------------------------
# A PUT whose 300 KiB body is already on its way when the server refuses it
# (401: no credentials) is read and dropped, then answered: the client gets
# the 401, not a reset, and the same connection serves the next request.
# (A body over 1 MiB, or a client sending Expect: 100-continue, is answered
# before it is sent instead; test_large_file and the 413 checks cover that.)
out=$(python3 - "$MG_PORT" <<'PY' 2>&1 || true
import http.client, sys, time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=30)
c.putrequest("PUT", "/dav/files/alice/early.bin")
c.putheader("Content-Length", str(300 * 1024))
c.endheaders()
time.sleep(0.5)  # the server has the headers (and its verdict) before any body byte
try:
    for _ in range(30):
        c.send(b"x" * 10240)
        time.sleep(0.01)
    r = c.getresponse(); r.read()
    first = r.status
except OSError as e:
    print("reset:", e)
    sys.exit(0)
c.request("GET", "/healthz")
r2 = c.getresponse(); r2.read()
print(first, r2.status, "reused" if c.sock is not None else "closed")
PY
)
expect_eq "$out" "401 200 reused" "an early 401 on a 300 KiB PUT: answered after the body, connection kept"
expect_status GET "$A/early.bin" 404 "${ALICE[@]}"

# ---- alice's files are what she stored ------------------------------------------------

snapshot >"$W/after.txt"
if cmp -s "$W/before.txt" "$W/after.txt"; then
    pass "alice's files and listings unchanged after all attacks"
else
    fail "alice's or bob's files changed: $(diff "$W/before.txt" "$W/after.txt" | head -20 | tr '\n' ' ')"
fi
for f in secret.txt notes/b.bin; do
    expect_status GET "$A/$f" 200 "${ALICE[@]}"
    expect_body_file "$W/$(basename "$f")"
done
expect_status PROPFIND "$A/secret.txt" 207 "${ALICE[@]}" "${XML[@]}" -H 'Depth: 0' --data-binary "$get_leak"
expect_body_contains 'original' "alice's dead property"
expect_body_not_contains 'defaced'

mg_finish
