#!/usr/bin/env bash
# test_carddav_reports.sh - CardDAV (RFC 6352) with curl and XML fixtures:
# discovery of the address book home, extended MKCOL (RFC 5689), vCard 3.0
# and 4.0 objects (groups, folded lines, quoted-printable), the
# addressbook-query examples of RFC 6352 8.6 (property filters, anyof/allof,
# truncation by limit), param-filter, is-not-defined, collations and match
# types, addressbook-multiget, sync-collection, ETags and UID rules.
#
#   bash tests/integration/test_carddav_reports.sh /path/to/meshgate
source "$(dirname "$0")/lib.sh"
mg_init "$@"
require_cmd /usr/bin/python3
mg_add_standard_users
mg_start

FIX="$(cd "$(dirname "$0")" && pwd)/fixtures"
AB="$MG_BASE/dav/addressbooks/alice"
XML=(-H 'Content-Type: application/xml; charset=utf-8')
VCF=(-H 'Content-Type: text/vcard; charset=utf-8')

ms() {
    /usr/bin/python3 "$FIX/multistatus.py" "$LAST_BODY_FILE" "$@" 2>/dev/null || true
}

expect_hrefs() {
    local desc=$1 got want
    shift
    got=$(ms hrefs | awk '$1 !~ /\/$/ { n = $1; sub(/.*\//, "", n); print n " " $2 }' | sort |
        tr '\n' ' ')
    want=$(for n in "$@"; do echo "$n 200"; done | sort | tr '\n' ' ')
    expect_eq "$got" "$want" "$desc: members"
}

report() {
    mg_request REPORT "$2" "${ALICE[@]}" "${XML[@]}" -H "Depth: ${3:-1}" \
        --data-binary "@$FIX/carddav/reports/$1"
}

# ---- discovery (RFC 6352 7.1.1) and the default address book ---------------------------

expect_status PROPFIND "$MG_BASE/dav/principals/alice/" 207 "${ALICE[@]}" -H 'Depth: 0' \
    "${XML[@]}" --data '<D:propfind xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav">
    <D:prop><CR:addressbook-home-set/></D:prop></D:propfind>'
expect_body_contains '<CR:addressbook-home-set><D:href>/dav/addressbooks/alice/</D:href>'
expect_status PROPFIND "$AB/" 207 "${ALICE[@]}" -H 'Depth: 1' "${XML[@]}" --data \
    '<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:displayname/></D:prop></D:propfind>'
expect_body_matches '/dav/addressbooks/alice/contacts/</D:href>.*<CR:addressbook/>.*Contacts'

# ---- extended MKCOL (RFC 5689) ----------------------------------------------------------

expect_status MKCOL "$AB/book/" 201 "${ALICE[@]}" "${XML[@]}" \
    --data-binary "@$FIX/carddav/reports/mkcol-addressbook.xml"
expect_status MKCOL "$AB/book/" 405 "${ALICE[@]}" "${XML[@]}" \
    --data-binary "@$FIX/carddav/reports/mkcol-addressbook.xml"
expect_status MKCALENDAR "$AB/cal/" 403 "${ALICE[@]}"
expect_status MKCOL "$AB/book/inner/" 403 "${ALICE[@]}"
expect_status PROPFIND "$AB/book/" 207 "${ALICE[@]}" -H 'Depth: 0' "${XML[@]}" --data \
    '<D:propfind xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"
    xmlns:CS="http://calendarserver.org/ns/"><D:prop><D:resourcetype/><D:displayname/>
    <CR:addressbook-description/><CR:supported-address-data/><CR:max-resource-size/>
    <D:supported-report-set/><CS:getctag/><D:sync-token/></D:prop></D:propfind>'
expect_body_contains '<CR:addressbook/>'
expect_body_contains "Lisa's Contacts"
expect_body_contains 'My primary address book.'
expect_body_contains 'content-type="text/vcard" version="3.0"'
expect_body_contains 'content-type="text/vcard" version="4.0"'
expect_body_contains '<CR:addressbook-query/>'
expect_body_contains '<CR:addressbook-multiget/>'
expect_body_not_contains '404 Not Found'

# ---- objects ---------------------------------------------------------------------------

for f in v102 v103 v104 v105-v4-groups v106-qp; do
    expect_status PUT "$AB/book/$f.vcf" 201 "${ALICE[@]}" "${VCF[@]}" -H 'If-None-Match: *' \
        --data-binary "@$FIX/carddav/rfc6352/$f.vcf"
    expect_header ETag '^"[0-9a-f]{32}"$'
