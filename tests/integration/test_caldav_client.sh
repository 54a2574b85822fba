#!/usr/bin/env bash
# test_caldav_client.sh - the python3-caldav library (Debian's, under
# /usr/bin/python3) against a real meshgate: discovery from the root URL,
# the default calendar, make_calendar, a weekly recurring event in
# Europe/Berlin with an EXDATE and a moved instance (RECURRENCE-ID) across a
# DST change, an all-day event, time-range searches with and without
# server-side expansion that must return exactly the right instances, a
# to-do by time range, updates that change the ETag, deletes, sync tokens,
# free-busy, and a UID conflict.
#
#   bash tests/integration/test_caldav_client.sh /path/to/meshgate
source "$(dirname "$0")/lib.sh"
mg_init "$@"
require_cmd /usr/bin/python3
if ! /usr/bin/python3 -c 'import caldav' 2>/dev/null; then
    fail "python3-caldav is not installed (run scripts/setup.sh --test)"
    mg_finish
fi
mg_add_standard_users
mg_start

cat >"$MG_TMP/client.py" <<'PY'
import datetime as dt
import sys

import caldav
from caldav.lib import error

url, user, password = sys.argv[1], sys.argv[2], sys.argv[3]
failures = 0


def check(desc, cond, detail=""):
    global failures
    if cond:
        print(f"ok {desc}")
    else:
        failures += 1
        print(f"FAIL {desc} {detail}".rstrip())


def starts(objs):
    """The DTSTARTs (UTC, ISO) of every VEVENT in the objects."""
    out = []
    for o in objs:
        for c in o.icalendar_instance.walk("VEVENT"):
            v = c["DTSTART"].dt
            if isinstance(v, dt.datetime):
                v = v.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
            else:
                v = v.isoformat()
            out.append((str(c["SUMMARY"]), v))
    return sorted(out)


# ---- discovery from the root URL (RFC 6764, RFC 5397) -----------------------------
client = caldav.DAVClient(url, username=user, password=password)
principal = client.principal()
check("principal found from the root URL", str(principal.url).endswith(f"/dav/principals/{user}/"),
      str(principal.url))
check("calendar-home-set", str(principal.calendar_home_set.url).endswith(f"/dav/calendars/{user}/"))
names = [c.name for c in principal.calendars()]
check("a new account has the default calendar Personal", "Personal" in names, str(names))
check("the inbox and outbox are not offered as calendars", len(names) == 1, str(names))

cal = principal.make_calendar(name="Work")
check("make_calendar", cal.name == "Work" or cal.get_properties([caldav.dav.DisplayName()]))
check("the new calendar is listed", "Work" in [c.name for c in principal.calendars()])

WEEKLY = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//meshgate tests//EN
BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
UID:weekly-standup@meshgate.test
DTSTAMP:20240101T000000Z
DTSTART;TZID=Europe/Berlin:20240304T100000
DTEND;TZID=Europe/Berlin:20240304T103000
RRULE:FREQ=WEEKLY;BYDAY=MO
EXDATE;TZID=Europe/Berlin:20240318T100000
SUMMARY:Standup
END:VEVENT
BEGIN:VEVENT
UID:weekly-standup@meshgate.test
DTSTAMP:20240101T000000Z
RECURRENCE-ID;TZID=Europe/Berlin:20240325T100000
DTSTART;TZID=Europe/Berlin:20240326T140000
DTEND;TZID=Europe/Berlin:20240326T143000
SUMMARY:Standup (moved)
END:VEVENT
END:VCALENDAR
"""
ALLDAY = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//meshgate tests//EN
BEGIN:VEVENT
UID:holiday@meshgate.test
DTSTAMP:20240101T000000Z
DTSTART;VALUE=DATE:20240329
DTEND;VALUE=DATE:20240330
SUMMARY:Holiday
END:VEVENT
END:VCALENDAR
"""
ONCE = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//meshgate tests//EN
BEGIN:VEVENT
UID:dentist@meshgate.test
DTSTAMP:20240101T000000Z
DTSTART:20240410T070000Z
DTEND:20240410T080000Z
SUMMARY:Dentist
END:VEVENT
END:VCALENDAR
"""
TODO = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//meshgate tests//EN
BEGIN:VTODO
UID:taxes@meshgate.test
DTSTAMP:20240101T000000Z
DUE:20240415T170000Z
SUMMARY:Taxes
STATUS:NEEDS-ACTION
END:VTODO
END:VCALENDAR
"""

weekly = cal.save_event(WEEKLY)
allday = cal.save_event(ALLDAY)
once = cal.save_event(ONCE)
todo = cal.save_todo(TODO)
check("four objects stored", len(list(cal.objects())) == 4, str(len(list(cal.objects()))))

# ---- time-range searches: the right instances, exactly ---------------------------
march = cal.date_search(dt.datetime(2024, 3, 1, tzinfo=dt.timezone.utc),
                        dt.datetime(2024, 4, 1, tzinfo=dt.timezone.utc), expand=True)
got = starts(march)
want = sorted([
    ("Standup", "2024-03-04T09:00Z"),
    ("Standup", "2024-03-11T09:00Z"),
    # 2024-03-18 is excluded by EXDATE
    ("Standup (moved)", "2024-03-26T13:00Z"),  # after the DST change: 14:00 CEST
    ("Holiday", "2024-03-29"),
])
check("March, expanded on the server: EXDATE, override, DST, all-day", got == want, f"{got}")
for o in march:
    check("expanded data has no RRULE", "RRULE" not in o.data)

april_week = cal.date_search(dt.datetime(2024, 4, 8, tzinfo=dt.timezone.utc),
                             dt.datetime(2024, 4, 15, tzinfo=dt.timezone.utc), expand=True)
