/* check_discovery.c - unit tests of LAN discovery (dht/discovery.c) without
 * the network: the group address, beacons and solicitations sealed by one
 * member and opened by another, the refusal of another cluster's, tampered,
 * replayed, stale and malformed datagrams, and what an accepted beacon may
 * change in the member table. The multicast itself is exercised by
 * tests/cluster/test_discovery.sh. */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "../../dht/cluster.h"
#include "../../dht/discovery.h"
#include "../../dht/engine.h"
#include "../../dht/hlc.h"
#include "../../dht/seal.h"
#include "../../dht/wire.h"
#include "meshgate/common.h"
#include "meshgate/dht.h"
#include "test_tmpdir.h"

static char tmp_root[64];

static void setup(void)
{
    log_set_level(MG_LOG_ERR);
    ck_assert_int_ge(sodium_init(), 0);
    snprintf(tmp_root, sizeof(tmp_root), "/tmp/check_discovery.XXXXXX");
    ck_assert_msg(mkdtemp(tmp_root) != NULL, "mkdtemp failed");
}

static void teardown(void)
{
    test_tmpdir_remove(tmp_root);
}

static void node_dir(const char *name, char out[128])
{
    snprintf(out, 128, "%s/%s", tmp_root, name);
}

/* Opens node `name` as a client of its cluster (no network). */
static struct dht *open_node(const char *name)
{
    char dir[128];
    node_dir(name, dir);
    struct dht_options o = {.data_dir = dir, .readers = 1};
    struct dht *d = NULL;
    ck_assert_int_eq(dht_open(&o, &d), 0);
    ck_assert_ptr_nonnull(dht_engine_cluster(d));
    return d;
}

/* A new cluster in node `name`'s directory. */
static void init_cluster(const char *name)
{
    char dir[128];
    char *token = NULL;
    node_dir(name, dir);
    ck_assert_int_eq(dht_cluster_init(dir, NULL, "127.0.0.9:1", &token), 0);
    free(token);
}

/* Node `to` gets node `from`'s cluster state: the same cluster key, its own
 * node key (made when first opened), so another member of that cluster. */
static void copy_cluster(const char *from, const char *to)
{
    char src[192], dst[192], dir[128];
    node_dir(from, dir);
    snprintf(src, sizeof(src), "%s/cluster.json", dir);
    node_dir(to, dir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    snprintf(dst, sizeof(dst), "%s/cluster.json", dir);
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    ck_assert(in && out);
    char b[4096];
    size_t n;
    while ((n = fread(b, 1, sizeof(b), in)) > 0)
        ck_assert_uint_eq(fwrite(b, 1, n, out), n);
    fclose(in);
    fclose(out);
}

/* Seals a DISCO_BEACON payload by hand (id, addr, zone, incarnation, and
 * `extra` trailing bytes) from c's node at wall time ms. */
static void seal_beacon(struct cluster *c, uint64_t id, const char *addr, uint32_t inc,
                        size_t extra, uint64_t ms, struct buf *out)
{
    struct buf p;
    buf_init(&p);
    ck_assert_int_eq(wire_u64(&p, id), 0);
    ck_assert_int_eq(wire_str(&p, addr), 0);
    ck_assert_int_eq(wire_str(&p, "zone-a"), 0);
    ck_assert_int_eq(wire_u32(&p, inc), 0);
    for (size_t i = 0; i < extra; i++)
        ck_assert_int_eq(wire_u8(&p, 0), 0);
    ck_assert_int_eq(seal_message(c->peer_key, DISCO_BEACON, c->self_id, hlc_make(ms, 0), NULL, 0,
                                  p.data, p.len, out, NULL),
                     0);
    buf_release(&p);
}

START_TEST(test_group_address)
{
    struct sockaddr_in sa;
    char ip[INET_ADDRSTRLEN];
    ck_assert_int_eq(disco_parse_group(NULL, &sa), 0);
    ck_assert_str_eq(inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip)), "239.255.77.77");
    ck_assert_int_eq(ntohs(sa.sin_port), 7477);
    ck_assert_int_eq(disco_parse_group("224.0.0.251:5353", &sa), 0);
    ck_assert_int_eq(ntohs(sa.sin_port), 5353);
    const char *bad[] = {"10.0.0.1:7477",
                         "127.0.0.1:7477",
                         "239.255.77.77",
                         "239.255.77.77:0",
                         "239.255.77.77:65536",
                         "239.255.77.77:x",
                         "[ff02::1]:7477",
                         "",
                         ":7477",
                         "host.example:7477",
                         "240.0.0.1:7477"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(disco_parse_group(bad[i], &sa) == MG_EINVAL, "accepted %s", bad[i]);
}
END_TEST

