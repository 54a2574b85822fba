/*
 * api.h - the JSON REST API under /api/v1/ (api/): node information, sign-up,
 * login with bearer tokens, the account, administration of sign-up, and the
 * encrypted mail system. The routes and their bodies are documented in
 * api/openapi.json, which the server also serves at /api/v1/openapi.json.
 *
 * Conventions: JSON bodies (jansson, depth limited by limits.max_json_depth,
 * size by limits.max_body), errors as RFC 9457 problem details
 * (application/problem+json), cursor pagination ({"items": [...], "next": c}),
 * ETags on every mutable resource and If-Match honoured on every change.
 *
 * Bearer tokens are verified by any node without reading the store: they carry
 * the user, the expiry and a random id under a MAC with a cluster-wide key
 * (partition "cluster/secrets", made on first use). Logout and password
 * changes revoke through the partition "auth/revoked", kept in memory.
 */
#ifndef MESHGATE_API_H
#define MESHGATE_API_H

#include <stddef.h>

#include "meshgate/accounts.h"
#include "meshgate/config.h"
#include "meshgate/dht.h"
#include "meshgate/http.h"

struct api_module;

/* Creates the module: loads (or creates) the cluster's token key and the
 * revocation list from the store. d and cfg are borrowed and must outlive it.
 * Returns NULL on failure (logged). */
struct api_module *api_new(struct dht *d, const struct mg_config *cfg);
/* Frees the module and wipes its keys. NULL-safe. */
void api_free(struct api_module *m);
/* Shares the server's authenticator (borrowed), so that failed REST logins
 * count toward the same lock-out as failed Basic logins. Without it the
 * module uses an authenticator of its own. */
void api_use_auth(struct api_module *m, struct srv_auth *auth);
/* Registers the /api/v1/ route with the server. Returns 0 or an mg_err code. */
int api_register_routes(struct api_module *m, struct srv_server *s);

/* Checks a bearer token (the text after "Bearer "), usable as
 * srv_auth_ops.check_bearer with ctx = the module. Fills user (cap bytes) and
 * *is_admin. Returns 0, or MG_EDENIED for a malformed, tampered, expired or
 * revoked token. */
int api_check_bearer(void *ctx, const char *token, char *user, size_t cap, int *is_admin);

#endif
