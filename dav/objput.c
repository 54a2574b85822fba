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
 * The body is stored byte for byte (so the ETag returned is the ETag of what
 * GET returns, RFC 4791 5.3.4); the record carries the object's index data.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dav_private.h"

#define OBJ_PUT_RETRIES 3

uint64_t dav_obj_max(const struct dav_module *m)
{
    uint64_t max = m->cfg->limits.max_body;
    return max && max < DAV_OBJ_MAX ? max : DAV_OBJ_MAX;
}

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

/* What the body is: parsed, checked, with its index data. */
struct parsed {
    char *uid;
    struct dav_objidx x;
    struct buf idx;
    const char *ctype;
};

static int check_body(struct dav_req *r, const struct dav_record *coll, const char *body,
                      size_t len, struct parsed *pp)
{
    char err[256];
    int rc;

    err[0] = '\0';
    if (r->path.kind == DAV_KIND_ADDRESSBOOKS) {
        struct dav_vcard *c = NULL;
        rc = dav_vcard_parse(body, len, &c, err, sizeof(err));
        if (rc == MG_ENOMEM)
            return srv_respond_text(r->req, 500, "out of memory");
        if (!rc)
            rc = dav_vcard_check_object(c, err, sizeof(err));
        if (rc) {
            dav_vcard_free(c);
            /* RFC 6352 6.3.2.1 */
            return precond(r, 403, "valid-address-data", NULL, err);
        }
        pp->uid = mg_strdup(dav_vcard_get(c, "UID")->value);
        dav_vcard_free(c);
        if (!pp->uid)
            return srv_respond_text(r->req, 500, "out of memory");
        pp->x.kind = DAV_OBJ_VCARD;
        pp->x.lo = INT64_MIN;
        pp->x.hi = INT64_MAX;
        pp->ctype = "text/vcard; charset=utf-8";
    } else {
        icalcomponent *cal = NULL;
        struct dav_ical_info info;
        memset(&info, 0, sizeof(info));
        rc = dav_ical_parse(body, len, &cal, err, sizeof(err));
        if (rc == MG_ENOMEM)
            return srv_respond_text(r->req, 500, "out of memory");
        if (rc)
            return precond(r, 403, "valid-calendar-data", NULL, err); /* RFC 4791 5.3.2.1 */
        dav_ical_prefer_builtin_zones(cal); /* the index is computed, not stored */
        rc = dav_ical_check_object(cal, &info, err, sizeof(err));
        icalcomponent_free(cal);
        if (rc == MG_ENOMEM)
            return srv_respond_text(r->req, 500, "out of memory");
        if (rc)
            return precond(r, 403, "valid-calendar-object-resource", NULL, err);
        if (!(dav_coll_comps(coll) & info.comp)) {
            dav_ical_info_release(&info);
            return precond(r, 403, "supported-calendar-component", NULL,
                           "this calendar does not take this component type "
                           "(see supported-calendar-component-set)");
        }
        pp->uid = info.uid; /* moved */
        pp->x.kind = DAV_OBJ_ICAL;
        pp->x.comps = info.comp;
        pp->x.lo = info.lo;
        pp->x.hi = info.hi;
        switch (info.comp) {
        case DAV_COMP_VTODO:
            pp->ctype = "text/calendar; charset=utf-8; component=VTODO";
            break;
        case DAV_COMP_VJOURNAL:
            pp->ctype = "text/calendar; charset=utf-8; component=VJOURNAL";
            break;
        case DAV_COMP_VFREEBUSY:
            pp->ctype = "text/calendar; charset=utf-8; component=VFREEBUSY";
            break;
        default:
            pp->ctype = "text/calendar; charset=utf-8; component=VEVENT";
            break;
        }
    }
    pp->x.uid.p = pp->uid;
    pp->x.uid.n = strlen(pp->uid);
    rc = dav_objidx_encode(&pp->x, &pp->idx);
    if (rc == MG_ETOOBIG)
        return precond(r, 403,
                       r->path.kind == DAV_KIND_ADDRESSBOOKS ? "valid-address-data"
                                                             : "valid-calendar-object-resource",
                       NULL, "the UID is too long");
    if (rc)
        return srv_respond_text(r->req, 500, "out of memory");
    return 0;
}

