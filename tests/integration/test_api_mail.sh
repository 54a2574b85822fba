#!/usr/bin/env bash
# test_api_mail.sh - the encrypted mail system over REST: sending to several
# local users with attachments, Cc and Bcc, per-recipient delivery status,
# reading (parsed JSON, raw .eml, attachments), flags, move, delete, mailboxes
# of one's own, drafts and imports, paging with cursors, search by sender and
# subject - and that nothing readable reaches the disk: after sending, the
# store's files (store.db and its WAL) hold neither subject, body, attachment
# nor recipient list. Then the authorization matrix: one user can neither read
# nor change anything of another's, and learns nothing about it beyond what
# addressing mail needs.
#
#   bash tests/integration/test_api_mail.sh /path/to/meshgate
source "$(dirname "$0")/lib.sh"
mg_init "$@"
require_cmd jq
mg_add_user alice "$ALICE_PW"
mg_add_user bob "$BOB_PW"
mg_add_user carol 'carol-Secret-3'
mg_add_user dave 'dave-Secret-4'
mg_start
API="$MG_BASE/api/v1"
MB="$API/mail/mailboxes"
J=(-H 'Content-Type: application/json')
W="$MG_TMP/work"
mkdir -p "$W"

# ---- helpers -------------------------------------------------------------------

# on_disk WORD: how many times WORD occurs in the store's files.
on_disk() {
    local n=0 f c
    for f in "$MG_DATA"/store.db "$MG_DATA"/store.db-wal; do
        [[ -f "$f" ]] || continue
        c=$({ grep -a -o -F -- "$1" "$f" || true; } | wc -l)
        n=$((n + c))
    done
    echo "$n"
}

TA=$(mg_login alice "$ALICE_PW")
TB=$(mg_login bob "$BOB_PW")
TC=$(mg_login carol carol-Secret-3)
TD=$(mg_login dave dave-Secret-4)
AA=(-H "Authorization: Bearer $TA")
AB=(-H "Authorization: Bearer $TB")
AC=(-H "Authorization: Bearer $TC")
AD=(-H "Authorization: Bearer $TD")

# ---- sending ---------------------------------------------------------------------

SUBJECT="Quarterly-Zebra-Report-$RANDOM$RANDOM"
BODY="The purple lighthouse keeper $RANDOM$RANDOM says hello"
ATT_TEXT="attachment-payload-$RANDOM$RANDOM"
head -c 300000 /dev/urandom >"$W/photo.bin"
printf '%s\n' "$ATT_TEXT" >"$W/notes.txt"
base64 -w0 "$W/notes.txt" >"$W/notes.b64"
base64 -w0 "$W/photo.bin" >"$W/photo.b64"
jq -n --arg s "$SUBJECT" --arg b "$BODY" --rawfile a1 "$W/notes.b64" --rawfile a2 "$W/photo.b64" \
    '{to: ["bob", "carol@meshgate", "nosuchuser"], cc: "alice", bcc: ["dave"], subject: $s,
      text: $b, attachments: [{filename: "notes.txt", content_type: "text/plain", data: $a1},
                              {filename: "Photo é.bin", content_type: "image/x-test", data: $a2}]}' \
    >"$W/send.json"
expect_status POST "$API/mail/send" 201 "${AA[@]}" "${J[@]}" --data-binary "@$W/send.json"
expect_header Location '/api/v1/mail/mailboxes/Sent/messages/[0-9a-f]{20}$'
SENT_ID=$(jget .id)
expect_json .mailbox Sent
expect_json '[.delivery[] | select(.to == "bob@meshgate")][0].status' delivered
expect_json '[.delivery[] | select(.to == "carol@meshgate")][0].status' delivered
expect_json '[.delivery[] | select(.to == "alice@meshgate")][0].status' delivered
expect_json '[.delivery[] | select(.to == "dave@meshgate")][0].status' delivered
expect_json '[.delivery[] | select(.to == "nosuchuser@meshgate")][0].status' failed
expect_json '[.delivery[] | select(.to == "nosuchuser@meshgate")][0].reason' "no such user"
expect_json '.delivery | length' 5

# refused before anything is sent
expect_status POST "$API/mail/send" 400 "${AA[@]}" "${J[@]}" --data-binary '{"subject": "nobody"}'
expect_status POST "$API/mail/send" 400 "${AA[@]}" "${J[@]}" --data-binary '{"to": "bob@example.org"}'
expect_status POST "$API/mail/send" 400 "${AA[@]}" "${J[@]}" --data-binary '{"to": "bob\r\nBcc: x"}'
expect_status POST "$API/mail/send" 400 "${AA[@]}" "${J[@]}" --data-binary '{"to": ["bob", 7]}'
expect_status POST "$API/mail/send" 400 "${AA[@]}" "${J[@]}" \
    --data-binary '{"to": "bob", "attachments": [{"filename": "x", "data": "***"}]}'
