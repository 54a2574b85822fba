#!/usr/bin/env bash
# test_api_accounts.sh - accounts and sessions over REST: node information, the
# sign-up policy (closed, invite, open) and invite codes, login and logout,
# GET /me with ETags, password change (sessions end, mail stays readable),
# an administrator's reset from the command line (sessions end, the old mail
# key is gone), account deletion with all its data, the admin-only routes,
# and the lock-out after failed logins.
#
#   bash tests/integration/test_api_accounts.sh /path/to/meshgate
source "$(dirname "$0")/lib.sh"
mg_init "$@"
require_cmd jq
mg_add_user alice "$ALICE_PW" --admin
mg_add_user bob "$BOB_PW"

# A short lock-out so the end of the script can wait it out; under a slow
# wrapper (valgrind) each failed login's argon2id takes seconds, so the
# window in which failures are counted must be longer.
LOCKOUT=4
[[ -n "${MESHGATE_WRAPPER:-}" ]] && LOCKOUT=40
MAX_FAILURES=8
cat >"$MG_TMP/config.json" <<EOF
{ "login_max_failures": $MAX_FAILURES, "login_lockout": $LOCKOUT }
EOF
mg_start --config "$MG_TMP/config.json"
API="$MG_BASE/api/v1"
J=(-H 'Content-Type: application/json')

# ---- node and login --------------------------------------------------------------

expect_status GET "$API/node" 200
expect_json .signup closed
expect_json .mail_domain meshgate
expect_json '.services | index("mail") != null' true
expect_json '.urls.caldav_discovery' /.well-known/caldav
check "node has a version" test -n "$(jget .version)"

expect_status POST "$API/login" 401 "${J[@]}" --data-binary '{"user": "alice", "password": "nope"}'
expect_problem 401
wrong_detail=$(jget .detail)
expect_status POST "$API/login" 401 "${J[@]}" --data-binary '{"user": "nosuchuser", "password": "nope"}'
# an unknown name and a wrong password read the same: nothing learnt about names
expect_eq "$(jget .detail)" "$wrong_detail" "unknown user and wrong password give the same answer"
expect_status POST "$API/login" 400 "${J[@]}" --data-binary '{"user": "alice"}'
expect_status POST "$API/login" 400 "${J[@]}" --data-binary '{"user": 5, "password": "x"}'

TA=$(mg_login alice "$ALICE_PW")
AA=(-H "Authorization: Bearer $TA")
expect_json .token_type Bearer
expect_json .expires_in 43200
TB=$(mg_login bob "$BOB_PW")
AB=(-H "Authorization: Bearer $TB")

expect_status GET "$API/me" 200 "${AA[@]}"
expect_json .user alice
expect_json .admin true
expect_json .mail_address alice@meshgate
# made by `meshgate user add`: the account has its mail key pair
check "CLI-made account has a public key" grep -qE '"public_key":"[0-9a-f]{64}"' "$LAST_BODY_FILE"
expect_header ETag '^"[0-9a-f]{64}"$'
me_etag=$(header_value ETag)
expect_status GET "$API/me" 304 "${AA[@]}" -H "If-None-Match: $me_etag"
expect_status GET "$API/me" 200 "${AB[@]}"
expect_json .user bob
expect_json .admin false

# ---- administration is for administrators -----------------------------------------

for path in admin/settings admin/invites; do
    expect_status GET "$API/$path" 403 "${AB[@]}"
    expect_problem 403
done
expect_status PUT "$API/admin/settings" 403 "${AB[@]}" "${J[@]}" --data-binary '{"signup": "open"}'
expect_status POST "$API/admin/invites" 403 "${AB[@]}"

# the operator's view of the cluster: a single node is a cluster of one
expect_status GET "$API/cluster" 403 "${AB[@]}"
expect_problem 403
expect_status GET "$API/cluster" 200 "${AA[@]}"
expect_json .clustered false
expect_json '.members | length' 1
expect_json '.members[0].state' alive

# ---- sign-up: closed, then by invitation, then open ----------------------------------

expect_status POST "$API/signup" 403 "${J[@]}" --data-binary '{"user": "carol", "password": "carol-Secret-3"}'
closed_detail=$(jget .detail)
expect_status POST "$API/signup" 403 "${J[@]}" --data-binary '{"user": "bob", "password": "whatever-123"}'
expect_eq "$(jget .detail)" "$closed_detail" "a closed node says the same for taken and free names"

