/*
 * pim.c - contacts and calendars over REST: the address books and calendars
 * of the caller's homes, and the contacts (jCard, RFC 7095) and calendar
 * objects (jCal, RFC 7265) in them.
 *
 * They are the very objects CardDAV and CalDAV serve: the store keeps vCard
 * and iCalendar text, written and read through dav/objects.c (the same
 * validation, UID index, locks and ETags as a DAV PUT), and this file
 * converts to and from JSON on the fly (jcard.c, jcal.c). An object's id is
 * its DAV resource name, its ETag the one DAV gives.
 *
 * Routes name only the caller's own collections: another user's calendar is
 * not addressable, and a name the caller lacks is 404 like any other.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_private.h"
#include "jconv.h"
#include "meshgate/dav_objects.h"

#define PIM_SCAN_BUDGET 2000 /* objects a time-range listing looks at per request */
#define PIM_UID_NAME_MAX 200 /* bytes of a UID used as an object's name */

/* What differs between contacts and calendar objects. */
struct pim_kind {
    enum dav_obj_home home;
    const char *colls;  /* URL segment of the collections: "addressbooks" */
    const char *objs;   /* URL segment of the objects: "contacts" */
    const char *coll;   /* a collection, for people: "address book" */
    const char *obj;    /* an object, for people: "contact" */
    const char *member; /* the JSON form's member: "jcard" */
    const char *ext;    /* extension of new names: ".vcf" */
    const char *uid_prefix;
    int (*from_text)(const char *text, size_t len, json_t **out, char *err, size_t cap);
    int (*to_text)(const json_t *doc, struct buf *out, char *err, size_t cap);
    const char *(*uid)(const json_t *doc);
    int (*set_uid)(json_t *doc, const char *uid);
};

static const struct pim_kind pim_cards = {DAV_OBJ_ADDRESSBOOKS,
                                          "addressbooks",
                                          "contacts",
                                          "address book",
                                          "contact",
                                          "jcard",
                                          ".vcf",
                                          "urn:uuid:",
                                          api_jcard_from_vcard,
                                          api_jcard_to_vcard,
                                          api_jcard_uid,
                                          api_jcard_set_uid};

static const struct pim_kind pim_cals = {DAV_OBJ_CALENDARS,
                                         "calendars",
                                         "events",
                                         "calendar",
                                         "event",
                                         "jcal",
                                         ".ics",
                                         "",
                                         api_jcal_from_ical,
                                         api_jcal_to_ical,
                                         api_jcal_uid,
                                         api_jcal_set_uid};

static struct dav_obj_scope pim_scope(const struct api_call *c, const struct pim_kind *k)
{
    struct dav_obj_scope s = {c->m->d, c->m->cfg, api_user(c), k->home};
    return s;
}

static int pim_store_error(struct api_call *c, int rc, const char *what)
{
    if (rc == MG_ENOMEM)
        return api_problem(c->req, 500, NULL, "out of memory");
    return api_problem(c->req, rc == MG_EUNAVAIL ? 503 : 500, "store-unavailable", "cannot %s: %s",
                       what, mg_strerror(rc));
}

static int pim_no_coll(struct api_call *c, const struct pim_kind *k, const char *name)
{
    return api_problem(c->req, 404, k == &pim_cards ? "no-such-addressbook" : "no-such-calendar",
                       "you have no %s named %s (GET " API_BASE "/%s lists them)", k->coll, name,
                       k->colls);
}

static int pim_no_obj(struct api_call *c, const struct pim_kind *k, const char *coll,
                      const char *id)
{
    return api_problem(c->req, 404, k == &pim_cards ? "no-such-contact" : "no-such-event",
                       "no %s %s in your %s %s", k->obj, id, k->coll, coll);
}

/* Sets Location to the object's URL. */
static void pim_location(struct api_call *c, const struct pim_kind *k, const char *coll,
                         const char *id)
{
    struct buf loc;
    buf_init(&loc);
    if (!buf_printf(&loc, API_BASE "/%s/", k->colls) && !mg_path_encode(&loc, coll) &&
        !buf_printf(&loc, "/%s/", k->objs) && !mg_path_encode(&loc, id))
        srv_resp_header(c->req, "Location", loc.data);
    buf_release(&loc);
}

