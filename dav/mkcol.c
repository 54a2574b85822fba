/*
 * mkcol.c - MKCOL (RFC 4918 9.3): creates an empty folder. A MKCOL with a
 * body is an extended MKCOL (RFC 5689, mkcalendar.c).
 */
#include <string.h>

#include "dav_private.h"

int dav_mkcol(struct dav_req *r)
{
    size_t blen = 0;

    /* RFC 5689: a DAV:mkcol body sets the resource type and properties;
     * RFC 4918 9.3.1: any other body gives 415 (mkcalendar.c decides) */
    srv_req_body(r->req, &blen);
    if (blen > 0 || srv_req_content_length(r->req) > 0)
        return dav_mkcalendar(r, 1);
    return dav_mkcol_plain(r);
}

int dav_mkcol_plain(struct dav_req *r)
{
    struct dav_res res;
    struct dav_record rec;
    int rc;

    if (!r->path.rel[0])
        return dav_fail(r, 405, "exists", "the root folder always exists");
    dav_res_init(&res);
    rc = dav_res_load(r->m, r->path.user, r->path.kind, r->path.rel, &res);
    if (rc) {
        rc = dav_respond_store_error(r, rc);
        goto out;
    }
    if (res.exists) {
        /* RFC 4918 9.3.1: 405 when something is already mapped at the URL */
        rc = dav_fail(r, 405, "exists", "%s already exists", dav_req_shown(r));
        goto out;
    }
    rc = dav_check_parent(r, r->path.rel);
    if (!rc && r->path.kind != DAV_KIND_FILES) {
        /* RFC 4791 4.2 / RFC 6352 5.2: no collections inside calendars */
        struct dav_res parent;
        dav_res_init(&parent);
        rc = dav_parent_load(r->m, r->path.user, r->path.kind, r->path.rel, &parent);
        if (rc)
            rc = dav_respond_store_error(r, rc);
        else if (parent.exists && parent.rec.coll != DAV_COLL_PLAIN)
            rc = dav_fail(r, 403, "nested-collection",
                          "collections cannot be nested in this collection");
        dav_res_release(&parent);
    }
    if (!rc)
        rc = dav_check_http_conditions(r, &res);
    if (!rc)
        rc = dav_check_if(r, r->path.rel);
    if (!rc)
        rc = dav_check_locks(r, r->path.rel, DAV_W_SELF | DAV_W_PARENT);
    if (rc)
        goto out;
    dav_record_init(&rec);
    rec.type = DAV_RT_FOLDER;
    rec.ctime_ms = rec.mtime_ms = (int64_t)mg_now_ms();
    rc = dav_folder_create(r->m, r->path.user, r->path.kind, r->path.rel, &rec);
    if (rc == MG_EEXIST)
        rc = dav_fail(r, 405, "exists", "%s already exists", dav_req_shown(r));
    else if (rc)
        rc = dav_respond_store_error(r, rc);
    else
        rc = srv_respond(r->req, 201, NULL, "", 0);
out:
    dav_res_release(&res);
    return rc;
}
