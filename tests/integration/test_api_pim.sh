#!/usr/bin/env bash
# test_api_pim.sh - contacts and calendars over REST (/api/v1/addressbooks,
# /api/v1/calendars): every route on its happy path and its error matrix
# (wrong method, bad JSON, wrong content type, oversized body, missing and
# expired token), jCard and jCal bodies, ETags with If-Match / If-None-Match,
# paging, time-range queries with recurrence checked against a CalDAV
# calendar-query on the same data, UID conflicts, calendars that refuse a
# component type, WebDAV locks; then the authorization matrix: bob's
# collections and objects are invisible and unchangeable to alice (404, never
# 200 or 403), and nothing of bob's changed.
#
#   bash tests/integration/test_api_pim.sh /path/to/meshgate
source "$(dirname "$0")/lib.sh"
mg_init "$@"
require_cmd jq /usr/bin/python3
mg_add_standard_users
MAX_BODY=262144
mg_start --max-body "$MAX_BODY"
API="$MG_BASE/api/v1"
AB="$API/addressbooks/contacts/contacts"
EV="$API/calendars/personal/events"
J=(-H 'Content-Type: application/json')
XML=(-H 'Content-Type: application/xml; charset=utf-8')
FIX="$(cd "$(dirname "$0")" && pwd)/fixtures"
W="$MG_TMP/work"
mkdir -p "$W"

# ---- helpers -------------------------------------------------------------------

# the ids of the last listing, sorted, space-separated
ids() {
    jq -r '.items[].id' "$LAST_BODY_FILE" 2>/dev/null | sort | tr '\n' ' ' | sed 's/ $//'
}

# caldav_ids START END: the object names a CalDAV calendar-query with this
# VEVENT time-range returns for alice's personal calendar
caldav_ids() {
    mg_request REPORT "$MG_BASE/dav/calendars/alice/personal/" "${ALICE[@]}" "${XML[@]}" -H 'Depth: 1' \
        --data-binary "<?xml version=\"1.0\" encoding=\"utf-8\"?>
<C:calendar-query xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\">
 <D:prop><D:getetag/></D:prop>
 <C:filter><C:comp-filter name=\"VCALENDAR\"><C:comp-filter name=\"VEVENT\">
  <C:time-range start=\"$1\" end=\"$2\"/></C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"
    /usr/bin/python3 "$FIX/multistatus.py" "$LAST_BODY_FILE" hrefs 2>/dev/null |
        awk '{ n = $1; sub(/.*\//, "", n); print n }' | sort | tr '\n' ' ' | sed 's/ $//'
}

jcard() { # NAME UID: a jCard
    jq -cn --arg n "$1" --arg u "$2" '["vcard", [["version", {}, "text", "4.0"],
        ["fn", {}, "text", $n], ["n", {}, "text", [$n, "", "", "", ""]],
        ["email", {"type": "work"}, "text", "x@example.com"], ["uid", {}, "uri", $u]]]'
}

vevent() { # UID SUMMARY DTSTART-PROP [MORE PROPS JSON]: a jCal object with one VEVENT
    jq -cn --arg u "$1" --arg s "$2" --argjson d "$3" --argjson more "${4:-[]}" \
        '["vcalendar", [["version", {}, "text", "2.0"], ["prodid", {}, "text", "-//meshgate//test//EN"]],
          [["vevent", ([["uid", {}, "text", $u], ["dtstamp", {}, "date-time", "2026-01-01T00:00:00Z"],
                        $d, ["summary", {}, "text", $s]] + $more), []]]]'
}

TA=$(mg_login alice "$ALICE_PW")
TB=$(mg_login bob "$BOB_PW")
AA=(-H "Authorization: Bearer $TA")
BB=(-H "Authorization: Bearer $TB")
TX=$(mg_login alice "$ALICE_PW" 1) # expires in a second: used at the end

# ---- collections -----------------------------------------------------------------

