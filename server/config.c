/* config.c - defaults, JSON config file, validation. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "meshgate/common.h"
#include "meshgate/config.h"

#ifndef MESHGATE_WEB_DIR
#define MESHGATE_WEB_DIR "web"
#endif

void cfg_defaults(struct mg_config *c)
{
    memset(c, 0, sizeof(*c));
    c->listen_host = strdup("127.0.0.1");
    c->listen_port = 8080;
    c->data_dir = strdup("./meshgate-data");
    c->web_dir = strdup(MESHGATE_WEB_DIR);
    c->node_name = strdup("meshgate");
    c->log_level = strdup("info");
    c->threads = -1;
    c->auth_cache_ttl = 30;
    c->login_max_failures = 10;
    c->login_lockout = 60;
    c->tombstone_grace = 7 * 24 * 3600;
    c->limits.max_body = 16u << 20;
    c->limits.max_upload = UINT64_C(64) << 30;
    c->limits.max_header = 16u << 10;
    c->limits.max_xml_depth = 64;
    c->limits.max_xml_elements = 100000;
    c->limits.max_json_depth = 32;
    c->limits.max_propfind_results = 100000;
    c->limits.max_report_results = 100000;
    c->limits.max_connections_per_ip = 256;
    c->limits.max_connections = 1024;
    c->limits.connection_timeout = 120;
}

void cfg_release(struct mg_config *c)
{
    if (!c)
        return;
    free(c->listen_host);
    free(c->data_dir);
    free(c->web_dir);
    free(c->node_name);
    free(c->log_level);
    free(c->tls_cert);
    free(c->tls_key);
    free(c->discovery_group);
    memset(c, 0, sizeof(*c));
}

int cfg_parse_listen(const char *s, char **host, int *port)
{
    const char *colon;
    size_t hostlen;
    const char *hstart = s;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':')
            return MG_EINVAL;
        hstart = s + 1;
        hostlen = (size_t)(end - hstart);
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return MG_EINVAL;
        hostlen = (size_t)(colon - s);
    }
    uint64_t p;
    if (hostlen == 0 || mg_parse_u64(colon + 1, &p) || p > 65535)
        return MG_EINVAL;
    char *h = strndup(hstart, hostlen);
    if (!h)
        return MG_ENOMEM;
    free(*host);
    *host = h;
    *port = (int)p;
    return 0;
}

/* Table of settable keys: a JSON path and where the value goes. */
enum cfg_type { CFG_STR, CFG_INT, CFG_U64, CFG_BOOL };
struct cfg_key {
    const char *name;
    enum cfg_type type;
    size_t offset;
};

#define KEY_STR(n, f) {n, CFG_STR, offsetof(struct mg_config, f)}
#define KEY_INT(n, f) {n, CFG_INT, offsetof(struct mg_config, f)}
#define KEY_U64(n, f) {n, CFG_U64, offsetof(struct mg_config, f)}
#define KEY_BOOL(n, f) {n, CFG_BOOL, offsetof(struct mg_config, f)}

static const struct cfg_key CFG_KEYS[] = {
    KEY_STR("data_dir", data_dir),
    KEY_STR("web_dir", web_dir),
    KEY_STR("node_name", node_name),
    KEY_STR("log_level", log_level),
    KEY_INT("threads", threads),
    KEY_INT("auth_cache_ttl", auth_cache_ttl),
    KEY_INT("login_max_failures", login_max_failures),
    KEY_INT("login_lockout", login_lockout),
    KEY_STR("tls_cert", tls_cert),
    KEY_STR("tls_key", tls_key),
    KEY_INT("tombstone_grace", tombstone_grace),
    KEY_BOOL("discovery", discovery),
    KEY_STR("discovery_group", discovery_group),
    KEY_U64("limits.max_body", limits.max_body),
    KEY_U64("limits.max_upload", limits.max_upload),
    {"limits.max_header", CFG_U64, offsetof(struct mg_config, limits.max_header)},
    KEY_INT("limits.max_xml_depth", limits.max_xml_depth),
    KEY_INT("limits.max_xml_elements", limits.max_xml_elements),
    KEY_INT("limits.max_json_depth", limits.max_json_depth),
    KEY_INT("limits.max_propfind_results", limits.max_propfind_results),
    KEY_INT("limits.max_report_results", limits.max_report_results),
    KEY_INT("limits.max_connections_per_ip", limits.max_connections_per_ip),
    KEY_INT("limits.max_connections", limits.max_connections),
    KEY_INT("limits.connection_timeout", limits.connection_timeout),
};

static const struct cfg_key *cfg_find(const char *name)
{
    for (size_t i = 0; i < sizeof(CFG_KEYS) / sizeof(CFG_KEYS[0]); i++)
        if (strcmp(CFG_KEYS[i].name, name) == 0)
            return &CFG_KEYS[i];
    return NULL;
}

