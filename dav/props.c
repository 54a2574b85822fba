/*
 * props.c - properties: the PROPFIND request body, the live properties this
 * module computes (RFC 4918 15, RFC 5397, RFC 3744 4.2), and the <D:response>
 * element describing one resource. Dead properties are emitted verbatim as
 * PROPPATCH stored them.
 */
#include <stdlib.h>
#include <string.h>

#include "dav_private.h"

/* ---- the PROPFIND body (RFC 4918 9.1, 14.20) ----------------------------------- */

void dav_propfind_release(struct dav_propfind *pf)
{
    if (!pf)
        return;
    for (size_t i = 0; i < pf->n; i++) {
        free(pf->props[i].ns);
        free(pf->props[i].name);
    }
    free(pf->props);
    pf->props = NULL;
    pf->n = 0;
}

/* Appends the names of the child elements of node to pf. */
static int collect_names(xmlNode *node, struct dav_propfind *pf)
{
    for (xmlNode *c = dav_xml_first_elem(node); c; c = dav_xml_next_elem(c)) {
        struct dav_pname *v = realloc(pf->props, (pf->n + 1) * sizeof(*v));
        if (!v)
            return MG_ENOMEM;
        pf->props = v;
        v[pf->n].ns = mg_strdup(dav_xml_ns(c));
        v[pf->n].name = mg_strdup((const char *)c->name);
        if (!v[pf->n].ns || !v[pf->n].name) {
            free(v[pf->n].ns);
            free(v[pf->n].name);
            return MG_ENOMEM;
        }
        pf->n++;
    }
    return 0;
}

int dav_propfind_parse(const char *body, size_t len, const struct mg_limits *lim,
                       struct dav_propfind *out)
{
    xmlDoc *doc = NULL;
    xmlNode *root;
    int seen = 0, status;

    memset(out, 0, sizeof(*out));
    out->mode = DAV_PF_ALLPROP;
    /* RFC 4918 9.1: an empty body is an allprop request */
    if (!body || len == 0)
        return 0;
    status = dav_xml_parse(body, len, lim, &doc);
    if (status)
        return status;
    status = 400;
    root = xmlDocGetRootElement(doc);
    if (!dav_xml_is(root, "propfind"))
        goto out;
    /* unknown elements are ignored (RFC 4918 17, litmus propextended) */
    for (xmlNode *c = dav_xml_first_elem(root); c; c = dav_xml_next_elem(c)) {
        if (dav_xml_is(c, "allprop")) {
            if (seen & 6)
                goto out;
            seen |= 1;
            out->mode = DAV_PF_ALLPROP;
        } else if (dav_xml_is(c, "propname")) {
            if (seen & 7)
                goto out;
            seen |= 2;
            out->mode = DAV_PF_PROPNAME;
        } else if (dav_xml_is(c, "prop")) {
            if (seen & 7)
                goto out;
            seen |= 4;
            out->mode = DAV_PF_PROP;
            if (collect_names(c, out))
                goto nomem;
        } else if (dav_xml_is(c, "include")) {
            if (seen & 14)
                goto out;
            seen |= 8;
            if (collect_names(c, out))
                goto nomem;
        }
    }
    /* include only goes with allprop */
    if (!(seen & 7) || ((seen & 8) && !(seen & 1)))
        goto out;
    status = 0;
    goto out;
nomem:
    status = 500;
out:
    if (status)
        dav_propfind_release(out);
    xmlFreeDoc(doc);
    return status;
}

/* ---- live properties ----------------------------------------------------------------- */

enum {
    LP_RESOURCETYPE = 0,
    LP_CREATIONDATE,
    LP_GETCONTENTLENGTH,
    LP_GETCONTENTTYPE,
    LP_GETETAG,
    LP_GETLASTMODIFIED,
    LP_DISPLAYNAME,
    LP_SUPPORTEDLOCK,
    LP_LOCKDISCOVERY,
    LP_CURRENT_USER_PRINCIPAL,
    LP_PRINCIPAL_URL,
    LP_PRINCIPAL_COLLECTION_SET,
    LP_COUNT
};

static const struct dav_live live_props[LP_COUNT] = {
    [LP_RESOURCETYPE] = {"resourcetype", 1, 1},
    [LP_CREATIONDATE] = {"creationdate", 1, 1},
    [LP_GETCONTENTLENGTH] = {"getcontentlength", 1, 1},
    [LP_GETCONTENTTYPE] = {"getcontenttype", 1, 1},
    [LP_GETETAG] = {"getetag", 1, 1},
    [LP_GETLASTMODIFIED] = {"getlastmodified", 1, 1},
    /* displayname is computed from the name unless a client set one */
    [LP_DISPLAYNAME] = {"displayname", 1, 0},
    [LP_SUPPORTEDLOCK] = {"supportedlock", 1, 1},
    [LP_LOCKDISCOVERY] = {"lockdiscovery", 1, 1},
    /* RFC 5397 3 and RFC 3744 4.2, 5.8: not part of allprop */
    [LP_CURRENT_USER_PRINCIPAL] = {"current-user-principal", 0, 1},
    [LP_PRINCIPAL_URL] = {"principal-URL", 0, 1},
    [LP_PRINCIPAL_COLLECTION_SET] = {"principal-collection-set", 0, 1},
};

