/* metrics.c - lock-free request counters in Prometheus text format. */
#include <stdatomic.h>
#include <string.h>

#include "metrics.h"

static const char *const METHODS[] = {"GET",      "HEAD",  "PUT",  "DELETE", "OPTIONS",
                                      "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE",
                                      "LOCK",     "UNLOCK", "REPORT", "POST", "PATCH",
                                      "MKCALENDAR", "other"};
#define NMETHODS (sizeof(METHODS) / sizeof(METHODS[0]))
#define NCLASSES 6 /* 1xx..5xx, 0 = aborted */

/* Latency histogram buckets in milliseconds (Prometheus "le"). */
static const uint64_t BUCKETS_MS[] = {1, 5, 10, 25, 50, 100, 250, 500, 1000, 5000};
#define NBUCKETS (sizeof(BUCKETS_MS) / sizeof(BUCKETS_MS[0]))

static atomic_ulong g_requests[NMETHODS][NCLASSES];
static atomic_ulong g_latency[NBUCKETS + 1];
static atomic_ulong g_latency_sum_ms;
static atomic_ulong g_latency_count;

static size_t method_index(const char *m)
{
    for (size_t i = 0; i + 1 < NMETHODS; i++)
        if (strcmp(m, METHODS[i]) == 0)
            return i;
    return NMETHODS - 1;
}

void metrics_observe_request(const char *method, int status, uint64_t ms)
{
    size_t cls = (status >= 100 && status < 600) ? (size_t)(status / 100) : 0;
    atomic_fetch_add(&g_requests[method_index(method)][cls], 1);
    size_t b = 0;
    while (b < NBUCKETS && ms > BUCKETS_MS[b])
        b++;
    atomic_fetch_add(&g_latency[b], 1);
    atomic_fetch_add(&g_latency_sum_ms, ms);
    atomic_fetch_add(&g_latency_count, 1);
}

int metrics_render(struct buf *out)
{
    int rc = 0;
    rc |= buf_puts(out, "# HELP meshgate_http_requests_total HTTP requests by method and "
                        "status class.\n# TYPE meshgate_http_requests_total counter\n");
    for (size_t m = 0; m < NMETHODS; m++) {
        for (size_t c = 0; c < NCLASSES; c++) {
            unsigned long v = atomic_load(&g_requests[m][c]);
            if (!v)
                continue;
            if (c == 0)
                rc |= buf_printf(out,
                                 "meshgate_http_requests_total{method=\"%s\",code=\"aborted\"} "
                                 "%lu\n",
                                 METHODS[m], v);
            else
                rc |= buf_printf(out,
                                 "meshgate_http_requests_total{method=\"%s\",code=\"%zuxx\"} "
                                 "%lu\n",
                                 METHODS[m], c, v);
        }
    }
    rc |= buf_puts(out, "# HELP meshgate_http_request_duration_ms Request duration.\n"
                        "# TYPE meshgate_http_request_duration_ms histogram\n");
    unsigned long cum = 0;
    for (size_t b = 0; b < NBUCKETS; b++) {
        cum += atomic_load(&g_latency[b]);
        rc |= buf_printf(out, "meshgate_http_request_duration_ms_bucket{le=\"%llu\"} %lu\n",
                         (unsigned long long)BUCKETS_MS[b], cum);
    }
    cum += atomic_load(&g_latency[NBUCKETS]);
    rc |= buf_printf(out, "meshgate_http_request_duration_ms_bucket{le=\"+Inf\"} %lu\n", cum);
    rc |= buf_printf(out, "meshgate_http_request_duration_ms_sum %lu\n",
                     atomic_load(&g_latency_sum_ms));
    rc |= buf_printf(out, "meshgate_http_request_duration_ms_count %lu\n",
                     atomic_load(&g_latency_count));
    return rc ? MG_ENOMEM : 0;
}
