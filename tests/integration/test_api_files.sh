#!/usr/bin/env bash
# test_api_files.sh - files over REST (/api/v1/files...): the same tree as
# /dav/files/<user>/. Every route's happy path and its errors (wrong method,
# bad JSON, wrong content type, oversized body, bad paths, missing, bad and
# expired tokens); folders, uploads, conditional requests, ranges, move and
# delete with WebDAV semantics; WebDAV locks honoured (423); files written over
# one protocol seen over the other with the same ETag; a 50 MiB upload and
# download streamed with the server's peak memory bounded; and the
# authorization matrix: alice can neither read nor change anything of bob's
# through any REST or DAV route, and no path leaves her own tree.
#
#   bash tests/integration/test_api_files.sh /path/to/meshgate
# Environment: MESHGATE_FILES_RSS_LIMIT_MIB (default 80).
source "$(dirname "$0")/lib.sh"
mg_init "$@"
require_cmd jq sha256sum
mg_add_standard_users

MAX_BODY=65536
BIG=$((50 * 1048576))
MAX_UPLOAD=$((BIG + 2 * 1048576))
RSS_LIMIT_KIB=$((${MESHGATE_FILES_RSS_LIMIT_MIB:-80} * 1024))
# memory figures under ASan or valgrind mean nothing (shadow memory): reported only
ENFORCE_RSS=1
libs=$(ldd "$MG_BIN" 2>/dev/null || true)
if ((MG_WRAPPED)) || [[ "$libs" == *libasan* ]]; then
    ENFORCE_RSS=0
fi

mg_start --max-body "$MAX_BODY" --max-upload "$MAX_UPLOAD"
API="$MG_BASE/api/v1"
F="$API/files"
C="$API/files/content"
DAVA="$MG_BASE/dav/files/alice"
DAVB="$MG_BASE/dav/files/bob"
J=(-H 'Content-Type: application/json')
W="$MG_TMP/work"
mkdir -p "$W"

# ---- helpers -------------------------------------------------------------------

# move FROM TO [OVERWRITE]: the JSON body of POST /files/move.
move() {
    jq -cn --arg f "$1" --arg t "$2" --argjson o "${3:-false}" '{from: $f, to: $t, overwrite: $o}'
}

# folder PATH: the JSON body of POST /files/folders.
folder() {
    jq -cn --arg p "$1" '{path: $p}'
}

# q PATH: PATH percent-encoded for ?path= (jq's @uri).
q() {
    jq -rn --arg p "$1" '$p | @uri'
}

TA=$(mg_login alice "$ALICE_PW")
TB=$(mg_login bob "$BOB_PW")
AA=(-H "Authorization: Bearer $TA")
AB=(-H "Authorization: Bearer $TB")

# ---- folders ---------------------------------------------------------------------

expect_status GET "$F?path=/" 200 "${AA[@]}"
expect_json .type folder
expect_json .path /
expect_json '.items | length' 0
expect_json .next null

expect_status POST "$F/folders" 201 "${AA[@]}" "${J[@]}" --data-binary "$(folder /docs/)"
expect_header Location '/api/v1/files\?path=/docs/$'
expect_json .type folder
expect_json .path /docs/
expect_json .name docs
expect_status POST "$F/folders" 201 "${AA[@]}" "${J[@]}" --data-binary "$(folder /docs/sub)"
expect_json .path /docs/sub/
# something there already: 409 (WebDAV's MKCOL says 405; REST keeps 405 for methods)
expect_status POST "$F/folders" 409 "${AA[@]}" "${J[@]}" --data-binary "$(folder /docs)"
expect_problem 409 exists
expect_status POST "$F/folders" 409 "${AA[@]}" "${J[@]}" --data-binary "$(folder /)"
expect_problem 409 exists
expect_status POST "$F/folders" 409 "${AA[@]}" "${J[@]}" --data-binary "$(folder /no/such/parent/)"
expect_problem 409 parent-missing
expect_status GET "$F?path=/no/such/parent/" 404 "${AA[@]}"
expect_problem 404 not-found
# the folder exists over WebDAV too
expect_status PROPFIND "$DAVA/docs/sub/" 207 "${ALICE[@]}" -H 'Depth: 0'

# ---- uploads ---------------------------------------------------------------------

