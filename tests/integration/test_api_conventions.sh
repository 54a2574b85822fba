#!/usr/bin/env bash
# test_api_conventions.sh - the REST conventions, for every route the served
# OpenAPI document lists: the route exists, a wrong method gets 405 with the
# documented Allow list, a missing, expired, revoked or tampered token gets 401
# (WWW-Authenticate: Bearer), and a route that takes a body answers malformed
# JSON and JSON nested too deep with 400, a wrong Content-Type with 415 and an
# oversized body (with Content-Length or chunked) with 413 - every error an
# RFC 9457 problem. (tests/unit/check_api.c checks that the document lists
# exactly the routes of the code.)
#
#   bash tests/integration/test_api_conventions.sh /path/to/meshgate
source "$(dirname "$0")/lib.sh"
mg_init "$@"
require_cmd jq
mg_add_user alice "$ALICE_PW" --admin
mg_add_user bob "$BOB_PW"

MAX_BODY=65536
mg_start --max-body "$MAX_BODY"
API="$MG_BASE/api/v1"
J=(-H 'Content-Type: application/json')

# ---- tokens and a few resources to address -------------------------------------

TA=$(mg_login alice "$ALICE_PW")
TB=$(mg_login bob "$BOB_PW")
AA=(-H "Authorization: Bearer $TA")
check "bob logs in too" test -n "$TB"

expect_status POST "$API/mail/send" 201 "${AA[@]}" "${J[@]}" \
    --data-binary '{"to": "bob", "subject": "conventions", "text": "hello"}'
MSG=$(jq -r .id "$LAST_BODY_FILE")
expect_status POST "$API/admin/invites" 201 "${AA[@]}"
INVITE=$(jq -r .id "$LAST_BODY_FILE")

# A token that expires: ask for a 1-second one and poll until it is refused.
TX=$(mg_login alice "$ALICE_PW" 1)
deadline=$(($(now_ms) + 15000))
while (($(now_ms) < deadline)); do
    mg_request GET "$API/me" -H "Authorization: Bearer $TX"
    [[ "$LAST_STATUS" == 401 ]] && break
    sleep 0.2
done
expect_eq "$LAST_STATUS" 401 "a 1-second token is refused once expired"
expect_body_contains "expired"

# A revoked token: log in, log out.
TR=$(mg_login bob "$BOB_PW")
expect_status POST "$API/logout" 204 -H "Authorization: Bearer $TR"

