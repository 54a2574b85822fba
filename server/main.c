/*
 * main.c - the meshgate command line, and the one place that knows every
 * module: it builds the config, opens the store, and wires the HTTP routes
 * of dav/ and the server's own handlers.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "cluster_cli.h"
#include "handlers.h"
#include "meshgate/accounts.h"
#include "meshgate/api.h"
#include "meshgate/common.h"
#include "meshgate/config.h"
#include "meshgate/dav.h"
#include "meshgate/dht.h"
#include "meshgate/http.h"

static const char MAIN_USAGE[] =
    "usage: meshgate COMMAND [options]\n"
    "\n"
    "A community mesh node: CalDAV/CardDAV/WebDAV and a JSON API over a replicated store.\n"
    "\n"
    "commands:\n"
    "  serve          run a node (see: meshgate serve --help)\n"
    "  user           manage accounts: add, passwd, del, list (see: meshgate user --help)\n"
    "  cluster        create, inspect and change a cluster (see: meshgate cluster --help)\n"
    "  kv             raw rows of the replicated store (see: meshgate kv --help)\n"
    "  version        print the version\n"
    "  help           this text\n";

static const char SERVE_USAGE[] =
    "usage: meshgate serve [options]\n"
    "\n"
    "Runs a node. Settings come from the embedded defaults, then --config FILE,\n"
    "then these flags.\n"
    "\n"
    "  --listen HOST:PORT   address to listen on (default 127.0.0.1:8080)\n"
    "  --data DIR           data directory: store and node key (default ./meshgate-data)\n"
    "  --config FILE        JSON config file (keys documented in README.md)\n"
    "  --threads N          HTTP worker threads; 0 = one thread per connection; default:\n"
    "                       a pool of 8 on a single node, one per connection in a cluster\n"
    "  --log-level LEVEL    error, warn, info or debug (default info)\n"
    "  --web DIR            directory of the welcome portal's static files\n"
    "  --name NAME          node name shown by the portal\n"
    "  --max-body BYTES     largest buffered request body, e.g. XML (default 16777216)\n"
    "  --max-upload BYTES   largest uploaded file (default 68719476736)\n"
    "  --join HOST:PORT     join the cluster through this member (with --token)\n"
    "  --token TOKEN        join token printed by `meshgate cluster init`\n"
    "  --advertise HOST:PORT  address other nodes reach this one at (default --listen)\n"
    "  --zone NAME          failure zone: replicas are spread over zones\n"
    "  --discover           find and join members on the LAN by multicast beacon\n"
    "                       (with --token; --join is then not needed)\n"
    "  --discovery-group ADDR:PORT  IPv4 multicast group (default 239.255.77.77:7477)\n"
    "  -h, --help           this text\n";

static const char USER_USAGE[] =
    "usage: meshgate user add NAME --data DIR [--admin]\n"
    "       meshgate user passwd NAME --data DIR\n"
    "       meshgate user del NAME --data DIR\n"
    "       meshgate user list --data DIR\n"
    "\n"
    "Manages accounts in the node's store; works whether the node is running or not.\n"
    "The password is read from standard input: one line when it is not a terminal,\n"
    "otherwise from a prompt (asked twice). It is never taken from the command line.\n"
    "\n"
    "  --data DIR   data directory of the node (default ./meshgate-data)\n"
    "  --admin      (add) give the account the admin role\n"
    "  -h, --help   this text\n";

/* ---- serve -------------------------------------------------------------- */

enum {
    OPT_LISTEN = 256,
    OPT_DATA,
    OPT_CONFIG,
    OPT_THREADS,
    OPT_LOG_LEVEL,
    OPT_WEB,
    OPT_NAME,
    OPT_MAX_BODY,
    OPT_MAX_UPLOAD,
    OPT_ADMIN,
    OPT_JOIN,
    OPT_TOKEN,
    OPT_ADVERTISE,
    OPT_ZONE,
    OPT_DISCOVER,
    OPT_DISCOVERY_GROUP
};

