/*
 * files.c - the file routes: a user's WebDAV file tree (/dav/files/<user>/)
 * over REST. Every operation is the WebDAV method's own code, reached through
 * include/meshgate/dav_files.h, so ETags, conditional requests, locks (423)
 * and limits are those of WebDAV; this file reads parameters, pages
 * listings, and answers JSON and RFC 9457 problems.
 *
 * Paths name files and folders inside the caller's own tree ("/" is its
 * root): in the query (?path=) they are percent-encoded like a URL path, with
 * '+' meaning a space as in any query string ("%2B" is a plus); in JSON bodies
 * they are plain strings. Both are then held to the rules of WebDAV request
 * paths (no "." or "..", no control characters, valid UTF-8): 400 otherwise.
 * No path reaches outside the caller's tree.
 *
 * WebDAV answers 405 for a folder where a file is expected (PUT, GET of
 * content) and for MKCOL on something that exists; here 405 keeps its REST
 * meaning (the route lacks the method), so those are 409.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_private.h"
#include "meshgate/dav_files.h"

#define FILES_CURSOR_PARTS 2 /* the folder listed, the last name given */

/* Answers the failure err of a dav_files call as a problem. */
static int files_problem(struct api_call *c, const struct dav_files_error *err)
{
    int status = err->status == 405 ? 409 : err->status;
    return api_problem(c->req, status, err->reason, "%s", err->detail);
}

/* Reads the ?path= parameter, decoded by mg_path_decode's rules, into a
 * malloc'd *out. Returns 0 or 400 after responding. */
static int files_query_path(struct api_call *c, char **out)
{
    const char *raw = srv_req_query_raw(c->req, "path");
    struct buf b;
    int rc = 0;

    *out = NULL;
    if (!raw || !raw[0])
        return api_problem(
            c->req, 400, "bad-parameter",
            "name a file or folder with ?path=/... (\"/\" is the root of your files)");
    buf_init(&b);
    /* the leading '/' may come encoded (encodeURIComponent); a literal '?' in
     * a value must not end the path; '+' is a space already */
    rc = buf_putc(&b, '/');
    for (const char *p = raw; *p && !rc; p++)
        rc = *p == '?' ? buf_puts(&b, "%3F") : buf_putc(&b, *p);
    if (!rc)
        rc = raw[0] == '/' || strncasecmp(raw, "%2F", 3) == 0 ? mg_path_decode(b.data, out)
                                                              : MG_EINVAL;
    buf_release(&b);
    if (rc == MG_ENOMEM)
        return api_problem(c->req, 500, NULL, "out of memory");
    if (rc)
        return api_problem(c->req, 400, "bad-path",
                           "path must start with '/' and must not hold '.' or '..' segments, "
                           "%%00, control characters or invalid UTF-8");
    return 0;
}

static json_t *files_time_json(int64_t ms)
{
    char t[32];
    mg_iso8601(ms / 1000, t, sizeof(t));
    return json_string(t);
}

/* The JSON of a listing entry. */
static json_t *files_item(const struct dav_files_entry *e)
{
    json_t *v = json_pack("{s:s, s:s, s:s, s:o}", "name", e->name, "path", e->path, "type",
                          e->folder ? "folder" : "file", "modified", files_time_json(e->mtime_ms));
    if (v && !e->folder) {
        json_object_set_new(v, "size", json_integer((json_int_t)e->size));
        json_object_set_new(v, "etag", json_string(e->etag));
        json_object_set_new(v, "content_type", json_string(e->content_type));
    }
    return v;
}

/* Collects the JSON of a dav_files_list call: the resource, then its members. */
struct files_listing {
    json_t *self;
    int self_folder;
    json_t *items;
    char *last; /* name of the last member given */
    int err;
};

static int files_collect(void *ctx, const struct dav_files_entry *e)
{
    struct files_listing *fl = ctx;
    json_t *v = files_item(e);
    if (!v) {
        fl->err = MG_ENOMEM;
        return 1;
    }
    if (!fl->self) {
        fl->self = v;
        fl->self_folder = e->folder;
        return 0;
    }
    free(fl->last);
    fl->last = NULL;
    if (json_array_append_new(fl->items, v) || !(fl->last = strdup(e->name))) {
        fl->err = MG_ENOMEM;
        return 1;
    }
    return 0;
}

static void files_listing_release(struct files_listing *fl)
{
    json_decref(fl->self);
    json_decref(fl->items);
    free(fl->last);
}

