/* check_jconv.c - the JSON forms of contacts and calendars (api/jcard.c,
 * api/jcal.c, api/jconv.c): the examples of RFC 7095 and RFC 7265, round
 * trips text -> JSON -> text -> JSON that lose nothing, dates between basic
 * and extended form, UIDs, and malformed input refused with a message (never
 * a content line smuggled into the text). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../api/api_private.h"
#include "../../api/jconv.h"

static json_t *json_of(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    ck_assert_msg(v != NULL, "test JSON does not parse: %s", e.text);
    return v;
}

/* Asserts that got equals the JSON text want (object member order aside). */
static void assert_json(const json_t *got, const char *want)
{
    json_t *w = json_of(want);
    char *g = json_dumps(got, JSON_COMPACT);
    ck_assert_msg(json_equal(got, w), "got  %s\nwant %s", g, want);
    free(g);
    json_decref(w);
}

static json_t *jcard_of(const char *vcard)
{
    json_t *j = NULL;
    char err[256] = "";
    int rc = api_jcard_from_vcard(vcard, strlen(vcard), &j, err, sizeof(err));
    ck_assert_msg(rc == 0, "vCard refused: %s", err);
    return j;
}

static json_t *jcal_of(const char *ical)
{
    json_t *j = NULL;
    char err[256] = "";
    int rc = api_jcal_from_ical(ical, strlen(ical), &j, err, sizeof(err));
    ck_assert_msg(rc == 0, "iCalendar refused: %s", err);
    return j;
}

/* The text of a JSON form (which must convert). */
static char *text_of(const json_t *j, int card)
{
    struct buf b;
    char err[256] = "";
    buf_init(&b);
    int rc = card ? api_jcard_to_vcard(j, &b, err, sizeof(err))
                  : api_jcal_to_ical(j, &b, err, sizeof(err));
    ck_assert_msg(rc == 0, "conversion to text refused: %s", err);
    return b.data;
}

/* Asserts that the JSON text is refused with a message containing want. */
static void assert_refused(const char *json, int card, const char *want)
{
    json_t *j = json_of(json);
    struct buf b;
    char err[256] = "";
    buf_init(&b);
    int rc = card ? api_jcard_to_vcard(j, &b, err, sizeof(err))
                  : api_jcal_to_ical(j, &b, err, sizeof(err));
    ck_assert_msg(rc == MG_EINVAL, "%s: expected MG_EINVAL, got %d", json, rc);
    ck_assert_msg(strstr(err, want) != NULL, "%s: message '%s' lacks '%s'", json, err, want);
    buf_release(&b);
    json_decref(j);
}

/* Asserts that text contains part. */
static void assert_has(const char *text, const char *part)
{
    ck_assert_msg(strstr(text, part) != NULL, "'%s' is not in:\n%s", part, text);
}

/* text -> JSON -> text -> JSON: the two JSON forms are equal. */
static void assert_round_trip(const char *text, int card)
{
    json_t *a = card ? jcard_of(text) : jcal_of(text);
    char *t = text_of(a, card);
    json_t *b = card ? jcard_of(t) : jcal_of(t);
    char *sa = json_dumps(a, JSON_COMPACT), *sb = json_dumps(b, JSON_COMPACT);
    ck_assert_msg(json_equal(a, b), "round trip changed the object:\n%s\n%s\nvia\n%s", sa, sb, t);
    free(sa);
    free(sb);
    free(t);
    json_decref(a);
    json_decref(b);
}

/* ---- jCard ---------------------------------------------------------------------------------- */

/* RFC 7095 appendix B.1 (the vCard of RFC 6350 appendix; TZ given as a UTC
 * offset explicitly, since TZ is text by default). */
static const char *perreault =
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "FN:Simon Perreault\r\n"
    "N:Perreault;Simon;;;ing. jr,M.Sc.\r\n"
    "BDAY:--0203\r\n"
    "ANNIVERSARY:20090808T1430-0500\r\n"
    "GENDER:M\r\n"
    "LANG;PREF=1:fr\r\n"
    "LANG;PREF=2:en\r\n"
    "ORG;TYPE=work:Viagenie\r\n"
    "ADR;TYPE=work:;Suite D2-630;2875 Laurier;\r\n"
    " Quebec;QC;G1V 2M2;Canada\r\n"
    "TEL;VALUE=uri;TYPE=\"work,voice\";PREF=1:tel:+1-418-656-9254;ext=102\r\n"
    "TEL;VALUE=uri;TYPE=\"work,cell,voice,video,text\":tel:+1-418-262-6501\r\n"
    "EMAIL;TYPE=work:simon.perreault@viagenie.ca\r\n"
    "GEO;TYPE=work:geo:46.772673,-71.282945\r\n"
    "KEY;TYPE=work;VALUE=uri:\r\n"
    " http://www.viagenie.ca/simon.perreault/simon.asc\r\n"
    "TZ;VALUE=utc-offset:-0500\r\n"
    "URL;TYPE=home:http://nomis80.org\r\n"
    "END:VCARD\r\n";

