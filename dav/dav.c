/*
 * dav.c - the DAV module: routes, per-request state, method dispatch,
 * OPTIONS, the well-known redirects (RFC 6764), PROPFIND on "/" for
 * discovery, and the checks every modifying method shares (If header and
 * locks, RFC 4918 7 and 10.4).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "dav_private.h"
#include "meshgate/dav.h"

#define DAV_ALLOW_TREE                                                                             \
    "OPTIONS, GET, HEAD, PUT, DELETE, MKCOL, COPY, MOVE, PROPFIND, PROPPATCH, LOCK, UNLOCK, "      \
    "REPORT"
#define DAV_ALLOW_CAL DAV_ALLOW_TREE ", MKCALENDAR"
#define DAV_ALLOW_VIRTUAL "OPTIONS, GET, HEAD, PROPFIND, REPORT"
/* RFC 4918 10.1 (1, 2, 3), RFC 3744 (access-control), RFC 4791 5.1
 * (calendar-access), RFC 6352 6.1 (addressbook), RFC 5689 (extended-mkcol) */
#define DAV_COMPLIANCE "1, 2, 3, access-control, calendar-access, addressbook, extended-mkcol"

struct dav_module *dav_new(struct dht *d, const struct mg_config *cfg)
{
    struct dav_module *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->d = d;
    m->cfg = cfg;
    /* libxml2's global state is set up once, before any thread parses */
    xmlInitParser();
    /* libical: report errors as X-LIC-ERROR properties, never abort; load
     * the UTC zone (shared by every thread) before any thread asks for it */
    icalerror_set_errors_are_fatal(0);
    (void)icaltimezone_get_utc_timezone();
    return m;
}

void dav_free(struct dav_module *m)
{
    free(m);
}

void dav_req_release(struct dav_req *r)
{
    dav_path_release(&r->path);
    dav_if_release(&r->ifh);
    dav_lockset_release(&r->locks);
    dav_put_state_free(r->put);
    r->put = NULL;
}

static void dav_req_free(void *p)
{
    struct dav_req *r = p;
    if (!r)
        return;
    dav_req_release(r);
    free(r);
}

const char *dav_req_shown(const struct dav_req *r)
{
    return r->shown ? r->shown : srv_req_path(r->req);
}

static int dav_vfail(struct dav_req *r, int status, const char *reason, const char *cond,
                     const char *href, const char *fmt, va_list ap)
{
    struct buf msg;
    int rc;

    if (r->fail) {
        r->fail->status = status;
        r->fail->reason = reason;
        vsnprintf(r->fail->detail, sizeof(r->fail->detail), fmt, ap);
        return status;
    }
    buf_init(&msg);
    if (buf_vprintf(&msg, fmt, ap))
        return srv_respond_text(r->req, 500, "out of memory");
    rc = dav_respond_error(r->req, status, cond, href, msg.data);
    buf_release(&msg);
    return rc;
}

int dav_fail(struct dav_req *r, int status, const char *reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = dav_vfail(r, status, reason, NULL, NULL, fmt, ap);
    va_end(ap);
    return rc;
}

int dav_fail_cond(struct dav_req *r, int status, const char *reason, const char *cond,
                  const char *href, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = dav_vfail(r, status, reason, cond, href, fmt, ap);
    va_end(ap);
    return rc;
}

int dav_req_locks(struct dav_req *r)
{
    int rc;
    if (r->locks_loaded)
        return 0;
    rc = dav_locks_load(r->m, r->path.user, &r->locks);
    if (!rc)
        r->locks_loaded = 1;
    return rc;
}

int dav_respond_store_error(struct dav_req *r, int err)
{
    switch (err) {
    case MG_ENOTFOUND:
        return dav_fail(r, 404, "not-found", "no resource at %s", dav_req_shown(r));
    case MG_EPRECOND:
        return dav_fail(r, 412, "etag-mismatch", "the resource changed meanwhile; retry");
    case MG_ETOOBIG:
        return dav_fail(r, 507, "insufficient-storage", "the resource is too large to store");
    case MG_EUNAVAIL:
        return dav_fail(r, 503, "store-unavailable", "not enough replicas answered; retry later");
    case MG_ENOMEM:
        return dav_fail(r, 500, NULL, "out of memory");
    default:
        log_err("dav: store error path=%s err=%s", dav_req_shown(r), mg_strerror(err));
        return dav_fail(r, 500, NULL, "storage error: %s", mg_strerror(err));
    }
}