START_TEST(test_beacon_between_members)
{
    init_cluster("a");
    copy_cluster("a", "b");
    struct dht *da = open_node("a"), *db = open_node("b");
    struct cluster *a = dht_engine_cluster(da), *b = dht_engine_cluster(db);
    ck_assert_uint_ne(a->self_id, b->self_id);
    snprintf(a->self_zone, sizeof(a->self_zone), "attic");
    struct buf pkt;
    buf_init(&pkt);
    struct disco_msg m;
    const char *why = NULL;

    ck_assert_int_eq(disco_seal(a, DISCO_BEACON, &pkt), 0);
    ck_assert_uint_le(pkt.len, DISCO_PACKET_MAX);
    ck_assert_int_eq(disco_open(b, pkt.data, pkt.len, &m, &why), 0);
    ck_assert_int_eq(m.type, DISCO_BEACON);
    ck_assert_uint_eq(m.id, a->self_id);
    ck_assert_str_eq(m.addr, "127.0.0.9:1");
    ck_assert_str_eq(m.zone, "attic");
    ck_assert_uint_eq(m.incarnation, a->incarnation);
    /* The same datagram again is a replay. */
    ck_assert_int_eq(disco_open(b, pkt.data, pkt.len, &m, &why), MG_EEXIST);
    ck_assert_str_eq(why, "replayed");
    /* Our own beacon, looped back: ignored, not refused. */
    buf_reset(&pkt);
    ck_assert_int_eq(disco_seal(b, DISCO_BEACON, &pkt), 0);
    ck_assert_int_eq(disco_open(b, pkt.data, pkt.len, &m, &why), 1);

    /* A solicitation carries only the sender. */
    buf_reset(&pkt);
    ck_assert_int_eq(disco_seal(a, DISCO_SOLICIT, &pkt), 0);
    ck_assert_int_eq(disco_open(b, pkt.data, pkt.len, &m, &why), 0);
    ck_assert_int_eq(m.type, DISCO_SOLICIT);
    ck_assert_uint_eq(m.id, a->self_id);

    /* The longest address and zone still fit in one datagram. */
    memset(a->self_addr, 'h', CLUSTER_ADDR_MAX - 1);
    a->self_addr[CLUSTER_ADDR_MAX - 1] = '\0';
    memset(a->self_zone, 'z', RING_ZONE_MAX - 1);
    a->self_zone[RING_ZONE_MAX - 1] = '\0';
    buf_reset(&pkt);
    ck_assert_int_eq(disco_seal(a, DISCO_BEACON, &pkt), 0);
    ck_assert_uint_le(pkt.len, DISCO_PACKET_MAX);
    ck_assert_int_eq(disco_open(b, pkt.data, pkt.len, &m, &why), 0);
    ck_assert_str_eq(m.addr, a->self_addr);
    buf_release(&pkt);
    dht_close(da);
    dht_close(db);
}
END_TEST

START_TEST(test_refused_beacons)
{
    init_cluster("a");
    copy_cluster("a", "b");
    init_cluster("stranger");
    struct dht *da = open_node("a"), *db = open_node("b"), *ds = open_node("stranger");
    struct cluster *a = dht_engine_cluster(da), *b = dht_engine_cluster(db);
    struct cluster *s = dht_engine_cluster(ds);
    struct buf pkt;
    buf_init(&pkt);
    struct disco_msg m;
    const char *why = NULL;
    uint64_t now = mg_now_ms();

    /* Another cluster's beacon, both ways. */
    ck_assert_int_eq(disco_seal(s, DISCO_BEACON, &pkt), 0);
    ck_assert_int_eq(disco_open(b, pkt.data, pkt.len, &m, &why), MG_EDENIED);
    ck_assert_ptr_nonnull(strstr(why, "wrong cluster key"));
    buf_reset(&pkt);
    ck_assert_int_eq(disco_seal(a, DISCO_BEACON, &pkt), 0);
    ck_assert_int_eq(disco_open(s, pkt.data, pkt.len, &m, &why), MG_EDENIED);

    /* Tampered: any byte of header or ciphertext, or cut short. */
    const size_t at[] = {4, 12, SEAL_HEADER_LEN + 1, pkt.len - 1};
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        pkt.data[at[i]] ^= 0x20;
        ck_assert_msg(disco_open(b, pkt.data, pkt.len, &m, &why) == MG_EDENIED,
                      "byte %zu flipped and accepted", at[i]);
        pkt.data[at[i]] ^= 0x20;
    }
    ck_assert_int_ne(disco_open(b, pkt.data, pkt.len - 1, &m, &why), 0);
    ck_assert_int_ne(disco_open(b, pkt.data, 10, &m, &why), 0);
    /* Untouched, it is still good (the refusals above did not spend it). */
    ck_assert_int_eq(disco_open(b, pkt.data, pkt.len, &m, &why), 0);

    /* Stale, or from too far in the future. */
    buf_reset(&pkt);
    seal_beacon(a, a->self_id, "127.0.0.9:1", 1, 0, now - 10 * 60 * 1000, &pkt);
    ck_assert_int_eq(disco_open(b, pkt.data, pkt.len, &m, &why), MG_EINVAL);
    buf_reset(&pkt);
    seal_beacon(a, a->self_id, "127.0.0.9:1", 1, 0, now + HLC_MAX_DRIFT_MS + 60000, &pkt);
    ck_assert_int_eq(disco_open(b, pkt.data, pkt.len, &m, &why), MG_EINVAL);
    ck_assert_str_eq(why, "clock too far ahead");

    /* Sealed with the key but not a good beacon: another node's id inside,
     * no address, bytes left over. */
    buf_reset(&pkt);
    seal_beacon(a, 0x1234, "127.0.0.9:1", 1, 0, now, &pkt);
    ck_assert_int_eq(disco_open(b, pkt.data, pkt.len, &m, &why), MG_EINVAL);
    ck_assert_str_eq(why, "malformed");
    buf_reset(&pkt);
    seal_beacon(a, a->self_id, "", 1, 0, now, &pkt);
    ck_assert_int_eq(disco_open(b, pkt.data, pkt.len, &m, &why), MG_EINVAL);
    buf_reset(&pkt);
    seal_beacon(a, a->self_id, "127.0.0.9:1", 1, 3, now, &pkt);
    ck_assert_int_eq(disco_open(b, pkt.data, pkt.len, &m, &why), MG_EINVAL);

    /* A gossip packet sent to the group is not a discovery message. */
    buf_reset(&pkt);
    ck_assert_int_eq(cluster_seal(a, SWIM_PING, NULL, 0, "x", 1, &pkt, NULL), 0);
    ck_assert_int_eq(disco_open(b, pkt.data, pkt.len, &m, &why), MG_EINVAL);
    ck_assert_str_eq(why, "not a discovery message");

    /* Discovery counts its own refusals: none of these reached the counter
     * of peer messages refused (which operators watch for attacks). */
    ck_assert_uint_eq(atomic_load(&b->refused), 0);
    buf_release(&pkt);
    dht_close(da);
    dht_close(db);
    dht_close(ds);
}
END_TEST

