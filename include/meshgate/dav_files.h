/*
 * dav_files.h - a user's WebDAV file tree (/dav/files/<user>/) for other
 * modules: the REST API's /api/v1/files routes (api/files.c) go through these
 * calls, which run the very code of the WebDAV methods (dav/files.c over
 * get.c, put.c, copymove.c, delete.c and mkcol.c). Both protocols thus see one
 * tree with the same ETags, conditional requests, locks, limits and errors.
 *
 * Paths are decoded and relative to the user's tree: "/" is its root,
 * "/a/b.txt" a file, "/a/b/" a folder (a trailing slash is optional). They
 * follow the rules of DAV URL paths (mg_path_decode output: no "." or ".."
 * segment, no NUL or control character, valid UTF-8; segments of at most 255
 * bytes); anything else fails with 400 "bad-path".
 *
 * Every call that can fail returns an HTTP status. A failure (status >= 400)
 * is described in *err and nothing is answered on the request, so the caller
 * answers in its own format. On success the call may have set response
 * headers (ETag) and a response (GET streams the content) on req; callers may
 * replace the body of a success response with their own.
 *
 * A write to a resource under a WebDAV LOCK fails with 423 "locked": these
 * calls carry no lock tokens.
 */
#ifndef MESHGATE_DAV_FILES_H
#define MESHGATE_DAV_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "meshgate/dav.h"
#include "meshgate/http.h"

#define DAV_FILES_ETAG_MAX 40 /* bytes of a quoted ETag with its NUL */

/* Why a call failed: an HTTP status, a short reason for machines (e.g.
 * "not-found", "parent-missing", "locked", "etag-mismatch", "bad-path"; NULL
 * when there is nothing more specific than the status) and a sentence for
 * people. Statuses: 400, 403, 404, 405 (a folder where a file is expected,
 * or something already there), 409, 412, 413, 416, 423, 500, 503, 507. */
struct dav_files_error {
    int status;
    const char *reason; /* static string or NULL */
    char detail[256];
};

/* One file or folder, as a listing shows it. Strings are borrowed: valid
 * during the callback (or until the next call that fills the entry). */
struct dav_files_entry {
    const char *name; /* last path segment; "" for the root */
    const char *path; /* user path, '/' at the end for folders: "/a/b/" */
    int folder;
    uint64_t size;                 /* files */
    char etag[DAV_FILES_ETAG_MAX]; /* files: the WebDAV getetag; "" for folders */
    const char *content_type;      /* files; "" for folders */
    int64_t mtime_ms;
    int64_t ctime_ms;
};

/* Called for each entry; return 0 to go on, non-zero to stop. */
typedef int (*dav_files_fn)(void *ctx, const struct dav_files_entry *e);

/* Describes path: calls fn once for the resource itself, then, when it is a
 * folder, for at most limit of its members (0: none) in name order, starting
 * after the member named after (NULL: from the first). *more is set to 1 when
 * members remain after the last one given. Returns 200, or a failure status
 * (404 when path names nothing) with err filled. */
int dav_files_list(struct dav_module *m, const char *user, const char *path, const char *after,
                   size_t limit, dav_files_fn fn, void *ctx, int *more,
                   struct dav_files_error *err);

/* WebDAV GET of the file at path: responds on req with the content streamed
 * from its chunks (memory does not grow with size), ETag, Last-Modified,
 * If-Match / If-None-Match / If-Modified-Since (304, 412) and a single byte
 * Range (206, 416). Returns the status responded (200, 206, 304) or a
 * failure; a folder is 405 "is-a-folder". */
int dav_files_get(struct dav_module *m, struct srv_request *req, const char *user, const char *path,
                  struct dav_files_error *err);

/* WebDAV PUT, streamed: begin checks everything that can refuse the upload
 * before any body byte (limits.max_upload against Content-Length, parent
 * folder 409, a folder at path 405, If-Match / If-None-Match 412, locks 423)
 * and returns 0 with *out, or a failure. Each piece of the body then goes to
 * write (413 past limits.max_upload), and end stores the file: 201 created or
 * 204 replaced, with the ETag header set on req. The Content-Type header of
 * req is stored with the file (guessed from the name when absent). */
struct dav_files_upload;
int dav_files_put_begin(struct dav_module *m, struct srv_request *req, const char *user,
                        const char *path, struct dav_files_upload **out,
                        struct dav_files_error *err);
int dav_files_put_write(struct dav_files_upload *u, const char *data, size_t len,
                        struct dav_files_error *err);
int dav_files_put_end(struct dav_files_upload *u, struct dav_files_error *err);
/* NULL-safe; chunks already stored stay (they are content-addressed). */
void dav_files_upload_free(struct dav_files_upload *u);

/* WebDAV MOVE of from to to (RFC 4918 9.9): folders with everything below
 * them; If-Match of req applies to the source. An existing destination is
 * replaced only with overwrite, else 412 "destination-exists". Returns 201
 * (created) or 204 (replaced), or a failure. */
int dav_files_move(struct dav_module *m, struct srv_request *req, const char *user,
                   const char *from, const char *to, int overwrite, struct dav_files_error *err);

/* WebDAV DELETE (RFC 4918 9.6): a folder goes with everything below it;
 * If-Match of req honoured. Returns 204 or a failure. */
int dav_files_delete(struct dav_module *m, struct srv_request *req, const char *user,
                     const char *path, struct dav_files_error *err);

/* WebDAV MKCOL (RFC 4918 9.3): returns 201, or 405 "exists" when something
 * is at path, 409 "parent-missing" when its parent folder is not there. */
int dav_files_mkdir(struct dav_module *m, struct srv_request *req, const char *user,
                    const char *path, struct dav_files_error *err);

#endif
