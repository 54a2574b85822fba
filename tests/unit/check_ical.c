/* check_ical.c - iCalendar in dav/ical.c and dav/calrange.c: parsing and
 * the checks of a calendar object resource (RFC 4791 4.1), the index bounds,
 * recurrence expansion (RRULE, RDATE, EXDATE, RECURRENCE-ID, all-day events,
 * time zones across DST) bounded by the queried range, and the time-range
 * tests of RFC 4791 9.9 for events, to-dos, journals, free-busy and alarms. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../dav/dav_private.h"

static icalcomponent *cal_of(const char *text)
{
    icalcomponent *c = NULL;
    char err[256] = "";
    int rc = dav_ical_parse(text, strlen(text), &c, err, sizeof(err));
    ck_assert_msg(rc == 0, "parse failed: %s", err);
    return c;
}

static int64_t utc(int y, int mo, int d, int h, int mi)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return (int64_t)timegm(&tm);
}

/* ---- collecting instances ------------------------------------------------------ */

#define MAXI 8192

struct got {
    int64_t s[MAXI], e[MAXI];
    int n;
    int64_t qs, qe;
};

static int collect(void *ctx, const struct dav_ical_instance *in)
{
    struct got *g = ctx;
    if (!dav_ical_instance_overlaps(in, g->qs, g->qe))
        return 0;
    ck_assert_int_lt(g->n, MAXI);
    g->s[g->n] = in->start;
    g->e[g->n] = in->end;
    g->n++;
    return 0;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Every instance of every VEVENT/VTODO/VJOURNAL of cal overlapping [qs, qe),
 * starts sorted. Returns the count. */
static int instances(icalcomponent *cal, int64_t qs, int64_t qe, const icaltimezone *fl,
                     struct got *g)
{
    memset(g, 0, sizeof(*g));
    g->qs = qs;
    g->qe = qe;
    for (icalcomponent *c = icalcomponent_get_first_component(cal, ICAL_ANY_COMPONENT); c;
         c = icalcomponent_get_next_component(cal, ICAL_ANY_COMPONENT)) {
        int rc = dav_ical_instances(c, qs, qe, fl, collect, g);
        ck_assert_int_eq(rc, 0);
    }
    qsort(g->s, (size_t)g->n, sizeof(g->s[0]), cmp64);
    return g->n;
}

/* ---- fixtures -------------------------------------------------------------------- */

#define BERLIN_TZ                                                                                  \
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"                                                    \
    "BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\n"                  \
    "DTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n"        \
    "BEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\n"                   \
    "DTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n"       \
    "END:VTIMEZONE\r\n"

static const char weekly[] =
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n" BERLIN_TZ
    "BEGIN:VEVENT\r\nUID:w1\r\nDTSTAMP:20240101T000000Z\r\n"
    "DTSTART;TZID=Europe/Berlin:20240304T100000\r\nDTEND;TZID=Europe/Berlin:20240304T103000\r\n"
    "RRULE:FREQ=WEEKLY;BYDAY=MO\r\nEXDATE;TZID=Europe/Berlin:20240318T100000\r\n"
    "SUMMARY:Standup\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:w1\r\nDTSTAMP:20240101T000000Z\r\n"
    "RECURRENCE-ID;TZID=Europe/Berlin:20240325T100000\r\n"
    "DTSTART;TZID=Europe/Berlin:20240326T140000\r\nDTEND;TZID=Europe/Berlin:20240326T143000\r\n"
    "SUMMARY:Moved\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

static char *event_with(const char *lines)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf),
             "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:e\r\n"
             "DTSTAMP:20240101T000000Z\r\n%sEND:VEVENT\r\nEND:VCALENDAR\r\n",
             lines);
    return buf;
}

static char *todo_with(const char *lines)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf),
             "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VTODO\r\nUID:t\r\n"
             "DTSTAMP:20240101T000000Z\r\n%sEND:VTODO\r\nEND:VCALENDAR\r\n",
             lines);
    return buf;
}

/* ---- parsing and checking --------------------------------------------------------- */

