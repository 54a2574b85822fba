/* check_carddav.c - vCard parsing and writing (dav/vcard.c: folded lines,
 * quoted-printable with soft line breaks, groups, parameters, RFC 6868
 * escapes, malformed input), the checks of an address object (RFC 6352 5.1),
 * CARDDAV:filter (dav/cardfilter.c, RFC 6352 10.5) and address-data. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../dav/dav_private.h"

#define NS "xmlns:C=\"urn:ietf:params:xml:ns:carddav\""

static struct dav_vcard *card_of(const char *text)
{
    struct dav_vcard *c = NULL;
    char err[256] = "";
    int rc = dav_vcard_parse(text, strlen(text), &c, err, sizeof(err));
    ck_assert_msg(rc == 0, "vCard refused: %s", err);
    return c;
}

START_TEST(test_parse_basic)
{
    struct dav_vcard *c = card_of("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u1\r\nFN:Cyrus Daboo\r\n"
                                  "N:Daboo;Cyrus;;;\r\nEND:VCARD\r\n");
    ck_assert_uint_eq(c->nprops, 4);
    ck_assert_str_eq(c->props[0].name, "VERSION");
    ck_assert_str_eq(dav_vcard_get(c, "fn")->value, "Cyrus Daboo");
    ck_assert_str_eq(dav_vcard_get(c, "N")->value, "Daboo;Cyrus;;;");
    ck_assert_ptr_null(dav_vcard_get(c, "EMAIL"));
    char err[128];
    ck_assert_int_eq(dav_vcard_check_object(c, err, sizeof(err)), 0);
    dav_vcard_free(c);
    /* LF line ends, lower-case names, blank lines */
    c = card_of("begin:vcard\nversion:4.0\n\nuid:x\nfn:y\nend:vcard\n\n");
    ck_assert_str_eq(dav_vcard_get(c, "FN")->value, "y");
    dav_vcard_free(c);
}
END_TEST

START_TEST(test_folding_groups_params)
{
    struct dav_vcard *c = card_of("BEGIN:VCARD\r\nVERSION:4.0\r\nUID:u\r\nFN:A\r\n"
                                  "NOTE:first part\r\n  and a folded\r\n\tsecond part\r\n"
                                  "item1.EMAIL;TYPE=work,pref;PREF=1:a@example.com\r\n"
                                  "item1.X-ABLABEL:Office\r\n"
                                  "TEL;VALUE=uri;TYPE=\"voice,home\":tel:+1-555-555-5555\r\n"
                                  "ADR;LABEL=\"Mr. A\\nMain St: 1; Town\":;;Main St 1;Town;;;\r\n"
                                  "X-Q;X-P=\"^'quoted^' ^^ ^n\":v\r\n"
                                  "END:VCARD\r\n");
    const struct dav_vcard_prop *p = dav_vcard_get(c, "NOTE");
    ck_assert_str_eq(p->value, "first part and a foldedsecond part");
    p = dav_vcard_get(c, "EMAIL");
    ck_assert_str_eq(p->group, "item1");
    ck_assert_uint_eq(p->nparams, 2);
    ck_assert_str_eq(p->params[0].name, "TYPE");
    ck_assert_uint_eq(p->params[0].nvalues, 2);
    ck_assert_str_eq(p->params[0].values[1], "pref");
    ck_assert_str_eq(dav_vcard_param(p, "pref"), "1");
    p = dav_vcard_get(c, "TEL");
    ck_assert_str_eq(p->value, "tel:+1-555-555-5555"); /* the first ':' ends the name part */
    ck_assert_uint_eq(p->params[1].nvalues, 2);        /* TYPE="voice,home" is a list */
    ck_assert_str_eq(p->params[1].values[0], "voice");
    p = dav_vcard_get(c, "ADR");
    ck_assert_str_eq(dav_vcard_param(p, "LABEL"), "Mr. A\\nMain St: 1; Town");
    ck_assert_str_eq(p->value, ";;Main St 1;Town;;;");
    p = dav_vcard_get(c, "X-Q");
    ck_assert_str_eq(dav_vcard_param(p, "X-P"), "\"quoted\" ^ \n"); /* RFC 6868 */
    /* written back, folded at 75 octets, and parsed again the same */
    struct buf out;
    buf_init(&out);
    buf_puts(&out, "BEGIN:VCARD\r\n");
    for (size_t i = 0; i < c->nprops; i++)
        ck_assert_int_eq(dav_vcard_write_prop(&out, &c->props[i]), 0);
    buf_puts(&out, "END:VCARD\r\n");
    for (char *l = out.data; l && *l;) {
        char *e = strstr(l, "\r\n");
        ck_assert_ptr_nonnull(e);
        ck_assert_int_le(e - l, 75);
        l = e + 2;
    }
    struct dav_vcard *d = card_of(out.data);
    ck_assert_uint_eq(d->nprops, c->nprops);
    for (size_t i = 0; i < c->nprops; i++) {
        ck_assert_str_eq(d->props[i].name, c->props[i].name);
        ck_assert_str_eq(d->props[i].value, c->props[i].value);
        ck_assert_uint_eq(d->props[i].nparams, c->props[i].nparams);
    }
    dav_vcard_free(d);
    buf_release(&out);
    dav_vcard_free(c);
}
END_TEST

