#!/usr/bin/env bash
# test_api_cross.sh - REST and DAV see the same contacts and calendars: a
# contact or event created over REST is fetched over CardDAV/CalDAV (GET,
# multiget REPORT, vdirsyncer, the python caldav library) with the same ETag
# and the same content, and the other way round; an update over REST gives
# DAV the new ETag and shows in sync-collection; a delete over DAV is a 404
# over REST; a change vdirsyncer uploads is what REST reads next.
#
#   bash tests/integration/test_api_cross.sh /path/to/meshgate
source "$(dirname "$0")/lib.sh"
mg_init "$@"
require_cmd jq vdirsyncer /usr/bin/python3
if ! /usr/bin/python3 -c 'import caldav' 2>/dev/null; then
    fail "python3-caldav is not installed (run scripts/setup.sh --test)"
    mg_finish
fi
mg_add_standard_users
mg_start
API="$MG_BASE/api/v1"
RAB="$API/addressbooks/contacts/contacts"
REV="$API/calendars/personal/events"
DAB="$MG_BASE/dav/addressbooks/alice/contacts"
DCAL="$MG_BASE/dav/calendars/alice/personal"
J=(-H 'Content-Type: application/json')
XML=(-H 'Content-Type: application/xml; charset=utf-8')
VCF=(-H 'Content-Type: text/vcard; charset=utf-8')
ICS=(-H 'Content-Type: text/calendar; charset=utf-8')
FIX="$(cd "$(dirname "$0")" && pwd)/fixtures"

AA=(-H "Authorization: Bearer $(mg_login alice "$ALICE_PW")")

ms() {
    /usr/bin/python3 "$FIX/multistatus.py" "$LAST_BODY_FILE" "$@" 2>/dev/null || true
}

# sync REPORT of a collection from TOKEN ("" = everything)
sync_report() {
    mg_request REPORT "$1/" "${ALICE[@]}" "${XML[@]}" --data-binary \
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><D:sync-collection xmlns:D=\"DAV:\"><D:sync-token>$2</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"
}

# expect_synced NAME DESC: the last sync-collection reports NAME as changed
# (200). On a single node it reports nothing else; a cluster (the suite run by
# tests/cluster/test_dav_cluster.sh) reports every change of its reorder
# window (dav/sync.c) again, so there NAME must be among them.
expect_synced() {
    local got
    got=$(ms hrefs | awk '{ n = $1; sub(/.*\//, "", n); print n " " $2 }' | sort | tr '\n' ' ')
    if [[ "${MESHGATE_WRAPPER:-}" == *cluster_wrapper* ]]; then
        expect_contains "$got" "$1 200 " "sync-collection reports $2 (among the cluster's recent changes)"
    else
        expect_eq "$got" "$1 200 " "sync-collection reports exactly $2"
    fi
}

# ---- a contact made over REST, read over CardDAV --------------------------------------------

CARD=$(jq -cn '["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", "Ada Lovelace"],
    ["n", {}, "text", ["Lovelace", "Ada", "", "", ""]], ["email", {"type": "home"}, "text", "ada@example.com"],
    ["note", {}, "text", "first line\nsecond, with comma"], ["uid", {}, "uri", "ada-1"]]]')
expect_status POST "$RAB" 201 "${AA[@]}" "${J[@]}" --data-binary "$CARD"
ADA_ETAG=$(header_value ETag)
expect_status GET "$DAB/ada-1.vcf" 200 "${ALICE[@]}"
expect_eq "$(header_value ETag)" "$ADA_ETAG" "CardDAV GET: the ETag REST gave"
expect_header Content-Type '^text/vcard'
expect_body_contains "FN:Ada Lovelace"
expect_body_contains "N:Lovelace;Ada;;;"
expect_body_contains "NOTE:first line\\nsecond\\, with comma"
expect_body_contains "UID:ada-1"
mg_request REPORT "$DAB/" "${ALICE[@]}" "${XML[@]}" -H 'Depth: 1' --data-binary \
    '<?xml version="1.0" encoding="utf-8"?><C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop><D:href>/dav/addressbooks/alice/contacts/ada-1.vcf</D:href></C:addressbook-multiget>'
expect_eq "$LAST_STATUS" 207 "addressbook-multiget"
expect_eq "$(ms etag ada-1.vcf)" "$ADA_ETAG" "addressbook-multiget: the ETag REST gave"
check "addressbook-multiget: the vCard REST stored" grep -qF 'FN:Ada Lovelace' <(ms data ada-1.vcf)

# ---- a contact made over CardDAV, read over REST ---------------------------------------------

printf 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:dav-card-1\r\nFN:Grace Hopper\r\nN:Hopper;Grace;;;\r\nitem1.EMAIL;TYPE=INTERNET:grace@example.com\r\nitem1.X-ABLABEL:Navy\r\nNOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:caf=C3=A9\r\nBDAY:1906-12-09\r\nEND:VCARD\r\n' \
    >"$MG_TMP/grace.vcf"