printf 'hello, files\n' >"$W/hello.txt"
expect_status PUT "$C?path=/docs/hello.txt" 201 "${AA[@]}" -H 'Content-Type: text/plain' -T "$W/hello.txt"
expect_header ETag '^"[0-9a-f]{32}"$'
H_ETAG=$(header_value ETag)
expect_header Location '/api/v1/files/content\?path=/docs/hello\.txt$'
expect_json .type file
expect_json .size 13
expect_json .etag "$H_ETAG"
expect_json .content_type text/plain
expect_json .path /docs/hello.txt
# replaced: 200 with the new state
printf 'hello again, files\n' >"$W/hello2.txt"
expect_status PUT "$C?path=/docs/hello.txt" 200 "${AA[@]}" -H 'Content-Type: text/plain' -T "$W/hello2.txt"
H2_ETAG=$(header_value ETag)
check "the ETag changes with the content" test "$H2_ETAG" != "$H_ETAG"
expect_json .size 19
# conditional uploads (RFC 9110 13.1): nothing changes when they fail
expect_status PUT "$C?path=/docs/hello.txt" 412 "${AA[@]}" -H 'If-None-Match: *' -T "$W/hello.txt"
expect_problem 412 etag-mismatch
expect_status PUT "$C?path=/docs/hello.txt" 412 "${AA[@]}" -H "If-Match: $H_ETAG" -T "$W/hello.txt"
expect_problem 412 etag-mismatch
expect_status PUT "$C?path=/docs/new.txt" 412 "${AA[@]}" -H 'If-Match: *' -T "$W/hello.txt"
expect_status GET "$C?path=/docs/new.txt" 404 "${AA[@]}"
expect_status PUT "$C?path=/docs/hello.txt" 200 "${AA[@]}" -H "If-Match: $H2_ETAG" -H 'Content-Type: text/plain' \
    -T "$W/hello.txt"
expect_json .etag "$H_ETAG"
expect_status PUT "$C?path=/docs/once.txt" 201 "${AA[@]}" -H 'If-None-Match: *' -T "$W/hello.txt"
# the parent must exist; a folder is not a file
expect_status PUT "$C?path=/nowhere/x.txt" 409 "${AA[@]}" -T "$W/hello.txt"
expect_problem 409 parent-missing
expect_status PUT "$C?path=/docs" 409 "${AA[@]}" -T "$W/hello.txt"
expect_problem 409 is-a-folder
expect_status PUT "$C?path=/docs/x/" 409 "${AA[@]}" -T "$W/hello.txt"
expect_status PUT "$C?path=/" 409 "${AA[@]}" -T "$W/hello.txt"
# any content type, and the body is not JSON; an empty file is a file
expect_status PUT "$C?path=/docs/data.json" 201 "${AA[@]}" "${J[@]}" --data-binary '{not json'
expect_json .content_type application/json
expect_status PUT "$C?path=/docs/empty.bin" 201 "${AA[@]}" -X PUT --data-binary ''
expect_json .size 0
# names with spaces, '+' and non-ASCII; '+' in a query is a space, %2B a plus
expect_status PUT "$C?path=/docs/a+b%2Bc%20%C3%A9.txt" 201 "${AA[@]}" -T "$W/hello.txt"
expect_json .name 'a b+c é.txt'
expect_status GET "$DAVA/docs/a%20b%2Bc%20%C3%A9.txt" 200 "${ALICE[@]}"
expect_body_file "$W/hello.txt"

# ---- metadata and downloads -----------------------------------------------------------

expect_status GET "$F?path=/docs/hello.txt" 200 "${AA[@]}"
expect_json .type file
expect_json .etag "$H_ETAG"
expect_json .size 13
expect_json .items null
modified=$(jget .modified)
check "modified is an RFC 3339 UTC time: $modified" grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' <<<"$modified"
expect_status GET "$F?path=/docs/" 200 "${AA[@]}"
expect_json '[.items[].name] | join(",")' "a b+c é.txt,data.json,empty.bin,hello.txt,once.txt,sub"
expect_json '[.items[] | select(.name == "sub")][0].type' folder
expect_json '[.items[] | select(.name == "sub")][0].path' /docs/sub/
expect_json '[.items[] | select(.name == "hello.txt")][0].etag' "$H_ETAG"

