/*
 * principal.c - the resources above the users' trees: /, /dav/, /dav/files/,
 * /dav/calendars/, /dav/addressbooks/, /dav/principals/ and the principal
 * /dav/principals/<user>/ (RFC 3744 2, RFC 5397), which names the user's
 * calendar and address book homes (RFC 4791 6.2.1, RFC 6352 7.1.1). A user
 * sees only their own entries in these listings.
 */
#include <stdio.h>
#include <string.h>

#include "dav_private.h"

static int response(struct dav_req *r, const struct dav_propfind *pf, struct buf *out,
                    enum dav_vkind vkind, const char *path, const char *name)
{
    struct dav_pres pres;
    memset(&pres, 0, sizeof(pres));
    pres.vkind = vkind;
    pres.path = path;
    pres.name = name;
    return dav_propfind_response(r, &pres, pf, out);
}

/* The user's own tree root of kind, as a member of /dav/<kind>/. */
static int tree_root_response(struct dav_req *r, const struct dav_propfind *pf, struct buf *out,
                              enum dav_kind kind)
{
    struct dav_res res;
    struct dav_pres pres;
    struct buf path, lkey;
    int rc;

    dav_res_init(&res);
    buf_init(&path);
    buf_init(&lkey);
    rc = dav_res_load(r->m, r->user, kind, "", &res);
    if (!rc)
        rc = dav_tree_path(&path, r->user, kind, "", 1);
    if (!rc)
        rc = dav_lock_key(&lkey, kind, "");
    if (!rc && res.exists) {
        memset(&pres, 0, sizeof(pres));
        pres.vkind = DAV_V_TREE;
        pres.path = path.data;
        pres.name = r->user;
        pres.rec = &res.rec;
        pres.lock_key = lkey.data;
        pres.rel = "";
        rc = dav_propfind_response(r, &pres, pf, out);
    }
    dav_res_release(&res);
    buf_release(&path);
    buf_release(&lkey);
    return rc;
}

int dav_propfind_virtual(struct dav_req *r, const struct dav_propfind *pf, int depth)
{
    struct buf out, path;
    int rc;

    buf_init(&out);
    buf_init(&path);
    /* the tree's locks are the authenticated user's */
    if (!r->path.user[0])
        snprintf(r->path.user, sizeof(r->path.user), "%s", r->user);
    rc = dav_ms_begin(&out);
    if (rc)
        goto out;
    /* discovery ends at the principal: the homes it names (and their
     * default collections) exist from then on */
    if (r->path.area == DAV_AREA_PRINCIPAL || r->path.area == DAV_AREA_SITE_ROOT ||
        r->path.area == DAV_AREA_ROOT) {
        rc = dav_home_ensure(r->m, r->user);
        if (rc)
            goto out;
    }
    switch (r->path.area) {
    case DAV_AREA_SITE_ROOT:
        rc = response(r, pf, &out, DAV_V_SITE_ROOT, "/", "meshgate");
        if (!rc && depth != DAV_DEPTH_0)
            rc = response(r, pf, &out, DAV_V_ROOT, "/dav/", "dav");
        break;
    case DAV_AREA_ROOT:
        rc = response(r, pf, &out, DAV_V_ROOT, "/dav/", "dav");
        if (!rc && depth != DAV_DEPTH_0) {
            rc = response(r, pf, &out, DAV_V_KIND_HOME, "/dav/files/", "files");
            if (!rc)
                rc = response(r, pf, &out, DAV_V_KIND_HOME, "/dav/calendars/", "calendars");
            if (!rc)
                rc = response(r, pf, &out, DAV_V_KIND_HOME, "/dav/addressbooks/", "addressbooks");
            if (!rc)
                rc = response(r, pf, &out, DAV_V_PRINCIPALS, "/dav/principals/", "principals");
        }
        break;
    case DAV_AREA_KIND_HOME:
        rc = buf_printf(&path, "/dav/%s/", dav_kind_name(r->path.kind));
        if (!rc)
            rc = response(r, pf, &out, DAV_V_KIND_HOME, path.data, dav_kind_name(r->path.kind));
        if (!rc && depth != DAV_DEPTH_0)
            rc = tree_root_response(r, pf, &out, r->path.kind);
        break;
    case DAV_AREA_PRINCIPALS:
        rc = response(r, pf, &out, DAV_V_PRINCIPALS, "/dav/principals/", "principals");
        if (!rc && depth != DAV_DEPTH_0) {
            rc = buf_printf(&path, "/dav/principals/%s/", r->user);
            if (!rc)
                rc = response(r, pf, &out, DAV_V_PRINCIPAL, path.data, r->user);
        }
        break;
    case DAV_AREA_PRINCIPAL:
        rc = buf_printf(&path, "/dav/principals/%s/", r->user);
        if (!rc)
            rc = response(r, pf, &out, DAV_V_PRINCIPAL, path.data, r->user);
        break;
    default:
        rc = MG_ENOTFOUND;
        break;
    }
    if (!rc)
        rc = dav_ms_end(&out);
    if (rc) {
        rc = dav_respond_store_error(r, rc);
        goto out;
    }
    rc = srv_respond_buf(r->req, 207, "application/xml; charset=utf-8", &out);
out:
    buf_release(&out);
    buf_release(&path);
    return rc;
}
