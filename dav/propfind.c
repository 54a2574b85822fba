/*
 * propfind.c - PROPFIND (RFC 4918 9.1) on a user's tree. Depth 1 of a folder
 * is one scan of its partition; Depth infinity walks folder by folder and is
 * refused with DAV:propfind-finite-depth beyond limits.max_propfind_results.
 */
#include <stdlib.h>
#include <string.h>

#include "dav_private.h"

struct walk {
    struct dav_req *r;
    const struct dav_propfind *pf;
    struct buf *out;
    const char *rel; /* the folder being listed */
    int recurse;
    long count;
    long limit;        /* 0: none */
    char **subfolders; /* collected for recursion */
    size_t nsub;
    struct buf path, lkey, child;
    int err; /* mg_err */
    int too_many;
    int too_large; /* the response outgrew DAV_MULTISTATUS_MAX */
};

int dav_propfind_member(struct dav_req *r, const char *rel, const char *name,
                        const struct dav_record *rec, struct buf *path, struct buf *lkey,
                        const struct dav_propfind *pf, struct buf *out)
{
    struct dav_pres pres;
    int rc;

    rc = dav_tree_path(path, r->path.user, r->path.kind, rel, rec->type == DAV_RT_FOLDER);
    if (!rc)
        rc = dav_lock_key(lkey, r->path.kind, rel);
    if (rc)
        return rc;
    memset(&pres, 0, sizeof(pres));
    pres.vkind = DAV_V_TREE;
    pres.path = path->data;
    pres.name = name;
    pres.rec = rec;
    pres.lock_key = lkey->data;
    pres.rel = rel;
    return dav_propfind_response(r, &pres, pf, out);
}

static int walk_row(void *ctx, const char *rkey, const struct dht_row *row)
{
    struct walk *w = ctx;
    struct dav_record rec;
    int rc;

    if (!rkey[0])
        return 0; /* the folder's own row */
    if (dav_record_decode(row->value, row->value_len, &rec)) {
        log_warn("dav: skipping corrupt record in listing folder=%s row=%s", w->rel, rkey);
        return 0;
    }
    if (w->out->len > DAV_MULTISTATUS_MAX) {
        dav_record_release(&rec);
        w->too_large = 1;
        return 1;
    }
    if (w->limit && ++w->count > w->limit) {
        dav_record_release(&rec);
        w->too_many = 1;
        return 1;
    }
    buf_reset(&w->child);
    buf_reset(&w->path);
    buf_reset(&w->lkey);
    rc = dav_rel_join(&w->child, w->rel, rkey);
    if (!rc)
        rc = dav_propfind_member(w->r, w->child.data, rkey, &rec, &w->path, &w->lkey, w->pf,
                                 w->out);
    if (!rc && w->recurse && rec.type == DAV_RT_FOLDER) {
        char **v = realloc(w->subfolders, (w->nsub + 1) * sizeof(*v));
        if (!v) {
            rc = MG_ENOMEM;
        } else {
            w->subfolders = v;
            v[w->nsub] = mg_strdup(w->child.data);
            if (v[w->nsub])
                w->nsub++;
            else
                rc = MG_ENOMEM;
        }
    }
    dav_record_release(&rec);
    if (rc) {
        w->err = rc;
        return 1;
    }
    return 0;
}

/* Lists the members of folder rel (and, when recursing, everything below). */
static int walk_folder(struct walk *w, const char *rel)
{
    struct buf pkey;
    char **subs;
    size_t nsub;
    int rc;

    buf_init(&pkey);
    rc = dav_folder_pkey(&pkey, w->r->path.user, w->r->path.kind, rel);
    if (rc)
        goto out;
    w->rel = rel;
    w->subfolders = NULL;
    w->nsub = 0;
    rc = dht_scan(w->r->m->d, pkey.data, NULL, 0, walk_row, w);
    subs = w->subfolders;
    nsub = w->nsub;
    w->subfolders = NULL;
    w->nsub = 0;
    if (w->err)
        rc = w->err;
    else if (w->too_many)
        rc = MG_ETOOBIG;
    else if (w->too_large)
        rc = MG_EUNAVAIL;
    else if (rc > 0)
        rc = 0;
    for (size_t i = 0; i < nsub; i++) {
        if (!rc)
            rc = walk_folder(w, subs[i]);
        free(subs[i]);
    }
    free(subs);
out:
    buf_release(&pkey);
    return rc;
}