const struct dav_live *dav_live_find(const char *ns, const char *name)
{
    if (strcmp(ns, DAV_NS) != 0)
        return NULL;
    for (int i = 0; i < LP_COUNT; i++) {
        if (strcmp(live_props[i].name, name) == 0)
            return &live_props[i];
    }
    return NULL;
}

static int put_principal_href(struct buf *out, const char *user)
{
    struct buf p;
    int rc;
    buf_init(&p);
    rc = buf_printf(&p, "/dav/principals/%s/", user);
    if (!rc)
        rc = buf_puts(out, "<D:href>");
    if (!rc)
        rc = dav_put_href(out, p.data);
    if (!rc)
        rc = buf_puts(out, "</D:href>");
    buf_release(&p);
    return rc;
}

static int emit_lockdiscovery(struct dav_req *r, const struct dav_pres *res, struct buf *out)
{
    uint64_t now = mg_now_ms();
    struct buf root;
    int rc;

    rc = dav_req_locks(r);
    if (rc)
        return rc;
    buf_init(&root);
    rc = buf_puts(out, "<D:lockdiscovery>");
    for (size_t i = 0; !rc && i < r->locks.n; i++) {
        const struct dav_lock *l = &r->locks.v[i];
        if (!dav_lock_covers(l, res->lock_key))
            continue;
        const char *lrel = strchr(l->key, '/');
        buf_reset(&root);
        rc = dav_tree_path(&root, r->path.user, r->path.kind, lrel ? lrel + 1 : "", l->folder);
        if (!rc)
            rc = dav_lock_xml(out, l, root.data, now);
    }
    if (!rc)
        rc = buf_puts(out, "</D:lockdiscovery>");
    buf_release(&root);
    return rc;
}

int dav_live_emit(struct dav_req *r, const struct dav_pres *res, const struct dav_live *lp,
                  struct buf *out)
{
    const struct dav_record *rec = res->vkind == DAV_V_TREE ? res->rec : NULL;
    int folder = !rec || rec->type == DAV_RT_FOLDER;
    char tmp[96];
    int rc = 0;

    switch ((int)(lp - live_props)) {
    case LP_RESOURCETYPE:
        if (res->vkind == DAV_V_PRINCIPAL)
            rc = buf_puts(out, "<D:resourcetype><D:collection/><D:principal/></D:resourcetype>");
        else if (folder)
            rc = buf_puts(out, "<D:resourcetype><D:collection/></D:resourcetype>");
        else
            rc = buf_puts(out, "<D:resourcetype/>");
        break;
    case LP_CREATIONDATE:
        if (!rec)
            return 404;
        mg_iso8601(rec->ctime_ms / 1000, tmp, sizeof(tmp));
        rc = buf_printf(out, "<D:creationdate>%s</D:creationdate>", tmp);
        break;
    case LP_GETCONTENTLENGTH:
        if (folder)
            return 404;
        rc = buf_printf(out, "<D:getcontentlength>%llu</D:getcontentlength>",
                        (unsigned long long)rec->size);
        break;
    case LP_GETCONTENTTYPE:
        if (folder)
            return 404;
        rc = buf_puts(out, "<D:getcontenttype>");
        if (!rc && rec->ctype.n) {
            char *ct = malloc(rec->ctype.n + 1);
            if (!ct)
                return MG_ENOMEM;
            memcpy(ct, rec->ctype.p, rec->ctype.n);
            ct[rec->ctype.n] = '\0';
            rc = buf_put_xml_escaped(out, ct);
            free(ct);
        }
        if (!rc)
            rc = buf_puts(out, "</D:getcontenttype>");
        break;
    case LP_GETETAG:
        if (folder)
            return 404;
        /* quotes and hex digits need no escaping in character data */
        dav_record_etag(rec, tmp, sizeof(tmp));
        rc = buf_printf(out, "<D:getetag>%s</D:getetag>", tmp);
        break;
    case LP_GETLASTMODIFIED:
        if (!rec)
            return 404;
        mg_http_date(rec->mtime_ms / 1000, tmp, sizeof(tmp));
        rc = buf_printf(out, "<D:getlastmodified>%s</D:getlastmodified>", tmp);
        break;
    case LP_DISPLAYNAME:
        rc = buf_puts(out, "<D:displayname>");
        if (!rc)
            rc = buf_put_xml_escaped(out, res->name);
        if (!rc)
            rc = buf_puts(out, "</D:displayname>");
        break;
    case LP_SUPPORTEDLOCK:
        if (!rec)
            return 404;
        /* RFC 4918 15.10: exclusive and shared write locks */
        rc = buf_puts(out, "<D:supportedlock>"
                           "<D:lockentry><D:lockscope><D:exclusive/></D:lockscope>"
                           "<D:locktype><D:write/></D:locktype></D:lockentry>"
                           "<D:lockentry><D:lockscope><D:shared/></D:lockscope>"
                           "<D:locktype><D:write/></D:locktype></D:lockentry>"
                           "</D:supportedlock>");
        break;
    case LP_LOCKDISCOVERY:
        if (!rec)
            return 404;
        rc = emit_lockdiscovery(r, res, out);
        break;
    case LP_CURRENT_USER_PRINCIPAL:
        /* RFC 5397 3 */
        rc = buf_puts(out, "<D:current-user-principal>");
        if (!rc)
            rc = put_principal_href(out, r->user);
        if (!rc)
            rc = buf_puts(out, "</D:current-user-principal>");
        break;
    case LP_PRINCIPAL_URL:
        /* RFC 3744 4.2 */
        if (res->vkind != DAV_V_PRINCIPAL)
            return 404;
        rc = buf_puts(out, "<D:principal-URL>");
        if (!rc)
            rc = put_principal_href(out, r->user);
        if (!rc)
            rc = buf_puts(out, "</D:principal-URL>");
        break;
    case LP_PRINCIPAL_COLLECTION_SET:
        rc = buf_puts(out, "<D:principal-collection-set><D:href>/dav/principals/</D:href>"
                           "</D:principal-collection-set>");
        break;
    default:
        return 404;
    }
    return rc ? rc : 200;
}

