/* cluster_cli.c - cluster and raw-key commands, and the peer route (see cluster_cli.h). */
#include "cluster_cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "meshgate/common.h"

static const char CLUSTER_USAGE[] =
    "usage: meshgate cluster init --data DIR [--replicas N --write-quorum W --read-quorum R]\n"
    "                             [--advertise HOST:PORT] [--gossip-ms MS] [--suspect-ms MS]\n"
    "                             [--anti-entropy-ms MS] [--timeout-ms MS]\n"
    "       meshgate cluster status --data DIR [--json]\n"
    "       meshgate cluster token --data DIR [--advertise HOST:PORT]\n"
    "       meshgate cluster leave --data DIR\n"
    "       meshgate cluster remove NODE_ID --data DIR\n"
    "       meshgate cluster ping HOST:PORT --data DIR [--clock-offset MS] [--save FILE]\n"
    "       meshgate cluster digests --data DIR\n"
    "\n"
    "init creates a cluster in a node's data directory and prints the join token;\n"
    "other nodes join with: meshgate serve --listen ADDR --data DIR --join HOST:PORT --token T.\n"
    "status prints the members as the running node of DIR sees them. leave hands this\n"
    "node's data to the others and leaves the ring; remove takes a dead node out for good.\n"
    "ping sends a sealed ping (diagnostics). digests prints a digest per partition held here.\n";

static const char KV_USAGE[] =
    "usage: meshgate kv get PKEY RKEY --data DIR [--local] [--etag]\n"
    "       meshgate kv put PKEY RKEY VALUE --data DIR     (VALUE - reads standard input)\n"
    "       meshgate kv del PKEY RKEY --data DIR\n"
    "       meshgate kv scan PKEY --data DIR [--local] [--limit N]\n"
    "\n"
    "Raw rows of the replicated store, coordinated like any request (quorums,\n"
    "hints). --local reads only this node's own replica.\n";

enum {
    CO_DATA = 300,
    CO_REPLICAS,
    CO_WQ,
    CO_RQ,
    CO_ADVERTISE,
    CO_GOSSIP,
    CO_SUSPECT,
    CO_AE,
    CO_TIMEOUT,
    CO_JSON,
    CO_CLOCK,
    CO_SAVE,
    CO_LOCAL,
    CO_ETAG,
    CO_LIMIT
};