expect_status POST "$API/mail/send" 400 "${AA[@]}" "${J[@]}" \
    --data-binary "{\"to\": [$(for i in $(seq 101); do printf '"u%d",' "$i"; done)\"bob\"]}"
expect_status POST "$API/mail/send" 400 "${AA[@]}" "${J[@]}" --data-binary '{"to": "bob", "colour": "red"}'

# ---- nothing readable on disk -------------------------------------------------------

for word in "$SUBJECT" "$BODY" "$ATT_TEXT" "purple lighthouse" "notes.txt" "nosuchuser"; do
    expect_eq "$(on_disk "$word")" 0 "store.db and its WAL do not contain '$word'"
done
# the photo's bytes are not on disk either (a 64-byte piece of it)
head -c 64 "$W/photo.bin" | od -An -tx1 | tr -d ' \n' >"$W/probe.hex"
probe_hits=0
for f in "$MG_DATA"/store.db "$MG_DATA"/store.db-wal; do
    [[ -f "$f" ]] || continue
    c=$(od -An -tx1 -v "$f" | tr -d ' \n' | { grep -c -F -f "$W/probe.hex" || true; })
    probe_hits=$((probe_hits + c))
done
expect_eq "$probe_hits" 0 "the attachment's bytes are not on disk"
# the check above means something: a DAV file's content is on disk in the clear
printf 'PLAINTEXT-CONTROL-%s\n' "$RANDOM$RANDOM" >"$W/control.txt"
expect_status PUT "$MG_BASE/dav/files/alice/control.txt" '201|204' "${ALICE[@]}" \
    --data-binary "@$W/control.txt"
check "control: a DAV file's text is found on disk by the same grep" \
    test "$(on_disk "$(cat "$W/control.txt")")" -ge 1

# ---- reading ------------------------------------------------------------------------

expect_status GET "$MB" 200 "${AB[@]}"
expect_json '[.items[] | select(.name == "Inbox")][0].unread' 1
expect_json '[.items[] | select(.name == "Inbox")][0].total' 1
expect_json '[.items[].name] | join(",")' "Inbox,Sent,Drafts,Trash,Archive"
expect_status GET "$MB/Inbox/messages" 200 "${AB[@]}"
expect_json '.items | length' 1
expect_json .next null
expect_json '.items[0].subject' "$SUBJECT"
expect_json '.items[0].from' alice@meshgate
expect_json '.items[0].flags.seen' false
expect_json '.items[0].attachments | length' 2
expect_json '.items[0].bcc' null
BID=$(jget '.items[0].id')
expect_status GET "$MB/Inbox/messages/$BID" 200 "${AB[@]}"
expect_json .subject "$SUBJECT"
expect_json .text "$BODY"
expect_json '.to | join(",")' "bob@meshgate,carol@meshgate,nosuchuser@meshgate"
expect_json '.cc | join(",")' "alice@meshgate"
expect_json '.attachments[1].filename' "Photo é.bin"
expect_json '.attachments[1].content_type' image/x-test
expect_json '.attachments[1].size' 300000
expect_json .delivery null
expect_body_not_contains dave "Bcc recipients in bob's copy"
expect_header ETag '^"[0-9a-f]{64}"$'
b_etag=$(header_value ETag)
expect_status GET "$MB/Inbox/messages/$BID" 304 "${AB[@]}" -H "If-None-Match: $b_etag"

expect_status GET "$MB/Inbox/messages/$BID/attachments/1" 200 "${AB[@]}"
expect_body_file "$W/photo.bin"
expect_header Content-Type '^image/x-test'
expect_header Content-Disposition '^attachment; filename\*=UTF-8'"''"'Photo%20%C3%A9\.bin$'
expect_header X-Content-Type-Options nosniff
expect_status GET "$MB/Inbox/messages/$BID/attachments/0" 200 "${AB[@]}"
expect_body_file "$W/notes.txt"
expect_status GET "$MB/Inbox/messages/$BID/attachments/2" 404 "${AB[@]}"
expect_status GET "$MB/Inbox/messages/$BID/attachments/x" 404 "${AB[@]}"

