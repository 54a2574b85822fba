#!/usr/bin/env bash
# test_vdirsyncer.sh - vdirsyncer two-way sync of a calendar and an address
# book with local folders: discovery from /.well-known/, items created on
# both sides, modified on both sides, deleted on both sides, a conflict
# (reported, then resolved), and a sync without changes that changes nothing.
#
#   bash tests/integration/test_vdirsyncer.sh /path/to/meshgate
source "$(dirname "$0")/lib.sh"
mg_init "$@"
require_cmd vdirsyncer /usr/bin/python3
mg_add_standard_users
mg_start

FIX="$(cd "$(dirname "$0")" && pwd)/fixtures"
CAL="$MG_BASE/dav/calendars/alice/personal"
AB="$MG_BASE/dav/addressbooks/alice/contacts"
ICS=(-H 'Content-Type: text/calendar; charset=utf-8')
VCF=(-H 'Content-Type: text/vcard; charset=utf-8')
XML=(-H 'Content-Type: application/xml; charset=utf-8')
V="$MG_TMP/vdir"
mkdir -p "$V/status" "$V/cal" "$V/card"
printf 'y\n%.0s' $(seq 1 20) >"$V/yes"

# config RESOLUTION: a config whose pairs resolve conflicts that way ("" = not at all)
config() {
    local res=""
    if [[ -n "$1" ]]; then res="conflict_resolution = \"$1\""; fi
    cat <<EOF
[general]
status_path = "$V/status/"

[pair cal]
a = "cal_local"
b = "cal_remote"
collections = ["personal"]
$res

[storage cal_local]
type = "filesystem"
path = "$V/cal/"
fileext = ".ics"

[storage cal_remote]
type = "caldav"
url = "$MG_BASE/"
username = "alice"
password = "$ALICE_PW"

[pair card]
a = "card_local"
b = "card_remote"
collections = ["contacts"]
$res

[storage card_local]
type = "filesystem"
path = "$V/card/"
fileext = ".vcf"

[storage card_remote]
type = "carddav"
url = "$MG_BASE/"
username = "alice"
password = "$ALICE_PW"
EOF
}
config "" >"$V/config"
config "b wins" >"$V/config-b-wins"

# vds CONFIG ARGS...: runs vdirsyncer; output in $V/out, status in VDS_RC
vds() {
    local cfg=$1
    shift
    VDS_RC=0
    # discover asks before it creates local folders: answer yes
    timeout 120 vdirsyncer -c "$cfg" "$@" <"$V/yes" >"$V/out" 2>&1 || VDS_RC=$?
}

# local_with DIR TEXT: the local file holding TEXT (empty when none)
local_with() {
    grep -rlF -- "$2" "$1" 2>/dev/null | head -n 1 || true
}

# remote_count URL TEXT: how many objects of the collection hold TEXT
remote_count() {
    local kind=$1 url=$2 text=$3 body
    if [[ $kind == cal ]]; then
        body='<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop>
        <C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"/></C:filter>
        </C:calendar-query>'
    else
        body='<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
        <D:prop><C:address-data/></D:prop><C:filter/></C:addressbook-query>'
    fi
    mg_request REPORT "$url/" "${ALICE[@]}" "${XML[@]}" -H 'Depth: 1' --data "$body"
    grep -cF -- "$text" "$LAST_BODY_FILE" || true
}

event() { # event UID SUMMARY
    printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:%s\r\n' "$1"
    printf 'DTSTAMP:20240101T000000Z\r\nDTSTART:20240601T100000Z\r\nDTEND:20240601T110000Z\r\n'
    printf 'SUMMARY:%s\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n' "$2"
}

card() { # card UID FN
    printf 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:%s\r\nFN:%s\r\nN:%s;;;;\r\nEND:VCARD\r\n' \
        "$1" "$2" "$2"
}

# ---- discovery ----------------------------------------------------------------------

vds "$V/config" discover
expect_eq "$VDS_RC" 0 "vdirsyncer discover ($(tail -n 3 "$V/out" | tr '\n' ' '))"
check "local calendar folder made" test -d "$V/cal/personal"
check "local address book folder made" test -d "$V/card/contacts"

# ---- created on both sides --------------------------------------------------------------

event srv-event-1 'Created on the server' >"$MG_TMP/e1.ics"
expect_status PUT "$CAL/srv-event-1.ics" 201 "${ALICE[@]}" "${ICS[@]}" \
    --data-binary "@$MG_TMP/e1.ics"
card srv-card-1 'Server Person' >"$MG_TMP/c1.vcf"
expect_status PUT "$AB/srv-card-1.vcf" 201 "${ALICE[@]}" "${VCF[@]}" --data-binary "@$MG_TMP/c1.vcf"
event local-event-2 'Created locally' >"$V/cal/personal/local-event-2.ics"
card local-card-2 'Local Person' >"$V/card/contacts/local-card-2.vcf"