expect_status PUT "$DAB/grace.vcf" 201 "${ALICE[@]}" "${VCF[@]}" --data-binary "@$MG_TMP/grace.vcf"
GRACE_ETAG=$(header_value ETag)
expect_status GET "$RAB" 200 "${AA[@]}"
expect_eq "$(jget '[.items[].id] | sort | join(",")')" "ada-1.vcf,grace.vcf" "REST lists the CardDAV contact"
expect_eq "$(jget '.items[] | select(.id == "grace.vcf") | .etag')" "$GRACE_ETAG" "REST listing: the CardDAV ETag"
expect_status GET "$RAB/grace.vcf" 200 "${AA[@]}"
expect_eq "$(header_value ETag)" "$GRACE_ETAG" "REST GET: the CardDAV ETag"
expect_eq "$(jget '.jcard[1] | map(select(.[0] == "fn"))[0][3]')" "Grace Hopper" "jCard fn"
expect_eq "$(jget '.jcard[1] | map(select(.[0] == "email"))[0][1].group')" item1 "jCard keeps the group"
expect_eq "$(jget '.jcard[1] | map(select(.[0] == "x-ablabel"))[0][3]')" Navy "jCard keeps X- properties"
expect_eq "$(jget '.jcard[1] | map(select(.[0] == "note"))[0][3]')" "café" "jCard: quoted-printable decoded"
expect_eq "$(jget '.jcard[1] | map(select(.[0] == "bday"))[0][3]')" 1906-12-09 "jCard: a 3.0 date"

# ---- an update over REST: DAV sees the new ETag, sync-collection the change ------------------

sync_report "$DAB" ""
TOKEN=$(ms token)
check "a sync token" test -n "$TOKEN"
mg_request GET "$RAB/grace.vcf" "${AA[@]}"
jq -c '.jcard | (.[1] |= map(if .[0] == "fn" then [.[0], .[1], .[2], "Grace B. Hopper"] else . end))' \
    "$LAST_BODY_FILE" >"$MG_TMP/grace2.json"
expect_status PUT "$RAB/grace.vcf" 200 "${AA[@]}" "${J[@]}" -H "If-Match: $GRACE_ETAG" \
    --data-binary "@$MG_TMP/grace2.json"
GRACE2=$(header_value ETag)
check "REST PUT changed the ETag" test "$GRACE2" != "$GRACE_ETAG"
expect_status GET "$DAB/grace.vcf" 200 "${ALICE[@]}"
expect_eq "$(header_value ETag)" "$GRACE2" "CardDAV GET after the REST update: the new ETag"
expect_body_contains "FN:Grace B. Hopper"
expect_body_contains "item1.X-ABLABEL:Navy"
expect_body_contains "UID:dav-card-1"
expect_status PUT "$DAB/grace.vcf" 412 "${ALICE[@]}" "${VCF[@]}" -H "If-Match: $GRACE_ETAG" \
    --data-binary "@$MG_TMP/grace.vcf"
sync_report "$DAB" "$TOKEN"
expect_eq "$LAST_STATUS" 207 "sync-collection after the REST update"
expect_synced "grace.vcf" "the updated contact"
expect_eq "$(ms etag grace.vcf)" "$GRACE2" "sync-collection: the new ETag"
TOKEN=$(ms token)

# ---- a delete over DAV: REST says 404 ---------------------------------------------------------

expect_status DELETE "$DAB/ada-1.vcf" 204 "${ALICE[@]}"
expect_status GET "$RAB/ada-1.vcf" 404 "${AA[@]}"
expect_status GET "$RAB" 200 "${AA[@]}"
expect_eq "$(jget '[.items[].id] | join(",")')" grace.vcf "REST lists what is left"
expect_status DELETE "$RAB/grace.vcf" 204 "${AA[@]}" -H "If-Match: $GRACE2"
expect_status GET "$DAB/grace.vcf" 404 "${ALICE[@]}"
sync_report "$DAB" "$TOKEN"
expect_eq "$(ms hrefs | awk '{ n = $1; sub(/.*\//, "", n); print n " " $2 }' | sort | tr '\n' ' ')" \
    "ada-1.vcf 404 grace.vcf 404 " "sync-collection reports both deletes"

# ---- events: CalDAV PUT -> REST, REST POST -> CalDAV ------------------------------------------

printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:dav-weekly\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20260302T090000\r\nDTEND;TZID=Europe/Berlin:20260302T093000\r\nRRULE:FREQ=WEEKLY;COUNT=8\r\nSUMMARY:Standup\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n' \
    >"$MG_TMP/weekly.ics"
