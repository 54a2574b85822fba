/*
 * objects.c - calendar object resources (RFC 4791 4.1) and address object
 * resources (RFC 6352 5.1) written, read, listed and deleted: the one write
 * path both a CalDAV/CardDAV PUT (objput.c) and the REST API
 * (include/meshgate/dav_objects.h) take, and the REST API's view of the
 * calendars and address books at the top of a user's homes.
 *
 * A write stores the body byte for byte (so the ETag given is the ETag of
 * what GET returns, RFC 4791 5.3.4) with its index data (UID, component
 * type, time bounds) in the record, after the body parsed and passed the
 * preconditions; one UID per collection (RFC 4791 5.3.2.1, RFC 6352
 * 6.3.2.1). A refused write changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dav_private.h"
#include "meshgate/dav_objects.h"

#define OBJ_PUT_RETRIES 3

uint64_t dav_obj_max(const struct dav_module *m)
{
    uint64_t max = m->cfg->limits.max_body;
    return max && max < DAV_OBJ_MAX ? max : DAV_OBJ_MAX;
}

/* 1 when the header value is "*" (spaces allowed). */
static int is_star(const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    if (*v != '*')
        return 0;
    v++;
    while (*v == ' ' || *v == '\t')
        v++;
    return *v == '\0';
}

