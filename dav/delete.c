/*
 * delete.c - DELETE (RFC 4918 9.6): files, and folders with everything below
 * them; the locks on what is deleted go with it. A calendar or address book
 * goes whole (RFC 4791 5.3.4 notes), with its UID index; a deleted object's
 * UID is free again. The schedule inbox and outbox stay.
 */
#include <stdlib.h>
#include <string.h>

#include "dav_private.h"

int dav_delete(struct dav_req *r)
{
    struct dav_res res;
    int flags, rc;

    if (!r->path.rel[0])
        return dav_fail(r, 403, "root-folder", "the root folder cannot be deleted");
    dav_res_init(&res);
    if (dav_load_target(r, &res, &rc))
        goto out;
    rc = dav_check_http_conditions(r, &res);
    if (!rc)
        rc = dav_check_if(r, r->path.rel);
    if (rc)
        goto out;
    /* RFC 4918 9.6.1: the resource, its parent's membership and, for a folder,
     * every member below it must be unlocked or have their tokens submitted */
    flags = DAV_W_SELF | DAV_W_PARENT | (res.rec.type == DAV_RT_FOLDER ? DAV_W_MEMBERS : 0);
    rc = dav_check_locks(r, r->path.rel, flags);
    if (rc)
        goto out;
    if (res.rec.coll == DAV_COLL_INBOX || res.rec.coll == DAV_COLL_OUTBOX) {
        rc = dav_fail(r, 403, "schedule-collection",
                      "the schedule inbox and outbox cannot be deleted");
        goto out;
    }
    rc = dav_tree_delete(r->m, r->path.user, r->path.kind, r->path.rel, res.rec.type, 1);
    if (!rc && r->path.kind != DAV_KIND_FILES && res.rec.type == DAV_RT_FILE)
        dav_obj_uid_forget(r->m, r->path.user, r->path.kind, r->path.rel, &res);
    if (rc)
        rc = dav_respond_store_error(r, rc);
    else
        rc = srv_respond(r->req, 204, NULL, "", 0);
out:
    dav_res_release(&res);
    return rc;
}
