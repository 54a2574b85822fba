#!/usr/bin/env bash
# test_webdav_curl.sh - every WebDAV method of RFC 4918 (and the HTTP semantics
# of RFC 9110 it builds on) checked with plain curl against a real meshgate.
#
#   bash tests/integration/test_webdav_curl.sh /path/to/meshgate
source "$(dirname "$0")/lib.sh"
mg_init "$@"
mg_add_standard_users
mg_start

DAV="$MG_BASE/dav/files/alice"
XML=(-H 'Content-Type: application/xml; charset=utf-8')
T="$MG_TMP/work"
# "Grüße" as UTF-8 or as character references
GRUESSE='(Grüße|Gr&#([xX][fF][cC]|252);&#([xX][dD][fF]|223);e)'
mkdir -p "$T"

# ---- health, authentication, discovery ----------------------------------------

expect_status GET "$MG_BASE/healthz" 200

expect_status GET "$DAV/" 401
expect_header WWW-Authenticate '^Basic'
expect_status PROPFIND "$DAV/" 401 -H 'Depth: 0'
expect_status GET "$DAV/" 401 -u "alice:wrong-password"

for kind in caldav carddav; do
    expect_status GET "$MG_BASE/.well-known/$kind" '301|302|307|308'
    expect_header Location '/dav/'
    # clients also PROPFIND the well-known URL (RFC 6764 section 5)
    expect_status PROPFIND "$MG_BASE/.well-known/$kind" '301|302|307|308' "${ALICE[@]}" -H 'Depth: 0'
    expect_header Location '/dav/'
done

# ---- OPTIONS ------------------------------------------------------------------

expect_status OPTIONS "$DAV/" '200|204' "${ALICE[@]}"
# RFC 4918 10.1: class 1 and 2 compliance
expect_header DAV '(^|[ ,])1([ ,]|$)'
expect_header DAV '(^|[ ,])2([ ,]|$)'
expect_header Allow 'PROPFIND'
expect_header Allow 'LOCK'

# ---- PUT / GET / HEAD ---------------------------------------------------------

printf 'hello meshgate\nline two\n0123456789abcdefghijklmnopqrstuvwxyz\n' >"$T/hello.txt"
size=$(wc -c <"$T/hello.txt")

expect_status PUT "$DAV/hello.txt" 201 "${ALICE[@]}" --data-binary "@$T/hello.txt" \
    -H 'Content-Type: text/plain'
expect_status GET "$DAV/hello.txt" 200 "${ALICE[@]}"
expect_body_file "$T/hello.txt"
expect_header ETag '^(W/)?"[^"]+"$'
expect_header Content-Length "^$size\$"
etag=$(header_value ETag)
expect_status HEAD "$DAV/hello.txt" 200 "${ALICE[@]}"
expect_header Content-Length "^$size\$"
expect_header ETag "^$(printf '%s' "$etag" | sed 's/[][\.*^$/]/\\&/g')\$"
expect_header Last-Modified 'GMT$'

# overwrite: 204 (or 200) and a new ETag
printf 'hello again\n' >"$T/hello2.txt"
expect_status PUT "$DAV/hello.txt" '200|204' "${ALICE[@]}" --data-binary "@$T/hello2.txt"
expect_status GET "$DAV/hello.txt" 200 "${ALICE[@]}"
expect_body_file "$T/hello2.txt"
etag2=$(header_value ETag)
if [[ -n "$etag2" && "$etag2" != "$etag" ]]; then pass "ETag changed on overwrite"; else
    fail "ETag did not change on overwrite: '$etag' -> '$etag2'"
fi
# same content -> same strong ETag (content hash)
expect_status PUT "$DAV/hello-copy.txt" 201 "${ALICE[@]}" --data-binary "@$T/hello2.txt"
expect_status HEAD "$DAV/hello-copy.txt" 200 "${ALICE[@]}"
expect_eq "$(header_value ETag)" "$etag2" "identical content has the identical ETag"

# empty file
expect_status PUT "$DAV/empty.txt" 201 "${ALICE[@]}" --data-binary ''
expect_status GET "$DAV/empty.txt" 200 "${ALICE[@]}"
expect_eq "$(wc -c <"$LAST_BODY_FILE")" 0 "empty file reads back empty"

