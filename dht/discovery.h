/*
 * discovery.h - optional zero-config LAN discovery by multicast beacon
 * (private to dht/).
 *
 * A member started with discovery on sends a small beacon to an IPv4
 * multicast group now and then (at once when it can take requests, then
 * after 1, 2 and 4 s, then every 5 s with +-20 % jitter). The beacon is
 * sealed like any peer message (seal.h, type DISCO_BEACON): only nodes
 * holding the same cluster key can read it, and a tampered, replayed or
 * stale beacon is refused by the same checks (cluster_check). It carries
 * the sender's node id, advertised address, zone and incarnation.
 *
 * A member that hears a beacon from a node it does not know contacts it
 * through the normal join path (PEER_JOIN: each side learns the other and
 * its member table); a beacon from a known member only counts as news under
 * SWIM's rules (a higher incarnation), so it never moves a member to another
 * address on an old or equal claim. A node with the cluster key but no state
 * and no seed address (a token without one, no --join) waits for a beacon,
 * asking for one with DISCO_SOLICIT, and joins through the member that sent
 * it.
 *
 * Safety: TTL 1 (the beacon stays on the link), loopback on (several nodes
 * on one host hear each other), the socket is bound to the group address
 * (no unicast reaches it), beacons are rate-bounded (at most one a second,
 * solicited or not), our own are ignored, and join attempts are bounded per
 * sender. Refusals are counted and logged once at info, then at debug.
 */
#ifndef MESHGATE_DHT_DISCOVERY_H
#define MESHGATE_DHT_DISCOVERY_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cluster.h"

#define DISCO_DEFAULT_GROUP "239.255.77.77:7477"
#define DISCO_SEED_WAIT_MS 30000 /* how long a node without a seed waits for a beacon */
#define DISCO_PACKET_MAX 512     /* the largest datagram read: a beacon is under 300 bytes */

struct disco;

/* One received discovery datagram, opened and checked. */
struct disco_msg {
    uint8_t type;                /* DISCO_BEACON or DISCO_SOLICIT */
    uint64_t id;                 /* the sender, as sealed in the envelope */
    char addr[CLUSTER_ADDR_MAX]; /* beacon: the sender's advertised address */
    char zone[RING_ZONE_MAX];
    uint32_t incarnation;
};

/* Parses "a.b.c.d:port" (NULL: DISCO_DEFAULT_GROUP) into out: an IPv4
 * multicast address (224.0.0.0/4) and a port from 1 to 65535. Returns 0 or
 * MG_EINVAL. */
int disco_parse_group(const char *text, struct sockaddr_in *out);

/* Appends this node's sealed beacon (type DISCO_BEACON: id, advertised
 * address, zone, incarnation) or solicitation (DISCO_SOLICIT: id) to out.
 * Returns 0 or MG_ENOMEM. */
int disco_seal(struct cluster *c, uint8_t type, struct buf *out);

/* Opens a datagram received on the group. Returns 0 with *m filled; 1 for
 * a datagram of this node itself (looped back: ignore it); MG_EINVAL
 * (malformed, stale, not a discovery message), MG_EDENIED (another cluster's
 * key, or tampered) or MG_EEXIST (replayed) with *why set. Counts nothing,
 * logs nothing. */
int disco_open(struct cluster *c, const void *pkt, size_t len, struct disco_msg *m,
               const char **why);

enum disco_heard {
    DISCO_KNOWN,   /* a member we know, nothing new */
    DISCO_UPDATED, /* a member we know, at a higher incarnation: applied */
    DISCO_UNKNOWN  /* not in our member table: join through it */
};

/* What an accepted beacon m means to this node. A known member's claim is
 * applied under SWIM's rules (cluster_apply_update: alive wins only with a
 * higher incarnation, and only then may its address change); an unknown
 * node is left to the join path (cluster_contact), never added from here. */
enum disco_heard disco_heard(struct cluster *c, const struct disco_msg *m);

/* Starts discovery for a serving member on group (NULL: the default).
 * Returns 0, MG_EINVAL (bad group) or MG_EIO (the socket, e.g. no multicast
 * route); logged. */
int disco_start(struct cluster *c, const char *group, struct disco **out);
/* Stops the thread and closes the socket. c->stop must be set. NULL-safe. */
void disco_stop(struct disco *dc);

/* For a node with the cluster key but no seed: asks the group for beacons
 * for up to wait_ms, and copies the address of the first member heard into
 * seed. Returns 0, MG_EUNAVAIL (none heard; logged with what was refused),
 * or disco_start's errors. */
int disco_find_seed(struct cluster *c, const char *group, unsigned wait_ms,
                    char seed[CLUSTER_ADDR_MAX]);

/* Sets "discovery" in the status object o: the group and counters, or null
 * when dc is NULL (discovery off). */
void disco_status_json(struct disco *dc, json_t *o);

#endif
