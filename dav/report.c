/*
 * report.c - REPORT (RFC 3253 3.6): dispatch, and the reports that answer
 * with a multistatus of members:
 *
 *   calendar-query (RFC 4791 7.8), calendar-multiget (7.9),
 *   addressbook-query (RFC 6352 8.6), addressbook-multiget (8.7),
 *   expand-property (RFC 3253 3.8, without expansion of nested hrefs),
 *   principal-property-search and principal-search-property-set (RFC 3744 9.4, 9.5).
 *
 * sync-collection (RFC 6578) is in sync.c, free-busy-query (RFC 4791 7.10)
 * in freebusy.c. A query scans the collection's partition once; objects
 * whose index (component type, time bounds) rules them out are not parsed.
 * A report never drops a match silently: past limits.max_report_results it
 * fails with DAV:number-of-matches-within-limits (507).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dav_private.h"

enum report_kind { RK_CALQUERY = 0, RK_CALMULTIGET, RK_CARDQUERY, RK_CARDMULTIGET };

struct report {
    struct dav_req *r;
    enum report_kind kind;
    struct dav_propfind pf;
    struct dav_caldata cd;
    struct dav_carddata ad;
    struct dav_calfilter *cf;
    struct dav_cardfilter *af;
    icaltimezone *zone; /* owned: from CALDAV:timezone or the calendar's property */
    struct buf out;
    struct buf path, lkey, rel;
    const char *crel; /* the collection being scanned */
    long count, limit;
    long nresults; /* CARDDAV:limit (0: none) */
    int truncated;
    int too_many;
    int err;
};

static int is_ns(xmlNode *n, const char *ns, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && strcmp(dav_xml_ns(n), ns) == 0 &&
           strcmp((const char *)n->name, name) == 0;
}

static void report_release(struct report *x)
{
    dav_propfind_release(&x->pf);
    dav_caldata_release(&x->cd);
    dav_carddata_release(&x->ad);
    dav_calfilter_free(x->cf);
    dav_cardfilter_free(x->af);
    if (x->zone)
        icaltimezone_free(x->zone, 1);
    buf_release(&x->out);
    buf_release(&x->path);
    buf_release(&x->lkey);
    buf_release(&x->rel);
}

/* Fills x->pf from DAV:prop / allprop / propname (absent: allprop), and the
 * calendar-data / address-data specs. Returns 0 or the status after
 * responding. */
static int parse_props(struct report *x, xmlNode *root)
{
    struct dav_req *r = x->r;
    x->pf.mode = DAV_PF_ALLPROP;
    for (xmlNode *c = dav_xml_first_elem(root); c; c = dav_xml_next_elem(c)) {
        if (dav_xml_is(c, "allprop")) {
            x->pf.mode = DAV_PF_ALLPROP;
        } else if (dav_xml_is(c, "propname")) {
            x->pf.mode = DAV_PF_PROPNAME;
        } else if (dav_xml_is(c, "prop")) {
            x->pf.mode = DAV_PF_PROP;
            for (xmlNode *p = dav_xml_first_elem(c); p; p = dav_xml_next_elem(p)) {
                struct dav_pname *v = realloc(x->pf.props, (x->pf.n + 1) * sizeof(*v));
                int rc = 0;
                if (!v)
                    return srv_respond_text(r->req, 500, "out of memory");
                x->pf.props = v;
                v[x->pf.n].ns = mg_strdup(dav_xml_ns(p));
                v[x->pf.n].name = mg_strdup((const char *)p->name);
                x->pf.n++;
                if (!v[x->pf.n - 1].ns || !v[x->pf.n - 1].name)
                    return srv_respond_text(r->req, 500, "out of memory");
                if (is_ns(p, DAV_NS_CALDAV, "calendar-data")) {
                    dav_caldata_release(&x->cd);
                    rc = dav_caldata_parse(p, &x->cd);
                    if (rc == MG_EDENIED)
                        return dav_respond_error_ns(r->req, 403, DAV_NS_CALDAV,
                                                    "supported-calendar-data", NULL,
                                                    "only text/calendar 2.0 is served");
                    r->caldata = &x->cd;
                } else if (is_ns(p, DAV_NS_CARDDAV, "address-data")) {
                    dav_carddata_release(&x->ad);
                    rc = dav_carddata_parse(p, &x->ad);
                    if (rc == MG_EDENIED)
                        return dav_respond_error_ns(r->req, 403, DAV_NS_CARDDAV,
                                                    "supported-address-data", NULL,
                                                    "only text/vcard 3.0 and 4.0 are served");
                    r->carddata = &x->ad;
                }
                if (rc == MG_ENOMEM)
                    return srv_respond_text(r->req, 500, "out of memory");
                if (rc)
                    return srv_respond_text(r->req, 400, "malformed %s element",
                                            (const char *)p->name);
            }
        }
    }
    return 0;
}