expect_status GET "$C?path=/docs/hello.txt" 200 "${AA[@]}"
expect_body_file "$W/hello.txt"
expect_header ETag "^$H_ETAG\$"
expect_header Content-Type '^text/plain'
expect_header Content-Length '^13$'
expect_header Accept-Ranges bytes
expect_header X-Content-Type-Options nosniff
expect_header Content-Disposition "^attachment; filename\\*=UTF-8''hello\\.txt$"
expect_status HEAD "$C?path=/docs/hello.txt" 200 "${AA[@]}"
expect_header Content-Length '^13$'
expect_status GET "$C?path=/docs/hello.txt" 304 "${AA[@]}" -H "If-None-Match: $H_ETAG"
expect_status GET "$C?path=/docs/hello.txt" 200 "${AA[@]}" -H "If-None-Match: $H2_ETAG"
expect_status GET "$C?path=/docs/hello.txt" 206 "${AA[@]}" -H 'Range: bytes=7-11'
expect_header Content-Range '^bytes 7-11/13$'
expect_eq "$(cat "$LAST_BODY_FILE")" files "bytes 7-11 of hello.txt"
expect_status GET "$C?path=/docs/hello.txt" 206 "${AA[@]}" -H 'Range: bytes=-6'
expect_eq "$(cat "$LAST_BODY_FILE")" "files" "the last 6 bytes of hello.txt"
expect_status GET "$C?path=/docs/hello.txt" 416 "${AA[@]}" -H 'Range: bytes=100-200'
expect_problem 416 range-not-satisfiable
expect_header Content-Range '^bytes \*/13$'
expect_status GET "$C?path=/docs/hello.txt" 200 "${AA[@]}" -H 'Range: bytes=0-3' -H 'If-Range: "stale"'
expect_body_file "$W/hello.txt"
expect_status GET "$C?path=/docs/missing.txt" 404 "${AA[@]}"
expect_problem 404 not-found
expect_status GET "$C?path=/docs/" 409 "${AA[@]}"
expect_problem 409 is-a-folder

# ---- the same tree as WebDAV, with the same ETags ----------------------------------------

expect_status GET "$DAVA/docs/hello.txt" 200 "${ALICE[@]}"
expect_body_file "$W/hello.txt"
expect_header ETag "^$H_ETAG\$"
printf 'written over WebDAV\n' >"$W/dav.txt"
expect_status PUT "$DAVA/docs/dav.txt" 201 "${ALICE[@]}" -T "$W/dav.txt"
D_ETAG=$(header_value ETag)
expect_status GET "$F?path=/docs/" 200 "${AA[@]}"
expect_json '[.items[] | select(.name == "dav.txt")][0].etag' "$D_ETAG"
expect_status GET "$C?path=/docs/dav.txt" 200 "${AA[@]}"
expect_body_file "$W/dav.txt"
expect_header ETag "^$D_ETAG\$"
expect_status PROPFIND "$DAVA/docs/hello.txt" 207 "${ALICE[@]}" -H 'Depth: 0' \
    --data-binary "$(propfind_body getetag)"
expect_body_contains "$H_ETAG"

# ---- paging ---------------------------------------------------------------------------

expect_status MKCOL "$DAVA/page/" 201 "${ALICE[@]}"
for n in e c a d b; do
    expect_status PUT "$DAVA/page/$n.txt" 201 "${ALICE[@]}" --data-binary "$n"
done
expect_status GET "$F?path=/page&limit=2" 200 "${AA[@]}"
expect_json '[.items[].name] | join(",")' a.txt,b.txt
NEXT=$(jget .next)
check "a first page has a next cursor" test -n "$NEXT" -a "$NEXT" != null
expect_status GET "$F?path=/page/&limit=2&cursor=$NEXT" 200 "${AA[@]}"
expect_json '[.items[].name] | join(",")' c.txt,d.txt
NEXT=$(jget .next)
expect_status GET "$F?path=/page&limit=2&cursor=$NEXT" 200 "${AA[@]}"
expect_json '[.items[].name] | join(",")' e.txt
expect_json .next null
expect_status GET "$F?path=/docs/&cursor=$NEXT" 400 "${AA[@]}"
expect_problem 400 bad-cursor
expect_status GET "$F?path=/page/&cursor=not-a-cursor" 400 "${AA[@]}"
expect_problem 400 bad-cursor
expect_status GET "$F?path=/page/&limit=0" 400 "${AA[@]}"
expect_status GET "$F?path=/page/&limit=201" 400 "${AA[@]}"

# ---- move -------------------------------------------------------------------------------

expect_status POST "$F/move" 201 "${AA[@]}" "${J[@]}" --data-binary "$(move /docs/hello.txt /docs/moved.txt)"
expect_header Location '/api/v1/files\?path=/docs/moved\.txt$'
expect_json .path /docs/moved.txt
expect_json .etag "$H_ETAG"
expect_status GET "$C?path=/docs/hello.txt" 404 "${AA[@]}"
expect_status GET "$DAVA/docs/moved.txt" 200 "${ALICE[@]}"
expect_body_file "$W/hello.txt"
# an existing destination is replaced only when asked (WebDAV's Overwrite)
expect_status POST "$F/move" 412 "${AA[@]}" "${J[@]}" --data-binary "$(move /docs/moved.txt /docs/dav.txt)"
expect_problem 412 destination-exists
expect_status GET "$C?path=/docs/dav.txt" 200 "${AA[@]}"
expect_body_file "$W/dav.txt"
expect_status POST "$F/move" 412 "${AA[@]}" "${J[@]}" -H 'If-Match: "0123"' \
    --data-binary "$(move /docs/moved.txt /docs/dav.txt true)"
