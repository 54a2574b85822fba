/*
 * lock.c - LOCK and UNLOCK (RFC 4918 9.10, 9.11): exclusive and shared write
 * locks of depth 0 or infinity, refresh, and locking an unmapped URL, which
 * creates an empty resource (RFC 4918 7.3).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dav_private.h"

struct lockinfo {
    int exclusive;
    char *owner; /* serialised DAV:owner or NULL */
};

/* RFC 4918 14.11: <lockinfo> = lockscope, locktype, owner? */
static int parse_lockinfo(const char *body, size_t len, const struct mg_limits *lim,
                          struct lockinfo *li)
{
    xmlDoc *doc = NULL;
    xmlNode *root;
    int scope = 0, type = 0, status;

    memset(li, 0, sizeof(*li));
    status = dav_xml_parse(body, len, lim, &doc);
    if (status)
        return status;
    status = 400;
    root = xmlDocGetRootElement(doc);
    if (!dav_xml_is(root, "lockinfo"))
        goto out;
    for (xmlNode *c = dav_xml_first_elem(root); c; c = dav_xml_next_elem(c)) {
        if (dav_xml_is(c, "lockscope")) {
            xmlNode *s = dav_xml_first_elem(c);
            if (dav_xml_is(s, "exclusive"))
                li->exclusive = 1;
            else if (!dav_xml_is(s, "shared"))
                goto out;
            scope = 1;
        } else if (dav_xml_is(c, "locktype")) {
            if (!dav_xml_is(dav_xml_first_elem(c), "write"))
                goto out;
            type = 1;
        } else if (dav_xml_is(c, "owner")) {
            struct buf b;
            buf_init(&b);
            if (dav_xml_serialize(c, &b) || b.len > 4096) {
                buf_release(&b);
                goto out;
            }
            free(li->owner);
            li->owner = buf_detach(&b, NULL);
        }
    }
    if (scope && type)
        status = 0;
out:
    if (status) {
        free(li->owner);
        li->owner = NULL;
    }
    xmlFreeDoc(doc);
    return status;
}

/* The body of a LOCK response: the lockdiscovery of the locks given. */
static int respond_locks(struct dav_req *r, int status, const struct dav_lock *const *locks,
                         size_t n)
{
    struct buf out, root;
    uint64_t now = mg_now_ms();
    int rc;

    buf_init(&out);
    buf_init(&root);
    rc = buf_puts(&out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                        "<D:prop xmlns:D=\"DAV:\"><D:lockdiscovery>");
    for (size_t i = 0; !rc && i < n; i++) {
        const char *lrel = strchr(locks[i]->key, '/');
        buf_reset(&root);
        rc = dav_tree_path(&root, r->path.user, r->path.kind, lrel ? lrel + 1 : "",
                           locks[i]->folder);
        if (!rc)
            rc = dav_lock_xml(&out, locks[i], root.data, now);
    }
    if (!rc)
        rc = buf_puts(&out, "</D:lockdiscovery></D:prop>\n");
    buf_release(&root);
    if (rc) {
        buf_release(&out);
        return srv_respond_text(r->req, 500, "out of memory");
    }
    return srv_respond_buf(r->req, status, "application/xml; charset=utf-8", &out);
}

/* RFC 4918 9.10.2: a LOCK without a body refreshes the locks whose tokens the
 * If header submits and that apply to the request URI. */
static int refresh(struct dav_req *r, const char *key, long timeout)
{
    const struct dav_lock **hits = NULL;
    size_t n = 0;
    uint64_t expires = mg_now_ms() + (uint64_t)timeout * 1000;
    int rc;

    if (!r->have_if)
        return srv_respond_text(r->req, 400, "a LOCK refresh needs an If header with the token");
    rc = dav_check_if(r, r->path.rel);
    if (rc)
        return rc;
    rc = dav_req_locks(r);
    if (rc)
        return dav_respond_store_error(r, rc);
    hits = calloc(r->locks.n + 1, sizeof(*hits));
    if (!hits)
        return srv_respond_text(r->req, 500, "out of memory");
    for (size_t i = 0; i < r->locks.n; i++) {
        struct dav_lock *l = &r->locks.v[i];
        if (!dav_lock_covers(l, key) || !dav_if_submits(&r->ifh, l->token) ||
            (l->principal[0] && strcmp(l->principal, r->user) != 0))
            continue;
        rc = dav_lock_refresh(r->m, r->path.user, l->key, l->token, timeout, expires);
        if (rc == MG_ENOTFOUND)
            continue;
        if (rc) {
            free(hits);
            return dav_respond_store_error(r, rc);
        }
        l->timeout = timeout;
        l->expires_ms = expires;
        hits[n++] = l;
    }
    if (n == 0) {
        free(hits);
        return dav_respond_error(r->req, 412, "lock-token-matches-request-uri", NULL,
                                 "no lock submitted in the If header applies to this resource");
    }
    rc = respond_locks(r, 200, hits, n);
    free(hits);
    return rc;
}

