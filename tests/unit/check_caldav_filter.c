/* check_caldav_filter.c - CALDAV:filter (dav/calfilter.c, RFC 4791 9.7),
 * text-match collations (dav/textmatch.c), the index pre-filter, and
 * calendar-data rendering (dav/caldata.c: expand, limit-recurrence-set,
 * limit-freebusy-set, partial retrieval), on the example calendar of
 * RFC 4791 Appendix B and the queries of RFC 4791 7.8. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../dav/dav_private.h"

#define NS "xmlns:C=\"urn:ietf:params:xml:ns:caldav\" xmlns:D=\"DAV:\""

#define US_EASTERN                                                                                 \
    "BEGIN:VTIMEZONE\r\nLAST-MODIFIED:20040110T032845Z\r\nTZID:US/Eastern\r\n"                     \
    "BEGIN:DAYLIGHT\r\nDTSTART:20000404T020000\r\nRRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=4\r\n"       \
    "TZNAME:EDT\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nEND:DAYLIGHT\r\n"                     \
    "BEGIN:STANDARD\r\nDTSTART:20001026T020000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n"     \
    "TZNAME:EST\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
#define HDR "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example Corp.//CalDAV Client//EN\r\n"

/* RFC 4791 Appendix B */
static const char *const abcd[] = {
    /* 1 */ HDR US_EASTERN
    "BEGIN:VEVENT\r\nDTSTAMP:20060206T001102Z\r\nDTSTART;TZID=US/Eastern:20060102T100000\r\n"
    "DURATION:PT1H\r\nSUMMARY:Event #1\r\nDescription:Go Steelers!\r\n"
    "UID:74855313FA803DA593CD579A@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    /* 2 */
    HDR US_EASTERN
    "BEGIN:VEVENT\r\nDTSTAMP:20060206T001121Z\r\nDTSTART;TZID=US/Eastern:20060102T120000\r\n"
    "DURATION:PT1H\r\nRRULE:FREQ=DAILY;COUNT=5\r\nSUMMARY:Event #2\r\n"
    "UID:00959BC664CA650E933C892C@example.com\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nDTSTAMP:20060206T001121Z\r\nDTSTART;TZID=US/Eastern:20060104T140000\r\n"
    "DURATION:PT1H\r\nRECURRENCE-ID;TZID=US/Eastern:20060104T120000\r\nSUMMARY:Event #2 bis\r\n"
    "UID:00959BC664CA650E933C892C@example.com\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nDTSTAMP:20060206T001121Z\r\nDTSTART;TZID=US/Eastern:20060106T140000\r\n"
    "DURATION:PT1H\r\nRECURRENCE-ID;TZID=US/Eastern:20060106T120000\r\n"
    "SUMMARY:Event #2 bis bis\r\nUID:00959BC664CA650E933C892C@example.com\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n",
    /* 3 */
    HDR US_EASTERN
    "BEGIN:VEVENT\r\nATTENDEE;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:cyrus@example.com\r\n"
    "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:lisa@example.com\r\nDTSTAMP:20060206T001220Z\r\n"
    "DTSTART;TZID=US/Eastern:20060104T100000\r\nDURATION:PT1H\r\n"
    "LAST-MODIFIED:20060206T001330Z\r\nORGANIZER:mailto:cyrus@example.com\r\nSEQUENCE:1\r\n"
    "STATUS:TENTATIVE\r\nSUMMARY:Event #3\r\nUID:DC6C50A017428C5216A2F1CD@example.com\r\n"
    "X-ABC-GUID:E1CX5Dr-0007ym-Hz@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    /* 4 */
    HDR "BEGIN:VTODO\r\nDTSTAMP:20060205T235335Z\r\nDUE;VALUE=DATE:20060104\r\n"
        "STATUS:NEEDS-ACTION\r\nSUMMARY:Task #1\r\nUID:DDDEEB7915FA61233B861457@example.com\r\n"
        "BEGIN:VALARM\r\nACTION:AUDIO\r\nTRIGGER;RELATED=START:-PT10M\r\nEND:VALARM\r\n"
        "END:VTODO\r\nEND:VCALENDAR\r\n",
    /* 5 */
    HDR US_EASTERN
    "BEGIN:VTODO\r\nDTSTAMP:20060205T235300Z\r\nDUE;TZID=US/Eastern:20060106T120000\r\n"
    "LAST-MODIFIED:20060205T235308Z\r\nSEQUENCE:1\r\nSTATUS:NEEDS-ACTION\r\nSUMMARY:Task #2\r\n"
    "UID:E10BA47467C5C69BB74E8720@example.com\r\nBEGIN:VALARM\r\nACTION:AUDIO\r\n"
    "TRIGGER;RELATED=START:-PT10M\r\nEND:VALARM\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
    /* 6 */
    HDR "BEGIN:VTODO\r\nCOMPLETED:20051223T122322Z\r\nDTSTAMP:20060205T235400Z\r\n"
        "DUE;VALUE=DATE:20051225\r\nLAST-MODIFIED:20060205T235308Z\r\nSEQUENCE:1\r\n"
        "STATUS:COMPLETED\r\nSUMMARY:Task #3\r\nUID:E10BA47467C5C69BB74E8722@example.com\r\n"
        "END:VTODO\r\nEND:VCALENDAR\r\n",
    /* 7 */
    HDR "BEGIN:VTODO\r\nDTSTAMP:20060205T235600Z\r\nDUE;VALUE=DATE:20060101\r\n"
        "LAST-MODIFIED:20060205T235308Z\r\nSEQUENCE:1\r\nSTATUS:CANCELLED\r\nSUMMARY:Task #4\r\n"
        "UID:E10BA47467C5C69BB74E8725@example.com\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
    /* 8 */
    HDR
    "BEGIN:VFREEBUSY\r\nORGANIZER;CN=\"Bernard Desruisseaux\":mailto:bernard@example.com\r\n"
    "UID:76ef34-54a3d2@example.com\r\nDTSTAMP:20050530T123421Z\r\nDTSTART:20060101T000000Z\r\n"
    "DTEND:20060108T000000Z\r\nFREEBUSY:20050531T230000Z/20050601T010000Z\r\n"
    "FREEBUSY;FBTYPE=BUSY-TENTATIVE:20060102T100000Z/20060102T120000Z\r\n"
    "FREEBUSY:20060103T100000Z/20060103T120000Z\r\nFREEBUSY:20060104T100000Z/20060104T120000Z\r\n"
    "FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20060105T100000Z/20060105T120000Z\r\n"
    "FREEBUSY:20060106T100000Z/20060106T120000Z\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n",
};
#define NOBJ 8