# PUT into a missing collection: 409 (RFC 4918 9.7.1)
expect_status PUT "$DAV/no-such-dir/x.txt" 409 "${ALICE[@]}" --data-binary 'x'
expect_status GET "$DAV/does-not-exist.txt" 404 "${ALICE[@]}"

# ---- Range (RFC 9110 14) ------------------------------------------------------

expect_status PUT "$DAV/range.txt" 201 "${ALICE[@]}" --data-binary "@$T/hello.txt"
expect_status GET "$DAV/range.txt" 206 "${ALICE[@]}" -H 'Range: bytes=0-9'
expect_header Content-Range "^bytes 0-9/$size\$"
expect_eq "$(cat "$LAST_BODY_FILE")" "$(head -c 10 "$T/hello.txt")" "Range 0-9 body"
expect_status GET "$DAV/range.txt" 206 "${ALICE[@]}" -H 'Range: bytes=-5'
expect_header Content-Range "^bytes $((size - 5))-$((size - 1))/$size\$"
expect_eq "$(od -An -tx1 "$LAST_BODY_FILE")" "$(tail -c 5 "$T/hello.txt" | od -An -tx1)" "suffix range body"
expect_status GET "$DAV/range.txt" 206 "${ALICE[@]}" -H 'Range: bytes=6-'
expect_header Content-Range "^bytes 6-$((size - 1))/$size\$"
expect_status GET "$DAV/range.txt" 416 "${ALICE[@]}" -H "Range: bytes=$((size + 10))-$((size + 20))"
expect_header Content-Range "^bytes \*/$size\$"

# ---- conditional requests (RFC 9110 13) ---------------------------------------

expect_status HEAD "$DAV/range.txt" 200 "${ALICE[@]}"
retag=$(header_value ETag)
expect_status PUT "$DAV/range.txt" 412 "${ALICE[@]}" -H 'If-Match: "certainly-not-the-etag"' \
    --data-binary 'lost update'
expect_status GET "$DAV/range.txt" 200 "${ALICE[@]}"
expect_body_file "$T/hello.txt"
expect_status PUT "$DAV/range.txt" '200|204' "${ALICE[@]}" -H "If-Match: $retag" \
    --data-binary "@$T/hello2.txt"
expect_status PUT "$DAV/range.txt" 412 "${ALICE[@]}" -H 'If-None-Match: *' --data-binary 'x'
expect_status PUT "$DAV/fresh.txt" 201 "${ALICE[@]}" -H 'If-None-Match: *' --data-binary 'fresh'
expect_status HEAD "$DAV/fresh.txt" 200 "${ALICE[@]}"
fetag=$(header_value ETag)
expect_status GET "$DAV/fresh.txt" 304 "${ALICE[@]}" -H "If-None-Match: $fetag"
expect_status PUT "$DAV/guarded.txt" 201 "${ALICE[@]}" --data-binary 'guarded'
expect_status DELETE "$DAV/guarded.txt" 412 "${ALICE[@]}" -H 'If-Match: "wrong"'
expect_status GET "$DAV/guarded.txt" 200 "${ALICE[@]}"
expect_status PUT "$DAV/missing.txt" 412 "${ALICE[@]}" -H 'If-Match: *' --data-binary 'x'
expect_status GET "$DAV/fresh.txt" 200 "${ALICE[@]}" -H 'If-None-Match: "some-other-etag"'
# RFC 9110 13.1.3, 13.1.4: dates
expect_status PUT "$DAV/fresh.txt" 412 "${ALICE[@]}" -H 'If-Unmodified-Since: Sat, 01 Jan 2000 00:00:00 GMT' \
    --data-binary 'too late'
expect_status GET "$DAV/fresh.txt" 304 "${ALICE[@]}" -H 'If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT'
expect_status GET "$DAV/fresh.txt" 200 "${ALICE[@]}" -H 'If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT'
# RFC 9110 14.2: an invalid Range is ignored; several ranges may be served whole
expect_status GET "$DAV/range.txt" 200 "${ALICE[@]}" -H 'Range: bytes=abc'
expect_status GET "$DAV/range.txt" '200|206' "${ALICE[@]}" -H 'Range: bytes=0-1,5-6'