expect_status GET "$API/admin/settings" 200 "${AA[@]}"
expect_json .signup closed
expect_json .token_ttl 43200
s_etag=$(header_value ETag)
expect_status PUT "$API/admin/settings" 412 "${AA[@]}" "${J[@]}" -H 'If-Match: "0000"' \
    --data-binary '{"signup": "invite"}'
expect_problem 412
expect_status PUT "$API/admin/settings" 400 "${AA[@]}" "${J[@]}" --data-binary '{"signup": "sometimes"}'
expect_status PUT "$API/admin/settings" 400 "${AA[@]}" "${J[@]}" --data-binary '{"token_ttl": 5}'
expect_status PUT "$API/admin/settings" 200 "${AA[@]}" "${J[@]}" -H "If-Match: $s_etag" \
    --data-binary '{"signup": "invite"}'
expect_json .signup invite
s_etag2=$(header_value ETag)
check "settings ETag changed" test "$s_etag2" != "$s_etag"
expect_status PUT "$API/admin/settings" 412 "${AA[@]}" "${J[@]}" -H "If-Match: $s_etag" \
    --data-binary '{"signup": "open"}'
expect_status GET "$API/node" 200
expect_json .signup invite

expect_status POST "$API/signup" 403 "${J[@]}" --data-binary '{"user": "carol", "password": "carol-Secret-3"}'
expect_body_contains invite
expect_status POST "$API/signup" 403 "${J[@]}" \
    --data-binary '{"user": "carol", "password": "carol-Secret-3", "invite": "inv-made-up"}'
expect_status POST "$API/admin/invites" 201 "${AA[@]}" "${J[@]}" --data-binary '{"uses": 1, "note": "for carol"}'
code=$(jget .code)
expect_json .uses 1
expect_json .created_by alice
expect_header Location '/api/v1/admin/invites/[0-9a-f]{32}$'
check "invite code shape" grep -qE '^inv-[0-9a-f]{32}$' <<<"$code"
# the store keeps only a hash of the code
check "the invite code is not stored in the clear" \
    test "$(cat "$MG_DATA"/store.db* | grep -a -c -F "$code" || true)" = 0
expect_status POST "$API/signup" 400 "${J[@]}" \
    --data-binary "{\"user\": \"Carol!\", \"password\": \"carol-Secret-3\", \"invite\": \"$code\"}"
expect_status POST "$API/signup" 400 "${J[@]}" \
    --data-binary "{\"user\": \"carol\", \"password\": \"short\", \"invite\": \"$code\"}"
expect_status POST "$API/signup" 201 "${J[@]}" \
    --data-binary "{\"user\": \"carol\", \"password\": \"carol-Secret-3\", \"invite\": \"$code\"}"
expect_header Location '/api/v1/me$'
TC=$(jget .token)
AC=(-H "Authorization: Bearer $TC")
expect_status GET "$API/me" 200 "${AC[@]}"
expect_json .user carol
check "signed-up account has a public key" grep -qE '"public_key":"[0-9a-f]{64}"' "$LAST_BODY_FILE"
# the code is used up
expect_status POST "$API/signup" 403 "${J[@]}" \
    --data-binary "{\"user\": \"carol2\", \"password\": \"carol-Secret-3\", \"invite\": \"$code\"}"
# a name that is taken gives the use back
expect_status POST "$API/admin/invites" 201 "${AA[@]}"
code2=$(jget .code)
expect_status POST "$API/signup" 409 "${J[@]}" \
    --data-binary "{\"user\": \"bob\", \"password\": \"bob-Other-99\", \"invite\": \"$code2\"}"
expect_status POST "$API/signup" 201 "${J[@]}" \
    --data-binary "{\"user\": \"erin\", \"password\": \"erin-Secret-5\", \"invite\": \"$code2\"}"

# invites: paging with cursors, If-Match, delete
for i in 1 2 3; do
    expect_status POST "$API/admin/invites" 201 "${AA[@]}" "${J[@]}" \
        --data-binary "{\"uses\": $i, \"expires_in\": 0, \"note\": \"batch $i\"}"
done
expect_json .expires_at null
last_invite=$(jget .id)
last_etag=$(header_value ETag)
seen_ids=""
url="$API/admin/invites?limit=2"
pages=0
while [[ -n "$url" ]] && ((pages < 10)); do
    expect_status GET "$url" 200 "${AA[@]}"
    pages=$((pages + 1))
    check "a page holds at most 2 invites" test "$(jget '.items | length')" -le 2
    seen_ids+=" $(jget '.items[].id' | tr '\n' ' ')"
    next=$(jget .next)
    url=""
    [[ "$next" != null && -n "$next" ]] && url="$API/admin/invites?limit=2&cursor=$next"