START_TEST(test_quoted_printable)
{
    /* vCard 2.1 style: bare parameters, soft line breaks, =XX octets */
    struct dav_vcard *c =
        card_of("BEGIN:VCARD\r\nVERSION:2.1\r\n"
                "FN;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Fran=C3=A7ois =\r\nLef=C3=A8vre\r\n"
                "NOTE;QUOTED-PRINTABLE:line one=0D=0Aline two=\r\n=\r\n end\r\n"
                "TEL;WORK;VOICE:+1 555\r\nEND:VCARD\r\n");
    ck_assert_str_eq(dav_vcard_get(c, "FN")->value, "François Lefèvre");
    ck_assert_str_eq(dav_vcard_get(c, "NOTE")->value, "line one\r\nline two end");
    const struct dav_vcard_prop *tel = dav_vcard_get(c, "TEL");
    ck_assert_uint_eq(tel->nparams, 2);
    ck_assert_str_eq(tel->params[0].name, "TYPE");
    ck_assert_str_eq(tel->params[0].values[0], "WORK");
    char err[128];
    /* parsed fine, but not something an address book stores (RFC 6352 5.1) */
    ck_assert_int_eq(dav_vcard_check_object(c, err, sizeof(err)), MG_EINVAL);
    dav_vcard_free(c);
    /* quoted-printable that decodes to something other than UTF-8 is refused */
    struct dav_vcard *d = NULL;
    const char *latin1 = "BEGIN:VCARD\r\nVERSION:2.1\r\nFN;QUOTED-PRINTABLE:M=FCller\r\n"
                         "END:VCARD\r\n";
    ck_assert_int_eq(dav_vcard_parse(latin1, strlen(latin1), &d, err, sizeof(err)), MG_EINVAL);
}
END_TEST

START_TEST(test_unescape)
{
    char *s = dav_vcard_unescape("a\\, b\\; c\\\\ d\\nE\\N");
    ck_assert_str_eq(s, "a, b; c\\ d\nE\n");
    free(s);
}
END_TEST