# A tampered token: alice's, with the user name in it changed.
tamper_user() {
    local b64
    b64=$(printf '%s' "${1#mg1.}" | tr -- '-_' '+/')
    while ((${#b64} % 4)); do b64+="="; done
    printf 'mg1.%s' "$(printf '%s' "$b64" | base64 -d | sed "s/$2/$3/" | base64 -w0 |
        tr -- '+/' '-_' | tr -d '=')"
}
TT=$(tamper_user "$TA" alice bobby)
check "the tampered token differs" test "$TT" != "$TA"

# ---- every documented operation ------------------------------------------------

mg_request GET "$API/openapi.json"
expect_eq "$LAST_STATUS" 200 "GET openapi.json"
cp "$LAST_BODY_FILE" "$MG_TMP/openapi.json"
# METHOD PATH BODY(0/1: a JSON body) PUBLIC(0/1); a streamed upload (any type,
# up to limits.max_upload) has its own checks in test_api_files.sh
jq -r '.paths | to_entries[] | .key as $p | .value | to_entries[] |
    "\(.key | ascii_upcase) \($p) \(if .value.requestBody.content["application/json"] then 1 else 0 end) \(if (.value.security | length) == 0 then 1 else 0 end)"' \
    "$MG_TMP/openapi.json" >"$MG_TMP/ops.txt"
nops=$(wc -l <"$MG_TMP/ops.txt")
check "the document lists operations ($nops)" test "$nops" -ge 20

fill() {
    local p=$1
    p=${p//\{mailbox\}/Sent}
    p=${p//\{id\}/$MSG}
    p=${p//\{index\}/0}
    p=${p//\{invite\}/$INVITE}
    printf '%s' "$p"
}

# documented methods of a path, as the Allow header should list them
allow_of() {
    local m
    m=$(jq -r --arg p "$1" '.paths[$p] | keys[] | ascii_upcase' "$MG_TMP/openapi.json")
    {
        echo "$m"
        if grep -qx GET <<<"$m"; then echo HEAD; fi
        echo OPTIONS
    } | sort -u | tr '\n' ' '
}

head -c $((MAX_BODY + 4096)) /dev/zero | tr '\0' 'x' | sed 's/^/{"pad": "/; s/$/"}/' >"$MG_TMP/big.json"
deep=$(printf '%0.s[' $(seq 40))$(printf '%0.s]' $(seq 40))
printf '{"a": %s}' "$deep" >"$MG_TMP/deep.json"

while read -r method path has_body public; do
    url="$MG_BASE$(fill "$path")"
    desc="$method $path"
    # the route exists: no token on a protected route is 401, a public one answers
    if [[ "$public" == 1 ]]; then
        mg_request "$method" "$url"
        check "$desc exists (got $LAST_STATUS)" test "$LAST_STATUS" != 404 -a "$LAST_STATUS" != 405
    else
        mg_request "$method" "$url"
        expect_eq "$LAST_STATUS" 401 "$desc without a token"
        expect_problem 401
        expect_header WWW-Authenticate '^Bearer realm="meshgate"'
        for tok in "$TX" "$TR" "$TT" "not-a-token"; do
            mg_request "$method" "$url" -H "Authorization: Bearer $tok"
            expect_eq "$LAST_STATUS" 401 "$desc with a bad token (${tok:0:12}...)"
            expect_header WWW-Authenticate 'error="invalid_token"'
        done
        mg_request "$method" "$url" -H "Authorization: Basic $(printf 'alice:%s' "$ALICE_PW" | base64)"
        expect_eq "$LAST_STATUS" 401 "$desc with Basic credentials (REST takes bearer tokens)"
    fi
    # a wrong method
    want=$(allow_of "$path")
    for wrong in PUT PATCH DELETE POST GET; do
        [[ " $want " == *" $wrong "* ]] && continue
        mg_request "$wrong" "$url" "${AA[@]}"
        expect_eq "$LAST_STATUS" 405 "$wrong $path is not allowed"
        expect_problem 405
        got=$(header_value Allow | tr -d ' ' | tr ',' '\n' | sort -u | tr '\n' ' ')
        expect_eq "$got" "$want" "Allow of $path"
        break
    done
    # bodies (as alice, the admin: every check below fails before any change)
    if [[ "$has_body" == 1 ]]; then
        mg_request "$method" "$url" "${AA[@]}" "${J[@]}" --data-binary '{"user": '
        expect_eq "$LAST_STATUS" 400 "$desc with malformed JSON"
        expect_problem 400
        mg_request "$method" "$url" "${AA[@]}" "${J[@]}" --data-binary '[1, 2]'
        expect_eq "$LAST_STATUS" 400 "$desc with a JSON array"
        mg_request "$method" "$url" "${AA[@]}" "${J[@]}" --data-binary "@$MG_TMP/deep.json"
        expect_eq "$LAST_STATUS" 400 "$desc with JSON nested 41 deep"
        expect_body_contains "deeper"
        mg_request "$method" "$url" "${AA[@]}" -H 'Content-Type: text/plain' --data-binary '{}'
        expect_eq "$LAST_STATUS" 415 "$desc with text/plain"
        expect_problem 415
        mg_request "$method" "$url" "${AA[@]}" --data-binary 'user=alice'
        expect_eq "$LAST_STATUS" 415 "$desc with a form body"
        mg_request "$method" "$url" "${AA[@]}" "${J[@]}" --data-binary "@$MG_TMP/big.json"
        expect_eq "$LAST_STATUS" 413 "$desc with a body over $MAX_BODY bytes"
        expect_problem 413
        mg_request "$method" "$url" "${AA[@]}" "${J[@]}" -H 'Transfer-Encoding: chunked' \
            --data-binary "@$MG_TMP/big.json"
        expect_eq "$LAST_STATUS" 413 "$desc with a chunked body over $MAX_BODY bytes"
    fi
done <"$MG_TMP/ops.txt"

# ---- the rest of the conventions -----------------------------------------------

expect_status GET "$API/no/such/thing" 404 "${AA[@]}"
expect_problem 404
expect_status OPTIONS "$API/me" 204
expect_header Allow 'GET'
expect_header Allow 'DELETE'
expect_status HEAD "$API/node" 200
check "HEAD has no body" test ! -s "$LAST_BODY_FILE"
expect_status GET "$API/openapi.json" 200
etag=$(header_value ETag)
expect_status GET "$API/openapi.json" 304 -H "If-None-Match: $etag"
# unknown fields are refused, not ignored (a typo must not pass silently)
expect_status POST "$API/login" 400 "${J[@]}" \
    --data-binary "{\"user\": \"alice\", \"password\": \"$ALICE_PW\", \"passwrd\": 1}"
expect_body_contains 'passwrd'
# bearer tokens are accepted by the glue for the other modules too (DAV)
mg_request PROPFIND "$MG_BASE/dav/files/alice/" "${AA[@]}" -H 'Depth: 0'
check "DAV accepts a REST bearer token (got $LAST_STATUS)" status_matches "$LAST_STATUS" '207|200'
mg_request PROPFIND "$MG_BASE/dav/files/alice/" -H "Authorization: Bearer $TT" -H 'Depth: 0'
expect_eq "$LAST_STATUS" 401 "DAV refuses a tampered bearer token"

expect_alive "all the malformed requests"
mg_finish
