/*
 * proppatch.c - PROPPATCH (RFC 4918 9.2): sets and removes dead properties,
 * all or nothing. Instructions apply in document order; when one fails, the
 * others are reported 424 Failed Dependency and nothing is written.
 */
#include <stdlib.h>
#include <string.h>

#include "dav_private.h"

#define PROPPATCH_RETRIES 3

struct op {
    int set;         /* set or remove */
    xmlNode *node;   /* the property element */
    int status;      /* 200, 403, 424, 507 */
    const char *why; /* 403: the precondition element ("C:..." or "D:..."), NULL: protected */
};

struct ops {
    struct op *v;
    size_t n;
};

/* Collects the property elements of every set/remove in order. */
static int collect_ops(xmlNode *root, struct ops *ops)
{
    for (xmlNode *c = dav_xml_first_elem(root); c; c = dav_xml_next_elem(c)) {
        int set = dav_xml_is(c, "set");
        if (!set && !dav_xml_is(c, "remove"))
            continue; /* RFC 4918 17: ignore what we do not know */
        xmlNode *prop = dav_xml_first_elem(c);
        if (!dav_xml_is(prop, "prop"))
            return 400;
        for (xmlNode *p = dav_xml_first_elem(prop); p; p = dav_xml_next_elem(p)) {
            struct op *v = realloc(ops->v, (ops->n + 1) * sizeof(*v));
            if (!v)
                return 500;
            ops->v = v;
            v[ops->n].set = set;
            v[ops->n].node = p;
            v[ops->n].status = 200;
            v[ops->n].why = NULL;
            ops->n++;
        }
    }
    return ops->n ? 0 : 400;
}

/* Applies ops to a copy of rec's properties; serialised values go to vals. */
static int apply_ops(struct ops *ops, const struct dav_record *cur, struct dav_record *next,
                     char ***vals, size_t *nvals)
{
    *next = *cur;
    next->props = NULL;
    next->nprops = 0;
    next->props_cap = 0;
    if (cur->nprops) {
        next->props = malloc(cur->nprops * sizeof(*next->props));
        if (!next->props)
            return MG_ENOMEM;
        memcpy(next->props, cur->props, cur->nprops * sizeof(*next->props));
        next->nprops = next->props_cap = cur->nprops;
    }
    for (size_t i = 0; i < ops->n; i++) {
        xmlNode *n = ops->v[i].node;
        const char *ns = dav_xml_ns(n);
        const char *name = (const char *)n->name;
        if (!ops->v[i].set) {
            dav_record_remove_prop(next, ns, name);
            continue;
        }
        struct buf b;
        struct dav_prop p;
        buf_init(&b);
        int rc = dav_xml_serialize(n, &b);
        if (!rc && b.len > DAV_PROPS_BYTES_MAX)
            rc = MG_ETOOBIG;
        char **v = rc ? NULL : realloc(*vals, (*nvals + 1) * sizeof(*v));
        if (!v) {
            buf_release(&b);
            return rc ? rc : MG_ENOMEM;
        }
        *vals = v;
        size_t len = b.len;
        v[*nvals] = buf_detach(&b, NULL);
        if (!v[*nvals])
            return MG_ENOMEM;
        p.ns.p = ns;
        p.ns.n = strlen(ns);
        p.name.p = name;
        p.name.n = strlen(name);
        p.xml.p = v[*nvals];
        p.xml.n = len;
        (*nvals)++;
        if (dav_record_set_prop(next, &p))
            return MG_ENOMEM;
    }
    size_t total = 0;
    for (size_t i = 0; i < next->nprops; i++)
        total += next->props[i].xml.n + next->props[i].ns.n + next->props[i].name.n;
    return total > DAV_PROPS_BYTES_MAX ? MG_ETOOBIG : 0;
}

/* 0 when a dead property a client sets has a value this server refuses. */
static int valid_value(xmlNode *n)
{
    xmlChar *t;
    icaltimezone *z = NULL;
    int ok;

    if (strcmp(dav_xml_ns(n), DAV_NS_CALDAV) != 0 ||
        strcmp((const char *)n->name, "calendar-timezone") != 0)
        return 1;
    t = xmlNodeGetContent(n);
    ok = t && dav_ical_zone_from_text((const char *)t, strlen((const char *)t), &z) == 0;
    xmlFree(t);
    if (z)
        icaltimezone_free(z, 1);
    return ok;
}