START_TEST(test_jcard_rfc7095_example)
{
    json_t *j = jcard_of(perreault);
    assert_json(
        j,
        "[\"vcard\", ["
        "[\"version\", {}, \"text\", \"4.0\"],"
        "[\"fn\", {}, \"text\", \"Simon Perreault\"],"
        "[\"n\", {}, \"text\", [\"Perreault\", \"Simon\", \"\", \"\", [\"ing. jr\", \"M.Sc.\"]]],"
        "[\"bday\", {}, \"date-and-or-time\", \"--02-03\"],"
        "[\"anniversary\", {}, \"date-and-or-time\", \"2009-08-08T14:30-05:00\"],"
        "[\"gender\", {}, \"text\", \"M\"],"
        "[\"lang\", {\"pref\": \"1\"}, \"language-tag\", \"fr\"],"
        "[\"lang\", {\"pref\": \"2\"}, \"language-tag\", \"en\"],"
        "[\"org\", {\"type\": \"work\"}, \"text\", \"Viagenie\"],"
        "[\"adr\", {\"type\": \"work\"}, \"text\", [\"\", \"Suite D2-630\", \"2875 Laurier\", "
        "\"Quebec\", \"QC\", \"G1V 2M2\", \"Canada\"]],"
        "[\"tel\", {\"type\": [\"work\", \"voice\"], \"pref\": \"1\"}, \"uri\", "
        "\"tel:+1-418-656-9254;ext=102\"],"
        "[\"tel\", {\"type\": [\"work\", \"cell\", \"voice\", \"video\", \"text\"]}, \"uri\", "
        "\"tel:+1-418-262-6501\"],"
        "[\"email\", {\"type\": \"work\"}, \"text\", \"simon.perreault@viagenie.ca\"],"
        "[\"geo\", {\"type\": \"work\"}, \"uri\", \"geo:46.772673,-71.282945\"],"
        "[\"key\", {\"type\": \"work\"}, \"uri\", "
        "\"http://www.viagenie.ca/simon.perreault/simon.asc\"],"
        "[\"tz\", {}, \"utc-offset\", \"-05:00\"],"
        "[\"url\", {\"type\": \"home\"}, \"uri\", \"http://nomis80.org\"]]]");
    /* and back: the text a client wrote, VALUE only where the type is not the default */
    char *t = text_of(j, 1);
    assert_has(t, "\r\nN:Perreault;Simon;;;ing. jr,M.Sc.\r\n");
    assert_has(t, "\r\nBDAY:--0203\r\n");
    assert_has(t, "\r\nANNIVERSARY:20090808T1430-0500\r\n");
    assert_has(t, "\r\nTEL;TYPE=work,voice;PREF=1;VALUE=uri:tel:+1-418-656-9254;");
    assert_has(t, "\r\nEMAIL;TYPE=work:simon.perreault@viagenie.ca\r\n");
    assert_has(t, "\r\nTZ;VALUE=utc-offset:-0500\r\n");
    assert_has(t, "\r\nKEY;TYPE=work:");
    ck_assert_msg(strncmp(t, "BEGIN:VCARD\r\nVERSION:4.0\r\n", 26) == 0, "%s", t);
    free(t);
    json_decref(j);
    assert_round_trip(perreault, 1);
}
END_TEST