const char *dav_etag_preconditions(const char *im, const char *inm, int exists, const char *etag)
{
    /* RFC 9110 13.1.1: strong comparison; "*" matches any current representation */
    if (im && !(is_star(im) ? exists : dav_etag_list_match(im, etag, 0)))
        return "If-Match does not match the current ETag";
    /* RFC 9110 13.1.2: for methods other than GET/HEAD a match fails the request */
    if (inm && (is_star(inm) ? exists : dav_etag_list_match(inm, etag, 1)))
        return "If-None-Match matches the current resource";
    return NULL;
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

void dav_obj_uid_forget(struct dav_module *m, const char *user, enum dav_kind kind, const char *rel,
                        const struct dav_res *res)
{
    char *uid = dav_obj_stored_uid(res);
    char *prel = dav_rel_parent(rel);
    /* a stale entry would only be verified away later; best effort */
    if (uid && prel)
        dav_uid_release(m, user, kind, prel, uid, dav_rel_name(rel));
    free(uid);
    free(prel);
}

/* ---- writing -------------------------------------------------------------------------------- */

/* What the body is: parsed, checked, with its index data. */
struct parsed {
    char *uid;
    struct dav_objidx x;
    struct buf idx;
    const char *ctype;
};

static int refuse(struct dav_obj_write *w, enum dav_obj_refusal why, const char *msg)
{
    w->refusal = why;
    if (msg)
        dav_set_err(w->err, sizeof(w->err), "%s", msg);
    return MG_EINVAL;
}

static const char *calendar_ctype(unsigned comp)
{
    switch (comp) {
    case DAV_COMP_VTODO:
        return "text/calendar; charset=utf-8; component=VTODO";
    case DAV_COMP_VJOURNAL:
        return "text/calendar; charset=utf-8; component=VJOURNAL";
    case DAV_COMP_VFREEBUSY:
        return "text/calendar; charset=utf-8; component=VFREEBUSY";
    default:
        return "text/calendar; charset=utf-8; component=VEVENT";
    }
}

/* Parses an address object into pp. Returns 0, MG_EINVAL (refused) or MG_ENOMEM. */
static int check_vcard(struct dav_obj_write *w, struct parsed *pp)
{
    struct dav_vcard *c = NULL;
    int rc = dav_vcard_parse(w->body, w->len, &c, w->err, sizeof(w->err));
    if (!rc)
        rc = dav_vcard_check_object(c, w->err, sizeof(w->err));
    if (rc) {
        dav_vcard_free(c);
        return rc == MG_ENOMEM ? rc : refuse(w, DAV_OBJ_BAD_DATA, NULL);
    }
    pp->uid = mg_strdup(dav_vcard_get(c, "UID")->value);
    dav_vcard_free(c);
    if (!pp->uid)
        return MG_ENOMEM;
    pp->x.kind = DAV_OBJ_VCARD;
    pp->x.lo = INT64_MIN;
    pp->x.hi = INT64_MAX;
    pp->ctype = "text/vcard; charset=utf-8";
    return 0;
}

/* Parses a calendar object for collection coll into pp. Same returns. */
static int check_ical(struct dav_obj_write *w, const struct dav_record *coll, struct parsed *pp)
{
    icalcomponent *cal = NULL;
    struct dav_ical_info info;
    int rc;

    memset(&info, 0, sizeof(info));
    rc = dav_ical_parse(w->body, w->len, &cal, w->err, sizeof(w->err));
    if (rc)
        return rc == MG_ENOMEM ? rc : refuse(w, DAV_OBJ_BAD_DATA, NULL);
    dav_ical_prefer_builtin_zones(cal); /* the index is computed, not stored */
    rc = dav_ical_check_object(cal, &info, w->err, sizeof(w->err));
    icalcomponent_free(cal);
    if (rc)
        return rc == MG_ENOMEM ? rc : refuse(w, DAV_OBJ_BAD_OBJECT, NULL);
    if (!(dav_coll_comps(coll) & info.comp)) {
        dav_ical_info_release(&info);
        return refuse(w, DAV_OBJ_BAD_COMPONENT,
                      "this calendar does not take this component type "
                      "(see supported-calendar-component-set)");
    }
    pp->uid = info.uid; /* moved */
    pp->x.kind = DAV_OBJ_ICAL;
    pp->x.comps = info.comp;
    pp->x.lo = info.lo;
    pp->x.hi = info.hi;
    pp->ctype = calendar_ctype(info.comp);
    return 0;
}

static int check_body(struct dav_obj_write *w, const struct dav_record *coll, struct parsed *pp)
{
    int rc = w->kind == DAV_KIND_ADDRESSBOOKS ? check_vcard(w, pp) : check_ical(w, coll, pp);
    if (rc)
        return rc;
    pp->x.uid.p = pp->uid;
    pp->x.uid.n = strlen(pp->uid);
    rc = dav_objidx_encode(&pp->x, &pp->idx);
    if (rc == MG_ETOOBIG)
        return refuse(w, w->kind == DAV_KIND_ADDRESSBOOKS ? DAV_OBJ_BAD_DATA : DAV_OBJ_BAD_OBJECT,
                      "the UID is too long");
    return rc;
}

/* Loads the target and its collection and checks that they fit. */
static int load_target(struct dav_module *m, struct dav_obj_write *w, struct dav_res *res,
                       struct dav_res *parent)
{
    int card = w->kind == DAV_KIND_ADDRESSBOOKS;
    int rc = dav_res_load(m, w->user, w->kind, w->rel, res);
    if (!rc)
        rc = dav_parent_load(m, w->user, w->kind, w->rel, parent);
    if (rc)
        return rc;
    if (res->exists && res->rec.type == DAV_RT_FOLDER)
        return refuse(w, DAV_OBJ_IS_COLLECTION, "PUT is not allowed on a collection");
    if (!parent->exists || parent->rec.type != DAV_RT_FOLDER)
        return refuse(w, DAV_OBJ_NO_COLLECTION, "the parent collection does not exist");
    if (parent->rec.coll != (card ? DAV_COLL_ADDRESSBOOK : DAV_COLL_CALENDAR))
        return refuse(w, DAV_OBJ_WRONG_COLLECTION,
                      card ? "address objects belong in an address book collection"
                           : "calendar objects belong in a calendar collection");
    return 0;
}

/* Writes the body's chunks and its record, again over concurrent changes of
 * the resource unless the write is conditional. */
static int store(struct dav_module *m, struct dav_obj_write *w, struct dav_res *res,
                 const struct parsed *pp, char **old_uid)
{
    struct dht_blob_writer *bw = NULL;
    struct dht_manifest man;
    struct dav_record rec;
    struct buf mbuf;
    int rc;

    dht_manifest_init(&man);
    dav_record_init(&rec);
    buf_init(&mbuf);
    rc = dht_blob_writer_new(m->d, dav_obj_max(m), &bw);
    if (!rc)
        rc = dht_blob_write(bw, w->body, w->len);
    if (!rc)
        rc = dht_blob_finish(bw, &man);
    if (!rc)
        rc = dht_manifest_encode(&man, &mbuf);
    w->created = !res->exists;
    for (int attempt = 0; !rc; attempt++) {
        int64_t now = (int64_t)mg_now_ms();
        dav_record_init(&rec);
        rec.type = DAV_RT_FILE;
        rec.size = man.size;
        rec.mtime_ms = now;
        rec.ctime_ms = res->exists ? res->rec.ctime_ms : now;
        memcpy(rec.hash, man.content_hash, DHT_HASH_LEN);
        rec.ctype.p = pp->ctype;
        rec.ctype.n = strlen(pp->ctype);
        rec.manifest.p = mbuf.data;
        rec.manifest.n = mbuf.len;
        rec.index.p = pp->idx.data;
        rec.index.n = pp->idx.len;
        if (res->exists) {
            rec.props = res->rec.props; /* dead properties survive a new body (borrowed) */
            rec.nprops = res->rec.nprops;
        }
        rc = dav_res_store(m, res, &rec);
        rec.props = NULL;
        rec.nprops = 0;
        /* RFC 9110 13.1: a conditional request must not overwrite a newer version */
        if (rc != MG_EPRECOND || w->conditional || attempt >= OBJ_PUT_RETRIES)
            break;
        rc = dav_res_load(m, w->user, w->kind, w->rel, res);
        if (!rc && res->exists && res->rec.type == DAV_RT_FOLDER)
            rc =
                refuse(w, DAV_OBJ_IS_COLLECTION, "a collection was created at this path meanwhile");
        if (!rc) {
            free(*old_uid);
            *old_uid = dav_obj_stored_uid(res);
            w->created = !res->exists;
        }
    }
    if (!rc)
        dav_record_etag(&rec, w->etag, sizeof(w->etag));
    dht_blob_writer_free(bw);
    dht_manifest_release(&man);
    dav_record_release(&rec);
    buf_release(&mbuf);
    return rc;
}

int dav_obj_write(struct dav_module *m, struct dav_obj_write *w)
{
    const char *name = dav_rel_name(w->rel);
    struct dav_res res, parent;
    struct parsed pp;
    char *prel = NULL, *old_uid = NULL;
    int claimed_new, rc;

    memset(&pp, 0, sizeof(pp));
    buf_init(&pp.idx);
    dav_res_init(&res);
    dav_res_init(&parent);
    w->refusal = DAV_OBJ_OK;
    w->err[0] = '\0';
    w->created = 0;
    if ((uint64_t)w->len > dav_obj_max(m)) {
        rc = refuse(w, DAV_OBJ_TOO_BIG, "the object is larger than max-resource-size");
        goto out;
    }
    rc = load_target(m, w, &res, &parent);
    if (!rc && w->check)
        rc = w->check(w->ctx, &res);
    if (!rc)
        rc = check_body(w, &parent.rec, &pp);
    prel = rc ? NULL : dav_rel_parent(w->rel);
    if (!rc && !prel)
        rc = MG_ENOMEM;
    if (rc)
        goto out;
    old_uid = dav_obj_stored_uid(&res);
    rc = dav_uid_claim(m, w->user, w->kind, prel, pp.uid, name, &w->holder);
    if (rc == MG_EEXIST)
        rc = refuse(w, DAV_OBJ_UID_CONFLICT, "another resource of this collection has this UID");
    if (rc)
        goto out;
    claimed_new = !old_uid || strcmp(old_uid, pp.uid) != 0;
    rc = store(m, w, &res, &pp, &old_uid);
    if (rc && claimed_new)
        dav_uid_release(m, w->user, w->kind, prel, pp.uid, name);
    else if (!rc && old_uid && strcmp(old_uid, pp.uid) != 0)
        dav_uid_release(m, w->user, w->kind, prel, old_uid, name);
out:
    dav_res_release(&res);
    dav_res_release(&parent);
    buf_release(&pp.idx);
    free(pp.uid);
    free(prel);
    free(old_uid);
    return rc;
}

void dav_obj_write_release(struct dav_obj_write *w)
{
    free(w->holder);
    w->holder = NULL;
}

/* ---- the view of other modules: scopes ------------------------------------------------------ */

static enum dav_kind scope_kind(const struct dav_obj_scope *s)
{
    return s->home == DAV_OBJ_ADDRESSBOOKS ? DAV_KIND_ADDRESSBOOKS : DAV_KIND_CALENDARS;
}

static int scope_coll(const struct dav_obj_scope *s)
{
    return s->home == DAV_OBJ_ADDRESSBOOKS ? DAV_COLL_ADDRESSBOOK : DAV_COLL_CALENDAR;
}

/* 1 when s can be one path segment of a resource: 1 to DAV_NAME_MAX bytes of
 * text without '/', control characters, and not "." or "..". */
static int segment_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > DAV_NAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '/')
            return 0;
    }
    return dav_text_valid(s, n);
}