# ---- DELETE -------------------------------------------------------------------

expect_status DELETE "$DAV/fresh.txt" 204 "${ALICE[@]}"
expect_status GET "$DAV/fresh.txt" 404 "${ALICE[@]}"
expect_status DELETE "$DAV/fresh.txt" 404 "${ALICE[@]}"

# ---- MKCOL (RFC 4918 9.3) -----------------------------------------------------

expect_status MKCOL "$DAV/dir1/" 201 "${ALICE[@]}"
expect_status MKCOL "$DAV/dir1/" 405 "${ALICE[@]}"
expect_status MKCOL "$DAV/hello.txt" 405 "${ALICE[@]}"
expect_status MKCOL "$DAV/missing-parent/child/" 409 "${ALICE[@]}"
expect_status MKCOL "$DAV/dir-with-body/" 415 "${ALICE[@]}" "${XML[@]}" --data-binary '<x/>'
expect_status PUT "$DAV/dir1/a.txt" 201 "${ALICE[@]}" --data-binary 'file a'
expect_status MKCOL "$DAV/dir1/sub/" 201 "${ALICE[@]}"
expect_status PUT "$DAV/dir1/sub/b.txt" 201 "${ALICE[@]}" --data-binary 'file b'

# ---- COPY / MOVE (RFC 4918 9.8, 9.9) ------------------------------------------

expect_status COPY "$DAV/hello.txt" 201 "${ALICE[@]}" -H "Destination: $DAV/copy1.txt"
expect_status GET "$DAV/copy1.txt" 200 "${ALICE[@]}"
expect_body_file "$T/hello2.txt"
expect_status COPY "$DAV/hello.txt" 412 "${ALICE[@]}" -H "Destination: $DAV/copy1.txt" -H 'Overwrite: F'
expect_status COPY "$DAV/range.txt" 204 "${ALICE[@]}" -H "Destination: $DAV/copy1.txt" -H 'Overwrite: T'
# a Destination given as an absolute path works too
expect_status COPY "$DAV/hello.txt" 201 "${ALICE[@]}" -H "Destination: /dav/files/alice/copy2.txt"
expect_status COPY "$DAV/hello.txt" 409 "${ALICE[@]}" -H "Destination: $DAV/nowhere/copy.txt"
expect_status COPY "$DAV/hello.txt" 403 "${ALICE[@]}" -H "Destination: $DAV/hello.txt"

# Depth: 0 copies the collection without members; infinity copies the tree
expect_status COPY "$DAV/dir1/" 201 "${ALICE[@]}" -H "Destination: $DAV/dir0/" -H 'Depth: 0'
expect_status PROPFIND "$DAV/dir0/" 207 "${ALICE[@]}" -H 'Depth: 0'
expect_status GET "$DAV/dir0/a.txt" 404 "${ALICE[@]}"
expect_status COPY "$DAV/dir1/" 201 "${ALICE[@]}" -H "Destination: $DAV/dir2/" -H 'Depth: infinity'
expect_status GET "$DAV/dir2/sub/b.txt" 200 "${ALICE[@]}"
expect_body_contains 'file b'
expect_status COPY "$DAV/dir1/" 400 "${ALICE[@]}" -H "Destination: $DAV/dir3/" -H 'Depth: 1'

expect_status MOVE "$DAV/copy2.txt" 201 "${ALICE[@]}" -H "Destination: $DAV/moved.txt"
expect_status GET "$DAV/copy2.txt" 404 "${ALICE[@]}"
expect_status GET "$DAV/moved.txt" 200 "${ALICE[@]}"
expect_body_file "$T/hello2.txt"
expect_status MOVE "$DAV/moved.txt" 412 "${ALICE[@]}" -H "Destination: $DAV/copy1.txt" -H 'Overwrite: F'
expect_status MOVE "$DAV/moved.txt" 204 "${ALICE[@]}" -H "Destination: $DAV/copy1.txt"
expect_status GET "$DAV/moved.txt" 404 "${ALICE[@]}"
expect_status MOVE "$DAV/dir2/" 201 "${ALICE[@]}" -H "Destination: $DAV/dir2-moved/"
expect_status GET "$DAV/dir2-moved/sub/b.txt" 200 "${ALICE[@]}"
expect_status PROPFIND "$DAV/dir2/" 404 "${ALICE[@]}" -H 'Depth: 0'
expect_status MOVE "$DAV/no-such.txt" 404 "${ALICE[@]}" -H "Destination: $DAV/x.txt"

