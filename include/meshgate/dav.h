/*
 * dav.h - WebDAV (RFC 4918 class 1 and 2), principals (RFC 5397) and
 * well-known redirects (RFC 6764); CalDAV/CardDAV build on this module.
 *
 * URL space: /dav/files/<user>/...      the user's file tree
 *            /dav/principals/<user>/    the user's principal
 *            /.well-known/caldav|carddav  redirects
 */
#ifndef MESHGATE_DAV_H
#define MESHGATE_DAV_H

#include "meshgate/config.h"
#include "meshgate/dht.h"
#include "meshgate/http.h"

struct dav_module;

/* Creates the module. d and cfg are borrowed and must outlive it. NULL on ENOMEM. */
struct dav_module *dav_new(struct dht *d, const struct mg_config *cfg);
/* NULL-safe. */
void dav_free(struct dav_module *m);
/* Registers the module's routes with the server. Returns 0 or an mg_err code. */
int dav_register_routes(struct dav_module *m, struct srv_server *s);

#endif
