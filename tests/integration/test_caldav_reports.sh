#!/usr/bin/env bash
# test_caldav_reports.sh - CalDAV (RFC 4791) with curl and XML fixtures:
# discovery, MKCALENDAR, the example calendar of RFC 4791 Appendix B, every
# REPORT example of RFC 4791 7.8-7.10 checked against the RFC's answers,
# sync-collection (RFC 6578), ETag preconditions, PROPPATCH, UID rules for
# PUT/COPY/MOVE, and DELETE of a whole calendar.
#
#   bash tests/integration/test_caldav_reports.sh /path/to/meshgate
source "$(dirname "$0")/lib.sh"
mg_init "$@"
require_cmd /usr/bin/python3
mg_add_standard_users
mg_start

FIX="$(cd "$(dirname "$0")" && pwd)/fixtures"
CAL="$MG_BASE/dav/calendars/alice"
XML=(-H 'Content-Type: application/xml; charset=utf-8')
ICS=(-H 'Content-Type: text/calendar; charset=utf-8')

# ms ARGS...: reads the last multistatus (fixtures/multistatus.py)
ms() {
    /usr/bin/python3 "$FIX/multistatus.py" "$LAST_BODY_FILE" "$@" 2>/dev/null || true
}

# expect_hrefs DESC NAME...: the last multistatus lists exactly these objects
# (base names; collections are left out), each with status 200.
expect_hrefs() {
    local desc=$1 got want
    shift
    got=$(ms hrefs | awk '$1 !~ /\/$/ { n = $1; sub(/.*\//, "", n); print n " " $2 }' | sort |
        tr '\n' ' ')
    want=$(for n in "$@"; do echo "$n 200"; done | sort | tr '\n' ' ')
    expect_eq "$got" "$want" "$desc: members"
}

# report FIXTURE URL [DEPTH]: REPORT with a fixture body.
report() {
    mg_request REPORT "$2" "${ALICE[@]}" "${XML[@]}" -H "Depth: ${3:-1}" \
        --data-binary "@$FIX/caldav/reports/$1"
}

# ---- discovery (RFC 6764, RFC 5397, RFC 4791 6.2.1) ------------------------------

expect_status PROPFIND "$MG_BASE/" 401 -H 'Depth: 0'
expect_header WWW-Authenticate '^Basic'
expect_status PROPFIND "$MG_BASE/" 207 "${ALICE[@]}" -H 'Depth: 0' "${XML[@]}" \
    --data "$(propfind_body current-user-principal)"
expect_body_contains '<D:href>/dav/principals/alice/</D:href>'
expect_status GET "$MG_BASE/" '200|404' # the portal keeps GET /
for kind in caldav carddav; do
    expect_status PROPFIND "$MG_BASE/.well-known/$kind" 301 "${ALICE[@]}" -H 'Depth: 0'
    expect_header Location '^/dav/$'
done
expect_status PROPFIND "$MG_BASE/dav/principals/alice/" 207 "${ALICE[@]}" -H 'Depth: 0' \
    "${XML[@]}" --data '<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"
    xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><C:calendar-home-set/>
    <CR:addressbook-home-set/><C:schedule-inbox-URL/><C:schedule-outbox-URL/>
    <C:calendar-user-address-set/><D:principal-URL/><D:resourcetype/></D:prop></D:propfind>'
expect_body_contains '<C:calendar-home-set><D:href>/dav/calendars/alice/</D:href>'
expect_body_contains '<CR:addressbook-home-set><D:href>/dav/addressbooks/alice/</D:href>'
expect_body_contains '<C:schedule-inbox-URL><D:href>/dav/calendars/alice/inbox/</D:href>'
expect_body_contains '<C:schedule-outbox-URL><D:href>/dav/calendars/alice/outbox/</D:href>'
expect_body_contains '<D:principal/>'
expect_body_not_contains '404 Not Found'
# another user's principal is not readable
expect_status PROPFIND "$MG_BASE/dav/principals/bob/" 403 "${ALICE[@]}" -H 'Depth: 0'