/* {id, etag, <member>} of an object's stored text; an object that cannot be
 * converted is shown with its member null and an "error" saying why. */
static json_t *pim_item(const struct pim_kind *k, const char *id, const char *etag,
                        const char *text, size_t len)
{
    char err[256] = "";
    json_t *doc = NULL;
    int rc = k->from_text(text, len, &doc, err, sizeof(err));
    json_t *v =
        json_pack("{s:s, s:s, s:o}", "id", id, "etag", etag, k->member, rc ? json_null() : doc);
    if (v && rc)
        json_object_set_new(v, "error", json_string(err));
    return v;
}

/* ---- collections ---------------------------------------------------------------------------- */

static json_t *pim_coll_json(const struct api_call *c, const struct pim_kind *k,
                             const struct dav_obj_coll *coll)
{
    char ctag[24];
    struct buf href;
    json_t *v;

    buf_init(&href);
    snprintf(ctag, sizeof(ctag), "%llu", (unsigned long long)coll->version);
    if (buf_printf(&href, "/dav/%s/%s/", k->colls, api_user(c)) ||
        mg_path_encode(&href, coll->name) || buf_putc(&href, '/')) {
        buf_release(&href);
        return NULL;
    }
    v = json_pack("{s:s, s:s?, s:s?, s:s, s:s, s:s}", "id", coll->name, "displayname",
                  coll->displayname, "description", coll->description, "ctag", ctag, "sync_token",
                  coll->sync_token, "dav_url", href.data);
    buf_release(&href);
    if (v && k == &pim_cals) {
        json_t *comps = json_array();
        for (unsigned bit = DAV_COMP_VEVENT; comps && bit <= DAV_COMP_VFREEBUSY; bit <<= 1)
            if (coll->comps & bit)
                json_array_append_new(comps, json_string(bit == DAV_COMP_VEVENT     ? "VEVENT"
                                                         : bit == DAV_COMP_VTODO    ? "VTODO"
                                                         : bit == DAV_COMP_VJOURNAL ? "VJOURNAL"
                                                                                    : "VFREEBUSY"));
        json_object_set_new(v, "components", comps);
        json_object_set_new(v, "color", coll->color ? json_string(coll->color) : json_null());
    }
    return v;
}

static int pim_colls_list(struct api_call *c, const struct pim_kind *k)
{
    struct dav_obj_scope s = pim_scope(c, k);
    struct dav_obj_coll *v = NULL;
    size_t n = 0;
    json_t *items;
    int rc = dav_objects_collections(&s, &v, &n);

    if (rc)
        return pim_store_error(c, rc, "list the collections");
    items = json_array();
    for (size_t i = 0; items && i < n; i++) {
        if (json_array_append_new(items, pim_coll_json(c, k, &v[i]))) {
            json_decref(items);
            items = NULL;
        }
    }
    dav_obj_colls_free(v, n);
    if (!items)
        return api_problem(c->req, 500, NULL, "out of memory");
    return api_send_json(c->req, 200, json_pack("{s:o, s:n}", "items", items, "next"));
}

int api_addressbooks_list(struct api_call *c)
{
    return pim_colls_list(c, &pim_cards);
}

int api_calendars_list(struct api_call *c)
{
    return pim_colls_list(c, &pim_cals);
}

/* ---- listing objects ------------------------------------------------------------------------ */

/* Reads a time-range bound: RFC 3339 ("2026-01-02T10:00:00Z", "...+02:00",
 * fractions ignored), a date ("2026-01-02", midnight UTC) or the UTC form of
 * iCalendar ("20260102T100000Z"). Returns 0 or MG_EINVAL. */
static int pim_parse_time(const char *s, int64_t *out)
{
    struct tm tm;
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0, oh = 0, om = 0;
    char sign = 0;

    if (dav_ical_parse_utc(s, out) == 0)
        return 0;
    memset(&tm, 0, sizeof(tm));
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
        return MG_EINVAL;
    s += n;
    if (*s == 'T' || *s == 't') {
        if (sscanf(s + 1, "%2d:%2d:%2d%n", &h, &mi, &sec, &n) != 3 || n != 8)
            return MG_EINVAL;
        s += 1 + n;
        if (*s == '.')
            for (s++; *s >= '0' && *s <= '9'; s++)
                ;
        if (*s == 'Z' || *s == 'z') {
            s++;
        } else if ((*s == '+' || *s == '-') && sscanf(s + 1, "%2d:%2d%n", &oh, &om, &n) == 2 &&
                   n == 5) {
            sign = *s;
            s += 1 + n;
        } else {
            return MG_EINVAL;
        }
    }
    if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || oh > 23 ||
        om > 59)
        return MG_EINVAL;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *out = (int64_t)timegm(&tm) - (sign == '+' ? 1 : sign == '-' ? -1 : 0) * (oh * 3600 + om * 60);
    return 0;
}