/* Writes an empty file at rel (RFC 4918 7.3: locking an unmapped URL). */
static int create_empty(struct dav_req *r, struct dav_res *res)
{
    struct dht_blob_writer *w = NULL;
    struct dht_manifest man;
    struct dav_record rec;
    struct buf mbuf;
    int64_t now = (int64_t)mg_now_ms();
    int rc;

    dht_manifest_init(&man);
    buf_init(&mbuf);
    rc = dht_blob_writer_new(r->m->d, 0, &w);
    if (!rc)
        rc = dht_blob_finish(w, &man);
    if (!rc)
        rc = dht_manifest_encode(&man, &mbuf);
    if (!rc) {
        const char *ct = dav_guess_ctype(dav_rel_name(r->path.rel));
        dav_record_init(&rec);
        rec.type = DAV_RT_FILE;
        rec.size = 0;
        rec.mtime_ms = rec.ctime_ms = now;
        memcpy(rec.hash, man.content_hash, DHT_HASH_LEN);
        rec.ctype.p = ct;
        rec.ctype.n = strlen(ct);
        rec.manifest.p = mbuf.data;
        rec.manifest.n = mbuf.len;
        rc = dav_res_store(r->m, res, &rec);
    }
    dht_blob_writer_free(w);
    dht_manifest_release(&man);
    buf_release(&mbuf);
    return rc;
}

int dav_lock(struct dav_req *r)
{
    struct lockinfo li = {0, NULL};
    struct dav_res res;
    struct dav_lock l;
    struct buf key, conflict_root;
    const struct dav_lock *one;
    char token[80], hdr[96];
    const char *body;
    size_t blen = 0;
    long timeout;
    int depth, created = 0, rc;

    memset(&l, 0, sizeof(l));
    dav_res_init(&res);
    buf_init(&key);
    buf_init(&conflict_root);
    timeout = dav_parse_timeout(srv_req_header(r->req, "Timeout"));
    if (dav_lock_key(&key, r->path.kind, r->path.rel)) {
        rc = srv_respond_text(r->req, 500, "out of memory");
        goto out;
    }
    body = srv_req_body(r->req, &blen);
    if (blen == 0) {
        rc = refresh(r, key.data, timeout);
        goto out;
    }
    /* RFC 4918 9.10.3: Depth 0 or infinity, infinity by default */
    if (dav_parse_depth(srv_req_header(r->req, "Depth"), DAV_DEPTH_INFINITY, &depth) ||
        depth == DAV_DEPTH_1) {
        rc = srv_respond_text(r->req, 400, "LOCK takes Depth 0 or infinity");
        goto out;
    }
    rc = parse_lockinfo(body, blen, &r->m->cfg->limits, &li);
    if (rc) {
        rc = srv_respond_text(r->req, rc, "malformed DAV:lockinfo");
        goto out;
    }
    rc = dav_res_load(r->m, r->path.user, r->path.kind, r->path.rel, &res);
    if (rc) {
        rc = dav_respond_store_error(r, rc);
        goto out;
    }
    if (!res.exists) {
        rc = dav_check_parent(r, r->path.rel);
        if (rc)
            goto out;
    }
    rc = dav_check_http_conditions(r, &res);
    if (!rc)
        rc = dav_check_if(r, r->path.rel);
    if (rc)
        goto out;
    if (!res.exists) {
        /* a new member changes its parent's membership */
        rc = dav_check_locks(r, r->path.rel, DAV_W_PARENT);
        if (rc)
            goto out;
    }
    rc = dav_req_locks(r);
    if (rc) {
        rc = dav_respond_store_error(r, rc);
        goto out;
    }
    /* RFC 4918 6.1, 9.10.5: an exclusive lock conflicts with any other lock on
     * the resource or, for Depth infinity, below it; shared locks coexist */
    for (size_t i = 0; i < r->locks.n; i++) {
        const struct dav_lock *o = &r->locks.v[i];
        int overlaps = dav_lock_covers(o, key.data) ||
                       (depth == DAV_DEPTH_INFINITY && dav_key_is_below(o->key, key.data));
        if (!overlaps || (!li.exclusive && !o->exclusive))
            continue;
        const char *lrel = strchr(o->key, '/');
        if (dav_tree_path(&conflict_root, r->path.user, r->path.kind, lrel ? lrel + 1 : "",
                          o->folder)) {
            rc = srv_respond_text(r->req, 500, "out of memory");
            goto out;
        }
        rc = dav_respond_error(r->req, 423, "no-conflicting-lock", conflict_root.data,
                               "the resource is already locked");
        goto out;
    }
    if (!res.exists) {
        rc = create_empty(r, &res);
        if (rc == MG_EPRECOND) {
            rc = srv_respond_text(r->req, 409, "the resource was created meanwhile; retry");
            goto out;
        }
        if (rc) {
            rc = dav_respond_store_error(r, rc);
            goto out;
        }
        created = 1;
    }
    dav_lock_new_token(token, sizeof(token));
    l.key = key.data;
    l.token = token;
    l.owner = li.owner;
    l.principal = (char *)r->user;
    l.exclusive = li.exclusive;
    l.infinity = depth == DAV_DEPTH_INFINITY;
    l.folder = res.exists && res.rec.type == DAV_RT_FOLDER;
    l.timeout = timeout;
    l.expires_ms = mg_now_ms() + (uint64_t)timeout * 1000;
    rc = dav_lock_add(r->m, r->path.user, &l);
    if (rc) {
        rc = dav_respond_store_error(r, rc);
        goto out;
    }
    /* RFC 4918 10.5: the new lock's token in the Lock-Token header */
    snprintf(hdr, sizeof(hdr), "<%s>", token);
    srv_resp_header(r->req, "Lock-Token", hdr);
    one = &l;
    rc = respond_locks(r, created ? 201 : 200, &one, 1);
out:
    free(li.owner);
    dav_res_release(&res);
    buf_release(&key);
    buf_release(&conflict_root);
    return rc;
}