START_TEST(test_jcard_text_values)
{
    const char *v = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:1\r\nFN:A\\, B\r\n"
                    "NOTE:line one\\nline two\\; with\\, marks \\\\ done\r\n"
                    "CATEGORIES:friends,work\\,mates\r\nNICKNAME:Al\r\n"
                    "ORG:ABC\\, Inc.;North American Division;Marketing\r\n"
                    "item1.EMAIL;TYPE=home:a@example.com\r\nitem1.X-ABLABEL:_$!<Other>!$_\r\n"
                    "X-SOCIAL;X-SERVICE=\"a:b\";TYPE=x:raw\\,text;kept\r\n"
                    "REV:20260102T030405Z\r\nX-COUNT;VALUE=integer:42\r\nEND:VCARD\r\n";
    json_t *j = jcard_of(v);
    json_t *props = json_array_get(j, 1);
    assert_json(json_array_get(props, 2), "[\"fn\", {}, \"text\", \"A, B\"]");
    assert_json(json_array_get(props, 3),
                "[\"note\", {}, \"text\", \"line one\\nline two; with, marks \\\\ done\"]");
    assert_json(json_array_get(props, 4),
                "[\"categories\", {}, \"text\", \"friends\", \"work,mates\"]");
    assert_json(json_array_get(props, 6),
                "[\"org\", {}, \"text\", [\"ABC, Inc.\", \"North American "
                "Division\", \"Marketing\"]]");
    assert_json(
        json_array_get(props, 7),
        "[\"email\", {\"group\": \"item1\", \"type\": \"home\"}, \"text\", \"a@example.com\"]");
    /* RFC 7095 5: an unknown property keeps its text, escapes and all */
    assert_json(json_array_get(props, 9),
                "[\"x-social\", {\"x-service\": \"a:b\", \"type\": \"x\"}, "
                "\"unknown\", \"raw\\\\,text;kept\"]");
    assert_json(json_array_get(props, 10),
                "[\"rev\", {}, \"timestamp\", \"2026-01-02T03:04:05Z\"]");
    assert_json(json_array_get(props, 11), "[\"x-count\", {}, \"integer\", 42]");
    char *t = text_of(j, 1);
    assert_has(t, "\r\nX-SOCIAL;X-SERVICE=\"a:b\";TYPE=x:raw\\,text;kept\r\n");
    assert_has(t, "\r\nitem1.X-ABLABEL:_$!<Other>!$_\r\n");
    assert_has(t, "\r\nCATEGORIES:friends,work\\,mates\r\n");
    assert_has(t, "\r\nX-COUNT;VALUE=integer:42\r\n");
    free(t);
    json_decref(j);
    assert_round_trip(v, 1);
}
END_TEST

START_TEST(test_jcard_version3)
{
    /* 3.0: dates keep their own form; quoted-printable arrives decoded */
    const char *v = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u3\r\nFN:Old\r\nN:Old;;;;\r\n"
                    "BDAY:1996-04-15\r\nTEL;TYPE=WORK;TYPE=VOICE;TYPE=pref:+1 555\r\n"
                    "NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:caf=C3=A9\r\n"
                    "PHOTO;ENCODING=b;TYPE=JPEG:aGVsbG8=\r\nEND:VCARD\r\n";
    json_t *j = jcard_of(v);
    json_t *props = json_array_get(j, 1);
    assert_json(json_array_get(props, 4), "[\"bday\", {}, \"date-and-or-time\", \"1996-04-15\"]");
    /* a parameter given several times is one with several values */
    assert_json(json_array_get(props, 5),
                "[\"tel\", {\"type\": [\"WORK\", \"VOICE\", \"pref\"]}, \"text\", \"+1 555\"]");
    assert_json(json_array_get(props, 6),
                "[\"note\", {\"charset\": \"UTF-8\"}, \"text\", \"caf\xc3\xa9\"]");
    assert_json(json_array_get(props, 7),
                "[\"photo\", {\"encoding\": \"b\", \"type\": \"JPEG\"}, \"uri\", \"aGVsbG8=\"]");
    char *t = text_of(j, 1);
    assert_has(t, "\r\nVERSION:3.0\r\n");
    assert_has(t, "\r\nBDAY:1996-04-15\r\n");
    assert_has(t, "\r\nPHOTO;ENCODING=b;TYPE=JPEG:aGVsbG8=\r\n");
    ck_assert_ptr_null(strstr(t, "QUOTED-PRINTABLE"));
    free(t);
    json_decref(j);
    assert_round_trip(v, 1);
}
END_TEST

START_TEST(test_jcard_uid)
{
    json_t *j = json_of(
        "[\"vcard\", [[\"version\", {}, \"text\", \"4.0\"], [\"fn\", {}, \"text\", \"x\"]]]");
    ck_assert_ptr_null(api_jcard_uid(j));
    ck_assert_int_eq(api_jcard_set_uid(j, "urn:uuid:abc"), 0);
    ck_assert_str_eq(api_jcard_uid(j), "urn:uuid:abc");
    ck_assert_int_eq(api_jcard_set_uid(j, "other"), 0); /* one is there: kept */
    ck_assert_str_eq(api_jcard_uid(j), "urn:uuid:abc");
    char *t = text_of(j, 1);
    assert_has(t, "\r\nUID:urn:uuid:abc\r\n");
    free(t);
    json_decref(j);
    j = json_of("{\"vcard\": []}");
    ck_assert_ptr_null(api_jcard_uid(j));
    ck_assert_int_eq(api_jcard_set_uid(j, "x"), MG_EINVAL);
    json_decref(j);
}
END_TEST

