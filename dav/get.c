/*
 * get.c - GET and HEAD: files are streamed from their manifest (one store
 * read for small files, whose content is inline in the record), with
 * conditional requests (RFC 7232) and single byte ranges (RFC 7233);
 * folders answer a small HTML listing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dav_private.h"

#define LISTING_MAX 1000

/* A streamed body: a range of a chunked file. */
struct stream {
    struct dht *d;
    struct dht_manifest man;
    uint64_t first; /* offset of the response's first byte in the file */
    uint64_t len;
};

static void stream_free(void *p)
{
    struct stream *s = p;
    if (!s)
        return;
    dht_manifest_release(&s->man);
    free(s);
}

static long stream_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
    struct stream *s = ctx;
    size_t got = 0;

    if (pos >= s->len)
        return 0;
    if (max > s->len - pos)
        max = (size_t)(s->len - pos);
    if (dht_blob_read(s->d, &s->man, s->first + pos, buf, max, &got)) {
        log_err("dav: blob read failed offset=%llu", (unsigned long long)(s->first + pos));
        return -1;
    }
    if (got == 0)
        return -1; /* the manifest promised more: never end a body short silently */
    return (long)got;
}

/* RFC 7232 6: the order in which preconditions are evaluated for GET/HEAD.
 * Returns 0 to go on, 304 or 412. */
static int check_conditions(struct dav_req *r, const char *etag, int64_t mtime)
{
    const char *im = srv_req_header(r->req, "If-Match");
    const char *ius = srv_req_header(r->req, "If-Unmodified-Since");
    const char *inm = srv_req_header(r->req, "If-None-Match");
    const char *ims = srv_req_header(r->req, "If-Modified-Since");

    if (im) {
        if (!dav_etag_list_match(im, etag, 0))
            return 412;
    } else if (ius) {
        int64_t t = dav_parse_http_date(ius);
        if (t >= 0 && mtime > t)
            return 412;
    }
    if (inm) {
        if (dav_etag_list_match(inm, etag, 1))
            return 304;
    } else if (ims) {
        int64_t t = dav_parse_http_date(ims);
        if (t >= 0 && mtime <= t)
            return 304;
    }
    return 0;
}

/* RFC 7233 3.2: If-Range holds an entity tag or a date; the range applies
 * only when it still matches. */
static int if_range_ok(struct dav_req *r, const char *etag, int64_t mtime)
{
    const char *ir = srv_req_header(r->req, "If-Range");
    if (!ir)
        return 1;
    while (*ir == ' ')
        ir++;
    if (*ir == '"' || (ir[0] == 'W' && ir[1] == '/'))
        return strcmp(ir, etag) == 0;
    return dav_parse_http_date(ir) == mtime;
}

int dav_get_file(struct dav_req *r, const struct dav_record *rec)
{
    char etag[2 * DAV_ETAG_BYTES + 3];
    char date[40];
    char crange[96];
    char *ctype = NULL;
    struct dht_manifest man;
    struct dav_range range = {0, 0};
    int64_t mtime = rec->mtime_ms / 1000;
    int status = 200, rc;

    dht_manifest_init(&man);
    dav_record_etag(rec, etag, sizeof(etag));
    mg_http_date(mtime, date, sizeof(date));
    if (srv_resp_header(r->req, "ETag", etag) || srv_resp_header(r->req, "Last-Modified", date) ||
        srv_resp_header(r->req, "Accept-Ranges", "bytes"))
        goto nomem;
    rc = check_conditions(r, etag, mtime);
    if (rc == 304)
        return srv_respond(r->req, 304, NULL, "", 0);
    if (rc == 412)
        return dav_fail(r, 412, "etag-mismatch",
                        "the resource does not match If-Match or If-Unmodified-Since");
    rc = dht_manifest_decode(rec->manifest.p, rec->manifest.n, &man);
    if (rc || man.size != rec->size) {
        dht_manifest_release(&man);
        log_err("dav: corrupt manifest path=%s", dav_req_shown(r));
        return dav_fail(r, 500, NULL, "corrupt file manifest");
    }
    range.first = 0;
    range.last = man.size ? man.size - 1 : 0;
    if (man.size > 0 && if_range_ok(r, etag, mtime)) {
        rc = dav_parse_range(srv_req_header(r->req, "Range"), man.size, &range);
        if (rc < 0) {
            dht_manifest_release(&man);
            snprintf(crange, sizeof(crange), "bytes */%llu", (unsigned long long)rec->size);
            srv_resp_header(r->req, "Content-Range", crange);
            return dav_fail(r, 416, "range-not-satisfiable",
                            "the range lies beyond the %llu bytes of the file",
                            (unsigned long long)rec->size);
        }
        if (rc > 0) {
            status = 206;
            snprintf(crange, sizeof(crange), "bytes %llu-%llu/%llu",
                     (unsigned long long)range.first, (unsigned long long)range.last,
                     (unsigned long long)man.size);
            if (srv_resp_header(r->req, "Content-Range", crange))
                goto nomem;
        }
    } else if (man.size == 0) {
        range.last = 0;
    }
    ctype = malloc(rec->ctype.n + 1);
    if (!ctype)
        goto nomem;
    memcpy(ctype, rec->ctype.p, rec->ctype.n);
    ctype[rec->ctype.n] = '\0';
    uint64_t len = man.size ? range.last - range.first + 1 : 0;
    if (man.inline_data || len == 0) {
        rc = srv_respond(r->req, status, ctype[0] ? ctype : "application/octet-stream",
                         len ? (const char *)man.inline_data + range.first : "", (size_t)len);
        dht_manifest_release(&man);
        free(ctype);
        return rc;
    }
    struct stream *s = calloc(1, sizeof(*s));
    if (!s)
        goto nomem;
    s->d = r->m->d;
    s->man = man; /* moved */
    s->first = range.first;
    s->len = len;
    rc = srv_respond_stream(r->req, status, ctype[0] ? ctype : "application/octet-stream", len,
                            stream_read, s, stream_free);
    free(ctype);
    return rc;
nomem:
    dht_manifest_release(&man);
    free(ctype);
    return dav_fail(r, 500, NULL, "out of memory");
}