static struct mg_config cfg;

static void setup(void)
{
    cfg_defaults(&cfg);
}

static void teardown(void)
{
    cfg_release(&cfg);
}

/* The filter element of an XML snippet "<C:filter ...>...</C:filter>". */
static int parse_filter(const char *xml, struct dav_calfilter **f, char *err, size_t cap,
                        xmlDoc **doc)
{
    ck_assert_int_eq(dav_xml_parse(xml, strlen(xml), &cfg.limits, doc), 0);
    return dav_calfilter_parse(xmlDocGetRootElement(*doc), f, err, cap);
}

/* Which objects of Appendix B match filter xml: a bit per object (1 << n). */
static unsigned matches(const char *xml)
{
    struct dav_calfilter *f = NULL;
    xmlDoc *doc = NULL;
    char err[256] = "";
    unsigned hit = 0;
    int rc = parse_filter(xml, &f, err, sizeof(err), &doc);
    ck_assert_msg(rc == 0, "filter refused: %s", err);
    for (int i = 0; i < NOBJ; i++) {
        icalcomponent *c = NULL;
        struct dav_ical_info info;
        struct dav_objidx x;
        struct buf idx;
        ck_assert_int_eq(dav_ical_parse(abcd[i], strlen(abcd[i]), &c, err, sizeof(err)), 0);
        int m = dav_calfilter_match(f, c, NULL);
        /* the index never rules out an object that matches */
        ck_assert_int_eq(dav_ical_check_object(c, &info, err, sizeof(err)), 0);
        memset(&x, 0, sizeof(x));
        x.kind = DAV_OBJ_ICAL;
        x.comps = info.comp;
        x.lo = info.lo;
        x.hi = info.hi;
        x.uid.p = info.uid;
        x.uid.n = strlen(info.uid);
        buf_init(&idx);
        ck_assert_int_eq(dav_objidx_encode(&x, &idx), 0);
        struct dav_bytes b = {idx.data, idx.len};
        struct dav_objidx y;
        ck_assert_int_eq(dav_objidx_decode(&b, &y), 0);
        ck_assert_int_eq(y.lo, x.lo);
        ck_assert_int_eq(y.hi, x.hi);
        ck_assert_msg(!m || dav_calfilter_may_match(f, &y), "index rules out abcd%d", i + 1);
        buf_release(&idx);
        dav_ical_info_release(&info);
        if (m)
            hit |= 1u << (i + 1);
        icalcomponent_free(c);
    }
    dav_calfilter_free(f);
    xmlFreeDoc(doc);
    return hit;
}