START_TEST(test_jcard_refused)
{
    assert_refused("{\"a\": 1}", 1, "[\"vcard\", [properties]]");
    assert_refused("[\"vcalendar\", []]", 1, "[\"vcard\", [properties]]");
    assert_refused("[\"vcard\", {}]", 1, "[\"vcard\", [properties]]");
    assert_refused("[\"vcard\", [[\"fn\", {}, \"text\"]]]", 1, "property 0 must be an array");
    assert_refused("[\"vcard\", [\"fn\"]]", 1, "property 0 must be an array");
    assert_refused("[\"vcard\", [[\"f:n\", {}, \"text\", \"x\"]]]", 1, "letters, digits");
    assert_refused("[\"vcard\", [[\"fn\\r\\nUID\", {}, \"text\", \"x\"]]]", 1, "letters, digits");
    assert_refused("[\"vcard\", [[\"fn\", [], \"text\", \"x\"]]]", 1, "must be an object");
    assert_refused("[\"vcard\", [[\"fn\", {}, \"TEXT\", \"x\"]]]", 1, "lower-case value type");
    assert_refused("[\"vcard\", [[\"fn\", {}, 7, \"x\"]]]", 1, "lower-case value type");
    assert_refused("[\"vcard\", [[\"fn\", {}, \"text\", {\"a\": 1}]]]", 1, "values are strings");
    assert_refused("[\"vcard\", [[\"fn\", {}, \"text\", null]]]", 1, "values are strings");
    assert_refused("[\"vcard\", [[\"fn\", {}, \"text\", [[[\"deep\"]]]]]]", 1,
                   "values are strings");
    assert_refused("[\"vcard\", [[\"end\", {}, \"text\", \"VCARD\"]]]", 1, "not properties");
    assert_refused("[\"vcard\", [[\"fn\", {\"type\": 5}, \"text\", \"x\"]]]", 1,
                   "parameter \"type\" must be text");
    assert_refused("[\"vcard\", [[\"fn\", {\"ty;pe\": \"a\"}, \"text\", \"x\"]]]", 1,
                   "parameter names");
    assert_refused("[\"vcard\", [[\"fn\", {\"group\": \"a.b\"}, \"text\", \"x\"]]]", 1,
                   "\"group\"");
    assert_refused("[\"vcard\", [[\"fn\", {}, \"text\", \"bell\\u0007\"]]]", 1,
                   "control characters");
}
END_TEST

START_TEST(test_jcard_no_injection)
{
    /* a newline in a value or parameter never starts a content line of its own */
    json_t *j =
        json_of("[\"vcard\", [[\"version\", {}, \"text\", \"4.0\"],"
                "[\"fn\", {\"x-p\": \"a\\r\\nUID:evil\\\"\"}, \"text\", \"x\\r\\nUID:evil\"],"
                "[\"x-raw\", {}, \"unknown\", \"y\\nEND:VCARD\"]]]");
    char *t = text_of(j, 1);
    ck_assert_ptr_null(strstr(t, "\nUID:evil"));
    ck_assert_ptr_null(strstr(t, "\nEND:VCARD\r\nEND"));
    struct dav_vcard *c = NULL;
    char err[128];
    ck_assert_int_eq(dav_vcard_parse(t, strlen(t), &c, err, sizeof(err)), 0);
    ck_assert_uint_eq(c->nprops, 3);
    ck_assert_str_eq(dav_vcard_param(dav_vcard_get(c, "FN"), "X-P"), "a\nUID:evil\"");
    dav_vcard_free(c);
    free(t);
    json_decref(j);
}
END_TEST

/* ---- jCal -------------------------------------------------------------------------------------
 */

