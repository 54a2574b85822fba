/*
 * seal.h - sealed peer messages and replay refusal (private to dht/).
 *
 * Every message between nodes, over HTTP (/.mesh/v1/) and UDP (gossip),
 * is one envelope:
 *
 *   'M' 'P' | version (1) | type (1) | sender node id (8) | sender HLC (8)
 *   | nonce (24) | XChaCha20-Poly1305 ciphertext of the payload + tag (16)
 *
 * The 44-byte header is the AEAD's associated data, so none of it can be
 * changed without the tag failing; a reply additionally binds the request's
 * nonce, so a reply cannot be replayed as the answer to another request. The
 * key is derived from the cluster key (crypto_kdf, context "mgpeer01"), so
 * the raw cluster key never encrypts anything itself.
 *
 * Replay: nonces are random (192 bits), so a repeated nonce means a repeated
 * message. The receiver remembers the nonces of recent messages and refuses
 * a nonce it has seen, and refuses messages older than the window (whose
 * nonces it may have forgotten).
 */
#ifndef MESHGATE_DHT_SEAL_H
#define MESHGATE_DHT_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "meshgate/common.h"

#define SEAL_VERSION 1 /* highest envelope version this build speaks */
#define SEAL_KEY_LEN 32
#define SEAL_NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SEAL_HEADER_LEN (2 + 1 + 1 + 8 + 8 + SEAL_NONCE_LEN)
#define SEAL_OVERHEAD (SEAL_HEADER_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES)

struct seal_header {
    uint8_t version;
    uint8_t type;
    uint64_t sender;
    uint64_t hlc;
    uint8_t nonce[SEAL_NONCE_LEN];
};

/* Derives the message key from the 32-byte cluster key. */
void seal_derive_key(const uint8_t cluster_key[32], uint8_t out[SEAL_KEY_LEN]);

/* Appends header and ciphertext of payload to out. bind (bind_len bytes, may
 * be NULL) is extra associated data the receiver must present too. The
 * random nonce is copied to nonce_out when not NULL. Returns 0 or MG_ENOMEM. */
int seal_message(const uint8_t key[SEAL_KEY_LEN], uint8_t type, uint64_t sender, uint64_t hlc,
                 const void *bind, size_t bind_len, const void *payload, size_t len,
                 struct buf *out, uint8_t nonce_out[SEAL_NONCE_LEN]);

/* Reads the header without checking anything but its shape. Returns 0 or
 * MG_EINVAL (too short, wrong magic). */
int seal_parse_header(const void *msg, size_t len, struct seal_header *h);

/* Checks and decrypts msg: returns 0 with the header in *h and the payload
 * appended to out; MG_EINVAL for a malformed message or an unknown version
 * (h->version then says which); MG_EDENIED when the tag does not verify
 * (wrong key, tampered, or wrong bind). */
int seal_open(const uint8_t key[SEAL_KEY_LEN], const void *msg, size_t len, const void *bind,
              size_t bind_len, struct seal_header *h, struct buf *out);

/* ---- replay window ------------------------------------------------------- */

struct replay_window;

/* A window remembering up to capacity nonces (rounded up to a power of two)
 * for window_ms. Returns NULL on ENOMEM. */
struct replay_window *replay_new(size_t capacity, uint64_t window_ms);
void replay_free(struct replay_window *w);

/* Admits a message with this nonce and sender timestamp (ms) at now_ms.
 * Returns 0 and remembers the nonce; MG_EEXIST for a nonce seen before;
 * MG_EINVAL when the message is older than the window, or not newer than a
 * nonce the window had to forget early because it was full. Thread-safe. */
int replay_check(struct replay_window *w, const uint8_t nonce[SEAL_NONCE_LEN], uint64_t ts_ms,
                 uint64_t now_ms);

#endif