# a new account has a default calendar, the schedule inbox and outbox
expect_status PROPFIND "$CAL/" 207 "${ALICE[@]}" -H 'Depth: 1' "${XML[@]}" \
    --data '<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:displayname/></D:prop>
    </D:propfind>'
expect_body_matches '<D:href>/dav/calendars/alice/personal/</D:href>.*<C:calendar/>.*Personal'
expect_body_contains '<C:schedule-inbox/>'
expect_body_contains '<C:schedule-outbox/>'

expect_status OPTIONS "$CAL/personal/" '200|204' "${ALICE[@]}"
expect_header DAV 'calendar-access'
expect_header DAV 'addressbook'
expect_header DAV 'extended-mkcol'
expect_header Allow 'MKCALENDAR'
expect_header Allow 'REPORT'

# ---- MKCALENDAR (RFC 4791 5.3.1) ---------------------------------------------------

expect_status MKCALENDAR "$CAL/rfc/" 201 "${ALICE[@]}" "${XML[@]}" \
    --data-binary "@$FIX/caldav/reports/mkcalendar.xml"
expect_status MKCALENDAR "$CAL/rfc/" 405 "${ALICE[@]}"
expect_status MKCALENDAR "$CAL/rfc/inner/" 403 "${ALICE[@]}"
expect_body_contains 'calendar-collection-location-ok'
expect_status MKCALENDAR "$MG_BASE/dav/files/alice/cal/" 403 "${ALICE[@]}"
expect_status MKCALENDAR "$CAL/nowhere/deep/" 409 "${ALICE[@]}"
# a component set with VALARM fails whole: nothing is created
expect_status MKCALENDAR "$CAL/bad/" 403 "${ALICE[@]}" "${XML[@]}" --data \
    '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>
    <D:displayname>x</D:displayname><C:supported-calendar-component-set>
    <C:comp name="VALARM"/></C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>'
expect_body_contains 'supported-calendar-component'
expect_body_contains '424 Failed Dependency'
expect_status PROPFIND "$CAL/bad/" 404 "${ALICE[@]}" -H 'Depth: 0'
# extended MKCOL (RFC 5689) makes a calendar too
expect_status MKCOL "$CAL/ext/" 201 "${ALICE[@]}" "${XML[@]}" --data \
    '<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>
    <D:resourcetype><D:collection/><C:calendar/></D:resourcetype>
    <D:displayname>Extended</D:displayname></D:prop></D:set></D:mkcol>'
expect_status MKCOL "$CAL/ext2/" 403 "${ALICE[@]}" "${XML[@]}" --data \
    '<D:mkcol xmlns:D="DAV:"><D:set><D:prop><D:resourcetype><D:collection/><X:weird xmlns:X="x"/>
    </D:resourcetype></D:prop></D:set></D:mkcol>'
expect_body_contains 'valid-resourcetype'

PF_COLL='<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"
  xmlns:CS="http://calendarserver.org/ns/"><D:prop><D:resourcetype/><D:displayname/>
  <C:calendar-description/><C:supported-calendar-component-set/><C:supported-calendar-data/>
  <C:max-resource-size/><C:calendar-timezone/><CS:getctag/><D:sync-token/>
  <D:supported-report-set/><D:current-user-privilege-set/><D:quota-used-bytes/>
  <D:quota-available-bytes/><D:owner/><C:supported-collation-set/></D:prop></D:propfind>'
expect_status PROPFIND "$CAL/rfc/" 207 "${ALICE[@]}" -H 'Depth: 0' "${XML[@]}" --data "$PF_COLL"
expect_body_contains "Lisa's Events"
expect_body_contains 'Calendar restricted to events.'
expect_body_contains '<C:comp name="VEVENT"/><C:comp name="VTODO"/><C:comp name="VFREEBUSY"/>'
expect_body_not_contains '<C:comp name="VJOURNAL"/>'
expect_body_contains 'content-type="text/calendar" version="2.0"'
expect_body_matches '<C:max-resource-size>[0-9]+</C:max-resource-size>'
expect_body_contains 'TZID:US-Eastern'
expect_body_matches '<CS:getctag>[0-9]+</CS:getctag>'
expect_body_matches '<D:sync-token>http://meshgate/sync/[0-9]+</D:sync-token>'
expect_body_contains '<C:calendar-query/>'
expect_body_contains '<C:calendar-multiget/>'
expect_body_contains '<C:free-busy-query/>'
expect_body_contains '<D:sync-collection/>'
expect_body_contains '<D:privilege><D:write-content/></D:privilege>'
expect_body_matches '<D:quota-used-bytes>0</D:quota-used-bytes>'
expect_body_matches '<D:quota-available-bytes>[0-9]+</D:quota-available-bytes>'
expect_body_contains 'i;unicode-casemap'
expect_body_not_contains '404 Not Found'
ctag0=$(ms prop getctag)