got = starts(april_week)
want = sorted([("Standup", "2024-04-08T08:00Z"), ("Dentist", "2024-04-10T07:00Z")])
check("a week in April: the recurrence in summer time and a single event", got == want, f"{got}")

far = cal.date_search(dt.datetime(2031, 6, 2, tzinfo=dt.timezone.utc),
                      dt.datetime(2031, 6, 3, tzinfo=dt.timezone.utc), expand=True)
check("an endless weekly event years later (range-bounded expansion)",
      starts(far) == [("Standup", "2031-06-02T08:00Z")], f"{starts(far)}")

excluded = cal.date_search(dt.datetime(2024, 3, 18, tzinfo=dt.timezone.utc),
                           dt.datetime(2024, 3, 19, tzinfo=dt.timezone.utc), expand=True)
check("the EXDATE day is empty", starts(excluded) == [], f"{starts(excluded)}")
moved = cal.date_search(dt.datetime(2024, 3, 25, tzinfo=dt.timezone.utc),
                        dt.datetime(2024, 3, 26, tzinfo=dt.timezone.utc), expand=True)
check("the moved instance no longer occupies its original day", starts(moved) == [],
      f"{starts(moved)}")

unexpanded = cal.date_search(dt.datetime(2024, 3, 29, tzinfo=dt.timezone.utc),
                             dt.datetime(2024, 3, 30, tzinfo=dt.timezone.utc), expand=False)
check("without expansion: only the all-day event on 2024-03-29",
      [str(o.url).rsplit("/", 1)[1] for o in unexpanded] == [str(allday.url).rsplit("/", 1)[1]],
      f"{[str(o.url) for o in unexpanded]}")

todos = cal.search(todo=True, start=dt.datetime(2024, 4, 14, tzinfo=dt.timezone.utc),
                   end=dt.datetime(2024, 4, 16, tzinfo=dt.timezone.utc))
check("a to-do by time range (DUE)", len(todos) == 1 and "Taxes" in todos[0].data)
todos = cal.search(todo=True, start=dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc),
                   end=dt.datetime(2024, 5, 2, tzinfo=dt.timezone.utc))
check("no to-do outside its range", todos == [], str(todos))
check("todos() lists the open to-do", len(cal.todos()) == 1)

# ---- sync token, update with a new ETag, delete -----------------------------------
first = cal.objects_by_sync_token(load_objects=False)
token1 = first.sync_token
check("sync from an empty token lists everything", len(list(first)) == 4)

ev = cal.event_by_uid("dentist@meshgate.test")
ev.load()
etag_before = ev.props.get("{DAV:}getetag") or client.request(str(ev.url)).headers.get("ETag")
ev.vobject_instance.vevent.summary.value = "Dentist (moved to 9:00)"
ev.save()
etag_after = client.request(str(ev.url)).headers.get("ETag")
check("an update changes the ETag", etag_before != etag_after, f"{etag_before} {etag_after}")
check("the update is stored", "moved to 9:00" in cal.event_by_uid("dentist@meshgate.test").data)

changed = cal.objects_by_sync_token(token1, load_objects=False)
urls = [str(o.url) for o in changed]
check("sync reports the updated event", str(ev.url) in urls, str(urls))
token2 = changed.sync_token
check("the token advances", token2 != token1)

allday.delete()
try:
    cal.event_by_uid("holiday@meshgate.test")
    check("a deleted event is gone", False)
except error.NotFoundError:
    check("a deleted event is gone", True)
gone = cal.objects_by_sync_token(token2, load_objects=False)
check("sync reports the deletion", str(allday.url) in [str(o.url) for o in gone],
      str([str(o.url) for o in gone]))

# ---- a UID lives once per calendar --------------------------------------------------
try:
    client.put(str(cal.url) + "another-name.ics", ONCE, {"Content-Type": "text/calendar"})
    check("a second resource with the same UID is refused (no-uid-conflict)", False)
except error.AuthorizationError as e:
    check("a second resource with the same UID is refused (403 no-uid-conflict)",
          "Forbidden" in str(e), str(e))
check("nothing was stored", client.request(str(cal.url) + "another-name.ics").status == 404)

# ---- free-busy (RFC 4791 7.10) ------------------------------------------------------
fb = cal.freebusy_request(dt.datetime(2024, 3, 4, tzinfo=dt.timezone.utc),
                          dt.datetime(2024, 3, 5, tzinfo=dt.timezone.utc))
check("free-busy lists the standup", "20240304T090000Z/20240304T093000Z" in fb.data, fb.data)

# ---- the other user sees nothing of it ----------------------------------------------
bob = caldav.DAVClient(url, username="bob", password=sys.argv[4]).principal()
check("bob has his own default calendar only", [c.name for c in bob.calendars()] == ["Personal"])

cal.delete()
check("the calendar is deleted", "Work" not in [c.name for c in principal.calendars()])
sys.exit(1 if failures else 0)
PY

out=$(/usr/bin/python3 "$MG_TMP/client.py" "$MG_BASE/" alice "$ALICE_PW" "$BOB_PW" 2>&1) &&
    rc=0 || rc=$?
while IFS= read -r line; do
    case "$line" in
    ok\ *) pass "${line#ok }" ;;
    FAIL\ *) fail "python caldav: ${line#FAIL }" ;;
    esac
done <<<"$out"
if ((rc != 0)) && ! grep -q '^FAIL' <<<"$out"; then
    fail "python caldav script exited $rc: $(tail -n 15 <<<"$out" | tr '\n' ' ')"
fi

expect_alive "python caldav client"
mg_finish