static const struct option CLI_OPTS[] = {
    {"data", required_argument, NULL, CO_DATA},
    {"replicas", required_argument, NULL, CO_REPLICAS},
    {"write-quorum", required_argument, NULL, CO_WQ},
    {"read-quorum", required_argument, NULL, CO_RQ},
    {"advertise", required_argument, NULL, CO_ADVERTISE},
    {"gossip-ms", required_argument, NULL, CO_GOSSIP},
    {"suspect-ms", required_argument, NULL, CO_SUSPECT},
    {"anti-entropy-ms", required_argument, NULL, CO_AE},
    {"timeout-ms", required_argument, NULL, CO_TIMEOUT},
    {"json", no_argument, NULL, CO_JSON},
    {"clock-offset", required_argument, NULL, CO_CLOCK},
    {"save", required_argument, NULL, CO_SAVE},
    {"local", no_argument, NULL, CO_LOCAL},
    {"etag", no_argument, NULL, CO_ETAG},
    {"limit", required_argument, NULL, CO_LIMIT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct cli_args {
    const char *data;
    struct dht_cluster_params params;
    const char *advertise;
    int json, local, etag;
    int64_t clock_offset;
    const char *save;
    uint64_t limit;
    char *pos[4]; /* positional arguments after the action */
    int npos;
};

static int parse_int(const char *s, int max, int *out)
{
    uint64_t v;
    if (mg_parse_u64(s, &v) || v > (uint64_t)max)
        return -1;
    *out = (int)v;
    return 0;
}

/* Returns 0, 1 for --help, -1 after printing an error. */
static int cli_parse(int argc, char **argv, const char *usage, struct cli_args *a)
{
    memset(a, 0, sizeof(*a));
    a->data = "./meshgate-data";
    optind = 1;
    int opt, bad = 0;
    while ((opt = getopt_long(argc, argv, "h", CLI_OPTS, NULL)) != -1) {
        switch (opt) {
        case CO_DATA:
            a->data = optarg;
            break;
        case CO_REPLICAS:
            bad = parse_int(optarg, 7, &a->params.replicas);
            break;
        case CO_WQ:
            bad = parse_int(optarg, 7, &a->params.write_quorum);
            break;
        case CO_RQ:
            bad = parse_int(optarg, 7, &a->params.read_quorum);
            break;
        case CO_ADVERTISE:
            a->advertise = optarg;
            break;
        case CO_GOSSIP:
            bad = parse_int(optarg, 600000, &a->params.gossip_ms);
            break;
        case CO_SUSPECT:
            bad = parse_int(optarg, 3600000, &a->params.suspect_ms);
            break;
        case CO_AE:
            bad = parse_int(optarg, 86400000, &a->params.ae_ms);
            break;
        case CO_TIMEOUT:
            bad = parse_int(optarg, 600000, &a->params.timeout_ms);
            break;
        case CO_JSON:
            a->json = 1;
            break;
        case CO_LOCAL:
            a->local = 1;
            break;
        case CO_ETAG:
            a->etag = 1;
            break;
        case CO_SAVE:
            a->save = optarg;
            break;
        case CO_LIMIT:
            bad = mg_parse_u64(optarg, &a->limit) ? -1 : 0;
            break;
        case CO_CLOCK: {
            char *end = NULL;
            errno = 0;
            long long v = strtoll(optarg, &end, 10);
            bad = errno || !end || *end ? -1 : 0;
            a->clock_offset = v;
            break;
        }
        case 'h':
            fputs(usage, stdout);
            return 1;
        default:
            fputs(usage, stderr);
            return -1;
        }
        if (bad) {
            fprintf(stderr, "meshgate: invalid value for --%s: %s\n", CLI_OPTS[opt - CO_DATA].name,
                    optarg);
            return -1;
        }
    }
    /* argv[optind] is the action; the rest are positional. */
    for (int i = optind + 1; i < argc; i++) {
        if (a->npos == 4) {
            fprintf(stderr, "meshgate: too many arguments\n%s", usage);
            return -1;
        }
        a->pos[a->npos++] = argv[i];
    }
    return 0;
}

static int open_store(const char *data, struct dht **d)
{
    log_set_level(MG_LOG_ERR);
    struct dht_options o = {.data_dir = data, .readers = 2};
    int rc = dht_open(&o, d);
    if (rc)
        fprintf(stderr, "meshgate: cannot open the store in %s: %s\n", data, mg_strerror(rc));
    return rc;
}

static int print_status(const char *text, int as_json)
{
    if (as_json) {
        fputs(text, stdout);
        return 0;
    }
    json_error_t jerr;
    json_t *o = json_loads(text, 0, &jerr);
    if (!o) {
        fputs(text, stdout);
        return 0;
    }
    printf("node %s at %s%s\n", json_string_value(json_object_get(o, "node")),
           json_string_value(json_object_get(o, "addr")),
           json_is_true(json_object_get(o, "running")) ? "" : " (not running: saved view)");
    printf("replicas %lld, write quorum %lld, read quorum %lld; estimated network size %lld\n",
           (long long)json_integer_value(json_object_get(o, "replicas")),
           (long long)json_integer_value(json_object_get(o, "write_quorum")),
           (long long)json_integer_value(json_object_get(o, "read_quorum")),
           (long long)json_integer_value(json_object_get(o, "network_size_estimate")));
    json_t *last = json_object_get(o, "last_anti_entropy");
    printf("last anti-entropy round %s (%lld rounds, %lld full scans, %lld rows copied, "
           "%lld rows handed off)\n",
           json_is_string(last) ? json_string_value(last) : "never",
           (long long)json_integer_value(json_object_get(o, "anti_entropy_rounds")),
           (long long)json_integer_value(json_object_get(o, "anti_entropy_scans")),
           (long long)json_integer_value(json_object_get(o, "anti_entropy_rows")),
           (long long)json_integer_value(json_object_get(o, "handoff_rows")));
    printf("tombstones purged %lld, stale rows dropped %lld, conflict copies kept %lld\n",
           (long long)json_integer_value(json_object_get(o, "tombstones_purged")),
           (long long)json_integer_value(json_object_get(o, "stale_rows_dropped")),
           (long long)json_integer_value(json_object_get(o, "conflict_copies")));
    printf("%-16s  %-8s  %-24s  %-10s  %9s  %6s\n", "NODE", "STATE", "ADDRESS", "ZONE", "OWNERSHIP",
           "HINTS");
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(o, "members"), i, m)
    {
        const char *zone = json_string_value(json_object_get(m, "zone"));
        printf("%-16s  %-8s  %-24s  %-10s  %8.1f%%  %6lld%s\n",
               json_string_value(json_object_get(m, "id")),
               json_string_value(json_object_get(m, "state")),
               json_string_value(json_object_get(m, "addr")), zone && *zone ? zone : "-",
               100.0 * json_real_value(json_object_get(m, "ownership")),
               (long long)json_integer_value(json_object_get(m, "hints")),
               json_is_true(json_object_get(m, "self")) ? "  (this node)" : "");
    }
    json_decref(o);
    return 0;
}

static int print_digest(void *ctx, const char *pkey, const char *digest_hex, uint32_t rows)
{
    (void)ctx;
    printf("%s\t%s\t%u\n", digest_hex, pkey, (unsigned)rows);
    return 0;
}

int cli_cluster(int argc, char **argv)
{
    struct cli_args a;
    int p = cli_parse(argc, argv, CLUSTER_USAGE, &a);
    if (p)
        return p > 0 ? 0 : 2;
    const char *action = optind < argc ? argv[optind] : NULL;
    if (!action) {
        fputs(CLUSTER_USAGE, stderr);
        return 2;
    }
    if (strcmp(action, "init") == 0) {
        char *token = NULL;
        log_set_level(MG_LOG_ERR);
        int rc = dht_cluster_init(a.data, &a.params, a.advertise, &token);
        if (rc == MG_EEXIST) {
            fprintf(stderr, "meshgate: %s already belongs to a cluster\n", a.data);
            return 1;
        }
        if (rc) {
            fprintf(stderr, "meshgate: cluster init failed: %s%s\n", mg_strerror(rc),
                    rc == MG_EINVAL ? " (quorums must not exceed --replicas)" : "");
            return 1;
        }
        printf("%s\n", token);
        free(token);
        return 0;
    }
    struct dht *d = NULL;
    if (open_store(a.data, &d))
        return 1;
    int status = 0;
    if (!dht_is_clustered(d)) {
        fprintf(stderr, "meshgate: %s is not part of a cluster (run: meshgate cluster init)\n",
                a.data);
        status = 1;
    } else if (strcmp(action, "status") == 0) {
        struct buf b;
        buf_init(&b);
        int rc = dht_cluster_status(d, &b);
        if (rc) {
            fprintf(stderr, "meshgate: status failed: %s\n", mg_strerror(rc));
            status = 1;
        } else {
            print_status(b.data, a.json);
        }
        buf_release(&b);
    } else if (strcmp(action, "token") == 0) {
        char *token = NULL;
        if (dht_cluster_token(d, a.advertise, &token) == 0)
            printf("%s\n", token);
        else
            status = 1;
        free(token);
    } else if (strcmp(action, "leave") == 0) {
        int rc = dht_cluster_leave(d);
        if (rc) {
            fprintf(stderr, "meshgate: leave failed: %s (is the node running?)\n", mg_strerror(rc));
            status = 1;
        } else {
            printf("leaving: data is handed to the remaining members (see cluster status)\n");
        }
    } else if (strcmp(action, "remove") == 0 && a.npos == 1) {
        uint8_t raw[8];
        uint64_t id = 0;
        if (strlen(a.pos[0]) != 16 || mg_hex_decode(a.pos[0], raw, 8)) {
            fprintf(stderr, "meshgate: NODE_ID is 16 hex digits, as cluster status shows\n");
            status = 2;
        } else {
            for (int i = 0; i < 8; i++)
                id = id << 8 | raw[i];
            int rc = dht_cluster_remove(d, id);
            if (rc) {
                fprintf(stderr, "meshgate: remove failed: %s\n", mg_strerror(rc));
                status = 1;
            } else {
                printf("removed %s: its ranges are re-replicated\n", a.pos[0]);
            }
        }
    } else if (strcmp(action, "ping") == 0 && a.npos == 1) {
        struct buf saved;
        buf_init(&saved);
        int st = dht_cluster_ping(d, a.pos[0], a.clock_offset, a.save ? &saved : NULL);
        if (a.save) {
            FILE *f = fopen(a.save, "wb");
            if (!f || fwrite(saved.data ? saved.data : "", 1, saved.len, f) != saved.len)
                fprintf(stderr, "meshgate: cannot write %s\n", a.save);
            if (f)
                fclose(f);
        }
        buf_release(&saved);
        printf("%d\n", st);
        status = st == 200 ? 0 : 1;
    } else if (strcmp(action, "digests") == 0) {
        status = dht_replica_digests(d, print_digest, NULL) ? 1 : 0;
    } else {
        fprintf(stderr, "meshgate: unknown cluster action %s\n%s", action, CLUSTER_USAGE);
        status = 2;
    }
    dht_close(d);
    return status;
}

static int print_row(void *ctx, const char *rkey, const struct dht_row *row)
{
    (void)ctx;
    char etag[2 * DHT_HASH_LEN + 1];
    mg_hex_encode(row->hash, DHT_HASH_LEN, etag);
    printf("%s\t%s\t", rkey, etag);
    fwrite(row->value, 1, row->value_len, stdout);
    putchar('\n');
    return 0;
}

static int read_stdin(struct buf *b)
{
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), stdin)) > 0) {
        if (b->len + n > DHT_VALUE_MAX || buf_append(b, tmp, n))
            return MG_ETOOBIG;
    }
    return 0;
}