# ---- the calendar of RFC 4791 Appendix B -------------------------------------------

for i in 1 2 3 4 5 6 7 8; do
    expect_status PUT "$CAL/rfc/abcd$i.ics" 201 "${ALICE[@]}" "${ICS[@]}" \
        --data-binary "@$FIX/caldav/rfc4791/abcd$i.ics"
    expect_header ETag '^"[0-9a-f]{32}"$'
done
expect_status GET "$CAL/rfc/abcd2.ics" 200 "${ALICE[@]}"
expect_body_file "$FIX/caldav/rfc4791/abcd2.ics"
expect_header Content-Type '^text/calendar'
expect_status PROPFIND "$CAL/rfc/" 207 "${ALICE[@]}" -H 'Depth: 0' "${XML[@]}" --data "$PF_COLL"
ctag1=$(ms prop getctag)
check "getctag changes when objects are added ($ctag0 -> $ctag1)" test "$ctag0" != "$ctag1"
expect_status PROPFIND "$CAL/rfc/" 207 "${ALICE[@]}" -H 'Depth: 1' "${XML[@]}" \
    --data "$(propfind_body getetag getcontenttype)"
expect_hrefs "PROPFIND Depth 1" abcd1.ics abcd2.ics abcd3.ics abcd4.ics abcd5.ics abcd6.ics \
    abcd7.ics abcd8.ics
expect_body_contains 'text/calendar; charset=utf-8; component=VTODO'

# 7.8.1 partial retrieval of events by time range
report 7.8.1-time-range-partial.xml "$CAL/rfc/"
expect_eq "$LAST_STATUS" 207 "7.8.1 status"
expect_hrefs "7.8.1" abcd2.ics abcd3.ics
d2=$(ms data abcd2.ics)
expect_contains "$d2" 'SUMMARY:Event #2 bis' '7.8.1 abcd2 keeps the override'
expect_contains "$d2" 'RRULE:FREQ=DAILY;COUNT=5' '7.8.1 abcd2 keeps RRULE'
expect_contains "$d2" 'TZID:US/Eastern' '7.8.1 abcd2 keeps the VTIMEZONE'
expect_not_contains "$d2" 'DTSTAMP' '7.8.1 abcd2 drops unasked properties'
expect_contains "$(ms data abcd3.ics)" 'SUMMARY:Event #3' '7.8.1 abcd3'
expect_not_contains "$(ms data abcd3.ics)" 'ATTENDEE' '7.8.1 abcd3 without ATTENDEE'
check "7.8.1 etags returned" test -n "$(ms etag abcd2.ics)"

# 7.8.2 partial retrieval of recurring events (limit-recurrence-set)
report 7.8.2-limit-recurrence-set.xml "$CAL/rfc/"
expect_hrefs "7.8.2" abcd2.ics abcd3.ics
d2=$(ms data abcd2.ics)
expect_contains "$d2" 'SUMMARY:Event #2 bis' '7.8.2 keeps the override in range'
expect_not_contains "$d2" 'Event #2 bis bis' '7.8.2 drops the override out of range'
expect_contains "$d2" 'RRULE:FREQ=DAILY;COUNT=5' '7.8.2 keeps the master'