done
n_ids=$(wc -w <<<"$seen_ids")
n_unique=$(tr ' ' '\n' <<<"$seen_ids" | sed '/^$/d' | sort -u | wc -l)
expect_eq "$n_ids" 3 "paging lists the 3 live invites (used ones are gone)"
expect_eq "$n_unique" "$n_ids" "no invite listed twice"
check "three invites take two pages" test "$pages" = 2
expect_status GET "$API/admin/invites?cursor=garbage" 400 "${AA[@]}"
expect_status GET "$API/admin/invites?limit=0" 400 "${AA[@]}"
expect_status DELETE "$API/admin/invites/$last_invite" 412 "${AA[@]}" -H 'If-Match: "abc"'
expect_status DELETE "$API/admin/invites/$last_invite" 204 "${AA[@]}" -H "If-Match: $last_etag"
expect_status DELETE "$API/admin/invites/$last_invite" 404 "${AA[@]}"
expect_status DELETE "$API/admin/invites/not-hex" 404 "${AA[@]}"

# open sign-up
expect_status GET "$API/admin/settings" 200 "${AA[@]}"
expect_status PUT "$API/admin/settings" 200 "${AA[@]}" "${J[@]}" -H "If-Match: $(header_value ETag)" \
    --data-binary '{"signup": "open", "token_ttl": 3600}'
expect_status POST "$API/signup" 201 "${J[@]}" --data-binary '{"user": "dave", "password": "dave-Secret-4"}'
expect_json .expires_in 3600
expect_status POST "$API/signup" 409 "${J[@]}" --data-binary '{"user": "dave", "password": "dave-Secret-4"}'
expect_problem 409

# ---- logout ------------------------------------------------------------------------

T1=$(mg_login dave dave-Secret-4)
T2=$(mg_login dave dave-Secret-4)
expect_status POST "$API/logout" 204 -H "Authorization: Bearer $T1"
expect_status GET "$API/me" 401 -H "Authorization: Bearer $T1"
expect_body_contains revoked
expect_status GET "$API/me" 200 -H "Authorization: Bearer $T2"

# ---- the portal's session: HttpOnly cookie + CSRF token ----------------------------------

expect_status POST "$API/login" 400 "${J[@]}" \
    --data-binary '{"user": "dave", "password": "dave-Secret-4", "session": "jar"}'
expect_problem 400
expect_status POST "$API/login" 200 "${J[@]}" \
    --data-binary '{"user": "dave", "password": "dave-Secret-4", "session": "cookie"}'
expect_header Set-Cookie '^mg_session=mg1\.[^;]+; Path=/api/v1/; Max-Age=[0-9]+; HttpOnly; SameSite=Strict$'
expect_json .token_type cookie
expect_json '.token // "none"' none
CSRF=$(jget .csrf_token)
check "login with a cookie session gives a CSRF token" test "${#CSRF}" == 32
COOKIE=$(header_value Set-Cookie | sed 's/;.*//')
CK=(-H "Cookie: other=1; $COOKIE")
expect_status GET "$API/me" 200 "${CK[@]}"
expect_json .user dave
expect_json .session.csrf_token "$CSRF"
expect_status GET "$API/me" 200 -H "Authorization: Bearer $T2"
expect_json '.session.csrf_token // "none"' none
# a change made with the cookie alone (what another site could make a browser send): refused
expect_status POST "$API/mail/mailboxes" 403 "${CK[@]}" "${J[@]}" --data-binary '{"name": "Forged"}'
expect_problem 403
expect_body_contains X-CSRF-Token
expect_status POST "$API/mail/mailboxes" 403 "${CK[@]}" "${J[@]}" -H "X-CSRF-Token: ${CSRF//[0-9a-f]/0}" \
    --data-binary '{"name": "Forged"}'
expect_status POST "$API/mail/mailboxes" 403 "${CK[@]}" "${J[@]}" -H "X-CSRF-Token: $CSRF"0 \
    --data-binary '{"name": "Forged"}'
expect_status POST "$API/mail/mailboxes" 201 "${CK[@]}" "${J[@]}" -H "X-CSRF-Token: $CSRF" \
    --data-binary '{"name": "Cookie made"}'
# another session's CSRF token does not fit this cookie
mg_request POST "$API/login" "${J[@]}" \
    --data-binary '{"user": "dave", "password": "dave-Secret-4", "session": "cookie"}'
