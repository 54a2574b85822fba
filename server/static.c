/* static.c - the welcome portal's static files from web_dir. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handlers.h"

struct static_file {
    int fd;
};

static const char *static_type(const char *path)
{
    static const struct {
        const char *ext;
        const char *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"}, {".json", "application/json"},
        {".svg", "image/svg+xml"}, {".png", "image/png"}, {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

static long static_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
    struct static_file *f = ctx;
    ssize_t n = pread(f->fd, buf, max, (off_t)pos);
    return n < 0 ? -1 : (long)n;
}

static void static_close(void *ctx)
{
    struct static_file *f = ctx;
    close(f->fd);
    free(f);
}

static int static_begin(struct srv_request *req, void *ctx)
{
    const struct mg_config *cfg = ctx;
    const char *m = srv_req_method(req);
    if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0) {
        srv_resp_header(req, "Allow", "GET, HEAD, OPTIONS");
        if (strcmp(m, "OPTIONS") == 0)
            return srv_respond(req, 200, NULL, NULL, 0);
        return srv_respond_text(req, 405, "%s is not supported here", m);
    }
    /* srv_req_path has no "." or ".." segments (mg_path_decode refuses them). */
    const char *path = srv_req_path(req);
    char full[4096];
    int n = snprintf(full, sizeof(full), "%s%s%s", cfg->web_dir, path,
                     path[strlen(path) - 1] == '/' ? "index.html" : "");
    if (n < 0 || (size_t)n >= sizeof(full))
        return srv_respond_text(req, 404, "no such file");
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return srv_respond_text(req, 404, "no such file: %s", path);
    }
    struct static_file *f = malloc(sizeof(*f));
    if (!f) {
        close(fd);
        return srv_respond_text(req, 500, "out of memory");
    }
    f->fd = fd;
    char date[40];
    mg_http_date(st.st_mtime, date, sizeof(date));
    srv_resp_header(req, "Last-Modified", date);
    srv_resp_header(req, "X-Content-Type-Options", "nosniff");
    /* The portal loads nothing from elsewhere and is never framed. */
    srv_resp_header(req, "Content-Security-Policy",
                    "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    srv_resp_header(req, "X-Frame-Options", "DENY");
    srv_resp_header(req, "Referrer-Policy", "no-referrer");
    srv_resp_header(req, "Cache-Control", "no-cache");
    return srv_respond_stream(req, 200, static_type(full), (uint64_t)st.st_size, static_read, f,
                              static_close);
}

int static_register_routes(struct srv_server *s, const struct mg_config *cfg)
{
    struct srv_route r = {"/", SRV_AUTH_NONE, static_begin, NULL, (void *)cfg, NULL};
    return srv_add_route(s, &r);
}