vds "$V/config" sync
expect_eq "$VDS_RC" 0 "first sync ($(tail -n 5 "$V/out" | tr '\n' ' '))"
check "server event downloaded" test -n "$(local_with "$V/cal/personal" 'Created on the server')"
check "server card downloaded" test -n "$(local_with "$V/card/contacts" 'Server Person')"
expect_eq "$(remote_count cal "$CAL" 'SUMMARY:Created locally')" 1 "local event uploaded"
expect_eq "$(remote_count card "$AB" 'FN:Local Person')" 1 "local card uploaded"

# ---- modified on both sides -----------------------------------------------------------------

mg_request GET "$CAL/srv-event-1.ics" "${ALICE[@]}"
etag=$(header_value ETag)
event srv-event-1 'Changed on the server' >"$MG_TMP/e1b.ics"
expect_status PUT "$CAL/srv-event-1.ics" 204 "${ALICE[@]}" "${ICS[@]}" -H "If-Match: $etag" \
    --data-binary "@$MG_TMP/e1b.ics"
f=$(local_with "$V/card/contacts" 'Local Person')
card local-card-2 'Local Person Renamed' >"$f"

vds "$V/config" sync
expect_eq "$VDS_RC" 0 "second sync ($(tail -n 5 "$V/out" | tr '\n' ' '))"
check "server change arrives locally" \
    test -n "$(local_with "$V/cal/personal" 'Changed on the server')"
check "old local version replaced" test -z "$(local_with "$V/cal/personal" 'Created on the server')"
expect_eq "$(remote_count card "$AB" 'FN:Local Person Renamed')" 1 "local change uploaded"
expect_eq "$(remote_count card "$AB" 'FN:Local Person\r')" 0 "old server version replaced"

# ---- deleted on both sides -------------------------------------------------------------------

rm -f "$(local_with "$V/cal/personal" 'Created locally')"
expect_status DELETE "$AB/srv-card-1.vcf" 204 "${ALICE[@]}"
vds "$V/config" sync
expect_eq "$VDS_RC" 0 "third sync ($(tail -n 5 "$V/out" | tr '\n' ' '))"
expect_eq "$(remote_count cal "$CAL" 'SUMMARY:Created locally')" 0 \
    "local deletion reaches the server"
check "server deletion reaches the folder" \
    test -z "$(local_with "$V/card/contacts" 'Server Person')"
expect_eq "$(remote_count cal "$CAL" 'SUMMARY:Changed on the server')" 1 "the other event stays"

# ---- a conflict: both sides change one event ----------------------------------------------------

mg_request GET "$CAL/srv-event-1.ics" "${ALICE[@]}"
etag=$(header_value ETag)
event srv-event-1 'Conflict: server side' >"$MG_TMP/e1c.ics"
expect_status PUT "$CAL/srv-event-1.ics" 204 "${ALICE[@]}" "${ICS[@]}" -H "If-Match: $etag" \
    --data-binary "@$MG_TMP/e1c.ics"
f=$(local_with "$V/cal/personal" 'Changed on the server')
event srv-event-1 'Conflict: local side' >"$f"
vds "$V/config" sync
check "an unresolved conflict fails the sync" test "$VDS_RC" -ne 0
check "vdirsyncer names the conflict" grep -qi 'conflict' "$V/out"
expect_eq "$(remote_count cal "$CAL" 'Conflict: server side')" 1 \
    "the server version is not overwritten"
vds "$V/config-b-wins" sync
expect_eq "$VDS_RC" 0 "sync with conflict_resolution b wins ($(tail -n 5 "$V/out" | tr '\n' ' '))"
check "the server's version wins locally" \
    test -n "$(local_with "$V/cal/personal" 'Conflict: server side')"
check "the local version is gone" test -z "$(local_with "$V/cal/personal" 'Conflict: local side')"

# ---- nothing changed: nothing to do --------------------------------------------------------------

mg_request PROPFIND "$CAL/" "${ALICE[@]}" -H 'Depth: 0' "${XML[@]}" --data \
    '<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><CS:getctag/>
    </D:prop></D:propfind>'
ctag=$(/usr/bin/python3 "$FIX/multistatus.py" "$LAST_BODY_FILE" prop getctag || true)
vds "$V/config" sync
expect_eq "$VDS_RC" 0 "sync without changes"
check "no uploads or downloads without changes" \
    bash -c "! grep -qiE 'copying|updating|deleting' '$V/out'"
mg_request PROPFIND "$CAL/" "${ALICE[@]}" -H 'Depth: 0' "${XML[@]}" --data \
    '<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><CS:getctag/>
    </D:prop></D:propfind>'
expect_eq "$(/usr/bin/python3 "$FIX/multistatus.py" "$LAST_BODY_FILE" prop getctag || true)" \
    "$ctag" "the calendar is unchanged by a sync without changes"

expect_alive "vdirsyncer"
mg_finish
