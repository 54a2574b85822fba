/*
 * identity.h - this node's Ed25519 key pair and node id (private to dht/).
 *
 * The key pair is made on first start and kept in <data_dir>/node.key
 * (mode 0600: the 64-byte libsodium secret key, which embeds the public key).
 * node id = the first 8 bytes (big-endian) of BLAKE2b-256(public key).
 */
#ifndef MESHGATE_DHT_IDENTITY_H
#define MESHGATE_DHT_IDENTITY_H

#include <stdint.h>

#include <sodium.h>

struct dht;

struct dht_identity {
    uint8_t public_key[crypto_sign_PUBLICKEYBYTES];
    unsigned char *secret_key; /* crypto_sign_SECRETKEYBYTES in sodium_malloc memory */
    uint64_t node_id;
};

/* Loads <dir>/node.key, creating it (atomically, never overwriting one made
 * concurrently by another process) when missing. Returns 0, MG_EIO when the
 * file cannot be read or written, MG_EINVAL when it is malformed, MG_ENOMEM.
 * Release with dht_identity_release(). sodium_init() must have succeeded. */
int dht_identity_load(const char *dir, struct dht_identity *id);
/* Wipes and frees the secret key. NULL-safe. */
void dht_identity_release(struct dht_identity *id);

/* Derives the node id from a public key. */
uint64_t dht_identity_node_id(const uint8_t public_key[crypto_sign_PUBLICKEYBYTES]);

/* The store's identity (borrowed, valid until dht_close). */
const struct dht_identity *dht_identity(const struct dht *d);

#endif