START_TEST(test_parse_errors)
{
    static const char *const bad[] = {
        "",
        "hello",
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n", /* no END */
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:garbage\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nNO COLON HERE\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", /* two */
        "BEGIN:VCARD\r\nVERSION:3.0\r\nEND:VCARD\r\n",
        "BEGIN:VCALENDAR\r\nX:\xff\xfe\r\nEND:VCALENDAR\r\n",     /* not UTF-8 */
        "BEGIN:VCALENDAR\r\nX:a\x01b\r\nEND:VCALENDAR\r\n",       /* control character */
        "BEGIN:VCALENDAR\r\nX:\xed\xa0\x80\r\nEND:VCALENDAR\r\n", /* a UTF-16 surrogate */
        "BEGIN:VCALENDAR\r\nX:\xc0\xaf\r\nEND:VCALENDAR\r\n",     /* overlong */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        icalcomponent *c = NULL;
        char err[256] = "";
        ck_assert_msg(dav_ical_parse(bad[i], strlen(bad[i]), &c, err, sizeof(err)) == MG_EINVAL,
                      "accepted case %zu", i);
        ck_assert_ptr_null(c);
        ck_assert_msg(err[0] != '\0', "no message for case %zu", i);
    }
    /* NUL inside */
    icalcomponent *c = NULL;
    char err[64];
    ck_assert_int_eq(dav_ical_parse("BEGIN:VCALENDAR\0x", 17, &c, err, sizeof(err)), MG_EINVAL);
    /* LF line ends and folded lines are fine */
    c = cal_of("BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:a\nDTSTART:20240101T000000Z\n"
               "SUMMARY:folded\n  line\nEND:VEVENT\nEND:VCALENDAR\n");
    icalcomponent *ev = icalcomponent_get_first_component(c, ICAL_VEVENT_COMPONENT);
    ck_assert_str_eq(icalcomponent_get_summary(ev), "folded line");
    icalcomponent_free(c);
}
END_TEST

static int check_text(const char *text, struct dav_ical_info *info, char *err, size_t cap)
{
    icalcomponent *c = cal_of(text);
    int rc = dav_ical_check_object(c, info, err, cap);
    icalcomponent_free(c);
    return rc;
}

START_TEST(test_check_object)
{
    struct dav_ical_info info;
    char err[256];

    ck_assert_int_eq(check_text(weekly, &info, err, sizeof(err)), 0);
    ck_assert_str_eq(info.uid, "w1");
    ck_assert_uint_eq(info.comp, DAV_COMP_VEVENT);
    ck_assert_int_le(info.lo, utc(2024, 3, 4, 9, 0));
    ck_assert_int_eq(info.hi, INT64_MAX); /* endless */
    dav_ical_info_release(&info);

    ck_assert_int_eq(check_text(todo_with("SUMMARY:x\r\n"), &info, err, sizeof(err)), 0);
    ck_assert_uint_eq(info.comp, DAV_COMP_VTODO);
    ck_assert_int_eq(info.lo, INT64_MIN); /* a dateless to-do matches every range */
    ck_assert_int_eq(info.hi, INT64_MAX);
    dav_ical_info_release(&info);

    /* finite recurrences have finite bounds */
    ck_assert_int_eq(check_text(event_with("DTSTART:20240101T100000Z\r\nDURATION:PT1H\r\n"
                                           "RRULE:FREQ=DAILY;COUNT=5\r\n"),
                                &info, err, sizeof(err)),
                     0);
    ck_assert_int_eq(info.lo, utc(2024, 1, 1, 10, 0));
    ck_assert_int_ge(info.hi, utc(2024, 1, 5, 11, 0));
    ck_assert_int_lt(info.hi, utc(2024, 1, 8, 0, 0));
    dav_ical_info_release(&info);
    ck_assert_int_eq(check_text(event_with("DTSTART:20240101T100000Z\r\n"
                                           "RRULE:FREQ=WEEKLY;UNTIL=20240301T000000Z\r\n"),
                                &info, err, sizeof(err)),
                     0);
    ck_assert_int_ge(info.hi, utc(2024, 2, 26, 10, 0));
    ck_assert_int_lt(info.hi, utc(2024, 3, 10, 0, 0));
    dav_ical_info_release(&info);
    /* a floating all-day event: bounds wide enough for any zone */
    ck_assert_int_eq(
        check_text(event_with("DTSTART;VALUE=DATE:20240329\r\n"), &info, err, sizeof(err)), 0);
    ck_assert_int_le(info.lo, utc(2024, 3, 28, 10, 0));
    ck_assert_int_ge(info.hi, utc(2024, 3, 30, 14, 0));
    dav_ical_info_release(&info);

    static const char *const bad[] = {
        /* no UID */
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nDTSTART:20240101T000000Z\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n",
        /* no VERSION */
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T000000Z\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n",
        /* METHOD */
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:a\r\n"
        "DTSTART:20240101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        /* two UIDs */
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T000000Z\r\n"
        "END:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\nDTSTART:20240101T000000Z\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n",
        /* two masters */
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T000000Z\r\n"
        "END:VEVENT\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240102T000000Z\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n",
        /* mixed types */
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T000000Z\r\n"
        "END:VEVENT\r\nBEGIN:VTODO\r\nUID:a\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
        /* VEVENT without DTSTART */
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n",
        /* nothing in it */
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n",
        /* a VALARM at the top */
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VALARM\r\nACTION:AUDIO\r\n"
        "TRIGGER:-PT5M\r\nEND:VALARM\r\nEND:VCALENDAR\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        ck_assert_msg(check_text(bad[i], &info, err, sizeof(err)) == MG_EINVAL, "accepted case %zu",
                      i);
        ck_assert_msg(err[0], "no message for case %zu", i);
        dav_ical_info_release(&info);
    }
}
END_TEST

