/*
 * accounts.h - user accounts kept in the store (server/accounts.c) and the
 * authentication front (server/auth.c): argon2id password hashes, a cache of
 * verified credentials, and rate limiting of failed logins.
 *
 * Account record: partition "acct/<user>", row "", JSON
 *   {"name": "...", "hash": "$argon2id$...", "admin": false, "created": <unix s>,
 *    "quota": <bytes, 0 = unlimited>,
 *    "public_key": "<hex X25519 public key>",
 *    "secret_key": "<the X25519 secret key wrapped by acct_key_wrap>",
 *    "sessions_before": <unix ms of the last password change or reset>}
 * The list of accounts: partition "index/users", one row per user name.
 *
 * Mail key pair: every account has an X25519 key pair (crypto_box) made when it
 * is created. Mail is sealed to the public key; the secret key is stored only
 * wrapped under a key derived from the password (argon2id with its own salt,
 * then XChaCha20-Poly1305 with the account name as associated data), so the
 * stored record is useless without the password. Accounts made before keys
 * existed get their pair on first acct_open_key (when the password is known).
 */
#ifndef MESHGATE_ACCOUNTS_H
#define MESHGATE_ACCOUNTS_H

#include <stddef.h>
#include <stdint.h>

#include "meshgate/config.h"
#include "meshgate/dht.h"

#define ACCT_NAME_MAX 64
#define ACCT_PASSWORD_MAX 1024
#define ACCT_KEY_LEN 32 /* bytes of an X25519 public or secret key */

/* 1 when name is a valid account name: 1-64 chars of [a-z0-9._-], starting with
 * a letter or digit. Names are case-sensitive and lower case. */
int acct_valid_name(const char *name);

/* Creates an account. Returns 0, MG_EEXIST, MG_EINVAL (bad name or empty
 * password), or another mg_err code. */
int acct_create(struct dht *d, const char *name, const char *password, int admin);
/* Replaces the password without knowing the old one (administrator reset,
 * `meshgate user passwd`). The old secret key cannot be unwrapped without the
 * old password, so a new key pair is made: mail sealed to the old key can no
 * longer be read (that is the point of wrapping it). Users who know their
 * password change it with acct_change_password, which keeps the key pair.
 * Both end the account's REST sessions (acct_info.sessions_before_ms).
 * Returns 0, MG_ENOTFOUND, or an mg_err code. */
int acct_set_password(struct dht *d, const char *name, const char *password);
/* Changes the password keeping the key pair: checks old_password, unwraps the
 * secret key with it and wraps it again under new_password, in one conditional
 * write. expect (may be NULL) is the record hash the caller saw (If-Match).
 * Returns 0, MG_EDENIED (old password wrong or no such account), MG_EPRECOND
 * (the record is not expect, or changed meanwhile), MG_EINVAL (empty or
 * over-long new password), or an mg_err code. Slow: several argon2id runs. */
int acct_change_password(struct dht *d, const char *name, const char *old_password,
                         const char *new_password, const uint8_t expect[DHT_HASH_LEN]);
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
int acct_record_hash(struct dht *d, const char *name, uint8_t out[DHT_HASH_LEN], int *is_admin);

/* What the REST API shows of an account. */
struct acct_info {
    int admin;
    int64_t created;             /* unix seconds */
    uint64_t quota;              /* bytes, 0 = unlimited */
    uint64_t sessions_before_ms; /* sessions begun up to then are over (password set) */
    int has_key;                 /* public_key is valid */
    uint8_t public_key[ACCT_KEY_LEN];
    uint8_t record_hash[DHT_HASH_LEN]; /* changes whenever the record does (ETag) */
};

/* Reads an account's public data. Returns 0 or MG_ENOTFOUND (also for invalid
 * names), or an mg_err code. */
int acct_get_info(struct dht *d, const char *name, struct acct_info *out);

/* Wraps the secret key sk of account name under a key derived from password
 * (argon2id, fresh random salt) with XChaCha20-Poly1305, the name bound as
 * associated data. *out receives a malloc'd printable string
 * "mgkw1$<opslimit>$<memlimit>$<salt>$<nonce>$<ciphertext>" (hex fields).
 * Returns 0, MG_EINVAL (empty password) or MG_ENOMEM. */
int acct_key_wrap(const char *name, const char *password, const uint8_t sk[ACCT_KEY_LEN],
                  char **out);
/* Reverses acct_key_wrap into sk (the caller's, ideally sodium_malloc'd).
 * Returns 0, MG_EDENIED when the password or the name is wrong (the
 * authenticated decryption fails), MG_EINVAL for a malformed string. */
int acct_key_unwrap(const char *name, const char *password, const char *wrapped,
                    uint8_t sk[ACCT_KEY_LEN]);
/* Unwraps the account's secret key with password into sk and its public key
 * into pk. An account without a key pair (made before keys existed) gets one
 * now, after its password hash was checked. Returns 0, MG_EDENIED (wrong
 * password or no such account), or an mg_err code. Slow: argon2id. */
int acct_open_key(struct dht *d, const char *name, const char *password, uint8_t sk[ACCT_KEY_LEN],
                  uint8_t pk[ACCT_KEY_LEN]);

/* ---- authentication front ------------------------------------------------ */

struct srv_auth;

/* Creates the authenticator (cache + rate limiter). d and cfg are borrowed. */
struct srv_auth *auth_new(struct dht *d, const struct mg_config *cfg);
void auth_free(struct srv_auth *a);
/* Verifies Basic credentials through the cache. Returns 0, MG_EDENIED,
 * MG_ETOOBIG when the account or address is locked out after failures, or
 * MG_EUNAVAIL/MG_EIO when the account could not be read (not counted as a
 * failed login). */
int auth_check_basic(struct srv_auth *a, const char *user, const char *pass, const char *peer,
                     int *is_admin);
/* argon2id needs ~19 MiB a run: every run of the process (Basic checks here,
 * and the REST API's logins, sign-ups and key unwraps) goes between these, so
 * that at most AUTH_MAX_VERIFYING run at once. */
void auth_kdf_enter(struct srv_auth *a);
void auth_kdf_leave(struct srv_auth *a);

#endif