expect_status GET "$API/addressbooks" 200 "${AA[@]}"
expect_json '.items | map(.id) | join(",")' contacts
expect_json '.items[0].displayname' Contacts
expect_json '.items[0].dav_url' /dav/addressbooks/alice/contacts/
expect_json '.items[0].sync_token | startswith("http://meshgate/sync/")' true
expect_json '.next' null
CTAG0=$(jget '.items[0].ctag')
expect_status GET "$API/calendars" 200 "${AA[@]}"
expect_json '.items | map(.id) | join(",")' personal
expect_json '.items[0].displayname' Personal
expect_json '.items[0].components | index("VEVENT") != null' true
expect_json '.items[0].dav_url' /dav/calendars/alice/personal/
expect_status HEAD "$API/calendars" 200 "${AA[@]}"
# a calendar made over CalDAV, taking only events
expect_status MKCALENDAR "$MG_BASE/dav/calendars/alice/office/" 201 "${ALICE[@]}" "${XML[@]}" --data-binary \
    '<?xml version="1.0" encoding="utf-8"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>Office</D:displayname><C:calendar-description>the job</C:calendar-description><C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>'
expect_status GET "$API/calendars" 200 "${AA[@]}"
expect_json '.items | map(.id) | join(",")' office,personal
expect_json '.items[0].displayname' Office
expect_json '.items[0].description' 'the job'
expect_json '.items[0].components | join(",")' VEVENT

# wrong methods: 405 with Allow
for m in POST PUT DELETE; do
    expect_status "$m" "$API/addressbooks" 405 "${AA[@]}"
    expect_problem 405 method-not-allowed
    expect_header Allow '^GET, HEAD, OPTIONS$'
    expect_status "$m" "$API/calendars" 405 "${AA[@]}"
done
expect_status OPTIONS "$AB" 204 "${AA[@]}"
expect_header Allow '^GET, HEAD, POST, OPTIONS$'

# ---- contacts: create -------------------------------------------------------------

expect_status POST "$AB" 201 "${AA[@]}" "${J[@]}" --data-binary "$(jcard 'Jane Doe' jane-1)"
expect_header Location "^/api/v1/addressbooks/contacts/contacts/jane-1\\.vcf$"
expect_header ETag '^"[0-9a-f]{32}"$'
expect_json .id jane-1.vcf
expect_eq "$(header_value ETag)" "$(jget .etag)" "POST contact: ETag header = body etag"
expect_json '.jcard[1] | map(select(.[0] == "fn"))[0][3]' 'Jane Doe'
JANE_ETAG=$(jget .etag)
# the media type of RFC 7095, and no UID: one is made
body=$(jq -cn '["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", "No Uid"]]]')
expect_status POST "$AB" 201 "${AA[@]}" -H 'Content-Type: application/vcard+json' --data-binary "$body"
NOUID=$(jget .id)
expect_json '.jcard[1] | map(select(.[0] == "uid"))[0][3] | test("^urn:uuid:[0-9a-f-]{36}$")' true
expect_eq "$(jget '.jcard[1] | map(select(.[0] == "uid"))[0][3]')" "urn:uuid:${NOUID%.vcf}" \
    "a made UID names the new contact"
# a UID that is no plain name gets a hashed one
expect_status POST "$AB" 201 "${AA[@]}" "${J[@]}" --data-binary "$(jcard 'Odd Uid' 'odd/uid with spaces')"
expect_json '.id | test("^[0-9a-f]{32}\\.vcf$")' true
ODD=$(jget .id)
# the same UID again: 409
expect_status POST "$AB" 409 "${AA[@]}" "${J[@]}" --data-binary "$(jcard 'Jane Again' jane-1)"
expect_problem 409 uid-conflict
expect_body_contains jane-1.vcf

# bodies that are refused
expect_status POST "$AB" 400 "${AA[@]}" "${J[@]}" --data-binary '["vcard", [['
expect_problem 400 malformed-json
expect_status POST "$AB" 400 "${AA[@]}" "${J[@]}" --data-binary '{"fn": "x"}'
expect_problem 400 bad-jcard
expect_status POST "$AB" 400 "${AA[@]}" "${J[@]}" --data-binary '"vcard"'
expect_problem 400 malformed-json
expect_status POST "$AB" 400 "${AA[@]}" "${J[@]}" \
    --data-binary '["vcard", [["version", {}, "text", "4.0"], ["n", {}, "text", ["x"]]]]'
expect_problem 400 bad-jcard
expect_body_contains "FN"
expect_status POST "$AB" 400 "${AA[@]}" "${J[@]}" \
    --data-binary '["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", "x"], ["end", {}, "text", "VCARD"]]]'