/* Fills the time range of q from ?start= and ?end=. Returns 0 or 400 after responding. */
static int pim_range(struct api_call *c, struct dav_obj_query *q)
{
    const char *start = srv_req_query(c->req, "start");
    const char *end = srv_req_query(c->req, "end");

    q->start = INT64_MIN;
    q->end = INT64_MAX;
    q->has_range = start || end;
    if ((start && pim_parse_time(start, &q->start)) || (end && pim_parse_time(end, &q->end)))
        return api_problem(c->req, 400, "bad-parameter",
                           "start and end are RFC 3339 times (2026-01-02T10:00:00Z), dates "
                           "(2026-01-02) or iCalendar UTC times (20260102T100000Z)");
    if (q->start >= q->end)
        return api_problem(c->req, 400, "bad-parameter", "end must be later than start");
    return 0;
}

struct pim_list {
    const struct pim_kind *k;
    json_t *items;
};

static int pim_list_one(void *ctx, const struct dav_obj *o)
{
    struct pim_list *pl = ctx;
    return json_array_append_new(pl->items, pim_item(pl->k, o->name, o->etag, o->data, o->len))
               ? MG_ENOMEM
               : 0;
}

static int pim_list(struct api_call *c, const struct pim_kind *k)
{
    static const char *const keep[] = {"limit", "start", "end", NULL};
    struct dav_obj_scope s = pim_scope(c, k);
    struct dav_obj_query q;
    struct pim_list pl = {k, NULL};
    const char *coll = c->params[0];
    const char *cursor = srv_req_query(c->req, "cursor");
    char *parts[2] = {NULL, NULL};
    char *resume = NULL, *next = NULL;
    size_t limit;
    int st, rc;

    memset(&q, 0, sizeof(q));
    st = api_page_limit(c, &limit);
    if (!st && k == &pim_cals)
        st = pim_range(c, &q);
    if (st)
        return st;
    if (cursor && (api_cursor_decode(cursor, parts, 2) || strcmp(parts[0], coll) != 0)) {
        free(parts[0]);
        free(parts[1]);
        return api_problem(c->req, 400, "bad-cursor", "the cursor was not made by this listing");
    }
    q.after = parts[1];
    q.limit = limit;
    q.budget = q.has_range ? PIM_SCAN_BUDGET : 0;
    pl.items = json_array();
    rc = pl.items ? dav_objects_list(&s, coll, &q, pim_list_one, &pl, &resume) : MG_ENOMEM;
    if (!rc && resume) {
        const char *np[2] = {coll, resume};
        rc = api_cursor_encode(np, 2, &next);
    }
    free(parts[0]);
    free(parts[1]);
    free(resume);
    if (rc) {
        json_decref(pl.items);
        free(next);
        return rc == MG_ENOTFOUND ? pim_no_coll(c, k, coll)
                                  : pim_store_error(c, rc, "list the objects");
    }
    if (next)
        api_link_next(c, keep, next);
    st = api_send_json(
        c->req, 200,
        json_pack("{s:o, s:o}", "items", pl.items, "next", next ? json_string(next) : json_null()));
    free(next);
    return st;
}

int api_contacts_list(struct api_call *c)
{
    return pim_list(c, &pim_cards);
}

int api_events_list(struct api_call *c)
{
    return pim_list(c, &pim_cals);
}

/* ---- one object ----------------------------------------------------------------------------- */