#define BIT(n) (1u << (n))

START_TEST(test_rfc4791_queries)
{
    /* 7.8.1 events by time range */
    ck_assert_uint_eq(matches("<C:filter " NS "><C:comp-filter name=\"VCALENDAR\"><C:comp-filter "
                              "name=\"VEVENT\"><C:time-range start=\"20060104T000000Z\" "
                              "end=\"20060105T000000Z\"/></C:comp-filter></C:comp-filter>"
                              "</C:filter>"),
                      BIT(2) | BIT(3));
    /* 7.8.5 to-dos by alarm time range */
    ck_assert_uint_eq(matches("<C:filter " NS "><C:comp-filter name=\"VCALENDAR\"><C:comp-filter "
                              "name=\"VTODO\"><C:comp-filter name=\"VALARM\"><C:time-range "
                              "start=\"20060106T100000Z\" end=\"20060107T100000Z\"/>"
                              "</C:comp-filter></C:comp-filter></C:comp-filter></C:filter>"),
                      BIT(5));
    /* 7.8.6 by UID */
    ck_assert_uint_eq(matches("<C:filter " NS "><C:comp-filter name=\"VCALENDAR\"><C:comp-filter "
                              "name=\"VEVENT\"><C:prop-filter name=\"UID\"><C:text-match "
                              "collation=\"i;octet\">DC6C50A017428C5216A2F1CD@example.com"
                              "</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter>"
                              "</C:filter>"),
                      BIT(3));
    /* 7.8.7 by PARTSTAT */
    ck_assert_uint_eq(matches("<C:filter " NS "><C:comp-filter name=\"VCALENDAR\"><C:comp-filter "
                              "name=\"VEVENT\"><C:prop-filter name=\"ATTENDEE\"><C:text-match "
                              "collation=\"i;ascii-casemap\">mailto:lisa@example.com"
                              "</C:text-match><C:param-filter name=\"PARTSTAT\"><C:text-match "
                              "collation=\"i;ascii-casemap\">NEEDS-ACTION</C:text-match>"
                              "</C:param-filter></C:prop-filter></C:comp-filter></C:comp-filter>"
                              "</C:filter>"),
                      BIT(3));
    /* 7.8.8 events only */
    ck_assert_uint_eq(matches("<C:filter " NS "><C:comp-filter name=\"VCALENDAR\"><C:comp-filter "
                              "name=\"VEVENT\"/></C:comp-filter></C:filter>"),
                      BIT(1) | BIT(2) | BIT(3));
    /* 7.8.9 pending to-dos */
    ck_assert_uint_eq(matches("<C:filter " NS "><C:comp-filter name=\"VCALENDAR\"><C:comp-filter "
                              "name=\"VTODO\"><C:prop-filter name=\"COMPLETED\"><C:is-not-defined/>"
                              "</C:prop-filter><C:prop-filter name=\"STATUS\"><C:text-match "
                              "negate-condition=\"yes\">CANCELLED</C:text-match></C:prop-filter>"
                              "</C:comp-filter></C:comp-filter></C:filter>"),
                      BIT(4) | BIT(5));
    /* stored free-busy by time range (7.8.4) */
    ck_assert_uint_eq(matches("<C:filter " NS "><C:comp-filter name=\"VCALENDAR\"><C:comp-filter "
                              "name=\"VFREEBUSY\"><C:time-range start=\"20060102T000000Z\" "
                              "end=\"20060103T000000Z\"/></C:comp-filter></C:comp-filter>"
                              "</C:filter>"),
                      BIT(8));
    /* everything, and nothing */
    ck_assert_uint_eq(matches("<C:filter " NS "><C:comp-filter name=\"VCALENDAR\"/></C:filter>"),
                      0x1feu);
    ck_assert_uint_eq(matches("<C:filter " NS "><C:comp-filter name=\"VCALENDAR\"><C:comp-filter "
                              "name=\"VJOURNAL\"/></C:comp-filter></C:filter>"),
                      0);
    /* is-not-defined on a component */
    ck_assert_uint_eq(matches("<C:filter " NS "><C:comp-filter name=\"VCALENDAR\"><C:comp-filter "
                              "name=\"VTIMEZONE\"><C:is-not-defined/></C:comp-filter>"
                              "</C:comp-filter></C:filter>"),
                      BIT(4) | BIT(6) | BIT(7) | BIT(8));
    /* a recurrence instance: Jan 5 at 17:00Z is only in abcd2's series */
    ck_assert_uint_eq(matches("<C:filter " NS "><C:comp-filter name=\"VCALENDAR\"><C:comp-filter "
                              "name=\"VEVENT\"><C:time-range start=\"20060105T170000Z\" "
                              "end=\"20060105T171000Z\"/></C:comp-filter></C:comp-filter>"
                              "</C:filter>"),
                      BIT(2));
    /* the overridden slot (Jan 6 at 17:00Z moved to 19:00Z) is empty */
    ck_assert_uint_eq(matches("<C:filter " NS "><C:comp-filter name=\"VCALENDAR\"><C:comp-filter "
                              "name=\"VEVENT\"><C:time-range start=\"20060106T170000Z\" "
                              "end=\"20060106T180000Z\"/></C:comp-filter></C:comp-filter>"
                              "</C:filter>"),
                      0);
    /* a prop-filter with a time-range (DTSTAMP) */
    ck_assert_uint_eq(matches("<C:filter " NS "><C:comp-filter name=\"VCALENDAR\"><C:comp-filter "
                              "name=\"VTODO\"><C:prop-filter name=\"COMPLETED\"><C:time-range "
                              "start=\"20051201T000000Z\" end=\"20060101T000000Z\"/>"
                              "</C:prop-filter></C:comp-filter></C:comp-filter></C:filter>"),
                      BIT(6));
    /* a time-range placed after the prop-filters (python caldav does that) */
    ck_assert_uint_eq(matches("<C:filter " NS "><C:comp-filter name=\"VCALENDAR\"><C:comp-filter "
                              "name=\"VTODO\"><C:prop-filter name=\"COMPLETED\"><C:is-not-defined/>"
                              "</C:prop-filter><C:time-range start=\"20060103T000000Z\" "
                              "end=\"20060105T000000Z\"/></C:comp-filter></C:comp-filter>"
                              "</C:filter>"),
                      BIT(4));
}
END_TEST