/* Appends the response for one member of the user's tree. */
static int emit(struct report *x, const char *rel, const struct dav_record *rec, const char *body,
                size_t len, icalcomponent *cal)
{
    struct dav_req *r = x->r;
    struct dav_pres pres;
    int rc;

    if (++x->count > x->limit && x->limit) {
        x->too_many = 1;
        return MG_ETOOBIG;
    }
    if (x->out.len > DAV_MULTISTATUS_MAX) {
        x->too_many = 1;
        return MG_ETOOBIG;
    }
    buf_reset(&x->path);
    buf_reset(&x->lkey);
    rc = dav_tree_path(&x->path, r->path.user, r->path.kind, rel, rec->type == DAV_RT_FOLDER);
    if (!rc)
        rc = dav_lock_key(&x->lkey, r->path.kind, rel);
    if (rc)
        return rc;
    memset(&pres, 0, sizeof(pres));
    pres.vkind = DAV_V_TREE;
    pres.path = x->path.data;
    pres.name = rel[0] ? dav_rel_name(rel) : r->path.user;
    pres.rec = rec;
    pres.lock_key = x->lkey.data;
    pres.rel = rel;
    pres.body = body;
    pres.body_len = len;
    pres.cal = cal;
    return dav_propfind_response(r, &pres, &x->pf, &x->out);
}

/* ---- queries ----------------------------------------------------------------------------- */

/* Tests one stored object against the query; emits it when it matches. */
static int query_object(struct report *x, const char *rel, const struct dav_record *rec)
{
    struct dav_objidx idx;
    struct dht_manifest man;
    struct buf content;
    const char *data;
    size_t len;
    int rc = 0, match = 0;

    if (rec->type != DAV_RT_FILE)
        return 0;
    if (x->cf && dav_objidx_decode(&rec->index, &idx) == 0 && !dav_calfilter_may_match(x->cf, &idx))
        return 0;
    dht_manifest_init(&man);
    buf_init(&content);
    if (dht_manifest_decode(rec->manifest.p, rec->manifest.n, &man) == 0 && man.inline_data) {
        data = man.inline_data;
        len = (size_t)man.size;
    } else {
        rc = dav_record_content(x->r->m, rec, dav_obj_max(x->r->m), &content);
        if (rc) {
            log_warn("dav: unreadable object in query rel=%s err=%s", rel, mg_strerror(rc));
            rc = 0;
            goto out;
        }
        data = content.data ? content.data : "";
        len = content.len;
    }
    if (x->cf) {
        icalcomponent *cal = NULL;
        char err[64];
        if (dav_ical_parse(data, len, &cal, err, sizeof(err)) == 0) {
            dav_ical_prefer_builtin_zones(cal);
            match = dav_calfilter_match(x->cf, cal, x->zone);
            /* calendar-data is rendered from the bytes (with their VTIMEZONEs) */
            if (match)
                rc = emit(x, rel, rec, data, len, NULL);
            icalcomponent_free(cal);
        }
    } else {
        struct dav_vcard *c = NULL;
        char err[64];
        if (dav_vcard_parse(data, len, &c, err, sizeof(err)) == 0) {
            match = dav_cardfilter_match(x->af, c);
            if (match && x->nresults && x->count >= x->nresults) {
                /* RFC 6352 8.6.1: truncated to the client's limit */
                x->truncated = 1;
                rc = MG_ETOOBIG;
            } else if (match) {
                rc = emit(x, rel, rec, data, len, NULL);
            }
            dav_vcard_free(c);
        }
    }
out:
    dht_manifest_release(&man);
    buf_release(&content);
    return rc;
}

