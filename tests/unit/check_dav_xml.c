/* check_dav_xml.c - safe parsing of request bodies (hostile XML included),
 * standalone serialisation of property elements, PROPFIND bodies. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "../../dav/dav_private.h"

static struct mg_limits lim;

static void setup(void)
{
    memset(&lim, 0, sizeof(lim));
    lim.max_body = 1 << 20;
    lim.max_xml_depth = 64;
    lim.max_xml_elements = 1000;
    xmlInitParser();
}

static int parse_status(const char *s)
{
    xmlDoc *doc = NULL;
    int st = dav_xml_parse(s, strlen(s), &lim, &doc);
    if (st == 0) {
        ck_assert_ptr_nonnull(doc);
        xmlFreeDoc(doc);
    } else {
        ck_assert_ptr_null(doc);
    }
    return st;
}

START_TEST(test_parse_valid)
{
    ck_assert_int_eq(parse_status("<?xml version=\"1.0\"?><D:propfind xmlns:D=\"DAV:\">"
                                  "<D:allprop/></D:propfind>"),
                     0);
    ck_assert_int_eq(parse_status("<propfind xmlns='DAV:'><prop><x xmlns=''/></prop></propfind>"),
                     0);
}
END_TEST

START_TEST(test_parse_malformed)
{
    ck_assert_int_eq(parse_status("<foo>"), 400);
    ck_assert_int_eq(parse_status(""), 400);
    ck_assert_int_eq(parse_status("not xml at all"), 400);
    ck_assert_int_eq(parse_status("<a></b>"), 400);
    ck_assert_int_eq(parse_status("<a/><b/>"), 400);
    ck_assert_int_eq(parse_status("<a xmlns:x='urn:x'><y:b/></a>"), 400); /* unbound prefix */
    /* Namespaces in XML 1.0: a prefix cannot be bound to "" (litmus propfind_invalid2) */
    ck_assert_int_eq(parse_status("<D:propfind xmlns:D=\"DAV:\"><D:prop><bar:foo xmlns:bar=\"\"/>"
                                  "</D:prop></D:propfind>"),
                     400);
    xmlDoc *doc = NULL;
    ck_assert_int_eq(dav_xml_parse(NULL, 0, &lim, &doc), 400);
}
END_TEST

START_TEST(test_parse_hostile)
{
    /* billion laughs */
    ck_assert_int_eq(parse_status("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
                                  "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
                                  "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>"
                                  "<lolz>&lol3;</lolz>"),
                     400);
    /* external entities, local file and network */
    ck_assert_int_eq(parse_status("<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM "
                                  "\"file:///etc/passwd\">]><x>&e;</x>"),
                     400);
    ck_assert_int_eq(parse_status("<?xml version=\"1.0\"?><!DOCTYPE x SYSTEM "
                                  "\"http://127.0.0.1:1/evil.dtd\"><x/>"),
                     400);
    ck_assert_int_eq(parse_status("<!DOCTYPE x [<!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p;]>"
                                  "<x/>"),
                     400);
    /* a DTD in UTF-16 escapes the byte scan but not the parser hook */
    {
        static const char u16[] =
            "\xff\xfe<\0!\0D\0O\0C\0T\0Y\0P\0E\0 \0x\0 \0[\0<\0!\0E\0N\0"
            "T\0I\0T\0Y\0 \0e\0 \0\"\0v\0\"\0>\0]\0>\0<\0x\0>\0&\0e\0;\0<\0/\0x\0>\0";
        xmlDoc *doc = NULL;
        ck_assert_int_eq(dav_xml_parse(u16, sizeof(u16) - 1, &lim, &doc), 400);
        ck_assert_ptr_null(doc);
        static const char u16b[] = "\xff\xfe<\0!\0D\0O\0C\0T\0Y\0P\0E\0 \0x\0>\0<\0x\0/\0>\0";
        ck_assert_int_eq(dav_xml_parse(u16b, sizeof(u16b) - 1, &lim, &doc), 400);
    }
    /* undeclared entity, XInclude stays inert */
    ck_assert_int_eq(parse_status("<x>&e;</x>"), 400);
    ck_assert_int_eq(parse_status("<x xmlns:xi=\"http://www.w3.org/2001/XInclude\">"
                                  "<xi:include href=\"file:///etc/passwd\"/></x>"),
                     0);
    /* character references are fine */
    ck_assert_int_eq(parse_status("<x>&lt;&#x10000;&#65;</x>"), 0);
}
END_TEST