static int pim_get(struct api_call *c, const struct pim_kind *k)
{
    struct dav_obj_scope s = pim_scope(c, k);
    const char *coll = c->params[0], *id = c->params[1];
    char etag[DAV_OBJ_ETAG_LEN];
    struct buf text;
    int rc, st;

    buf_init(&text);
    rc = dav_objects_get(&s, coll, id, &text, etag, NULL);
    if (rc == MG_ENOTFOUND)
        st = pim_no_obj(c, k, coll, id);
    else if (rc)
        st = pim_store_error(c, rc, "read the object");
    else {
        srv_resp_header(c->req, "ETag", etag);
        if (api_if_none_match_etag(c->req, etag))
            st = srv_respond(c->req, 304, NULL, NULL, 0);
        else
            st = api_send_json(c->req, 200,
                               pim_item(k, id, etag, text.data ? text.data : "", text.len));
    }
    buf_release(&text);
    return st;
}

int api_contact_get(struct api_call *c)
{
    return pim_get(c, &pim_cards);
}

int api_event_get(struct api_call *c)
{
    return pim_get(c, &pim_cals);
}

/* A new UID: a random (version 4) UUID, with the kind's prefix. */
static void pim_new_uid(const struct pim_kind *k, char *out, size_t cap)
{
    uint8_t r[16];
    char h[33];
    randombytes_buf(r, sizeof(r));
    r[6] = (uint8_t)((r[6] & 0x0f) | 0x40);
    r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);
    mg_hex_encode(r, sizeof(r), h);
    snprintf(out, cap, "%s%.8s-%.4s-%.4s-%.4s-%.12s", k->uid_prefix, h, h + 8, h + 12, h + 16,
             h + 20);
}

/* The name of a new object: its UID where that makes a plain name (a
 * "urn:uuid:" prefix dropped), else the hex of a hash of it; with the
 * extension. random: a random name instead (the UID's name was taken). */
static void pim_new_name(const struct pim_kind *k, const char *uid, int random, char *out,
                         size_t cap)
{
    const char *u = strncasecmp(uid, "urn:uuid:", 9) == 0 ? uid + 9 : uid;
    size_t n = strlen(u);
    int plain = n > 0 && n <= PIM_UID_NAME_MAX && u[0] != '.' && !random;
    for (size_t i = 0; plain && i < n; i++)
        plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_@",
                       u[i]) != NULL;
    if (plain) {
        snprintf(out, cap, "%s%s", u, k->ext);
        return;
    }
    uint8_t h[16];
    char hex[33];
    if (random)
        randombytes_buf(h, sizeof(h));
    else
        crypto_generichash(h, sizeof(h), (const unsigned char *)uid, strlen(uid), NULL, 0);
    mg_hex_encode(h, sizeof(h), hex);
    snprintf(out, cap, "%s%s", hex, k->ext);
}

/* Answers a refused write. */
static int pim_refused(struct api_call *c, const struct pim_kind *k, const char *coll,
                       const struct dav_obj_put_op *p)
{
    const char *bad = k == &pim_cards ? "bad-jcard" : "bad-jcal";
    switch (p->refusal) {
    case DAV_OBJ_BAD_NAME:
        return api_problem(c->req, 400, "bad-id",
                           "an id is 1-255 bytes of text without '/' (not \".\" or \"..\")");
    case DAV_OBJ_NO_COLLECTION:
    case DAV_OBJ_WRONG_COLLECTION:
        return pim_no_coll(c, k, coll);
    case DAV_OBJ_IS_COLLECTION:
        return api_problem(c->req, 409, "is-a-collection", "%s", p->err);
    case DAV_OBJ_TOO_BIG:
        return api_problem(c->req, 413, "object-too-large", "%s", p->err);
    case DAV_OBJ_BAD_DATA:
    case DAV_OBJ_BAD_OBJECT:
        return api_problem(c->req, 400, bad, "not a valid %s: %s", k->obj, p->err);
    case DAV_OBJ_BAD_COMPONENT:
        return api_problem(c->req, 422, "unsupported-component", "%s", p->err);
    case DAV_OBJ_UID_CONFLICT:
        return api_problem(c->req, 409, "uid-conflict",
                           "%s %s of this %s has the same UID; change that one instead", k->obj,
                           p->holder ? p->holder : "?", k->coll);
    case DAV_OBJ_LOCKED:
        return api_problem(c->req, 423, "locked",
                           "a WebDAV client holds a lock on this %s; try again once it is released",
                           k->obj);
    default:
        return api_problem(c->req, 412, "etag-mismatch",
                           "the %s changed (If-Match), or exists already (If-None-Match: *)",
                           k->obj);
    }
}