START_TEST(test_filter_errors)
{
    static const char *const bad[] = {
        "<C:filter " NS "/>",
        "<C:filter " NS "><C:comp-filter name=\"VEVENT\"/></C:filter>",
        "<C:filter " NS "><C:comp-filter/></C:filter>",
        "<C:filter " NS "><C:comp-filter name=\"VCALENDAR\"/><C:comp-filter "
        "name=\"VCALENDAR\"/></C:filter>",
        "<C:filter " NS "><C:comp-filter name=\"VCALENDAR\"><C:time-range/></C:comp-filter>"
        "</C:filter>",
        "<C:filter " NS "><C:comp-filter name=\"VCALENDAR\"><C:time-range start=\"x\"/>"
        "</C:comp-filter></C:filter>",
        "<C:filter " NS "><C:comp-filter name=\"VCALENDAR\"><C:is-not-defined/><C:prop-filter "
        "name=\"X\"/></C:comp-filter></C:filter>",
        "<C:filter " NS "><C:comp-filter name=\"VCALENDAR\"><C:prop-filter/></C:comp-filter>"
        "</C:filter>",
        "<C:filter " NS "><C:comp-filter name=\"VCALENDAR\"><C:bogus/></C:comp-filter></C:filter>",
        "<C:filter " NS
        "><C:comp-filter name=\"VCALENDAR\"><C:prop-filter name=\"A\"><C:text-match "
        "negate-condition=\"maybe\">x</C:text-match></C:prop-filter></C:comp-filter></C:filter>",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct dav_calfilter *f = NULL;
        xmlDoc *doc = NULL;
        char err[256] = "";
        ck_assert_msg(parse_filter(bad[i], &f, err, sizeof(err), &doc) == MG_EINVAL,
                      "accepted case %zu", i);
        ck_assert_msg(err[0], "no message for case %zu", i);
        ck_assert_ptr_null(f);
        xmlFreeDoc(doc);
    }
    /* RFC 4791 7.8.10: an unknown collation is its own precondition */
    struct dav_calfilter *f = NULL;
    xmlDoc *doc = NULL;
    char err[256];
    ck_assert_int_eq(parse_filter("<C:filter " NS "><C:comp-filter name=\"VCALENDAR\">"
                                  "<C:comp-filter name=\"VEVENT\"><C:prop-filter "
                                  "name=\"DESCRIPTION\"><C:text-match collation="
                                  "\"i;vnd.example.collation\">ice</C:text-match>"
                                  "</C:prop-filter></C:comp-filter></C:comp-filter></C:filter>",
                                  &f, err, sizeof(err), &doc),
                     MG_EDENIED);
    xmlFreeDoc(doc);
}
END_TEST