expect_problem 412 etag-mismatch
expect_status POST "$F/move" 200 "${AA[@]}" "${J[@]}" -H "If-Match: $H_ETAG" \
    --data-binary "$(move /docs/moved.txt /docs/dav.txt true)"
expect_json .etag "$H_ETAG"
expect_status GET "$C?path=/docs/dav.txt" 200 "${AA[@]}"
expect_body_file "$W/hello.txt"
expect_status GET "$F?path=/docs/moved.txt" 404 "${AA[@]}"
# folders move with everything below them
expect_status POST "$F/move" 201 "${AA[@]}" "${J[@]}" --data-binary "$(move /docs /docs2/)"
expect_json .type folder
expect_status GET "$C?path=/docs2/dav.txt" 200 "${AA[@]}"
expect_body_file "$W/hello.txt"
expect_status PROPFIND "$DAVA/docs2/sub/" 207 "${ALICE[@]}" -H 'Depth: 0'
expect_status GET "$F?path=/docs/" 404 "${AA[@]}"
# what WebDAV refuses, refused the same way
expect_status POST "$F/move" 409 "${AA[@]}" "${J[@]}" --data-binary "$(move /docs2 /archive/2024/docs)"
expect_problem 409 parent-missing
expect_status POST "$F/move" 403 "${AA[@]}" "${J[@]}" --data-binary "$(move /docs2 /docs2/sub/inner)"
expect_problem 403 into-itself
expect_status POST "$F/move" 403 "${AA[@]}" "${J[@]}" --data-binary "$(move / /elsewhere)"
expect_problem 403 root-folder
expect_status POST "$F/move" 403 "${AA[@]}" "${J[@]}" --data-binary "$(move /docs2 /docs2/)"
expect_problem 403 same-path
expect_status POST "$F/move" 404 "${AA[@]}" "${J[@]}" --data-binary "$(move /nothing.txt /b.txt)"
expect_problem 404 not-found
expect_status GET "$F?path=/docs2/sub/" 200 "${AA[@]}"

# ---- delete -----------------------------------------------------------------------------

expect_status DELETE "$F?path=/docs2/once.txt" 412 "${AA[@]}" -H 'If-Match: "0123"'
expect_problem 412 etag-mismatch
expect_status DELETE "$F?path=/docs2/once.txt" 204 "${AA[@]}" -H "If-Match: $H_ETAG"
expect_status DELETE "$F?path=/docs2/once.txt" 404 "${AA[@]}"
expect_problem 404 not-found
expect_status DELETE "$F?path=/docs2/" 204 "${AA[@]}"
expect_status GET "$DAVA/docs2/dav.txt" 404 "${ALICE[@]}"
expect_status GET "$F?path=/docs2/sub/" 404 "${AA[@]}"
expect_status DELETE "$F?path=/" 403 "${AA[@]}"
expect_problem 403 root-folder
expect_status GET "$F?path=/" 200 "${AA[@]}"
expect_json '[.items[].name] | join(",")' page

# ---- WebDAV locks are honoured: 423 without the lock token ---------------------------------

LOCKINFO='<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>test</D:owner></D:lockinfo>'
expect_status PUT "$DAVA/locked.txt" 201 "${ALICE[@]}" -T "$W/dav.txt"
expect_status LOCK "$DAVA/locked.txt" 200 "${ALICE[@]}" -H 'Content-Type: application/xml' \
    --data-binary "$LOCKINFO"
LOCK_TOKEN=$(header_value Lock-Token)
expect_status PUT "$C?path=/locked.txt" 423 "${AA[@]}" -T "$W/hello.txt"
expect_problem 423 locked
expect_status DELETE "$F?path=/locked.txt" 423 "${AA[@]}"
expect_status POST "$F/move" 423 "${AA[@]}" "${J[@]}" --data-binary "$(move /locked.txt /unlocked.txt)"
expect_status POST "$F/move" 423 "${AA[@]}" "${J[@]}" --data-binary "$(move /page/a.txt /locked.txt true)"
expect_status GET "$C?path=/locked.txt" 200 "${AA[@]}"
expect_body_file "$W/dav.txt"
# a locked folder (depth infinity) takes no new member either
expect_status LOCK "$DAVA/page/" 200 "${ALICE[@]}" -H 'Content-Type: application/xml' \
    -H 'Depth: infinity' --data-binary "$LOCKINFO"