# ---- PROPFIND (RFC 4918 9.1) --------------------------------------------------

expect_status PROPFIND "$DAV/" 207 "${ALICE[@]}" -H 'Depth: 0' "${XML[@]}" \
    --data-binary "$(propfind_body resourcetype getetag displayname)"
expect_header Content-Type 'xml'
expect_body_contains 'DAV:'
expect_body_matches '<([A-Za-z0-9]+:)?collection'
expect_body_matches '<([A-Za-z0-9]+:)?href>[^<]*/dav/files/alice/?<'
expect_body_not_contains 'hello.txt' 'Depth 0 response'

# no body = allprop (RFC 4918 9.1)
expect_status PROPFIND "$DAV/hello.txt" 207 "${ALICE[@]}" -H 'Depth: 0'
expect_body_contains 'getcontentlength'
expect_body_contains 'getetag'
expect_body_contains 'getlastmodified'

expect_status PROPFIND "$DAV/dir1/" 207 "${ALICE[@]}" -H 'Depth: 1' "${XML[@]}" \
    --data-binary "$(propfind_body resourcetype getcontentlength)"
expect_body_contains '/dav/files/alice/dir1/a.txt'
expect_body_matches '/dav/files/alice/dir1/sub/?<'
expect_body_not_contains 'b.txt' 'Depth 1 response (b.txt is two levels down)'

expect_status PROPFIND "$DAV/" 207 "${ALICE[@]}" -H 'Depth: 0' "${XML[@]}" \
    --data-binary '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>'
expect_body_contains 'resourcetype'
expect_status PROPFIND "$DAV/" '207|403' "${ALICE[@]}" -H 'Depth: infinity'
expect_status PROPFIND "$DAV/nothing-here/" 404 "${ALICE[@]}" -H 'Depth: 0'

# names that need percent-encoding: a space and a non-ASCII letter
uname_enc='%C3%BC%20file.txt'
expect_status PUT "$DAV/$uname_enc" 201 "${ALICE[@]}" --data-binary 'umlaut'
expect_status GET "$DAV/$uname_enc" 200 "${ALICE[@]}"
expect_body_contains 'umlaut'
expect_status MKCOL "$DAV/with%20space/" 201 "${ALICE[@]}"
expect_status PUT "$DAV/with%20space/a%26b%25.txt" 201 "${ALICE[@]}" --data-binary 'amp'
expect_status PROPFIND "$DAV/" 207 "${ALICE[@]}" -H 'Depth: 1'
# RFC 4918 8.3: hrefs are URIs; percent-encoding is case-insensitive hex
hrefs=$(grep -oE '<([A-Za-z0-9]+:)?href>[^<]*<' "$LAST_BODY_FILE" | sed -E 's/^<[^>]*>//; s/<$//' || true)
if grep -qiF "/dav/files/alice/$uname_enc" <<<"$hrefs"; then
    pass "PROPFIND href of 'ü file.txt' is percent-encoded"
else
    fail "PROPFIND Depth 1: no href '/dav/files/alice/$uname_enc' among: $(tr '\n' ' ' <<<"$hrefs")"
fi
if grep -qiE '/dav/files/alice/with%20space/?$' <<<"$hrefs"; then
    pass "PROPFIND href of 'with space/' is percent-encoded"
else
    fail "PROPFIND Depth 1: no href '/dav/files/alice/with%20space/' among: $(tr '\n' ' ' <<<"$hrefs")"
fi
if LC_ALL=C grep -q '[^!-~]' <<<"$hrefs"; then
    fail "PROPFIND hrefs contain spaces or raw non-ASCII bytes: $(LC_ALL=C grep '[^!-~]' <<<"$hrefs" | head -3 | tr '\n' ' ')"
