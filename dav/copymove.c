/*
 * copymove.c - COPY and MOVE (RFC 4918 9.8, 9.9) inside one user's tree.
 *
 * Files copy by record: their chunks are content-addressed, so a copy writes
 * one row whatever the file's size. Folders copy member by member. MOVE is a
 * copy that keeps the times, followed by a delete of the source; locks stay
 * behind (RFC 4918 7.5: a lock does not move with its resource).
 *
 * In calendar and address book trees an object goes only into a collection
 * of its kind that takes its component type, and its UID must be free there
 * (RFC 4791 5.3.2.1, RFC 6352 6.3.2.1: no-uid-conflict); collections cannot
 * land inside calendars or address books (calendar-collection-location-ok).
 */
#include <stdlib.h>
#include <string.h>

#include "dav_private.h"

/* What COPY/MOVE of a calendar or address object did to the UID index. */
struct objmove {
    char *uid;     /* the object's UID, NULL when not an object */
    char *old_uid; /* the UID of the overwritten destination */
    char *sparent, *dparent;
};

static void objmove_release(struct objmove *om)
{
    free(om->uid);
    free(om->old_uid);
    free(om->sparent);
    free(om->dparent);
}

/* The CalDAV / CardDAV preconditions of COPY and MOVE; claims the UID in the
 * destination collection. Returns 0 or the status after responding. */
static int check_objects(struct dav_req *r, const struct dav_res *src, const struct dav_res *dres,
                         const char *dst, int move, struct objmove *om)
{
    int card = r->path.kind == DAV_KIND_ADDRESSBOOKS;
    const char *ns = card ? DAV_NS_CARDDAV : DAV_NS_CALDAV;
    struct dav_res dparent;
    struct dav_objidx x;
    struct buf href;
    char *holder = NULL;
    int rc;

    dav_res_init(&dparent);
    buf_init(&href);
    if (src->rec.coll == DAV_COLL_INBOX || src->rec.coll == DAV_COLL_OUTBOX) {
        rc = srv_respond_text(r->req, 403, "the schedule inbox and outbox stay where they are");
        goto out;
    }
    om->sparent = dav_rel_parent(r->path.rel);
    om->dparent = dav_rel_parent(dst);
    if (!om->sparent || !om->dparent) {
        rc = srv_respond_text(r->req, 500, "out of memory");
        goto out;
    }
    rc = dav_res_load(r->m, r->path.user, r->path.kind, om->dparent, &dparent);
    if (rc) {
        rc = dav_respond_store_error(r, rc);
        goto out;
    }
    if (src->rec.type == DAV_RT_FOLDER) {
        if (dparent.exists && dparent.rec.coll != DAV_COLL_PLAIN)
            rc = dav_respond_error_ns(r->req, 403, ns,
                                      card ? "addressbook-collection-location-ok"
                                           : "calendar-collection-location-ok",
                                      NULL, "collections cannot be nested in this collection");
        goto out;
    }
    if (!dparent.exists || dparent.rec.coll != (card ? DAV_COLL_ADDRESSBOOK : DAV_COLL_CALENDAR)) {
        rc = srv_respond_text(r->req, 403, "%s",
                              card ? "address objects belong in an address book collection"
                                   : "calendar objects belong in a calendar collection");
        goto out;
    }
    if (dav_objidx_decode(&src->rec.index, &x) || !x.uid.n)
        goto out; /* not an indexed object (stored before indexing): nothing to claim */
    if (!card && !(dav_coll_comps(&dparent.rec) & x.comps)) {
        rc = dav_respond_error_ns(r->req, 403, ns, "supported-calendar-component", NULL,
                                  "the destination calendar does not take this component type");
        goto out;
    }
    om->uid = dav_obj_stored_uid(src);
    om->old_uid = dav_obj_stored_uid(dres);
    if (!om->uid) {
        rc = srv_respond_text(r->req, 500, "out of memory");
        goto out;
    }
    rc = dav_uid_claim(r->m, r->path.user, r->path.kind, om->dparent, om->uid, dav_rel_name(dst),
                       &holder);
    if (rc == MG_EEXIST && move && strcmp(om->sparent, om->dparent) == 0 &&
        strcmp(holder, dav_rel_name(r->path.rel)) == 0) {
        /* a rename inside one collection: the UID moves with the object */
        free(holder);
        holder = NULL;
        rc = dav_uid_release(r->m, r->path.user, r->path.kind, om->sparent, om->uid,
                             dav_rel_name(r->path.rel));
        if (!rc)
            rc = dav_uid_claim(r->m, r->path.user, r->path.kind, om->dparent, om->uid,
                               dav_rel_name(dst), &holder);
    }
    if (rc == MG_EEXIST) {
        if (dav_tree_path(&href, r->path.user, r->path.kind, om->dparent, 1) ||
            buf_puts(&href, holder))
            rc = srv_respond_text(r->req, 500, "out of memory");
        else
            rc = dav_respond_error_ns(r->req, 403, ns, "no-uid-conflict", href.data,
                                      "the destination collection has this UID already");
        goto out;
    }
    if (rc)
        rc = dav_respond_store_error(r, rc);
out:
    dav_res_release(&dparent);
    buf_release(&href);
    free(holder);
    return rc;
}

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
    int depth, overwrite, rc;

    memset(&dst, 0, sizeof(dst));
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
    rc = dav_copymove_rel(r, dst.rel, depth, overwrite, move);