expect_problem 400 bad-jcard
expect_status POST "$AB" 400 "${AA[@]}" "${J[@]}"
expect_problem 400 body-required
expect_status POST "$AB" 415 "${AA[@]}" -H 'Content-Type: text/vcard' --data-binary "$(jcard X x-1)"
expect_problem 415 unsupported-media-type
expect_status POST "$AB" 415 "${AA[@]}" --data-binary "$(jcard X x-1)" # form-urlencoded
expect_problem 415 unsupported-media-type
head -c $((MAX_BODY + 10)) /dev/zero | tr '\0' 'a' >"$W/big"
expect_status POST "$AB" 413 "${AA[@]}" "${J[@]}" --data-binary "@$W/big"
expect_problem 413 body-too-large
# under the body limit as JSON, over max-resource-size as a vCard (commas double)
head -c 200000 /dev/zero | tr '\0' ',' >"$W/commas"
jq -cn --rawfile note "$W/commas" \
    '["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", "Big"], ["note", {}, "text", $note]]]' >"$W/bigcard"
expect_status POST "$AB" 413 "${AA[@]}" "${J[@]}" --data-binary "@$W/bigcard"
expect_problem 413 object-too-large
expect_status POST "$API/addressbooks/nope/contacts" 404 "${AA[@]}" "${J[@]}" --data-binary "$(jcard X x-2)"
expect_problem 404 no-such-addressbook

# ---- contacts: read, list, page ------------------------------------------------------

expect_status GET "$AB/jane-1.vcf" 200 "${AA[@]}"
expect_eq "$(header_value ETag)" "$JANE_ETAG" "GET contact: the ETag of the POST"
expect_json .etag "$JANE_ETAG"
expect_json '.jcard[1] | map(select(.[0] == "email"))[0] | tostring' '["email",{"type":"work"},"text","x@example.com"]'
expect_status GET "$AB/jane-1.vcf" 304 "${AA[@]}" -H "If-None-Match: $JANE_ETAG"
expect_status GET "$AB/jane-1.vcf" 200 "${AA[@]}" -H 'If-None-Match: "0123"'
expect_status HEAD "$AB/jane-1.vcf" 200 "${AA[@]}"
expect_header ETag "^$JANE_ETAG\$"
expect_status GET "$AB/nope.vcf" 404 "${AA[@]}"
expect_problem 404 no-such-contact
expect_status GET "$API/addressbooks/nope/contacts/jane-1.vcf" 404 "${AA[@]}"
expect_status GET "$API/addressbooks/nope/contacts" 404 "${AA[@]}"
expect_problem 404 no-such-addressbook

expect_status GET "$AB" 200 "${AA[@]}"
expect_eq "$(ids)" "$(printf '%s\n' jane-1.vcf "$NOUID" "$ODD" | sort | tr '\n' ' ' | sed 's/ $//')" \
    "the listing holds the three contacts"
expect_json .next null
expect_status GET "$AB?limit=2" 200 "${AA[@]}"
expect_json '.items | length' 2
NEXT=$(jget .next)
expect_header Link 'rel="next"'
expect_contains "$(header_value Link)" "limit=2" "Link keeps limit"
P1=$(ids)
expect_status GET "$AB?limit=2&cursor=$NEXT" 200 "${AA[@]}"
expect_json '.items | length' 1
expect_json .next null
expect_not_contains "$P1" "$(jget '.items[0].id')" "the second page goes on after the first"
expect_status GET "$AB?limit=0" 400 "${AA[@]}"
expect_problem 400 bad-parameter
expect_status GET "$AB?cursor=garbage" 400 "${AA[@]}"
expect_problem 400 bad-cursor
expect_status GET "$API/calendars/personal/events?cursor=$NEXT" 400 "${AA[@]}"
expect_problem 400 bad-cursor
# the collection's ctag moved
expect_status GET "$API/addressbooks" 200 "${AA[@]}"
check "the address book's ctag changed with its members" test "$(jget '.items[0].ctag')" != "$CTAG0"

# ---- contacts: replace, conditions, delete --------------------------------------------

body=$(jq -cn '["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", "Jane Roe"],
    ["note", {}, "text", "changed"], ["x-custom", {"x-p": "1"}, "unknown", "kept\\,raw"]]]')