FOLDER_LOCK=$(header_value Lock-Token)
expect_status PUT "$C?path=/page/new.txt" 423 "${AA[@]}" -T "$W/hello.txt"
expect_status POST "$F/folders" 423 "${AA[@]}" "${J[@]}" --data-binary "$(folder /page/sub/)"
expect_status UNLOCK "$DAVA/page/" 204 "${ALICE[@]}" -H "Lock-Token: $FOLDER_LOCK"
expect_status UNLOCK "$DAVA/locked.txt" 204 "${ALICE[@]}" -H "Lock-Token: $LOCK_TOKEN"
expect_status PUT "$C?path=/locked.txt" 200 "${AA[@]}" -T "$W/hello.txt"
expect_status DELETE "$F?path=/locked.txt" 204 "${AA[@]}"

# ---- the error matrix of every route ------------------------------------------------------

# wrong method: 405 with Allow (and OPTIONS answers the Allow list)
expect_status PATCH "$F?path=/" 405 "${AA[@]}"
expect_problem 405 method-not-allowed
expect_header Allow '^GET, HEAD, DELETE, OPTIONS$'
expect_status POST "$C?path=/x" 405 "${AA[@]}" "${J[@]}" --data-binary '{}'
expect_header Allow '^GET, HEAD, PUT, OPTIONS$'
expect_status GET "$F/move" 405 "${AA[@]}"
expect_header Allow '^POST, OPTIONS$'
expect_status DELETE "$F/folders" 405 "${AA[@]}"
expect_header Allow '^POST, OPTIONS$'
expect_status OPTIONS "$F/content" 204
expect_header Allow '^GET, HEAD, PUT, OPTIONS$'

for route in move folders; do
    # bad JSON, a JSON value that is not an object, an empty body
    expect_status POST "$F/$route" 400 "${AA[@]}" "${J[@]}" --data-binary '{"from": "/a",'
    expect_problem 400 malformed-json
    expect_status POST "$F/$route" 400 "${AA[@]}" "${J[@]}" --data-binary '["/a"]'
    expect_problem 400 malformed-json
    expect_status POST "$F/$route" 400 "${AA[@]}" "${J[@]}" -X POST
    # wrong content type
    expect_status POST "$F/$route" 415 "${AA[@]}" -H 'Content-Type: text/plain' --data-binary '{"path": "/a"}'
    expect_problem 415 unsupported-media-type
    expect_status POST "$F/$route" 415 "${AA[@]}" --data-binary '{"path": "/a"}'
    # oversized JSON body: refused by its Content-Length, and when chunked
    head -c $((MAX_BODY + 1)) /dev/zero | tr '\0' ' ' >"$W/big.json"
    printf '{}' >>"$W/big.json"
    expect_status POST "$F/$route" 413 "${AA[@]}" "${J[@]}" --data-binary "@$W/big.json"
    expect_problem 413 body-too-large
    expect_status POST "$F/$route" 413 "${AA[@]}" "${J[@]}" -H 'Transfer-Encoding: chunked' \
        --data-binary "@$W/big.json"
    # unknown, missing and mistyped fields
    expect_status POST "$F/$route" 400 "${AA[@]}" "${J[@]}" --data-binary '{"colour": "red"}'
    expect_problem 400 unknown-field
done
expect_status POST "$F/move" 400 "${AA[@]}" "${J[@]}" --data-binary '{"from": "/page/a.txt"}'
expect_problem 400 missing-field
expect_status POST "$F/move" 400 "${AA[@]}" "${J[@]}" --data-binary '{"from": "/page/a.txt", "to": 7}'
expect_problem 400 bad-field
expect_status POST "$F/move" 400 "${AA[@]}" "${J[@]}" \
    --data-binary '{"from": "/page/a.txt", "to": "/z.txt", "overwrite": "yes"}'
expect_problem 400 bad-field
expect_status POST "$F/folders" 400 "${AA[@]}" "${J[@]}" --data-binary '{"path": null}'
expect_problem 400 missing-field
expect_status POST "$F/folders" 400 "${AA[@]}" "${J[@]}" --data-binary '{"path": ["/a"]}'
expect_problem 400 bad-field

# bad paths: not absolute, dot segments (also encoded), NUL, control characters,
# invalid UTF-8, over-long names, no path at all
for p in 'docs' '/../bob/' '/page/../../x' '/%2e%2e/bob/' '/a%00b' '/a%0Ab' '/a%FFb' '/.' \
    "/$(head -c 256 /dev/zero | tr '\0' n)"; do
    expect_status GET "$F?path=$p" 400 "${AA[@]}"
    expect_problem 400 bad-path