OTHER_CSRF=$(jget .csrf_token)
check "each cookie session has its own CSRF token" test "$OTHER_CSRF" != "$CSRF"
expect_status POST "$API/mail/mailboxes" 403 "${CK[@]}" "${J[@]}" -H "X-CSRF-Token: $OTHER_CSRF" \
    --data-binary '{"name": "Forged"}'
# a bearer token needs no CSRF token, and an Authorization header wins over the cookie
expect_status POST "$API/mail/mailboxes" 201 -H "Authorization: Bearer $T2" "${CK[@]}" "${J[@]}" \
    --data-binary '{"name": "Bearer made"}'
expect_status POST "$API/logout" 204 "${CK[@]}" -H "X-CSRF-Token: $CSRF"
expect_header Set-Cookie '^mg_session=; Path=/api/v1/; Max-Age=0; HttpOnly; SameSite=Strict$'
expect_status GET "$API/me" 401 "${CK[@]}"
expect_body_contains revoked

# ---- password change keeps the mail key ------------------------------------------------

expect_status POST "$API/mail/send" 201 "${AA[@]}" "${J[@]}" \
    --data-binary '{"to": "carol", "subject": "before the change", "text": "still readable?"}'
expect_status GET "$API/me" 200 "${AC[@]}"
c_etag=$(header_value ETag)
c_pk=$(jget .public_key)
expect_status POST "$API/me/password" 403 "${AC[@]}" "${J[@]}" \
    --data-binary '{"current_password": "wrong-one", "new_password": "carol-New-Secret"}'
expect_status POST "$API/me/password" 400 "${AC[@]}" "${J[@]}" \
    --data-binary '{"current_password": "carol-Secret-3", "new_password": "short"}'
expect_status POST "$API/me/password" 412 "${AC[@]}" "${J[@]}" -H 'If-Match: "stale"' \
    --data-binary '{"current_password": "carol-Secret-3", "new_password": "carol-New-Secret"}'
TC_OTHER=$(mg_login carol carol-Secret-3)
expect_status POST "$API/me/password" 200 "${AC[@]}" "${J[@]}" -H "If-Match: $c_etag" \
    --data-binary '{"current_password": "carol-Secret-3", "new_password": "carol-New-Secret"}'
TC_NEW=$(jget .token)
expect_status GET "$API/me" 401 "${AC[@]}"
expect_status GET "$API/me" 401 -H "Authorization: Bearer $TC_OTHER"
expect_status GET "$API/me" 200 -H "Authorization: Bearer $TC_NEW"
expect_json .public_key "$c_pk"
expect_status POST "$API/login" 401 "${J[@]}" --data-binary '{"user": "carol", "password": "carol-Secret-3"}'
TC=$(mg_login carol carol-New-Secret)
AC=(-H "Authorization: Bearer $TC")
expect_status GET "$API/mail/mailboxes/Inbox/messages" 200 "${AC[@]}"
expect_json '.items[0].subject' "before the change"
expect_json '.items[0].readable' true
mid=$(jget '.items[0].id')
expect_status GET "$API/mail/mailboxes/Inbox/messages/$mid" 200 "${AC[@]}"
expect_json .text "still readable?"

# ---- an administrator's reset (CLI): sessions end, the old key is gone -------------------

expect_status POST "$API/mail/send" 201 "${AA[@]}" "${J[@]}" \
    --data-binary '{"to": "bob", "subject": "before the reset", "text": "sealed to the old key"}'
out=$(printf 'bob-Reset-77\n' | "$MG_BIN" user passwd bob --data "$MG_DATA" 2>&1) && rc=0 || rc=$?
expect_eq "$rc" 0 "meshgate user passwd bob while the server runs ($out)"
expect_status GET "$API/me" 401 "${AB[@]}"
TB=$(mg_login bob bob-Reset-77)
AB=(-H "Authorization: Bearer $TB")
expect_status GET "$API/mail/mailboxes/Inbox/messages" 200 "${AB[@]}"
expect_json '.items[0].readable' false
mid=$(jget '.items[0].id')
expect_status GET "$API/mail/mailboxes/Inbox/messages/$mid" 409 "${AB[@]}"
expect_body_contains "reset"
expect_status POST "$API/mail/send" 201 "${AA[@]}" "${J[@]}" \
    --data-binary '{"to": "bob", "subject": "after the reset", "text": "new key"}'
expect_status GET "$API/mail/mailboxes/Inbox/messages" 200 "${AB[@]}"
expect_json '.items[0].subject' "after the reset"

# ---- account deletion takes all the account's data ----------------------------------------