START_TEST(test_parse_limits)
{
    struct buf b;
    buf_init(&b);
    /* depth: 64 levels pass, 65 do not */
    for (int i = 0; i < 64; i++)
        buf_puts(&b, "<a>");
    for (int i = 0; i < 64; i++)
        buf_puts(&b, "</a>");
    ck_assert_int_eq(parse_status(b.data), 0);
    buf_reset(&b);
    for (int i = 0; i < 65; i++)
        buf_puts(&b, "<a>");
    for (int i = 0; i < 65; i++)
        buf_puts(&b, "</a>");
    ck_assert_int_eq(parse_status(b.data), 400);
    /* far beyond libxml2's own limit: still a clean 400 */
    buf_reset(&b);
    for (int i = 0; i < 100000; i++)
        buf_puts(&b, "<a>");
    ck_assert_int_eq(parse_status(b.data), 400);
    /* element count */
    buf_reset(&b);
    buf_puts(&b, "<r>");
    for (int i = 0; i < 999; i++)
        buf_puts(&b, "<e/>");
    buf_puts(&b, "</r>");
    ck_assert_int_eq(parse_status(b.data), 0);
    buf_reset(&b);
    buf_puts(&b, "<r>");
    for (int i = 0; i < 1000; i++)
        buf_puts(&b, "<e/>");
    buf_puts(&b, "</r>");
    ck_assert_int_eq(parse_status(b.data), 413);
    /* body size */
    xmlDoc *doc = NULL;
    lim.max_body = 10;
    ck_assert_int_eq(dav_xml_parse("<abcdefghijk/>", 14, &lim, &doc), 413);
    buf_release(&b);
}
END_TEST

START_TEST(test_parse_garbage)
{
    unsigned seed = 12345;
    char data[512];
    for (int round = 0; round < 2000; round++) {
        size_t n = 1 + (size_t)(rand_r(&seed) % sizeof(data));
        for (size_t i = 0; i < n; i++) {
            /* bias toward XML syntax so the parser gets deep */
            static const char alphabet[] = "<>/=\"':!?&;#xD abc[]-\n\x80\xff";
            data[i] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
        }
        xmlDoc *doc = NULL;
        int st = dav_xml_parse(data, n, &lim, &doc);
        ck_assert(st == 0 || st == 400 || st == 413);
        if (doc)
            xmlFreeDoc(doc);
    }
}
END_TEST

START_TEST(test_parse_utf16)
{
    /* "<a/>" in UTF-16LE with a byte order mark */
    static const char u16[] = "\xff\xfe<\0a\0/\0>\0";
    xmlDoc *doc = NULL;
    ck_assert_int_eq(dav_xml_parse(u16, sizeof(u16) - 1, &lim, &doc), 0);
    ck_assert_str_eq((const char *)xmlDocGetRootElement(doc)->name, "a");
    xmlFreeDoc(doc);
}
END_TEST

/* Parses s, finds the first child of the first child of the root's first
 * child (propertyupdate/set/prop/X) and serialises X. */
static char *serialize_prop(const char *s)
{
    xmlDoc *doc = NULL;
    struct buf b;
    ck_assert_int_eq(dav_xml_parse(s, strlen(s), &lim, &doc), 0);
    xmlNode *n =
        dav_xml_first_elem(dav_xml_first_elem(dav_xml_first_elem(xmlDocGetRootElement(doc))));
    ck_assert_ptr_nonnull(n);
    buf_init(&b);
    ck_assert_int_eq(dav_xml_serialize(n, &b), 0);
    xmlFreeDoc(doc);
    /* the result stands alone */
    ck_assert_int_eq(parse_status(b.data), 0);
    return buf_detach(&b, NULL);
}

START_TEST(test_serialize)
{
    char *s = serialize_prop("<D:propertyupdate xmlns:D='DAV:' xmlns:Z='http://z/'>"
                             "<D:set><D:prop><Z:p xml:lang='en'>v &amp; w<Z:c a='1'/></Z:p>"
                             "</D:prop></D:set></D:propertyupdate>");
    ck_assert_ptr_nonnull(strstr(s, "xmlns:Z=\"http://z/\""));
    ck_assert_ptr_nonnull(strstr(s, "xml:lang=\"en\""));
    ck_assert_ptr_nonnull(strstr(s, "v &amp; w"));
    ck_assert_ptr_nonnull(strstr(s, "<Z:c a=\"1\"/>"));
    free(s);
    s = serialize_prop("<propertyupdate xmlns='DAV:' xmlns:q='urn:q'><set><prop>"
                       "<foo xmlns='urn:x'><q:bar/><baz xmlns=''/></foo></prop></set>"
                       "</propertyupdate>");
    ck_assert_ptr_nonnull(strstr(s, "xmlns=\"urn:x\""));
    ck_assert_ptr_nonnull(strstr(s, "xmlns:q=\"urn:q\""));
    ck_assert_ptr_nonnull(strstr(s, "<baz xmlns=\"\"/>"));
    free(s);
    /* a property without namespace */
    s = serialize_prop("<propertyupdate xmlns='DAV:'><set><prop><plain xmlns=''>x</plain></prop>"
                       "</set></propertyupdate>");
    ck_assert_ptr_nonnull(strstr(s, "<plain"));
    ck_assert_ptr_null(strstr(s, "DAV:"));
    free(s);
}
END_TEST