# 7.8.3 expanded retrieval of recurring events
report 7.8.3-expand.xml "$CAL/rfc/"
expect_hrefs "7.8.3" abcd2.ics abcd3.ics
d2=$(ms data abcd2.ics)
expect_contains "$d2" 'DTSTART:20060103T170000Z' '7.8.3 instance of Jan 3 in UTC'
expect_contains "$d2" 'RECURRENCE-ID:20060103T170000Z' '7.8.3 RECURRENCE-ID of Jan 3'
expect_contains "$d2" 'DTSTART:20060104T190000Z' '7.8.3 the override of Jan 4'
expect_contains "$d2" 'RECURRENCE-ID:20060104T170000Z' '7.8.3 RECURRENCE-ID of the override'
expect_not_contains "$d2" 'RRULE' '7.8.3 no RRULE'
expect_not_contains "$d2" 'VTIMEZONE' '7.8.3 no VTIMEZONE'
expect_not_contains "$d2" '20060105T' '7.8.3 no instance out of range'
n=$(grep -c 'BEGIN:VEVENT' <<<"$d2" || true)
expect_eq "$n" 2 '7.8.3 two instances of abcd2'
expect_contains "$(ms data abcd3.ics)" 'DTSTART:20060104T150000Z' '7.8.3 abcd3 in UTC'

# 7.8.4 partial retrieval of stored free busy components
report 7.8.4-limit-freebusy-set.xml "$CAL/rfc/"
expect_hrefs "7.8.4" abcd8.ics
d8=$(ms data abcd8.ics)
expect_contains "$d8" 'FREEBUSY;FBTYPE=BUSY-TENTATIVE:20060102T100000Z/20060102T120000Z' \
    '7.8.4 period'
expect_not_contains "$d8" '20060103T100000Z' '7.8.4 other periods removed'
expect_not_contains "$d8" '20050531T230000Z' '7.8.4 old period removed'

# 7.8.5 retrieval of to-dos by alarm time range
report 7.8.5-alarm-time-range.xml "$CAL/rfc/"
expect_hrefs "7.8.5" abcd5.ics
expect_eq "$(ms data abcd5.ics | tr -d '\r')" "$(tr -d '\r' <"$FIX/caldav/rfc4791/abcd5.ics")" \
    '7.8.5 whole object returned'

# 7.8.6 retrieval of event by UID
report 7.8.6-uid.xml "$CAL/rfc/"
expect_hrefs "7.8.6" abcd3.ics

# 7.8.7 retrieval of events by PARTSTAT
report 7.8.7-partstat.xml "$CAL/rfc/"
expect_hrefs "7.8.7" abcd3.ics

# 7.8.8 retrieval of events only
report 7.8.8-events-only.xml "$CAL/rfc/"
expect_hrefs "7.8.8" abcd1.ics abcd2.ics abcd3.ics

# 7.8.9 retrieval of all pending to-dos
report 7.8.9-pending-todos.xml "$CAL/rfc/"
expect_hrefs "7.8.9" abcd4.ics abcd5.ics

# 7.8.10 attempt to use an unsupported collation
report 7.8.10-unsupported-collation.xml "$CAL/rfc/"
expect_eq "$LAST_STATUS" 403 '7.8.10 status'
expect_body_contains 'supported-collation'

# time-range on to-dos (RFC 4791 9.9: DUE only)
report 7.8-todo-time-range.xml "$CAL/rfc/"
expect_hrefs "VTODO time-range" abcd4.ics

# Depth 0 on one object, and Depth infinity over the whole home
report 7.8.8-events-only.xml "$CAL/rfc/abcd1.ics" 0
expect_hrefs "calendar-query on an object" abcd1.ics
report 7.8.6-uid.xml "$CAL/" infinity
expect_hrefs "calendar-query over the home" abcd3.ics

# 7.9.1 calendar-multiget, with a missing member
report 7.9.1-multiget.xml "$CAL/rfc/"
expect_eq "$LAST_STATUS" 207 '7.9.1 status'
got=$(ms hrefs | sort | tr '\n' ' ')
expect_eq "$got" "/dav/calendars/alice/rfc/abcd1.ics 200 /dav/calendars/alice/rfc/mtg1.ics 404 " \
    '7.9.1 hrefs and statuses'
expect_contains "$(ms data abcd1.ics)" 'Go Steelers!' '7.9.1 calendar-data'

