/* metrics.h - process-wide request counters, exported at /metrics. */
#ifndef MESHGATE_SERVER_METRICS_H
#define MESHGATE_SERVER_METRICS_H

#include <stdint.h>

#include "meshgate/common.h"

/* Counts one finished request (thread-safe, lock-free). */
void metrics_observe_request(const char *method, int status, uint64_t ms);
/* Appends the Prometheus text exposition of all counters to out. */
int metrics_render(struct buf *out);

#endif