START_TEST(test_parse_utc)
{
    int64_t t;
    ck_assert_int_eq(dav_ical_parse_utc("20060104T000000Z", &t), 0);
    ck_assert_int_eq(t, utc(2006, 1, 4, 0, 0));
    ck_assert_int_eq(dav_ical_parse_utc("20060104", &t), 0);
    ck_assert_int_eq(t, utc(2006, 1, 4, 0, 0));
    static const char *const bad[] = {"",
                                      "2006",
                                      "20060104T0000Z",
                                      "yesterday",
                                      "20061304T000000Z",
                                      "20060231T000000Z",
                                      "20060104T250000Z",
                                      "20060104X000000Z",
                                      "20060104T000000ZZ"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(dav_ical_parse_utc(bad[i], &t) == MG_EINVAL, "accepted %s", bad[i]);
}
END_TEST

/* ---- recurrence ------------------------------------------------------------------------ */

START_TEST(test_weekly_dst_exdate_override)
{
    icalcomponent *c = cal_of(weekly);
    struct got *g = malloc(sizeof(*g));
    int n = instances(c, utc(2024, 3, 1, 0, 0), utc(2024, 4, 9, 0, 0), NULL, g);
    ck_assert_int_eq(n, 5);
    ck_assert_int_eq(g->s[0], utc(2024, 3, 4, 9, 0));   /* 10:00 CET */
    ck_assert_int_eq(g->s[1], utc(2024, 3, 11, 9, 0));  /* 03-18 excluded */
    ck_assert_int_eq(g->s[2], utc(2024, 3, 26, 13, 0)); /* moved: 14:00 CET on the 26th */
    ck_assert_int_eq(g->s[3], utc(2024, 4, 1, 8, 0));   /* 10:00 CEST after the DST change */
    ck_assert_int_eq(g->s[4], utc(2024, 4, 8, 8, 0));
    /* the half-hour span survives DST */
    n = instances(c, utc(2024, 4, 1, 8, 29), utc(2024, 4, 1, 8, 31), NULL, g);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(g->e[0], utc(2024, 4, 1, 8, 30));
    /* the excluded and the overridden days are empty */
    ck_assert_int_eq(instances(c, utc(2024, 3, 18, 0, 0), utc(2024, 3, 19, 0, 0), NULL, g), 0);
    ck_assert_int_eq(instances(c, utc(2024, 3, 25, 0, 0), utc(2024, 3, 26, 0, 0), NULL, g), 0);
    /* years later, the endless rule still answers (bounded by the range) */
    ck_assert_int_eq(instances(c, utc(2031, 6, 2, 0, 0), utc(2031, 6, 3, 0, 0), NULL, g), 1);
    ck_assert_int_eq(g->s[0], utc(2031, 6, 2, 8, 0));
    ck_assert_int_eq(instances(c, utc(2031, 6, 3, 0, 0), utc(2031, 6, 9, 0, 0), NULL, g), 0);
    ck_assert_int_eq(instances(c, utc(2031, 6, 3, 0, 0), utc(2031, 6, 10, 0, 0), NULL, g), 1);
    /* a year of Mondays is all there: no instance cap */
    ck_assert_int_eq(instances(c, utc(2030, 1, 1, 0, 0), utc(2031, 1, 1, 0, 0), NULL, g), 52);
    free(g);
    icalcomponent_free(c);
}
END_TEST

START_TEST(test_allday_floating)
{
    icalcomponent *c = cal_of(event_with("DTSTART;VALUE=DATE:20240329\r\nSUMMARY:x\r\n"));
    icaltimezone *berlin = icaltimezone_get_builtin_timezone("Europe/Berlin");
    struct got *g = malloc(sizeof(*g));
    ck_assert_ptr_nonnull(berlin);
    ck_assert_int_eq(instances(c, utc(2024, 3, 1, 0, 0), utc(2024, 4, 1, 0, 0), NULL, g), 1);
    ck_assert_int_eq(g->s[0], utc(2024, 3, 29, 0, 0));
    ck_assert_int_eq(g->e[0], utc(2024, 3, 30, 0, 0)); /* RFC 4791 9.9: one day */
    /* floating: in the calendar's zone (RFC 4791 9.9) */
    ck_assert_int_eq(instances(c, utc(2024, 3, 1, 0, 0), utc(2024, 4, 1, 0, 0), berlin, g), 1);
    ck_assert_int_eq(g->s[0], utc(2024, 3, 28, 23, 0));
    /* a range of the last hour of the 29th (UTC) misses it in Berlin */
    ck_assert_int_eq(instances(c, utc(2024, 3, 29, 23, 0), utc(2024, 3, 30, 0, 0), berlin, g), 0);
    ck_assert_int_eq(instances(c, utc(2024, 3, 29, 23, 0), utc(2024, 3, 30, 0, 0), NULL, g), 1);
    icalcomponent_free(c);
    /* a yearly birthday */
    c = cal_of(event_with("DTSTART;VALUE=DATE:19800229\r\nRRULE:FREQ=YEARLY\r\n"));
    ck_assert_int_eq(instances(c, utc(2024, 1, 1, 0, 0), utc(2025, 1, 1, 0, 0), NULL, g), 1);
    ck_assert_int_eq(g->s[0], utc(2024, 2, 29, 0, 0));
    ck_assert_int_eq(instances(c, utc(2023, 1, 1, 0, 0), utc(2024, 1, 1, 0, 0), NULL, g), 0);
    icalcomponent_free(c);
    free(g);
}
END_TEST

/* The jump to the range (icalrecur_iterator_set_start) gives exactly the
 * instances a walk from DTSTART gives. */
START_TEST(test_jump_equals_walk)
{
    static const char *const rules[] = {
        "DTSTART:20200101T090000Z\r\nRRULE:FREQ=DAILY\r\n",
        "DTSTART:20200101T090000Z\r\nRRULE:FREQ=DAILY;INTERVAL=3\r\n",
        "DTSTART:20200106T090000Z\r\nRRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR\r\n",
        "DTSTART:20200131T090000Z\r\nRRULE:FREQ=MONTHLY;BYMONTHDAY=31\r\n",
        "DTSTART:20200131T090000Z\r\nRRULE:FREQ=MONTHLY;BYDAY=-1FR\r\n",
        "DTSTART:20200229T090000Z\r\nRRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29\r\n",
        "DTSTART:20200101T000000Z\r\nRRULE:FREQ=HOURLY;INTERVAL=7\r\n",
        "DTSTART:20200101T090000Z\r\nRRULE:FREQ=WEEKLY;UNTIL=20300115T000000Z\r\n",
        "DTSTART;TZID=America/New_York:20200308T013000\r\nRRULE:FREQ=DAILY\r\n",
        "DTSTART;VALUE=DATE:20200101\r\nRRULE:FREQ=MONTHLY;BYDAY=2TU\r\n",
        "DTSTART:20200101T090000\r\nRRULE:FREQ=WEEKLY;BYDAY=SU\r\n",
        "DTSTART:20200101T090000Z\r\nRRULE:FREQ=WEEKLY\r\n",
        "DTSTART:20200115T090000Z\r\nRRULE:FREQ=MONTHLY\r\n",
        "DTSTART:20200331T090000Z\r\nRRULE:FREQ=MONTHLY;INTERVAL=5\r\n",
        "DTSTART:20200310T090000Z\r\nRRULE:FREQ=YEARLY\r\n",
        "DTSTART:20200229T090000Z\r\nRRULE:FREQ=YEARLY;INTERVAL=3\r\n",
        "DTSTART:20200101T090000Z\r\nRRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH\r\n",
        "DTSTART:20200101T090000Z\r\nRRULE:FREQ=MINUTELY;INTERVAL=1001\r\n",
        "DTSTART:20200101T090000Z\r\nRRULE:FREQ=DAILY;INTERVAL=5;BYHOUR=9,17\r\n",
        "DTSTART:20200131T090000Z\r\nRRULE:FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO,TU,WE,TH,FR\r\n",
        "DTSTART;TZID=Europe/Berlin:20200101T023000\r\nRRULE:FREQ=HOURLY;INTERVAL=5\r\n",
        "DTSTART;VALUE=DATE:20200101\r\nRRULE:FREQ=DAILY;INTERVAL=11\r\n",
    };
    struct got *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        icalcomponent *c = cal_of(event_with(rules[i]));
        icalcomponent *ev = icalcomponent_get_first_component(c, ICAL_VEVENT_COMPONENT);
        int64_t qs = utc(2031, 1, 1, 0, 0), qe = utc(2032, 3, 1, 0, 0);
        int na = instances(c, qs, qe, NULL, a);
        /* the walk: a range starting before DTSTART never jumps */
        memset(b, 0, sizeof(*b));
        b->qs = qs;
        b->qe = qe;
        ck_assert_int_eq(dav_ical_instances(ev, utc(2019, 1, 1, 0, 0), qe, NULL, collect, b), 0);
        qsort(b->s, (size_t)b->n, sizeof(b->s[0]), cmp64);
        ck_assert_msg(na == b->n, "rule %zu: %d instances with the jump, %d walking", i, na, b->n);
        for (int k = 0; k < na; k++)
            ck_assert_msg(a->s[k] == b->s[k], "rule %zu instance %d differs", i, k);
        ck_assert_msg(na > 0 || i == 7, "rule %zu has no instance in the range", i);
        ck_assert_msg(i != 7 || na == 0, "rule %zu goes past its UNTIL", i);
        icalcomponent_free(c);
    }
    free(a);
    free(b);
}
END_TEST