# 7.10.1 free-busy-query
report 7.10.1-free-busy.xml "$CAL/rfc/"
expect_eq "$LAST_STATUS" 200 '7.10.1 status'
expect_header Content-Type '^text/calendar'
fb=$(tr -d '\r' <"$LAST_BODY_FILE")
expect_contains "$fb" 'FREEBUSY;FBTYPE=BUSY-TENTATIVE:20060104T150000Z/20060104T160000Z' \
    '7.10.1 tentative'
expect_contains "$fb" 'FREEBUSY;FBTYPE=BUSY:20060104T190000Z/20060104T200000Z' '7.10.1 override'
expect_contains "$fb" 'FREEBUSY;FBTYPE=BUSY:20060105T170000Z/20060105T180000Z' '7.10.1 Jan 5'
expect_contains "$fb" 'FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20060105T100000Z/20060105T120000Z' \
    '7.10.1 stored VFREEBUSY'
n=$(grep -c '^FREEBUSY' <<<"$fb" || true)
expect_eq "$n" 4 '7.10.1 exactly four busy periods'
expect_status REPORT "$CAL/rfc/" 400 "${ALICE[@]}" "${XML[@]}" --data \
    '<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"/>'

# unsupported reports and malformed queries
expect_status REPORT "$CAL/rfc/" 403 "${ALICE[@]}" "${XML[@]}" --data '<X:nope xmlns:X="x"/>'
expect_body_contains 'supported-report'
expect_status REPORT "$CAL/rfc/" 403 "${ALICE[@]}" "${XML[@]}" --data \
    '<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav"/>'
expect_body_contains 'valid-filter'
expect_status REPORT "$CAL/rfc/" 403 "${ALICE[@]}" "${XML[@]}" --data \
    '<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter><C:comp-filter
    name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="yesterday"/>
    </C:comp-filter></C:comp-filter></C:filter></C:calendar-query>'
expect_body_contains 'valid-filter'
expect_status REPORT "$MG_BASE/dav/files/alice/" 403 "${ALICE[@]}" "${XML[@]}" \
    --data-binary "@$FIX/caldav/reports/7.8.8-events-only.xml"

# ---- sync-collection (RFC 6578) ----------------------------------------------------------

report sync-initial.xml "$CAL/rfc/" 0
expect_eq "$LAST_STATUS" 207 'initial sync status'
expect_hrefs "initial sync (RFC 6578 3.4)" abcd1.ics abcd2.ics abcd3.ics abcd4.ics abcd5.ics \
    abcd6.ics abcd7.ics abcd8.ics
tok1=$(ms token)
check "initial sync token ($tok1)" grep -qE '^http://meshgate/sync/[0-9]+$' <<<"$tok1"
etag1=$(ms etag abcd1.ics)

sync_from() {
    mg_request REPORT "$CAL/rfc/" "${ALICE[@]}" "${XML[@]}" -H 'Depth: 1' --data \
        "<D:sync-collection xmlns:D=\"DAV:\"><D:sync-token>$1</D:sync-token>
        <D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"
}

sync_from "$tok1"
expect_hrefs "sync with no change" # nothing
tok2=$(ms token)
expect_eq "$tok2" "$tok1" 'token unchanged without changes'

# modify (If-Match), delete, add; each shows up once
sed 's/Go Steelers!/Go Steelers, again!/' "$FIX/caldav/rfc4791/abcd1.ics" >"$MG_TMP/abcd1.ics"
expect_status PUT "$CAL/rfc/abcd1.ics" 412 "${ALICE[@]}" "${ICS[@]}" -H 'If-Match: "0000"' \
    --data-binary "@$MG_TMP/abcd1.ics"
expect_status PUT "$CAL/rfc/abcd1.ics" 412 "${ALICE[@]}" "${ICS[@]}" -H 'If-None-Match: *' \
    --data-binary "@$MG_TMP/abcd1.ics"
expect_status GET "$CAL/rfc/abcd1.ics" 200 "${ALICE[@]}"
expect_body_file "$FIX/caldav/rfc4791/abcd1.ics"
expect_status PUT "$CAL/rfc/abcd1.ics" 204 "${ALICE[@]}" "${ICS[@]}" -H "If-Match: $etag1" \
    --data-binary "@$MG_TMP/abcd1.ics"