done
expect_status GET "$AB/book/v105-v4-groups.vcf" 200 "${ALICE[@]}"
expect_body_file "$FIX/carddav/rfc6352/v105-v4-groups.vcf"
expect_header Content-Type '^text/vcard'
etag104=$(header_value ETag)

# ---- addressbook-query (RFC 6352 8.6) -------------------------------------------------------

report 8.6.1-nickname-equals.xml "$AB/book/"
expect_eq "$LAST_STATUS" 207 '8.6.1 status'
expect_hrefs "8.6.1 NICKNAME equals me" v102.vcf
d=$(ms data v102.vcf | tr -d '\r')
expect_contains "$d" 'NICKNAME:me' '8.6.1 NICKNAME returned'
expect_contains "$d" 'EMAIL;TYPE=INTERNET,WORK:daboo@example.com' '8.6.1 EMAIL returned'
expect_contains "$d" 'FN:Cyrus Daboo' '8.6.1 FN returned'
expect_not_contains "$d" 'TEL' '8.6.1 unasked TEL left out'
expect_not_contains "$d" 'N:Daboo' '8.6.1 unasked N left out'

report 8.6.2-anyof-fn-email.xml "$AB/book/"
expect_hrefs "8.6.2 anyof FN or EMAIL contains daboo" v102.vcf v104.vcf

report allof-fn-email.xml "$AB/book/"
expect_hrefs "allof FN contains and EMAIL starts-with" v102.vcf

report 8.6.3-truncated.xml "$AB/book/"
got=$(ms hrefs | awk '{ print $2 }' | sort | tr '\n' ' ')
expect_eq "$got" "200 507 " '8.6.3 one result and a 507 for the truncation'
expect_body_contains 'number-of-matches-within-limits'

report param-filter-type.xml "$AB/book/"
expect_hrefs "param-filter TYPE equals work" v102.vcf v105-v4-groups.vcf

report nickname-not-defined.xml "$AB/book/"
expect_hrefs "is-not-defined NICKNAME" v103.vcf v105-v4-groups.vcf v106-qp.vcf

report unicode-casemap.xml "$AB/book/"
expect_hrefs "i;unicode-casemap folds Ü" v105-v4-groups.vcf

report group-ends-with-negate.xml "$AB/book/"
expect_hrefs "group.NAME, ends-with and negate-condition" v105-v4-groups.vcf

report unsupported-collation.xml "$AB/book/"
expect_eq "$LAST_STATUS" 403 'unsupported collation status'
expect_body_contains 'supported-collation'

# quoted-printable with a soft line break is decoded for matching
mg_request REPORT "$AB/book/" "${ALICE[@]}" "${XML[@]}" -H 'Depth: 1' --data \
    '<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop>
    <D:getetag/></D:prop><C:filter><C:prop-filter name="FN"><C:text-match>françois lefèvre
    </C:text-match></C:prop-filter></C:filter></C:addressbook-query>'
expect_hrefs "quoted-printable FN" # the query text ends in a newline: no match
mg_request REPORT "$AB/book/" "${ALICE[@]}" "${XML[@]}" -H 'Depth: 1' --data \
    '<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop>
    <D:getetag/></D:prop><C:filter><C:prop-filter name="FN">
    <C:text-match>françois lefèvre</C:text-match>
    </C:prop-filter></C:filter></C:addressbook-query>'
expect_hrefs "quoted-printable FN" v106-qp.vcf
# escaped commas are compared as text
mg_request REPORT "$AB/book/" "${ALICE[@]}" "${XML[@]}" -H 'Depth: 1' --data \
    '<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop>
    <D:getetag/></D:prop><C:filter><C:prop-filter name="NOTE"><C:text-match
    match-type="contains">things, commas</C:text-match></C:prop-filter></C:filter>
    </C:addressbook-query>'
expect_hrefs "escaped commas" v103.vcf
# an empty filter matches every card
mg_request REPORT "$AB/book/" "${ALICE[@]}" "${XML[@]}" -H 'Depth: 1' --data \
    '<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop>
    <D:getetag/></D:prop><C:filter/></C:addressbook-query>'
expect_hrefs "empty filter" v102.vcf v103.vcf v104.vcf v105-v4-groups.vcf v106-qp.vcf
expect_status REPORT "$AB/book/" 403 "${ALICE[@]}" "${XML[@]}" --data \
    '<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop>
    <D:getetag/></D:prop></C:addressbook-query>'