int dav_load_target(struct dav_req *r, struct dav_res *res, int *status)
{
    int rc = dav_res_load(r->m, r->path.user, r->path.kind, r->path.rel, res);

    if (rc) {
        *status = dav_respond_store_error(r, rc);
        return 1;
    }
    if (!res->exists) {
        *status = dav_fail(r, 404, "not-found", "no resource at %s", dav_req_shown(r));
        return 1;
    }
    *status = 0;
    return 0;
}

/* ---- If header and locks ------------------------------------------------------- */

/* Resolves an If-header resource tag (NULL: the request's resource) to a rel of
 * the request's tree. Returns a malloc'd rel or NULL when it names nothing ours. */
static char *tag_rel(struct dav_req *r, const char *tag)
{
    struct dav_path p;
    char *path = NULL, *rel = NULL;

    if (!tag)
        return mg_strdup(r->path.rel ? r->path.rel : "");
    /* the tag's host is not checked: a tag only ever narrows what is matched */
    if (dav_parse_uri(tag, NULL, &path))
        return NULL;
    if (dav_path_parse(path, &p) == 0 && p.area == DAV_AREA_TREE && p.kind == r->path.kind &&
        strcmp(p.user, r->path.user) == 0) {
        rel = p.rel;
        p.rel = NULL;
    }
    dav_path_release(&p);
    free(path);
    return rel;
}

static int if_has_token(void *ctx, const char *tag, const char *token)
{
    struct dav_req *r = ctx;
    struct buf key, pkey;
    char *parent = NULL;
    char *rel = tag_rel(r, tag);
    int found = 0;

    if (!rel || dav_req_locks(r)) {
        free(rel);
        return 0;
    }
    buf_init(&key);
    buf_init(&pkey);
    /* Untagged lists also accept the token of a lock on the parent: clients
     * adding a member to a depth-0 locked folder often send it that way. */
    if (!tag && rel[0]) {
        parent = dav_rel_parent(rel);
        if (parent)
            dav_lock_key(&pkey, r->path.kind, parent);
    }
    if (dav_lock_key(&key, r->path.kind, rel) == 0) {
        for (size_t i = 0; i < r->locks.n && !found; i++) {
            const struct dav_lock *l = &r->locks.v[i];
            found = strcmp(l->token, token) == 0 &&
                    (dav_lock_covers(l, key.data) || (pkey.len && dav_lock_covers(l, pkey.data)));
        }
    }
    buf_release(&key);
    buf_release(&pkey);
    free(parent);
    free(rel);
    return found;
}

static int if_etag_is(void *ctx, const char *tag, const char *etag)
{
    struct dav_req *r = ctx;
    struct dav_res res;
    char *rel = tag_rel(r, tag);
    char cur[2 * DAV_ETAG_BYTES + 3];
    int match = 0;

    if (!rel)
        return 0;
    dav_res_init(&res);
    if (dav_res_load(r->m, r->path.user, r->path.kind, rel, &res) == 0 && res.exists &&
        res.rec.type == DAV_RT_FILE) {
        dav_record_etag(&res.rec, cur, sizeof(cur));
        match = dav_etag_list_match(etag, cur, 1);
    }
    dav_res_release(&res);
    free(rel);
    return match;
}

int dav_check_if(struct dav_req *r, const char *rel)
{
    static const struct dav_if_ops ops = {if_has_token, if_etag_is};
    (void)rel;
    if (!r->have_if)
        return 0;
    /* RFC 4918 10.4.3: no list matched */
    if (!dav_if_eval(&r->ifh, &ops, r))
        return dav_fail(r, 412, "precondition-failed",
                        "no list of the If header matched the resource");
    return 0;
}

static int submitted(struct dav_req *r, const struct dav_lock *l)
{
    return r->have_if && dav_if_submits(&r->ifh, l->token) &&
           (!l->principal[0] || strcmp(l->principal, r->user) == 0);
}

