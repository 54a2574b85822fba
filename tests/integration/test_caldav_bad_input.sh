#!/usr/bin/env bash
# test_caldav_bad_input.sh - what CalDAV (RFC 4791 5.3.2.1) and CardDAV
# (RFC 6352 6.3.2.1) must refuse: malformed iCalendar and vCard, missing or
# duplicate UIDs, wrong media types, component types a calendar does not
# take, objects over max-resource-size, hostile REPORT bodies. Each refusal
# is a 4xx with the precondition the RFC names, and leaves the store as it
# was (the object absent or unchanged, the collection's ctag unchanged).
#
#   bash tests/integration/test_caldav_bad_input.sh /path/to/meshgate
source "$(dirname "$0")/lib.sh"
mg_init "$@"
require_cmd /usr/bin/python3
mg_add_standard_users
mg_start

FIX="$(cd "$(dirname "$0")" && pwd)/fixtures"
CAL="$MG_BASE/dav/calendars/alice"
AB="$MG_BASE/dav/addressbooks/alice"
XML=(-H 'Content-Type: application/xml; charset=utf-8')
ICS=(-H 'Content-Type: text/calendar; charset=utf-8')
VCF=(-H 'Content-Type: text/vcard; charset=utf-8')
T="$MG_TMP/in"
mkdir -p "$T"

ms() {
    /usr/bin/python3 "$FIX/multistatus.py" "$LAST_BODY_FILE" "$@" 2>/dev/null || true
}

# ctag URL: the collection's getctag
ctag() {
    mg_request PROPFIND "$1" "${ALICE[@]}" -H 'Depth: 0' "${XML[@]}" --data \
        '<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop>
        <CS:getctag/></D:prop></D:propfind>'
    ms prop getctag
}

# refused DESC URL STATUS CONDITION FILE [CURL ARGS]: a PUT is refused with
# STATUS and the precondition CONDITION, and nothing is stored at URL.
refused() {
    local desc=$1 url=$2 status=$3 cond=$4 file=$5
    shift 5
    mg_request PUT "$url" "${ALICE[@]}" --data-binary "@$file" "$@"
    if [[ "$LAST_STATUS" == "$status" ]]; then
        pass "$desc: $status"
    else
        fail "$desc: expected $status, got $LAST_STATUS; body: $(body_excerpt)"
    fi
    if [[ -n "$cond" ]]; then
        expect_body_contains "<$cond" "$desc: precondition"
        expect_body_contains '<mg:message' "$desc: message for a person"
    fi
    mg_request GET "$url" "${ALICE[@]}"
    expect_eq "$LAST_STATUS" 404 "$desc: nothing stored"
}

crlf() { sed 's/$/\r/'; }

event() { # event UID [EXTRA LINES]: a small valid event
    printf 'BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nBEGIN:VEVENT\nUID:%s\n' "$1"
    printf 'DTSTAMP:20240101T000000Z\nDTSTART:20240105T100000Z\nDTEND:20240105T110000Z\n'
    printf 'SUMMARY:ok\n%s' "${2:-}"
    printf 'END:VEVENT\nEND:VCALENDAR\n'
}

# ---- a calendar that takes events only, and valid objects to compare against -----------

expect_status MKCALENDAR "$CAL/events/" 201 "${ALICE[@]}" "${XML[@]}" --data \
    '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>
    <C:supported-calendar-component-set><C:comp name="VEVENT"/>
    </C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>'
event good-1 | crlf >"$T/good.ics"
expect_status PUT "$CAL/events/good.ics" 201 "${ALICE[@]}" "${ICS[@]}" --data-binary "@$T/good.ics"
good_etag=$(header_value ETag)
ctag0=$(ctag "$CAL/events/")
check "calendar has a ctag" test -n "$ctag0"

# ---- malformed iCalendar: CALDAV:valid-calendar-data ------------------------------------

printf 'hello, this is not a calendar\n' >"$T/garbage.ics"
refused "garbage" "$CAL/events/x1.ics" 403 C:valid-calendar-data "$T/garbage.ics" "${ICS[@]}"
: >"$T/empty.ics"
refused "empty body" "$CAL/events/x2.ics" 403 C:valid-calendar-data "$T/empty.ics" "${ICS[@]}"
event bad-dt | sed 's/^DTSTART:.*/DTSTART:not-a-date/' >"$T/baddate.ics"
refused "DTSTART not a date" "$CAL/events/x3.ics" 403 C:valid-calendar-data "$T/baddate.ics" \
    "${ICS[@]}"
event junk-line 'THIS LINE HAS NO COLON\n' | sed 's/\\n//' >"$T/junkline.ics"
refused "content line without a colon" "$CAL/events/x4.ics" 403 C:valid-calendar-data \
    "$T/junkline.ics" "${ICS[@]}"