START_TEST(test_rdate_count)
{
    struct got *g = malloc(sizeof(*g));
    icalcomponent *c = cal_of(
        event_with("DTSTART:20240101T100000Z\r\nDURATION:PT1H\r\nRRULE:FREQ=DAILY;COUNT=3\r\n"
                   "RDATE:20240110T150000Z,20240111T150000Z\r\n"
                   "RDATE;VALUE=PERIOD:20240120T080000Z/20240120T120000Z\r\n"
                   "EXDATE:20240102T100000Z\r\n"));
    ck_assert_int_eq(instances(c, utc(2023, 12, 1, 0, 0), utc(2024, 2, 1, 0, 0), NULL, g), 5);
    ck_assert_int_eq(g->s[0], utc(2024, 1, 1, 10, 0));
    ck_assert_int_eq(g->s[1], utc(2024, 1, 3, 10, 0)); /* the 2nd is excluded, COUNT stops at 3 */
    ck_assert_int_eq(g->s[2], utc(2024, 1, 10, 15, 0));
    ck_assert_int_eq(g->s[4], utc(2024, 1, 20, 8, 0));
    /* the PERIOD keeps its own four hours */
    ck_assert_int_eq(instances(c, utc(2024, 1, 20, 11, 0), utc(2024, 1, 20, 11, 30), NULL, g), 1);
    icalcomponent_free(c);
    free(g);
}
END_TEST