/* Appends "<coll>" or "<coll>/<name>" (name may be NULL) to rel when the
 * segments are valid and the keys fit. Returns 0, MG_EINVAL or MG_ENOMEM. */
static int scope_rel(const struct dav_obj_scope *s, const char *coll, const char *name,
                     struct buf *rel)
{
    if (!segment_ok(coll) || (name && !segment_ok(name)))
        return MG_EINVAL;
    if (buf_puts(rel, coll) || (name && (buf_putc(rel, '/') || buf_puts(rel, name))))
        return MG_ENOMEM;
    /* "coll/" user "/" kind "/" rel must fit a partition key (dav_path_parse) */
    if (5 + strlen(s->user) + 1 + strlen(dav_kind_name(scope_kind(s))) + 1 + rel->len > DHT_KEY_MAX)
        return MG_EINVAL;
    return 0;
}

/* ---- collections ---------------------------------------------------------------------------- */

void dav_obj_coll_release(struct dav_obj_coll *c)
{
    if (!c)
        return;
    free(c->name);
    free(c->displayname);
    free(c->description);
    free(c->color);
    memset(c, 0, sizeof(*c));
}

void dav_obj_colls_free(struct dav_obj_coll *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        dav_obj_coll_release(&v[i]);
    free(v);
}

/* Describes collection name (record rec) of the scope's home into out. */
static int coll_describe(struct dav_module *m, const struct dav_obj_scope *s, const char *name,
                         const struct dav_record *rec, struct dav_obj_coll *out)
{
    int card = s->home == DAV_OBJ_ADDRESSBOOKS;
    struct buf pkey;
    int rc;

    memset(out, 0, sizeof(*out));
    buf_init(&pkey);
    out->name = mg_strdup(name);
    out->displayname = dav_record_prop_text(rec, DAV_NS, "displayname");
    out->description =
        dav_record_prop_text(rec, card ? DAV_NS_CARDDAV : DAV_NS_CALDAV,
                             card ? "addressbook-description" : "calendar-description");
    out->color = card ? NULL : dav_record_prop_text(rec, DAV_NS_APPLE, "calendar-color");
    out->comps = card ? 0 : dav_coll_comps(rec);
    rc = out->name ? dav_folder_pkey(&pkey, s->user, scope_kind(s), name) : MG_ENOMEM;
    if (!rc)
        rc = dht_partition_hlc(m->d, pkey.data, &out->version);
    dav_sync_token(out->version, out->sync_token, sizeof(out->sync_token));
    buf_release(&pkey);
    if (rc)
        dav_obj_coll_release(out);
    return rc;
}