expect_status GET "$MB/Inbox/messages/$BID/raw" 200 "${AB[@]}"
expect_header Content-Type '^message/rfc822'
expect_header Content-Disposition "filename=\"$BID.eml\""
expect_body_contains "Subject: $SUBJECT"
expect_body_contains "From: alice@meshgate"
expect_body_contains "MIME-Version: 1.0"
cp "$LAST_BODY_FILE" "$W/bob.eml"

# the copies of carol, alice (Cc) and dave (Bcc); alice's Sent has the statuses and Bcc
expect_status GET "$MB/Inbox/messages" 200 "${AC[@]}"
expect_json '.items[0].subject' "$SUBJECT"
expect_status GET "$MB/Inbox/messages" 200 "${AD[@]}"
expect_json '.items[0].subject' "$SUBJECT"
expect_status GET "$MB/Sent/messages/$SENT_ID" 200 "${AA[@]}"
expect_json .flags.seen true
expect_json '.bcc | join(",")' dave@meshgate
expect_json '[.delivery[] | select(.status == "delivered")] | length' 4

# ---- flags, move, delete (ETags and If-Match) -------------------------------------------

expect_status PATCH "$MB/Inbox/messages/$BID" 200 "${AB[@]}" "${J[@]}" -H "If-Match: $b_etag" \
    --data-binary '{"flags": {"seen": true, "flagged": true}}'
expect_json .flags.seen true
expect_json .flags.flagged true
expect_json .flags.answered false
b_etag2=$(header_value ETag)
check "the ETag changes with the flags" test "$b_etag2" != "$b_etag"
expect_status PATCH "$MB/Inbox/messages/$BID" 412 "${AB[@]}" "${J[@]}" -H "If-Match: $b_etag" \
    --data-binary '{"flags": {"seen": false}}'
expect_status PATCH "$MB/Inbox/messages/$BID" 400 "${AB[@]}" "${J[@]}" --data-binary '{"flags": {"read": true}}'
expect_status PATCH "$MB/Inbox/messages/$BID" 400 "${AB[@]}" "${J[@]}" --data-binary '{"flags": {"seen": 1}}'
expect_status PATCH "$MB/Inbox/messages/$BID" 400 "${AB[@]}" "${J[@]}" --data-binary '{"seen": true}'
expect_status GET "$MB/Inbox" 200 "${AB[@]}"
expect_json .unread 0
expect_status PATCH "$MB/Inbox/messages/$BID" 200 "${AB[@]}" "${J[@]}" --data-binary '{"flags": {"answered": true}}'
expect_json .flags.seen true
b_etag3=$(header_value ETag)

expect_status POST "$MB/Inbox/messages/$BID/move" 412 "${AB[@]}" "${J[@]}" -H "If-Match: $b_etag" \
    --data-binary '{"mailbox": "Archive"}'
expect_status POST "$MB/Inbox/messages/$BID/move" 422 "${AB[@]}" "${J[@]}" --data-binary '{"mailbox": "Nowhere"}'
expect_status POST "$MB/Inbox/messages/$BID/move" 409 "${AB[@]}" "${J[@]}" --data-binary '{"mailbox": "Inbox"}'
expect_status POST "$MB/Inbox/messages/$BID/move" 200 "${AB[@]}" "${J[@]}" -H "If-Match: $b_etag3" \
    --data-binary '{"mailbox": "Archive"}'
expect_header Location "/api/v1/mail/mailboxes/Archive/messages/$BID\$"
expect_json .mailbox Archive
expect_status GET "$MB/Inbox/messages/$BID" 404 "${AB[@]}"
expect_status GET "$MB/Archive/messages/$BID" 200 "${AB[@]}"
expect_json .flags.answered true
a_etag=$(header_value ETag)
expect_status DELETE "$MB/Archive/messages/$BID" 412 "${AB[@]}" -H 'If-Match: "nope"'
expect_status DELETE "$MB/Archive/messages/$BID" 204 "${AB[@]}" -H "If-Match: $a_etag"
expect_status DELETE "$MB/Archive/messages/$BID" 404 "${AB[@]}"
expect_status GET "$MB/Archive/messages/$BID/raw" 404 "${AB[@]}"

# ---- mailboxes of one's own -------------------------------------------------------------

