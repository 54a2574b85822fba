/*
 * props.c - properties: the PROPFIND request body, the live properties this
 * module computes (RFC 4918 15, RFC 5397, RFC 3744 4.2), and the <D:response>
 * element describing one resource. Dead properties are emitted verbatim as
 * PROPPATCH stored them.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "dav_private.h"
#include "meshgate/accounts.h"

/* ---- the PROPFIND body (RFC 4918 9.1, 14.20) ----------------------------------- */

void dav_propfind_release(struct dav_propfind *pf)
{
    if (!pf)
        return;
    for (size_t i = 0; i < pf->n; i++) {
        free(pf->props[i].ns);
        free(pf->props[i].name);
    }
    free(pf->props);
    pf->props = NULL;
    pf->n = 0;
}

/* Appends the names of the child elements of node to pf. */
static int collect_names(xmlNode *node, struct dav_propfind *pf)
{
    for (xmlNode *c = dav_xml_first_elem(node); c; c = dav_xml_next_elem(c)) {
        struct dav_pname *v = realloc(pf->props, (pf->n + 1) * sizeof(*v));
        if (!v)
            return MG_ENOMEM;
        pf->props = v;
        v[pf->n].ns = mg_strdup(dav_xml_ns(c));
        v[pf->n].name = mg_strdup((const char *)c->name);
        if (!v[pf->n].ns || !v[pf->n].name) {
            free(v[pf->n].ns);
            free(v[pf->n].name);
            return MG_ENOMEM;
        }
        pf->n++;
    }
    return 0;
}

int dav_propfind_parse(const char *body, size_t len, const struct mg_limits *lim,
                       struct dav_propfind *out)
{
    xmlDoc *doc = NULL;
    xmlNode *root;
    int seen = 0, status;

    memset(out, 0, sizeof(*out));
    out->mode = DAV_PF_ALLPROP;
    /* RFC 4918 9.1: an empty body is an allprop request */
    if (!body || len == 0)
        return 0;
    status = dav_xml_parse(body, len, lim, &doc);
    if (status)
        return status;
    status = 400;
    root = xmlDocGetRootElement(doc);
    if (!dav_xml_is(root, "propfind"))
        goto out;
    /* unknown elements are ignored (RFC 4918 17, litmus propextended) */
    for (xmlNode *c = dav_xml_first_elem(root); c; c = dav_xml_next_elem(c)) {
        if (dav_xml_is(c, "allprop")) {
            if (seen & 6)
                goto out;
            seen |= 1;
            out->mode = DAV_PF_ALLPROP;
        } else if (dav_xml_is(c, "propname")) {
            if (seen & 7)
                goto out;
            seen |= 2;
            out->mode = DAV_PF_PROPNAME;
        } else if (dav_xml_is(c, "prop")) {
            if (seen & 7)
                goto out;
            seen |= 4;
            out->mode = DAV_PF_PROP;
            if (collect_names(c, out))
                goto nomem;
        } else if (dav_xml_is(c, "include")) {
            if (seen & 14)
                goto out;
            seen |= 8;
            if (collect_names(c, out))
                goto nomem;
        }
    }
    /* include only goes with allprop */
    if (!(seen & 7) || ((seen & 8) && !(seen & 1)))
        goto out;
    status = 0;
    goto out;
nomem:
    status = 500;
out:
    if (status)
        dav_propfind_release(out);
    xmlFreeDoc(doc);
    return status;
}

/* ---- live properties ----------------------------------------------------------------- */

enum {
    LP_RESOURCETYPE = 0,
    LP_CREATIONDATE,
    LP_GETCONTENTLENGTH,
    LP_GETCONTENTTYPE,
    LP_GETETAG,
    LP_GETLASTMODIFIED,
    LP_DISPLAYNAME,
    LP_SUPPORTEDLOCK,
    LP_LOCKDISCOVERY,
    LP_CURRENT_USER_PRINCIPAL,
    LP_PRINCIPAL_URL,
    LP_PRINCIPAL_COLLECTION_SET,
    LP_SYNC_TOKEN,
    LP_SUPPORTED_REPORT_SET,
    LP_CURRENT_USER_PRIVILEGE_SET,
    LP_OWNER,
    LP_QUOTA_AVAILABLE,
    LP_QUOTA_USED,
    LP_GROUP_MEMBERSHIP,
    LP_ALTERNATE_URI_SET,
    LP_CALENDAR_HOME_SET,
    LP_CALENDAR_USER_ADDRESS_SET,
    LP_CALENDAR_USER_TYPE,
    LP_SCHEDULE_INBOX_URL,
    LP_SCHEDULE_OUTBOX_URL,
    LP_SCHEDULE_DEFAULT_CALENDAR_URL,
    LP_SUPPORTED_CALENDAR_COMPONENT_SET,
    LP_SUPPORTED_CALENDAR_DATA,
    LP_CAL_MAX_RESOURCE_SIZE,
    LP_CAL_SUPPORTED_COLLATION_SET,
    LP_CALENDAR_DATA,
    LP_ADDRESSBOOK_HOME_SET,
    LP_SUPPORTED_ADDRESS_DATA,
    LP_CARD_MAX_RESOURCE_SIZE,
    LP_CARD_SUPPORTED_COLLATION_SET,
    LP_ADDRESS_DATA,
    LP_GETCTAG,
    LP_COUNT
};