static int query_row(void *ctx, const char *rkey, const struct dht_row *row)
{
    struct report *x = ctx;
    struct dav_record rec;
    int rc;

    if (!rkey[0])
        return 0;
    if (dav_record_decode(row->value, row->value_len, &rec))
        return 0;
    buf_reset(&x->rel);
    rc = dav_rel_join(&x->rel, x->crel, rkey);
    if (!rc)
        rc = query_object(x, x->rel.data, &rec);
    dav_record_release(&rec);
    if (rc) {
        x->err = rc;
        return 1;
    }
    return 0;
}

/* Runs the query over the members of collection crel. */
static int query_collection(struct report *x, const char *crel)
{
    struct buf pkey;
    int rc;

    buf_init(&pkey);
    rc = dav_folder_pkey(&pkey, x->r->path.user, x->r->path.kind, crel);
    x->crel = crel;
    if (!rc)
        rc = dht_scan(x->r->m->d, pkey.data, NULL, 0, query_row, x);
    buf_release(&pkey);
    if (x->err)
        return x->err;
    return rc < 0 ? rc : 0;
}

struct subcolls {
    char **v;
    size_t n;
    int want;
    int err;
};

static int subcoll_row(void *ctx, const char *rkey, const struct dht_row *row)
{
    struct subcolls *s = ctx;
    struct dav_record rec;
    if (!rkey[0] || dav_record_decode(row->value, row->value_len, &rec))
        return 0;
    if (rec.type == DAV_RT_FOLDER && rec.coll == s->want) {
        char **v = realloc(s->v, (s->n + 1) * sizeof(*v));
        if (!v || !(v[s->n] = mg_strdup(rkey))) {
            if (v)
                s->v = v;
            s->err = MG_ENOMEM;
            dav_record_release(&rec);
            return 1;
        }
        s->v = v;
        s->n++;
    }
    dav_record_release(&rec);
    return 0;
}

/* Applies the query to the request's resource: an object (itself), a
 * calendar or address book (its members, Depth 1), or a collection holding
 * them (Depth infinity: each child collection). */
static int query_target(struct report *x, const struct dav_res *res, int depth, int want)
{
    struct dav_req *r = x->r;
    const char *rel = r->path.rel;

    if (res->rec.type == DAV_RT_FILE)
        return query_object(x, rel, &res->rec);
    if (res->rec.coll == want)
        return depth == DAV_DEPTH_0 ? 0 : query_collection(x, rel);
    if (depth == DAV_DEPTH_INFINITY && res->rec.coll == DAV_COLL_PLAIN) {
        struct subcolls s = {NULL, 0, want, 0};
        struct buf pkey, child;
        int rc;
        buf_init(&pkey);
        buf_init(&child);
        rc = dav_folder_pkey(&pkey, r->path.user, r->path.kind, rel);
        if (!rc)
            rc = dht_scan(r->m->d, pkey.data, NULL, 0, subcoll_row, &s);
        if (s.err)
            rc = s.err;
        for (size_t i = 0; i < s.n; i++) {
            buf_reset(&child);
            if (!rc)
                rc = dav_rel_join(&child, rel, s.v[i]);
            if (!rc)
                rc = query_collection(x, child.data);
            free(s.v[i]);
        }
        free(s.v);
        buf_release(&pkey);
        buf_release(&child);
        return rc < 0 ? rc : 0;
    }
    return 0;
}