event unterminated | grep -v 'END:VCALENDAR' >"$T/unterminated.ics"
refused "no END:VCALENDAR" "$CAL/events/x5.ics" 403 C:valid-calendar-data "$T/unterminated.ics" \
    "${ICS[@]}"
{ event two-a; event two-b; } >"$T/two.ics"
refused "two VCALENDARs" "$CAL/events/x6.ics" 403 C:valid-calendar-data "$T/two.ics" "${ICS[@]}"
event utf8 | sed 's/SUMMARY:ok/SUMMARY:\xff\xfe bad/' >"$T/badutf8.ics"
refused "invalid UTF-8" "$CAL/events/x7.ics" 403 C:valid-calendar-data "$T/badutf8.ics" \
    "${ICS[@]}"
event nul | tr 'k' '\000' >"$T/nul.ics"
refused "NUL byte" "$CAL/events/x8.ics" 403 C:valid-calendar-data "$T/nul.ics" "${ICS[@]}"
crlf <"$FIX/carddav/rfc6352/v102.vcf" >"$T/card-as-cal.ics"
refused "a vCard sent as a calendar" "$CAL/events/x9.ics" 403 C:valid-calendar-data \
    "$T/card-as-cal.ics" "${ICS[@]}"

# ---- not a calendar object resource: CALDAV:valid-calendar-object-resource (RFC 4791 4.1) --

event nouid | grep -v '^UID:' >"$T/nouid.ics"
refused "missing UID" "$CAL/events/y1.ics" 403 C:valid-calendar-object-resource "$T/nouid.ics" \
    "${ICS[@]}"
{ event uid-a | sed '/END:VCALENDAR/d'; event uid-b | sed '1,3d'; } >"$T/twouids.ics"
refused "two UIDs in one object" "$CAL/events/y2.ics" 403 C:valid-calendar-object-resource \
    "$T/twouids.ics" "${ICS[@]}"
event method | sed 's/^VERSION:2.0/VERSION:2.0\nMETHOD:REQUEST/' >"$T/method.ics"
refused "METHOD in a stored object" "$CAL/events/y3.ics" 403 C:valid-calendar-object-resource \
    "$T/method.ics" "${ICS[@]}"
event noversion | grep -v '^VERSION' >"$T/noversion.ics"
refused "no VERSION" "$CAL/events/y4.ics" 403 C:valid-calendar-object-resource \
    "$T/noversion.ics" "${ICS[@]}"
event nodtstart | grep -v '^DTSTART' >"$T/nodtstart.ics"
refused "VEVENT without DTSTART" "$CAL/events/y5.ics" 403 C:valid-calendar-object-resource \
    "$T/nodtstart.ics" "${ICS[@]}"
{ event mixed | sed '/END:VCALENDAR/d'
  printf 'BEGIN:VTODO\nUID:mixed\nDTSTAMP:20240101T000000Z\nEND:VTODO\nEND:VCALENDAR\n'; } \
    >"$T/mixed.ics"
refused "VEVENT and VTODO in one object" "$CAL/events/y6.ics" 403 \
    C:valid-calendar-object-resource "$T/mixed.ics" "${ICS[@]}"
{ event twomasters | sed '/END:VCALENDAR/d'; event twomasters | sed '1,3d'; } >"$T/masters.ics"
refused "two masters with one UID" "$CAL/events/y7.ics" 403 C:valid-calendar-object-resource \
    "$T/masters.ics" "${ICS[@]}"

# ---- media type, component type, size, UID, location ----------------------------------------

refused "text/plain" "$CAL/events/z1.ics" 415 C:supported-calendar-data "$T/good.ics" \
    -H 'Content-Type: text/plain'
printf 'BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nBEGIN:VTODO\nUID:todo-1\n' >"$T/todo.ics"
printf 'DTSTAMP:20240101T000000Z\nSUMMARY:a task\nEND:VTODO\nEND:VCALENDAR\n' >>"$T/todo.ics"
refused "VTODO into an events-only calendar" "$CAL/events/z2.ics" 403 \
    C:supported-calendar-component "$T/todo.ics" "${ICS[@]}"
expect_status PUT "$CAL/personal/todo.ics" 201 "${ALICE[@]}" "${ICS[@]}" \
    --data-binary "@$T/todo.ics"
expect_status PUT "$CAL/events/z3.ics" 403 "${ALICE[@]}" "${ICS[@]}" --data-binary "@$T/good.ics"
expect_body_contains '<C:no-uid-conflict><D:href>/dav/calendars/alice/events/good.ics</D:href>'
refused "same UID under another name" "$CAL/events/z3.ics" 403 C:no-uid-conflict "$T/good.ics" \
    "${ICS[@]}"
