/* check_dav_props.c - property encoding in PROPFIND responses: live
 * properties of files, folders and principals, dead properties emitted
 * verbatim (namespaces, xml:lang, nested elements, no namespace), propname,
 * allprop with include, 404 propstat, lockdiscovery; every response must be
 * well-formed XML that round-trips the values. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "../../dav/dav_private.h"

static struct dav_req req;
static struct dav_record rec;
static struct dav_lock lock;

static struct dav_bytes bytes(const char *s)
{
    struct dav_bytes b = {s, strlen(s)};
    return b;
}

static void setup(void)
{
    struct dav_prop p;
    memset(&req, 0, sizeof(req));
    req.user = "alice";
    snprintf(req.path.user, sizeof(req.path.user), "alice");
    req.path.kind = DAV_KIND_FILES;
    req.path.area = DAV_AREA_TREE;
    req.locks_loaded = 1; /* no store: the lock set is given */
    memset(&lock, 0, sizeof(lock));
    lock.key = "files/dir";
    lock.token = "opaquelocktoken:1234";
    lock.principal = "alice";
    lock.exclusive = 1;
    lock.infinity = 1;
    lock.folder = 1;
    lock.timeout = 100;
    lock.expires_ms = mg_now_ms() + 100000;
    dav_record_init(&rec);
    rec.type = DAV_RT_FILE;
    rec.size = 42;
    rec.mtime_ms = 784111777000;
    rec.ctime_ms = 784111777000;
    rec.hash[0] = 0xab;
    rec.ctype = bytes("text/plain; charset=\"a&b\"");
    p.ns = bytes("http://example.com/ns");
    p.name = bytes("color");
    p.xml = bytes("<z:color xmlns:z=\"http://example.com/ns\" xml:lang=\"en\">red<z:x a=\"1\"/>"
                  "</z:color>");
    dav_record_set_prop(&rec, &p);
    p.ns = bytes("");
    p.name = bytes("nons");
    p.xml = bytes("<nons>\xf0\x9f\x98\x80</nons>");
    dav_record_set_prop(&rec, &p);
    xmlInitParser();
}

static void teardown(void)
{
    dav_record_release(&rec);
}

/* Renders res as pf asks inside a multistatus, checks well-formedness, returns it. */
static char *render(const struct dav_pres *res, const struct dav_propfind *pf)
{
    struct buf b;
    buf_init(&b);
    ck_assert_int_eq(dav_ms_begin(&b), 0);
    ck_assert_int_eq(dav_propfind_response(&req, res, pf, &b), 0);
    ck_assert_int_eq(dav_ms_end(&b), 0);
    xmlDoc *doc = xmlReadMemory(b.data, (int)b.len, NULL, NULL, XML_PARSE_NONET);
    ck_assert_msg(doc != NULL, "not well-formed: %s", b.data);
    xmlFreeDoc(doc);
    return buf_detach(&b, NULL);
}

static struct dav_pres file_res(void)
{
    struct dav_pres p;
    memset(&p, 0, sizeof(p));
    p.vkind = DAV_V_TREE;
    p.path = "/dav/files/alice/dir/a b.txt";
    p.name = "a b.txt";
    p.rec = &rec;
    p.lock_key = "files/dir/a b.txt";
    return p;
}

static void ask(struct dav_propfind *pf, const char *const *names, size_t n)
{
    memset(pf, 0, sizeof(*pf));
    pf->mode = DAV_PF_PROP;
    pf->props = calloc(n, sizeof(*pf->props));
    for (size_t i = 0; i < n; i++) {
        pf->props[i].ns = strdup(names[2 * i]);
        pf->props[i].name = strdup(names[2 * i + 1]);
    }
    pf->n = n;
}