int dav_check_locks(struct dav_req *r, const char *rel, int flags)
{
    struct buf key, pkey, root;
    char *parent = NULL;
    const struct dav_lock *blocker = NULL, *shared_blocker = NULL;
    int shared_ok = 0;
    int rc;

    rc = dav_req_locks(r);
    if (rc)
        return dav_respond_store_error(r, rc);
    if (r->locks.n == 0)
        return 0;
    buf_init(&key);
    buf_init(&pkey);
    buf_init(&root);
    if (dav_lock_key(&key, r->path.kind, rel))
        goto nomem;
    if ((flags & DAV_W_PARENT) && rel[0]) {
        parent = dav_rel_parent(rel);
        if (!parent || dav_lock_key(&pkey, r->path.kind, parent))
            goto nomem;
    }
    for (size_t i = 0; i < r->locks.n; i++) {
        const struct dav_lock *l = &r->locks.v[i];
        int needed = ((flags & DAV_W_SELF) && dav_lock_covers(l, key.data)) ||
                     ((flags & DAV_W_MEMBERS) && dav_key_is_below(l->key, key.data)) ||
                     (pkey.len && dav_lock_covers(l, pkey.data));
        if (!needed)
            continue;
        if (l->exclusive) {
            if (!blocker && !submitted(r, l))
                blocker = l;
        } else {
            /* RFC 4918 6.2: any holder of one of the shared locks may write */
            if (!shared_blocker)
                shared_blocker = l;
            if (submitted(r, l))
                shared_ok = 1;
        }
    }
    if (!blocker && shared_blocker && !shared_ok)
        blocker = shared_blocker;
    if (blocker) {
        /* RFC 4918 7 and 8.10.7: 423 naming the root of the lock not submitted */
        const char *lrel = strchr(blocker->key, '/');
        lrel = lrel ? lrel + 1 : "";
        if (dav_tree_path(&root, r->path.user, r->path.kind, lrel, blocker->folder))
            goto nomem;
        rc = dav_fail_cond(r, 423, "locked", "lock-token-submitted", root.data,
                           "%s is locked: submit the lock token in an If header (WebDAV) or "
                           "wait until the lock is released",
                           root.data);
        goto out;
    }
    rc = 0;
    goto out;
nomem:
    rc = dav_fail(r, 500, NULL, "out of memory");
out:
    free(parent);
    buf_release(&key);
    buf_release(&pkey);
    buf_release(&root);
    return rc;
}

/* Returns 0 when the parent of rel exists and is a folder, else responds 409. */
int dav_check_parent(struct dav_req *r, const char *rel)
{
    struct dav_res parent;
    char *prel;
    int rc;

    prel = dav_rel_parent(rel);
    if (!prel)
        return dav_fail(r, 500, NULL, "out of memory");
    if (!prel[0]) {
        free(prel); /* the root always exists */
        return 0;
    }
    dav_res_init(&parent);
    rc = dav_res_load(r->m, r->path.user, r->path.kind, prel, &parent);
    if (rc)
        rc = dav_respond_store_error(r, rc);
    else if (!parent.exists || parent.rec.type != DAV_RT_FOLDER)
        rc = dav_fail(r, 409, "parent-missing", "the parent folder of /%s does not exist", rel);
    dav_res_release(&parent);
    free(prel);
    return rc;
}

int dav_check_http_conditions(struct dav_req *r, const struct dav_res *res)
{
    const char *im = srv_req_header(r->req, "If-Match");
    const char *inm = srv_req_header(r->req, "If-None-Match");
    const char *ius = srv_req_header(r->req, "If-Unmodified-Since");
    char etag[2 * DAV_ETAG_BYTES + 3];
    const char *cur = NULL, *why;

    if (!im && !inm && !ius)
        return 0;
    if (res->exists && res->rec.type == DAV_RT_FILE) {
        dav_record_etag(&res->rec, etag, sizeof(etag));
        cur = etag;
    }
    /* RFC 7232 3.1, 3.2 */
    why = dav_etag_preconditions(im, inm, res->exists, cur);
    if (why)
        return dav_fail(r, 412, "etag-mismatch", "%s", why);
    if (!im && ius && res->exists) {
        /* RFC 7232 3.4 */
        int64_t t = dav_parse_http_date(ius);
        if (t >= 0 && res->rec.mtime_ms / 1000 > t)
            return dav_fail(r, 412, "etag-mismatch", "modified since If-Unmodified-Since");
    }
    return 0;
}