etag1b=$(header_value ETag)
check "ETag changes with the content ($etag1 -> $etag1b)" test "$etag1" != "$etag1b"
expect_status GET "$CAL/rfc/abcd1.ics" 304 "${ALICE[@]}" -H "If-None-Match: $etag1b"
expect_status DELETE "$CAL/rfc/abcd7.ics" 412 "${ALICE[@]}" -H "If-Match: $etag1"
expect_status DELETE "$CAL/rfc/abcd7.ics" 204 "${ALICE[@]}"
sed 's/E10BA47467C5C69BB74E8725/NEW-TODO-UID/' "$FIX/caldav/rfc4791/abcd7.ics" >"$MG_TMP/new.ics"
expect_status PUT "$CAL/rfc/new.ics" 201 "${ALICE[@]}" "${ICS[@]}" -H 'If-None-Match: *' \
    --data-binary "@$MG_TMP/new.ics"
sync_from "$tok1"
got=$(ms hrefs | awk '{ n = $1; sub(/.*\//, "", n); print n " " $2 }' | sort | tr '\n' ' ')
expect_eq "$got" "abcd1.ics 200 abcd7.ics 404 new.ics 200 " \
    'sync reports change, deletion, addition'
check "sync carries the new ETag" test "$(ms etag abcd1.ics)" == "$etag1b"
tok3=$(ms token)
check "token advances ($tok1 -> $tok3)" test "$tok3" != "$tok1"
sync_from "$tok3"
expect_hrefs "sync from the newest token"

# tokens this server never issued (RFC 6578 3.2: DAV:valid-sync-token)
for bad in 'http://meshgate/sync/abc' 'urn:nope' "http://meshgate/sync/99999999999999999999" \
    "http://meshgate/sync/$((${tok3##*/} + 1000000))"; do
    sync_from "$bad"
    expect_eq "$LAST_STATUS" 403 "unknown token $bad"
    expect_body_contains 'valid-sync-token'
done
# a limit truncates with a 507 response and a token to continue from (RFC 6578 3.6)
mg_request REPORT "$CAL/rfc/" "${ALICE[@]}" "${XML[@]}" --data \
    "<D:sync-collection xmlns:D=\"DAV:\"><D:sync-token>$tok1</D:sync-token>
    <D:sync-level>1</D:sync-level><D:limit><D:nresults>1</D:nresults></D:limit>
    <D:prop><D:getetag/></D:prop></D:sync-collection>"
expect_body_contains '507 Insufficient Storage'
tokp=$(ms token)
n=$(ms hrefs | grep -vc ' 507$' || true)
expect_eq "$n" 1 'limited sync returns one member'
sync_from "$tokp"
n=$(ms hrefs | wc -l)
expect_eq "$n" 2 'the rest follows from the partial token'

# ---- PROPPATCH (RFC 4918 9.2 with CalDAV and Apple properties) --------------------------

expect_status PROPPATCH "$CAL/rfc/" 207 "${ALICE[@]}" "${XML[@]}" --data \
    '<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"
    xmlns:A="http://apple.com/ns/ical/"><D:set><D:prop><D:displayname>Renamed</D:displayname>
    <C:calendar-description>New description</C:calendar-description>
    <A:calendar-color>#FF0000FF</A:calendar-color><A:calendar-order>3</A:calendar-order>
    </D:prop></D:set></D:propertyupdate>'
expect_body_not_contains '403'
expect_status PROPFIND "$CAL/rfc/" 207 "${ALICE[@]}" -H 'Depth: 0' "${XML[@]}" --data \
    '<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"
    xmlns:A="http://apple.com/ns/ical/"><D:prop><D:displayname/><C:calendar-description/>
    <A:calendar-color/><A:calendar-order/></D:prop></D:propfind>'
expect_body_contains 'Renamed'
expect_body_contains 'New description'
expect_body_contains '#FF0000FF'
expect_body_matches 'calendar-order[^>]*>3<'
# an invalid calendar-timezone and a protected property fail, and change nothing
expect_status PROPPATCH "$CAL/rfc/" 207 "${ALICE[@]}" "${XML[@]}" --data \
    '<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>
    <D:displayname>Should not stick</D:displayname>
    <C:calendar-timezone>not a time zone</C:calendar-timezone></D:prop></D:set>
    </D:propertyupdate>'