START_TEST(test_budget)
{
    /* a hostile rule: a second-by-second COUNT cannot jump; it is cut off by
     * the budget and counts as a match rather than being dropped */
    icalcomponent *c =
        cal_of(event_with("DTSTART:20000101T000000Z\r\nRRULE:FREQ=SECONDLY;COUNT=2000000000\r\n"));
    icalcomponent *ev = icalcomponent_get_first_component(c, ICAL_VEVENT_COMPONENT);
    struct got *g = malloc(sizeof(*g));
    memset(g, 0, sizeof(*g));
    g->qs = utc(2020, 1, 1, 0, 0);
    g->qe = utc(2020, 1, 1, 0, 1);
    ck_assert_int_eq(dav_ical_instances(ev, g->qs, g->qe, NULL, collect, g), MG_ETOOBIG);
    ck_assert_int_eq(dav_ical_comp_in_range(ev, g->qs, g->qe, NULL), 1);
    icalcomponent_free(c);
    /* the budget of a whole request: spent once, every later walk stops */
    c = cal_of(event_with("DTSTART:20000101T000000Z\r\nRRULE:FREQ=HOURLY;COUNT=1000000\r\n"));
    ev = icalcomponent_get_first_component(c, ICAL_VEVENT_COMPONENT);
    dav_ical_budget_reset(1000);
    memset(g, 0, sizeof(*g));
    g->qs = utc(2020, 1, 1, 0, 0);
    g->qe = utc(2020, 1, 2, 0, 0);
    ck_assert_int_eq(dav_ical_instances(ev, g->qs, g->qe, NULL, collect, g), MG_ETOOBIG);
    dav_ical_budget_reset(-1);
    ck_assert_int_eq(dav_ical_instances(ev, g->qs, g->qe, NULL, collect, g), 0);
    ck_assert_int_eq(g->n, 24);
    free(g);
    icalcomponent_free(c);
}
END_TEST