expect_body_contains 'valid-filter'
expect_status REPORT "$MG_BASE/dav/calendars/alice/personal/" 403 "${ALICE[@]}" "${XML[@]}" \
    --data-binary "@$FIX/carddav/reports/8.6.1-nickname-equals.xml"
expect_body_contains 'supported-report'

# ---- addressbook-multiget (RFC 6352 8.7) ---------------------------------------------------

report multiget.xml "$AB/book/"
got=$(ms hrefs | awk '{ n = $1; sub(/.*\//, "", n); print n " " $2 }' | sort | tr '\n' ' ')
expect_eq "$got" "missing.vcf 404 v102.vcf 200 v104.vcf 200 " 'multiget hrefs and statuses'
expect_contains "$(ms data v104.vcf)" 'FN:Oliver Daboo' 'multiget address-data'

# ---- sync-collection (RFC 6578) ---------------------------------------------------------------

mg_request REPORT "$AB/book/" "${ALICE[@]}" "${XML[@]}" --data \
    '<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level>
    <D:prop><D:getetag/></D:prop></D:sync-collection>'
expect_hrefs "initial sync" v102.vcf v103.vcf v104.vcf v105-v4-groups.vcf v106-qp.vcf
tok=$(ms token)
expect_status DELETE "$AB/book/v103.vcf" 204 "${ALICE[@]}"
sed 's/FN:Oliver Daboo/FN:Oliver M. Daboo/' "$FIX/carddav/rfc6352/v104.vcf" >"$MG_TMP/v104.vcf"
expect_status PUT "$AB/book/v104.vcf" 412 "${ALICE[@]}" "${VCF[@]}" -H "If-Match: $etag104" \
    --data-binary "@$MG_TMP/v104.vcf"
expect_status GET "$AB/book/v104.vcf" 200 "${ALICE[@]}"
expect_status PUT "$AB/book/v104.vcf" 204 "${ALICE[@]}" "${VCF[@]}" \
    -H "If-Match: $(header_value ETag)" --data-binary "@$MG_TMP/v104.vcf"
mg_request REPORT "$AB/book/" "${ALICE[@]}" "${XML[@]}" --data \
    "<D:sync-collection xmlns:D=\"DAV:\"><D:sync-token>$tok</D:sync-token>
    <D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"
got=$(ms hrefs | awk '{ n = $1; sub(/.*\//, "", n); print n " " $2 }' | sort | tr '\n' ' ')
expect_eq "$got" "v103.vcf 404 v104.vcf 200 " 'sync reports the change and the deletion'

# ---- UIDs, PROPPATCH, DELETE ---------------------------------------------------------------

expect_status PUT "$AB/book/dup.vcf" 403 "${ALICE[@]}" "${VCF[@]}" \
    --data-binary "@$FIX/carddav/rfc6352/v102.vcf"
expect_body_contains 'no-uid-conflict'
expect_body_contains '/dav/addressbooks/alice/book/v102.vcf'
expect_status COPY "$AB/book/v102.vcf" 201 "${ALICE[@]}" -H "Destination: $AB/contacts/v102.vcf"
expect_status PUT "$AB/contacts/other.vcf" 403 "${ALICE[@]}" "${VCF[@]}" \
    --data-binary "@$FIX/carddav/rfc6352/v102.vcf"
expect_status PROPPATCH "$AB/book/" 207 "${ALICE[@]}" "${XML[@]}" --data \
    '<D:propertyupdate xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>
    <CR:addressbook-description>Renamed book</CR:addressbook-description>
    <D:displayname>Book</D:displayname></D:prop></D:set></D:propertyupdate>'
expect_body_not_contains '403'
expect_status PROPFIND "$AB/book/" 207 "${ALICE[@]}" -H 'Depth: 0' "${XML[@]}" --data \
    '<D:propfind xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop>
    <CR:addressbook-description/></D:prop></D:propfind>'
expect_body_contains 'Renamed book'
expect_status DELETE "$AB/book/" 204 "${ALICE[@]}"
expect_status GET "$AB/book/v102.vcf" 404 "${ALICE[@]}"
expect_status PROPFIND "$AB/contacts/v102.vcf" 207 "${ALICE[@]}" -H 'Depth: 0'

expect_alive "CardDAV reports"
mg_finish