expect_status PUT "$DCAL/dav-weekly.ics" 201 "${ALICE[@]}" "${ICS[@]}" --data-binary "@$MG_TMP/weekly.ics"
WEEKLY_ETAG=$(header_value ETag)
expect_status GET "$REV/dav-weekly.ics" 200 "${AA[@]}"
expect_eq "$(header_value ETag)" "$WEEKLY_ETAG" "REST GET of a CalDAV event: the same ETag"
expect_eq "$(jget '.jcal[2][0][1] | map(select(.[0] == "rrule"))[0][3] | tostring')" \
    '{"freq":"WEEKLY","count":8}' "jCal rrule"
expect_status GET "$REV?start=2026-04-13T07:00:00Z&end=2026-04-13T08:00:00Z" 200 "${AA[@]}"
expect_eq "$(jget '[.items[].id] | join(",")')" dav-weekly.ics "REST time range finds the 7th instance (after DST)"
expect_eq "$(jget '.items[0].etag')" "$WEEKLY_ETAG" "REST listing: the CalDAV ETag"

EVENT=$(jq -cn '["vcalendar", [["version", {}, "text", "2.0"], ["prodid", {}, "text", "-//rest//EN"]],
    [["vevent", [["uid", {}, "text", "rest-event-1"], ["dtstamp", {}, "date-time", "2026-01-01T00:00:00Z"],
      ["dtstart", {}, "date-time", "2026-03-10T14:00:00Z"], ["dtend", {}, "date-time", "2026-03-10T15:00:00Z"],
      ["summary", {}, "text", "Made over REST"], ["location", {}, "text", "Room 1; floor 2"]], []]]]')
expect_status POST "$REV" 201 "${AA[@]}" "${J[@]}" --data-binary "$EVENT"
REST_EV_ETAG=$(header_value ETag)
expect_status GET "$DCAL/rest-event-1.ics" 200 "${ALICE[@]}"
expect_eq "$(header_value ETag)" "$REST_EV_ETAG" "CalDAV GET of a REST event: the same ETag"
expect_body_contains "SUMMARY:Made over REST"
expect_body_contains "LOCATION:Room 1\\; floor 2"
sync_report "$DCAL" ""
CTOKEN=$(ms token)
expect_eq "$(ms etag rest-event-1.ics)" "$REST_EV_ETAG" "CalDAV sync-collection: the REST ETag"

# ---- the python caldav library and REST ------------------------------------------------------

cat >"$MG_TMP/cross.py" <<'PY'
import datetime as dt
import sys

import caldav

url, user, password = sys.argv[1], sys.argv[2], sys.argv[3]
cal = [c for c in caldav.DAVClient(url, username=user, password=password).principal().calendars()
       if str(c.url).rstrip("/").endswith("/personal")][0]
mode = sys.argv[4]
if mode == "search":
    # the REST event, found by a CalDAV time-range search
    found = cal.date_search(dt.datetime(2026, 3, 10, 13, tzinfo=dt.timezone.utc),
                            dt.datetime(2026, 3, 10, 16, tzinfo=dt.timezone.utc))
    for o in found:
        ev = o.icalendar_instance.walk("VEVENT")[0]
        print(f"found {ev['UID']} {ev['SUMMARY']}")