head -c $((11 * 1024 * 1024)) /dev/zero | tr '\0' 'x' >"$T/huge.ics"
refused "11 MiB object (Content-Length)" "$CAL/events/z4.ics" 403 C:max-resource-size \
    "$T/huge.ics" "${ICS[@]}"
refused "11 MiB object (chunked)" "$CAL/events/z5.ics" 403 C:max-resource-size "$T/huge.ics" \
    "${ICS[@]}" -H 'Transfer-Encoding: chunked'
head -c $((20 * 1024 * 1024)) /dev/zero | tr '\0' 'x' >"$T/huger.ics"
refused "20 MiB object (chunked, over the body limit)" "$CAL/events/z6.ics" 413 "" \
    "$T/huger.ics" "${ICS[@]}" -H 'Transfer-Encoding: chunked'
event loose-1 >"$T/loose.ics"
refused "PUT into the calendar home" "$CAL/loose.ics" 403 "" "$T/loose.ics" "${ICS[@]}"
refused "PUT into the schedule inbox" "$CAL/inbox/loose.ics" 403 "" "$T/loose.ics" "${ICS[@]}"
refused "PUT into a missing calendar" "$CAL/nope/loose.ics" 409 "" "$T/loose.ics" "${ICS[@]}"
expect_status PUT "$CAL/events/" 405 "${ALICE[@]}" "${ICS[@]}" --data-binary "@$T/loose.ics"

# ---- a refused update leaves the stored object alone -----------------------------------------

expect_status PUT "$CAL/events/good.ics" 403 "${ALICE[@]}" "${ICS[@]}" \
    --data-binary "@$T/garbage.ics"
event todo-1 >"$T/steal.ics"
expect_status PUT "$CAL/personal/todo.ics" 403 "${ALICE[@]}" "${ICS[@]}" \
    --data-binary "@$T/nouid.ics"
expect_status GET "$CAL/events/good.ics" 200 "${ALICE[@]}"
expect_body_file "$T/good.ics"
expect_header ETag "^$good_etag\$"
expect_status PUT "$CAL/events/good.ics" 412 "${ALICE[@]}" "${ICS[@]}" -H 'If-Match: "stale"' \
    --data-binary "@$T/loose.ics"
expect_status GET "$CAL/events/good.ics" 200 "${ALICE[@]}"
expect_body_file "$T/good.ics"
ctag1=$(ctag "$CAL/events/")
expect_eq "$ctag1" "$ctag0" "the calendar's ctag is unchanged by every refused request"

# ---- vCards: CARDDAV:valid-address-data and friends -------------------------------------------

crlf <"$FIX/carddav/rfc6352/v102.vcf" >"$T/good.vcf"
expect_status PUT "$AB/contacts/good.vcf" 201 "${ALICE[@]}" "${VCF[@]}" \
    --data-binary "@$T/good.vcf"
actag0=$(ctag "$AB/contacts/")
printf 'not a vcard\n' >"$T/garbage.vcf"
refused "vCard garbage" "$AB/contacts/c1.vcf" 403 CR:valid-address-data "$T/garbage.vcf" \
    "${VCF[@]}"
grep -v 'END:VCARD' "$T/good.vcf" | sed 's/34222-232/other-1/' >"$T/noend.vcf"
refused "vCard without END" "$AB/contacts/c2.vcf" 403 CR:valid-address-data "$T/noend.vcf" \
    "${VCF[@]}"
grep -v '^UID' "$T/good.vcf" >"$T/nouid.vcf"
refused "vCard without UID" "$AB/contacts/c3.vcf" 403 CR:valid-address-data "$T/nouid.vcf" \
    "${VCF[@]}"
sed 's/VERSION:3.0/VERSION:2.1/; s/34222-232/other-2/' "$T/good.vcf" >"$T/v21.vcf"
refused "vCard 2.1" "$AB/contacts/c4.vcf" 403 CR:valid-address-data "$T/v21.vcf" "${VCF[@]}"
grep -v '^FN' "$T/good.vcf" | sed 's/34222-232/other-3/' >"$T/nofn.vcf"
refused "vCard without FN" "$AB/contacts/c5.vcf" 403 CR:valid-address-data "$T/nofn.vcf" \
    "${VCF[@]}"
{ cat "$T/good.vcf"; sed 's/34222-232/other-4/' "$T/good.vcf"; } >"$T/twocards.vcf"
refused "two vCards" "$AB/contacts/c6.vcf" 403 CR:valid-address-data "$T/twocards.vcf" "${VCF[@]}"
sed 's/^FN:/BEGIN:VCARD\r\nFN:/; s/34222-232/other-5/' "$T/good.vcf" >"$T/nested.vcf"
refused "nested BEGIN:VCARD" "$AB/contacts/c7.vcf" 403 CR:valid-address-data "$T/nested.vcf" \
    "${VCF[@]}"
