/*
 * cluster_cli.h - the `meshgate cluster` and `meshgate kv` commands, the
 * serve flags that join a cluster, and the /.mesh/v1/ route that carries the
 * peer protocol into dht_peer_handle(). Kept apart from main.c so that the
 * cluster's command line grows without touching the wiring of every module.
 */
#ifndef MESHGATE_SERVER_CLUSTER_CLI_H
#define MESHGATE_SERVER_CLUSTER_CLI_H

#include "meshgate/dht.h"
#include "meshgate/http.h"

/* `meshgate cluster init|status|token|leave|remove|ping|digests ...`; returns the exit status. */
int cli_cluster(int argc, char **argv);
/* `meshgate kv get|put|del|scan ...`; returns the exit status. */
int cli_kv(int argc, char **argv);

/* Serve flags for clustering, kept until dht_open. */
struct cli_serve_cluster {
    const char *join;      /* --join HOST:PORT */
    const char *token;     /* --token TOKEN */
    const char *advertise; /* --advertise HOST:PORT */
    const char *zone;      /* --zone NAME */
    char listen[160];      /* "host:port" of --listen, filled by cli_serve_cluster_apply */
};

/* Fills the cluster fields of opts from the flags and the listen address. */
void cli_serve_cluster_apply(struct cli_serve_cluster *sc, const char *host, int port,
                             struct dht_options *opts);

/* Registers POST /.mesh/v1/ (no user authentication: every message is
 * sealed with the cluster key and checked by dht_peer_handle). */
int cli_register_mesh_route(struct srv_server *s, struct dht *d);

#endif