/* Sets Location to the URL of path: route (API_BASE "/files" or ".../content") + ?path=. */
static void files_location(struct api_call *c, const char *route, const char *path)
{
    struct buf loc;
    buf_init(&loc);
    if (buf_puts(&loc, route) == 0 && buf_puts(&loc, "?path=") == 0 &&
        mg_path_encode(&loc, path) == 0)
        srv_resp_header(c->req, "Location", loc.data);
    buf_release(&loc);
}

/* Answers status with the JSON of path as it is now (after a change). */
static int files_send_item(struct api_call *c, int status, const char *path)
{
    struct files_listing fl = {NULL, 0, NULL, NULL, 0};
    struct dav_files_error err;
    int more;
    int st = dav_files_list(c->m->dav, api_user(c), path, NULL, 0, files_collect, &fl, &more, &err);
    if (st >= 400) {
        files_listing_release(&fl);
        return files_problem(c, &err);
    }
    if (fl.err || !fl.self) {
        files_listing_release(&fl);
        return api_problem(c->req, 500, NULL, "out of memory");
    }
    json_t *v = json_incref(fl.self);
    files_listing_release(&fl);
    return api_send_json(c->req, status, v);
}

/* ---- listing and metadata ------------------------------------------------------------ */

/* 1 when the cursor was made for the folder path ("/a" and "/a/" are one folder). */
static int files_cursor_for(const char *made_for, const char *path)
{
    size_t n = strlen(made_for), m = strlen(path);
    if (n > 1 && made_for[n - 1] == '/')
        n--;
    if (m > 1 && path[m - 1] == '/')
        m--;
    return n == m && strncmp(made_for, path, n) == 0;
}

int api_files_get(struct api_call *c)
{
    char *path = NULL;
    char *parts[FILES_CURSOR_PARTS] = {NULL, NULL};
    struct files_listing fl = {NULL, 0, json_array(), NULL, 0};
    struct dav_files_error err;
    size_t limit;
    int more = 0;
    int st = files_query_path(c, &path);
    if (!st)
        st = api_page_limit(c, &limit);
    if (st)
        goto out;
    const char *cursor = srv_req_query(c->req, "cursor");
    if (cursor && (api_cursor_decode(cursor, parts, FILES_CURSOR_PARTS) ||
                   !files_cursor_for(parts[0], path))) {
        st = api_problem(c->req, 400, "bad-cursor", "the cursor was not made by a listing of %s",
                         path);
        goto out;
    }
    if (!fl.items) {
        st = api_problem(c->req, 500, NULL, "out of memory");
        goto out;
    }
    st = dav_files_list(c->m->dav, api_user(c), path, parts[1], limit, files_collect, &fl, &more,
                        &err);
    if (st >= 400) {
        st = files_problem(c, &err);
        goto out;
    }
    if (fl.err || !fl.self) {
        st = api_problem(c->req, 500, NULL, "out of memory");
        goto out;
    }
    json_t *v = json_incref(fl.self);
    if (fl.self_folder) {
        /* a folder: its members and the cursor to the next page */
        char *next = NULL;
        if (more && fl.last) {
            const char *np[FILES_CURSOR_PARTS] = {json_string_value(json_object_get(v, "path")),
                                                  fl.last};
            api_cursor_encode(np, FILES_CURSOR_PARTS, &next);
        }
        json_object_set(v, "items", fl.items);
        json_object_set_new(v, "next", next ? json_string(next) : json_null());
        free(next);
    }
    st = api_send_json(c->req, 200, v);
out:
    for (size_t i = 0; i < FILES_CURSOR_PARTS; i++)
        free(parts[i]);
    files_listing_release(&fl);
    free(path);
    return st;
}

/* ---- content ------------------------------------------------------------------------------ */

int api_file_download(struct api_call *c)
{
    char *path = NULL;
    struct dav_files_error err;
    int st = files_query_path(c, &path);
    if (st)
        return st;
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        path[--n] = '\0'; /* "/a.txt/" names the file a.txt */
    st = dav_files_get(c->m->dav, c->req, api_user(c), path, &err);
    if (st >= 400) {
        st = files_problem(c, &err);
    } else {
        /* a download, never rendered in the portal's origin */
        struct buf disp;
        const char *name = strrchr(path, '/') + 1;
        buf_init(&disp);
        if (buf_puts(&disp, "attachment; filename*=UTF-8''") == 0 &&
            mg_path_encode(&disp, name) == 0)
            srv_resp_header(c->req, "Content-Disposition", disp.data);
        buf_release(&disp);
        srv_resp_header(c->req, "X-Content-Type-Options", "nosniff");
        srv_resp_header(c->req, "Content-Security-Policy", "sandbox");
    }
    free(path);
    return st;
}

