/*
 * config.h - the node's configuration: built once at start from defaults,
 * then the JSON config file, then command-line flags; validated, then
 * read-only and passed explicitly to every module.
 */
#ifndef MESHGATE_CONFIG_H
#define MESHGATE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct mg_limits {
    uint64_t max_body;          /* bytes of a buffered request body (XML, JSON) */
    uint64_t max_upload;        /* bytes of one uploaded file (streamed) */
    size_t max_header;          /* bytes of all request headers together */
    int max_xml_depth;          /* nesting depth of an XML body */
    int max_xml_elements;       /* elements in an XML body */
    int max_json_depth;         /* nesting depth of a JSON body */
    int max_propfind_results;   /* responses in one Depth: infinity PROPFIND */
    int max_report_results;     /* responses in one REPORT */
    int max_connections_per_ip; /* concurrent connections from one address */
    int max_connections;        /* concurrent connections in all */
    int connection_timeout;     /* seconds of idleness before a connection is closed */
};

struct mg_config {
    char *listen_host; /* "127.0.0.1" */
    int listen_port;   /* 8080 */
    char *data_dir;    /* "./meshgate-data" */
    char *web_dir;     /* static portal files */
    char *node_name;   /* shown by the portal */
    char *log_level;   /* error|warn|info|debug */
    int threads;       /* HTTP worker threads; 0 = one thread per connection,
                        * -1 = auto (see srv_auto_threads in server/main.c) */
    int auth_cache_ttl;   /* seconds a verified password stays cached */
    int login_max_failures; /* failed logins per account/address before lock-out */
    int login_lockout;      /* seconds of lock-out */
    char *tls_cert;     /* PEM file; HTTPS when set with tls_key */
    char *tls_key;
    int tombstone_grace;   /* seconds a deleted item's tombstone is kept at least */
    int discovery;         /* LAN discovery by multicast beacon (cluster members) */
    char *discovery_group; /* "a.b.c.d:port"; NULL: the default (dht/discovery.h) */
    struct mg_limits limits;
};

/* Fills c with the embedded defaults (all strings malloc'd). */
void cfg_defaults(struct mg_config *c);
/* Overlays a JSON config file. Returns 0, or MG_EINVAL/MG_EIO with a message
 * written to err (cap bytes). Unknown keys are errors. */
int cfg_load_file(struct mg_config *c, const char *path, char *err, size_t cap);
/* Checks ranges and consistency; returns 0 or MG_EINVAL with a message in err. */
int cfg_validate(const struct mg_config *c, char *err, size_t cap);
/* Frees the strings. */
void cfg_release(struct mg_config *c);
/* Parses "host:port" (or "[v6]:port") into a malloc'd host and a port. */
int cfg_parse_listen(const char *s, char **host, int *port);

#endif