static const struct dav_live live_props[LP_COUNT] = {
    [LP_RESOURCETYPE] = {DAV_NS, "resourcetype", 1, 1},
    [LP_CREATIONDATE] = {DAV_NS, "creationdate", 1, 1},
    [LP_GETCONTENTLENGTH] = {DAV_NS, "getcontentlength", 1, 1},
    [LP_GETCONTENTTYPE] = {DAV_NS, "getcontenttype", 1, 1},
    [LP_GETETAG] = {DAV_NS, "getetag", 1, 1},
    [LP_GETLASTMODIFIED] = {DAV_NS, "getlastmodified", 1, 1},
    /* displayname is computed from the name unless a client set one */
    [LP_DISPLAYNAME] = {DAV_NS, "displayname", 1, 0},
    [LP_SUPPORTEDLOCK] = {DAV_NS, "supportedlock", 1, 1},
    [LP_LOCKDISCOVERY] = {DAV_NS, "lockdiscovery", 1, 1},
    /* RFC 5397 3 and RFC 3744 4.2, 5.8: not part of allprop; nor is anything below */
    [LP_CURRENT_USER_PRINCIPAL] = {DAV_NS, "current-user-principal", 0, 1},
    [LP_PRINCIPAL_URL] = {DAV_NS, "principal-URL", 0, 1},
    [LP_PRINCIPAL_COLLECTION_SET] = {DAV_NS, "principal-collection-set", 0, 1},
    [LP_SYNC_TOKEN] = {DAV_NS, "sync-token", 0, 1},                     /* RFC 6578 4 */
    [LP_SUPPORTED_REPORT_SET] = {DAV_NS, "supported-report-set", 0, 1}, /* RFC 3253 3.1.5 */
    [LP_CURRENT_USER_PRIVILEGE_SET] = {DAV_NS, "current-user-privilege-set", 0, 1}, /* 3744 5.4 */
    [LP_OWNER] = {DAV_NS, "owner", 0, 1},                                /* RFC 3744 5.1 */
    [LP_QUOTA_AVAILABLE] = {DAV_NS, "quota-available-bytes", 0, 1},      /* RFC 4331 3 */
    [LP_QUOTA_USED] = {DAV_NS, "quota-used-bytes", 0, 1},                /* RFC 4331 4 */
    [LP_GROUP_MEMBERSHIP] = {DAV_NS, "group-membership", 0, 1},          /* RFC 3744 4.4 */
    [LP_ALTERNATE_URI_SET] = {DAV_NS, "alternate-URI-set", 0, 1},        /* RFC 3744 4.1 */
    [LP_CALENDAR_HOME_SET] = {DAV_NS_CALDAV, "calendar-home-set", 0, 1}, /* RFC 4791 6.2.1 */
    [LP_CALENDAR_USER_ADDRESS_SET] = {DAV_NS_CALDAV, "calendar-user-address-set", 0, 1}, /* 6638 */
    [LP_CALENDAR_USER_TYPE] = {DAV_NS_CALDAV, "calendar-user-type", 0, 1},   /* RFC 6638 2.4.2 */
    [LP_SCHEDULE_INBOX_URL] = {DAV_NS_CALDAV, "schedule-inbox-URL", 0, 1},   /* RFC 6638 2.2.1 */
    [LP_SCHEDULE_OUTBOX_URL] = {DAV_NS_CALDAV, "schedule-outbox-URL", 0, 1}, /* RFC 6638 2.1.1 */
    [LP_SCHEDULE_DEFAULT_CALENDAR_URL] = {DAV_NS_CALDAV, "schedule-default-calendar-URL", 0, 1},
    [LP_SUPPORTED_CALENDAR_COMPONENT_SET] = {DAV_NS_CALDAV, "supported-calendar-component-set", 0,
                                             1}, /* RFC 4791 5.2.3 */
    [LP_SUPPORTED_CALENDAR_DATA] = {DAV_NS_CALDAV, "supported-calendar-data", 0, 1},     /* 5.2.4 */
    [LP_CAL_MAX_RESOURCE_SIZE] = {DAV_NS_CALDAV, "max-resource-size", 0, 1},             /* 5.2.5 */
    [LP_CAL_SUPPORTED_COLLATION_SET] = {DAV_NS_CALDAV, "supported-collation-set", 0, 1}, /* 7.5.1 */
    [LP_CALENDAR_DATA] = {DAV_NS_CALDAV, "calendar-data", 0, 1},                /* RFC 4791 9.6 */
    [LP_ADDRESSBOOK_HOME_SET] = {DAV_NS_CARDDAV, "addressbook-home-set", 0, 1}, /* RFC 6352 7.1.1 */
    [LP_SUPPORTED_ADDRESS_DATA] = {DAV_NS_CARDDAV, "supported-address-data", 0, 1}, /* 6.2.2 */
    [LP_CARD_MAX_RESOURCE_SIZE] = {DAV_NS_CARDDAV, "max-resource-size", 0, 1},      /* 6.2.3 */
    [LP_CARD_SUPPORTED_COLLATION_SET] = {DAV_NS_CARDDAV, "supported-collation-set", 0,
                                         1},                    /* 8.3.1 */
    [LP_ADDRESS_DATA] = {DAV_NS_CARDDAV, "address-data", 0, 1}, /* RFC 6352 10.4 */
    [LP_GETCTAG] = {DAV_NS_CS, "getctag", 0, 1}, /* calendarserver.org ctag extension */
};