else
    pass "PROPFIND hrefs are plain ASCII URIs"
fi
expect_status PROPFIND "$DAV/with%20space/" 207 "${ALICE[@]}" -H 'Depth: 1'
expect_body_matches '(a%26b%25\.txt|a&amp;b%25\.txt)'

# ---- PROPPATCH (RFC 4918 9.2) -------------------------------------------------

pp_set='<?xml version="1.0" encoding="utf-8"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:Z="http://example.com/ns/">
  <D:set><D:prop><Z:color>blue &amp; green</Z:color><Z:note xml:lang="de">Grüße</Z:note></D:prop></D:set>
</D:propertyupdate>'
pp_get='<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:" xmlns:Z="http://example.com/ns/"><D:prop><Z:color/><Z:note/></D:prop></D:propfind>'
pp_remove='<?xml version="1.0" encoding="utf-8"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:Z="http://example.com/ns/">
  <D:remove><D:prop><Z:color/></D:prop></D:remove>
</D:propertyupdate>'
pp_protected='<?xml version="1.0" encoding="utf-8"?>
<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:getetag>"x"</D:getetag></D:prop></D:set></D:propertyupdate>'

expect_status PROPPATCH "$DAV/hello.txt" 207 "${ALICE[@]}" "${XML[@]}" --data-binary "$pp_set"
expect_body_contains '200 OK'
expect_status PROPFIND "$DAV/hello.txt" 207 "${ALICE[@]}" -H 'Depth: 0' "${XML[@]}" --data-binary "$pp_get"
expect_body_contains 'blue &amp; green'
expect_body_matches "$GRUESSE"
expect_body_contains 'http://example.com/ns/'
expect_status PROPPATCH "$DAV/hello.txt" 207 "${ALICE[@]}" "${XML[@]}" --data-binary "$pp_remove"
expect_status PROPFIND "$DAV/hello.txt" 207 "${ALICE[@]}" -H 'Depth: 0' "${XML[@]}" --data-binary "$pp_get"
expect_body_not_contains 'blue'
expect_body_contains '404 Not Found'
expect_body_matches "$GRUESSE"
# live properties are protected (RFC 4918 15: DAV:getetag is protected)
expect_status PROPPATCH "$DAV/hello.txt" 207 "${ALICE[@]}" "${XML[@]}" --data-binary "$pp_protected"
expect_body_contains '403 Forbidden'
# dead properties move with the resource (RFC 4918 9.9.1)
expect_status COPY "$DAV/hello.txt" 201 "${ALICE[@]}" -H "Destination: $DAV/props-copy.txt"
expect_status PROPFIND "$DAV/props-copy.txt" 207 "${ALICE[@]}" -H 'Depth: 0' "${XML[@]}" --data-binary "$pp_get"
expect_body_matches "$GRUESSE"

# ---- LOCK / UNLOCK (RFC 4918 9.10, 9.11) --------------------------------------

lockinfo='<?xml version="1.0" encoding="utf-8"?>
<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>
<D:locktype><D:write/></D:locktype><D:owner><D:href>mailto:alice@example.com</D:href></D:owner></D:lockinfo>'

expect_status LOCK "$DAV/hello.txt" 200 "${ALICE[@]}" "${XML[@]}" -H 'Timeout: Second-600' \
    --data-binary "$lockinfo"