expect_status PUT "$AB/jane-1.vcf" 412 "${AA[@]}" "${J[@]}" -H 'If-Match: "00000000000000000000000000000000"' \
    --data-binary "$body"
expect_problem 412 etag-mismatch
expect_status PUT "$AB/jane-1.vcf" 412 "${AA[@]}" "${J[@]}" -H 'If-None-Match: *' --data-binary "$body"
expect_status PUT "$AB/jane-1.vcf" 200 "${AA[@]}" "${J[@]}" -H "If-Match: $JANE_ETAG" --data-binary "$body"
JANE2=$(header_value ETag)
check "PUT gave a new ETag" test "$JANE2" != "$JANE_ETAG"
expect_json '.jcard[1] | map(select(.[0] == "uid"))[0][3]' jane-1 # kept without a UID in the body
expect_json '.jcard[1] | map(select(.[0] == "x-custom"))[0] | tostring' '["x-custom",{"x-p":"1"},"unknown","kept\\,raw"]'
expect_status PUT "$AB/jane-1.vcf" 412 "${AA[@]}" "${J[@]}" -H "If-Match: $JANE_ETAG" --data-binary "$body"
# PUT to a new id creates it; If-None-Match: * lets it
expect_status PUT "$AB/made-by-put.vcf" 201 "${AA[@]}" "${J[@]}" -H 'If-None-Match: *' \
    --data-binary "$(jcard 'Put Person' put-1)"
expect_header Location '/contacts/made-by-put\.vcf$'
expect_status PUT "$AB/$(head -c 300 /dev/zero | tr '\0' 'x')" 400 "${AA[@]}" "${J[@]}" \
    --data-binary "$(jcard 'Long Id' long-1)"
expect_problem 400 bad-id
expect_status PUT "$AB/other.vcf" 409 "${AA[@]}" "${J[@]}" --data-binary "$(jcard 'Jane Dup' jane-1)"
expect_problem 409 uid-conflict
expect_status PUT "$AB/jane-1.vcf" 400 "${AA[@]}" "${J[@]}" --data-binary '["vcard", []]'
expect_problem 400 bad-jcard
expect_status PUT "$AB/jane-1.vcf" 415 "${AA[@]}" -H 'Content-Type: text/plain' --data-binary "$body"
expect_status PUT "$AB/jane-1.vcf" 413 "${AA[@]}" "${J[@]}" --data-binary "@$W/big"
expect_status GET "$AB/jane-1.vcf" 200 "${AA[@]}"
expect_eq "$(header_value ETag)" "$JANE2" "refused PUTs changed nothing"
for m in POST PATCH; do
    expect_status "$m" "$AB/jane-1.vcf" 405 "${AA[@]}" "${J[@]}" --data-binary "$body"
    expect_header Allow '^GET, HEAD, PUT, DELETE, OPTIONS$'
done
expect_status DELETE "$AB/made-by-put.vcf" 412 "${AA[@]}" -H "If-Match: $JANE2"
expect_status DELETE "$AB/made-by-put.vcf" 204 "${AA[@]}"
expect_status GET "$AB/made-by-put.vcf" 404 "${AA[@]}"
expect_status DELETE "$AB/made-by-put.vcf" 404 "${AA[@]}"
# its UID is free again
expect_status POST "$AB" 201 "${AA[@]}" "${J[@]}" --data-binary "$(jcard 'Put Again' put-1)"

# ---- a WebDAV lock protects an object from REST writes ---------------------------------

mg_request LOCK "$MG_BASE/dav/addressbooks/alice/contacts/jane-1.vcf" "${ALICE[@]}" "${XML[@]}" \
    -H 'Timeout: Second-300' --data-binary \
    '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>'
expect_eq "$LAST_STATUS" 200 "LOCK a contact over WebDAV"
LOCKTOKEN=$(header_value Lock-Token)
expect_status PUT "$AB/jane-1.vcf" 423 "${AA[@]}" "${J[@]}" --data-binary "$body"
expect_problem 423 locked
expect_status DELETE "$AB/jane-1.vcf" 423 "${AA[@]}"
expect_status GET "$AB/jane-1.vcf" 200 "${AA[@]}"
expect_status UNLOCK "$MG_BASE/dav/addressbooks/alice/contacts/jane-1.vcf" 204 "${ALICE[@]}" \
    -H "Lock-Token: $LOCKTOKEN"