done
expect_status GET "$F" 400 "${AA[@]}"
expect_problem 400 bad-parameter
expect_status GET "$C?path=/page/../page/a.txt" 400 "${AA[@]}"
expect_status PUT "$C?path=/x/../y.txt" 400 "${AA[@]}" -T "$W/hello.txt"
expect_problem 400 bad-path
expect_status DELETE "$F?path=/page/.." 400 "${AA[@]}"
expect_status POST "$F/folders" 400 "${AA[@]}" "${J[@]}" --data-binary "$(folder ../x/)"
expect_problem 400 bad-path
expect_status POST "$F/folders" 400 "${AA[@]}" "${J[@]}" --data-binary "$(folder $'/a\tb/')"
expect_status POST "$F/move" 400 "${AA[@]}" "${J[@]}" --data-binary "$(move /page/a.txt /page/../../b.txt)"
expect_problem 400 bad-path
expect_status POST "$F/move" 400 "${AA[@]}" "${J[@]}" --data-binary "$(move /page/./a.txt /b.txt)"
# a JSON path is not percent-decoded: "%2e%2e" is a name like any other
expect_status POST "$F/folders" 201 "${AA[@]}" "${J[@]}" --data-binary "$(folder /%2e%2e/)"
expect_json .name '%2e%2e'
expect_status GET "$F?path=$(q /%2e%2e/)" 200 "${AA[@]}"
expect_status DELETE "$F?path=$(q /%2e%2e/)" 204 "${AA[@]}"

# tokens: missing, malformed, tampered with, expired - on every route
routes=("GET $F?path=/" "DELETE $F?path=/page/a.txt" "GET $C?path=/page/a.txt"
    "HEAD $C?path=/page/a.txt" "PUT $C?path=/page/a.txt" "POST $F/move" "POST $F/folders")