START_TEST(test_allprop_file)
{
    struct dav_propfind pf = {DAV_PF_ALLPROP, NULL, 0};
    struct dav_pres res = file_res();
    req.locks.v = &lock;
    req.locks.n = 1;
    char *s = render(&res, &pf);
    ck_assert_ptr_nonnull(strstr(s, "<D:href>/dav/files/alice/dir/a%20b.txt</D:href>"));
    ck_assert_ptr_nonnull(strstr(s, "<D:resourcetype/>"));
    ck_assert_ptr_nonnull(strstr(s, "<D:getcontentlength>42</D:getcontentlength>"));
    ck_assert_ptr_nonnull(
        strstr(s, "<D:getcontenttype>text/plain; charset=&quot;a&amp;b&quot;</D:getcontenttype>"));
    ck_assert_ptr_nonnull(strstr(s, "<D:getetag>\"ab000000000000000000000000000000\"</D:getetag>"));
    ck_assert_ptr_nonnull(
        strstr(s, "<D:getlastmodified>Sun, 06 Nov 1994 08:49:37 GMT</D:getlastmodified>"));
    ck_assert_ptr_nonnull(strstr(s, "<D:creationdate>1994-11-06T08:49:37Z</D:creationdate>"));
    ck_assert_ptr_nonnull(strstr(s, "<D:displayname>a b.txt</D:displayname>"));
    ck_assert_ptr_nonnull(strstr(s, "<D:supportedlock>"));
    /* the folder's infinity lock covers the file */
    ck_assert_ptr_nonnull(strstr(s, "opaquelocktoken:1234"));
    ck_assert_ptr_nonnull(strstr(s, "<D:lockroot><D:href>/dav/files/alice/dir/</D:href>"));
    /* dead properties verbatim */
    ck_assert_ptr_nonnull(strstr(s, rec.props[0].xml.p));
    ck_assert_ptr_nonnull(strstr(s, "<nons>\xf0\x9f\x98\x80</nons>"));
    /* not in allprop */
    ck_assert_ptr_null(strstr(s, "current-user-principal"));
    ck_assert_ptr_null(strstr(s, "404"));
    free(s);
    req.locks.v = NULL;
    req.locks.n = 0;
}
END_TEST

START_TEST(test_allprop_include)
{
    struct dav_propfind pf;
    static const char *const names[] = {"DAV:", "current-user-principal", "urn:x", "nothing"};
    struct dav_pres res = file_res();
    ask(&pf, names, 2);
    pf.mode = DAV_PF_ALLPROP;
    char *s = render(&res, &pf);
    ck_assert_ptr_nonnull(strstr(s, "<D:current-user-principal><D:href>/dav/principals/alice/"
                                    "</D:href></D:current-user-principal>"));
    ck_assert_ptr_null(strstr(s, "nothing"));
    free(s);
    dav_propfind_release(&pf);
}
END_TEST

START_TEST(test_prop_file)
{
    struct dav_propfind pf;
    static const char *const names[] = {
        "DAV:",
        "getetag",
        "http://example.com/ns",
        "color",
        "",
        "nons",
        "urn:x",
        "missing",
        "",
        "missing2",
        "DAV:",
        "principal-URL",
        "DAV:",
        "lockdiscovery",
    };
    struct dav_pres res = file_res();
    ask(&pf, names, 7);
    char *s = render(&res, &pf);
    ck_assert_ptr_nonnull(strstr(s, "<D:getetag>"));
    ck_assert_ptr_nonnull(strstr(s, "xml:lang=\"en\">red<z:x a=\"1\"/></z:color>"));
    ck_assert_ptr_nonnull(strstr(s, "<X:missing xmlns:X=\"urn:x\"/>"));
    ck_assert_ptr_nonnull(strstr(s, "<missing2 xmlns=\"\"/>"));
    ck_assert_ptr_nonnull(strstr(s, "<D:principal-URL/>"));
    ck_assert_ptr_nonnull(strstr(s, "<D:lockdiscovery></D:lockdiscovery>"));
    /* 200 before 404 */
    char *ok = strstr(s, "HTTP/1.1 200 OK");
    char *nf = strstr(s, "HTTP/1.1 404 Not Found");
    ck_assert_ptr_nonnull(ok);
    ck_assert_ptr_nonnull(nf);
    ck_assert(ok < nf);
    ck_assert(strstr(s, "<X:missing") > ok);
    free(s);
    dav_propfind_release(&pf);
}
END_TEST

START_TEST(test_prop_values_roundtrip)
{
    /* a client parsing the response gets the dead values back intact */
    struct dav_propfind pf;
    static const char *const names[] = {"http://example.com/ns", "color", "", "nons"};
    struct dav_pres res = file_res();
    ask(&pf, names, 2);
    char *s = render(&res, &pf);
    xmlDoc *doc = xmlReadMemory(s, (int)strlen(s), NULL, NULL, XML_PARSE_NONET);
    ck_assert_ptr_nonnull(doc);
    xmlNode *prop = dav_xml_first_elem(dav_xml_first_elem(
        dav_xml_next_elem(dav_xml_first_elem(dav_xml_first_elem(xmlDocGetRootElement(doc))))));
    ck_assert_ptr_nonnull(prop);
    ck_assert_str_eq((const char *)prop->name, "color");
    ck_assert_str_eq(dav_xml_ns(prop), "http://example.com/ns");
    xmlChar *lang = xmlNodeGetLang(prop);
    ck_assert_str_eq((const char *)lang, "en");
    xmlFree(lang);
    xmlNode *child = dav_xml_first_elem(prop);
    ck_assert_str_eq(dav_xml_ns(child), "http://example.com/ns");
    xmlNode *nons = dav_xml_next_elem(prop);
    ck_assert_str_eq(dav_xml_ns(nons), "");
    xmlChar *txt = xmlNodeGetContent(nons);
    ck_assert_str_eq((const char *)txt, "\xf0\x9f\x98\x80");
    xmlFree(txt);
    xmlFreeDoc(doc);
    free(s);
    dav_propfind_release(&pf);
}
END_TEST