expect_status PUT "$AB/jane-1.vcf" 200 "${AA[@]}" "${J[@]}" --data-binary "$body"

# ---- events: create ---------------------------------------------------------------------

# a single event, a weekly one (6 instances from Mon 5 Jan 2026, 10:00 Berlin; the
# third, 19 Jan, excluded), an all-day event
expect_status POST "$EV" 201 "${AA[@]}" -H 'Content-Type: application/calendar+json' --data-binary \
    "$(vevent single-1 Single '["dtstart", {}, "date-time", "2026-02-10T10:00:00Z"]' \
        '[["dtend", {}, "date-time", "2026-02-10T11:00:00Z"]]')"
expect_json .id single-1.ics
expect_header ETag '^"[0-9a-f]{32}"$'
SINGLE_ETAG=$(header_value ETag)
expect_status POST "$EV" 201 "${AA[@]}" "${J[@]}" --data-binary \
    "$(vevent weekly-1 Weekly '["dtstart", {"tzid": "Europe/Berlin"}, "date-time", "2026-01-05T10:00:00"]' \
        '[["duration", {}, "duration", "PT1H"], ["rrule", {}, "recur", {"freq": "WEEKLY", "count": 6}],
          ["exdate", {"tzid": "Europe/Berlin"}, "date-time", "2026-01-19T10:00:00"]]')"
expect_json '.jcal[2][0][1] | map(select(.[0] == "rrule"))[0][3] | tostring' '{"freq":"WEEKLY","count":6}'
expect_status POST "$EV" 201 "${AA[@]}" "${J[@]}" --data-binary \
    "$(vevent allday-1 'All day' '["dtstart", {}, "date", "2026-03-01"]')"
expect_json '.jcal[2][0][1] | map(select(.[0] == "dtstart"))[0] | tostring' '["dtstart",{},"date","2026-03-01"]'
# a to-do: the personal calendar takes it, the office calendar (events only) does not
TODO=$(jq -cn '["vcalendar", [["version", {}, "text", "2.0"]], [["vtodo", [["uid", {}, "text", "todo-1"],
    ["summary", {}, "text", "do it"]], []]]]')
expect_status POST "$API/calendars/office/events" 422 "${AA[@]}" "${J[@]}" --data-binary "$TODO"
expect_problem 422 unsupported-component
expect_status POST "$EV" 201 "${AA[@]}" "${J[@]}" --data-binary "$TODO"
expect_status DELETE "$EV/todo-1.ics" 204 "${AA[@]}"
# refused
expect_status POST "$EV" 400 "${AA[@]}" "${J[@]}" --data-binary \
    "$(jq -cn '["vcalendar", [["version", {}, "text", "2.0"]], [["vevent", [["uid", {}, "text", "no-start"]], []]]]')"
expect_problem 400 bad-jcal
expect_body_contains DTSTART
expect_status POST "$EV" 400 "${AA[@]}" "${J[@]}" --data-binary \
    "$(vevent bad-date Bad '["dtstart", {}, "date-time", "tomorrow"]')"
expect_problem 400 bad-jcal
expect_status POST "$EV" 400 "${AA[@]}" "${J[@]}" --data-binary '["vcard", [["version", {}, "text", "4.0"]]]'
expect_problem 400 bad-jcal
expect_status POST "$EV" 400 "${AA[@]}" "${J[@]}" --data-binary '["vcalendar", [], [["vevent", [["rrule", {}, "recur", {"count": 1}]], []]]]'
expect_problem 400 bad-jcal
expect_status POST "$EV" 400 "${AA[@]}" "${J[@]}" --data-binary '[1, 2'
expect_problem 400 malformed-json
expect_status POST "$EV" 415 "${AA[@]}" -H 'Content-Type: text/calendar' --data-binary "$TODO"
expect_status POST "$EV" 413 "${AA[@]}" "${J[@]}" --data-binary "@$W/big"
expect_status POST "$EV" 409 "${AA[@]}" "${J[@]}" --data-binary \
    "$(vevent weekly-1 Again '["dtstart", {}, "date-time", "2026-05-01T10:00:00Z"]')"
expect_problem 409 uid-conflict
expect_status POST "$API/calendars/nope/events" 404 "${AA[@]}" "${J[@]}" --data-binary "$TODO"
expect_problem 404 no-such-calendar
expect_status POST "$API/calendars/inbox/events" 404 "${AA[@]}" "${J[@]}" --data-binary "$TODO"