expect_body_contains 'valid-calendar-data'
expect_body_contains '424 Failed Dependency'
expect_status PROPPATCH "$CAL/rfc/" 207 "${ALICE[@]}" "${XML[@]}" --data \
    '<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>
    <C:supported-calendar-component-set><C:comp name="VEVENT"/>
    </C:supported-calendar-component-set></D:prop></D:set></D:propertyupdate>'
expect_body_contains 'cannot-modify-protected-property'
expect_status PROPFIND "$CAL/rfc/" 207 "${ALICE[@]}" -H 'Depth: 0' "${XML[@]}" \
    --data "$(propfind_body displayname)"
expect_body_contains 'Renamed'

# ---- UIDs: one per collection (RFC 4791 5.3.2.1 no-uid-conflict) -----------------------

expect_status PUT "$CAL/rfc/copy-of-abcd3.ics" 403 "${ALICE[@]}" "${ICS[@]}" \
    --data-binary "@$FIX/caldav/rfc4791/abcd3.ics"
expect_body_contains 'no-uid-conflict'
expect_body_contains '/dav/calendars/alice/rfc/abcd3.ics'
expect_status GET "$CAL/rfc/copy-of-abcd3.ics" 404 "${ALICE[@]}"
# a rename keeps the UID with the object; the old name is free afterwards
expect_status MOVE "$CAL/rfc/abcd3.ics" 201 "${ALICE[@]}" \
    -H "Destination: $CAL/rfc/event3.ics"
expect_status PUT "$CAL/rfc/abcd3.ics" 403 "${ALICE[@]}" "${ICS[@]}" \
    --data-binary "@$FIX/caldav/rfc4791/abcd3.ics"
expect_body_contains 'event3.ics'
# COPY into another calendar, once; a second copy there conflicts
expect_status COPY "$CAL/rfc/event3.ics" 201 "${ALICE[@]}" \
    -H "Destination: $CAL/personal/event3.ics"
expect_status COPY "$CAL/rfc/event3.ics" 403 "${ALICE[@]}" \
    -H "Destination: $CAL/personal/event3-again.ics"
expect_body_contains 'no-uid-conflict'
# a free-busy object does not go into a calendar that does not take VFREEBUSY
expect_status COPY "$CAL/rfc/abcd8.ics" 403 "${ALICE[@]}" \
    -H "Destination: $CAL/personal/abcd8.ics"
expect_body_contains 'supported-calendar-component'
# objects live in calendars only
expect_status PUT "$CAL/loose.ics" 403 "${ALICE[@]}" "${ICS[@]}" \
    --data-binary "@$FIX/caldav/rfc4791/abcd1.ics"
expect_status COPY "$CAL/rfc/event3.ics" 403 "${ALICE[@]}" -H "Destination: $CAL/inbox/e.ics"

# ---- a large object (stored in chunks, not inline) -----------------------------------------

{
    printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:big-1\r\n'
    printf 'DTSTAMP:20240101T000000Z\r\nDTSTART:20060104T120000Z\r\nDURATION:PT1H\r\n'
    printf 'SUMMARY:A big one\r\nDESCRIPTION:'
    { head -c 300000 /dev/zero | tr '\0' 'x'; echo; } | fold -w 70 | sed '2,$s/^/ /; s/$/\r/'
    printf 'END:VEVENT\r\nEND:VCALENDAR\r\n'
} >"$MG_TMP/big.ics"
expect_status PUT "$CAL/rfc/big.ics" 201 "${ALICE[@]}" "${ICS[@]}" --data-binary "@$MG_TMP/big.ics"
expect_status GET "$CAL/rfc/big.ics" 200 "${ALICE[@]}"
expect_body_file "$MG_TMP/big.ics"
report 7.8.1-time-range-partial.xml "$CAL/rfc/"
check "a big object is found by a time-range query" grep -q 'big.ics' "$LAST_BODY_FILE"
mg_request REPORT "$CAL/rfc/" "${ALICE[@]}" "${XML[@]}" --data \
    '<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop>
    <C:calendar-data/></D:prop><D:href>/dav/calendars/alice/rfc/big.ics</D:href>
    </C:calendar-multiget>'