char *dav_obj_stored_uid(const struct dav_res *res)
{
    struct dav_objidx x;
    char *s;
    if (!res->exists || dav_objidx_decode(&res->rec.index, &x) || !x.uid.n)
        return NULL;
    s = malloc(x.uid.n + 1);
    if (s) {
        memcpy(s, x.uid.p, x.uid.n);
        s[x.uid.n] = '\0';
    }
    return s;
}

int dav_obj_put(struct dav_req *r)
{
    const char *rel = r->path.rel;
    const char *name = dav_rel_name(rel);
    int card = r->path.kind == DAV_KIND_ADDRESSBOOKS;
    struct dav_res res, parent;
    struct parsed pp;
    struct dht_blob_writer *w = NULL;
    struct dht_manifest man;
    struct dav_record rec;
    struct buf mbuf, href;
    char *prel = NULL, *old_uid = NULL, *holder = NULL;
    char etag[2 * DAV_ETAG_BYTES + 3];
    const char *body;
    size_t len = 0;
    int claimed_new = 0, conditional, created, rc;

    memset(&pp, 0, sizeof(pp));
    buf_init(&pp.idx);
    dav_res_init(&res);
    dav_res_init(&parent);
    dht_manifest_init(&man);
    dav_record_init(&rec);
    buf_init(&mbuf);
    buf_init(&href);
    body = srv_req_body(r->req, &len);
    if (!rel[0] || r->path.slash) {
        rc = srv_respond_text(r->req, 405, "PUT is not allowed on a collection");
        goto out;
    }
    if ((uint64_t)len > dav_obj_max(r->m)) {
        rc = precond(r, 403, "max-resource-size", NULL,
                     "the object is larger than max-resource-size");
        goto out;
    }
    rc = dav_res_load(r->m, r->path.user, r->path.kind, rel, &res);
    if (!rc)
        rc = dav_parent_load(r->m, r->path.user, r->path.kind, rel, &parent);
    if (rc) {
        rc = dav_respond_store_error(r, rc);
        goto out;
    }
    if (res.exists && res.rec.type == DAV_RT_FOLDER) {
        rc = srv_respond_text(r->req, 405, "PUT is not allowed on a collection");
        goto out;
    }
    if (!parent.exists || parent.rec.type != DAV_RT_FOLDER) {
        rc = srv_respond_text(r->req, 409, "the parent collection does not exist");
        goto out;
    }
    if (parent.rec.coll != (card ? DAV_COLL_ADDRESSBOOK : DAV_COLL_CALENDAR)) {
        rc = srv_respond_text(r->req, 403, "%s",
                              card ? "address objects belong in an address book collection"
                                   : "calendar objects belong in a calendar collection");
        goto out;
    }
    rc = dav_check_http_conditions(r, &res);
    if (!rc)
        rc = dav_check_if(r, rel);
    if (!rc)
        rc = dav_check_locks(r, rel, DAV_W_SELF | (res.exists ? 0 : DAV_W_PARENT));
    if (rc)
        goto out;
    if (!media_ok(srv_req_header(r->req, "Content-Type"), card)) {
        rc = precond(r, 415, card ? "supported-address-data" : "supported-calendar-data", NULL,
                     card ? "send text/vcard" : "send text/calendar");
        goto out;
    }
    rc = check_body(r, &parent.rec, body, len, &pp);
    if (rc)
        goto out;
    prel = dav_rel_parent(rel);
    old_uid = dav_obj_stored_uid(&res);
    if (!prel) {
        rc = srv_respond_text(r->req, 500, "out of memory");
        goto out;
    }
    /* RFC 4791 5.3.2.1 / RFC 6352 6.3.2.1: one UID per collection */
    rc = dav_uid_claim(r->m, r->path.user, r->path.kind, prel, pp.uid, name, &holder);
    if (rc == MG_EEXIST) {
        if (dav_tree_path(&href, r->path.user, r->path.kind, prel, 1) || buf_puts(&href, holder))
            rc = srv_respond_text(r->req, 500, "out of memory");
        else
            rc = precond(r, 403, "no-uid-conflict", href.data,
                         "another resource of this collection has this UID");
        goto out;
    }
    if (rc) {
        rc = dav_respond_store_error(r, rc);
        goto out;
    }
    claimed_new = !old_uid || strcmp(old_uid, pp.uid) != 0;
    rc = dht_blob_writer_new(r->m->d, dav_obj_max(r->m), &w);
    if (!rc)
        rc = dht_blob_write(w, body, len);
    if (!rc)
        rc = dht_blob_finish(w, &man);
    if (!rc)
        rc = dht_manifest_encode(&man, &mbuf);
    if (rc)
        goto store_err;
    conditional =
        srv_req_header(r->req, "If-Match") || srv_req_header(r->req, "If-None-Match") || r->have_if;
    created = !res.exists;
    for (int attempt = 0;; attempt++) {
        int64_t now = (int64_t)mg_now_ms();
        dav_record_init(&rec);
        rec.type = DAV_RT_FILE;
        rec.size = man.size;
        rec.mtime_ms = now;
        rec.ctime_ms = res.exists ? res.rec.ctime_ms : now;
        memcpy(rec.hash, man.content_hash, DHT_HASH_LEN);
        rec.ctype.p = pp.ctype;
        rec.ctype.n = strlen(pp.ctype);
        rec.manifest.p = mbuf.data;
        rec.manifest.n = mbuf.len;
        rec.index.p = pp.idx.data;
        rec.index.n = pp.idx.len;
        if (res.exists) {
            rec.props = res.rec.props; /* dead properties survive a new body (borrowed) */
            rec.nprops = res.rec.nprops;
        }
        rc = dav_res_store(r->m, &res, &rec);
        rec.props = NULL;
        rec.nprops = 0;
        /* RFC 7232: a conditional request must not overwrite a newer version */
        if (rc != MG_EPRECOND || conditional || attempt >= OBJ_PUT_RETRIES)
            break;
        rc = dav_res_load(r->m, r->path.user, r->path.kind, rel, &res);
        if (rc)
            break;
        if (res.exists && res.rec.type == DAV_RT_FOLDER) {
            rc = MG_EEXIST;
            break;
        }
        free(old_uid);
        old_uid = dav_obj_stored_uid(&res);
    }
    if (rc)
        goto store_err;
    if (old_uid && strcmp(old_uid, pp.uid) != 0)
        dav_uid_release(r->m, r->path.user, r->path.kind, prel, old_uid, name);
    dav_record_etag(&rec, etag, sizeof(etag));
    srv_resp_header(r->req, "ETag", etag);
    rc = srv_respond(r->req, created ? 201 : 204, NULL, "", 0);
    goto out;
store_err:
    if (claimed_new)
        dav_uid_release(r->m, r->path.user, r->path.kind, prel, pp.uid, name);
    if (rc == MG_EPRECOND)
        rc = srv_respond_text(r->req, 412, "the resource changed meanwhile");
    else if (rc == MG_EEXIST)
        rc = srv_respond_text(r->req, 405, "a collection was created at this path meanwhile");
    else
        rc = dav_respond_store_error(r, rc);
out:
    dht_blob_writer_free(w);
    dht_manifest_release(&man);
    dav_record_release(&rec);
    dav_res_release(&res);
    dav_res_release(&parent);
    buf_release(&mbuf);
    buf_release(&href);
    buf_release(&pp.idx);
    free(pp.uid);
    free(prel);
    free(old_uid);
    free(holder);
    return rc;
}