int cli_kv(int argc, char **argv)
{
    struct cli_args a;
    int p = cli_parse(argc, argv, KV_USAGE, &a);
    if (p)
        return p > 0 ? 0 : 2;
    const char *action = optind < argc ? argv[optind] : NULL;
    int need = !action                                                    ? -1
               : strcmp(action, "get") == 0 || strcmp(action, "del") == 0 ? 2
               : strcmp(action, "put") == 0                               ? 3
               : strcmp(action, "scan") == 0                              ? 1
                                                                          : -1;
    if (need < 0 || a.npos != need) {
        fputs(KV_USAGE, stderr);
        return 2;
    }
    struct dht *d = NULL;
    if (open_store(a.data, &d))
        return 1;
    int rc;
    if (strcmp(action, "get") == 0) {
        struct dht_row row;
        rc = a.local ? dht_get_replica(d, a.pos[0], a.pos[1], &row)
                     : dht_get(d, a.pos[0], a.pos[1], &row);
        if (!rc && a.local && row.tombstone) {
            dht_row_release(&row);
            rc = MG_ENOTFOUND;
        }
        if (!rc) {
            if (a.etag) {
                char etag[2 * DHT_HASH_LEN + 1];
                mg_hex_encode(row.hash, DHT_HASH_LEN, etag);
                printf("%s\n", etag);
            } else {
                fwrite(row.value, 1, row.value_len, stdout);
            }
            dht_row_release(&row);
        }
    } else if (strcmp(action, "put") == 0) {
        struct buf v;
        buf_init(&v);
        rc = strcmp(a.pos[2], "-") == 0 ? read_stdin(&v) : buf_puts(&v, a.pos[2]);
        if (!rc)
            rc = dht_put(d, a.pos[0], a.pos[1], v.data ? v.data : "", v.len, NULL, NULL, NULL);
        buf_release(&v);
    } else if (strcmp(action, "del") == 0) {
        rc = dht_delete(d, a.pos[0], a.pos[1], NULL);
    } else {
        rc = a.local ? dht_scan_replica(d, a.pos[0], NULL, (size_t)a.limit, print_row, NULL)
                     : dht_scan(d, a.pos[0], NULL, (size_t)a.limit, print_row, NULL);
    }
    if (rc == MG_ENOTFOUND)
        fprintf(stderr, "meshgate: not found\n");
    else if (rc)
        fprintf(stderr, "meshgate: kv %s failed: %s\n", action, mg_strerror(rc));
    dht_close(d);
    return rc == MG_ENOTFOUND ? 3 : rc ? 1 : 0;
}