expect_status POST "$MB" 201 "${AB[@]}" "${J[@]}" --data-binary '{"name": "Projects"}'
expect_header Location '/api/v1/mail/mailboxes/Projects$'
p_etag=$(header_value ETag)
expect_status POST "$MB" 409 "${AB[@]}" "${J[@]}" --data-binary '{"name": "Projects"}'
expect_status POST "$MB" 409 "${AB[@]}" "${J[@]}" --data-binary '{"name": "inbox"}'
expect_status POST "$MB" 400 "${AB[@]}" "${J[@]}" --data-binary '{"name": "a/b"}'
expect_status POST "$MB" 400 "${AB[@]}" "${J[@]}" --data-binary '{"name": ""}'
expect_status POST "$MB" 400 "${AB[@]}" "${J[@]}" --data-binary '{"name": " padded"}'
expect_status POST "$MB" 201 "${AB[@]}" "${J[@]}" --data-binary '{"name": "Reisen é 2025"}'
expect_status GET "$MB/Reisen%20%C3%A9%202025" 200 "${AB[@]}"
expect_json .name "Reisen é 2025"
expect_json .system false
expect_status GET "$MB" 200 "${AB[@]}"
expect_json '[.items[].name] | join(",")' "Inbox,Sent,Drafts,Trash,Archive,Projects,Reisen é 2025"
expect_status GET "$MB/Nope" 404 "${AB[@]}"
expect_status DELETE "$MB/Inbox" 409 "${AB[@]}"

# ---- drafts and imports ---------------------------------------------------------------------

expect_status POST "$MB/Drafts/messages" 201 "${AB[@]}" "${J[@]}" \
    --data-binary '{"to": ["someone@example.org", "carol"], "subject": "draft one", "text": "unfinished"}'
DRAFT=$(jget .id)
expect_json .flags.seen true
expect_json '.to | join(",")' "someone@example.org,carol@meshgate"
expect_status GET "$MB/Drafts/messages/$DRAFT" 200 "${AB[@]}"
expect_json .text unfinished
expect_json .from bob@meshgate
expect_status GET "$MB/Inbox/messages" 200 "${AC[@]}"
expect_json '[.items[] | select(.subject == "draft one")] | length' 0
expect_status POST "$MB/Projects/messages" 201 "${AB[@]}" -H 'Content-Type: message/rfc822' \
    --data-binary "@$W/bob.eml"
expect_json .flags.seen false
expect_json .subject "$SUBJECT"
IMPORTED=$(jget .id)
expect_status GET "$MB/Projects/messages/$IMPORTED/raw" 200 "${AB[@]}"
expect_body_file "$W/bob.eml"
expect_status POST "$MB/Projects/messages" 400 "${AB[@]}" -H 'Content-Type: message/rfc822' \
    --data-binary 'just some words, no headers'
expect_status DELETE "$MB/Projects" 409 "${AB[@]}"
expect_body_contains "1 messages"
expect_status DELETE "$MB/Projects/messages/$IMPORTED" 204 "${AB[@]}"
expect_status DELETE "$MB/Projects" 412 "${AB[@]}" -H 'If-Match: "x"'
expect_status DELETE "$MB/Projects" 204 "${AB[@]}" -H "If-Match: $p_etag"
expect_status GET "$MB/Projects" 404 "${AB[@]}"

# ---- paging and search ---------------------------------------------------------------------

for i in 1 2 3 4 5 6 7; do
    expect_status POST "$API/mail/send" 201 "${AC[@]}" "${J[@]}" \
        --data-binary "{\"to\": \"bob\", \"subject\": \"page-$i of seven\", \"text\": \"n$i\"}"
done
url="$MB/Inbox/messages?limit=3"
all=""
pages=0
while [[ -n "$url" ]] && ((pages < 10)); do
    expect_status GET "$url" 200 "${AB[@]}"
    pages=$((pages + 1))
    all+="$(jget '.items[].subject' | tr '\n' '|')"
    next=$(jget .next)
    url=""
    if [[ "$next" != null && -n "$next" ]]; then
        url="$MB/Inbox/messages?limit=3&cursor=$next"
        expect_header Link '^</api/v1/mail/mailboxes/Inbox/messages\?limit=3&cursor=[^>]+>; rel="next"$'
    fi
done
expect_eq "$pages" 3 "7 messages in pages of 3"
expect_eq "$all" "page-7 of seven|page-6 of seven|page-5 of seven|page-4 of seven|page-3 of seven|page-2 of seven|page-1 of seven|" \
    "newest first, each once"
expect_status GET "$MB/Inbox/messages?limit=0" 400 "${AB[@]}"
expect_status GET "$MB/Inbox/messages?limit=201" 400 "${AB[@]}"
expect_status GET "$MB/Inbox/messages?cursor=bm9wZQ" 400 "${AB[@]}"
expect_status GET "$MB/Inbox/messages?limit=2" 200 "${AB[@]}"
cur=$(jget .next)
expect_status GET "$MB/Sent/messages?cursor=$cur" 400 "${AB[@]}"

