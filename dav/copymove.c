/*
 * copymove.c - COPY and MOVE (RFC 4918 9.8, 9.9) inside one user's tree.
 *
 * Files copy by record: their chunks are content-addressed, so a copy writes
 * one row whatever the file's size. Folders copy member by member. MOVE is a
 * copy that keeps the times, followed by a delete of the source; locks stay
 * behind (RFC 4918 7.5: a lock does not move with its resource).
 */
#include <stdlib.h>
#include <string.h>

#include "dav_private.h"

/* 1 when rel b is a or below a (rels have no trailing '/'). */
static int rel_within(const char *b, const char *a)
{
    size_t n = strlen(a);
    if (n == 0)
        return 1;
    return strncmp(b, a, n) == 0 && (b[n] == '\0' || b[n] == '/');
}

int dav_copymove(struct dav_req *r, int move)
{
    const char *dhdr = srv_req_header(r->req, "Destination");
    char *dpath = NULL;
    struct dav_path dst;
    struct dav_res src, dres;
    int depth, overwrite, flags, rc;

    memset(&dst, 0, sizeof(dst));
    dav_res_init(&src);
    dav_res_init(&dres);
    if (!dhdr) {
        rc = srv_respond_text(r->req, 400, "%s needs a Destination header", move ? "MOVE" : "COPY");
        goto out;
    }
    rc = dav_parse_uri(dhdr, srv_req_header(r->req, "Host"), &dpath);
    if (rc == MG_EDENIED) {
        /* RFC 4918 9.8.5: the destination is on another server */
        rc = dav_respond_error(r->req, 502, NULL, NULL, "the Destination is on another server");
        goto out;
    }
    if (rc) {
        rc = srv_respond_text(r->req, rc == MG_ENOMEM ? 500 : 400, "malformed Destination header");
        goto out;
    }
    rc = dav_path_parse(dpath, &dst);
    if (rc == MG_ENOMEM) {
        rc = srv_respond_text(r->req, 500, "out of memory");
        goto out;
    }
    if (rc || dst.area != DAV_AREA_TREE || dst.kind != r->path.kind ||
        strcmp(dst.user, r->path.user) != 0) {
        rc = dav_respond_error(r->req, 403, NULL, NULL,
                               "the Destination must be inside your own tree of this kind");
        goto out;
    }
    if (dav_parse_depth(srv_req_header(r->req, "Depth"), DAV_DEPTH_INFINITY, &depth) ||
        depth == DAV_DEPTH_1 || (move && depth != DAV_DEPTH_INFINITY)) {
        /* RFC 4918 9.8.3: COPY takes 0 or infinity; 9.9.2: MOVE only infinity */
        rc = srv_respond_text(r->req, 400, "invalid Depth for %s", move ? "MOVE" : "COPY");
        goto out;
    }
    if (dav_parse_overwrite(srv_req_header(r->req, "Overwrite"), &overwrite)) {
        rc = srv_respond_text(r->req, 400, "Overwrite must be T or F");
        goto out;
    }
    if (!r->path.rel[0] || !dst.rel[0]) {
        rc = srv_respond_text(r->req, 403, "the root folder cannot be copied, moved or replaced");
        goto out;
    }
    if (strcmp(r->path.rel, dst.rel) == 0) {
        /* RFC 4918 9.8.5: source and destination are the same resource */
        rc = srv_respond_text(r->req, 403, "source and destination are the same");
        goto out;
    }
    rc = dav_res_load(r->m, r->path.user, r->path.kind, r->path.rel, &src);
    if (rc) {
        rc = dav_respond_store_error(r, rc);
        goto out;
    }
    if (!src.exists) {
        rc = srv_respond_text(r->req, 404, "no resource at %s", srv_req_path(r->req));
        goto out;
    }
    if (src.rec.type == DAV_RT_FOLDER && rel_within(dst.rel, r->path.rel)) {
        rc = srv_respond_text(r->req, 403, "a folder cannot be copied or moved into itself");
        goto out;
    }
    if (rel_within(r->path.rel, dst.rel)) {
        /* overwriting an ancestor would delete the source first */
        rc = srv_respond_text(r->req, 403, "the destination contains the source");
        goto out;
    }
    rc = dav_res_load(r->m, r->path.user, r->path.kind, dst.rel, &dres);
    if (rc) {
        rc = dav_respond_store_error(r, rc);
        goto out;
    }
    rc = dav_check_parent(r, dst.rel);
    if (rc)
        goto out;
    if (dres.exists && !overwrite) {
        /* RFC 4918 9.8.5 / 10.6 */
        rc = srv_respond_text(r->req, 412, "the destination exists and Overwrite is F");
        goto out;
    }
    rc = dav_check_http_conditions(r, &src);
    if (!rc)
        rc = dav_check_if(r, r->path.rel);
    if (rc)
        goto out;
    if (move) {
        flags = DAV_W_SELF | DAV_W_PARENT | (src.rec.type == DAV_RT_FOLDER ? DAV_W_MEMBERS : 0);
        rc = dav_check_locks(r, r->path.rel, flags);
        if (rc)
            goto out;
    }
    flags = DAV_W_SELF | DAV_W_PARENT;
    if (dres.exists && dres.rec.type == DAV_RT_FOLDER)
        flags |= DAV_W_MEMBERS;
    rc = dav_check_locks(r, dst.rel, flags);
    if (rc)
        goto out;
    /* RFC 4918 9.8.4 / 9.9.3: an overwritten destination is deleted first;
     * a lock on the destination URL stays */
    if (dres.exists) {
        rc = dav_tree_delete(r->m, r->path.user, r->path.kind, dst.rel, dres.rec.type, 0);
        if (rc) {
            rc = dav_respond_store_error(r, rc);
            goto out;
        }
    }
    rc = dav_tree_copy(r->m, r->path.user, r->path.kind, r->path.rel, &src.rec, dst.rel,
                       depth == DAV_DEPTH_0, move);
    if (!rc && move)
        rc = dav_tree_delete(r->m, r->path.user, r->path.kind, r->path.rel, src.rec.type, 1);
    if (rc == MG_EEXIST) {
        rc = srv_respond_text(r->req, 412, "the destination was created meanwhile");
        goto out;
    }
    if (rc) {
        rc = dav_respond_store_error(r, rc);
        goto out;
    }
    /* RFC 4918 9.8.5 / 9.9.4: 201 when the destination was created, 204 when replaced */
    rc = srv_respond(r->req, dres.exists ? 204 : 201, NULL, "", 0);
out:
    dav_res_release(&src);
    dav_res_release(&dres);
    dav_path_release(&dst);
    free(dpath);
    return rc;
}