/* ---- OPTIONS ---------------------------------------------------------------------- */

static int dav_headers(struct dav_req *r, const char *allow)
{
    /* RFC 4918 10.1 and 18 */
    if (srv_resp_header(r->req, "DAV", DAV_COMPLIANCE) || srv_resp_header(r->req, "Allow", allow) ||
        srv_resp_header(r->req, "MS-Author-Via", "DAV"))
        return MG_ENOMEM;
    return 0;
}

int dav_options(struct dav_req *r)
{
    const char *allow = r->path.area != DAV_AREA_TREE        ? DAV_ALLOW_VIRTUAL
                        : r->path.kind == DAV_KIND_CALENDARS ? DAV_ALLOW_CAL
                                                             : DAV_ALLOW_TREE;
    if (dav_headers(r, allow))
        return srv_respond_text(r->req, 500, "out of memory");
    return srv_respond(r->req, 200, NULL, "", 0);
}

/* ---- dispatch --------------------------------------------------------------------------- */

static int method_is(const char *m, const char *name)
{
    return strcmp(m, name) == 0;
}

static int not_allowed(struct dav_req *r, const char *allow)
{
    srv_resp_header(r->req, "Allow", allow);
    return srv_respond_text(r->req, 405, "method %s not allowed on %s", srv_req_method(r->req),
                            srv_req_path(r->req));
}

/* Methods on /dav/, /dav/files/, /dav/principals/, /dav/principals/<user>/. */
static int dispatch_virtual(struct dav_req *r, const char *method)
{
    if (method_is(method, "OPTIONS"))
        return dav_options(r);
    if (method_is(method, "PROPFIND"))
        return dav_propfind(r);
    if (r->path.area == DAV_AREA_SITE_ROOT)
        return not_allowed(r, "PROPFIND");
    if (method_is(method, "REPORT"))
        return dav_report(r);
    if (method_is(method, "GET") || method_is(method, "HEAD"))
        return dav_get(r, method_is(method, "HEAD"));
    return not_allowed(r, DAV_ALLOW_VIRTUAL);
}

static int dispatch_tree(struct dav_req *r, const char *method)
{
    int objects = r->path.kind != DAV_KIND_FILES;

    if (method_is(method, "PROPFIND"))
        return dav_propfind(r);
    if (method_is(method, "REPORT"))
        return dav_report(r);
    if (method_is(method, "PUT"))
        return objects ? dav_obj_put(r) : dav_put_end(r);
    if (method_is(method, "MKCALENDAR"))
        return dav_mkcalendar(r, 0);
    if (method_is(method, "DELETE"))
        return dav_delete(r);
    if (method_is(method, "MKCOL"))
        return dav_mkcol(r);
    if (method_is(method, "COPY"))
        return dav_copymove(r, 0);
    if (method_is(method, "MOVE"))
        return dav_copymove(r, 1);
    if (method_is(method, "PROPPATCH"))
        return dav_proppatch(r);
    if (method_is(method, "LOCK"))
        return dav_lock(r);
    if (method_is(method, "UNLOCK"))
        return dav_unlock(r);
    if (method_is(method, "OPTIONS"))
        return dav_options(r);
    if (method_is(method, "GET") || method_is(method, "HEAD"))
        return dav_get(r, method_is(method, "HEAD"));
    return not_allowed(r, r->path.kind == DAV_KIND_CALENDARS ? DAV_ALLOW_CAL : DAV_ALLOW_TREE);
}