/* Depth of a query: RFC 4791 7.8 says 0 by default, but clients that omit
 * the header on a collection mean its members. */
static int query_depth(struct dav_req *r, int *depth)
{
    const char *h = srv_req_header(r->req, "Depth");
    return dav_parse_depth(h, DAV_DEPTH_1, depth);
}

static int finish(struct report *x, int rc)
{
    struct dav_req *r = x->r;
    if (rc == MG_ETOOBIG && x->truncated) {
        /* RFC 6352 8.6.1: a 507 response for the request-URI says it was cut */
        if (buf_puts(&x->out, "<D:response><D:href>") ||
            dav_put_href(&x->out, srv_req_path(r->req)) ||
            buf_printf(&x->out,
                       "</D:href><D:status>%s</D:status><D:error>"
                       "<D:number-of-matches-within-limits/></D:error></D:response>\n",
                       dav_status_line(507)))
            return srv_respond_text(r->req, 500, "out of memory");
        rc = 0;
    } else if (rc == MG_ETOOBIG) {
        return dav_respond_error(r->req, 507, "number-of-matches-within-limits", NULL,
                                 "too many matches: narrow the query");
    }
    if (rc)
        return dav_respond_store_error(r, rc);
    if (dav_ms_end(&x->out))
        return srv_respond_text(r->req, 500, "out of memory");
    return srv_respond_buf(r->req, 207, "application/xml; charset=utf-8", &x->out);
}

/* Responds to a filter the parser refused with rc (not 0): 500 when out of memory, else 403
 * with the precondition of namespace ns, supported-collation or valid-filter (RFC 4791 7.8,
 * RFC 6352 8.6), carrying the parser's message err. Returns the HTTP status. */
static int respond_filter_error(struct dav_req *r, const char *ns, int rc, const char *err)
{
    if (rc == MG_ENOMEM)
        return srv_respond_text(r->req, 500, "out of memory");
    return dav_respond_error_ns(r->req, 403, ns,
                                rc == MG_EDENIED ? "supported-collation" : "valid-filter", NULL,
                                err);
}

static int calendar_query(struct report *x, xmlNode *root)
{
    struct dav_req *r = x->r;
    struct dav_res res;
    xmlNode *filter = NULL, *tz = NULL;
    char err[256] = "";
    int depth, rc;

    dav_res_init(&res);
    for (xmlNode *c = dav_xml_first_elem(root); c; c = dav_xml_next_elem(c)) {
        if (is_ns(c, DAV_NS_CALDAV, "filter"))
            filter = c;
        else if (is_ns(c, DAV_NS_CALDAV, "timezone"))
            tz = c;
    }
    if (!filter) {
        rc = dav_respond_error_ns(r->req, 403, DAV_NS_CALDAV, "valid-filter", NULL,
                                  "calendar-query needs a CALDAV:filter (RFC 4791 7.8)");
        goto out;
    }
    rc = dav_calfilter_parse(filter, &x->cf, err, sizeof(err));
    if (rc) {
        rc = respond_filter_error(r, DAV_NS_CALDAV, rc, err);
        goto out;
    }
    if (tz) {
        /* RFC 4791 9.8: the zone of floating times for this query */
        xmlChar *t = xmlNodeGetContent(tz);
        int zr = t ? dav_ical_zone_from_text((const char *)t, strlen((const char *)t), &x->zone)
                   : MG_EINVAL;
        xmlFree(t);
        if (zr) {
            rc = dav_respond_error_ns(r->req, 403, DAV_NS_CALDAV, "valid-calendar-data", NULL,
                                      "CALDAV:timezone must hold one VTIMEZONE");
            goto out;
        }
    }
    if (query_depth(r, &depth)) {
        rc = srv_respond_text(r->req, 400, "Depth must be 0, 1 or infinity");
        goto out;
    }
    if (dav_load_target(r, &res, &rc))
        goto out;
    if (!x->zone) {
        if (res.rec.coll == DAV_COLL_CALENDAR) {
            x->zone = dav_coll_zone(&res.rec);
        } else if (res.rec.type == DAV_RT_FILE) {
            struct dav_res parent;
            dav_res_init(&parent);
            if (dav_parent_load(r->m, r->path.user, r->path.kind, r->path.rel, &parent) == 0 &&
                parent.exists)
                x->zone = dav_coll_zone(&parent.rec);
            dav_res_release(&parent);
        }
    }
    r->floating = x->zone;
    rc = query_target(x, &res, depth, DAV_COLL_CALENDAR);
    rc = finish(x, rc);
out:
    dav_res_release(&res);
    return rc;
}