START_TEST(test_jcal_rfc7265_example)
{
    /* RFC 7265 appendix B.1 */
    json_t *j =
        jcal_of("BEGIN:VCALENDAR\r\nCALSCALE:GREGORIAN\r\n"
                "PRODID:-//Example Inc.//Example Calendar//EN\r\nVERSION:2.0\r\n"
                "BEGIN:VEVENT\r\nDTSTAMP:20080205T191224Z\r\nDTSTART;VALUE=DATE:20081006\r\n"
                "SUMMARY:Planning meeting\r\nUID:4088E990AD89CB3DBB484909\r\n"
                "END:VEVENT\r\nEND:VCALENDAR\r\n");
    assert_json(j, "[\"vcalendar\", [[\"calscale\", {}, \"text\", \"GREGORIAN\"],"
                   "[\"prodid\", {}, \"text\", \"-//Example Inc.//Example Calendar//EN\"],"
                   "[\"version\", {}, \"text\", \"2.0\"]],"
                   "[[\"vevent\", [[\"dtstamp\", {}, \"date-time\", \"2008-02-05T19:12:24Z\"],"
                   "[\"dtstart\", {}, \"date\", \"2008-10-06\"],"
                   "[\"summary\", {}, \"text\", \"Planning meeting\"],"
                   "[\"uid\", {}, \"text\", \"4088E990AD89CB3DBB484909\"]], []]]]");
    char *t = text_of(j, 0);
    assert_has(t, "\r\nDTSTART;VALUE=DATE:20081006\r\n");
    assert_has(t, "\r\nDTSTAMP:20080205T191224Z\r\n");
    free(t);
    json_decref(j);
}
END_TEST

static const char *recurring =
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//meshgate//test//EN\r\n"
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n"
    "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n"
    "END:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nTZOFFSETFROM:+0100\r\n"
    "TZOFFSETTO:+0200\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n"
    "END:VTIMEZONE\r\n"
    "BEGIN:VEVENT\r\nUID:r1@example.com\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART;TZID=Europe/Berlin:20260105T100000\r\nDTEND;TZID=Europe/Berlin:20260105T110000\r\n"
    "RRULE:FREQ=WEEKLY;UNTIL=20260331T000000Z;INTERVAL=2;BYDAY=MO,WE\r\n"
    "EXDATE;TZID=Europe/Berlin:20260119T100000\r\n"
    "RDATE;VALUE=PERIOD:20260201T090000Z/PT2H\r\n"
    "SUMMARY:Team\\, weekly\\; \"sync\"\r\nDESCRIPTION:two\\nlines\r\n"
    "CATEGORIES:work\r\nPRIORITY:5\r\nGEO:37.5;-122.25\r\n"
    "ATTENDEE;CN=\"Doe, Jane\";PARTSTAT=ACCEPTED;ROLE=CHAIR;RSVP=TRUE:mailto:jane@example.com\r\n"
    "ORGANIZER;CN=Bob:mailto:bob@example.com\r\n"
    "ATTACH;FMTTYPE=text/plain;ENCODING=BASE64;VALUE=BINARY:aGVsbG8=\r\n"
    "URL:https://example.com/x\r\n"
    "X-MOZ-GENERATION:3\r\nX-CUSTOM;X-PARAM=v:some text\r\n"
    "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\nTRIGGER;RELATED=END:-PT15M\r\n"
    "END:VALARM\r\n"
    "END:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:r1@example.com\r\nDTSTAMP:20260101T000000Z\r\n"
    "RECURRENCE-ID;TZID=Europe/Berlin:20260107T100000\r\n"
    "DTSTART;TZID=Europe/Berlin:20260107T120000\r\nDURATION:PT30M\r\nSUMMARY:moved\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n";