elif mode == "save":
    cal.save_event("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//py//EN\r\nBEGIN:VEVENT\r\n"
                   "UID:py-event-1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260311T080000Z\r\n"
                   "DURATION:PT45M\r\nSUMMARY:Saved by python caldav\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    print("saved")
PY
out=$(/usr/bin/python3 "$MG_TMP/cross.py" "$MG_BASE/" alice "$ALICE_PW" search 2>&1) || true
expect_contains "$out" "found rest-event-1 Made over REST" "python caldav date_search finds the REST event"
out=$(/usr/bin/python3 "$MG_TMP/cross.py" "$MG_BASE/" alice "$ALICE_PW" save 2>&1) || true
expect_contains "$out" saved "python caldav saves an event"
expect_status GET "$REV?start=2026-03-11T08:30:00Z&end=2026-03-11T08:40:00Z" 200 "${AA[@]}"
PYID=$(jget '.items[0].id')
PYETAG=$(jget '.items[0].etag')
expect_eq "$(jget '.items[0].jcal[2][0][1] | map(select(.[0] == "summary"))[0][3]')" \
    "Saved by python caldav" "REST finds the python caldav event by time"
expect_status GET "$DCAL/$PYID" 200 "${ALICE[@]}"
expect_eq "$(header_value ETag)" "$PYETAG" "the python caldav event: REST and CalDAV agree on its ETag"
# a REST update of it is in the calendar's sync-collection, with the new ETag
mg_request GET "$REV/$PYID" "${AA[@]}"
jq -c '.jcal | (.[2][0][1] |= map(if .[0] == "summary" then [.[0], .[1], .[2], "Renamed over REST"] else . end))' \
    "$LAST_BODY_FILE" >"$MG_TMP/py2.json"
expect_status PUT "$REV/$PYID" 200 "${AA[@]}" "${J[@]}" -H "If-Match: $PYETAG" --data-binary "@$MG_TMP/py2.json"
PYETAG2=$(header_value ETag)
sync_report "$DCAL" "$CTOKEN"
expect_synced "$PYID" "the REST update"
expect_eq "$(ms etag "$PYID")" "$PYETAG2" "CalDAV sync-collection: the new ETag"
# a CalDAV delete is a REST 404
expect_status DELETE "$DCAL/dav-weekly.ics" 204 "${ALICE[@]}"
expect_status GET "$REV/dav-weekly.ics" 404 "${AA[@]}"
expect_status GET "$REV?start=2026-04-13T07:00:00Z&end=2026-04-13T08:00:00Z" 200 "${AA[@]}"
expect_eq "$(jget '.items | length')" 0 "the deleted event is out of REST time ranges"

# ---- vdirsyncer and REST ------------------------------------------------------------------------

V="$MG_TMP/vdir"
mkdir -p "$V/status" "$V/card"
printf 'y\n%.0s' $(seq 1 20) >"$V/yes"
cat >"$V/config" <<EOF
[general]
status_path = "$V/status/"

[pair card]
a = "card_local"
b = "card_remote"
collections = ["contacts"]

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

# vds ARGS...: runs vdirsyncer (discover asks before it makes folders: yes); VDS_RC
vds() {
    VDS_RC=0
    timeout 120 vdirsyncer -c "$V/config" "$@" <"$V/yes" >"$V/out" 2>&1 || VDS_RC=$?
}

# local_with TEXT: the local file holding TEXT (empty when none)
local_with() {
    grep -rlF -- "$1" "$V/card/contacts" 2>/dev/null | head -n 1 || true
}

VERA=$(jq -cn '["vcard", [["version", {}, "text", "3.0"], ["fn", {}, "text", "Vera Sync"],
    ["n", {}, "text", ["Sync", "Vera", "", "", ""]], ["uid", {}, "text", "vera-1"]]]')
expect_status POST "$RAB" 201 "${AA[@]}" "${J[@]}" --data-binary "$VERA"
# vdirsyncer refuses to sync a collection emptied on one side: keep one more
expect_status POST "$RAB" 201 "${AA[@]}" "${J[@]}" --data-binary \
    "$(jq -cn '["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", "Keeper"]]]')"
vds discover
expect_eq "$VDS_RC" 0 "vdirsyncer discover ($(tail -n 3 "$V/out" | tr '\n' ' '))"
vds sync
expect_eq "$VDS_RC" 0 "vdirsyncer sync ($(tail -n 3 "$V/out" | tr '\n' ' '))"
F=$(local_with 'FN:Vera Sync')
check "vdirsyncer downloaded the REST contact" test -n "$F"
if [[ -n "$F" ]]; then
    sed -i 's/^FN:Vera Sync/FN:Vera Synced Locally/' "$F"
    vds sync
    expect_eq "$VDS_RC" 0 "vdirsyncer uploads a local change ($(tail -n 3 "$V/out" | tr '\n' ' '))"
fi
expect_status GET "$RAB/vera-1.vcf" 200 "${AA[@]}"
expect_eq "$(jget '.jcard[1] | map(select(.[0] == "fn"))[0][3]')" "Vera Synced Locally" \
    "REST reads what vdirsyncer uploaded"
VERA_ETAG=$(header_value ETag)
expect_status GET "$DAB/vera-1.vcf" 200 "${ALICE[@]}"
expect_eq "$(header_value ETag)" "$VERA_ETAG" "the uploaded contact: REST and CardDAV agree on its ETag"
mg_request GET "$RAB/vera-1.vcf" "${AA[@]}"
jq -c '.jcard | (.[1] += [["note", {}, "text", "added over REST"]])' "$LAST_BODY_FILE" >"$MG_TMP/vera2.json"
expect_status PUT "$RAB/vera-1.vcf" 200 "${AA[@]}" "${J[@]}" -H "If-Match: $VERA_ETAG" \
    --data-binary "@$MG_TMP/vera2.json"
vds sync
expect_eq "$VDS_RC" 0 "vdirsyncer sync after a REST update"
check "vdirsyncer downloaded the REST update" test -n "$(local_with 'NOTE:added over REST')"
expect_status DELETE "$RAB/vera-1.vcf" 204 "${AA[@]}"
vds sync
expect_eq "$VDS_RC" 0 "vdirsyncer sync after a REST delete ($(tail -n 5 "$V/out" | tr "\n" " "))"
check "vdirsyncer removed the contact REST deleted" test -z "$(local_with 'Vera Synced Locally')"

expect_alive "REST and DAV side by side"
mg_finish