static const struct option SERVE_OPTS[] = {
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"data", required_argument, NULL, OPT_DATA},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"web", required_argument, NULL, OPT_WEB},
    {"name", required_argument, NULL, OPT_NAME},
    {"max-body", required_argument, NULL, OPT_MAX_BODY},
    {"max-upload", required_argument, NULL, OPT_MAX_UPLOAD},
    {"join", required_argument, NULL, OPT_JOIN},
    {"token", required_argument, NULL, OPT_TOKEN},
    {"advertise", required_argument, NULL, OPT_ADVERTISE},
    {"zone", required_argument, NULL, OPT_ZONE},
    {"discover", no_argument, NULL, OPT_DISCOVER},
    {"discovery-group", required_argument, NULL, OPT_DISCOVERY_GROUP},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int set_str(char **field, const char *value)
{
    char *s = strdup(value);
    if (!s)
        return MG_ENOMEM;
    free(*field);
    *field = s;
    return 0;
}

/* Applies the serve flags to c. Returns 0, 1 for --help, or -1 after printing an error. */
static int serve_parse(int argc, char **argv, struct mg_config *c,
                       struct cli_serve_cluster *sc)
{
    char err[256];
    /* Pass 1: --config first, so that flags override the file. */
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", SERVE_OPTS, NULL)) != -1) {
        if (opt == 'h')
            return 1;
        if (opt == OPT_CONFIG && cfg_load_file(c, optarg, err, sizeof(err))) {
            fprintf(stderr, "meshgate: %s\n", err);
            return -1;
        }
    }
    optind = 1;
    opterr = 1;
    while ((opt = getopt_long(argc, argv, "h", SERVE_OPTS, NULL)) != -1) {
        uint64_t v;
        int rc = 0;
        switch (opt) {
        case OPT_LISTEN:
            rc = cfg_parse_listen(optarg, &c->listen_host, &c->listen_port);
            if (rc)
                fprintf(stderr, "meshgate: --listen wants HOST:PORT, got %s\n", optarg);
            break;
        case OPT_DATA: rc = set_str(&c->data_dir, optarg); break;
        case OPT_CONFIG: break;
        case OPT_JOIN: sc->join = optarg; break;
        case OPT_TOKEN: sc->token = optarg; break;
        case OPT_ADVERTISE: sc->advertise = optarg; break;
        case OPT_ZONE: sc->zone = optarg; break;
        case OPT_DISCOVER: c->discovery = 1; break;
        case OPT_DISCOVERY_GROUP: rc = set_str(&c->discovery_group, optarg); break;
        case OPT_THREADS:
            rc = mg_parse_u64(optarg, &v) || v > 256 ? MG_EINVAL : 0;
            if (rc)
                fprintf(stderr, "meshgate: --threads wants 0 to 256, got %s\n", optarg);
            else
                c->threads = (int)v;
            break;
        case OPT_LOG_LEVEL: rc = set_str(&c->log_level, optarg); break;
        case OPT_WEB: rc = set_str(&c->web_dir, optarg); break;
        case OPT_NAME: rc = set_str(&c->node_name, optarg); break;
        case OPT_MAX_BODY:
        case OPT_MAX_UPLOAD:
            rc = mg_parse_u64(optarg, &v);
            if (rc)
                fprintf(stderr, "meshgate: --max-body/--max-upload want a byte count, got %s\n",
                        optarg);
            else if (opt == OPT_MAX_BODY)
                c->limits.max_body = v;
            else
                c->limits.max_upload = v;
            break;
        default:
            fprintf(stderr, "%s", SERVE_USAGE);
            return -1;
        }
        if (rc)
            return -1;
    }
    if (optind < argc) {
        fprintf(stderr, "meshgate: unexpected argument %s\n%s", argv[optind], SERVE_USAGE);
        return -1;
    }
    if (cfg_validate(c, err, sizeof(err))) {
        fprintf(stderr, "meshgate: invalid configuration: %s\n", err);
        return -1;
    }
    return 0;
}

/* What the glue's authentication hooks reach: Basic through the
 * authenticator, bearer tokens through the REST module that issues them. */
struct main_auth {
    struct srv_auth *auth;
    struct api_module *api;
};

/* The threading model, chosen by measuring (README, "Threading model"): on a
 * single node a handler blocks for microseconds (local SQLite), and a small
 * pool of epoll threads keeps writers from piling up on the store's single
 * writer (PUT p99 133 ms with 8 threads against 1.2 s with a thread per
 * connection). In a cluster a handler waits on peers for milliseconds, up
 * to the peer timeout when a node is down; a thread per connection keeps one
 * slow request from stalling the other connections of its pool thread. */
static int serve_auto_threads(struct dht *d)
{
    return dht_is_clustered(d) ? 0 : 8;
}