/* ---- RFC 4791 9.9 ---------------------------------------------------------------------------- */

static int in_range(const char *text, icalcomponent_kind kind, int64_t qs, int64_t qe)
{
    icalcomponent *c = cal_of(text);
    icalcomponent *k = icalcomponent_get_first_component(c, kind);
    int r = dav_ical_comp_in_range(k, qs, qe, NULL);
    icalcomponent_free(c);
    return r;
}

START_TEST(test_time_range_vevent)
{
    int64_t t10 = utc(2024, 1, 1, 10, 0), t11 = utc(2024, 1, 1, 11, 0);
    const char *dtend = event_with("DTSTART:20240101T100000Z\r\nDTEND:20240101T110000Z\r\n");
    char copy[4096];
    snprintf(copy, sizeof(copy), "%s", dtend);
    /* (start < DTEND AND end > DTSTART) */
    ck_assert_int_eq(in_range(copy, ICAL_VEVENT_COMPONENT, t10 - 60, t10), 0);
    ck_assert_int_eq(in_range(copy, ICAL_VEVENT_COMPONENT, t10 - 60, t10 + 1), 1);
    ck_assert_int_eq(in_range(copy, ICAL_VEVENT_COMPONENT, t11 - 1, t11 + 60), 1);
    ck_assert_int_eq(in_range(copy, ICAL_VEVENT_COMPONENT, t11, t11 + 60), 0);
    /* zero duration: (start <= DTSTART AND end > DTSTART) */
    snprintf(copy, sizeof(copy), "%s", event_with("DTSTART:20240101T100000Z\r\n"));
    ck_assert_int_eq(in_range(copy, ICAL_VEVENT_COMPONENT, t10, t10 + 1), 1);
    ck_assert_int_eq(in_range(copy, ICAL_VEVENT_COMPONENT, t10 - 60, t10), 0);
    snprintf(copy, sizeof(copy), "%s", event_with("DTSTART:20240101T100000Z\r\nDURATION:PT0S\r\n"));
    ck_assert_int_eq(in_range(copy, ICAL_VEVENT_COMPONENT, t10, t10 + 1), 1);
    /* an open range */
    ck_assert_int_eq(in_range(copy, ICAL_VEVENT_COMPONENT, INT64_MIN, INT64_MAX), 1);
    ck_assert_int_eq(in_range(copy, ICAL_VEVENT_COMPONENT, t10 + 1, INT64_MAX), 0);
}
END_TEST