/* ---- folder listing ------------------------------------------------------------- */

struct listing {
    struct buf *html;
    const char *base; /* decoded path of the folder, with '/' */
    struct buf href;
    int n;
    int err;
};

static int list_row(void *ctx, const char *rkey, const struct dht_row *row)
{
    struct listing *ls = ctx;
    struct dav_record rec;
    int folder;

    if (!rkey[0])
        return 0;
    if (dav_record_decode(row->value, row->value_len, &rec))
        return 0;
    folder = rec.type == DAV_RT_FOLDER;
    dav_record_release(&rec);
    buf_reset(&ls->href);
    if (buf_puts(&ls->href, ls->base) || buf_puts(&ls->href, rkey) ||
        (folder && buf_putc(&ls->href, '/')))
        goto nomem;
    if (buf_puts(ls->html, "<li><a href=\"") || dav_put_href(ls->html, ls->href.data) ||
        buf_puts(ls->html, "\">") || buf_put_xml_escaped(ls->html, rkey) ||
        buf_puts(ls->html, folder ? "/</a></li>\n" : "</a></li>\n"))
        goto nomem;
    ls->n++;
    return 0;
nomem:
    ls->err = MG_ENOMEM;
    return 1;
}

static int respond_folder(struct dav_req *r)
{
    struct buf html, pkey, base;
    struct listing ls;
    int rc;

    buf_init(&html);
    buf_init(&pkey);
    buf_init(&base);
    memset(&ls, 0, sizeof(ls));
    buf_init(&ls.href);
    rc = dav_folder_pkey(&pkey, r->path.user, r->path.kind, r->path.rel);
    if (!rc)
        rc = dav_tree_path(&base, r->path.user, r->path.kind, r->path.rel, 1);
    if (!rc)
        rc = buf_puts(&html, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
    if (!rc)
        rc = buf_put_xml_escaped(&html, base.data);
    if (!rc)
        rc = buf_puts(&html, "</title></head><body><h1>");
    if (!rc)
        rc = buf_put_xml_escaped(&html, base.data);
    if (!rc)
        rc = buf_puts(&html, "</h1>\n<ul>\n");
    if (rc)
        goto out;
    ls.html = &html;
    ls.base = base.data;
    rc = dht_scan(r->m->d, pkey.data, NULL, LISTING_MAX + 1, list_row, &ls);
    if (ls.err)
        rc = ls.err;
    if (rc < 0) {
        rc = dav_respond_store_error(r, rc);
        goto out;
    }
    if (buf_puts(&html, "</ul></body></html>\n")) {
        rc = srv_respond_text(r->req, 500, "out of memory");
        goto out;
    }
    rc = srv_respond_buf(r->req, 200, "text/html; charset=utf-8", &html);
out:
    buf_release(&html);
    buf_release(&pkey);
    buf_release(&base);
    buf_release(&ls.href);
    return rc;
}

int dav_get(struct dav_req *r, int head)
{
    struct dav_res res;
    int rc;

    (void)head; /* the glue drops the body of HEAD responses */
    if (r->path.area != DAV_AREA_TREE) {
        static const char page[] = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                                   "<title>meshgate DAV</title></head><body><p>This is a "
                                   "WebDAV/CalDAV/CardDAV endpoint; use a DAV client.</p>"
                                   "</body></html>\n";
        return srv_respond(r->req, 200, "text/html; charset=utf-8", page, sizeof(page) - 1);
    }
    dav_res_init(&res);
    rc = dav_res_load(r->m, r->path.user, r->path.kind, r->path.rel, &res);
    if (rc)
        rc = dav_respond_store_error(r, rc);
    else if (!res.exists)
        rc = srv_respond_text(r->req, 404, "no resource at %s", srv_req_path(r->req));
    else if (res.rec.type == DAV_RT_FOLDER)
        rc = respond_folder(r);
    else
        rc = dav_get_file(r, &res.rec);
    dav_res_release(&res);
    return rc;
}