START_TEST(test_jcal_values)
{
    json_t *j = jcal_of(recurring);
    json_t *comps = json_array_get(j, 2);
    json_t *tz = NULL, *ev = NULL;
    size_t i;
    json_t *c;
    json_array_foreach(comps, i, c)
    {
        const char *n = json_string_value(json_array_get(c, 0));
        if (strcmp(n, "vtimezone") == 0)
            tz = c;
        else if (!ev && strcmp(n, "vevent") == 0)
            ev = c;
    }
    ck_assert_ptr_nonnull(tz);
    ck_assert_ptr_nonnull(ev);
    json_t *std = json_array_get(json_array_get(tz, 2), 0);
    assert_json(json_array_get(json_array_get(std, 1), 1),
                "[\"tzoffsetfrom\", {}, \"utc-offset\", \"+02:00\"]");
    assert_json(
        json_array_get(json_array_get(std, 1), 3),
        "[\"rrule\", {}, \"recur\", {\"freq\": \"YEARLY\", \"bymonth\": 10, \"byday\": \"-1SU\"}]");
    json_t *p = json_array_get(ev, 1);
    assert_json(
        json_array_get(p, 2),
        "[\"dtstart\", {\"tzid\": \"Europe/Berlin\"}, \"date-time\", \"2026-01-05T10:00:00\"]");
    assert_json(
        json_array_get(p, 4),
        "[\"rrule\", {}, \"recur\", {\"freq\": \"WEEKLY\", \"until\": \"2026-03-31T00:00:00Z\", "
        "\"interval\": 2, \"byday\": [\"MO\", \"WE\"]}]");
    assert_json(json_array_get(p, 6),
                "[\"rdate\", {}, \"period\", [\"2026-02-01T09:00:00Z\", \"PT2H\"]]");
    assert_json(json_array_get(p, 7),
                "[\"summary\", {}, \"text\", \"Team, weekly; \\\"sync\\\"\"]");
    assert_json(json_array_get(p, 8), "[\"description\", {}, \"text\", \"two\\nlines\"]");
    assert_json(json_array_get(p, 10), "[\"priority\", {}, \"integer\", 5]");
    assert_json(json_array_get(p, 11), "[\"geo\", {}, \"float\", [37.5, -122.25]]");
    assert_json(json_array_get(p, 12),
                "[\"attendee\", {\"cn\": \"Doe, Jane\", \"partstat\": \"ACCEPTED\", \"role\": "
                "\"CHAIR\", \"rsvp\": \"TRUE\"}, \"cal-address\", \"mailto:jane@example.com\"]");
    assert_json(json_array_get(p, 14), "[\"attach\", {\"fmttype\": \"text/plain\", \"encoding\": "
                                       "\"BASE64\"}, \"binary\", \"aGVsbG8=\"]");
    assert_json(json_array_get(p, 16), "[\"x-moz-generation\", {}, \"unknown\", \"3\"]");
    assert_json(json_array_get(p, 17),
                "[\"x-custom\", {\"x-param\": \"v\"}, \"unknown\", \"some text\"]");
    json_t *alarm = json_array_get(json_array_get(ev, 2), 0);
    assert_json(json_array_get(json_array_get(alarm, 1), 2),
                "[\"trigger\", {\"related\": \"END\"}, \"duration\", \"-PT15M\"]");
    char *t = text_of(j, 0);
    assert_has(t, "\r\nRDATE;VALUE=PERIOD:20260201T090000Z/PT2H\r\n");
    assert_has(t, "\r\nSUMMARY:Team\\, weekly\\; \"sync\"\r\n");
    assert_has(t, "\r\nRRULE:FREQ=WEEKLY;UNTIL=20260331T000000Z;INTERVAL=2;BYDAY=MO,WE\r\n");
    assert_has(t, "\r\nATTACH;FMTTYPE=text/plain;ENCODING=BASE64;VALUE=BINARY:aGVsbG8=\r\n");
    assert_has(t, "\r\nX-CUSTOM;X-PARAM=v:some text\r\n");
    assert_has(t, "\r\nTZOFFSETFROM:+0200\r\n");
    assert_has(t, "\r\nTRIGGER;RELATED=END:-PT15M\r\n");
    assert_has(t, "\r\nGEO:37.5;-122.25\r\n");
    /* the text is a calendar object CalDAV takes */
    icalcomponent *cal = NULL;
    struct dav_ical_info info;
    char err[256];
    ck_assert_int_eq(dav_ical_parse(t, strlen(t), &cal, err, sizeof(err)), 0);
    ck_assert_msg(dav_ical_check_object(cal, &info, err, sizeof(err)) == 0, "%s", err);
    ck_assert_str_eq(info.uid, "r1@example.com");
    dav_ical_info_release(&info);
    icalcomponent_free(cal);
    free(t);
    json_decref(j);
    assert_round_trip(recurring, 0);
}
END_TEST