TX=$(mg_login alice "$ALICE_PW" 1)
half=$((${#TA} / 2))
TAMPERED="${TA:0:half}$([[ "${TA:half:1}" == A ]] && echo B || echo A)${TA:half+1}"
poll_status 401 15 GET "$F?path=/" -H "Authorization: Bearer $TX"
expect_body_contains expired
for r in "${routes[@]}"; do
    method=${r%% *}
    url=${r#* }
    body=()
    case "$method" in
    PUT) body=(--data-binary 'overwritten?') ;;
    POST) body=("${J[@]}" --data-binary "$(move /page/a.txt /page/stolen.txt)") ;;
    esac
    expect_status "$method" "$url" 401 "${body[@]}"
    expect_header WWW-Authenticate '^Bearer realm="meshgate"'
    [[ "$method" == HEAD ]] || expect_problem 401 unauthenticated
    for token in "$TX" "$TAMPERED" "not-a-token" ""; do
        expect_status "$method" "$url" 401 -H "Authorization: Bearer $token" "${body[@]}"
    done
    expect_status "$method" "$url" 401 -H "Authorization: Basic $(printf 'alice:%s' "$ALICE_PW" | base64)" "${body[@]}"
done
expect_status GET "$C?path=/page/a.txt" 200 "${AA[@]}"
expect_eq "$(cat "$LAST_BODY_FILE")" a "nothing changed page/a.txt without a valid token"
expect_status GET "$F?path=/page/stolen.txt" 404 "${AA[@]}"

# ---- a 50 MiB file, streamed both ways -----------------------------------------------------

head -c "$BIG" /dev/urandom >"$W/big.bin"
BIG_SHA=$(sha256_of "$W/big.bin")
hwm_before=$(mg_vmhwm_kib)
# from a pipe: chunked, nothing knows the size ahead
up_status=$(curl -sS -g --max-time "$MG_CURL_TIMEOUT" "${AA[@]}" -T - -o "$W/put.json" \
    -w '%{http_code}' "$C?path=/big.bin" <"$W/big.bin" 2>"$W/put.err") || true
expect_eq "$up_status" 201 "PUT of $BIG bytes (chunked) over REST"
expect_eq "$(jq -r .size "$W/put.json" 2>/dev/null)" "$BIG" "the stored size of the 50 MiB file"
hwm_upload=$(mg_vmhwm_kib)
got_sha=$(curl -sS -g --max-time "$MG_CURL_TIMEOUT" "${AA[@]}" "$C?path=/big.bin" | sha256sum | awk '{print $1}') || true
expect_eq "$got_sha" "$BIG_SHA" "SHA-256 of the 50 MiB file downloaded over REST"
got_sha=$(curl -sS -g --max-time "$MG_CURL_TIMEOUT" "${ALICE[@]}" "$DAVA/big.bin" | sha256sum | awk '{print $1}') || true
expect_eq "$got_sha" "$BIG_SHA" "SHA-256 of the 50 MiB file downloaded over WebDAV"
hwm_download=$(mg_vmhwm_kib)
for spec in 0:100 1048570:20 $((BIG / 2 - 5)):4096 $((BIG - 10)):10; do
    off=${spec%%:*}
    len=${spec##*:}
    expect_status GET "$C?path=/big.bin" 206 "${AA[@]}" -H "Range: bytes=$off-$((off + len - 1))"
    expect_header Content-Range "^bytes $off-$((off + len - 1))/$BIG\$"
    check "bytes $off-$((off + len - 1)) of the 50 MiB file" \
        cmp -s "$LAST_BODY_FILE" <(tail -c +$((off + 1)) "$W/big.bin" | head -c "$len")
done
tail_sha=$(curl -sS -g --max-time "$MG_CURL_TIMEOUT" "${AA[@]}" -H "Range: bytes=$((BIG - BIG / 4))-" \
    "$C?path=/big.bin" | sha256sum | awk '{print $1}') || true
expect_eq "$tail_sha" "$(tail -c $((BIG / 4)) "$W/big.bin" | sha256sum | awk '{print $1}')" \
    "SHA-256 of the last quarter (open-ended range)"
hwm=$(mg_vmhwm_kib)
log "VmHWM before ${hwm_before:-?} KiB, after upload ${hwm_upload:-?} KiB, after downloads ${hwm_download:-?} KiB, at end ${hwm:-?} KiB"
if [[ -z "$hwm" ]]; then
    fail "could not read VmHWM of pid $MG_PID"
elif ((ENFORCE_RSS)); then
    check "peak RSS ${hwm} KiB < $((RSS_LIMIT_KIB / 1024)) MiB through a 50 MiB upload and download" \
        test "$hwm" -lt "$RSS_LIMIT_KIB"
else
    log "peak RSS not enforced under a sanitizer or valgrind (${hwm} KiB)"
fi
# over limits.max_upload: refused by Content-Length at once, and when chunked mid-way
expect_status PUT "$C?path=/huge.bin" 413 "${AA[@]}" -H "Content-Length: $((MAX_UPLOAD + 1))" \
    -H 'Expect:' --max-time 10 --data-binary 'x'
expect_problem 413 body-too-large
expect_fast 5
too_big=$(head -c $((MAX_UPLOAD + 1048576)) /dev/zero | curl -sS -g --max-time "$MG_CURL_TIMEOUT" \
    "${AA[@]}" -T - -o "$W/toobig.json" -w '%{http_code}' "$C?path=/toobig.bin" 2>/dev/null) || true
expect_eq "$too_big" 413 "a chunked upload past limits.max_upload"
expect_status GET "$F?path=/toobig.bin" 404 "${AA[@]}"
expect_status DELETE "$F?path=/big.bin" 204 "${AA[@]}"
expect_alive "50 MiB upload and download"

# ---- the authorization matrix: alice and bob ----------------------------------------------

printf 'BOB-SECRET-%s\n' "$RANDOM$RANDOM" >"$W/bob.txt"
expect_status PUT "$C?path=/secret.txt" 201 "${AB[@]}" -T "$W/bob.txt"
B_ETAG=$(header_value ETag)
expect_status POST "$F/folders" 201 "${AB[@]}" "${J[@]}" --data-binary "$(folder /private/)"
expect_status PUT "$DAVB/private/plan.txt" 201 "${BOB[@]}" -T "$W/bob.txt"
# the same name in both trees holds each owner's own content
expect_status PUT "$C?path=/secret.txt" 201 "${AA[@]}" -T "$W/hello.txt"
expect_status GET "$C?path=/secret.txt" 200 "${AA[@]}"
expect_body_file "$W/hello.txt"
expect_status GET "$C?path=/secret.txt" 200 "${AB[@]}"
expect_body_file "$W/bob.txt"
expect_status DELETE "$F?path=/secret.txt" 204 "${AA[@]}"
# REST: every route works on the caller's own tree; no path leaves it
for p in /private/ /private/plan.txt /dav/files/bob/secret.txt /bob/secret.txt; do
    expect_status GET "$F?path=$p" 404 "${AA[@]}"
    expect_status GET "$C?path=$p" 404 "${AA[@]}"
    expect_status DELETE "$F?path=$p" 404 "${AA[@]}"
done
for p in '/../bob/secret.txt' '/%2e%2e/bob/secret.txt' '/..%2Fbob%2Fsecret.txt' '/%2E%2E%2F%2E%2E%2Fbob'; do
    expect_status GET "$C?path=$p" 400 "${AA[@]}"
    expect_status DELETE "$F?path=$p" 400 "${AA[@]}"
    expect_status PUT "$C?path=$p" 400 "${AA[@]}" -T "$W/hello.txt"
done
expect_status PUT "$C?path=/dav/files/bob/secret.txt" 409 "${AA[@]}" -T "$W/hello.txt"
expect_status POST "$F/move" 404 "${AA[@]}" "${J[@]}" --data-binary "$(move /private/plan.txt /mine.txt)"
expect_status POST "$F/move" 400 "${AA[@]}" "${J[@]}" --data-binary "$(move /../bob/secret.txt /mine.txt)"
expect_status PUT "$C?path=/mine.txt" 201 "${AA[@]}" -T "$W/hello.txt"
expect_status POST "$F/move" 400 "${AA[@]}" "${J[@]}" --data-binary "$(move /mine.txt /../bob/secret.txt true)"
expect_status POST "$F/move" 409 "${AA[@]}" "${J[@]}" --data-binary "$(move /mine.txt /dav/files/bob/secret.txt true)"
expect_status POST "$F/folders" 400 "${AA[@]}" "${J[@]}" --data-binary "$(folder /../bob/private/x/)"
expect_status GET "$F?path=/" 200 "${AA[@]}"
expect_body_not_contains private "alice's listing"
expect_body_not_contains BOB-SECRET "alice's listing"
# WebDAV, with a password and with a REST token: 403 on anything of bob's
for auth in "ALICE" "TOKEN"; do
    if [[ "$auth" == ALICE ]]; then cred=("${ALICE[@]}"); else cred=("${AA[@]}"); fi
    expect_status GET "$DAVB/secret.txt" 403 "${cred[@]}"
    expect_body_not_contains BOB-SECRET
    expect_status HEAD "$DAVB/secret.txt" 403 "${cred[@]}"
    expect_status PROPFIND "$DAVB/" 403 "${cred[@]}" -H 'Depth: 1'
    expect_body_not_contains secret.txt
    expect_status PUT "$DAVB/secret.txt" 403 "${cred[@]}" -T "$W/hello.txt"
    expect_status PUT "$DAVB/new.txt" 403 "${cred[@]}" -T "$W/hello.txt"
    expect_status DELETE "$DAVB/secret.txt" 403 "${cred[@]}"
    expect_status DELETE "$DAVB/private/" 403 "${cred[@]}"
    expect_status MKCOL "$DAVB/alice-was-here/" 403 "${cred[@]}"
    expect_status PROPPATCH "$DAVB/secret.txt" 403 "${cred[@]}" -H 'Content-Type: application/xml' \
        --data-binary '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">1</x></D:prop></D:set></D:propertyupdate>'
    expect_status LOCK "$DAVB/secret.txt" 403 "${cred[@]}" -H 'Content-Type: application/xml' \
        --data-binary "$LOCKINFO"
    expect_status MOVE "$DAVB/secret.txt" 403 "${cred[@]}" -H "Destination: $DAVA/stolen.txt"
    expect_status COPY "$DAVB/secret.txt" 403 "${cred[@]}" -H "Destination: $DAVA/stolen.txt"
    expect_status COPY "$DAVA/mine.txt" 403 "${cred[@]}" -H "Destination: $DAVB/secret.txt" \
        -H 'Overwrite: T'
    expect_status MOVE "$DAVA/mine.txt" 403 "${cred[@]}" -H "Destination: $DAVB/planted.txt"
    expect_status GET "$MG_BASE/dav/files/alice/../bob/secret.txt" '400|403|404' "${cred[@]}"
    expect_body_not_contains BOB-SECRET
done
expect_status GET "$DAVA/stolen.txt" 404 "${ALICE[@]}"
# and everything of bob's is as it was
expect_status GET "$C?path=/secret.txt" 200 "${AB[@]}"
expect_body_file "$W/bob.txt"
expect_header ETag "^$B_ETAG\$"
expect_status GET "$F?path=/" 200 "${AB[@]}"
expect_json '[.items[].name] | join(",")' private,secret.txt
expect_status GET "$F?path=/private/" 200 "${AB[@]}"
expect_json '[.items[].name] | join(",")' plan.txt
expect_status GET "$DAVB/private/plan.txt" 200 "${BOB[@]}"
expect_body_file "$W/bob.txt"
# the other way round: bob reaches none of alice's files
expect_status GET "$C?path=/mine.txt" 404 "${AB[@]}"
expect_status GET "$F?path=/page/" 404 "${AB[@]}"
expect_status GET "$DAVA/mine.txt" 403 "${BOB[@]}"
expect_status GET "$DAVA/mine.txt" 403 "${AB[@]}"
expect_status GET "$C?path=/mine.txt" 200 "${AA[@]}"
expect_body_file "$W/hello.txt"

expect_alive "the whole files matrix"
mg_finish