START_TEST(test_time_range_vtodo)
{
    int64_t d = utc(2024, 1, 10, 12, 0), s = utc(2024, 1, 5, 12, 0);
    char t[4096];
    /* DTSTART + DUE: ((start < DUE) OR (start <= DTSTART)) AND ((end > DTSTART) OR (end >= DUE)) */
    snprintf(t, sizeof(t), "%s", todo_with("DTSTART:20240105T120000Z\r\nDUE:20240110T120000Z\r\n"));
    ck_assert_int_eq(in_range(t, ICAL_VTODO_COMPONENT, s - 100, s), 0);
    ck_assert_int_eq(in_range(t, ICAL_VTODO_COMPONENT, s - 100, s + 1), 1);
    ck_assert_int_eq(in_range(t, ICAL_VTODO_COMPONENT, d - 1, d + 100), 1);
    ck_assert_int_eq(in_range(t, ICAL_VTODO_COMPONENT, d, d + 100), 0);
    /* DUE only: (start < DUE) AND (end >= DUE) */
    snprintf(t, sizeof(t), "%s", todo_with("DUE:20240110T120000Z\r\n"));
    ck_assert_int_eq(in_range(t, ICAL_VTODO_COMPONENT, d - 100, d), 1);
    ck_assert_int_eq(in_range(t, ICAL_VTODO_COMPONENT, d, d + 100), 0);
    ck_assert_int_eq(in_range(t, ICAL_VTODO_COMPONENT, d - 100, d - 1), 0);
    /* DTSTART + DURATION */
    snprintf(t, sizeof(t), "%s", todo_with("DTSTART:20240105T120000Z\r\nDURATION:P5D\r\n"));
    ck_assert_int_eq(in_range(t, ICAL_VTODO_COMPONENT, d, d + 100), 1); /* start <= end */
    ck_assert_int_eq(in_range(t, ICAL_VTODO_COMPONENT, d + 1, d + 100), 0);
    /* DTSTART only */
    snprintf(t, sizeof(t), "%s", todo_with("DTSTART:20240105T120000Z\r\n"));
    ck_assert_int_eq(in_range(t, ICAL_VTODO_COMPONENT, s, s + 1), 1);
    ck_assert_int_eq(in_range(t, ICAL_VTODO_COMPONENT, s + 1, s + 100), 0);
    /* COMPLETED and CREATED */
    snprintf(t, sizeof(t), "%s",
             todo_with("COMPLETED:20240110T120000Z\r\nCREATED:20240105T120000Z\r\n"));
    ck_assert_int_eq(in_range(t, ICAL_VTODO_COMPONENT, s - 100, s), 1);
    ck_assert_int_eq(in_range(t, ICAL_VTODO_COMPONENT, d + 1, d + 100), 0);
    snprintf(t, sizeof(t), "%s", todo_with("COMPLETED:20240110T120000Z\r\n"));
    ck_assert_int_eq(in_range(t, ICAL_VTODO_COMPONENT, d, d + 1), 1);
    ck_assert_int_eq(in_range(t, ICAL_VTODO_COMPONENT, d + 1, d + 2), 0);
    snprintf(t, sizeof(t), "%s", todo_with("CREATED:20240105T120000Z\r\n"));
    ck_assert_int_eq(in_range(t, ICAL_VTODO_COMPONENT, 0, s + 1), 1);
    ck_assert_int_eq(in_range(t, ICAL_VTODO_COMPONENT, 0, s), 0);
    /* no dates: always */
    snprintf(t, sizeof(t), "%s", todo_with("SUMMARY:whenever\r\n"));
    ck_assert_int_eq(in_range(t, ICAL_VTODO_COMPONENT, 0, 1), 1);
    /* a weekly recurring to-do */
    snprintf(t, sizeof(t), "%s",
             todo_with("DTSTART:20240105T120000Z\r\nDUE:20240105T130000Z\r\n"
                       "RRULE:FREQ=WEEKLY\r\n"));
    ck_assert_int_eq(
        in_range(t, ICAL_VTODO_COMPONENT, utc(2025, 1, 3, 12, 30), utc(2025, 1, 3, 12, 40)), 1);
    ck_assert_int_eq(
        in_range(t, ICAL_VTODO_COMPONENT, utc(2025, 1, 4, 0, 0), utc(2025, 1, 9, 0, 0)), 0);
}
END_TEST

START_TEST(test_time_range_journal_freebusy)
{
    char t[4096];
    int64_t day = utc(2024, 2, 1, 0, 0);
    snprintf(t, sizeof(t),
             "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VJOURNAL\r\nUID:j\r\n"
             "DTSTART;VALUE=DATE:20240201\r\nEND:VJOURNAL\r\nEND:VCALENDAR\r\n");
    ck_assert_int_eq(in_range(t, ICAL_VJOURNAL_COMPONENT, day + 3600, day + 7200), 1);
    ck_assert_int_eq(in_range(t, ICAL_VJOURNAL_COMPONENT, day + 86400, day + 90000), 0);
    snprintf(t, sizeof(t),
             "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VJOURNAL\r\nUID:j\r\nSUMMARY:no date\r\n"
             "END:VJOURNAL\r\nEND:VCALENDAR\r\n");
    ck_assert_int_eq(in_range(t, ICAL_VJOURNAL_COMPONENT, INT64_MIN, INT64_MAX), 0);
    snprintf(t, sizeof(t),
             "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VFREEBUSY\r\nUID:f\r\n"
             "DTSTART:20240101T000000Z\r\nDTEND:20240108T000000Z\r\n"
             "FREEBUSY:20240102T100000Z/20240102T120000Z\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n");
    ck_assert_int_eq(
        in_range(t, ICAL_VFREEBUSY_COMPONENT, utc(2024, 1, 2, 11, 0), utc(2024, 1, 2, 13, 0)), 1);
    ck_assert_int_eq(
        in_range(t, ICAL_VFREEBUSY_COMPONENT, utc(2024, 1, 3, 0, 0), utc(2024, 1, 4, 0, 0)), 0);
}
END_TEST