START_TEST(test_jcal_types)
{
    /* a type other than the default gets its VALUE parameter; "unknown" none */
    json_t *j = json_of(
        "[\"vcalendar\", [[\"version\", {}, \"text\", \"2.0\"]], [[\"vevent\", ["
        "[\"uid\", {}, \"text\", \"t1\"], [\"dtstart\", {}, \"date\", \"2026-03-04\"],"
        "[\"rdate\", {}, \"date-time\", \"2026-03-05T10:00:00Z\", \"2026-03-06T10:00:00Z\"],"
        "[\"x-flag\", {}, \"boolean\", true], [\"x-n\", {}, \"integer\", -3],"
        "[\"x-raw\", {}, \"unknown\", \"a,b;c\"], [\"categories\", {}, \"text\", \"a\", \"b,c\"],"
        "[\"request-status\", {}, \"text\", [\"2.0\", \"Success\"]],"
        "[\"freebusy\", {\"fbtype\": \"BUSY\"}, \"period\", [\"2026-03-04T10:00:00Z\", "
        "\"2026-03-04T11:00:00Z\"]]], []]]]");
    char *t = text_of(j, 0);
    assert_has(t, "\r\nDTSTART;VALUE=DATE:20260304\r\n");
    assert_has(t, "\r\nRDATE:20260305T100000Z,20260306T100000Z\r\n");
    assert_has(t, "\r\nX-FLAG;VALUE=BOOLEAN:TRUE\r\n");
    assert_has(t, "\r\nX-N;VALUE=INTEGER:-3\r\n");
    assert_has(t, "\r\nX-RAW:a,b;c\r\n");
    assert_has(t, "\r\nCATEGORIES:a,b\\,c\r\n");
    assert_has(t, "\r\nREQUEST-STATUS:2.0;Success\r\n");
    assert_has(t, "\r\nFREEBUSY;FBTYPE=BUSY:20260304T100000Z/20260304T110000Z\r\n");
    json_t *back = jcal_of(t);
    json_t *p = json_array_get(json_array_get(json_array_get(back, 2), 0), 1);
    assert_json(json_array_get(p, 1), "[\"dtstart\", {}, \"date\", \"2026-03-04\"]");
    assert_json(json_array_get(p, 4), "[\"x-flag\", {}, \"boolean\", true]");
    assert_json(json_array_get(p, 5), "[\"x-n\", {}, \"integer\", -3]");
    json_decref(back);
    free(t);
    json_decref(j);
}
END_TEST

START_TEST(test_jcal_uid)
{
    json_t *j = json_of("[\"vcalendar\", [[\"version\", {}, \"text\", \"2.0\"]], ["
                        "[\"vtimezone\", [[\"tzid\", {}, \"text\", \"X\"]], []],"
                        "[\"vevent\", [[\"dtstart\", {}, \"date\", \"2026-01-01\"]], []],"
                        "[\"vevent\", [[\"uid\", {}, \"text\", \"keep\"]], []]]]");
    ck_assert_str_eq(api_jcal_uid(j), "keep");
    ck_assert_int_eq(api_jcal_set_uid(j, "new"), 0);
    json_t *comps = json_array_get(j, 2);
    ck_assert_uint_eq(json_array_size(json_array_get(json_array_get(comps, 0), 1)), 1);
    assert_json(json_array_get(json_array_get(json_array_get(comps, 1), 1), 1),
                "[\"uid\", {}, \"text\", \"new\"]");
    ck_assert_uint_eq(json_array_size(json_array_get(json_array_get(comps, 2), 1)), 1);
    json_decref(j);
    j = json_of("[\"vcalendar\", [], []]");
    ck_assert_ptr_null(api_jcal_uid(j));
    json_decref(j);
}
END_TEST

START_TEST(test_jcal_refused)
{
    assert_refused("[\"vcard\", []]", 0, "[\"vcalendar\", [properties], [components]]");
    assert_refused("{\"vcalendar\": 1}", 0, "[\"vcalendar\"");
    assert_refused("[\"vcalendar\", []]", 0, "must be [name, [properties], [components]]");
    assert_refused("[\"vcalendar\", [], [[\"vevent\", []]]]", 0,
                   "vcalendar component 0 must be [name");
    assert_refused("[\"vcalendar\", [], [[\"v event\", [], []]]]", 0, "must be [name");
    assert_refused("[\"vcalendar\", [], [[\"vevent\", [[\"dtstart\", {}, \"date-time\"]], []]]]", 0,
                   "vevent property 0 must be an array");
    assert_refused(
        "[\"vcalendar\", [], [[\"vevent\", [[\"begin\", {}, \"text\", \"VTODO\"]], []]]]", 0,
        "not properties");
    assert_refused(
        "[\"vcalendar\", [], [[\"vevent\", [[\"rrule\", {}, \"recur\", {\"count\": 2}]], "
        "[]]]]",
        0, "does not fit the type \"recur\"");
    assert_refused("[\"vcalendar\", [], [[\"vevent\", [[\"rrule\", {}, \"recur\", {\"freq\": "
                   "\"DAILY\", \"by;day\": \"MO\"}]], []]]]",
                   0, "does not fit");
    assert_refused("[\"vcalendar\", [], [[\"vevent\", [[\"rrule\", {}, \"recur\", {\"freq\": "
                   "\"DAILY;COUNT=1\"}]], []]]]",
                   0, "does not fit");
    assert_refused(
        "[\"vcalendar\", [], [[\"vevent\", [[\"rdate\", {}, \"period\", [\"x\"]]], []]]]", 0,
        "does not fit the type \"period\"");
    assert_refused("[\"vcalendar\", [], [[\"vevent\", [[\"summary\", {}, \"text\", {}]], []]]]", 0,
                   "does not fit");
    /* nesting is bounded */
    char deep[2048] = "[\"vcalendar\", [], [";
    for (int i = 0; i < 12; i++)
        strcat(deep, "[\"x-c\", [], [");
    for (int i = 0; i < 12; i++)
        strcat(deep, "]]");
    strcat(deep, "]]");
    assert_refused(deep, 0, "nested deeper");
}
END_TEST