START_TEST(test_propname)
{
    struct dav_propfind pf = {DAV_PF_PROPNAME, NULL, 0};
    struct dav_pres res = file_res();
    char *s = render(&res, &pf);
    ck_assert_ptr_nonnull(strstr(s, "<D:getetag/>"));
    ck_assert_ptr_nonnull(strstr(s, "<D:resourcetype/>"));
    ck_assert_ptr_nonnull(strstr(s, "<X:color xmlns:X=\"http://example.com/ns\"/>"));
    ck_assert_ptr_nonnull(strstr(s, "<nons xmlns=\"\"/>"));
    ck_assert_ptr_null(strstr(s, "red"));
    free(s);
}
END_TEST

START_TEST(test_folder_and_dead_displayname)
{
    struct dav_propfind pf;
    static const char *const names[] = {"DAV:", "resourcetype", "DAV:", "getcontentlength",
                                        "DAV:", "getetag",      "DAV:", "displayname"};
    struct dav_record folder;
    struct dav_prop dn;
    struct dav_pres res;
    dn.ns = bytes("DAV:");
    dn.name = bytes("displayname");
    dn.xml = bytes("<D:displayname xmlns:D=\"DAV:\">My Folder</D:displayname>");
    dav_record_init(&folder);
    folder.type = DAV_RT_FOLDER;
    dav_record_set_prop(&folder, &dn);
    memset(&res, 0, sizeof(res));
    res.vkind = DAV_V_TREE;
    res.path = "/dav/files/alice/dir/";
    res.name = "dir";
    res.rec = &folder;
    res.lock_key = "files/dir";
    ask(&pf, names, 4);
    char *s = render(&res, &pf);
    ck_assert_ptr_nonnull(strstr(s, "<D:resourcetype><D:collection/></D:resourcetype>"));
    ck_assert_ptr_nonnull(strstr(s, "<D:getcontentlength/>"));
    ck_assert_ptr_nonnull(strstr(s, "<D:getetag/>"));
    ck_assert_ptr_nonnull(strstr(s, "My Folder"));
    ck_assert_ptr_null(strstr(s, ">dir<"));
    free(s);
    /* allprop: the dead displayname replaces the computed one, once */
    pf.mode = DAV_PF_ALLPROP;
    dav_propfind_release(&pf);
    s = render(&res, &pf);
    ck_assert_ptr_nonnull(strstr(s, "My Folder"));
    ck_assert_ptr_null(strstr(strstr(s, "displayname") + 12, "<D:displayname>"));
    free(s);
    dav_record_release(&folder);
}
END_TEST

START_TEST(test_principal)
{
    struct dav_propfind pf;
    static const char *const names[] = {
        "DAV:", "resourcetype",           "DAV:", "principal-URL",
        "DAV:", "current-user-principal", "DAV:", "getlastmodified"};
    struct dav_pres res;
    memset(&res, 0, sizeof(res));
    res.vkind = DAV_V_PRINCIPAL;
    res.path = "/dav/principals/alice/";
    res.name = "alice";
    ask(&pf, names, 4);
    char *s = render(&res, &pf);
    ck_assert_ptr_nonnull(
        strstr(s, "<D:resourcetype><D:collection/><D:principal/></D:resourcetype>"));
    ck_assert_ptr_nonnull(
        strstr(s, "<D:principal-URL><D:href>/dav/principals/alice/</D:href></D:principal-URL>"));
    ck_assert_ptr_nonnull(strstr(s, "<D:getlastmodified/>"));
    free(s);
    dav_propfind_release(&pf);
}
END_TEST

START_TEST(test_live_table)
{
    ck_assert_ptr_nonnull(dav_live_find("DAV:", "getetag"));
    ck_assert_int_eq(dav_live_find("DAV:", "getetag")->protected_, 1);
    ck_assert_int_eq(dav_live_find("DAV:", "displayname")->protected_, 0);
    ck_assert_ptr_null(dav_live_find("urn:x", "getetag"));
    ck_assert_ptr_null(dav_live_find("DAV:", "getcontentlanguage"));
}
END_TEST

static Suite *props_suite(void)
{
    Suite *s = suite_create("dav_props");
    TCase *tc = tcase_create("propfind");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_allprop_file);
    tcase_add_test(tc, test_allprop_include);
    tcase_add_test(tc, test_prop_file);
    tcase_add_test(tc, test_prop_values_roundtrip);
    tcase_add_test(tc, test_propname);
    tcase_add_test(tc, test_folder_and_dead_displayname);
    tcase_add_test(tc, test_principal);
    tcase_add_test(tc, test_live_table);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(props_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
