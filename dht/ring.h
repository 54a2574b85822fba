/*
 * ring.h - consistent hashing with virtual nodes (private to dht/).
 *
 * Each member owns RING_VNODES tokens on a 64-bit ring: token i of node id
 * is the first 8 bytes of BLAKE2b(id || i). A partition key's token is the
 * first 8 bytes of BLAKE2b(pkey); its preference list is the first N
 * distinct members met clockwise from it (Dynamo 4.2-4.3), taking members of
 * zones not yet in the list first when members declare zones (like
 * Cassandra's NetworkTopologyStrategy), so the replicas of a partition sit
 * in as many zones as there are.
 *
 * Pure data: build one from a member list, look up, release. Callers
 * serialise access (the cluster rebuilds a ring under its lock).
 */
#ifndef MESHGATE_DHT_RING_H
#define MESHGATE_DHT_RING_H

#include <stddef.h>
#include <stdint.h>

#define RING_VNODES 64
#define RING_ZONE_MAX 64

struct ring_token {
    uint64_t token;
    uint32_t member; /* index into the member list given to ring_build */
};

struct ring {
    struct ring_token *tokens; /* sorted by token */
    size_t ntokens;
    size_t nmembers;
    uint64_t *ids;
    char (*zones)[RING_ZONE_MAX];
    int zoned; /* some member declared a zone */
};

void ring_init(struct ring *r);
/* Builds the ring of n members (ids distinct; zones[i] may be NULL or "").
 * Replaces what r held. Returns 0 or MG_ENOMEM / MG_EINVAL. */
int ring_build(struct ring *r, const uint64_t *ids, const char *const *zones, size_t n, int vnodes);
void ring_release(struct ring *r);

/* The ring position of a partition key ("conflict/<pkey>" shares pkey's). */
uint64_t ring_key_token(const char *pkey);
/* The token of virtual node i of member id. */
uint64_t ring_vnode_token(uint64_t id, uint32_t i);

/* Writes the member indexes of the first `want` distinct members clockwise
 * from token into out (which holds want entries); returns how many were
 * written (fewer when the ring has fewer members). */
size_t ring_preference(const struct ring *r, uint64_t token, size_t want, uint32_t *out);

/* For each member, the fraction of the token space for which it is one of
 * the n replicas (share[i], i < nmembers; they add up to min(n, members)). */
void ring_ownership(const struct ring *r, size_t n, double *share);

#endif