# ---- events: time ranges, the same answers as CalDAV -------------------------------------------

range_case() { # DESC START END (REST) CSTART CEND (CalDAV form) EXPECTED
    expect_status GET "$EV?start=$2&end=$3" 200 "${AA[@]}"
    local rest
    rest=$(ids)
    expect_eq "$rest" "$6" "time range $1 over REST"
    expect_eq "$(caldav_ids "$4" "$5")" "$6" "time range $1 over CalDAV"
}
range_case "4th instance (26 Jan)" 2026-01-26T00:00:00Z 2026-01-27T00:00:00Z \
    20260126T000000Z 20260127T000000Z weekly-1.ics
range_case "excluded instance (19 Jan)" 2026-01-19 2026-01-20 20260119T000000Z 20260120T000000Z ""
range_case "after the last instance" 2026-02-10T00:00:00Z 2026-02-11T00:00:00Z \
    20260210T000000Z 20260211T000000Z single-1.ics
range_case "last instance, offset form" 2026-02-09T10:30:00%2B01:00 2026-02-09T10:45:00%2B01:00 \
    20260209T093000Z 20260209T094500Z weekly-1.ics
range_case "all-day, iCalendar form" 20260301T120000Z 20260301T130000Z \
    20260301T120000Z 20260301T130000Z allday-1.ics
range_case "everything" 2025-01-01 2027-01-01 20250101T000000Z 20270101T000000Z \
    "allday-1.ics single-1.ics weekly-1.ics"
expect_status GET "$EV?start=2026-02-20" 200 "${AA[@]}"
expect_eq "$(ids)" allday-1.ics "open end"
expect_status GET "$EV?end=2026-01-06" 200 "${AA[@]}"
expect_eq "$(ids)" weekly-1.ics "open start"
expect_status GET "$EV?start=2026-03-01&end=2026-01-01" 400 "${AA[@]}"
expect_problem 400 bad-parameter
expect_status GET "$EV?start=yesterday" 400 "${AA[@]}"
expect_problem 400 bad-parameter
expect_status GET "$EV?start=2026-13-01" 400 "${AA[@]}"
# paging within a range
expect_status GET "$EV?start=2025-01-01&end=2027-01-01&limit=2" 200 "${AA[@]}"
expect_json '.items | length' 2
NEXT=$(jget .next)
expect_contains "$(header_value Link)" "start=2025-01-01" "Link keeps the range"
expect_status GET "$EV?start=2025-01-01&end=2027-01-01&limit=2&cursor=$NEXT" 200 "${AA[@]}"
expect_json '[.items[].id] | join(",")' weekly-1.ics
expect_status GET "$EV" 200 "${AA[@]}"
expect_json '.items | length' 3

# ---- events: read, replace, delete --------------------------------------------------------------

expect_status GET "$EV/single-1.ics" 200 "${AA[@]}"
expect_eq "$(header_value ETag)" "$SINGLE_ETAG" "GET event: the ETag of the POST"
expect_json '.jcal[0]' vcalendar
expect_status GET "$EV/single-1.ics" 304 "${AA[@]}" -H "If-None-Match: $SINGLE_ETAG"
NEWSINGLE=$(vevent single-1 'Single, moved' '["dtstart", {}, "date-time", "2026-02-11T10:00:00Z"]')
expect_status PUT "$EV/single-1.ics" 412 "${AA[@]}" "${J[@]}" -H 'If-Match: "ffffffffffffffffffffffffffffffff"' \
    --data-binary "$NEWSINGLE"