START_TEST(test_malformed)
{
    static const char *const bad[] = {
        "",
        "garbage",
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\n",                   /* no END */
        "VERSION:3.0\r\nFN:x\r\nEND:VCARD\r\n",                     /* no BEGIN */
        "BEGIN:VCARD\r\nBEGIN:VCARD\r\nEND:VCARD\r\nEND:VCARD\r\n", /* nested */
        "BEGIN:VCARD\r\nEND:VCARD\r\nBEGIN:VCARD\r\nEND:VCARD\r\n", /* two */
        "BEGIN:VCARD\r\nFN x\r\nEND:VCARD\r\n",                     /* no colon */
        "BEGIN:VCARD\r\n:x\r\nEND:VCARD\r\n",                       /* no name */
        "BEGIN:VCARD\r\n.FN:x\r\nEND:VCARD\r\n",                    /* empty group */
        "BEGIN:VCARD\r\nFN;:x\r\nEND:VCARD\r\n",                    /* empty param */
        "BEGIN:VCARD\r\nFN;X=\"open:x\r\nEND:VCARD\r\n",            /* open quote */
        "BEGIN:VCARD\r\nFN;X=a\"b:x\r\nEND:VCARD\r\n",              /* stray quote */
        "BEGIN:VCARD\r\nFN:\xff\r\nEND:VCARD\r\n",                  /* not UTF-8 */
        "BEGIN:VCARD\r\nFN:a\x02\r\nEND:VCARD\r\n",                 /* control */
        "END:VCARD\r\n",
        "BEGIN:VCARD\r\nEND:VCARD\r\ntrailing:junk\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct dav_vcard *c = NULL;
        char err[256] = "";
        ck_assert_msg(dav_vcard_parse(bad[i], strlen(bad[i]), &c, err, sizeof(err)) == MG_EINVAL,
                      "accepted case %zu", i);
        ck_assert_ptr_null(c);
        ck_assert_msg(err[0], "no message for case %zu", i);
    }
}
END_TEST

START_TEST(test_check_object)
{
    static const char *const bad[] = {
        "BEGIN:VCARD\r\nFN:x\r\nUID:u\r\nEND:VCARD\r\n",                /* no VERSION */
        "BEGIN:VCARD\r\nVERSION:2.1\r\nFN:x\r\nUID:u\r\nEND:VCARD\r\n", /* 2.1 */
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u\r\nEND:VCARD\r\n",         /* no FN */
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:x\r\nEND:VCARD\r\n",          /* no UID */
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:x\r\nUID:\r\nEND:VCARD\r\n",  /* empty UID */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct dav_vcard *c = card_of(bad[i]);
        char err[256] = "";
        ck_assert_msg(dav_vcard_check_object(c, err, sizeof(err)) == MG_EINVAL, "accepted case %zu",
                      i);
        ck_assert_msg(err[0], "no message for case %zu", i);
        dav_vcard_free(c);
    }
}
END_TEST

/* ---- CARDDAV:filter ---------------------------------------------------------------- */

static const char *const cards[] = {
    "BEGIN:VCARD\r\nVERSION:3.0\r\nNICKNAME:me\r\nUID:34222-232@example.com\r\n"
    "FN:Cyrus Daboo\r\nEMAIL;TYPE=INTERNET,WORK:daboo@example.com\r\nEND:VCARD\r\n",
    "BEGIN:VCARD\r\nVERSION:3.0\r\nNICKNAME:oliver\r\nUID:34222-23222@example.com\r\n"
    "FN:Oliver Daboo\r\nEMAIL;TYPE=INTERNET:oliver@example.com\r\nEND:VCARD\r\n",
    "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:u3\r\nFN:Jürgen Müller\r\n"
    "item1.EMAIL;TYPE=home:j@example.de\r\nNOTE:a\\, b\r\nEND:VCARD\r\n",
};
#define NCARDS 3

static struct mg_config cfg;

static void setup(void)
{
    cfg_defaults(&cfg);
}

static void teardown(void)
{
    cfg_release(&cfg);
}

static unsigned card_matches(const char *xml)
{
    xmlDoc *doc = NULL;
    struct dav_cardfilter *f = NULL;
    char err[256] = "";
    unsigned hit = 0;
    ck_assert_int_eq(dav_xml_parse(xml, strlen(xml), &cfg.limits, &doc), 0);
    ck_assert_msg(dav_cardfilter_parse(xmlDocGetRootElement(doc), &f, err, sizeof(err)) == 0,
                  "filter refused: %s", err);
    for (int i = 0; i < NCARDS; i++) {
        struct dav_vcard *c = card_of(cards[i]);
        if (dav_cardfilter_match(f, c))
            hit |= 1u << i;
        dav_vcard_free(c);
    }
    dav_cardfilter_free(f);
    xmlFreeDoc(doc);
    return hit;
}

