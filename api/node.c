/*
 * node.c - what a node tells anyone (GET /api/v1/node) and the OpenAPI
 * document of this API (GET /api/v1/openapi.json).
 *
 * The document is api/openapi.json, embedded in the binary at build time with
 * the assembler's .incbin (no generator step, no file to install). The
 * assembler gets the compiler's -I directories, and every target has the
 * project's include/ among them, so the path below resolves from there to
 * api/openapi.json whatever the build directory. The compiler does not track
 * the file as a dependency: after editing it, touch this file (the unit test
 * check_api compares the embedded copy with the file and says so).
 */
#include <string.h>

#include "api_private.h"

__asm__(".section .rodata\n"
        ".balign 16\n"
        ".globl api_openapi_json\n"
        ".type api_openapi_json, @object\n"
        "api_openapi_json:\n"
        ".incbin \"meshgate/../../api/openapi.json\"\n"
        ".globl api_openapi_json_end\n"
        "api_openapi_json_end:\n"
        ".byte 0\n"
        ".previous\n");

int api_node_get(struct api_call *c)
{
    const struct mg_config *cfg = c->m->cfg;
    json_t *settings = NULL;
    const char *signup = API_SIGNUP_DEFAULT;
    if (api_settings_load(c->m->d, &settings, NULL, NULL) == 0)
        signup = json_string_value(json_object_get(settings, "signup"));
    struct buf name;
    buf_init(&name);
    api_utf8_append(&name, cfg->node_name ? cfg->node_name : "",
                    strlen(cfg->node_name ? cfg->node_name : ""));
    char node_id[17];
    snprintf(node_id, sizeof(node_id), "%016llx", (unsigned long long)dht_node_id(c->m->d));
    json_t *v = json_pack(
        "{s:s, s:s, s:s, s:[sssss], s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}}", "name",
        name.data ? name.data : "", "version", MESHGATE_VERSION, "node_id", node_id, "services",
        "webdav", "caldav", "carddav", "rest", "mail", "signup",
        signup ? signup : API_SIGNUP_DEFAULT, "mail_domain", API_MAIL_DOMAIN, "urls", "api",
        API_BASE "/", "openapi", API_BASE "/openapi.json", "webdav", "/dav/files/{user}/", "caldav",
        "/dav/calendars/{user}/", "carddav", "/dav/addressbooks/{user}/", "principals",
        "/dav/principals/{user}/", "caldav_discovery", "/.well-known/caldav", "carddav_discovery",
        "/.well-known/carddav");
    json_decref(settings);
    buf_release(&name);
    return api_send_json(c->req, 200, v);
}

int api_openapi_get(struct api_call *c)
{
    size_t len = (size_t)(api_openapi_json_end - api_openapi_json);
    uint8_t hash[DHT_HASH_LEN];
    crypto_generichash(hash, sizeof(hash), (const uint8_t *)api_openapi_json, len, NULL, 0);
    api_set_etag(c->req, hash);
    if (api_if_none_match(c->req, hash))
        return srv_respond(c->req, 304, NULL, NULL, 0);
    return srv_respond(c->req, 200, "application/json", api_openapi_json, len);
}

int api_cluster_get(struct api_call *c)
{
    struct buf out;
    buf_init(&out);
    int rc = dht_cluster_status(c->m->d, &out);
    json_t *v = NULL;
    if (rc == MG_ENOTFOUND) {
        /* not clustered: a cluster of one, replication clamped to 1 */
        char id[17];
        snprintf(id, sizeof(id), "%016llx", (unsigned long long)dht_node_id(c->m->d));
        v = json_pack("{s:b, s:s, s:{s:i, s:i, s:i}, s:[{s:s, s:s, s:f}], s:i}", "clustered", 0,
                      "node", id, "params", "replicas", 1, "write_quorum", 1, "read_quorum", 1,
                      "members", "id", id, "state", "alive", "ownership", 1.0, "network_size",
                      1);
        rc = v ? 0 : MG_ENOMEM;
    } else if (!rc) {
        v = json_loadb(out.data, out.len, 0, NULL);
    }
    buf_release(&out);
    if (!v)
        return api_problem(c->req, 503, "unavailable", "the cluster status cannot be read: %s",
                           mg_strerror(rc ? rc : MG_EIO));
    return api_send_json(c->req, 200, v);
}
