/*
 * mkcalendar.c - MKCALENDAR (RFC 4791 5.3.1) and extended MKCOL (RFC 5689):
 * a collection created with its initial properties, all or nothing.
 *
 *   <C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
 *     <D:set><D:prop><D:displayname>Work</D:displayname>...</D:prop></D:set>
 *   </C:mkcalendar>
 *   <D:mkcol><D:set><D:prop><D:resourcetype><D:collection/><C:calendar/>
 *     </D:resourcetype>...</D:prop></D:set></D:mkcol>
 *
 * supported-calendar-component-set is taken at creation only (RFC 4791
 * 5.2.3) and kept in the record's index; calendar-timezone must hold one
 * VTIMEZONE (5.2.2); other properties are stored as dead properties. When a
 * property cannot be set nothing is created: 403 with a propstat per
 * property (403 for the culprits, 424 for the rest, RFC 5689 5.1).
 */
#include <stdlib.h>
#include <string.h>

#include "dav_private.h"

struct mkprop {
    xmlNode *node;
    int status;      /* 200, 403, 424 */
    const char *why; /* precondition element for 403, or NULL */
    const char *why_ns;
};

struct mkreq {
    struct mkprop *v;
    size_t n;
    int coll;       /* enum dav_coll being created */
    unsigned comps; /* supported-calendar-component-set */
};

static int is_ns(xmlNode *n, const char *ns, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && strcmp(dav_xml_ns(n), ns) == 0 &&
           strcmp((const char *)n->name, name) == 0;
}

/* Collects the properties of every D:set (RFC 5689 5.1, RFC 4791 9.1). */
static int collect(xmlNode *root, struct mkreq *mk)
{
    for (xmlNode *s = dav_xml_first_elem(root); s; s = dav_xml_next_elem(s)) {
        if (!dav_xml_is(s, "set"))
            continue;
        xmlNode *prop = dav_xml_first_elem(s);
        if (!dav_xml_is(prop, "prop"))
            return 400;
        for (xmlNode *p = dav_xml_first_elem(prop); p; p = dav_xml_next_elem(p)) {
            struct mkprop *v = realloc(mk->v, (mk->n + 1) * sizeof(*v));
            if (!v)
                return 500;
            mk->v = v;
            memset(&v[mk->n], 0, sizeof(*v));
            v[mk->n].node = p;
            v[mk->n].status = 200;
            mk->n++;
        }
    }
    return 0;
}

static void fail_prop(struct mkprop *p, const char *ns, const char *why)
{
    p->status = 403;
    p->why = why;
    p->why_ns = ns;
}

/* Checks one property; returns 1 when it is stored as a dead property. */
static int check_prop(struct dav_req *r, struct mkreq *mk, struct mkprop *p, int extended)
{
    xmlNode *n = p->node;
    const char *ns = dav_xml_ns(n);
    const char *name = (const char *)n->name;

    if (dav_xml_is(n, "resourcetype")) {
        int coll = 0, type = DAV_COLL_PLAIN, bad = !extended;
        for (xmlNode *k = dav_xml_first_elem(n); k; k = dav_xml_next_elem(k)) {
            if (dav_xml_is(k, "collection"))
                coll = 1;
            else if (is_ns(k, DAV_NS_CALDAV, "calendar") && r->path.kind == DAV_KIND_CALENDARS)
                type = DAV_COLL_CALENDAR;
            else if (is_ns(k, DAV_NS_CARDDAV, "addressbook") &&
                     r->path.kind == DAV_KIND_ADDRESSBOOKS)
                type = DAV_COLL_ADDRESSBOOK;
            else
                bad = 1;
        }
        if (bad || !coll) {
            /* RFC 5689 3.3 */
            fail_prop(p, DAV_NS, "valid-resourcetype");
            return 0;
        }
        if (extended)
            mk->coll = type;
        return 0;
    }
    if (is_ns(n, DAV_NS_CALDAV, "supported-calendar-component-set")) {
        unsigned comps = 0;
        int bad = 0;
        for (xmlNode *k = dav_xml_first_elem(n); k; k = dav_xml_next_elem(k)) {
            xmlChar *cn =
                is_ns(k, DAV_NS_CALDAV, "comp") ? xmlGetProp(k, (const xmlChar *)"name") : NULL;
            unsigned bit = cn ? dav_ical_comp_bit((const char *)cn) : 0;
            xmlFree(cn);
            if (!bit)
                bad = 1;
            comps |= bit;
        }
        if (bad || !comps || r->path.kind != DAV_KIND_CALENDARS) {
            fail_prop(p, DAV_NS_CALDAV, "supported-calendar-component");
            return 0;
        }
        mk->comps = comps;
        return 0;
    }
    if (is_ns(n, DAV_NS_CALDAV, "calendar-timezone")) {
        xmlChar *t = xmlNodeGetContent(n);
        icaltimezone *z = NULL;
        int ok = t && dav_ical_zone_from_text((const char *)t, strlen((const char *)t), &z) == 0;
        xmlFree(t);
        if (z)
            icaltimezone_free(z, 1);
        if (!ok) {
            /* RFC 4791 5.2.2 */
            fail_prop(p, DAV_NS_CALDAV, "valid-calendar-data");
            return 0;
        }
        return 1;
    }
    const struct dav_live *lp = dav_live_find(ns, name);
    if (lp && lp->protected_) {
        fail_prop(p, DAV_NS, "cannot-modify-protected-property");
        return 0;
    }
    return 1;
}