out:
    dav_path_release(&dst);
    free(dpath);
    return rc;
}

int dav_copymove_rel(struct dav_req *r, const char *dst, int depth, int overwrite, int move)
{
    struct dav_res src, dres;
    struct objmove om;
    int flags, rc;

    memset(&om, 0, sizeof(om));
    dav_res_init(&src);
    dav_res_init(&dres);
    if (!r->path.rel[0] || !dst[0]) {
        rc = dav_fail(r, 403, "root-folder", "the root folder cannot be copied, moved or replaced");
        goto out;
    }
    if (strcmp(r->path.rel, dst) == 0) {
        /* RFC 4918 9.8.5: source and destination are the same resource */
        rc = dav_fail(r, 403, "same-path", "source and destination are the same");
        goto out;
    }
    if (dav_load_target(r, &src, &rc))
        goto out;
    if (src.rec.type == DAV_RT_FOLDER && rel_within(dst, r->path.rel)) {
        rc = dav_fail(r, 403, "into-itself", "a folder cannot be copied or moved into itself");
        goto out;
    }
    if (rel_within(r->path.rel, dst)) {
        /* overwriting an ancestor would delete the source first */
        rc = dav_fail(r, 403, "into-itself", "the destination contains the source");
        goto out;
    }
    rc = dav_res_load(r->m, r->path.user, r->path.kind, dst, &dres);
    if (rc) {
        rc = dav_respond_store_error(r, rc);
        goto out;
    }
    rc = dav_check_parent(r, dst);
    if (rc)
        goto out;
    if (dres.exists && !overwrite) {
        /* RFC 4918 9.8.5 / 10.6 */
        rc = dav_fail(r, 412, "destination-exists",
                      "the destination exists and overwriting it was not asked for");
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
    rc = dav_check_locks(r, dst, flags);
    if (rc)
        goto out;
    if (r->path.kind != DAV_KIND_FILES) {
        rc = check_objects(r, &src, &dres, dst, move, &om);
        if (rc)
            goto out;
    }
    /* RFC 4918 9.8.4 / 9.9.3: an overwritten destination is deleted first;
     * a lock on the destination URL stays */
    if (dres.exists) {
        rc = dav_tree_delete(r->m, r->path.user, r->path.kind, dst, dres.rec.type, 0);
        if (rc) {
            rc = dav_respond_store_error(r, rc);
            goto out;
        }
    }
    rc = dav_tree_copy(r->m, r->path.user, r->path.kind, r->path.rel, &src.rec, dst,
                       depth == DAV_DEPTH_0, move);
    if (!rc && move)
        rc = dav_tree_delete(r->m, r->path.user, r->path.kind, r->path.rel, src.rec.type, 1);
    if (rc && om.uid)
        dav_uid_release(r->m, r->path.user, r->path.kind, om.dparent, om.uid, dav_rel_name(dst));
    if (rc == MG_EEXIST) {
        rc = dav_fail(r, 412, "destination-exists", "the destination was created meanwhile");
        goto out;
    }
    if (rc) {
        rc = dav_respond_store_error(r, rc);
        goto out;
    }
    if (om.uid && move)
        dav_uid_release(r->m, r->path.user, r->path.kind, om.sparent, om.uid,
                        dav_rel_name(r->path.rel));
    if (om.old_uid && om.uid && strcmp(om.old_uid, om.uid) != 0)
        dav_uid_release(r->m, r->path.user, r->path.kind, om.dparent, om.old_uid,
                        dav_rel_name(dst));
    /* RFC 4918 9.8.5 / 9.9.4: 201 when the destination was created, 204 when replaced */
    rc = srv_respond(r->req, dres.exists ? 204 : 201, NULL, "", 0);
out:
    objmove_release(&om);
    dav_res_release(&src);
    dav_res_release(&dres);
    return rc;
}