expect_header Lock-Token '^<[^>]+>$'
expect_body_contains 'lockdiscovery'
token=$(header_value Lock-Token)
token=${token#<}
token=${token%>}
if [[ -n "$token" ]]; then
    expect_status PUT "$DAV/hello.txt" 423 "${ALICE[@]}" --data-binary 'no token'
    expect_status DELETE "$DAV/hello.txt" 423 "${ALICE[@]}"
    expect_status MOVE "$DAV/hello.txt" 423 "${ALICE[@]}" -H "Destination: $DAV/elsewhere.txt"
    expect_status LOCK "$DAV/hello.txt" 423 "${ALICE[@]}" "${XML[@]}" --data-binary "$lockinfo"
    expect_status PUT "$DAV/hello.txt" '200|204' "${ALICE[@]}" -H "If: (<$token>)" \
        --data-binary "@$T/hello.txt"
    expect_status PROPFIND "$DAV/hello.txt" 207 "${ALICE[@]}" -H 'Depth: 0' "${XML[@]}" \
        --data-binary "$(propfind_body lockdiscovery supportedlock)"
    expect_body_contains "$token"
    expect_body_contains 'exclusive'
    # refresh (RFC 4918 9.10.2): no body, If header with the token
    expect_status LOCK "$DAV/hello.txt" 200 "${ALICE[@]}" -H "If: (<$token>)" -H 'Timeout: Second-300'
    expect_status UNLOCK "$DAV/hello.txt" '400|409|412' "${ALICE[@]}" -H 'Lock-Token: <urn:uuid:not-a-real-token>'
    expect_status UNLOCK "$DAV/hello.txt" 204 "${ALICE[@]}" -H "Lock-Token: <$token>"
    expect_status PUT "$DAV/hello.txt" '200|204' "${ALICE[@]}" --data-binary "@$T/hello2.txt"
fi
# LOCK on an unmapped URL creates an empty locked resource (RFC 4918 9.10.4)
expect_status LOCK "$DAV/locked-new.txt" 201 "${ALICE[@]}" "${XML[@]}" --data-binary "$lockinfo"
ntoken=$(header_value Lock-Token)
expect_status GET "$DAV/locked-new.txt" 200 "${ALICE[@]}"
expect_status UNLOCK "$DAV/locked-new.txt" 204 "${ALICE[@]}" -H "Lock-Token: ${ntoken:-<none>}"
# a depth-infinity lock on a collection protects its members
expect_status LOCK "$DAV/dir1/" 200 "${ALICE[@]}" "${XML[@]}" -H 'Depth: infinity' --data-binary "$lockinfo"
ctoken=$(header_value Lock-Token)
expect_status PUT "$DAV/dir1/new-member.txt" 423 "${ALICE[@]}" --data-binary 'x'
expect_status PUT "$DAV/dir1/new-member.txt" 201 "${ALICE[@]}" -H "If: (${ctoken:-<none>})" --data-binary 'x'
expect_status UNLOCK "$DAV/dir1/" 204 "${ALICE[@]}" -H "Lock-Token: ${ctoken:-<none>}"

# ---- principals ---------------------------------------------------------------

cup='<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:current-user-principal/><D:resourcetype/><D:displayname/></D:prop></D:propfind>'
expect_status PROPFIND "$MG_BASE/dav/principals/alice/" 207 "${ALICE[@]}" -H 'Depth: 0' "${XML[@]}" \
    --data-binary "$cup"
expect_body_contains 'current-user-principal'
expect_body_matches '<([A-Za-z0-9]+:)?href>[^<]*/dav/principals/alice/<'
expect_body_matches '<([A-Za-z0-9]+:)?principal ?/>'
# discovery starts from the root or the collection: both name alice's principal
for url in "$MG_BASE/" "$MG_BASE/dav/" "$DAV/"; do
    expect_status PROPFIND "$url" 207 "${ALICE[@]}" -H 'Depth: 0' "${XML[@]}" --data-binary "$cup"
    expect_body_matches 'current-user-principal>[[:space:]]*<([A-Za-z0-9]+:)?href>[^<]*/dav/principals/alice/<'
done
expect_status PROPFIND "$MG_BASE/dav/principals/alice/" 401 -H 'Depth: 0'

# ---- DELETE of a collection ---------------------------------------------------

expect_status DELETE "$DAV/dir1/" 204 "${ALICE[@]}"
expect_status GET "$DAV/dir1/a.txt" 404 "${ALICE[@]}"
expect_status PROPFIND "$DAV/dir1/sub/" 404 "${ALICE[@]}" -H 'Depth: 0'

# ---- unknown method -------------------------------------------------------------

expect_status FROBNICATE "$DAV/hello.txt" '405|501' "${ALICE[@]}"

expect_alive "all WebDAV checks"
mg_finish
