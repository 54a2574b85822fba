/*
 * sync.c - the sync-collection REPORT (RFC 6578) on any collection of a
 * user's tree: calendars, address books, file folders.
 *
 * A token is "http://meshgate/sync/<hlc>": the highest version (hybrid
 * logical clock) of the collection's partition when the answer was made.
 * A sync from token T reports every member row, tombstones included, whose
 * version is newer than T minus a safety window. In a cluster, writes
 * coordinated by two nodes can become visible out of HLC order (up to the
 * write timeout plus the clock drift the HLC tolerates), so the window is
 * DHT_CLUSTER_REORDER_MS there; a cluster of one stamps and commits each
 * partition's writes in order under its single writer (dht/engine.c), so
 * nothing is ever missed with no window. A change reported twice is harmless:
 * clients compare ETags (RFC 6578 3.5 allows it).
 *
 * An empty token lists every member (RFC 6578 3.4). A token that was never
 * issued for this collection (malformed, or newer than its current version)
 * gets 403 with DAV:valid-sync-token, and the client starts over; so does a
 * token older than the store's purge floor, once tombstones of deletions
 * after it were purged (dht_changes_since_complete): a client that stayed
 * away longer than the tombstone grace period syncs in full instead of
 * missing deletions. Tokens come from dht_partition_hlc, which stays above
 * the floor, so the full sync's token is good again.
 */
#include <stdlib.h>
#include <string.h>

#include "dav_private.h"

struct sync {
    struct dav_req *r;
    const struct dav_propfind *pf;
    struct buf *out;
    const char *crel;
    struct buf rel, path, lkey;
    uint64_t max_hlc;
    long count, limit;
    uint64_t last_hlc; /* version of the last row reported (truncation) */
    int truncated;
    int err;
};

int dav_sync_token_parse(const char *s, uint64_t *hlc)
{
    size_t n = strlen(DAV_SYNC_PREFIX);
    if (strncmp(s, DAV_SYNC_PREFIX, n) != 0)
        return MG_EINVAL;
    return mg_parse_u64(s + n, hlc);
}

static int sync_row(void *ctx, const char *rkey, const struct dht_row *row)
{
    struct sync *s = ctx;
    struct dav_record rec;
    int rc;

    if (!rkey[0])
        return 0; /* the collection's own row */
    if (s->limit && s->count >= s->limit) {
        s->truncated = 1;
        return 1;
    }
    buf_reset(&s->rel);
    buf_reset(&s->path);
    buf_reset(&s->lkey);
    rc = dav_rel_join(&s->rel, s->crel, rkey);
    if (rc)
        goto fail;
    if (row->tombstone) {
        /* RFC 6578 3.5.2: a removed member is a response with status 404 */
        rc = dav_tree_path(&s->path, s->r->path.user, s->r->path.kind, s->rel.data, 0);
        if (!rc)
            rc = dav_ms_status(s->out, s->path.data, 404);
    } else {
        if (dav_record_decode(row->value, row->value_len, &rec))
            return 0;
        rc = dav_propfind_member(s->r, s->rel.data, rkey, &rec, &s->path, &s->lkey, s->pf,
                                 s->out);
        dav_record_release(&rec);
    }
    if (rc)
        goto fail;
    s->count++;
    if (row->version.hlc > s->max_hlc)
        s->max_hlc = row->version.hlc;
    s->last_hlc = row->version.hlc;
    if (s->out->len > DAV_MULTISTATUS_MAX) {
        s->truncated = 1;
        return 1;
    }
    return 0;
fail:
    s->err = rc;
    return 1;
}

static int parse_body(struct dav_req *r, xmlNode *root, struct dav_propfind *pf, char **token,
                      int *level_inf, long *limit)
{
    int have_token = 0;

    pf->mode = DAV_PF_ALLPROP;
    for (xmlNode *c = dav_xml_first_elem(root); c; c = dav_xml_next_elem(c)) {
        if (dav_xml_is(c, "sync-token")) {
            xmlChar *t = xmlNodeGetContent(c);
            free(*token);
            *token = mg_strdup(t ? (const char *)t : "");
            xmlFree(t);
            if (!*token)
                return srv_respond_text(r->req, 500, "out of memory");
            /* surrounding white space is not part of the URI */
            char *b = *token, *e = b + strlen(b);
            while (*b == ' ' || *b == '\t' || *b == '\r' || *b == '\n')
                b++;
            while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
                e--;
            memmove(*token, b, (size_t)(e - b));
            (*token)[e - b] = '\0';
            have_token = 1;
        } else if (dav_xml_is(c, "sync-level")) {
            xmlChar *t = xmlNodeGetContent(c);
            int ok = t && (strcmp((const char *)t, "1") == 0 ||
                           strcmp((const char *)t, "infinite") == 0);
            *level_inf = t && strcmp((const char *)t, "infinite") == 0;
            xmlFree(t);
            if (!ok)
                return srv_respond_text(r->req, 400, "sync-level must be 1 or infinite");
        } else if (dav_xml_is(c, "limit")) {
            xmlNode *nr = dav_xml_first_elem(c);
            xmlChar *t = dav_xml_is(nr, "nresults") ? xmlNodeGetContent(nr) : NULL;
            uint64_t v = 0;
            int bad = !t || mg_parse_u64((const char *)t, &v) || v == 0 || v > 1000000;
            xmlFree(t);
            if (bad)
                return srv_respond_text(r->req, 400, "DAV:limit needs a positive nresults");
            *limit = (long)v;
        } else if (dav_xml_is(c, "prop") || dav_xml_is(c, "allprop") || dav_xml_is(c, "propname")) {
            if (dav_xml_is(c, "prop")) {
                pf->mode = DAV_PF_PROP;
                for (xmlNode *p = dav_xml_first_elem(c); p; p = dav_xml_next_elem(p)) {
                    struct dav_pname *v = realloc(pf->props, (pf->n + 1) * sizeof(*v));
                    if (!v)
                        return srv_respond_text(r->req, 500, "out of memory");
                    pf->props = v;
                    v[pf->n].ns = mg_strdup(dav_xml_ns(p));
                    v[pf->n].name = mg_strdup((const char *)p->name);
                    pf->n++;
                    if (!v[pf->n - 1].ns || !v[pf->n - 1].name)
                        return srv_respond_text(r->req, 500, "out of memory");
                }
            } else {
                pf->mode = dav_xml_is(c, "allprop") ? DAV_PF_ALLPROP : DAV_PF_PROPNAME;
            }
        }
    }
    if (!have_token)
        return srv_respond_text(r->req, 400, "sync-collection needs a DAV:sync-token element");
    return 0;
}