static int dav_begin(struct srv_request *req, void *ctx)
{
    struct dav_module *m = ctx;
    struct dav_req *r;
    const char *method = srv_req_method(req);
    const char *ifv;
    int rc;

    r = calloc(1, sizeof(*r));
    if (!r)
        return srv_respond_text(req, 500, "out of memory");
    srv_req_set_state(req, r, dav_req_free);
    r->m = m;
    r->req = req;
    r->user = srv_req_user(req);
    if (!r->user)
        return srv_respond_text(req, 401, "authentication required");
    /* litmus delete_fragment: a fragment never reaches a server legitimately */
    if (strchr(srv_req_raw_path(req), '#'))
        return srv_respond_text(req, 400, "a request URI must not contain a fragment");
    if (strcmp(srv_req_path(req), "/") == 0) {
        /* discovery: iOS and macOS ask the server's root (RFC 6764 6) */
        memset(&r->path, 0, sizeof(r->path));
        r->path.area = DAV_AREA_SITE_ROOT;
        return 0;
    }
    rc = dav_path_parse(srv_req_path(req), &r->path);
    if (rc == MG_ETOOBIG)
        return srv_respond_text(req, 414, "path too long");
    if (rc == MG_ENOMEM)
        return srv_respond_text(req, 500, "out of memory");
    if (rc || r->path.area == DAV_AREA_NONE)
        return srv_respond_text(req, 404, "no resource at %s", srv_req_path(req));
    /* A user reaches only their own tree and principal. */
    if ((r->path.area == DAV_AREA_TREE || r->path.area == DAV_AREA_PRINCIPAL) &&
        strcmp(r->path.user, r->user) != 0)
        return dav_respond_error(req, 403, "need-privileges", srv_req_path(req),
                                 "this resource belongs to another user");
    ifv = srv_req_header(req, "If");
    if (ifv) {
        rc = dav_if_parse(ifv, &r->ifh);
        if (rc == MG_ENOMEM)
            return srv_respond_text(req, 500, "out of memory");
        if (rc)
            return srv_respond_text(req, 400, "malformed If header (RFC 4918 10.4)");
        r->have_if = 1;
    }
    /* Everything else is answered from end(): a response queued on the first
     * callback makes libmicrohttpd close the connection (it cannot know the
     * body was empty), and keep-alive matters for GET throughput. */
    if (r->path.area != DAV_AREA_TREE)
        return 0;
    if (method_is(method, "PUT") && r->path.kind != DAV_KIND_FILES) {
        /* calendar and address objects are parsed whole: the glue buffers
         * them; refuse what is too big before reading it */
        int64_t clen = srv_req_content_length(req);
        if (clen > 0 && (uint64_t)clen > dav_obj_max(m))
            return dav_respond_error_ns(
                req, 403, r->path.kind == DAV_KIND_CALENDARS ? DAV_NS_CALDAV : DAV_NS_CARDDAV,
                "max-resource-size", NULL, "the object is larger than max-resource-size");
        return 0;
    }
    if (method_is(method, "PUT"))
        return dav_put_begin(r);
    return 0;
}

static int dav_end(struct srv_request *req, void *ctx)
{
    struct dav_req *r = srv_req_state(req);
    const char *method = srv_req_method(req);
    (void)ctx;

    /* the work of a request happens here, on this thread: a fresh budget */
    dav_ical_budget_reset(DAV_REQUEST_ITER_BUDGET);
    if (!r)
        return srv_respond_text(req, 500, "missing request state");
    if (r->path.area != DAV_AREA_TREE)
        return dispatch_virtual(r, method);
    return dispatch_tree(r, method);
}

/* RFC 6764 5: /.well-known/caldav and /carddav point at the DAV context path. */
static int well_known_begin(struct srv_request *req, void *ctx)
{
    (void)ctx;
    if (srv_resp_header(req, "Location", "/dav/"))
        return srv_respond_text(req, 500, "out of memory");
    return srv_respond_text(req, 301, "see /dav/");
}

static int well_known_end(struct srv_request *req, void *ctx)
{
    return well_known_begin(req, ctx);
}

int dav_register_routes(struct dav_module *m, struct srv_server *s)
{
    struct srv_route dav = {"/dav/", SRV_AUTH_BASIC, dav_begin, dav_end, m, NULL};
    /* the portal owns "/" for GET; PROPFIND on it is discovery */
    struct srv_route root = {"/", SRV_AUTH_BASIC, dav_begin, dav_end, m, "PROPFIND"};
    struct srv_route caldav = {
        "/.well-known/caldav", SRV_AUTH_NONE, well_known_begin, well_known_end, m, NULL};
    struct srv_route carddav = {
        "/.well-known/carddav", SRV_AUTH_NONE, well_known_begin, well_known_end, m, NULL};
    int rc = srv_add_route(s, &dav);
    if (!rc)
        rc = srv_add_route(s, &root);
    if (!rc)
        rc = srv_add_route(s, &caldav);
    if (!rc)
        rc = srv_add_route(s, &carddav);
    return rc;
}