static int main_check_basic(void *ctx, const char *user, const char *pass, const char *peer,
                            int *is_admin)
{
    struct main_auth *ma = ctx;
    return auth_check_basic(ma->auth, user, pass, peer, is_admin);
}

static int main_check_bearer(void *ctx, const char *token, char *user, size_t cap, int *is_admin)
{
    struct main_auth *ma = ctx;
    return api_check_bearer(ma->api, token, user, cap, is_admin);
}

static int cmd_serve(int argc, char **argv)
{
    struct mg_config cfg;
    cfg_defaults(&cfg);
    struct dht *d = NULL;
    struct srv_auth *auth = NULL;
    struct srv_server *srv = NULL;
    struct dav_module *dav = NULL;
    struct api_module *api = NULL;
    int status = 1;

    struct cli_serve_cluster sc = {0};
    int p = serve_parse(argc, argv, &cfg, &sc);
    if (p == 1) {
        fputs(SERVE_USAGE, stdout);
        status = 0;
        goto out;
    }
    if (p < 0)
        goto out;
    enum mg_log_level lvl = MG_LOG_INFO;
    log_parse_level(cfg.log_level, &lvl);
    log_set_level(lvl);

    /* Signals are taken synchronously by this thread (sigwait below); every
     * thread started from here on inherits the blocked mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct dht_options dopts = {.data_dir = cfg.data_dir, .readers = 0};
    cli_serve_cluster_apply(&sc, cfg.listen_host, cfg.listen_port, &dopts);
    dopts.discover = cfg.discovery;
    dopts.discovery_group = cfg.discovery_group;
    dopts.tombstone_grace_ms = (uint64_t)cfg.tombstone_grace * 1000u;
    int rc = dht_open(&dopts, &d);
    if (rc) {
        log_err("cannot open the store in %s: %s", cfg.data_dir, mg_strerror(rc));
        goto out;
    }
    if (cfg.threads < 0)
        cfg.threads = serve_auto_threads(d);
    auth = auth_new(d, &cfg);
    dav = dav_new(d, &cfg);
    api = api_new(d, &cfg);
    if (!auth || !dav || !api) {
        log_err("cannot set up the modules (out of memory, or the store failed)");
        goto out;
    }
    api_use_auth(api, auth);
    struct main_auth mauth = {auth, api};
    struct srv_auth_ops ops = {
        .check_basic = main_check_basic, .check_bearer = main_check_bearer, .ctx = &mauth};
    if (srv_new(&cfg, &ops, &srv))
        goto out;
    if (status_register_routes(srv, d) || static_register_routes(srv, &cfg) ||
        dav_register_routes(dav, srv) || api_register_routes(api, srv) ||
        cli_register_mesh_route(srv, d)) {
        log_err("cannot register routes");
        goto out;
    }
    if (srv_start(srv))
        goto out;

    log_info("meshgate %s listening on %s://%s:%d/ data=%s threads=%d%s node=%016llx",
             MESHGATE_VERSION, cfg.tls_cert ? "https" : "http", cfg.listen_host, srv_port(srv),
             cfg.data_dir,
             cfg.threads, cfg.threads ? "" : " (one per connection)",
             (unsigned long long)dht_node_id(d));
    int sig = 0;
    sigwait(&sigs, &sig);
    log_info("signal %d: shutting down (in-flight requests finish first)", sig);
    status = 0;
out:
    srv_free(srv);
    dav_free(dav);
    api_free(api);
    auth_free(auth);
    dht_close(d);
    if (status == 0 && p == 0)
        log_info("stopped cleanly");
    cfg_release(&cfg);
    return status;
}

/* ---- user --------------------------------------------------------------- */

/* Reads a password: one line from a pipe, or a prompt without echo on a
 * terminal (twice, must match). Returns a sodium_malloc'd string or NULL. */
static char *read_password(int confirm)
{
    char *pw = sodium_malloc(ACCT_PASSWORD_MAX + 2);
    char *again = NULL;
    if (!pw)
        return NULL;
    int tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    if (tty) {
        tcgetattr(STDIN_FILENO, &old);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        fputs("password: ", stderr);
    }
    int ok = fgets(pw, ACCT_PASSWORD_MAX + 2, stdin) != NULL;
    if (ok && tty && confirm) {
        again = sodium_malloc(ACCT_PASSWORD_MAX + 2);
        fputs("\nagain: ", stderr);
        ok = again && fgets(again, ACCT_PASSWORD_MAX + 2, stdin) != NULL &&
             strcmp(pw, again) == 0;
        if (!ok)
            fputs("\nmeshgate: passwords do not match", stderr);
    }
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputs("\n", stderr);
    }
    sodium_free(again);
    if (ok) {
        pw[strcspn(pw, "\r\n")] = '\0';
        if (pw[0] == '\0') {
            fputs("meshgate: empty password\n", stderr);
            ok = 0;
        }
    } else if (!tty) {
        fputs("meshgate: no password on standard input\n", stderr);
    }
    if (!ok) {
        sodium_free(pw);
        return NULL;
    }
    return pw;
}