const struct dav_live *dav_live_find(const char *ns, const char *name)
{
    for (int i = 0; i < LP_COUNT; i++) {
        if (strcmp(live_props[i].name, name) == 0 && strcmp(live_props[i].ns, ns) == 0)
            return &live_props[i];
    }
    return NULL;
}

static int put_href(struct buf *out, const char *path)
{
    if (buf_puts(out, "<D:href>") || dav_put_href(out, path) || buf_puts(out, "</D:href>"))
        return MG_ENOMEM;
    return 0;
}

static int put_principal_href(struct buf *out, const char *user)
{
    struct buf p;
    int rc;
    buf_init(&p);
    rc = buf_printf(&p, "/dav/principals/%s/", user);
    if (!rc)
        rc = put_href(out, p.data);
    buf_release(&p);
    return rc;
}

/* <tag><D:href>/dav/<area>/<user>/<rest></D:href></tag> */
static int put_wrapped_href(struct buf *out, const char *tag, const char *area, const char *user,
                            const char *rest)
{
    struct buf p;
    int rc;
    buf_init(&p);
    rc = buf_printf(&p, "/dav/%s/%s/%s", area, user, rest);
    if (!rc)
        rc = buf_printf(out, "<%s>", tag);
    if (!rc)
        rc = put_href(out, p.data);
    if (!rc)
        rc = buf_printf(out, "</%s>", tag);
    buf_release(&p);
    return rc;
}

static int emit_lockdiscovery(struct dav_req *r, const struct dav_pres *res, struct buf *out)
{
    uint64_t now = mg_now_ms();
    struct buf root;
    int rc;

    rc = dav_req_locks(r);
    if (rc)
        return rc;
    buf_init(&root);
    rc = buf_puts(out, "<D:lockdiscovery>");
    for (size_t i = 0; !rc && i < r->locks.n; i++) {
        const struct dav_lock *l = &r->locks.v[i];
        if (!dav_lock_covers(l, res->lock_key))
            continue;
        const char *lrel = strchr(l->key, '/');
        buf_reset(&root);
        rc = dav_tree_path(&root, r->path.user, r->path.kind, lrel ? lrel + 1 : "", l->folder);
        if (!rc)
            rc = dav_lock_xml(out, l, root.data, now);
    }
    if (!rc)
        rc = buf_puts(out, "</D:lockdiscovery>");
    buf_release(&root);
    return rc;
}

