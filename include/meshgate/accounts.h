/*
 * accounts.h - user accounts kept in the store (server/accounts.c) and the
 * authentication front (server/auth.c): argon2id password hashes, a cache of
 * verified credentials, and rate limiting of failed logins.
 *
 * Account record: partition "acct/<user>", row "", JSON
 *   {"name": "...", "hash": "$argon2id$...", "admin": false, "created": <unix s>,
 *    "quota": <bytes, 0 = unlimited>}
 * The list of accounts: partition "index/users", one row per user name.
 */
#ifndef MESHGATE_ACCOUNTS_H
#define MESHGATE_ACCOUNTS_H

#include <stddef.h>
#include <stdint.h>

#include "meshgate/config.h"
#include "meshgate/dht.h"

#define ACCT_NAME_MAX 64
#define ACCT_PASSWORD_MAX 1024

/* 1 when name is a valid account name: 1-64 chars of [a-z0-9._-], starting with
 * a letter or digit. Names are case-sensitive and lower case. */
int acct_valid_name(const char *name);

/* Creates an account. Returns 0, MG_EEXIST, MG_EINVAL (bad name or empty
 * password), or another mg_err code. */
int acct_create(struct dht *d, const char *name, const char *password, int admin);
/* Replaces the password. Returns 0, MG_ENOTFOUND, or an mg_err code. */
int acct_set_password(struct dht *d, const char *name, const char *password);
/* Deletes the account record and its index entry. Returns 0, MG_ENOTFOUND, ... */
int acct_delete(struct dht *d, const char *name);
/* Calls fn for every account name in order; fn returns non-zero to stop. */
int acct_list(struct dht *d, int (*fn)(void *ctx, const char *name, int admin), void *ctx);
/* Checks a password against the stored argon2id hash (slow: ~tens of ms).
 * Returns 0 when valid, MG_EDENIED when wrong or no such account.
 * *is_admin (may be NULL) receives the role; record_hash (may be NULL) the
 * account row's hash, which changes whenever the record does. */
int acct_verify(struct dht *d, const char *name, const char *password, int *is_admin,
                uint8_t record_hash[DHT_HASH_LEN]);
/* Reads the account row's current hash (cheap). Returns 0 or MG_ENOTFOUND. */
int acct_record_hash(struct dht *d, const char *name, uint8_t out[DHT_HASH_LEN],
                     int *is_admin);

/* ---- authentication front ------------------------------------------------ */

struct srv_auth;

/* Creates the authenticator (cache + rate limiter). d and cfg are borrowed. */
struct srv_auth *auth_new(struct dht *d, const struct mg_config *cfg);
void auth_free(struct srv_auth *a);
/* Verifies Basic credentials through the cache. Returns 0, MG_EDENIED, or
 * MG_ETOOBIG when the account or address is locked out after failures. */
int auth_check_basic(struct srv_auth *a, const char *user, const char *pass, const char *peer,
                     int *is_admin);

#endif