static int cfg_set(struct mg_config *c, const char *name, json_t *v, char *err, size_t cap)
{
    const struct cfg_key *k = cfg_find(name);
    if (!k) {
        snprintf(err, cap, "unknown config key \"%s\"", name);
        return MG_EINVAL;
    }
    char *field = (char *)c + k->offset;
    switch (k->type) {
    case CFG_STR: {
        if (!json_is_string(v)) {
            snprintf(err, cap, "config key \"%s\" must be a string", name);
            return MG_EINVAL;
        }
        char *s = strdup(json_string_value(v));
        if (!s)
            return MG_ENOMEM;
        free(*(char **)field);
        *(char **)field = s;
        return 0;
    }
    case CFG_INT:
        if (!json_is_integer(v) || json_integer_value(v) < (strcmp(name, "threads") ? 0 : -1) ||
            json_integer_value(v) > 1000000000) {
            snprintf(err, cap, "config key \"%s\" must be an integer from 0 to 1000000000", name);
            return MG_EINVAL;
        }
        *(int *)field = (int)json_integer_value(v);
        return 0;
    case CFG_BOOL:
        if (!json_is_boolean(v)) {
            snprintf(err, cap, "config key \"%s\" must be true or false", name);
            return MG_EINVAL;
        }
        *(int *)field = json_is_true(v);
        return 0;
    case CFG_U64:
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            snprintf(err, cap, "config key \"%s\" must be a non-negative integer", name);
            return MG_EINVAL;
        }
        if (strcmp(name, "limits.max_header") == 0)
            *(size_t *)field = (size_t)json_integer_value(v);
        else
            *(uint64_t *)field = (uint64_t)json_integer_value(v);
        return 0;
    }
    return MG_EINVAL;
}

int cfg_load_file(struct mg_config *c, const char *path, char *err, size_t cap)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, cap, "cannot read config %s: %s (line %d)", path, jerr.text, jerr.line);
        return MG_EINVAL;
    }
    int rc = 0;
    if (!json_is_object(root)) {
        snprintf(err, cap, "config %s: top level must be an object", path);
        rc = MG_EINVAL;
        goto out;
    }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        if (strcmp(key, "listen") == 0) {
            if (!json_is_string(val) ||
                cfg_parse_listen(json_string_value(val), &c->listen_host, &c->listen_port)) {
                snprintf(err, cap, "config key \"listen\" must be \"host:port\"");
                rc = MG_EINVAL;
                goto out;
            }
        } else if (strcmp(key, "limits") == 0) {
            if (!json_is_object(val)) {
                snprintf(err, cap, "config key \"limits\" must be an object");
                rc = MG_EINVAL;
                goto out;
            }
            const char *lkey;
            json_t *lval;
            json_object_foreach(val, lkey, lval)
            {
                char full[128];
                snprintf(full, sizeof(full), "limits.%s", lkey);
                rc = cfg_set(c, full, lval, err, cap);
                if (rc)
                    goto out;
            }
        } else {
            rc = cfg_set(c, key, val, err, cap);
            if (rc)
                goto out;
        }
    }
out:
    json_decref(root);
    return rc;
}

/* 1 when s is "a.b.c.d:port" with an IPv4 multicast address (224.0.0.0/4). */
static int cfg_multicast_group(const char *s)
{
    char *host = NULL;
    int port = 0;
    struct in_addr a;
    int ok = cfg_parse_listen(s, &host, &port) == 0 && port > 0 &&
             inet_pton(AF_INET, host, &a) == 1 && IN_MULTICAST(ntohl(a.s_addr));
    free(host);
    return ok;
}

int cfg_validate(const struct mg_config *c, char *err, size_t cap)
{
    enum mg_log_level lvl;
    if (log_parse_level(c->log_level, &lvl)) {
        snprintf(err, cap, "log_level must be error, warn, info or debug");
        return MG_EINVAL;
    }
    if (c->threads < -1 || c->threads > 256) {
        snprintf(err, cap, "threads must be -1 (auto), 0 (thread per connection) or up to 256");
        return MG_EINVAL;
    }
    if (!c->data_dir || !c->data_dir[0]) {
        snprintf(err, cap, "data_dir must not be empty");
        return MG_EINVAL;
    }
    if (c->discovery_group && !cfg_multicast_group(c->discovery_group)) {
        snprintf(err, cap,
                 "discovery_group must be an IPv4 multicast address and port, "
                 "e.g. 239.255.77.77:7477");
        return MG_EINVAL;
    }
    if (c->tombstone_grace < 1) {
        snprintf(err, cap, "tombstone_grace must be at least 1 second");
        return MG_EINVAL;
    }
    if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
        snprintf(err, cap, "tls_cert and tls_key must be set together");
        return MG_EINVAL;
    }
    if (c->limits.max_body < 1024 || c->limits.max_header < 1024) {
        snprintf(err, cap, "limits.max_body and limits.max_header must be at least 1024");
        return MG_EINVAL;
    }
    if (c->limits.max_xml_depth < 4 || c->limits.max_xml_elements < 16 ||
        c->limits.max_json_depth < 2) {
        snprintf(err, cap, "xml/json limits are too small to be useful");
        return MG_EINVAL;
    }
    if (c->limits.max_connections < 1 || c->limits.max_connections_per_ip < 1) {
        snprintf(err, cap, "connection limits must be at least 1");
        return MG_EINVAL;
    }
    return 0;
}