static int respond(struct dav_req *r, const struct ops *ops, const char *path)
{
    static const int order[] = {200, 403, 424, 507};
    struct buf out;
    int rc;

    buf_init(&out);
    rc = dav_ms_begin(&out);
    if (!rc)
        rc = buf_puts(&out, "<D:response><D:href>");
    if (!rc)
        rc = dav_put_href(&out, path);
    if (!rc)
        rc = buf_puts(&out, "</D:href>");
    for (size_t k = 0; !rc && k < sizeof(order) / sizeof(order[0]); k++) {
        int any = 0;
        for (size_t i = 0; !rc && i < ops->n; i++) {
            const xmlNode *n = ops->v[i].node;
            const char *ns = dav_xml_ns(n);
            if (ops->v[i].status != order[k])
                continue;
            if (!any)
                rc = buf_puts(&out, "<D:propstat><D:prop>");
            any = 1;
            if (!rc)
                rc = dav_put_prop_name(&out, ns, strlen(ns), (const char *)n->name,
                                       strlen((const char *)n->name));
        }
        if (!rc && any) {
            rc = buf_printf(&out, "</D:prop><D:status>%s</D:status>", dav_status_line(order[k]));
            for (size_t i = 0; !rc && order[k] == 403 && i < ops->n; i++) {
                if (ops->v[i].status != 403)
                    continue;
                rc = buf_printf(&out, "<D:error><%s/></D:error>",
                                ops->v[i].why ? ops->v[i].why
                                              : "D:cannot-modify-protected-property");
                break;
            }
            if (!rc)
                rc = buf_puts(&out, "</D:propstat>");
        }
    }
    if (!rc)
        rc = buf_puts(&out, "</D:response>\n");
    if (!rc)
        rc = dav_ms_end(&out);
    if (rc) {
        buf_release(&out);
        return srv_respond_text(r->req, 500, "out of memory");
    }
    return srv_respond_buf(r->req, 207, "application/xml; charset=utf-8", &out);
}

int dav_proppatch(struct dav_req *r)
{
    struct ops ops = {NULL, 0};
    struct dav_res res;
    struct dav_record next;
    struct buf path;
    xmlDoc *doc = NULL;
    char **vals = NULL;
    size_t nvals = 0;
    const char *body;
    size_t blen = 0;
    int failed = 0, rc;

    dav_res_init(&res);
    dav_record_init(&next);
    buf_init(&path);
    body = srv_req_body(r->req, &blen);
    rc = dav_xml_parse(body, blen, &r->m->cfg->limits, &doc);
    if (rc) {
        rc = srv_respond_text(r->req, rc, "malformed PROPPATCH body");
        goto out;
    }
    if (!dav_xml_is(xmlDocGetRootElement(doc), "propertyupdate")) {
        rc = srv_respond_text(r->req, 400, "PROPPATCH body must be a DAV:propertyupdate");
        goto out;
    }
    rc = collect_ops(xmlDocGetRootElement(doc), &ops);
    if (rc) {
        rc = srv_respond_text(r->req, rc, "malformed DAV:propertyupdate");
        goto out;
    }
    if (dav_load_target(r, &res, &rc))
        goto out;
    rc = dav_check_http_conditions(r, &res);
    if (!rc)
        rc = dav_check_if(r, r->path.rel);
    if (!rc)
        rc = dav_check_locks(r, r->path.rel, DAV_W_SELF);
    if (rc)
        goto out;
    if (dav_tree_path(&path, r->path.user, r->path.kind, r->path.rel,
                      res.rec.type == DAV_RT_FOLDER)) {
        rc = srv_respond_text(r->req, 500, "out of memory");
        goto out;
    }
    /* RFC 4918 9.2: protected live properties cannot be set or removed */
    for (size_t i = 0; i < ops.n; i++) {
        const struct dav_live *lp =
            dav_live_find(dav_xml_ns(ops.v[i].node), (const char *)ops.v[i].node->name);
        if (lp && lp->protected_) {
            ops.v[i].status = 403;
            failed = 1;
        } else if (ops.v[i].set && !valid_value(ops.v[i].node)) {
            /* RFC 4791 5.2.2: a calendar-timezone holds one VTIMEZONE */
            ops.v[i].status = 403;
            ops.v[i].why = "C:valid-calendar-data";
            failed = 1;
        }
    }
    for (int attempt = 0; !failed; attempt++) {
        rc = apply_ops(&ops, &res.rec, &next, &vals, &nvals);
        if (rc == MG_ETOOBIG) {
            for (size_t i = 0; i < ops.n; i++)
                ops.v[i].status = 507;
            failed = 1;
            break;
        }
        if (!rc)
            rc = dav_res_store(r->m, &res, &next);
        dav_record_release(&next);
        if (rc != MG_EPRECOND || attempt >= PROPPATCH_RETRIES)
            break;
        /* the resource changed meanwhile: apply the same update to the new state */
        rc = dav_res_load(r->m, r->path.user, r->path.kind, r->path.rel, &res);
        if (!rc && !res.exists)
            rc = MG_ENOTFOUND;
        if (rc)
            break;
    }
    if (rc && !failed) {
        rc = dav_respond_store_error(r, rc);
        goto out;
    }
    if (failed) {
        for (size_t i = 0; i < ops.n; i++) {
            if (ops.v[i].status == 200)
                ops.v[i].status = 424;
        }
    }
    rc = respond(r, &ops, path.data);
out:
    for (size_t i = 0; i < nvals; i++)
        free(vals[i]);
    free(vals);
    free(ops.v);
    dav_record_release(&next);
    dav_res_release(&res);
    buf_release(&path);
    if (doc)
        xmlFreeDoc(doc);
    return rc;
}
