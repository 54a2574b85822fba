/*
 * mkcol.c - MKCOL (RFC 4918 9.3): creates an empty folder.
 */
#include <string.h>

#include "dav_private.h"

int dav_mkcol(struct dav_req *r)
{
    struct dav_res res;
    struct dav_record rec;
    size_t blen = 0;
    int rc;

    /* RFC 4918 9.3.1: a body this server does not understand gives 415 */
    srv_req_body(r->req, &blen);
    if (blen > 0 || srv_req_content_length(r->req) > 0)
        return srv_respond_text(r->req, 415, "MKCOL with a request body is not supported");
    if (!r->path.rel[0])
        return srv_respond_text(r->req, 405, "the folder already exists");
    dav_res_init(&res);
    rc = dav_res_load(r->m, r->path.user, r->path.kind, r->path.rel, &res);
    if (rc) {
        rc = dav_respond_store_error(r, rc);
        goto out;
    }
    if (res.exists) {
        /* RFC 4918 9.3.1: 405 when something is already mapped at the URL */
        rc = srv_respond_text(r->req, 405, "%s already exists", srv_req_path(r->req));
        goto out;
    }
    rc = dav_check_parent(r, r->path.rel);
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
        rc = srv_respond_text(r->req, 405, "%s already exists", srv_req_path(r->req));
    else if (rc)
        rc = dav_respond_store_error(r, rc);
    else
        rc = srv_respond(r->req, 201, NULL, "", 0);
out:
    dav_res_release(&res);
    return rc;
}