void cli_serve_cluster_apply(struct cli_serve_cluster *sc, const char *host, int port,
                             struct dht_options *opts)
{
    int v6 = strchr(host, ':') != NULL;
    snprintf(sc->listen, sizeof(sc->listen), v6 ? "[%s]:%d" : "%s:%d", host, port);
    opts->listen_addr = sc->listen;
    opts->advertise_addr = sc->advertise;
    opts->join_addr = sc->join;
    opts->join_token = sc->token;
    opts->zone = sc->zone;
}

/* ---- the peer route ----------------------------------------------------------- */

static int mesh_begin(struct srv_request *req, void *ctx)
{
    (void)ctx;
    if (strcmp(srv_req_method(req), "POST") != 0) {
        srv_resp_header(req, "Allow", "POST");
        return srv_respond_text(req, 405, "peer messages are POSTed");
    }
    return 0;
}

static int mesh_end(struct srv_request *req, void *ctx)
{
    size_t len;
    const char *body = srv_req_body(req, &len);
    struct buf reply;
    buf_init(&reply);
    int status = dht_peer_handle(ctx, srv_req_raw_path(req), body, len, &reply);
    const char *ctype = status == 200 ? "application/octet-stream" : "text/plain; charset=utf-8";
    return srv_respond_buf(req, status, ctype, &reply);
}

int cli_register_mesh_route(struct srv_server *s, struct dht *d)
{
    struct srv_route r = {"/.mesh/v1/", SRV_AUTH_NONE, mesh_begin, mesh_end, d, NULL};
    return srv_add_route(s, &r);
}