/* An upload in progress: the WebDAV PUT's state and the path. */
struct files_upload {
    struct dav_files_upload *up;
    char *path;
};

static void files_upload_free(void *p)
{
    struct files_upload *fu = p;
    if (!fu)
        return;
    dav_files_upload_free(fu->up);
    free(fu->path);
    free(fu);
}

static int files_upload_write(struct api_call *c, const char *data, size_t len)
{
    struct files_upload *fu = c->stream;
    struct dav_files_error err;
    int st = dav_files_put_write(fu->up, data, len, &err);
    return st ? files_problem(c, &err) : 0;
}

static int files_upload_end(struct api_call *c)
{
    struct files_upload *fu = c->stream;
    struct dav_files_error err;
    int st = dav_files_put_end(fu->up, &err);
    if (st >= 400)
        return files_problem(c, &err);
    if (st == 201)
        files_location(c, API_BASE "/files/content", fu->path);
    return files_send_item(c, st == 201 ? 201 : 200, fu->path);
}

int api_file_upload(struct api_call *c)
{
    struct files_upload *fu = calloc(1, sizeof(*fu));
    struct dav_files_error err;
    if (!fu)
        return api_problem(c->req, 500, NULL, "out of memory");
    c->stream = fu;
    c->stream_free = files_upload_free;
    int st = files_query_path(c, &fu->path);
    if (st)
        return st;
    st = dav_files_put_begin(c->m->dav, c->req, api_user(c), fu->path, &fu->up, &err);
    if (st)
        return files_problem(c, &err);
    c->body_write = files_upload_write;
    c->body_end = files_upload_end;
    return 0;
}

/* ---- changes ---------------------------------------------------------------------------- */

int api_files_delete(struct api_call *c)
{
    char *path = NULL;
    struct dav_files_error err;
    int st = files_query_path(c, &path);
    if (st)
        return st;
    st = dav_files_delete(c->m->dav, c->req, api_user(c), path, &err);
    free(path);
    if (st >= 400)
        return files_problem(c, &err);
    return srv_respond(c->req, 204, NULL, NULL, 0);
}

/* Reads the string field key of the JSON body into *out. Returns 0 or 400. */
static int files_field(struct api_call *c, const char *key, const char **out)
{
    int rc = api_json_get_str(c->json, key, out);
    if (rc == MG_ENOTFOUND)
        return api_problem(c->req, 400, "missing-field",
                           "\"%s\" is required: a path such as \"/a/b\"", key);
    if (rc)
        return api_problem(c->req, 400, "bad-field", "\"%s\" must be a string", key);
    return 0;
}

int api_files_move(struct api_call *c)
{
    static const char *const allowed[] = {"from", "to", "overwrite", NULL};
    const char *bad = api_json_unknown_key(c->json, allowed);
    if (bad)
        return api_problem(c->req, 400, "unknown-field", "unknown field \"%s\"", bad);
    const char *from, *to;
    int overwrite = 0;
    int st = files_field(c, "from", &from);
    if (!st)
        st = files_field(c, "to", &to);
    if (st)
        return st;
    int rc = api_json_get_bool(c->json, "overwrite", &overwrite);
    if (rc && rc != MG_ENOTFOUND)
        return api_problem(c->req, 400, "bad-field", "\"overwrite\" must be true or false");
    struct dav_files_error err;
    st = dav_files_move(c->m->dav, c->req, api_user(c), from, to, overwrite, &err);
    if (st >= 400)
        return files_problem(c, &err);
    if (st == 201)
        files_location(c, API_BASE "/files", to);
    return files_send_item(c, st == 201 ? 201 : 200, to);
}

int api_folder_create(struct api_call *c)
{
    static const char *const allowed[] = {"path", NULL};
    const char *bad = api_json_unknown_key(c->json, allowed);
    if (bad)
        return api_problem(c->req, 400, "unknown-field", "unknown field \"%s\"", bad);
    const char *path;
    int st = files_field(c, "path", &path);
    if (st)
        return st;
    struct dav_files_error err;
    st = dav_files_mkdir(c->m->dav, c->req, api_user(c), path, &err);
    if (st >= 400)
        return files_problem(c, &err);
    files_location(c, API_BASE "/files", path);
    return files_send_item(c, 201, path);
}