struct colls_ctx {
    struct dav_module *m;
    const struct dav_obj_scope *s;
    struct dav_obj_coll *v;
    size_t n;
    int err;
};

static int coll_row(void *ctx, const char *rkey, const struct dht_row *row)
{
    struct colls_ctx *cc = ctx;
    struct dav_record rec;
    struct dav_obj_coll *v;

    if (!rkey[0] || dav_record_decode(row->value, row->value_len, &rec))
        return 0;
    if (rec.type == DAV_RT_FOLDER && rec.coll == scope_coll(cc->s)) {
        v = realloc(cc->v, (cc->n + 1) * sizeof(*v));
        if (v)
            cc->v = v;
        cc->err = v ? coll_describe(cc->m, cc->s, rkey, &rec, &v[cc->n]) : MG_ENOMEM;
        if (!cc->err)
            cc->n++;
    }
    dav_record_release(&rec);
    return cc->err ? 1 : 0;
}

int dav_objects_collections(const struct dav_obj_scope *s, struct dav_obj_coll **out, size_t *n)
{
    struct dav_module m = {s->d, s->cfg};
    struct colls_ctx cc = {&m, s, NULL, 0, 0};
    struct dav_res root;
    int rc;

    *out = NULL;
    *n = 0;
    dav_res_init(&root);
    /* loading the root makes the home and its defaults on first use */
    rc = dav_res_load(&m, s->user, scope_kind(s), "", &root);
    if (!rc)
        rc = dht_scan(s->d, root.pkey.data, "", 0, coll_row, &cc);
    dav_res_release(&root);
    if (cc.err)
        rc = cc.err;
    if (rc) {
        dav_obj_colls_free(cc.v, cc.n);
        return rc < 0 ? rc : MG_EIO;
    }
    *out = cc.v;
    *n = cc.n;
    return 0;
}