static int addressbook_query(struct report *x, xmlNode *root)
{
    struct dav_req *r = x->r;
    struct dav_res res;
    xmlNode *filter = NULL;
    char err[256] = "";
    int depth, rc;

    dav_res_init(&res);
    for (xmlNode *c = dav_xml_first_elem(root); c; c = dav_xml_next_elem(c)) {
        if (is_ns(c, DAV_NS_CARDDAV, "filter")) {
            filter = c;
        } else if (is_ns(c, DAV_NS_CARDDAV, "limit")) {
            xmlNode *nr = dav_xml_first_elem(c);
            xmlChar *t = is_ns(nr, DAV_NS_CARDDAV, "nresults") ? xmlNodeGetContent(nr) : NULL;
            uint64_t v = 0;
            int bad = !t || mg_parse_u64((const char *)t, &v) || v == 0 || v > 1000000;
            xmlFree(t);
            if (bad) {
                rc = srv_respond_text(r->req, 400, "CARDDAV:limit needs a positive nresults");
                goto out;
            }
            x->nresults = (long)v;
        }
    }
    if (!filter) {
        rc = dav_respond_error_ns(r->req, 403, DAV_NS_CARDDAV, "valid-filter", NULL,
                                  "addressbook-query needs a CARDDAV:filter (RFC 6352 8.6)");
        goto out;
    }
    rc = dav_cardfilter_parse(filter, &x->af, err, sizeof(err));
    if (rc) {
        rc = respond_filter_error(r, DAV_NS_CARDDAV, rc, err);
        goto out;
    }
    if (query_depth(r, &depth)) {
        rc = srv_respond_text(r->req, 400, "Depth must be 0, 1 or infinity");
        goto out;
    }
    if (dav_load_target(r, &res, &rc))
        goto out;
    rc = query_target(x, &res, depth, DAV_COLL_ADDRESSBOOK);
    rc = finish(x, rc);
out:
    dav_res_release(&res);
    return rc;
}

/* ---- multiget ---------------------------------------------------------------------------- */

static int multiget(struct report *x, xmlNode *root)
{
    struct dav_req *r = x->r;
    struct dav_res res;
    long n = 0;
    int rc = 0;

    dav_res_init(&res);
    for (xmlNode *c = dav_xml_first_elem(root); c && !rc; c = dav_xml_next_elem(c)) {
        struct dav_path p;
        xmlChar *href;
        char *path = NULL;
        if (!dav_xml_is(c, "href"))
            continue;
        if (x->limit && ++n > x->limit) {
            rc = MG_ETOOBIG;
            break;
        }
        href = xmlNodeGetContent(c);
        memset(&p, 0, sizeof(p));
        /* an href may be a path or an absolute URL (of this server) */
        if (!href || dav_parse_uri((const char *)href, NULL, &path) || dav_path_parse(path, &p) ||
            p.area != DAV_AREA_TREE || p.kind != r->path.kind ||
            strcmp(p.user, r->path.user) != 0) {
            rc = dav_ms_status(&x->out, path ? path : (href ? (const char *)href : "/"), 404);
        } else {
            rc = dav_res_load(r->m, p.user, p.kind, p.rel, &res);
            if (!rc && !res.exists)
                rc = dav_ms_status(&x->out, path, 404);
            else if (!rc)
                rc = emit(x, p.rel, &res.rec, NULL, 0, NULL);
        }
        dav_path_release(&p);
        free(path);
        xmlFree(href);
    }
    dav_res_release(&res);
    return finish(x, rc);
}