expect_status GET "$API/mail/search?subject=PAGE-3" 200 "${AB[@]}"
expect_json '.items | length' 1
expect_json '.items[0].subject' "page-3 of seven"
expect_json '.items[0].mailbox' Inbox
expect_status GET "$API/mail/search?from=carol&limit=4" 200 "${AB[@]}"
expect_json '.items | length' 4
cur=$(jget .next)
expect_status GET "$API/mail/search?from=carol&limit=4&cursor=$cur" 200 "${AB[@]}"
expect_json '.items | length' 3
expect_status GET "$API/mail/search?from=carol&subject=seven&mailbox=Drafts" 200 "${AB[@]}"
expect_json '.items | length' 0
expect_status GET "$API/mail/search?subject=draft" 200 "${AB[@]}"
expect_json '.items[0].mailbox' Drafts
expect_status GET "$MB/Inbox/messages?from=nobody" 200 "${AB[@]}"
expect_json '.items | length' 0
expect_status GET "$API/mail/search" 400 "${AB[@]}"
expect_status GET "$API/mail/search?from=x&mailbox=Nope" 404 "${AB[@]}"

# ---- authorization: bob and alice stay apart ---------------------------------------------------

# Everything of a user is addressed through their own token: the same URLs with
# another token name the other user's own (empty) mailboxes. Alice's message
# ids get exactly the answer a made-up id gets.
FAKE=00000000000000000000
expect_status GET "$MB/Sent/messages/$FAKE" 404 "${AB[@]}"
fake_detail=$(jget .detail)
for m in GET DELETE; do
    expect_status "$m" "$MB/Sent/messages/$SENT_ID" 404 "${AB[@]}"
    expect_eq "$(jget .detail | sed "s/$SENT_ID/$FAKE/")" "$fake_detail" "$m of alice's id tells bob nothing more than a made-up id"
done
expect_status PATCH "$MB/Sent/messages/$SENT_ID" 404 "${AB[@]}" "${J[@]}" --data-binary '{"flags": {"seen": false}}'
expect_status POST "$MB/Sent/messages/$SENT_ID/move" 404 "${AB[@]}" "${J[@]}" --data-binary '{"mailbox": "Inbox"}'
expect_status GET "$MB/Sent/messages/$SENT_ID/raw" 404 "${AB[@]}"
expect_status GET "$MB/Sent/messages/$SENT_ID/attachments/0" 404 "${AB[@]}"
expect_status GET "$API/mail/search?subject=$SUBJECT" 200 "${AB[@]}"
expect_json '[.items[] | select(.mailbox == "Sent")] | length' 0
# alice's own mailbox is not bob's
expect_status POST "$MB" 201 "${AA[@]}" "${J[@]}" --data-binary '{"name": "AliceOnly"}'
expect_status GET "$MB/AliceOnly" 404 "${AB[@]}"
expect_status GET "$MB/AliceOnly/messages" 404 "${AB[@]}"
expect_status DELETE "$MB/AliceOnly" 404 "${AB[@]}"
expect_status GET "$MB/AliceOnly" 200 "${AA[@]}"
# alice's message untouched by all that
expect_status GET "$MB/Sent/messages/$SENT_ID" 200 "${AA[@]}"
expect_json .subject "$SUBJECT"
# what sending to alice tells bob: delivered, nothing else
expect_status POST "$API/mail/send" 201 "${AB[@]}" "${J[@]}" --data-binary '{"to": "alice", "subject": "hi", "text": "x"}'
expect_eq "$(jget '.delivery[0] | keys | join(",")')" "status,to" "bob learns only the status"
# no route lists users or shows another's account
expect_status GET "$API/users" 404 "${AB[@]}"
expect_status GET "$API/admin/invites" 403 "${AB[@]}"
# a token whose user name was changed is refused
tampered=$(printf '%s' "${TB#mg1.}" | tr -- '-_' '+/')
while ((${#tampered} % 4)); do tampered+="="; done
tampered="mg1.$(printf '%s' "$tampered" | base64 -d | sed 's/bob/eve/' | base64 -w0 | tr -- '+/' '-_' | tr -d '=')"
expect_status GET "$MB/Inbox/messages" 401 -H "Authorization: Bearer $tampered"
# bob's token does not open DAV files of alice either
expect_status GET "$MG_BASE/dav/files/alice/control.txt" '403|404' "${AB[@]}"

expect_alive "mail"
mg_finish