/* RFC 3253 3.1.5: the reports each kind of resource answers. */
static int emit_reports(struct dav_req *r, const struct dav_pres *res, struct buf *out)
{
    static const char *const cal_coll[] = {"C:calendar-query", "C:calendar-multiget",
                                           "C:free-busy-query", "D:sync-collection", NULL};
    static const char *const cal_obj[] = {"C:calendar-query", "C:calendar-multiget", NULL};
    static const char *const card_coll[] = {"CR:addressbook-query", "CR:addressbook-multiget",
                                            "D:sync-collection", NULL};
    static const char *const card_obj[] = {"CR:addressbook-query", "CR:addressbook-multiget", NULL};
    static const char *const folder[] = {"D:sync-collection", "D:expand-property", NULL};
    static const char *const principal[] = {"D:expand-property", "D:principal-property-search",
                                            "D:principal-search-property-set", NULL};
    static const char *const none[] = {NULL};
    const char *const *v = none;
    const struct dav_record *rec = res->rec;
    int rc;

    if (res->vkind == DAV_V_PRINCIPAL || res->vkind == DAV_V_PRINCIPALS)
        v = principal;
    else if (res->vkind == DAV_V_TREE && rec && rec->type == DAV_RT_FOLDER)
        v = rec->coll == DAV_COLL_CALENDAR      ? cal_coll
            : rec->coll == DAV_COLL_ADDRESSBOOK ? card_coll
                                                : folder;
    else if (res->vkind == DAV_V_TREE && r->path.kind == DAV_KIND_CALENDARS)
        v = cal_obj;
    else if (res->vkind == DAV_V_TREE && r->path.kind == DAV_KIND_ADDRESSBOOKS)
        v = card_obj;
    rc = buf_puts(out, "<D:supported-report-set>");
    for (; !rc && *v; v++)
        rc = buf_printf(out, "<D:supported-report><D:report><%s/></D:report></D:supported-report>",
                        *v);
    if (!rc)
        rc = buf_puts(out, "</D:supported-report-set>");
    return rc;
}

/* RFC 3744 5.4: a user has every privilege on their own tree; the virtual
 * resources above it are read-only. */
static int emit_privileges(const struct dav_pres *res, struct buf *out)
{
    static const char *const all[] = {"D:all",
                                      "D:read",
                                      "D:write",
                                      "D:write-properties",
                                      "D:write-content",
                                      "D:unlock",
                                      "D:bind",
                                      "D:unbind",
                                      "D:read-acl",
                                      "D:read-current-user-privilege-set",
                                      "C:read-free-busy",
                                      NULL};
    static const char *const ro[] = {"D:read", "D:read-acl", "D:read-current-user-privilege-set",
                                     NULL};
    const char *const *v = res->vkind == DAV_V_TREE ? all : ro;
    int rc = buf_puts(out, "<D:current-user-privilege-set>");
    for (; !rc && *v; v++)
        rc = buf_printf(out, "<D:privilege><%s/></D:privilege>", *v);
    if (!rc)
        rc = buf_puts(out, "</D:current-user-privilege-set>");
    return rc;
}

/* The partition of a tree folder (for ctag and sync token). */
static int folder_hlc(struct dav_req *r, const struct dav_pres *res, uint64_t *hlc)
{
    struct buf pkey;
    int rc;
    buf_init(&pkey);
    rc = dav_folder_pkey(&pkey, r->path.user, r->path.kind, res->rel);
    if (!rc)
        rc = dht_partition_hlc(r->m->d, pkey.data, hlc);
    buf_release(&pkey);
    return rc;
}

struct usage {
    uint64_t bytes;
};

static int add_usage(void *ctx, const char *rkey, const struct dht_row *row)
{
    struct usage *u = ctx;
    struct dav_record rec;
    if (rkey[0] && dav_record_decode(row->value, row->value_len, &rec) == 0) {
        if (rec.type == DAV_RT_FILE)
            u->bytes += rec.size;
        dav_record_release(&rec);
    }
    return 0;
}

/* RFC 4331: bytes of the folder's files, and what the account's quota (or,
 * without one, the disk) leaves. */
static int emit_quota(struct dav_req *r, const struct dav_pres *res, int used, struct buf *out)
{
    struct usage u = {0};
    struct acct_info info;
    struct buf pkey;
    uint64_t avail = 0;
    int rc;

    buf_init(&pkey);
    rc = dav_folder_pkey(&pkey, r->path.user, r->path.kind, res->rel);
    if (!rc)
        rc = dht_scan(r->m->d, pkey.data, NULL, 0, add_usage, &u);
    buf_release(&pkey);
    if (rc < 0)
        return rc;
    if (used)
        return buf_printf(out, "<D:quota-used-bytes>%llu</D:quota-used-bytes>",
                          (unsigned long long)u.bytes);
    memset(&info, 0, sizeof(info));
    if (acct_get_info(r->m->d, r->user, &info) == 0 && info.quota) {
        avail = info.quota > u.bytes ? info.quota - u.bytes : 0;
    } else {
        struct statvfs sv;
        if (statvfs(r->m->cfg->data_dir, &sv) == 0)
            avail = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
    }
    return buf_printf(out, "<D:quota-available-bytes>%llu</D:quota-available-bytes>",
                      (unsigned long long)avail);
}