static int respond_failure(struct dav_req *r, const struct mkreq *mk, int extended)
{
    static const int order[] = {403, 424};
    struct buf out;
    int rc;

    buf_init(&out);
    rc = buf_printf(&out,
                    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                    "<%s xmlns:D=\"DAV:\" xmlns:C=\"" DAV_NS_CALDAV "\">",
                    extended ? "D:mkcol-response" : "C:mkcalendar-response");
    for (size_t k = 0; !rc && k < 2; k++) {
        for (size_t i = 0; !rc && i < mk->n; i++) {
            const struct mkprop *p = &mk->v[i];
            const char *ns = dav_xml_ns(p->node);
            if (p->status != order[k])
                continue;
            rc = buf_puts(&out, "<D:propstat><D:prop>");
            if (!rc)
                rc = dav_put_prop_name(&out, ns, strlen(ns), (const char *)p->node->name,
                                       strlen((const char *)p->node->name));
            if (!rc)
                rc = buf_printf(&out, "</D:prop><D:status>%s</D:status>",
                                dav_status_line(p->status));
            if (!rc && p->why)
                rc = buf_printf(&out, "<D:error><%s:%s/></D:error>",
                                strcmp(p->why_ns, DAV_NS) == 0 ? "D" : "C", p->why);
            if (!rc)
                rc = buf_puts(&out, "</D:propstat>");
        }
    }
    if (!rc)
        rc = buf_printf(&out, "</%s>\n", extended ? "D:mkcol-response" : "C:mkcalendar-response");
    if (rc) {
        buf_release(&out);
        return srv_respond_text(r->req, 500, "out of memory");
    }
    return srv_respond_buf(r->req, 403, "application/xml; charset=utf-8", &out);
}