/* Loads collection coll of the scope into res. Returns 0, MG_ENOTFOUND or an mg_err. */
static int coll_load(struct dav_module *m, const struct dav_obj_scope *s, const char *coll,
                     struct dav_res *res)
{
    struct buf rel;
    int rc;

    buf_init(&rel);
    rc = scope_rel(s, coll, NULL, &rel);
    if (!rc)
        rc = dav_res_load(m, s->user, scope_kind(s), rel.data, res);
    buf_release(&rel);
    if (rc == MG_EINVAL)
        return MG_ENOTFOUND;
    if (!rc && (!res->exists || res->rec.type != DAV_RT_FOLDER || res->rec.coll != scope_coll(s)))
        return MG_ENOTFOUND;
    return rc;
}

int dav_objects_collection(const struct dav_obj_scope *s, const char *name,
                           struct dav_obj_coll *out)
{
    struct dav_module m = {s->d, s->cfg};
    struct dav_res res;
    int rc;

    memset(out, 0, sizeof(*out));
    dav_res_init(&res);
    rc = coll_load(&m, s, name, &res);
    if (!rc)
        rc = coll_describe(&m, s, name, &res.rec, out);
    dav_res_release(&res);
    return rc;
}

/* ---- listing -------------------------------------------------------------------------------- */

struct list_ctx {
    struct dav_module *m;
    const struct dav_obj_query *q;
    const icaltimezone *zone; /* floating times of a range test */
    dav_obj_fn fn;
    void *ctx;
    struct buf content;
    size_t handed, looked;
    char *last; /* the last name looked at */
    int stopped;
    int err;
};

/* RFC 4791 9.9: 1 when a component of the object (VTIMEZONEs aside) has an
 * instance in the query's range. Unparsable objects never match. */
static int in_range(struct list_ctx *lc, const struct dav_record *rec)
{
    struct dav_objidx x;
    icalcomponent *cal = NULL;
    int hit = 0;

    /* the index bounds every instance: most objects end here */
    if (dav_objidx_decode(&rec->index, &x) == 0 && x.kind == DAV_OBJ_ICAL &&
        (x.hi < lc->q->start || x.lo > lc->q->end))
        return 0;
    if (dav_ical_parse(lc->content.data, lc->content.len, &cal, NULL, 0))
        return 0;
    dav_ical_prefer_builtin_zones(cal);
    for (icalcomponent *c = icalcomponent_get_first_component(cal, ICAL_ANY_COMPONENT); c && !hit;
         c = icalcomponent_get_next_component(cal, ICAL_ANY_COMPONENT)) {
        if (dav_ical_comp_bit(icalcomponent_kind_to_string(icalcomponent_isa(c))))
            hit = dav_ical_comp_in_range(c, lc->q->start, lc->q->end, lc->zone);
    }
    icalcomponent_free(cal);
    return hit;
}

static int list_row(void *ctx, const char *rkey, const struct dht_row *row)
{
    struct list_ctx *lc = ctx;
    struct dav_record rec;
    char etag[DAV_OBJ_ETAG_LEN];
    int rc;

    if (!rkey[0])
        return 0; /* the collection's own row */
    if ((lc->q->limit && lc->handed == lc->q->limit) ||
        (lc->q->budget && lc->looked == lc->q->budget)) {
        lc->stopped = 1;
        return 1;
    }
    lc->looked++;
    free(lc->last);
    lc->last = mg_strdup(rkey);
    if (!lc->last) {
        lc->err = MG_ENOMEM;
        return 1;
    }
    if (dav_record_decode(row->value, row->value_len, &rec))
        return 0;
    buf_reset(&lc->content);
    rc = rec.type == DAV_RT_FILE ? 0 : 1;
    if (!rc) {
        rc = dav_record_content(lc->m, &rec, dav_obj_max(lc->m), &lc->content);
        if (rc)
            log_warn("dav: unreadable object in a listing name=%s err=%s", rkey, mg_strerror(rc));
    }
    if (!rc && lc->q->has_range && !in_range(lc, &rec))
        rc = 1;
    if (!rc) {
        struct dav_obj o = {rkey, etag, lc->content.data ? lc->content.data : "", lc->content.len};
        dav_record_etag(&rec, etag, sizeof(etag));
        lc->handed++;
        lc->err = lc->fn(lc->ctx, &o);
    }
    dav_record_release(&rec);
    return lc->err ? 1 : 0;
}