/* ---- text-match --------------------------------------------------------------------- */

static int tm(const char *attrs, const char *text, const char *value)
{
    char xml[512];
    xmlDoc *doc = NULL;
    struct dav_textmatch t;
    snprintf(xml, sizeof(xml), "<C:text-match " NS " %s>%s</C:text-match>", attrs, text);
    ck_assert_int_eq(dav_xml_parse(xml, strlen(xml), &cfg.limits, &doc), 0);
    ck_assert_int_eq(dav_textmatch_parse(xmlDocGetRootElement(doc), DAV_COLLATION_ASCII, &t), 0);
    int r = dav_textmatch_test(&t, value);
    dav_textmatch_release(&t);
    xmlFreeDoc(doc);
    return r;
}

START_TEST(test_textmatch)
{
    /* i;ascii-casemap (the CalDAV default) folds ASCII only */
    ck_assert_int_eq(tm("", "steelers", "Go Steelers!"), 1);
    ck_assert_int_eq(tm("", "müller", "Herr MÜLLER"), 0);
    ck_assert_int_eq(tm("", "müller", "Herr Müller"), 1);
    /* i;unicode-casemap folds the rest too */
    ck_assert_int_eq(tm("collation=\"i;unicode-casemap\"", "müller", "Herr MÜLLER"), 1);
    ck_assert_int_eq(tm("collation=\"i;unicode-casemap\"", "ΣΟΦΊΑ", "σοφία"), 1);
    /* i;octet is exact */
    ck_assert_int_eq(tm("collation=\"i;octet\"", "steelers", "Go Steelers!"), 0);
    ck_assert_int_eq(tm("collation=\"i;octet\"", "Steelers", "Go Steelers!"), 1);
    /* match types (RFC 6352 10.5.4) and negation */
    ck_assert_int_eq(tm("match-type=\"equals\"", "go steelers!", "Go Steelers!"), 1);
    ck_assert_int_eq(tm("match-type=\"equals\"", "go steelers", "Go Steelers!"), 0);
    ck_assert_int_eq(tm("match-type=\"starts-with\"", "GO", "Go Steelers!"), 1);
    ck_assert_int_eq(tm("match-type=\"starts-with\"", "Steelers", "Go Steelers!"), 0);
    ck_assert_int_eq(tm("match-type=\"ends-with\"", "ERS!", "Go Steelers!"), 1);
    ck_assert_int_eq(tm("match-type=\"ends-with\"", "Go Steelers!!", "Go Steelers!"), 0);
    ck_assert_int_eq(tm("negate-condition=\"yes\"", "CANCELLED", "NEEDS-ACTION"), 1);
    ck_assert_int_eq(tm("negate-condition=\"yes\"", "cancelled", "CANCELLED"), 0);
    ck_assert_int_eq(tm("", "", "anything"), 1);
    ck_assert_int_eq(tm("", "x", ""), 0);
}
END_TEST