sed 's/^FN:.*/FN:\xc3\x28/; s/34222-232/other-6/' "$T/good.vcf" >"$T/badutf8.vcf"
refused "vCard invalid UTF-8" "$AB/contacts/c8.vcf" 403 CR:valid-address-data "$T/badutf8.vcf" \
    "${VCF[@]}"
sed 's/^FN/;FN/; s/34222-232/other-7/' "$T/good.vcf" >"$T/badline.vcf"
refused "vCard line without a name" "$AB/contacts/c9.vcf" 403 CR:valid-address-data \
    "$T/badline.vcf" "${VCF[@]}"
refused "vCard as text/calendar" "$AB/contacts/d1.vcf" 415 CR:supported-address-data \
    "$T/good.vcf" "${ICS[@]}"
refused "iCalendar into an address book" "$AB/contacts/d2.vcf" 403 CR:valid-address-data \
    "$T/good.ics" "${VCF[@]}"
refused "duplicate vCard UID" "$AB/contacts/d3.vcf" 403 CR:no-uid-conflict "$T/good.vcf" \
    "${VCF[@]}"
refused "11 MiB vCard" "$AB/contacts/d4.vcf" 403 CR:max-resource-size "$T/huge.ics" "${VCF[@]}"
refused "vCard into the address book home" "$AB/d5.vcf" 403 "" "$T/good.vcf" "${VCF[@]}"
refused "vCard into a calendar" "$CAL/events/d6.vcf" 403 C:valid-calendar-data "$T/good.vcf" \
    "${ICS[@]}"
expect_status GET "$AB/contacts/good.vcf" 200 "${ALICE[@]}"
expect_body_file "$T/good.vcf"
actag1=$(ctag "$AB/contacts/")
expect_eq "$actag1" "$actag0" "the address book's ctag is unchanged by every refused request"

# ---- hostile or malformed REPORT and MKCALENDAR bodies -------------------------------------

expect_status REPORT "$CAL/events/" 400 "${ALICE[@]}" "${XML[@]}" --data '<C:calendar-query'
expect_status REPORT "$CAL/events/" 400 "${ALICE[@]}" "${XML[@]}" --data \
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
    <C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav">&e;</C:calendar-query>'
expect_status REPORT "$CAL/events/" 400 "${ALICE[@]}" "${XML[@]}"
deep=$(printf '<C:comp-filter name="V">%.0s' $(seq 1 500))
expect_status REPORT "$CAL/events/" '400|413' "${ALICE[@]}" "${XML[@]}" --data \
    "<C:calendar-query xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><C:filter>$deep"
expect_status REPORT "$CAL/events/" 403 "${ALICE[@]}" "${XML[@]}" --data \
    '<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter><C:comp-filter
    name="VEVENT"/></C:filter></C:calendar-query>'
expect_body_contains 'valid-filter'
expect_status REPORT "$CAL/events/" 403 "${ALICE[@]}" "${XML[@]}" --data \
    '<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:timezone>nonsense</C:timezone>
    <C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>'
expect_body_contains 'valid-calendar-data'
expect_status REPORT "$CAL/events/" 403 "${ALICE[@]}" "${XML[@]}" --data \
    '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop>
    <C:calendar-data content-type="application/json"/></D:prop><C:filter>
    <C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>'
expect_body_contains 'supported-calendar-data'
expect_status REPORT "$CAL/events/" 400 "${ALICE[@]}" "${XML[@]}" --data \
    '<D:sync-collection xmlns:D="DAV:"><D:sync-level>7</D:sync-level></D:sync-collection>'
expect_status MKCALENDAR "$CAL/x/" 400 "${ALICE[@]}" "${XML[@]}" --data '<nope/>'
expect_status MKCALENDAR "$CAL/y/" 403 "${ALICE[@]}" "${XML[@]}" --data \
    '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>
    <C:calendar-timezone>BEGIN:VCALENDAR</C:calendar-timezone></D:prop></D:set></C:mkcalendar>'
expect_body_contains 'valid-calendar-data'
expect_status PROPFIND "$CAL/y/" 404 "${ALICE[@]}" -H 'Depth: 0'
expect_status MKCOL "$MG_BASE/dav/files/alice/x/" 415 "${ALICE[@]}" -H 'Content-Type: xzy/xyz' \
    --data 'afafafaf'

expect_alive "bad CalDAV and CardDAV input"
mg_finish