static void member_of(struct cluster *c, uint64_t id, char addr[CLUSTER_ADDR_MAX],
                      enum member_state *st)
{
    ck_assert_int_eq(cluster_member_addr(c, id, addr, st), 0);
}

START_TEST(test_what_a_beacon_may_change)
{
    init_cluster("a");
    struct dht *d = open_node("a");
    struct cluster *c = dht_engine_cluster(d);
    const uint64_t x = 0xabc;
    char addr[CLUSTER_ADDR_MAX];
    enum member_state st;
    struct disco_msg m = {.type = DISCO_BEACON, .id = 0x5151, .incarnation = 9};
    snprintf(m.addr, sizeof(m.addr), "127.0.0.9:51");

    /* An unknown node is left to the join path, not added from a beacon. */
    ck_assert_int_eq(disco_heard(c, &m), DISCO_UNKNOWN);
    ck_assert_int_eq(cluster_member_addr(c, m.id, addr, NULL), MG_ENOTFOUND);

    /* A known member moves to another address only on a newer incarnation. */
    ck_assert_int_eq(cluster_apply_update(c, x, "127.0.0.9:2", "", 5, MEMBER_ALIVE), 1);
    m.id = x;
    snprintf(m.addr, sizeof(m.addr), "127.0.0.9:66");
    m.incarnation = 5;
    ck_assert_int_eq(disco_heard(c, &m), DISCO_KNOWN);
    m.incarnation = 4;
    ck_assert_int_eq(disco_heard(c, &m), DISCO_KNOWN);
    member_of(c, x, addr, &st);
    ck_assert_str_eq(addr, "127.0.0.9:2");
    m.incarnation = 6;
    ck_assert_int_eq(disco_heard(c, &m), DISCO_UPDATED);
    member_of(c, x, addr, &st);
    ck_assert_str_eq(addr, "127.0.0.9:66");
    ck_assert_int_eq(st, MEMBER_ALIVE);

    /* A beacon does not overturn a suspicion at the same incarnation (the
     * member refutes it by gossip, with a higher one), nor a departure. */
    ck_assert_int_eq(cluster_apply_update(c, x, NULL, NULL, 6, MEMBER_SUSPECT), 1);
    ck_assert_int_eq(disco_heard(c, &m), DISCO_KNOWN);
    member_of(c, x, addr, &st);
    ck_assert_int_eq(st, MEMBER_SUSPECT);
    m.incarnation = 7;
    ck_assert_int_eq(disco_heard(c, &m), DISCO_UPDATED);
    ck_assert_int_eq(cluster_apply_update(c, x, NULL, NULL, 7, MEMBER_LEFT), 1);
    m.incarnation = 99;
    ck_assert_int_eq(disco_heard(c, &m), DISCO_KNOWN);
    member_of(c, x, addr, &st);
    ck_assert_int_eq(st, MEMBER_LEFT);
    dht_close(d);
}
END_TEST

START_TEST(test_status_json)
{
    json_t *o = json_object();
    disco_status_json(NULL, o);
    ck_assert(json_is_null(json_object_get(o, "discovery")));
    json_decref(o);
}
END_TEST

static Suite *discovery_suite(void)
{
    Suite *s = suite_create("discovery");
    TCase *tc = tcase_create("beacons");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_group_address);
    tcase_add_test(tc, test_beacon_between_members);
    tcase_add_test(tc, test_refused_beacons);
    tcase_add_test(tc, test_what_a_beacon_may_change);
    tcase_add_test(tc, test_status_json);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(discovery_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