expect_problem 412 etag-mismatch
expect_status PUT "$EV/single-1.ics" 200 "${AA[@]}" "${J[@]}" -H "If-Match: $SINGLE_ETAG" --data-binary "$NEWSINGLE"
expect_json '.jcal[2][0][1] | map(select(.[0] == "summary"))[0][3]' 'Single, moved'
expect_status GET "$EV?start=2026-02-11&end=2026-02-12" 200 "${AA[@]}"
expect_eq "$(ids)" single-1.ics "the moved event is found at its new time"
expect_status PUT "$EV/single-1.ics" 412 "${AA[@]}" "${J[@]}" -H "If-Match: $SINGLE_ETAG" --data-binary "$NEWSINGLE"
expect_status PUT "$EV/single-1.ics" 400 "${AA[@]}" "${J[@]}" --data-binary '{}'
expect_problem 400 bad-jcal
expect_status PUT "$EV/single-1.ics" 413 "${AA[@]}" "${J[@]}" --data-binary "@$W/big"
expect_status PATCH "$EV/single-1.ics" 405 "${AA[@]}"
expect_status DELETE "$EV" 405 "${AA[@]}"
expect_header Allow '^GET, HEAD, POST, OPTIONS$'
expect_status DELETE "$EV/allday-1.ics" 412 "${AA[@]}" -H "If-Match: $SINGLE_ETAG"
expect_status DELETE "$EV/allday-1.ics" 204 "${AA[@]}"
expect_status GET "$EV/allday-1.ics" 404 "${AA[@]}"
expect_problem 404 no-such-event
expect_status DELETE "$EV/allday-1.ics" 404 "${AA[@]}"
expect_status GET "$API/calendars/nope/events/single-1.ics" 404 "${AA[@]}"
expect_status GET "$API/calendars/nope/events" 404 "${AA[@]}"
expect_problem 404 no-such-calendar

# ---- authorization: alice and bob stay apart ------------------------------------------------------

# bob: a contact, an event, an address book and a calendar of his own
expect_status POST "$AB" 201 "${BB[@]}" "${J[@]}" --data-binary "$(jcard 'Bobs Friend' bob-friend)"
BOB_CARD_ETAG=$(jget .etag)
expect_status POST "$EV" 201 "${BB[@]}" "${J[@]}" --data-binary \
    "$(vevent bob-event 'Bob only' '["dtstart", {}, "date-time", "2026-02-10T12:00:00Z"]')"
BOB_EVENT_ETAG=$(jget .etag)
expect_status MKCOL "$MG_BASE/dav/addressbooks/bob/secret/" 201 "${BOB[@]}" "${XML[@]}" \
    --data-binary "@$FIX/carddav/reports/mkcol-addressbook.xml"
expect_status MKCALENDAR "$MG_BASE/dav/calendars/bob/secretcal/" 201 "${BOB[@]}"
expect_status POST "$API/addressbooks/secret/contacts" 201 "${BB[@]}" "${J[@]}" \
    --data-binary "$(jcard 'Secret' bob-secret)"
expect_status POST "$API/calendars/secretcal/events" 201 "${BB[@]}" "${J[@]}" --data-binary \
    "$(vevent bob-secret-ev 'Secret' '["dtstart", {}, "date-time", "2026-02-10T12:00:00Z"]')"

# alice sees none of it
expect_status GET "$API/addressbooks" 200 "${AA[@]}"
expect_json '.items | map(.id) | join(",")' contacts
expect_status GET "$API/calendars" 200 "${AA[@]}"
expect_json '.items | map(.id) | join(",")' office,personal
expect_status GET "$AB" 200 "${AA[@]}"
expect_not_contains "$(ids)" bob-friend "alice's listing lacks bob's contact"
expect_status GET "$EV?start=2026-02-10&end=2026-02-11" 200 "${AA[@]}"
expect_not_contains "$(ids)" bob-event "alice's time range lacks bob's event"
for u in "$API/addressbooks/secret/contacts" "$API/addressbooks/secret/contacts/bob-secret.vcf" \
    "$API/calendars/secretcal/events" "$API/calendars/secretcal/events/bob-secret-ev.ics" \
    "$AB/bob-friend.vcf" "$EV/bob-event.ics"; do
    expect_status GET "$u" 404 "${AA[@]}"
    expect_status HEAD "$u" 404 "${AA[@]}"
done
for u in "$API/addressbooks/secret/contacts/bob-secret.vcf" "$API/calendars/secretcal/events/bob-secret-ev.ics" \
    "$AB/bob-friend.vcf" "$EV/bob-event.ics"; do
    expect_status DELETE "$u" 404 "${AA[@]}"
    expect_status DELETE "$u" 404 "${AA[@]}" -H "If-Match: $BOB_CARD_ETAG"