int dav_objects_list(const struct dav_obj_scope *s, const char *coll, const struct dav_obj_query *q,
                     dav_obj_fn fn, void *ctx, char **resume)
{
    struct dav_module m = {s->d, s->cfg};
    struct list_ctx lc;
    struct dav_res res;
    struct buf pkey;
    icaltimezone *zone = NULL;
    int rc;

    *resume = NULL;
    memset(&lc, 0, sizeof(lc));
    buf_init(&lc.content);
    buf_init(&pkey);
    dav_res_init(&res);
    rc = coll_load(&m, s, coll, &res);
    if (rc)
        goto out;
    if (q->has_range) {
        /* RFC 4791 9.9: floating times in the calendar's zone; a fresh budget */
        zone = dav_coll_zone(&res.rec);
        dav_ical_budget_reset(DAV_REQUEST_ITER_BUDGET);
    }
    lc.m = &m;
    lc.q = q;
    lc.zone = zone;
    lc.fn = fn;
    lc.ctx = ctx;
    rc = dav_folder_pkey(&pkey, s->user, scope_kind(s), coll);
    if (!rc)
        rc = dht_scan(s->d, pkey.data, q->after ? q->after : "", 0, list_row, &lc);
    if (lc.err)
        rc = lc.err;
    else if (rc > 0)
        rc = 0; /* stopped by list_row */
    if (!rc && lc.stopped) {
        *resume = lc.last;
        lc.last = NULL;
    }
out:
    if (zone)
        icaltimezone_free(zone, 1);
    free(lc.last);
    buf_release(&lc.content);
    buf_release(&pkey);
    dav_res_release(&res);
    return rc;
}

/* ---- one object ----------------------------------------------------------------------------- */

/* Loads object name of collection coll into res: 0, MG_ENOTFOUND or an mg_err. */
static int obj_load(struct dav_module *m, const struct dav_obj_scope *s, const char *coll,
                    const char *name, struct buf *rel, struct dav_res *res)
{
    struct dav_res parent;
    int rc = scope_rel(s, coll, name, rel);

    if (rc)
        return rc == MG_EINVAL ? MG_ENOTFOUND : rc;
    dav_res_init(&parent);
    rc = coll_load(m, s, coll, &parent);
    dav_res_release(&parent);
    if (!rc)
        rc = dav_res_load(m, s->user, scope_kind(s), rel->data, res);
    if (!rc && (!res->exists || res->rec.type != DAV_RT_FILE))
        rc = MG_ENOTFOUND;
    return rc;
}

int dav_objects_get(const struct dav_obj_scope *s, const char *coll, const char *name,
                    struct buf *data, char etag[DAV_OBJ_ETAG_LEN], char **uid)
{
    struct dav_module m = {s->d, s->cfg};
    struct dav_res res;
    struct buf rel;
    int rc;

    dav_res_init(&res);
    buf_init(&rel);
    if (uid)
        *uid = NULL;
    rc = obj_load(&m, s, coll, name, &rel, &res);
    if (!rc)
        rc = dav_record_content(&m, &res.rec, dav_obj_max(&m), data);
    if (!rc) {
        dav_record_etag(&res.rec, etag, DAV_OBJ_ETAG_LEN);
        if (uid)
            *uid = dav_obj_stored_uid(&res);
    }
    dav_res_release(&res);
    buf_release(&rel);
    return rc;
}

/* What a write or delete outside DAV must respect: the caller's If-Match and
 * If-None-Match, and every WebDAV lock on the object or (when the
 * collection's membership changes) on the collection, since such a caller has
 * no lock tokens to submit. */
struct plain_check {
    struct dav_module *m;
    const struct dav_obj_scope *s;
    const char *rel;
    const char *if_match, *if_none_match;
    int deleting; /* the object goes: the collection's membership changes */
    enum dav_obj_refusal refusal;
};