START_TEST(test_cardfilter)
{
    /* RFC 6352 8.6.1: NICKNAME equals "me" */
    ck_assert_uint_eq(card_matches("<C:filter " NS "><C:prop-filter name=\"NICKNAME\">"
                                   "<C:text-match collation=\"i;unicode-casemap\" "
                                   "match-type=\"equals\">me</C:text-match></C:prop-filter>"
                                   "</C:filter>"),
                      1);
    /* 8.6.2: anyof FN or EMAIL contains daboo */
    ck_assert_uint_eq(card_matches("<C:filter " NS " test=\"anyof\"><C:prop-filter name=\"FN\">"
                                   "<C:text-match>daboo</C:text-match></C:prop-filter>"
                                   "<C:prop-filter name=\"EMAIL\"><C:text-match>daboo"
                                   "</C:text-match></C:prop-filter></C:filter>"),
                      3);
    /* allof */
    ck_assert_uint_eq(card_matches("<C:filter " NS " test=\"allof\"><C:prop-filter name=\"FN\">"
                                   "<C:text-match>daboo</C:text-match></C:prop-filter>"
                                   "<C:prop-filter name=\"EMAIL\"><C:text-match>daboo"
                                   "</C:text-match></C:prop-filter></C:filter>"),
                      1);
    /* an empty filter matches all; is-not-defined */
    ck_assert_uint_eq(card_matches("<C:filter " NS "/>"), 7);
    ck_assert_uint_eq(card_matches("<C:filter " NS "><C:prop-filter name=\"NICKNAME\">"
                                   "<C:is-not-defined/></C:prop-filter></C:filter>"),
                      4);
    /* a prop-filter without tests: the property exists */
    ck_assert_uint_eq(card_matches("<C:filter " NS "><C:prop-filter name=\"NOTE\"/></C:filter>"),
                      4);
    /* param-filter: a value of a list, is-not-defined */
    ck_assert_uint_eq(card_matches("<C:filter " NS "><C:prop-filter name=\"EMAIL\">"
                                   "<C:param-filter name=\"TYPE\"><C:text-match "
                                   "match-type=\"equals\">work</C:text-match></C:param-filter>"
                                   "</C:prop-filter></C:filter>"),
                      1);
    ck_assert_uint_eq(card_matches("<C:filter " NS "><C:prop-filter name=\"EMAIL\">"
                                   "<C:param-filter name=\"TYPE\"/></C:prop-filter></C:filter>"),
                      7);
    ck_assert_uint_eq(card_matches("<C:filter " NS "><C:prop-filter name=\"EMAIL\">"
                                   "<C:param-filter name=\"PREF\"><C:is-not-defined/>"
                                   "</C:param-filter></C:prop-filter></C:filter>"),
                      7);
    /* prop-filter test="allof" over its own tests */
    ck_assert_uint_eq(card_matches("<C:filter " NS "><C:prop-filter name=\"EMAIL\" test=\"allof\">"
                                   "<C:text-match match-type=\"ends-with\">.com</C:text-match>"
                                   "<C:text-match match-type=\"starts-with\">oli</C:text-match>"
                                   "</C:prop-filter></C:filter>"),
                      2);
    /* groups: item1.EMAIL only in its group; EMAIL in any group */
    ck_assert_uint_eq(card_matches("<C:filter " NS "><C:prop-filter name=\"item1.EMAIL\"/>"
                                   "</C:filter>"),
                      4);
    ck_assert_uint_eq(card_matches("<C:filter " NS "><C:prop-filter name=\"item2.EMAIL\"/>"
                                   "</C:filter>"),
                      0);
    /* unicode case folding (the CardDAV default) and escapes */
    ck_assert_uint_eq(card_matches("<C:filter " NS "><C:prop-filter name=\"FN\"><C:text-match>"
                                   "JÜRGEN</C:text-match></C:prop-filter></C:filter>"),
                      4);
    ck_assert_uint_eq(card_matches("<C:filter " NS "><C:prop-filter name=\"NOTE\"><C:text-match "
                                   "match-type=\"equals\">a, b</C:text-match></C:prop-filter>"
                                   "</C:filter>"),
                      4);
    ck_assert_uint_eq(card_matches("<C:filter " NS "><C:prop-filter name=\"FN\"><C:text-match "
                                   "negate-condition=\"yes\">daboo</C:text-match>"
                                   "</C:prop-filter></C:filter>"),
                      4);
}
END_TEST