int dav_unlock(struct dav_req *r)
{
    const char *hdr = srv_req_header(r->req, "Lock-Token");
    struct buf key;
    char *token = NULL;
    const struct dav_lock *found = NULL;
    size_t n;
    int rc;

    buf_init(&key);
    /* RFC 4918 10.5: Lock-Token = Coded-URL */
    if (!hdr) {
        rc = srv_respond_text(r->req, 400, "UNLOCK needs a Lock-Token header");
        goto out;
    }
    while (*hdr == ' ' || *hdr == '\t')
        hdr++;
    n = strlen(hdr);
    while (n > 0 && (hdr[n - 1] == ' ' || hdr[n - 1] == '\t'))
        n--;
    if (n < 3 || hdr[0] != '<' || hdr[n - 1] != '>') {
        rc = srv_respond_text(r->req, 400, "malformed Lock-Token header");
        goto out;
    }
    token = malloc(n - 1);
    if (!token || dav_lock_key(&key, r->path.kind, r->path.rel)) {
        rc = srv_respond_text(r->req, 500, "out of memory");
        goto out;
    }
    memcpy(token, hdr + 1, n - 2);
    token[n - 2] = '\0';
    rc = dav_req_locks(r);
    if (rc) {
        rc = dav_respond_store_error(r, rc);
        goto out;
    }
    for (size_t i = 0; i < r->locks.n && !found; i++) {
        const struct dav_lock *l = &r->locks.v[i];
        if (strcmp(l->token, token) == 0 && dav_lock_covers(l, key.data))
            found = l;
    }
    if (!found) {
        /* RFC 4918 9.11.1 */
        rc = dav_respond_error(r->req, 409, "lock-token-matches-request-uri", NULL,
                               "no such lock on this resource");
        goto out;
    }
    if (found->principal[0] && strcmp(found->principal, r->user) != 0) {
        rc = dav_respond_error(r->req, 403, NULL, NULL, "the lock belongs to someone else");
        goto out;
    }
    rc = dav_lock_remove(r->m, r->path.user, found->key, token);
    if (rc == MG_ENOTFOUND)
        rc = dav_respond_error(r->req, 409, "lock-token-matches-request-uri", NULL,
                               "no such lock on this resource");
    else if (rc)
        rc = dav_respond_store_error(r, rc);
    else
        rc = srv_respond(r->req, 204, NULL, "", 0);
out:
    free(token);
    buf_release(&key);
    return rc;
}