START_TEST(test_time_range_alarm)
{
    char t[4096];
    icalcomponent *c, *alarm;
    /* 10 minutes before a DUE-only to-do (RFC 4791 7.8.5) */
    snprintf(t, sizeof(t), "%s",
             todo_with("DUE:20060106T170000Z\r\nBEGIN:VALARM\r\nACTION:AUDIO\r\n"
                       "TRIGGER;RELATED=START:-PT10M\r\nEND:VALARM\r\n"));
    c = cal_of(t);
    alarm = icalcomponent_get_first_component(
        icalcomponent_get_first_component(c, ICAL_VTODO_COMPONENT), ICAL_VALARM_COMPONENT);
    ck_assert_int_eq(
        dav_ical_comp_in_range(alarm, utc(2006, 1, 6, 10, 0), utc(2006, 1, 7, 10, 0), NULL), 1);
    ck_assert_int_eq(
        dav_ical_comp_in_range(alarm, utc(2006, 1, 6, 16, 51), utc(2006, 1, 7, 10, 0), NULL), 0);
    icalcomponent_free(c);
    /* relative to the END of a weekly event, with repeats */
    snprintf(t, sizeof(t), "%s",
             event_with("DTSTART:20240101T100000Z\r\nDTEND:20240101T110000Z\r\n"
                        "RRULE:FREQ=WEEKLY\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\n"
                        "TRIGGER;RELATED=END:PT5M\r\nREPEAT:2\r\nDURATION:PT5M\r\n"
                        "END:VALARM\r\n"));
    c = cal_of(t);
    alarm = icalcomponent_get_first_component(
        icalcomponent_get_first_component(c, ICAL_VEVENT_COMPONENT), ICAL_VALARM_COMPONENT);
    /* a year later: 11:05, 11:10, 11:15 */
    ck_assert_int_eq(
        dav_ical_comp_in_range(alarm, utc(2024, 12, 30, 11, 14), utc(2024, 12, 30, 11, 16), NULL),
        1);
    ck_assert_int_eq(
        dav_ical_comp_in_range(alarm, utc(2024, 12, 30, 11, 16), utc(2024, 12, 30, 12, 0), NULL),
        0);
    icalcomponent_free(c);
    /* an absolute trigger */
    snprintf(t, sizeof(t), "%s",
             event_with("DTSTART:20240101T100000Z\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\n"
                        "TRIGGER;VALUE=DATE-TIME:20231231T090000Z\r\nEND:VALARM\r\n"));
    c = cal_of(t);
    alarm = icalcomponent_get_first_component(
        icalcomponent_get_first_component(c, ICAL_VEVENT_COMPONENT), ICAL_VALARM_COMPONENT);
    ck_assert_int_eq(
        dav_ical_comp_in_range(alarm, utc(2023, 12, 31, 8, 0), utc(2023, 12, 31, 10, 0), NULL), 1);
    icalcomponent_free(c);
}
END_TEST

START_TEST(test_zone_from_text)
{
    icaltimezone *z = NULL;
    const char *tz = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" BERLIN_TZ "END:VCALENDAR\r\n";
    ck_assert_int_eq(dav_ical_zone_from_text(tz, strlen(tz), &z), 0);
    ck_assert_ptr_nonnull(z);
    /* a floating 10:00 in this zone is 09:00 UTC in winter */
    struct icaltimetype t = icaltime_from_string("20240105T100000");
    ck_assert_int_eq(dav_ical_utc(t, z), utc(2024, 1, 5, 9, 0));
    icaltimezone_free(z, 1);
    ck_assert_int_eq(dav_ical_zone_from_text("nonsense", 8, &z), MG_EINVAL);
    const char *no = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n";
    ck_assert_int_eq(dav_ical_zone_from_text(no, strlen(no), &z), MG_EINVAL);
}
END_TEST

static Suite *ical_suite(void)
{
    Suite *s = suite_create("ical");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_parse_errors);
    tcase_add_test(tc, test_check_object);
    tcase_add_test(tc, test_parse_utc);
    tcase_add_test(tc, test_zone_from_text);
    suite_add_tcase(s, tc);
    tc = tcase_create("recurrence");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_weekly_dst_exdate_override);
    tcase_add_test(tc, test_allday_floating);
    tcase_add_test(tc, test_jump_equals_walk);
    tcase_add_test(tc, test_rdate_count);
    tcase_add_test(tc, test_budget);
    suite_add_tcase(s, tc);
    tc = tcase_create("time-range");
    tcase_add_test(tc, test_time_range_vevent);
    tcase_add_test(tc, test_time_range_vtodo);
    tcase_add_test(tc, test_time_range_journal_freebusy);
    tcase_add_test(tc, test_time_range_alarm);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ical_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
