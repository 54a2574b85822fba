/*
 * files.c - a user's file tree for other modules (include/meshgate/dav_files.h).
 *
 * Each call builds the per-request context a WebDAV request on
 * /dav/files/<user><path> would have - no If header, so no lock tokens - and
 * runs the WebDAV method's own code (get.c, put.c, copymove.c, delete.c,
 * mkcol.c) with r->fail set: failures are recorded for the caller instead of
 * answered, successes are answered as WebDAV answers them. Only the listing
 * is here, as the REST API pages it (PROPFIND answers XML in one piece).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dav_private.h"

_Static_assert(DAV_FILES_ETAG_MAX >= 2 * DAV_ETAG_BYTES + 3, "room for a quoted ETag");

struct dav_files_upload {
    struct dav_req r;
    char *shown; /* the path as messages name it, owned */
};

static int files_fail(struct dav_files_error *err, int status, const char *reason, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));

static int files_fail(struct dav_files_error *err, int status, const char *reason, const char *fmt,
                      ...)
{
    va_list ap;
    err->status = status;
    err->reason = reason;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
    va_end(ap);
    return status;
}

/* Parses path (a user path) into the WebDAV path of the user's file tree,
 * by the rules of request paths: it is percent-encoded and decoded again, so
 * mg_path_decode refuses what it refuses in a URL ("..", control characters,
 * invalid UTF-8) and collapses "//"; dav_path_parse then bounds segments and
 * length. Returns 0, or 400 "bad-path" / 500 with err filled. */
static int files_path(const char *user, const char *path, struct dav_path *out,
                      struct dav_files_error *err)
{
    struct buf enc, full;
    char *dec = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!path || path[0] != '/')
        return files_fail(err, 400, "bad-path", "a path starts with '/' (the root of your files)");
    buf_init(&enc);
    buf_init(&full);
    rc = mg_path_encode(&enc, path);
    if (!rc)
        rc = mg_path_decode(enc.data, &dec);
    if (rc == MG_EINVAL) {
        rc = files_fail(err, 400, "bad-path",
                        "the path has a '.' or '..' segment, a control character or invalid "
                        "UTF-8");
        goto out;
    }
    if (!rc)
        rc = buf_printf(&full, "/dav/files/%s%s", user, dec);
    if (!rc)
        rc = dav_path_parse(full.data, out);
    if (rc == MG_EINVAL || rc == MG_ETOOBIG || (!rc && out->area != DAV_AREA_TREE))
        rc = files_fail(err, 400, "bad-path",
                        "the path is too long or has a name longer than %d bytes", DAV_NAME_MAX);
    else if (rc)
        rc = files_fail(err, 500, NULL, "out of memory");
out:
    buf_release(&enc);
    buf_release(&full);
    free(dec);
    return rc;
}

/* Sets up r as the context of a WebDAV request on path of user's tree. Returns
 * 0 or a failure status with err filled. shown must outlive r. */
static int files_req_init(struct dav_req *r, struct dav_module *m, struct srv_request *req,
                          const char *user, const char *shown, struct dav_files_error *err)
{
    memset(r, 0, sizeof(*r));
    memset(err, 0, sizeof(*err));
    r->m = m;
    r->req = req;
    r->user = user;
    r->fail = err;
    r->shown = shown;
    return files_path(user, shown, &r->path, err);
}

/* ---- listing ---------------------------------------------------------------------- */

struct listing {
    dav_files_fn fn;
    void *ctx;
    size_t limit, count;
    int more;
    int stopped;     /* fn asked to stop */
    const char *rel; /* the folder listed */
    struct buf rel_buf, path;
    char ctype[256];
    int err;
};

/* Fills e for the resource rel with record rec; its path goes into path. */
static int entry_fill(struct listing *ls, struct dav_files_entry *e, const char *rel,
                      const struct dav_record *rec)
{
    size_t n = rec->ctype.n < sizeof(ls->ctype) ? rec->ctype.n : sizeof(ls->ctype) - 1;

    memset(e, 0, sizeof(*e));
    buf_reset(&ls->path);
    e->folder = rec->type == DAV_RT_FOLDER;
    if (buf_putc(&ls->path, '/') || buf_puts(&ls->path, rel) ||
        (e->folder && rel[0] && buf_putc(&ls->path, '/')))
        return MG_ENOMEM;
    e->path = ls->path.data;
    e->name = rel[0] ? dav_rel_name(rel) : "";
    e->mtime_ms = rec->mtime_ms;
    e->ctime_ms = rec->ctime_ms;
    e->content_type = "";
    if (!e->folder) {
        e->size = rec->size;
        dav_record_etag(rec, e->etag, sizeof(e->etag));
        memcpy(ls->ctype, rec->ctype.p, n);
        ls->ctype[n] = '\0';
        e->content_type = ls->ctype;
    }
    return 0;
}

static int list_member(void *ctx, const char *rkey, const struct dht_row *row)
{
    struct listing *ls = ctx;
    struct dav_files_entry e;
    struct dav_record rec;
    int rc;

    if (++ls->count > ls->limit) {
        ls->more = 1;
        return 1;
    }
    if (dav_record_decode(row->value, row->value_len, &rec)) {
        log_warn("dav: skipping corrupt record in listing folder=%s row=%s", ls->rel, rkey);
        return 0;
    }
    buf_reset(&ls->rel_buf);
    rc = dav_rel_join(&ls->rel_buf, ls->rel, rkey);
    if (!rc)
        rc = entry_fill(ls, &e, ls->rel_buf.data, &rec);
    dav_record_release(&rec);
    if (rc) {
        ls->err = rc;
        return 1;
    }
    if (ls->fn(ls->ctx, &e)) {
        ls->stopped = 1;
        return 1;
    }
    return 0;
}