int dav_sync_collection(struct dav_req *r, xmlNode *root)
{
    struct dav_propfind pf;
    struct dav_res res;
    struct sync s;
    struct buf out, pkey;
    char *token = NULL;
    char tok[96];
    uint64_t cur = 0, since = 0, from = 0;
    long limit = 0;
    int level_inf = 0, depth, rc;

    memset(&pf, 0, sizeof(pf));
    memset(&s, 0, sizeof(s));
    dav_res_init(&res);
    buf_init(&out);
    buf_init(&pkey);
    buf_init(&s.rel);
    buf_init(&s.path);
    buf_init(&s.lkey);
    rc = parse_body(r, root, &pf, &token, &level_inf, &limit);
    if (rc)
        goto out;
    /* RFC 6578 3.2 asks for Depth: 0, but clients (python caldav, DAVx5)
     * send 1: the depth is sync-level's business, the header is ignored */
    if (dav_parse_depth(srv_req_header(r->req, "Depth"), DAV_DEPTH_0, &depth)) {
        rc = srv_respond_text(r->req, 400, "Depth must be 0, 1 or infinity");
        goto out;
    }
    if (dav_load_target(r, &res, &rc))
        goto out;
    if (res.rec.type != DAV_RT_FOLDER) {
        rc = dav_respond_error(r->req, 403, "supported-report", NULL,
                               "sync-collection applies to collections");
        goto out;
    }
    if (level_inf && res.rec.coll != DAV_COLL_CALENDAR && res.rec.coll != DAV_COLL_ADDRESSBOOK) {
        /* RFC 6578 3.3: members of members are not reported */
        rc = dav_respond_error(r->req, 403, "sync-traversal-supported", NULL,
                               "use sync-level 1 on this collection");
        goto out;
    }
    rc = dav_folder_pkey(&pkey, r->path.user, r->path.kind, r->path.rel);
    if (!rc)
        rc = dht_partition_hlc(r->m->d, pkey.data, &cur);
    if (rc) {
        rc = dav_respond_store_error(r, rc);
        goto out;
    }
    if (token[0]) {
        if (dav_sync_token_parse(token, &since) || since > cur) {
            rc = dav_respond_error(r->req, 403, "valid-sync-token", NULL,
                                   "unknown sync token: sync again from an empty token");
            goto out;
        }
        uint64_t window = dht_is_clustered(r->m->d) ? (uint64_t)DHT_CLUSTER_REORDER_MS << 16 : 0;
        from = since > window ? since - window : 0;
    }
    if (dav_ms_begin(&out)) {
        rc = srv_respond_text(r->req, 500, "out of memory");
        goto out;
    }
    s.r = r;
    s.pf = &pf;
    s.out = &out;
    s.crel = r->path.rel;
    s.max_hlc = cur;
    s.limit = limit;
    if (token[0])
        rc = dht_changes_since_complete(r->m->d, pkey.data, from, sync_row, &s);
    else
        rc = dht_scan(r->m->d, pkey.data, NULL, 0, sync_row, &s);
    if (s.err)
        rc = s.err;
    if (rc == MG_ECONFLICT) {
        rc = dav_respond_error(r->req, 403, "valid-sync-token", NULL,
                               "deletions since this token are no longer kept: sync again "
                               "from an empty token");
        goto out;
    }
    if (rc < 0) {
        rc = dav_respond_store_error(r, rc);
        goto out;
    }
    if (s.truncated && !token[0]) {
        /* a listing in name order cannot be resumed from a version */
        rc = dav_respond_error(r->req, 507, "number-of-matches-within-limits", NULL,
                               "the collection has more members than the limit; sync without "
                               "a limit first");
        goto out;
    }
    if (s.truncated) {
        /* RFC 6578 3.6: the rest follows from the token returned */
        if (buf_puts(&out, "<D:response><D:href>") || dav_put_href(&out, srv_req_path(r->req)) ||
            buf_printf(&out,
                       "</D:href><D:status>%s</D:status><D:error>"
                       "<D:number-of-matches-within-limits/></D:error></D:response>\n",
                       dav_status_line(507))) {
            rc = srv_respond_text(r->req, 500, "out of memory");
            goto out;
        }
        s.max_hlc = s.last_hlc;
    }
    dav_sync_token(s.max_hlc, tok, sizeof(tok));
    if (buf_printf(&out, "<D:sync-token>%s</D:sync-token>\n", tok) || dav_ms_end(&out)) {
        rc = srv_respond_text(r->req, 500, "out of memory");
        goto out;
    }
    rc = srv_respond_buf(r->req, 207, "application/xml; charset=utf-8", &out);
out:
    free(token);
    dav_propfind_release(&pf);
    dav_res_release(&res);
    buf_release(&out);
    buf_release(&pkey);
    buf_release(&s.rel);
    buf_release(&s.path);
    buf_release(&s.lkey);
    return rc;
}