TD=$(mg_login dave dave-Secret-4)
AD=(-H "Authorization: Bearer $TD")
expect_status POST "$API/mail/mailboxes" 201 "${AD[@]}" "${J[@]}" --data-binary '{"name": "Keep"}'
expect_status POST "$API/mail/send" 201 "${AA[@]}" "${J[@]}" \
    --data-binary '{"to": "dave", "subject": "for dave", "text": "x"}'
expect_status POST "$API/mail/send" 201 "${AD[@]}" "${J[@]}" \
    --data-binary '{"to": "alice", "subject": "from dave", "text": "y"}'
expect_status PUT "$MG_BASE/dav/files/dave/note.txt" '201|204' -u dave:dave-Secret-4 \
    --data-binary 'dave-dav-file'
expect_status MKCOL "$MG_BASE/dav/files/dave/folder/" 201 -u dave:dave-Secret-4
expect_status PUT "$MG_BASE/dav/files/dave/folder/deep.txt" '201|204' -u dave:dave-Secret-4 \
    --data-binary 'deep'
expect_status GET "$API/me" 200 "${AD[@]}"
d_etag=$(header_value ETag)
expect_status DELETE "$API/me" 400 "${AD[@]}"
expect_status DELETE "$API/me" 403 "${AD[@]}" "${J[@]}" --data-binary '{"password": "wrong"}'
expect_status DELETE "$API/me" 412 "${AD[@]}" "${J[@]}" -H 'If-Match: "old"' \
    --data-binary '{"password": "dave-Secret-4"}'
expect_status DELETE "$API/me" 204 "${AD[@]}" "${J[@]}" -H "If-Match: $d_etag" \
    --data-binary '{"password": "dave-Secret-4"}'
expect_status GET "$API/me" 401 "${AD[@]}"
expect_status POST "$API/login" 401 "${J[@]}" --data-binary '{"user": "dave", "password": "dave-Secret-4"}'
# the file is gone at once; Basic auth's cache notices the account is gone within seconds
expect_status GET "$MG_BASE/dav/files/dave/note.txt" '401|404' -u dave:dave-Secret-4
deadline=$(($(now_ms) + 10000))
while (($(now_ms) < deadline)); do
    mg_request GET "$MG_BASE/dav/files/dave/note.txt" -u dave:dave-Secret-4
    [[ "$LAST_STATUS" == 401 ]] && break
    sleep 0.2
done
expect_eq "$LAST_STATUS" 401 "DAV refuses the deleted account's password"
# a new account of the same name starts empty
expect_status POST "$API/signup" 201 "${J[@]}" --data-binary '{"user": "dave", "password": "dave-Again-44"}'
TD=$(jget .token)
AD=(-H "Authorization: Bearer $TD")
expect_status GET "$API/mail/mailboxes" 200 "${AD[@]}"
expect_json '[.items[].total] | add' 0
expect_json '[.items[].name] | index("Keep")' null
expect_status GET "$MG_BASE/dav/files/dave/note.txt" 404 -u dave:dave-Again-44
expect_status GET "$MG_BASE/dav/files/dave/folder/deep.txt" 404 -u dave:dave-Again-44
# alice keeps what dave sent her
expect_status GET "$API/mail/search?from=dave" 200 "${AA[@]}"
expect_json '.items | length' 1

# ---- lock-out after failed logins (last: it locks this address for a while) -----------------

status=""
for ((i = 1; i <= MAX_FAILURES + 2; i++)); do
    mg_request POST "$API/login" "${J[@]}" --data-binary '{"user": "erin", "password": "guess"}'
    status=$LAST_STATUS
    [[ "$status" == 429 ]] && break
done
expect_eq "$status" 429 "failed logins end in 429"
check "locked out within $MAX_FAILURES failures (after $((i - 1)))" test "$i" -le $((MAX_FAILURES + 1))
expect_header Retry-After "^$LOCKOUT\$"
expect_problem 429
expect_status POST "$API/login" 429 "${J[@]}" --data-binary '{"user": "erin", "password": "erin-Secret-5"}'
# a session that exists goes on
expect_status GET "$API/me" 200 "${AA[@]}"
deadline=$(($(now_ms) + (LOCKOUT + 10) * 1000))
while (($(now_ms) < deadline)); do
    mg_request POST "$API/login" "${J[@]}" --data-binary '{"user": "erin", "password": "erin-Secret-5"}'
    [[ "$LAST_STATUS" == 200 ]] && break
    sleep 0.25
done
expect_eq "$LAST_STATUS" 200 "login works again after the lock-out"

expect_alive "accounts"
mg_finish