/* 1 when a lock of the user covers rel or, with parent, its collection. */
static int locked(struct dav_module *m, const char *user, enum dav_kind kind, const char *rel,
                  int parent, int *err)
{
    struct dav_lockset locks;
    struct buf key, pkey;
    char *prel = parent ? dav_rel_parent(rel) : NULL;
    int hit = 0;

    memset(&locks, 0, sizeof(locks));
    buf_init(&key);
    buf_init(&pkey);
    *err = dav_locks_load(m, user, &locks);
    if (!*err && (dav_lock_key(&key, kind, rel) || (prel && dav_lock_key(&pkey, kind, prel))))
        *err = MG_ENOMEM;
    for (size_t i = 0; !*err && !hit && i < locks.n; i++)
        hit = dav_lock_covers(&locks.v[i], key.data) ||
              (pkey.len && dav_lock_covers(&locks.v[i], pkey.data));
    dav_lockset_release(&locks);
    buf_release(&key);
    buf_release(&pkey);
    free(prel);
    return hit;
}

/* Returns 0, 1 (refused: pc->refusal) or an mg_err. */
static int plain_check(void *ctx, const struct dav_res *res)
{
    struct plain_check *pc = ctx;
    char etag[DAV_OBJ_ETAG_LEN];
    int err = 0;

    if (res->exists)
        dav_record_etag(&res->rec, etag, sizeof(etag));
    if (dav_etag_preconditions(pc->if_match, pc->if_none_match, res->exists,
                               res->exists ? etag : NULL)) {
        pc->refusal = DAV_OBJ_PRECONDITION;
        return 1;
    }
    if (locked(pc->m, pc->s->user, scope_kind(pc->s), pc->rel, pc->deleting || !res->exists,
               &err)) {
        pc->refusal = DAV_OBJ_LOCKED;
        return 1;
    }
    return err;
}

void dav_obj_put_op_release(struct dav_obj_put_op *p)
{
    free(p->holder);
    p->holder = NULL;
}

int dav_objects_put(const struct dav_obj_scope *s, const char *coll, const char *name,
                    const char *data, size_t len, struct dav_obj_put_op *p)
{
    struct dav_module m = {s->d, s->cfg};
    struct plain_check pc = {&m, s, NULL, p->if_match, p->if_none_match, 0, DAV_OBJ_OK};
    struct dav_obj_write w;
    struct buf rel;
    int rc;

    memset(&w, 0, sizeof(w));
    buf_init(&rel);
    p->refusal = DAV_OBJ_OK;
    p->err[0] = '\0';
    p->holder = NULL;
    p->created = 0;
    rc = scope_rel(s, coll, name, &rel);
    if (rc == MG_EINVAL) {
        p->refusal = DAV_OBJ_BAD_NAME;
        snprintf(p->err, sizeof(p->err), "not a name an object can have");
    }
    if (rc)
        goto out;
    pc.rel = rel.data;
    w.user = s->user;
    w.kind = scope_kind(s);
    w.rel = rel.data;
    w.body = data;
    w.len = len;
    w.conditional = p->if_match || p->if_none_match;
    w.check = plain_check;
    w.ctx = &pc;
    rc = dav_obj_write(&m, &w);
    if (rc == 1) {
        rc = MG_EINVAL;
        w.refusal = pc.refusal;
    } else if (rc == MG_EPRECOND) {
        rc = MG_EINVAL; /* changed between the check and the write */
        w.refusal = DAV_OBJ_PRECONDITION;
    }
    p->refusal = w.refusal;
    memcpy(p->err, w.err, sizeof(p->err));
    memcpy(p->etag, w.etag, sizeof(p->etag));
    p->created = w.created;
    p->holder = w.holder;
    w.holder = NULL;
out:
    dav_obj_write_release(&w);
    buf_release(&rel);
    return rc;
}

int dav_objects_delete(const struct dav_obj_scope *s, const char *coll, const char *name,
                       const char *if_match, enum dav_obj_refusal *refusal)
{
    struct dav_module m = {s->d, s->cfg};
    struct plain_check pc = {&m, s, NULL, if_match, NULL, 1, DAV_OBJ_OK};
    struct dav_res res;
    struct buf rel;
    int rc;

    *refusal = DAV_OBJ_OK;
    dav_res_init(&res);
    buf_init(&rel);
    rc = obj_load(&m, s, coll, name, &rel, &res);
    pc.rel = rel.data;
    if (!rc)
        rc = plain_check(&pc, &res);
    if (rc == 1) {
        *refusal = pc.refusal;
        rc = MG_EINVAL;
    }
    if (!rc)
        rc = dav_tree_delete(&m, s->user, scope_kind(s), rel.data, DAV_RT_FILE, 1);
    if (!rc)
        dav_obj_uid_forget(&m, s->user, scope_kind(s), rel.data, &res);
    dav_res_release(&res);
    buf_release(&rel);
    return rc;
}