/* calendar-data / address-data: the content, as the REPORT asks for it. */
static int emit_data(struct dav_req *r, const struct dav_pres *res, int card, struct buf *out)
{
    const struct dav_record *rec = res->rec;
    struct buf content, text;
    const char *data = res->body;
    size_t len = res->body_len;
    int rc = 0;

    buf_init(&content);
    buf_init(&text);
    if (!data) {
        rc = dav_record_content(r->m, rec, dav_obj_max(r->m), &content);
        if (rc)
            goto out;
        data = content.data ? content.data : "";
        len = content.len;
    }
    if (card)
        rc = dav_carddata_render(r->carddata, data, len, &text);
    else
        rc = dav_caldata_render(r->caldata, data, len, res->cal, r->floating, &text);
    if (rc && rc != MG_ENOMEM) {
        /* unparsable as stored, or an expansion over budget: return it whole */
        log_warn("dav: returning %s unchanged path=%s err=%s",
                 card ? "address-data" : "calendar-data", res->path, mg_strerror(rc));
        buf_reset(&text);
        rc = buf_append(&text, data, len);
    }
    if (!rc)
        rc = buf_puts(out, card ? "<CR:address-data>" : "<C:calendar-data>");
    if (!rc && text.len)
        rc = buf_put_xml_escaped(out, text.data);
    if (!rc)
        rc = buf_puts(out, card ? "</CR:address-data>" : "</C:calendar-data>");
out:
    buf_release(&content);
    buf_release(&text);
    return rc;
}

int dav_live_emit(struct dav_req *r, const struct dav_pres *res, const struct dav_live *lp,
                  struct buf *out)
{
    const struct dav_record *rec = res->vkind == DAV_V_TREE ? res->rec : NULL;
    int folder = !rec || rec->type == DAV_RT_FOLDER;
    int coll = rec && folder ? rec->coll : -1;
    int object = rec && !folder;
    int principalish =
        res->vkind == DAV_V_PRINCIPAL || res->vkind == DAV_V_SITE_ROOT || res->vkind == DAV_V_ROOT;
    char tmp[96];
    uint64_t hlc = 0;
    int rc = 0;