START_TEST(test_cardfilter_errors)
{
    static const char *const bad[] = {
        "<C:filter " NS " test=\"sometimes\"/>",
        "<C:filter " NS "><C:prop-filter/></C:filter>",
        "<C:filter " NS "><C:bogus/></C:filter>",
        "<C:filter " NS "><C:prop-filter name=\"A\"><C:is-not-defined/><C:text-match>x"
        "</C:text-match></C:prop-filter></C:filter>",
        "<C:filter " NS "><C:prop-filter name=\"A\"><C:text-match match-type=\"sounds-like\">x"
        "</C:text-match></C:prop-filter></C:filter>",
        "<C:filter " NS "><C:prop-filter name=\"A\"><C:param-filter/></C:prop-filter></C:filter>",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        xmlDoc *doc = NULL;
        struct dav_cardfilter *f = NULL;
        char err[256] = "";
        ck_assert_int_eq(dav_xml_parse(bad[i], strlen(bad[i]), &cfg.limits, &doc), 0);
        ck_assert_msg(dav_cardfilter_parse(xmlDocGetRootElement(doc), &f, err, sizeof(err)) ==
                          MG_EINVAL,
                      "accepted case %zu", i);
        ck_assert_msg(err[0], "no message for case %zu", i);
        xmlFreeDoc(doc);
    }
    xmlDoc *doc = NULL;
    struct dav_cardfilter *f = NULL;
    char err[256];
    const char *x = "<C:filter " NS "><C:prop-filter name=\"FN\"><C:text-match "
                    "collation=\"i;klingon\">x</C:text-match></C:prop-filter></C:filter>";
    ck_assert_int_eq(dav_xml_parse(x, strlen(x), &cfg.limits, &doc), 0);
    ck_assert_int_eq(dav_cardfilter_parse(xmlDocGetRootElement(doc), &f, err, sizeof(err)),
                     MG_EDENIED);
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(test_address_data)
{
    xmlDoc *doc = NULL;
    struct dav_carddata cd;
    struct buf out;
    const char *x = "<C:address-data " NS "><C:prop name=\"EMAIL\"/><C:prop name=\"FN\"/>"
                    "</C:address-data>";
    ck_assert_int_eq(dav_xml_parse(x, strlen(x), &cfg.limits, &doc), 0);
    ck_assert_int_eq(dav_carddata_parse(xmlDocGetRootElement(doc), &cd), 0);
    buf_init(&out);
    ck_assert_int_eq(dav_carddata_render(&cd, cards[2], strlen(cards[2]), &out), 0);
    ck_assert_str_eq(out.data, "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Jürgen Müller\r\n"
                               "item1.EMAIL;TYPE=home:j@example.de\r\nEND:VCARD\r\n");
    buf_release(&out);
    dav_carddata_release(&cd);
    xmlFreeDoc(doc);
    x = "<C:address-data " NS " content-type=\"text/vcard\" version=\"2.1\"/>";
    ck_assert_int_eq(dav_xml_parse(x, strlen(x), &cfg.limits, &doc), 0);
    ck_assert_int_eq(dav_carddata_parse(xmlDocGetRootElement(doc), &cd), MG_EDENIED);
    xmlFreeDoc(doc);
}
END_TEST

static Suite *carddav_suite(void)
{
    Suite *s = suite_create("carddav");
    TCase *tc = tcase_create("vcard");
    tcase_add_test(tc, test_parse_basic);
    tcase_add_test(tc, test_folding_groups_params);
    tcase_add_test(tc, test_quoted_printable);
    tcase_add_test(tc, test_unescape);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_check_object);
    suite_add_tcase(s, tc);
    tc = tcase_create("filters");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_cardfilter);
    tcase_add_test(tc, test_cardfilter_errors);
    tcase_add_test(tc, test_address_data);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(carddav_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