/* ---- expand-property and principal searches -----------------------------------------------------
 */

/* RFC 3253 3.8, simplified: the named properties of the request's resource,
 * hrefs not expanded. */
static int expand_property(struct report *x, xmlNode *root)
{
    struct dav_req *r = x->r;
    x->pf.mode = DAV_PF_PROP;
    for (xmlNode *c = dav_xml_first_elem(root); c; c = dav_xml_next_elem(c)) {
        xmlChar *name, *ns;
        struct dav_pname *v;
        if (!dav_xml_is(c, "property"))
            continue;
        name = xmlGetProp(c, (const xmlChar *)"name");
        ns = xmlGetProp(c, (const xmlChar *)"namespace");
        v = name ? realloc(x->pf.props, (x->pf.n + 1) * sizeof(*v)) : NULL;
        if (v) {
            x->pf.props = v;
            v[x->pf.n].name = mg_strdup((const char *)name);
            v[x->pf.n].ns = mg_strdup(ns ? (const char *)ns : DAV_NS);
            x->pf.n++;
        }
        xmlFree(name);
        xmlFree(ns);
    }
    if (r->path.area == DAV_AREA_TREE)
        return -1; /* answered like PROPFIND Depth 0 by the caller */
    return dav_propfind_virtual(r, &x->pf, DAV_DEPTH_0);
}

static int principal_search(struct report *x, xmlNode *root)
{
    struct dav_req *r = x->r;
    struct buf path;
    int match = 0, any = 0, rc;

    buf_init(&path);
    /* RFC 3744 9.4: every property-search must match (test="allof" default) */
    for (xmlNode *c = dav_xml_first_elem(root); c; c = dav_xml_next_elem(c)) {
        if (dav_xml_is(c, "property-search")) {
            xmlNode *m = NULL;
            for (xmlNode *k = dav_xml_first_elem(c); k; k = dav_xml_next_elem(k)) {
                if (dav_xml_is(k, "match"))
                    m = k;
            }
            xmlChar *t = m ? xmlNodeGetContent(m) : NULL;
            struct dav_textmatch tm = {(char *)(t ? (const char *)t : ""), DAV_COLLATION_UNICODE,
                                       DAV_MATCH_CONTAINS, 0};
            int hit = dav_textmatch_test(&tm, r->user);
            xmlFree(t);
            match = any ? match && hit : hit;
            any = 1;
        } else if (dav_xml_is(c, "prop")) {
            rc = parse_props(x, root);
            if (rc)
                goto out;
        }
    }
    rc = buf_printf(&path, "/dav/principals/%s/", r->user);
    if (!rc && match) {
        struct dav_pres pres;
        memset(&pres, 0, sizeof(pres));
        pres.vkind = DAV_V_PRINCIPAL;
        pres.path = path.data;
        pres.name = r->user;
        rc = dav_propfind_response(r, &pres, &x->pf, &x->out);
    }
    if (!rc)
        rc = dav_ms_end(&x->out);
    if (rc) {
        rc = srv_respond_text(r->req, 500, "out of memory");
        goto out;
    }
    rc = srv_respond_buf(r->req, 207, "application/xml; charset=utf-8", &x->out);
out:
    buf_release(&path);
    return rc;
}

static int search_property_set(struct report *x)
{
    static const char body[] =
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
        "<D:principal-search-property-set xmlns:D=\"DAV:\">"
        "<D:principal-search-property><D:prop><D:displayname/></D:prop>"
        "<D:description xml:lang=\"en\">Name</D:description></D:principal-search-property>"
        "</D:principal-search-property-set>\n";
    return srv_respond(x->r->req, 200, "application/xml; charset=utf-8", body, sizeof(body) - 1);
}