/* ---- PROPFIND bodies ---- */

START_TEST(test_propfind_bodies)
{
    struct dav_propfind pf;
    const char *b;

    ck_assert_int_eq(dav_propfind_parse(NULL, 0, &lim, &pf), 0);
    ck_assert_int_eq(pf.mode, DAV_PF_ALLPROP);
    b = "<propfind xmlns='DAV:'><prop><getetag/><x:a xmlns:x='urn:x'/><n xmlns=''/></prop>"
        "</propfind>";
    ck_assert_int_eq(dav_propfind_parse(b, strlen(b), &lim, &pf), 0);
    ck_assert_int_eq(pf.mode, DAV_PF_PROP);
    ck_assert_uint_eq(pf.n, 3);
    ck_assert_str_eq(pf.props[0].ns, "DAV:");
    ck_assert_str_eq(pf.props[0].name, "getetag");
    ck_assert_str_eq(pf.props[1].ns, "urn:x");
    ck_assert_str_eq(pf.props[2].ns, "");
    dav_propfind_release(&pf);
    b = "<propfind xmlns='DAV:'><propname/></propfind>";
    ck_assert_int_eq(dav_propfind_parse(b, strlen(b), &lim, &pf), 0);
    ck_assert_int_eq(pf.mode, DAV_PF_PROPNAME);
    /* RFC 4918 9.1: allprop with include */
    b = "<propfind xmlns='DAV:'><allprop/><include><current-user-principal/></include></propfind>";
    ck_assert_int_eq(dav_propfind_parse(b, strlen(b), &lim, &pf), 0);
    ck_assert_int_eq(pf.mode, DAV_PF_ALLPROP);
    ck_assert_uint_eq(pf.n, 1);
    dav_propfind_release(&pf);
    /* extension elements are ignored (litmus propextended) */
    b = "<propfind xmlns='DAV:'><foobar/><allprop/></propfind>";
    ck_assert_int_eq(dav_propfind_parse(b, strlen(b), &lim, &pf), 0);
    ck_assert_int_eq(pf.mode, DAV_PF_ALLPROP);
    /* refused */
    static const char *const bad[] = {
        "<propfind xmlns='DAV:'/>",
        "<propfind xmlns='DAV:'><allprop/><propname/></propfind>",
        "<propfind xmlns='DAV:'><prop/><allprop/></propfind>",
        "<propfind xmlns='DAV:'><propname/><include/></propfind>",
        "<propfind><allprop/></propfind>",
        "<D:propfind xmlns:D='urn:not-dav'><D:allprop/></D:propfind>",
        "<foo>",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(dav_propfind_parse(bad[i], strlen(bad[i]), &lim, &pf) == 400,
                      "accepted bad propfind %s", bad[i]);
        ck_assert_ptr_null(pf.props);
    }
}
END_TEST

START_TEST(test_prop_names_and_status)
{
    struct buf b;
    buf_init(&b);
    dav_put_prop_name(&b, "DAV:", 4, "getetag", 7);
    dav_put_prop_name(&b, "", 0, "plain", 5);
    dav_put_prop_name(&b, "urn:a&b", 7, "x", 1);
    ck_assert_str_eq(b.data, "<D:getetag/><plain xmlns=\"\"/><X:x xmlns:X=\"urn:a&amp;b\"/>");
    buf_release(&b);
    ck_assert_str_eq(dav_status_line(424), "HTTP/1.1 424 Failed Dependency");
    ck_assert_str_eq(dav_status_line(999), "HTTP/1.1 500 Internal Server Error");
}
END_TEST

static Suite *xml_suite(void)
{
    Suite *s = suite_create("dav_xml");
    TCase *tc = tcase_create("parse");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_parse_valid);
    tcase_add_test(tc, test_parse_malformed);
    tcase_add_test(tc, test_parse_hostile);
    tcase_add_test(tc, test_parse_limits);
    tcase_add_test(tc, test_parse_garbage);
    tcase_add_test(tc, test_parse_utf16);
    suite_add_tcase(s, tc);
    tc = tcase_create("serialize");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_serialize);
    tcase_add_test(tc, test_prop_names_and_status);
    suite_add_tcase(s, tc);
    tc = tcase_create("propfind");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_propfind_bodies);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(xml_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