done
# writes go to alice's own collections, or nowhere
expect_status POST "$API/addressbooks/secret/contacts" 404 "${AA[@]}" "${J[@]}" --data-binary "$(jcard Intruder x-9)"
expect_status POST "$API/calendars/secretcal/events" 404 "${AA[@]}" "${J[@]}" --data-binary "$TODO"
expect_status PUT "$API/addressbooks/secret/contacts/bob-secret.vcf" 404 "${AA[@]}" "${J[@]}" \
    --data-binary "$(jcard Intruder bob-secret)"
expect_status PUT "$AB/bob-friend.vcf" 412 "${AA[@]}" "${J[@]}" -H "If-Match: $BOB_CARD_ETAG" \
    --data-binary "$(jcard Intruder bob-friend)"
expect_status PUT "$EV/bob-event.ics" 412 "${AA[@]}" "${J[@]}" -H "If-Match: $BOB_EVENT_ETAG" \
    --data-binary "$(vevent bob-event Intruder '["dtstart", {}, "date-time", "2026-02-10T12:00:00Z"]')"
# the same UID in alice's own book is no conflict with bob's
expect_status POST "$AB" 201 "${AA[@]}" "${J[@]}" --data-binary "$(jcard 'Alices Friend' bob-friend)"
ALICE_SAME_UID=$(jget .id)
# bob's things are as they were
expect_status GET "$AB/bob-friend.vcf" 200 "${BB[@]}"
expect_eq "$(header_value ETag)" "$BOB_CARD_ETAG" "bob's contact unchanged"
expect_json '.jcard[1] | map(select(.[0] == "fn"))[0][3]' 'Bobs Friend'
expect_status GET "$EV/bob-event.ics" 200 "${BB[@]}"
expect_eq "$(header_value ETag)" "$BOB_EVENT_ETAG" "bob's event unchanged"
expect_status GET "$API/addressbooks/secret/contacts/bob-secret.vcf" 200 "${BB[@]}"
expect_status GET "$API/calendars/secretcal/events/bob-secret-ev.ics" 200 "${BB[@]}"
expect_status GET "$AB" 200 "${BB[@]}"
expect_eq "$(ids)" bob-friend.vcf "bob's book holds only his contact"
expect_status GET "$AB/$ALICE_SAME_UID" 200 "${AA[@]}"
expect_status GET "$AB/jane-1.vcf" 404 "${BB[@]}"
# over DAV too: alice's REST contact is not bob's to read
expect_status GET "$MG_BASE/dav/addressbooks/alice/contacts/jane-1.vcf" '403|404' "${BOB[@]}"

# ---- tokens: missing, tampered, expired ------------------------------------------------------------

ROUTES=("GET $API/addressbooks" "GET $API/addressbooks/contacts/contacts" "POST $AB"
    "GET $AB/jane-1.vcf" "PUT $AB/jane-1.vcf" "DELETE $AB/jane-1.vcf"
    "GET $API/calendars" "GET $EV" "POST $EV" "GET $EV/single-1.ics" "PUT $EV/single-1.ics"
    "DELETE $EV/single-1.ics")
# route_body METHOD: curl arguments for a body where the method takes one
route_body() {
    if [[ "$1" == POST || "$1" == PUT ]]; then
        printf '%s\n' -H 'Content-Type: application/json' --data-binary "$(jcard X y-1)"
    fi
}
for r in "${ROUTES[@]}"; do
    m=${r%% *}
    u=${r#* }
    mapfile -t body_args < <(route_body "$m")
    expect_status "$m" "$u" 401 "${body_args[@]}"
    expect_problem 401 unauthenticated
    expect_header WWW-Authenticate '^Bearer'
    expect_status "$m" "$u" 401 -H "Authorization: Bearer ${TA}x" "${body_args[@]}"
    expect_problem 401 invalid-token
done
poll_status 401 15 GET "$API/addressbooks" -H "Authorization: Bearer $TX"
for r in "${ROUTES[@]}"; do
    m=${r%% *}
    u=${r#* }
    mapfile -t body_args < <(route_body "$m")
    expect_status "$m" "$u" 401 -H "Authorization: Bearer $TX" "${body_args[@]}"
    expect_problem 401 invalid-token
    expect_body_contains expired
done
# nothing was changed by the refused requests
expect_status GET "$AB/jane-1.vcf" 200 "${AA[@]}"
expect_status GET "$EV/single-1.ics" 200 "${AA[@]}"
expect_alive "contacts and calendars over REST"

mg_finish