/* Stores the request's JSON document as object id (NULL: a new name from
 * its UID) of collection coll. Answers 201 or 200 with the stored object. */
static int pim_write(struct api_call *c, const struct pim_kind *k, const char *coll, const char *id)
{
    struct dav_obj_scope s = pim_scope(c, k);
    struct dav_obj_put_op p;
    char err[256] = "", uid[64], name[PIM_UID_NAME_MAX + 40];
    char *old_uid = NULL;
    struct buf text, ignored;
    int rc, st;

    memset(&p, 0, sizeof(p));
    buf_init(&text);
    buf_init(&ignored);
    if (!k->uid(c->json)) {
        /* keep the UID of the object replaced; else make one (RFC 6350 6.7.6) */
        char etag[DAV_OBJ_ETAG_LEN];
        if (!id || dav_objects_get(&s, coll, id, &ignored, etag, &old_uid) || !old_uid)
            pim_new_uid(k, uid, sizeof(uid));
        if (k->set_uid(c->json, old_uid ? old_uid : uid) == MG_ENOMEM) {
            st = api_problem(c->req, 500, NULL, "out of memory");
            goto out;
        }
    }
    rc = k->to_text(c->json, &text, err, sizeof(err));
    if (rc) {
        st = rc == MG_EINVAL
                 ? api_problem(c->req, 400, k == &pim_cards ? "bad-jcard" : "bad-jcal", "%s", err)
                 : api_problem(c->req, 500, NULL, "out of memory");
        goto out;
    }
    if (id) {
        p.if_match = srv_req_header(c->req, "If-Match");
        p.if_none_match = srv_req_header(c->req, "If-None-Match");
    } else {
        p.if_none_match = "*";
        pim_new_name(k, k->uid(c->json) ? k->uid(c->json) : "", 0, name, sizeof(name));
        id = name;
    }
    rc = dav_objects_put(&s, coll, id, text.data, text.len, &p);
    if (id == name && rc == MG_EINVAL && p.refusal == DAV_OBJ_PRECONDITION) {
        /* the UID's name is taken by an object with another UID */
        dav_obj_put_op_release(&p);
        pim_new_name(k, "", 1, name, sizeof(name));
        rc = dav_objects_put(&s, coll, id, text.data, text.len, &p);
    }
    if (rc == MG_EINVAL)
        st = pim_refused(c, k, coll, &p);
    else if (rc)
        st = pim_store_error(c, rc, "store the object");
    else {
        if (p.created)
            pim_location(c, k, coll, id);
        srv_resp_header(c->req, "ETag", p.etag);
        st = api_send_json(c->req, p.created ? 201 : 200,
                           pim_item(k, id, p.etag, text.data, text.len));
    }
out:
    dav_obj_put_op_release(&p);
    buf_release(&text);
    buf_release(&ignored);
    free(old_uid);
    return st;
}

int api_contact_create(struct api_call *c)
{
    return pim_write(c, &pim_cards, c->params[0], NULL);
}

int api_event_create(struct api_call *c)
{
    return pim_write(c, &pim_cals, c->params[0], NULL);
}

int api_contact_put(struct api_call *c)
{
    return pim_write(c, &pim_cards, c->params[0], c->params[1]);
}

int api_event_put(struct api_call *c)
{
    return pim_write(c, &pim_cals, c->params[0], c->params[1]);
}

static int pim_delete(struct api_call *c, const struct pim_kind *k)
{
    struct dav_obj_scope s = pim_scope(c, k);
    const char *coll = c->params[0], *id = c->params[1];
    enum dav_obj_refusal why;
    struct dav_obj_put_op p;
    int rc = dav_objects_delete(&s, coll, id, srv_req_header(c->req, "If-Match"), &why);

    if (rc == MG_ENOTFOUND)
        return pim_no_obj(c, k, coll, id);
    if (rc == MG_EINVAL) {
        memset(&p, 0, sizeof(p));
        p.refusal = why;
        return pim_refused(c, k, coll, &p);
    }
    if (rc)
        return pim_store_error(c, rc, "delete the object");
    return srv_respond(c->req, 204, NULL, NULL, 0);
}

int api_contact_delete(struct api_call *c)
{
    return pim_delete(c, &pim_cards);
}

int api_event_delete(struct api_call *c)
{
    return pim_delete(c, &pim_cals);
}
