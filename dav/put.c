/*
 * put.c - PUT, streamed: everything that can refuse the request (access,
 * parent, locks, If / If-Match / If-None-Match, size) is checked in begin,
 * before any body byte is read; the body then flows through a blob writer
 * (memory bounded by one chunk) and the record is written at the end.
 * REST uploads (files.c) run the same steps: dav_put_prepare, dav_put_write
 * for each piece of the body, dav_put_end.
 */
#include <stdlib.h>
#include <string.h>

#include "dav_private.h"

#define PUT_RETRIES 3

struct dav_put_state {
    struct dht_blob_writer *w;
    struct dav_res res; /* the resource as it was in begin */
    int failed;         /* a status was already answered */
};

void dav_put_state_free(struct dav_put_state *s)
{
    if (!s)
        return;
    dht_blob_writer_free(s->w);
    dav_res_release(&s->res);
    free(s);
}

int dav_put_write(struct dav_req *r, const char *data, size_t len)
{
    struct dav_put_state *s = r->put;
    int rc;

    if (s->failed)
        return s->failed;
    rc = dht_blob_write(s->w, data, len);
    if (rc == MG_ETOOBIG) {
        s->failed = 413;
        return dav_fail(r, 413, "body-too-large", "upload larger than the limit of %llu bytes",
                        (unsigned long long)r->m->cfg->limits.max_upload);
    }
    if (rc) {
        log_err("dav: blob write failed path=%s err=%s", dav_req_shown(r), mg_strerror(rc));
        s->failed = rc == MG_EUNAVAIL ? 503 : 500;
        return dav_fail(r, s->failed, rc == MG_EUNAVAIL ? "store-unavailable" : NULL,
                        "storing the upload failed: %s", mg_strerror(rc));
    }
    return 0;
}

static int put_sink(struct srv_request *req, const char *data, size_t len, void *ctx)
{
    (void)req;
    return dav_put_write(ctx, data, len);
}

int dav_put_begin(struct dav_req *r)
{
    int rc = dav_put_prepare(r);

    if (!rc)
        srv_req_set_body_sink(r->req, put_sink, r);
    return rc;
}

int dav_put_prepare(struct dav_req *r)
{
    const struct mg_limits *lim = &r->m->cfg->limits;
    int64_t clen = srv_req_content_length(r->req);
    struct dav_put_state *s;
    int rc;

    if (!r->path.rel[0] || r->path.slash)
        return dav_fail(r, 405, "is-a-folder", "PUT is not allowed on a folder");
    if (lim->max_upload && clen > 0 && (uint64_t)clen > lim->max_upload)
        return dav_fail(r, 413, "body-too-large", "upload larger than the limit of %llu bytes",
                        (unsigned long long)lim->max_upload);
    s = calloc(1, sizeof(*s));
    if (!s)
        return dav_fail(r, 500, NULL, "out of memory");
    dav_res_init(&s->res);
    r->put = s;
    rc = dav_res_load(r->m, r->path.user, r->path.kind, r->path.rel, &s->res);
    if (rc)
        return dav_respond_store_error(r, rc);
    if (s->res.exists && s->res.rec.type == DAV_RT_FOLDER)
        return dav_fail(r, 405, "is-a-folder", "PUT is not allowed on a folder");
    if (!s->res.exists) {
        rc = dav_check_parent(r, r->path.rel);
        if (rc)
            return rc;
    }
    rc = dav_check_http_conditions(r, &s->res);
    if (!rc)
        rc = dav_check_if(r, r->path.rel);
    if (rc)
        return rc;
    /* RFC 4918 7.4 and 9.7: a new member changes the parent's membership */
    rc = dav_check_locks(r, r->path.rel, DAV_W_SELF | (s->res.exists ? 0 : DAV_W_PARENT));
    if (rc)
        return rc;
    rc = dht_blob_writer_new(r->m->d, lim->max_upload, &s->w);
    if (rc)
        return dav_respond_store_error(r, rc);
    return 0;
}

int dav_put_end(struct dav_req *r)
{
    struct dav_put_state *s = r->put;
    struct dht_manifest man;
    struct dav_record rec;
    struct buf mbuf;
    char etag[2 * DAV_ETAG_BYTES + 3];
    const char *ctype;
    int conditional, created, rc;

    if (!s || !s->w)
        return dav_fail(r, 500, NULL, "missing upload state");
    if (s->failed)
        return s->failed;
    dht_manifest_init(&man);
    buf_init(&mbuf);
    dav_record_init(&rec);
    rc = dht_blob_finish(s->w, &man);
    if (rc == MG_ETOOBIG) {
        rc = dav_fail(r, 413, "body-too-large", "upload larger than the limit of %llu bytes",
                      (unsigned long long)r->m->cfg->limits.max_upload);
        goto out;
    }
    if (!rc)
        rc = dht_manifest_encode(&man, &mbuf);
    if (rc) {
        rc = dav_respond_store_error(r, rc);
        goto out;
    }
    ctype = srv_req_header(r->req, "Content-Type");
    if (!ctype || !ctype[0] || strlen(ctype) > 255)
        ctype = dav_guess_ctype(dav_rel_name(r->path.rel));
    conditional =
        srv_req_header(r->req, "If-Match") || srv_req_header(r->req, "If-None-Match") || r->have_if;
    created = !s->res.exists;
    for (int attempt = 0;; attempt++) {
        int64_t now = (int64_t)mg_now_ms();
        dav_record_release(&rec);
        dav_record_init(&rec);
        rec.type = DAV_RT_FILE;
        rec.size = man.size;
        rec.mtime_ms = now;
        rec.ctime_ms = s->res.exists ? s->res.rec.ctime_ms : now;
        memcpy(rec.hash, man.content_hash, DHT_HASH_LEN);
        rec.ctype.p = ctype;
        rec.ctype.n = strlen(ctype);
        rec.manifest.p = mbuf.data;
        rec.manifest.n = mbuf.len;
        /* dead properties survive a replaced body (they are borrowed from res) */
        if (s->res.exists) {
            rec.props = s->res.rec.props;
            rec.nprops = s->res.rec.nprops;
        }
        rc = dav_res_store(r->m, &s->res, &rec);
        rec.props = NULL; /* borrowed: not ours to free */
        rec.nprops = 0;
        if (rc != MG_EPRECOND || conditional || attempt >= PUT_RETRIES)
            break;
        /* someone else wrote meanwhile: last writer wins, keeping their properties */
        rc = dav_res_load(r->m, r->path.user, r->path.kind, r->path.rel, &s->res);
        if (rc)
            break;
        if (s->res.exists && s->res.rec.type == DAV_RT_FOLDER) {
            rc = dav_fail(r, 405, "is-a-folder", "a folder was created at this path meanwhile");
            goto out;
        }
    }
    if (rc) {
        rc = dav_respond_store_error(r, rc);
        goto out;
    }
    dav_record_etag(&rec, etag, sizeof(etag));
    srv_resp_header(r->req, "ETag", etag);
    /* RFC 4918 9.7.1 / RFC 7231 4.3.4: 201 for a new resource, 204 for a replaced one */
    rc = created ? srv_respond(r->req, 201, NULL, "", 0) : srv_respond(r->req, 204, NULL, "", 0);
out:
    dav_record_release(&rec);
    dht_manifest_release(&man);
    buf_release(&mbuf);
    return rc;
}
