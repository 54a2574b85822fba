/* status.c - /healthz and /metrics. */
#include <string.h>

#include "handlers.h"
#include "metrics.h"

static int status_healthz(struct srv_request *req, void *ctx)
{
    struct dht *d = ctx;
    const char *m = srv_req_method(req);
    if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0) {
        srv_resp_header(req, "Allow", "GET, HEAD");
        return srv_respond_text(req, 405, "use GET");
    }
    /* A cheap store read proves the engine answers. */
    uint64_t hlc;
    if (dht_partition_hlc(d, "index/users", &hlc) != 0)
        return srv_respond_text(req, 503, "store unavailable");
    srv_resp_header(req, "Cache-Control", "no-store");
    return srv_respond(req, 200, "text/plain; charset=utf-8", "ok\n", 3);
}

static int status_metrics(struct srv_request *req, void *ctx)
{
    (void)ctx;
    const char *m = srv_req_method(req);
    if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0) {
        srv_resp_header(req, "Allow", "GET, HEAD");
        return srv_respond_text(req, 405, "use GET");
    }
    struct buf b;
    buf_init(&b);
    if (metrics_render(&b)) {
        buf_release(&b);
        return srv_respond_text(req, 500, "out of memory");
    }
    return srv_respond_buf(req, 200, "text/plain; version=0.0.4", &b);
}

int status_register_routes(struct srv_server *s, struct dht *d)
{
    struct srv_route health = {"/healthz", SRV_AUTH_NONE, status_healthz, NULL, d, NULL};
    struct srv_route metrics = {"/metrics", SRV_AUTH_NONE, status_metrics, NULL, NULL, NULL};
    int rc = srv_add_route(s, &health);
    if (!rc)
        rc = srv_add_route(s, &metrics);
    return rc;
}
