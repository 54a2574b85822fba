/* check_dav_if.c - the If header (RFC 4918 10.4): grammar, malformed and
 * oversized headers, and evaluation of tagged and untagged lists. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../dav/dav_private.h"

START_TEST(test_if_parse_untagged)
{
    struct dav_if h;
    ck_assert_int_eq(dav_if_parse("(<urn:uuid:1> [\"e1\"]) (Not <DAV:no-lock>)", &h), 0);
    ck_assert_uint_eq(h.nlists, 2);
    ck_assert_ptr_null(h.lists[0].tag);
    ck_assert_uint_eq(h.lists[0].nconds, 2);
    ck_assert_str_eq(h.lists[0].conds[0].value, "urn:uuid:1");
    ck_assert_int_eq(h.lists[0].conds[0].is_etag, 0);
    ck_assert_str_eq(h.lists[0].conds[1].value, "\"e1\"");
    ck_assert_int_eq(h.lists[0].conds[1].is_etag, 1);
    ck_assert_int_eq(h.lists[1].conds[0].negate, 1);
    ck_assert_str_eq(h.lists[1].conds[0].value, "DAV:no-lock");
    ck_assert_int_eq(dav_if_submits(&h, "urn:uuid:1"), 1);
    ck_assert_int_eq(dav_if_submits(&h, "DAV:no-lock"), 0); /* negated */
    dav_if_release(&h);
}
END_TEST

START_TEST(test_if_parse_tagged)
{
    struct dav_if h;
    ck_assert_int_eq(
        dav_if_parse("<http://h/dav/files/a/x> (<t1>) ([W/\"e\"]) </y> (Not <t2>)", &h), 0);
    ck_assert_uint_eq(h.nlists, 3);
    ck_assert_str_eq(h.lists[0].tag, "http://h/dav/files/a/x");
    ck_assert_str_eq(h.lists[1].tag, "http://h/dav/files/a/x");
    ck_assert_str_eq(h.lists[1].conds[0].value, "W/\"e\"");
    ck_assert_str_eq(h.lists[2].tag, "/y");
    dav_if_release(&h);
}
END_TEST

START_TEST(test_if_parse_malformed)
{
    static const char *const bad[] = {
        "",
        "   ",
        "()",
        "(<a>",
        "(<a>) <tag>",     /* tag without a list */
        "<tag>",           /* idem */
        "(<a>) <t> (<b>)", /* untagged then tagged */
        "<t> <u> (<a>)",   /* two tags in a row */
        "([noquotes])",
        "([\"unterminated])",
        "(Not)",
        "(<>)",
        "(a)",
        "x (<a>)",
        "(<a>) x",
        "(<a> [\"e\"] junk)",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct dav_if h;
        ck_assert_msg(dav_if_parse(bad[i], &h) == MG_EINVAL, "accepted malformed If: %s", bad[i]);
    }
    struct dav_if h;
    ck_assert_int_eq(dav_if_parse(NULL, &h), MG_EINVAL);
}
END_TEST

START_TEST(test_if_parse_limits)
{
    struct buf b;
    struct dav_if h;
    buf_init(&b);
    for (int i = 0; i < 100; i++)
        buf_puts(&b, "(<t>)");
    ck_assert_int_eq(dav_if_parse(b.data, &h), MG_EINVAL);
    buf_reset(&b);
    buf_putc(&b, '(');
    for (int i = 0; i < 100; i++)
        buf_puts(&b, "<t> ");
    buf_putc(&b, ')');
    ck_assert_int_eq(dav_if_parse(b.data, &h), MG_EINVAL);
    buf_release(&b);
}
END_TEST

/* A fake resource world for evaluation: resource tag NULL or "/r" holds lock
 * token "t1" and etag "\"e1\""; "/other" holds "t2" and no etag. */
static int fake_has_token(void *ctx, const char *tag, const char *token)
{
    (void)ctx;
    if (!tag || strcmp(tag, "/r") == 0)
        return strcmp(token, "t1") == 0;
    if (strcmp(tag, "/other") == 0)
        return strcmp(token, "t2") == 0;
    return 0;
}

static int fake_etag_is(void *ctx, const char *tag, const char *etag)
{
    (void)ctx;
    return (!tag || strcmp(tag, "/r") == 0) && strcmp(etag, "\"e1\"") == 0;
}

static int eval(const char *hdr)
{
    static const struct dav_if_ops ops = {fake_has_token, fake_etag_is};
    struct dav_if h;
    int v;
    ck_assert_msg(dav_if_parse(hdr, &h) == 0, "could not parse %s", hdr);
    v = dav_if_eval(&h, &ops, NULL);
    dav_if_release(&h);
    return v;
}

START_TEST(test_if_eval)
{
    ck_assert_int_eq(eval("(<t1>)"), 1);
    ck_assert_int_eq(eval("(<t2>)"), 0);
    ck_assert_int_eq(eval("(<t1> [\"e1\"])"), 1);
    ck_assert_int_eq(eval("(<t1> [\"e2\"])"), 0);
    ck_assert_int_eq(eval("(<t1> [\"e2\"]) (Not <DAV:no-lock> [\"e1\"])"), 1);
    ck_assert_int_eq(eval("(<t1> [\"e2\"]) (Not <DAV:no-lock> [\"e2\"])"), 0);
    ck_assert_int_eq(eval("(<DAV:no-lock>)"), 0);
    ck_assert_int_eq(eval("(Not <DAV:no-lock>)"), 1);
    ck_assert_int_eq(eval("(<t1x>) (Not <DAV:no-lock>)"), 1);
    ck_assert_int_eq(eval("(Not <t1>)"), 0);
    ck_assert_int_eq(eval("([\"e1\"])"), 1);
    ck_assert_int_eq(eval("(Not [\"e1\"])"), 0);
    ck_assert_int_eq(eval("([W/\"e1\"])"), 0); /* the fake compares exactly */
    ck_assert_int_eq(eval("</other> (<t2>)"), 1);
    ck_assert_int_eq(eval("</other> (<t1>)"), 0);
    ck_assert_int_eq(eval("</nothing> (<t1>) </r> (<t1>)"), 1);
    ck_assert_int_eq(eval("</other> ([\"e1\"])"), 0);
}
END_TEST

static Suite *if_suite(void)
{
    Suite *s = suite_create("dav_if");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_if_parse_untagged);
    tcase_add_test(tc, test_if_parse_tagged);
    tcase_add_test(tc, test_if_parse_malformed);
    tcase_add_test(tc, test_if_parse_limits);
    suite_add_tcase(s, tc);
    tc = tcase_create("eval");
    tcase_add_test(tc, test_if_eval);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(if_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