int dav_propfind(struct dav_req *r)
{
    const struct mg_limits *lim = &r->m->cfg->limits;
    struct dav_propfind pf;
    const char *body;
    size_t blen = 0;
    int depth, rc;

    memset(&pf, 0, sizeof(pf));
    if (dav_parse_depth(srv_req_header(r->req, "Depth"), DAV_DEPTH_INFINITY, &depth))
        return srv_respond_text(r->req, 400, "Depth must be 0, 1 or infinity");
    body = srv_req_body(r->req, &blen);
    rc = dav_propfind_parse(body, blen, lim, &pf);
    if (rc)
        return srv_respond_text(r->req, rc, "malformed PROPFIND body");
    if (r->path.area != DAV_AREA_TREE)
        rc = dav_propfind_virtual(r, &pf, depth);
    else
        rc = dav_propfind_tree(r, &pf, depth);
    dav_propfind_release(&pf);
    return rc;
}

int dav_propfind_tree(struct dav_req *r, const struct dav_propfind *pf, int depth)
{
    const struct mg_limits *lim = &r->m->cfg->limits;
    struct dav_res res;
    struct dav_pres pres;
    struct walk w;
    struct buf out, path, lkey;
    int rc;

    memset(&w, 0, sizeof(w));
    dav_res_init(&res);
    buf_init(&out);
    buf_init(&path);
    buf_init(&lkey);
    buf_init(&w.path);
    buf_init(&w.lkey);
    buf_init(&w.child);
    if (dav_load_target(r, &res, &rc))
        goto out;
    rc = dav_tree_path(&path, r->path.user, r->path.kind, r->path.rel,
                       res.rec.type == DAV_RT_FOLDER);
    if (!rc)
        rc = dav_lock_key(&lkey, r->path.kind, r->path.rel);
    if (!rc)
        rc = dav_ms_begin(&out);
    if (rc)
        goto nomem;
    memset(&pres, 0, sizeof(pres));
    pres.vkind = DAV_V_TREE;
    pres.path = path.data;
    pres.name = r->path.rel[0] ? dav_rel_name(r->path.rel) : r->path.user;
    pres.rec = &res.rec;
    pres.lock_key = lkey.data;
    pres.rel = r->path.rel;
    rc = dav_propfind_response(r, &pres, pf, &out);
    if (rc)
        goto store_err;
    if (res.rec.type == DAV_RT_FOLDER && depth != DAV_DEPTH_0) {
        w.r = r;
        w.pf = pf;
        w.out = &out;
        w.recurse = depth == DAV_DEPTH_INFINITY;
        w.limit = w.recurse && lim->max_propfind_results > 0 ? lim->max_propfind_results : 0;
        w.count = 1;
        rc = walk_folder(&w, r->path.rel);
        if (rc == MG_EUNAVAIL && w.too_large) {
            rc = dav_respond_error(r->req, 507, NULL, NULL,
                                   "the response would be too large; ask for fewer properties "
                                   "or a smaller Depth");
            goto out;
        }
        if (rc == MG_ETOOBIG) {
            /* RFC 4918 9.1.1 */
            rc = dav_respond_error(r->req, 403, "propfind-finite-depth", NULL,
                                   "too many resources for Depth: infinity; use Depth: 1");
            goto out;
        }
        if (rc)
            goto store_err;
    }
    if (dav_ms_end(&out))
        goto nomem;
    rc = srv_respond_buf(r->req, 207, "application/xml; charset=utf-8", &out);
    goto out;
store_err:
    rc = dav_respond_store_error(r, rc);
    goto out;
nomem:
    rc = srv_respond_text(r->req, 500, "out of memory");
out:
    dav_res_release(&res);
    buf_release(&out);
    buf_release(&path);
    buf_release(&lkey);
    buf_release(&w.path);
    buf_release(&w.lkey);
    buf_release(&w.child);
    return rc;
}
