/* handlers.h - the server's own small routes: health, metrics, portal files. */
#ifndef MESHGATE_SERVER_HANDLERS_H
#define MESHGATE_SERVER_HANDLERS_H

#include "meshgate/dht.h"
#include "meshgate/http.h"

/* Registers /healthz and /metrics. d is borrowed (health checks the store). */
int status_register_routes(struct srv_server *s, struct dht *d);
/* Registers "/" serving static files from cfg->web_dir (GET/HEAD only). */
int static_register_routes(struct srv_server *s, const struct mg_config *cfg);

#endif