/* ---- dispatch ---------------------------------------------------------------------------------
 */

static int unsupported(struct dav_req *r, const char *what)
{
    /* RFC 3253 3.6 */
    return dav_respond_error(r->req, 403, "supported-report", NULL, what);
}

int dav_report(struct dav_req *r)
{
    const struct mg_limits *lim = &r->m->cfg->limits;
    struct report x;
    xmlDoc *doc = NULL;
    xmlNode *root;
    const char *body;
    size_t blen = 0;
    int tree = r->path.area == DAV_AREA_TREE;
    int cal = tree && r->path.kind == DAV_KIND_CALENDARS;
    int card = tree && r->path.kind == DAV_KIND_ADDRESSBOOKS;
    int rc;

    memset(&x, 0, sizeof(x));
    x.r = r;
    buf_init(&x.out);
    buf_init(&x.path);
    buf_init(&x.lkey);
    buf_init(&x.rel);
    x.limit = lim->max_report_results > 0 ? lim->max_report_results : 0;
    body = srv_req_body(r->req, &blen);
    rc = dav_xml_parse(body, blen, lim, &doc);
    if (rc) {
        rc = srv_respond_text(r->req, rc, "malformed REPORT body");
        goto out;
    }
    root = xmlDocGetRootElement(doc);
    if (dav_ms_begin(&x.out)) {
        rc = srv_respond_text(r->req, 500, "out of memory");
        goto out;
    }
    if (dav_xml_is(root, "sync-collection")) {
        rc = tree ? dav_sync_collection(r, root)
                  : unsupported(r, "sync-collection applies to collections of a user's tree");
        goto out;
    }
    if (dav_xml_is(root, "expand-property")) {
        rc = expand_property(&x, root);
        if (rc == -1) {
            /* a tree resource: the properties of the resource itself */
            rc = dav_propfind_tree(r, &x.pf, DAV_DEPTH_0);
        }
        goto out;
    }
    if (dav_xml_is(root, "principal-property-search")) {
        rc = principal_search(&x, root);
        goto out;
    }
    if (dav_xml_is(root, "principal-search-property-set")) {
        rc = search_property_set(&x);
        goto out;
    }
    if (is_ns(root, DAV_NS_CALDAV, "free-busy-query")) {
        rc = cal ? dav_freebusy_query(r, root)
                 : unsupported(r, "free-busy-query applies to calendars");
        goto out;
    }
    if (is_ns(root, DAV_NS_CALDAV, "calendar-query") ||
        is_ns(root, DAV_NS_CALDAV, "calendar-multiget")) {
        if (!cal) {
            rc = unsupported(r, "calendar reports apply to /dav/calendars/");
            goto out;
        }
        x.kind =
            strcmp((const char *)root->name, "calendar-query") == 0 ? RK_CALQUERY : RK_CALMULTIGET;
    } else if (is_ns(root, DAV_NS_CARDDAV, "addressbook-query") ||
               is_ns(root, DAV_NS_CARDDAV, "addressbook-multiget")) {
        if (!card) {
            rc = unsupported(r, "address book reports apply to /dav/addressbooks/");
            goto out;
        }
        x.kind = strcmp((const char *)root->name, "addressbook-query") == 0 ? RK_CARDQUERY
                                                                            : RK_CARDMULTIGET;
    } else {
        rc = unsupported(r, "this report is not supported here");
        goto out;
    }
    rc = parse_props(&x, root);
    if (rc)
        goto out;
    switch (x.kind) {
    case RK_CALQUERY:
        rc = calendar_query(&x, root);
        break;
    case RK_CARDQUERY:
        rc = addressbook_query(&x, root);
        break;
    default:
        rc = multiget(&x, root);
        break;
    }
out:
    r->caldata = NULL;
    r->carddata = NULL;
    r->floating = NULL;
    report_release(&x);
    if (doc)
        xmlFreeDoc(doc);
    return rc;
}