ms data big.ics >"$MG_TMP/big.out"
expect_eq "$(tr -d '\r' <"$MG_TMP/big.out" | sha256sum)" \
    "$(tr -d '\r' <"$MG_TMP/big.ics" | sha256sum)" \
    'multiget returns the big object whole'
expect_status DELETE "$CAL/rfc/big.ics" 204 "${ALICE[@]}"

# ---- whole collections -------------------------------------------------------------------

# MOVE (rename) a calendar: its UID index moves with it
expect_status MOVE "$CAL/ext/" 201 "${ALICE[@]}" -H "Destination: $CAL/ext-renamed/"
expect_status PUT "$CAL/ext-renamed/a.ics" 201 "${ALICE[@]}" "${ICS[@]}" \
    --data-binary "@$FIX/caldav/rfc4791/abcd1.ics"
expect_status PUT "$CAL/ext-renamed/b.ics" 403 "${ALICE[@]}" "${ICS[@]}" \
    --data-binary "@$FIX/caldav/rfc4791/abcd1.ics"
expect_status COPY "$CAL/ext-renamed/" 201 "${ALICE[@]}" -H "Destination: $CAL/ext-copy/"
expect_status PUT "$CAL/ext-copy/b.ics" 403 "${ALICE[@]}" "${ICS[@]}" \
    --data-binary "@$FIX/caldav/rfc4791/abcd1.ics"
expect_body_contains 'ext-copy/a.ics'
expect_status DELETE "$CAL/inbox/" 403 "${ALICE[@]}"
expect_status DELETE "$CAL/rfc/" 204 "${ALICE[@]}"
expect_status PROPFIND "$CAL/rfc/" 404 "${ALICE[@]}" -H 'Depth: 0'
expect_status GET "$CAL/rfc/abcd1.ics" 404 "${ALICE[@]}"
# a new calendar of the same name starts empty, its UIDs free
expect_status MKCALENDAR "$CAL/rfc/" 201 "${ALICE[@]}"
expect_status PUT "$CAL/rfc/abcd3.ics" 201 "${ALICE[@]}" "${ICS[@]}" \
    --data-binary "@$FIX/caldav/rfc4791/abcd3.ics"
expect_status PROPFIND "$CAL/rfc/" 207 "${ALICE[@]}" -H 'Depth: 1' "${XML[@]}" \
    --data "$(propfind_body getetag)"
expect_hrefs "recreated calendar" abcd3.ics

# ---- principals: expand-property and searches --------------------------------------------

expect_status REPORT "$MG_BASE/dav/principals/alice/" 207 "${ALICE[@]}" "${XML[@]}" -H 'Depth: 0' \
    --data '<D:expand-property xmlns:D="DAV:"><D:property name="displayname"/>
    <D:property name="calendar-home-set" namespace="urn:ietf:params:xml:ns:caldav"/>
    </D:expand-property>'
expect_body_contains '/dav/calendars/alice/'
expect_status REPORT "$MG_BASE/dav/principals/" 207 "${ALICE[@]}" "${XML[@]}" --data \
    '<D:principal-property-search xmlns:D="DAV:"><D:property-search><D:prop><D:displayname/>
    </D:prop><D:match>ali</D:match></D:property-search><D:prop><D:displayname/></D:prop>
    </D:principal-property-search>'
expect_body_contains '/dav/principals/alice/'
expect_status REPORT "$MG_BASE/dav/principals/" 200 "${ALICE[@]}" "${XML[@]}" --data \
    '<D:principal-search-property-set xmlns:D="DAV:"/>'

# bob sees none of it
expect_status PROPFIND "$CAL/personal/" 403 "${BOB[@]}" -H 'Depth: 0'
expect_status REPORT "$CAL/personal/" 403 "${BOB[@]}" "${XML[@]}" \
    --data-binary "@$FIX/caldav/reports/7.8.8-events-only.xml"

expect_alive "CalDAV reports"
mg_finish