START_TEST(test_jcal_refused_by_parser)
{
    /* what converts but is no iCalendar is refused by the parser of CalDAV PUT */
    json_t *j = json_of("[\"vcalendar\", [[\"version\", {}, \"text\", \"2.0\"]], [[\"vevent\", "
                        "[[\"dtstart\", {}, \"date-time\", \"not a time\"]], []]]]");
    char *t = text_of(j, 0);
    icalcomponent *cal = NULL;
    char err[256] = "";
    ck_assert_int_eq(dav_ical_parse(t, strlen(t), &cal, err, sizeof(err)), MG_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "DTSTART"));
    free(t);
    json_decref(j);
}
END_TEST

/* ---- dates -------------------------------------------------------------------------------------
 */

START_TEST(test_dates)
{
    static const struct {
        const char *ext, *basic;
        int is_time;
    } cases[] = {
        {"1985-04-12", "19850412", 0},
        {"1985-04", "1985-04", 0},
        {"1985", "1985", 0},
        {"--04-12", "--0412", 0},
        {"--04", "--04", 0},
        {"---12", "---12", 0},
        {"1996-10-22T14:00:00", "19961022T140000", 0},
        {"--10-22T14:00", "--1022T1400", 0},
        {"---22T14", "---22T14", 0},
        {"2026-01-02T10:00:00Z", "20260102T100000Z", 0},
        {"2009-08-08T14:30-05:00", "20090808T1430-0500", 0},
        {"T10:22", "T1022", 0},
        {"10:22:00", "102200", 1},
        {"-22:00", "-2200", 1},
        {"--00", "--00", 1},
        {"10:22:00Z", "102200Z", 1},
        {"10:22:00-08:00", "102200-0800", 1},
        {"-05:00", "-0500", 1},
        {"+05:30:20", "+053020", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b;
        buf_init(&b);
        ck_assert_int_eq(api_jconv_to_basic(&b, cases[i].ext), 0);
        ck_assert_msg(strcmp(b.data, cases[i].basic) == 0, "%s -> %s, want %s", cases[i].ext,
                      b.data, cases[i].basic);
        buf_reset(&b);
        ck_assert_int_eq(api_jconv_to_extended(&b, cases[i].basic, cases[i].is_time), 0);
        ck_assert_msg(strcmp(b.data, cases[i].ext) == 0, "%s -> %s, want %s", cases[i].basic,
                      b.data, cases[i].ext);
        buf_release(&b);
    }
}
END_TEST

static Suite *jconv_suite(void)
{
    Suite *s = suite_create("jconv");
    TCase *tc = tcase_create("jcard");
    tcase_add_test(tc, test_jcard_rfc7095_example);
    tcase_add_test(tc, test_jcard_text_values);
    tcase_add_test(tc, test_jcard_version3);
    tcase_add_test(tc, test_jcard_uid);
    tcase_add_test(tc, test_jcard_refused);
    tcase_add_test(tc, test_jcard_no_injection);
    suite_add_tcase(s, tc);
    tc = tcase_create("jcal");
    tcase_add_test(tc, test_jcal_rfc7265_example);
    tcase_add_test(tc, test_jcal_values);
    tcase_add_test(tc, test_jcal_types);
    tcase_add_test(tc, test_jcal_uid);
    tcase_add_test(tc, test_jcal_refused);
    tcase_add_test(tc, test_jcal_refused_by_parser);
    suite_add_tcase(s, tc);
    tc = tcase_create("dates");
    tcase_add_test(tc, test_dates);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    icalerror_set_errors_are_fatal(0);
    SRunner *sr = srunner_create(jconv_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