    switch ((int)(lp - live_props)) {
    case LP_RESOURCETYPE:
        if (res->vkind == DAV_V_PRINCIPAL)
            rc = buf_puts(out, "<D:resourcetype><D:collection/><D:principal/></D:resourcetype>");
        else if (coll == DAV_COLL_CALENDAR)
            rc = buf_puts(out, "<D:resourcetype><D:collection/><C:calendar/></D:resourcetype>");
        else if (coll == DAV_COLL_ADDRESSBOOK)
            rc = buf_puts(out, "<D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype>");
        else if (coll == DAV_COLL_INBOX)
            rc = buf_puts(out,
                          "<D:resourcetype><D:collection/><C:schedule-inbox/></D:resourcetype>");
        else if (coll == DAV_COLL_OUTBOX)
            rc = buf_puts(out,
                          "<D:resourcetype><D:collection/><C:schedule-outbox/></D:resourcetype>");
        else if (folder)
            rc = buf_puts(out, "<D:resourcetype><D:collection/></D:resourcetype>");
        else
            rc = buf_puts(out, "<D:resourcetype/>");
        break;
    case LP_CREATIONDATE:
        if (!rec)
            return 404;
        mg_iso8601(rec->ctime_ms / 1000, tmp, sizeof(tmp));
        rc = buf_printf(out, "<D:creationdate>%s</D:creationdate>", tmp);
        break;
    case LP_GETCONTENTLENGTH:
        if (folder)
            return 404;
        rc = buf_printf(out, "<D:getcontentlength>%llu</D:getcontentlength>",
                        (unsigned long long)rec->size);
        break;
    case LP_GETCONTENTTYPE:
        if (folder)
            return 404;
        rc = buf_puts(out, "<D:getcontenttype>");
        if (!rc && rec->ctype.n) {
            char *ct = malloc(rec->ctype.n + 1);
            if (!ct)
                return MG_ENOMEM;
            memcpy(ct, rec->ctype.p, rec->ctype.n);
            ct[rec->ctype.n] = '\0';
            rc = buf_put_xml_escaped(out, ct);
            free(ct);
        }
        if (!rc)
            rc = buf_puts(out, "</D:getcontenttype>");
        break;
    case LP_GETETAG:
        if (folder)
            return 404;
        /* quotes and hex digits need no escaping in character data */
        dav_record_etag(rec, tmp, sizeof(tmp));
        rc = buf_printf(out, "<D:getetag>%s</D:getetag>", tmp);
        break;
    case LP_GETLASTMODIFIED:
        if (!rec)
            return 404;
        mg_http_date(rec->mtime_ms / 1000, tmp, sizeof(tmp));
        rc = buf_printf(out, "<D:getlastmodified>%s</D:getlastmodified>", tmp);
        break;
    case LP_DISPLAYNAME:
        rc = buf_puts(out, "<D:displayname>");
        if (!rc)
            rc = buf_put_xml_escaped(out, res->name);
        if (!rc)
            rc = buf_puts(out, "</D:displayname>");
        break;
    case LP_SUPPORTEDLOCK:
        if (!rec)
            return 404;
        /* RFC 4918 15.10: exclusive and shared write locks */
        rc = buf_puts(out, "<D:supportedlock>"
                           "<D:lockentry><D:lockscope><D:exclusive/></D:lockscope>"
                           "<D:locktype><D:write/></D:locktype></D:lockentry>"
                           "<D:lockentry><D:lockscope><D:shared/></D:lockscope>"
                           "<D:locktype><D:write/></D:locktype></D:lockentry>"
                           "</D:supportedlock>");
        break;
    case LP_LOCKDISCOVERY:
        if (!rec)
            return 404;
        rc = emit_lockdiscovery(r, res, out);
        break;
    case LP_CURRENT_USER_PRINCIPAL:
        /* RFC 5397 3 */
        rc = buf_puts(out, "<D:current-user-principal>");
        if (!rc)
            rc = put_principal_href(out, r->user);
        if (!rc)
            rc = buf_puts(out, "</D:current-user-principal>");
        break;
    case LP_PRINCIPAL_URL:
        /* RFC 3744 4.2 */
        if (res->vkind != DAV_V_PRINCIPAL)
            return 404;
        rc = buf_puts(out, "<D:principal-URL>");
        if (!rc)
            rc = put_principal_href(out, r->user);
        if (!rc)
            rc = buf_puts(out, "</D:principal-URL>");
        break;
    case LP_PRINCIPAL_COLLECTION_SET:
        rc = buf_puts(out, "<D:principal-collection-set><D:href>/dav/principals/</D:href>"
                           "</D:principal-collection-set>");
        break;
    case LP_SYNC_TOKEN:
    case LP_GETCTAG:
        if (!rec || !folder || !res->rel)
            return 404;
        rc = folder_hlc(r, res, &hlc);
        if (rc)
            return rc;
        if (lp == &live_props[LP_GETCTAG]) {
            rc = buf_printf(out, "<CS:getctag>%llu</CS:getctag>", (unsigned long long)hlc);
        } else {
            dav_sync_token(hlc, tmp, sizeof(tmp));
            rc = buf_printf(out, "<D:sync-token>%s</D:sync-token>", tmp);
        }
        break;
    case LP_SUPPORTED_REPORT_SET:
        rc = emit_reports(r, res, out);
        break;
    case LP_CURRENT_USER_PRIVILEGE_SET:
        rc = emit_privileges(res, out);
        break;
    case LP_OWNER:
        if (res->vkind != DAV_V_TREE && res->vkind != DAV_V_PRINCIPAL)
            return 404;
        rc = buf_puts(out, "<D:owner>");
        if (!rc)
            rc = put_principal_href(out, r->user);
        if (!rc)
            rc = buf_puts(out, "</D:owner>");
        break;
    case LP_QUOTA_AVAILABLE:
    case LP_QUOTA_USED:
        if (!rec || !folder || !res->rel)
            return 404;
        rc = emit_quota(r, res, lp == &live_props[LP_QUOTA_USED], out);
        break;
    case LP_GROUP_MEMBERSHIP:
        if (res->vkind != DAV_V_PRINCIPAL)
            return 404;
        rc = buf_puts(out, "<D:group-membership/>");
        break;
    case LP_ALTERNATE_URI_SET:
        if (res->vkind != DAV_V_PRINCIPAL)
            return 404;
        rc = buf_puts(out, "<D:alternate-URI-set/>");
        break;
    case LP_CALENDAR_HOME_SET:
        if (!principalish)
            return 404;
        rc = put_wrapped_href(out, "C:calendar-home-set", "calendars", r->user, "");
        break;
    case LP_CALENDAR_USER_ADDRESS_SET:
        if (res->vkind != DAV_V_PRINCIPAL)
            return 404;
        rc = put_wrapped_href(out, "C:calendar-user-address-set", "principals", r->user, "");
        break;
    case LP_CALENDAR_USER_TYPE:
        if (res->vkind != DAV_V_PRINCIPAL)
            return 404;
        rc = buf_puts(out, "<C:calendar-user-type>INDIVIDUAL</C:calendar-user-type>");
        break;
    case LP_SCHEDULE_INBOX_URL:
        if (res->vkind != DAV_V_PRINCIPAL)
            return 404;
        rc = put_wrapped_href(out, "C:schedule-inbox-URL", "calendars", r->user, "inbox/");
        break;
    case LP_SCHEDULE_OUTBOX_URL:
        if (res->vkind != DAV_V_PRINCIPAL)
            return 404;
        rc = put_wrapped_href(out, "C:schedule-outbox-URL", "calendars", r->user, "outbox/");
        break;
    case LP_SCHEDULE_DEFAULT_CALENDAR_URL:
        if (coll != DAV_COLL_INBOX)
            return 404;
        rc = put_wrapped_href(out, "C:schedule-default-calendar-URL", "calendars", r->user,
                              "personal/");
        break;
    case LP_SUPPORTED_CALENDAR_COMPONENT_SET: {
        unsigned comps;
        if (coll != DAV_COLL_CALENDAR)
            return 404;
        comps = dav_coll_comps(rec);
        rc = buf_puts(out, "<C:supported-calendar-component-set>");
        for (unsigned bit = 1; !rc && bit <= DAV_COMP_VFREEBUSY; bit <<= 1) {
            if (comps & bit)
                rc = buf_printf(out, "<C:comp name=\"%s\"/>", dav_ical_comp_name(bit));
        }
        if (!rc)
            rc = buf_puts(out, "</C:supported-calendar-component-set>");
        break;
    }
    case LP_SUPPORTED_CALENDAR_DATA:
        if (coll != DAV_COLL_CALENDAR)
            return 404;
        rc = buf_puts(out, "<C:supported-calendar-data><C:calendar-data "
                           "content-type=\"text/calendar\" version=\"2.0\"/>"
                           "</C:supported-calendar-data>");
        break;
    case LP_CAL_MAX_RESOURCE_SIZE:
    case LP_CARD_MAX_RESOURCE_SIZE: {
        int cal = lp == &live_props[LP_CAL_MAX_RESOURCE_SIZE];
        if (coll != (cal ? DAV_COLL_CALENDAR : DAV_COLL_ADDRESSBOOK))
            return 404;
        rc = buf_printf(out, "<%s:max-resource-size>%llu</%s:max-resource-size>", cal ? "C" : "CR",
                        (unsigned long long)dav_obj_max(r->m), cal ? "C" : "CR");
        break;
    }
    case LP_CAL_SUPPORTED_COLLATION_SET:
    case LP_CARD_SUPPORTED_COLLATION_SET: {
        int cal = lp == &live_props[LP_CAL_SUPPORTED_COLLATION_SET];
        const char *p = cal ? "C" : "CR";
        if (coll != (cal ? DAV_COLL_CALENDAR : DAV_COLL_ADDRESSBOOK))
            return 404;
        rc = buf_printf(out,
                        "<%s:supported-collation-set>"
                        "<%s:supported-collation>i;ascii-casemap</%s:supported-collation>"
                        "<%s:supported-collation>i;unicode-casemap</%s:supported-collation>"
                        "<%s:supported-collation>i;octet</%s:supported-collation>"
                        "</%s:supported-collation-set>",
                        p, p, p, p, p, p, p, p);
        break;
    }
    case LP_CALENDAR_DATA:
        if (!object || r->path.kind != DAV_KIND_CALENDARS)
            return 404;
        rc = emit_data(r, res, 0, out);
        break;
    case LP_ADDRESSBOOK_HOME_SET:
        if (!principalish)
            return 404;
        rc = put_wrapped_href(out, "CR:addressbook-home-set", "addressbooks", r->user, "");
        break;
    case LP_SUPPORTED_ADDRESS_DATA:
        if (coll != DAV_COLL_ADDRESSBOOK)
            return 404;
        rc = buf_puts(out, "<CR:supported-address-data>"
                           "<CR:address-data-type content-type=\"text/vcard\" version=\"3.0\"/>"
                           "<CR:address-data-type content-type=\"text/vcard\" version=\"4.0\"/>"
                           "</CR:supported-address-data>");
        break;
    case LP_ADDRESS_DATA:
        if (!object || r->path.kind != DAV_KIND_ADDRESSBOOKS)
            return 404;
        rc = emit_data(r, res, 1, out);
        break;
    default:
        return 404;
    }
    return rc ? rc : 200;
}