static int print_user(void *ctx, const char *name, int admin)
{
    (void)ctx;
    printf("%s%s\n", name, admin ? " (admin)" : "");
    return 0;
}

static int cmd_user(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, OPT_DATA},
        {"admin", no_argument, NULL, OPT_ADMIN},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *data = "./meshgate-data";
    int admin = 0;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == OPT_DATA) {
            data = optarg;
        } else if (opt == OPT_ADMIN) {
            admin = 1;
        } else if (opt == 'h') {
            fputs(USER_USAGE, stdout);
            return 0;
        } else {
            fputs(USER_USAGE, stderr);
            return 2;
        }
    }
    const char *action = optind < argc ? argv[optind] : NULL;
    const char *name = optind + 1 < argc ? argv[optind + 1] : NULL;
    int needs_name = action && strcmp(action, "list") != 0;
    if (!action || (needs_name && !name) || optind + 1 + needs_name < argc) {
        fputs(USER_USAGE, stderr);
        return 2;
    }
    if (needs_name && !acct_valid_name(name)) {
        fprintf(stderr,
                "meshgate: invalid user name \"%s\": use 1-64 of a-z 0-9 . _ -, starting "
                "with a letter or digit\n",
                name);
        return 2;
    }
    if (strcmp(action, "add") && strcmp(action, "passwd") && strcmp(action, "del") &&
        strcmp(action, "list")) {
        fprintf(stderr, "meshgate: unknown user action %s\n%s", action, USER_USAGE);
        return 2;
    }

    log_set_level(MG_LOG_WARN);
    struct dht *d = NULL;
    struct dht_options dopts = {.data_dir = data, .readers = 1};
    int rc = dht_open(&dopts, &d);
    if (rc) {
        fprintf(stderr, "meshgate: cannot open the store in %s: %s\n", data, mg_strerror(rc));
        return 1;
    }
    char *pw = NULL;
    if (strcmp(action, "list") == 0) {
        rc = acct_list(d, print_user, NULL);
    } else if (strcmp(action, "del") == 0) {
        rc = acct_delete(d, name);
        if (rc == 0)
            printf("deleted user %s\n", name);
    } else {
        pw = read_password(1);
        if (!pw) {
            rc = MG_EINVAL;
            goto out;
        }
        rc = strcmp(action, "add") == 0 ? acct_create(d, name, pw, admin)
                                         : acct_set_password(d, name, pw);
        if (rc == 0)
            printf("%s user %s%s\n", strcmp(action, "add") == 0 ? "added" : "changed password of",
                   name, admin ? " (admin)" : "");
    }
    if (rc == MG_EEXIST)
        fprintf(stderr, "meshgate: user %s already exists\n", name);
    else if (rc == MG_ENOTFOUND)
        fprintf(stderr, "meshgate: no such user %s\n", name);
    else if (rc && rc != MG_EINVAL)
        fprintf(stderr, "meshgate: %s failed: %s\n", action, mg_strerror(rc));
out:
    sodium_free(pw);
    dht_close(d);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0) {
        fputs("meshgate: libsodium failed to initialise\n", stderr);
        return 1;
    }
    if (argc < 2) {
        fputs(MAIN_USAGE, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "user") == 0)
        return cmd_user(argc - 1, argv + 1);
    if (strcmp(cmd, "cluster") == 0)
        return cli_cluster(argc - 1, argv + 1);
    if (strcmp(cmd, "kv") == 0)
        return cli_kv(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("meshgate %s\n", MESHGATE_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(MAIN_USAGE, stdout);
        return 0;
    }
    fprintf(stderr, "meshgate: unknown command %s\n%s", cmd, MAIN_USAGE);
    return 2;
}