/* ---- calendar-data --------------------------------------------------------------------- */

static char *render(const char *spec_xml, int obj)
{
    xmlDoc *doc = NULL;
    struct dav_caldata cd;
    struct buf out;
    char *s;
    ck_assert_int_eq(dav_xml_parse(spec_xml, strlen(spec_xml), &cfg.limits, &doc), 0);
    ck_assert_int_eq(dav_caldata_parse(xmlDocGetRootElement(doc), &cd), 0);
    buf_init(&out);
    ck_assert_int_eq(
        dav_caldata_render(&cd, abcd[obj - 1], strlen(abcd[obj - 1]), NULL, NULL, &out), 0);
    s = buf_detach(&out, NULL);
    dav_caldata_release(&cd);
    xmlFreeDoc(doc);
    return s;
}

START_TEST(test_caldata)
{
    char *s;
    /* nothing asked: the object as stored */
    s = render("<C:calendar-data " NS "/>", 3);
    ck_assert_str_eq(s, abcd[2]);
    free(s);
    /* 7.8.3 expand */
    s = render("<C:calendar-data " NS "><C:comp name=\"VCALENDAR\"><C:comp name=\"VEVENT\"/>"
               "</C:comp><C:expand start=\"20060103T000000Z\" end=\"20060105T000000Z\"/>"
               "</C:calendar-data>",
               2);
    ck_assert_ptr_nonnull(strstr(s, "DTSTART:20060103T170000Z"));
    ck_assert_ptr_nonnull(strstr(s, "RECURRENCE-ID:20060103T170000Z"));
    ck_assert_ptr_nonnull(strstr(s, "DTSTART:20060104T190000Z"));
    ck_assert_ptr_nonnull(strstr(s, "RECURRENCE-ID:20060104T170000Z"));
    ck_assert_ptr_null(strstr(s, "RRULE"));
    ck_assert_ptr_null(strstr(s, "VTIMEZONE"));
    ck_assert_ptr_null(strstr(s, "20060102T"));
    ck_assert_ptr_null(strstr(s, "20060105T"));
    ck_assert_ptr_nonnull(strstr(s, "PRODID")); /* VCALENDAR without prop: all of them */
    free(s);
    /* 7.8.2 limit-recurrence-set */
    s = render("<C:calendar-data " NS "><C:limit-recurrence-set start=\"20060103T000000Z\" "
               "end=\"20060105T000000Z\"/></C:calendar-data>",
               2);
    ck_assert_ptr_nonnull(strstr(s, "RRULE:FREQ=DAILY;COUNT=5"));
    ck_assert_ptr_nonnull(strstr(s, "SUMMARY:Event #2 bis\r\n"));
    ck_assert_ptr_null(strstr(s, "bis bis"));
    free(s);
    /* 7.8.4 limit-freebusy-set */
    s = render("<C:calendar-data " NS "><C:limit-freebusy-set start=\"20060102T000000Z\" "
               "end=\"20060103T000000Z\"/></C:calendar-data>",
               8);
    ck_assert_ptr_nonnull(strstr(s, "20060102T100000Z/20060102T120000Z"));
    ck_assert_ptr_null(strstr(s, "20060103T100000Z"));
    free(s);
    /* 7.8.1 partial retrieval */
    s = render("<C:calendar-data " NS "><C:comp name=\"VCALENDAR\"><C:prop name=\"VERSION\"/>"
               "<C:comp name=\"VEVENT\"><C:prop name=\"SUMMARY\"/><C:prop name=\"UID\"/>"
               "</C:comp><C:comp name=\"VTIMEZONE\"/></C:comp></C:calendar-data>",
               3);
    ck_assert_ptr_nonnull(strstr(s, "SUMMARY:Event #3"));
    ck_assert_ptr_nonnull(strstr(s, "TZID:US/Eastern"));
    ck_assert_ptr_null(strstr(s, "ATTENDEE"));
    ck_assert_ptr_null(strstr(s, "PRODID"));
    free(s);
    /* expansion of an all-day series keeps dates */
    static const char allday[] =
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:b\r\n"
        "DTSTART;VALUE=DATE:20240101\r\nDTEND;VALUE=DATE:20240102\r\nRRULE:FREQ=WEEKLY\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n";
    xmlDoc *doc = NULL;
    struct dav_caldata cd;
    struct buf out;
    const char *x = "<C:calendar-data " NS "><C:expand start=\"20240107T000000Z\" "
                    "end=\"20240109T000000Z\"/></C:calendar-data>";
    ck_assert_int_eq(dav_xml_parse(x, strlen(x), &cfg.limits, &doc), 0);
    ck_assert_int_eq(dav_caldata_parse(xmlDocGetRootElement(doc), &cd), 0);
    buf_init(&out);
    ck_assert_int_eq(dav_caldata_render(&cd, allday, strlen(allday), NULL, NULL, &out), 0);
    ck_assert_ptr_nonnull(strstr(out.data, "DTSTART;VALUE=DATE:20240108"));
    ck_assert_ptr_nonnull(strstr(out.data, "DTEND;VALUE=DATE:20240109"));
    ck_assert_ptr_nonnull(strstr(out.data, "RECURRENCE-ID;VALUE=DATE:20240108"));
    buf_release(&out);
    dav_caldata_release(&cd);
    xmlFreeDoc(doc);
    /* what cannot be served is refused */
    x = "<C:calendar-data " NS " content-type=\"application/calendar+json\"/>";
    ck_assert_int_eq(dav_xml_parse(x, strlen(x), &cfg.limits, &doc), 0);
    ck_assert_int_eq(dav_caldata_parse(xmlDocGetRootElement(doc), &cd), MG_EDENIED);
    xmlFreeDoc(doc);
    x = "<C:calendar-data " NS "><C:expand start=\"20240107T000000Z\"/><C:limit-recurrence-set "
        "start=\"20240107T000000Z\"/></C:calendar-data>";
    ck_assert_int_eq(dav_xml_parse(x, strlen(x), &cfg.limits, &doc), 0);
    ck_assert_int_eq(dav_caldata_parse(xmlDocGetRootElement(doc), &cd), MG_EINVAL);
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(test_objidx_garbage)
{
    struct dav_objidx x;
    static const char *const bad[] = {"", "X", "X1", "Y1\x01\x01", "X1\x01\x01short"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct dav_bytes b = {bad[i], strlen(bad[i])};
        ck_assert_int_eq(dav_objidx_decode(&b, &x), MG_EINVAL);
    }
    struct dav_bytes none = {NULL, 0};
    ck_assert_int_eq(dav_objidx_decode(&none, &x), MG_EINVAL);
}
END_TEST

static Suite *filter_suite(void)
{
    Suite *s = suite_create("caldav_filter");
    TCase *tc = tcase_create("filters");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_rfc4791_queries);
    tcase_add_test(tc, test_filter_errors);
    tcase_add_test(tc, test_textmatch);
    suite_add_tcase(s, tc);
    tc = tcase_create("calendar-data");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_caldata);
    tcase_add_test(tc, test_objidx_garbage);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(filter_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