int dav_files_list(struct dav_module *m, const char *user, const char *path, const char *after,
                   size_t limit, dav_files_fn fn, void *ctx, int *more, struct dav_files_error *err)
{
    struct dav_req r;
    struct dav_res res;
    struct dav_files_entry e;
    struct listing ls;
    struct buf pkey;
    int rc;

    memset(&ls, 0, sizeof(ls));
    buf_init(&ls.rel_buf);
    buf_init(&ls.path);
    buf_init(&pkey);
    dav_res_init(&res);
    *more = 0;
    rc = files_req_init(&r, m, NULL, user, path, err);
    if (rc || dav_load_target(&r, &res, &rc))
        goto out;
    ls.fn = fn;
    ls.ctx = ctx;
    ls.limit = limit;
    ls.rel = r.path.rel;
    rc = entry_fill(&ls, &e, r.path.rel, &res.rec);
    if (rc)
        goto store_err;
    if (fn(ctx, &e) || e.folder == 0 || limit == 0) {
        rc = 200;
        goto out;
    }
    rc = dav_folder_pkey(&pkey, user, DAV_KIND_FILES, r.path.rel);
    if (!rc) {
        /* after "" skips the folder's own row "" */
        rc = dht_scan(m->d, pkey.data, after ? after : "", limit + 1, list_member, &ls);
        if (ls.err)
            rc = ls.err;
        else if (rc > 0)
            rc = 0;
    }
    if (rc)
        goto store_err;
    *more = ls.more;
    rc = 200;
    goto out;
store_err:
    rc = dav_respond_store_error(&r, rc);
out:
    dav_res_release(&res);
    dav_req_release(&r);
    buf_release(&ls.rel_buf);
    buf_release(&ls.path);
    buf_release(&pkey);
    return rc;
}

/* ---- methods ------------------------------------------------------------------------ */

int dav_files_get(struct dav_module *m, struct srv_request *req, const char *user, const char *path,
                  struct dav_files_error *err)
{
    struct dav_req r;
    struct dav_res res;
    int rc;

    dav_res_init(&res);
    rc = files_req_init(&r, m, req, user, path, err);
    if (rc || dav_load_target(&r, &res, &rc))
        goto out;
    if (res.rec.type == DAV_RT_FOLDER)
        rc = dav_fail(&r, 405, "is-a-folder", "%s is a folder: it has no content", path);
    else
        rc = dav_get_file(&r, &res.rec);
out:
    dav_res_release(&res);
    dav_req_release(&r);
    return rc;
}

int dav_files_put_begin(struct dav_module *m, struct srv_request *req, const char *user,
                        const char *path, struct dav_files_upload **out,
                        struct dav_files_error *err)
{
    struct dav_files_upload *u = calloc(1, sizeof(*u));
    int rc;

    *out = NULL;
    if (!u || !(u->shown = mg_strdup(path))) {
        free(u);
        memset(err, 0, sizeof(*err));
        return files_fail(err, 500, NULL, "out of memory");
    }
    rc = files_req_init(&u->r, m, req, user, u->shown, err);
    if (!rc)
        rc = dav_put_prepare(&u->r);
    if (rc) {
        dav_files_upload_free(u);
        return rc;
    }
    *out = u;
    return 0;
}

int dav_files_put_write(struct dav_files_upload *u, const char *data, size_t len,
                        struct dav_files_error *err)
{
    memset(err, 0, sizeof(*err));
    u->r.fail = err;
    return dav_put_write(&u->r, data, len);
}

int dav_files_put_end(struct dav_files_upload *u, struct dav_files_error *err)
{
    memset(err, 0, sizeof(*err));
    u->r.fail = err;
    return dav_put_end(&u->r);
}

void dav_files_upload_free(struct dav_files_upload *u)
{
    if (!u)
        return;
    dav_req_release(&u->r);
    free(u->shown);
    free(u);
}

int dav_files_move(struct dav_module *m, struct srv_request *req, const char *user,
                   const char *from, const char *to, int overwrite, struct dav_files_error *err)
{
    struct dav_req r;
    struct dav_path dst;
    int rc;

    memset(&dst, 0, sizeof(dst));
    rc = files_req_init(&r, m, req, user, from, err);
    if (!rc)
        rc = files_path(user, to, &dst, err);
    if (!rc)
        rc = dav_copymove_rel(&r, dst.rel, DAV_DEPTH_INFINITY, overwrite, 1);
    dav_path_release(&dst);
    dav_req_release(&r);
    return rc;
}

/* Runs the WebDAV method handler method on path of user's tree. */
static int files_run(struct dav_module *m, struct srv_request *req, const char *user,
                     const char *path, int (*method)(struct dav_req *r),
                     struct dav_files_error *err)
{
    struct dav_req r;
    int rc = files_req_init(&r, m, req, user, path, err);

    if (!rc)
        rc = method(&r);
    dav_req_release(&r);
    return rc;
}

int dav_files_delete(struct dav_module *m, struct srv_request *req, const char *user,
                     const char *path, struct dav_files_error *err)
{
    return files_run(m, req, user, path, dav_delete, err);
}

int dav_files_mkdir(struct dav_module *m, struct srv_request *req, const char *user,
                    const char *path, struct dav_files_error *err)
{
    return files_run(m, req, user, path, dav_mkcol_plain, err);
}
