/*
 * objput.c - PUT of a calendar object resource (RFC 4791 5.3.2) or an
 * address object resource (RFC 6352 6.3.2): only data that parses and
 * passes the preconditions is stored, and a refused PUT changes nothing.
 *
 *   415 + supported-calendar-data / supported-address-data: wrong media type
 *   403 + valid-calendar-data / valid-address-data: not parsable
 *   403 + valid-calendar-object-resource: not a calendar object (RFC 4791 4.1)
 *   403 + supported-calendar-component: a type the calendar does not take
 *   403 + no-uid-conflict (with the href holding the UID)
 *   403 + max-resource-size
 *   412: If-Match / If-None-Match (RFC 7232), checked again at the write
 *
 * The write itself, which the REST API shares, is dav_obj_write (objects.c):
 * this file adds what is DAV's own (If header, lock tokens, media types) and
 * answers with the CalDAV and CardDAV preconditions.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dav_private.h"

/* 1 when the Content-Type header (may be NULL) is acceptable. */
static int media_ok(const char *ctype, int card)
{
    size_t n;
    if (!ctype || !ctype[0])
        return 1;
    while (*ctype == ' ')
        ctype++;
    n = strcspn(ctype, "; \t");
    if (card)
        return (n == 10 && strncasecmp(ctype, "text/vcard", 10) == 0) ||
               (n == 12 && strncasecmp(ctype, "text/x-vcard", 12) == 0) ||
               (n == 24 && strncasecmp(ctype, "application/octet-stream", 24) == 0);
    return (n == 13 && strncasecmp(ctype, "text/calendar", 13) == 0) ||
           (n == 24 && strncasecmp(ctype, "application/octet-stream", 24) == 0);
}

/* Responds with a CalDAV or CardDAV precondition. */
static int precond(struct dav_req *r, int status, const char *cond, const char *href,
                   const char *msg)
{
    int card = r->path.kind == DAV_KIND_ADDRESSBOOKS;
    return dav_respond_error_ns(r->req, status, card ? DAV_NS_CARDDAV : DAV_NS_CALDAV, cond, href,
                                msg);
}

/* The checks of a DAV request, once the target is loaded (dav_obj_write). */
static int put_checks(void *ctx, const struct dav_res *res)
{
    struct dav_req *r = ctx;
    int card = r->path.kind == DAV_KIND_ADDRESSBOOKS;
    int rc = dav_check_http_conditions(r, res);

    if (!rc)
        rc = dav_check_if(r, r->path.rel);
    if (!rc)
        rc = dav_check_locks(r, r->path.rel, DAV_W_SELF | (res->exists ? 0 : DAV_W_PARENT));
    if (!rc && !media_ok(srv_req_header(r->req, "Content-Type"), card))
        rc = precond(r, 415, card ? "supported-address-data" : "supported-calendar-data", NULL,
                     card ? "send text/vcard" : "send text/calendar");
    return rc;
}

/* Answers a refused write. */
static int refused(struct dav_req *r, const struct dav_obj_write *w)
{
    int card = r->path.kind == DAV_KIND_ADDRESSBOOKS;
    struct buf href;
    char *prel;
    int rc;

    switch (w->refusal) {
    case DAV_OBJ_IS_COLLECTION:
        return srv_respond_text(r->req, 405, "%s", w->err);
    case DAV_OBJ_NO_COLLECTION:
        return srv_respond_text(r->req, 409, "%s", w->err);
    case DAV_OBJ_WRONG_COLLECTION:
        return srv_respond_text(r->req, 403, "%s", w->err);
    case DAV_OBJ_TOO_BIG:
        return precond(r, 403, "max-resource-size", NULL, w->err);
    case DAV_OBJ_BAD_DATA: /* RFC 4791 5.3.2.1, RFC 6352 6.3.2.1 */
        return precond(r, 403, card ? "valid-address-data" : "valid-calendar-data", NULL, w->err);
    case DAV_OBJ_BAD_OBJECT:
        return precond(r, 403, "valid-calendar-object-resource", NULL, w->err);
    case DAV_OBJ_BAD_COMPONENT:
        return precond(r, 403, "supported-calendar-component", NULL, w->err);
    case DAV_OBJ_UID_CONFLICT:
        buf_init(&href);
        prel = dav_rel_parent(r->path.rel);
        if (!prel || dav_tree_path(&href, r->path.user, r->path.kind, prel, 1) ||
            buf_puts(&href, w->holder))
            rc = srv_respond_text(r->req, 500, "out of memory");
        else
            rc = precond(r, 403, "no-uid-conflict", href.data, w->err);
        free(prel);
        buf_release(&href);
        return rc;
    default:
        return srv_respond_text(r->req, 412, "%s", w->err[0] ? w->err : "precondition failed");
    }
}

int dav_obj_put(struct dav_req *r)
{
    struct dav_obj_write w;
    int rc;

    if (!r->path.rel[0] || r->path.slash)
        return srv_respond_text(r->req, 405, "PUT is not allowed on a collection");
    memset(&w, 0, sizeof(w));
    w.user = r->path.user;
    w.kind = r->path.kind;
    w.rel = r->path.rel;
    w.body = srv_req_body(r->req, &w.len);
    w.conditional =
        srv_req_header(r->req, "If-Match") || srv_req_header(r->req, "If-None-Match") || r->have_if;
    w.check = put_checks;
    w.ctx = r;
    rc = dav_obj_write(r->m, &w);
    if (rc > 0) {
        /* put_checks answered */
    } else if (rc == MG_EINVAL) {
        rc = refused(r, &w);
    } else if (rc == MG_EPRECOND) {
        rc = srv_respond_text(r->req, 412, "the resource changed meanwhile");
    } else if (rc) {
        rc = dav_respond_store_error(r, rc);
    } else {
        srv_resp_header(r->req, "ETag", w.etag);
        rc = srv_respond(r->req, w.created ? 201 : 204, NULL, "", 0);
    }
    dav_obj_write_release(&w);
    return rc;
}