/* ---- <D:response> --------------------------------------------------------------------- */

static int dead_lookup(const struct dav_pres *res, const char *ns, const char *name)
{
    if (res->vkind != DAV_V_TREE || !res->rec)
        return -1;
    return (int)dav_record_find_prop(res->rec, ns, name);
}

/* Appends the propstat for one status when its prop list is not empty. */
static int put_propstat(struct buf *out, const struct buf *props, int status)
{
    if (props->len == 0)
        return 0;
    if (buf_puts(out, "<D:propstat><D:prop>") || buf_append(out, props->data, props->len) ||
        buf_printf(out, "</D:prop><D:status>%s</D:status></D:propstat>", dav_status_line(status)))
        return MG_ENOMEM;
    return 0;
}

int dav_propfind_response(struct dav_req *r, const struct dav_pres *res,
                          const struct dav_propfind *pf, struct buf *out)
{
    struct buf ok, nf;
    int rc = 0;

    buf_init(&ok);
    buf_init(&nf);
    if (pf->mode == DAV_PF_PROP) {
        for (size_t i = 0; !rc && i < pf->n; i++) {
            const struct dav_pname *pn = &pf->props[i];
            int d = dead_lookup(res, pn->ns, pn->name);
            const struct dav_live *lp;
            if (d >= 0) {
                const struct dav_prop *dp = &res->rec->props[d];
                rc = buf_append(&ok, dp->xml.p, dp->xml.n);
                continue;
            }
            lp = dav_live_find(pn->ns, pn->name);
            int st = lp ? dav_live_emit(r, res, lp, &ok) : 404;
            if (st < 0)
                rc = st;
            else if (st == 404)
                rc = dav_put_prop_name(&nf, pn->ns, strlen(pn->ns), pn->name, strlen(pn->name));
        }
    } else {
        int names = pf->mode == DAV_PF_PROPNAME;
        struct buf scratch;
        buf_init(&scratch);
        for (int i = 0; !rc && i < LP_COUNT; i++) {
            const struct dav_live *lp = &live_props[i];
            int wanted = names || lp->in_allprop;
            for (size_t j = 0; !wanted && j < pf->n; j++)
                wanted = strcmp(pf->props[j].ns, lp->ns) == 0 &&
                         strcmp(pf->props[j].name, lp->name) == 0;
            if (!wanted || dead_lookup(res, lp->ns, lp->name) >= 0)
                continue;
            /* propname lists what is cheap to know; data and store-backed
             * values are left to explicit requests */
            if (names && !lp->in_allprop && lp - live_props >= LP_SYNC_TOKEN)
                continue;
            buf_reset(&scratch);
            int st = dav_live_emit(r, res, lp, names ? &scratch : &ok);
            if (st < 0)
                rc = st;
            else if (st == 200 && names)
                rc = dav_put_prop_name(&ok, lp->ns, strlen(lp->ns), lp->name, strlen(lp->name));
        }
        buf_release(&scratch);
        if (res->vkind == DAV_V_TREE && res->rec) {
            for (size_t i = 0; !rc && i < res->rec->nprops; i++) {
                const struct dav_prop *dp = &res->rec->props[i];
                if (names)
                    rc = dav_put_prop_name(&ok, dp->ns.p, dp->ns.n, dp->name.p, dp->name.n);
                else
                    rc = buf_append(&ok, dp->xml.p, dp->xml.n);
            }
        }
        /* include names that are neither live nor dead are not reported */
    }
    if (!rc)
        rc = buf_puts(out, "<D:response><D:href>");
    if (!rc)
        rc = dav_put_href(out, res->path);
    if (!rc)
        rc = buf_puts(out, "</D:href>");
    if (!rc && ok.len == 0 && nf.len == 0)
        rc = buf_printf(out, "<D:propstat><D:prop/><D:status>%s</D:status></D:propstat>",
                        dav_status_line(200));
    if (!rc)
        rc = put_propstat(out, &ok, 200);
    if (!rc)
        rc = put_propstat(out, &nf, 404);
    if (!rc)
        rc = buf_puts(out, "</D:response>\n");
    buf_release(&ok);
    buf_release(&nf);
    return rc;
}