int dav_mkcalendar(struct dav_req *r, int extended)
{
    struct mkreq mk;
    struct dav_res res, parent;
    struct dav_prop *props = NULL;
    struct buf *vals = NULL;
    size_t nprops = 0, blen = 0;
    xmlDoc *doc = NULL;
    const char *body = srv_req_body(r->req, &blen);
    int failed = 0, rc;

    memset(&mk, 0, sizeof(mk));
    mk.coll = extended ? DAV_COLL_PLAIN : DAV_COLL_CALENDAR;
    dav_res_init(&res);
    dav_res_init(&parent);
    if (!extended && r->path.kind != DAV_KIND_CALENDARS) {
        rc = dav_respond_error_ns(r->req, 403, DAV_NS_CALDAV, "calendar-collection-location-ok",
                                  NULL, "calendars are made under /dav/calendars/<user>/");
        goto out;
    }
    if (!r->path.rel[0]) {
        rc = srv_respond_text(r->req, 405, "the home collection already exists");
        goto out;
    }
    if (blen > 0) {
        xmlNode *root;
        rc = dav_xml_parse(body, blen, &r->m->cfg->limits, &doc);
        if (rc) {
            /* RFC 4918 9.3.1: a body that is not understood */
            rc = srv_respond_text(r->req, extended ? 415 : rc, "malformed %s body",
                                  extended ? "MKCOL" : "MKCALENDAR");
            goto out;
        }
        root = xmlDocGetRootElement(doc);
        if (extended ? !dav_xml_is(root, "mkcol") : !is_ns(root, DAV_NS_CALDAV, "mkcalendar")) {
            rc = srv_respond_text(r->req, extended ? 415 : 400, "the body must be a %s element",
                                  extended ? "DAV:mkcol" : "CALDAV:mkcalendar");
            goto out;
        }
        rc = collect(root, &mk);
        if (rc) {
            rc = srv_respond_text(r->req, rc, "malformed DAV:set");
            goto out;
        }
    }
    rc = dav_res_load(r->m, r->path.user, r->path.kind, r->path.rel, &res);
    if (!rc)
        rc = dav_parent_load(r->m, r->path.user, r->path.kind, r->path.rel, &parent);
    if (rc) {
        rc = dav_respond_store_error(r, rc);
        goto out;
    }
    if (res.exists) {
        /* RFC 4791 5.3.1.2 / RFC 4918 9.3.1: something is mapped there already */
        rc = dav_respond_error(r->req, 405, "resource-must-be-null", NULL,
                               "a resource exists at this URL");
        goto out;
    }
    if (!parent.exists || parent.rec.type != DAV_RT_FOLDER) {
        rc = srv_respond_text(r->req, 409, "the parent collection does not exist");
        goto out;
    }
    if (parent.rec.coll != DAV_COLL_PLAIN) {
        /* RFC 4791 5.3.1.2: no collections inside calendars (nor address books) */
        rc = dav_respond_error_ns(
            r->req, 403, r->path.kind == DAV_KIND_ADDRESSBOOKS ? DAV_NS_CARDDAV : DAV_NS_CALDAV,
            r->path.kind == DAV_KIND_ADDRESSBOOKS ? "addressbook-collection-location-ok"
                                                  : "calendar-collection-location-ok",
            NULL, "collections cannot be nested in this collection");
        goto out;
    }
    rc = dav_check_http_conditions(r, &res);
    if (!rc)
        rc = dav_check_if(r, r->path.rel);
    if (!rc)
        rc = dav_check_locks(r, r->path.rel, DAV_W_SELF | DAV_W_PARENT);
    if (rc)
        goto out;
    props = calloc(mk.n ? mk.n : 1, sizeof(*props));
    vals = calloc(mk.n ? mk.n : 1, sizeof(*vals));
    if (!props || !vals) {
        rc = srv_respond_text(r->req, 500, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < mk.n; i++) {
        struct mkprop *p = &mk.v[i];
        if (!check_prop(r, &mk, p, extended)) {
            failed |= p->status != 200;
            continue;
        }
        buf_init(&vals[nprops]);
        if (dav_xml_serialize(p->node, &vals[nprops])) {
            nprops++;
            rc = srv_respond_text(r->req, 500, "out of memory");
            goto out;
        }
        props[nprops].ns.p = dav_xml_ns(p->node);
        props[nprops].ns.n = strlen(props[nprops].ns.p);
        props[nprops].name.p = (const char *)p->node->name;
        props[nprops].name.n = strlen(props[nprops].name.p);
        props[nprops].xml.p = vals[nprops].data;
        props[nprops].xml.n = vals[nprops].len;
        nprops++;
    }
    if (!failed && mk.comps && mk.coll != DAV_COLL_CALENDAR) {
        for (size_t i = 0; i < mk.n; i++) {
            if (is_ns(mk.v[i].node, DAV_NS_CALDAV, "supported-calendar-component-set"))
                fail_prop(&mk.v[i], DAV_NS_CALDAV, "supported-calendar-component");
        }
        failed = 1;
    }
    if (failed) {
        for (size_t i = 0; i < mk.n; i++) {
            if (mk.v[i].status == 200)
                mk.v[i].status = 424;
        }
        rc = respond_failure(r, &mk, extended);
        goto out;
    }
    rc = dav_coll_create(r->m, r->path.user, r->path.kind, r->path.rel, mk.coll, mk.comps, props,
                         nprops);
    if (rc == MG_EEXIST)
        rc = dav_respond_error(r->req, 405, "resource-must-be-null", NULL,
                               "a resource was created at this URL meanwhile");
    else if (rc)
        rc = dav_respond_store_error(r, rc);
    else
        rc = srv_respond(r->req, 201, NULL, "", 0);
out:
    for (size_t i = 0; vals && i < nprops; i++)
        buf_release(&vals[i]);
    free(vals);
    free(props);
    free(mk.v);
    dav_res_release(&res);
    dav_res_release(&parent);
    if (doc)
        xmlFreeDoc(doc);
    return rc;
}