/* ---- <D:response> --------------------------------------------------------------------- */

static int dead_lookup(const struct dav_pres *res, const char *ns, const char *name)
{
    if (res->vkind != DAV_V_TREE || !res->rec)
        return -1;
    return (int)dav_record_find_prop(res->rec, ns, name);
}

/* Appends the propstat for one status when its prop list is not empty. */
static int put_propstat(struct buf *out, const struct buf *props, int status)
{
    if (props->len == 0)
        return 0;
    if (buf_puts(out, "<D:propstat><D:prop>") || buf_append(out, props->data, props->len) ||
        buf_printf(out, "</D:prop><D:status>%s</D:status></D:propstat>", dav_status_line(status)))
        return MG_ENOMEM;
    return 0;
}

int dav_propfind_response(struct dav_req *r, const struct dav_pres *res,
                          const struct dav_propfind *pf, struct buf *out)
{
    struct buf ok, nf;
    int rc = 0;

    buf_init(&ok);
    buf_init(&nf);
    if (pf->mode == DAV_PF_PROP) {
        for (size_t i = 0; !rc && i < pf->n; i++) {
            const struct dav_pname *pn = &pf->props[i];
            int d = dead_lookup(res, pn->ns, pn->name);
            const struct dav_live *lp;
            if (d >= 0) {
                const struct dav_prop *dp = &res->rec->props[d];
                rc = buf_append(&ok, dp->xml.p, dp->xml.n);
                continue;
            }
            lp = dav_live_find(pn->ns, pn->name);
            int st = lp ? dav_live_emit(r, res, lp, &ok) : 404;
            if (st < 0)
                rc = st;
            else if (st == 404)
                rc = dav_put_prop_name(&nf, pn->ns, strlen(pn->ns), pn->name, strlen(pn->name));
        }
    } else {
        int names = pf->mode == DAV_PF_PROPNAME;
        struct buf scratch;
        buf_init(&scratch);
        for (int i = 0; !rc && i < LP_COUNT; i++) {
            const struct dav_live *lp = &live_props[i];
            int wanted = names || lp->in_allprop;
            for (size_t j = 0; !wanted && j < pf->n; j++)
                wanted = strcmp(pf->props[j].ns, DAV_NS) == 0 &&
                         strcmp(pf->props[j].name, lp->name) == 0;
            if (!wanted || dead_lookup(res, DAV_NS, lp->name) >= 0)
                continue;
            buf_reset(&scratch);
            int st = dav_live_emit(r, res, lp, names ? &scratch : &ok);
            if (st < 0)
                rc = st;
            else if (st == 200 && names)
                rc = dav_put_prop_name(&ok, DAV_NS, 4, lp->name, strlen(lp->name));
        }
        buf_release(&scratch);
        if (res->vkind == DAV_V_TREE && res->rec) {
            for (size_t i = 0; !rc && i < res->rec->nprops; i++) {
                const struct dav_prop *dp = &res->rec->props[i];
                if (names)
                    rc = dav_put_prop_name(&ok, dp->ns.p, dp->ns.n, dp->name.p, dp->name.n);
                else
                    rc = buf_append(&ok, dp->xml.p, dp->xml.n);
            }
        }
        /* include names that are neither live nor dead are not reported */
    }
    if (!rc)
        rc = buf_puts(out, "<D:response><D:href>");
    if (!rc)
        rc = dav_put_href(out, res->path);
    if (!rc)
        rc = buf_puts(out, "</D:href>");
    if (!rc && ok.len == 0 && nf.len == 0)
        rc = buf_printf(out, "<D:propstat><D:prop/><D:status>%s</D:status></D:propstat>",
                        dav_status_line(200));
    if (!rc)
        rc = put_propstat(out, &ok, 200);
    if (!rc)
        rc = put_propstat(out, &nf, 404);
    if (!rc)
        rc = buf_puts(out, "</D:response>\n");
    buf_release(&ok);
    buf_release(&nf);
    return rc;
}
