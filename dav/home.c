/*
 * home.c - calendar and address book homes (RFC 4791 6.2.1, RFC 6352 7.1.1):
 * the collections a new account finds on first use, creation of calendar
 * and address book collections, and what the other handlers ask about a
 * collection (its zone, its supported components, its sync token).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "dav_private.h"

#define DEFAULT_COMPS (DAV_COMP_VEVENT | DAV_COMP_VTODO | DAV_COMP_VJOURNAL)

int dav_coll_create(struct dav_module *m, const char *user, enum dav_kind kind, const char *rel,
                    int coll, unsigned comps, const struct dav_prop *props, size_t nprops)
{
    struct dav_record rec;
    struct dav_objidx x;
    struct buf idx;
    int rc;

    buf_init(&idx);
    dav_record_init(&rec);
    rec.type = DAV_RT_FOLDER;
    rec.coll = coll;
    rec.ctime_ms = rec.mtime_ms = (int64_t)mg_now_ms();
    if (coll == DAV_COLL_CALENDAR) {
        memset(&x, 0, sizeof(x));
        x.kind = DAV_OBJ_COLL;
        x.comps = comps ? comps : DEFAULT_COMPS;
        rc = dav_objidx_encode(&x, &idx);
        if (rc)
            goto out;
        rec.index.p = idx.data;
        rec.index.n = idx.len;
    }
    rec.props = (struct dav_prop *)props;
    rec.nprops = nprops;
    rc = dav_folder_create(m, user, kind, rel, &rec);
out:
    buf_release(&idx);
    return rc;
}

/* A DAV:displayname dead property holding name (XML-safe text). */
static int displayname(const char *name, struct buf *xml, struct dav_prop *p)
{
    if (buf_puts(xml, "<D:displayname xmlns:D=\"DAV:\">") || buf_put_xml_escaped(xml, name) ||
        buf_puts(xml, "</D:displayname>"))
        return MG_ENOMEM;
    p->ns.p = DAV_NS;
    p->ns.n = strlen(DAV_NS);
    p->name.p = "displayname";
    p->name.n = strlen("displayname");
    p->xml.p = xml->data;
    p->xml.n = xml->len;
    return 0;
}

static int create_default(struct dav_module *m, const char *user, enum dav_kind kind,
                          const char *rel, int coll, const char *name)
{
    struct buf xml;
    struct dav_prop p;
    int rc;

    buf_init(&xml);
    rc = name ? displayname(name, &xml, &p) : 0;
    if (!rc)
        rc = dav_coll_create(m, user, kind, rel, coll, 0, name ? &p : NULL, name ? 1 : 0);
    buf_release(&xml);
    return rc == MG_EEXIST ? 0 : rc;
}

int dav_home_defaults(struct dav_module *m, const char *user, enum dav_kind kind)
{
    int rc = 0;

    if (kind == DAV_KIND_CALENDARS) {
        rc = create_default(m, user, kind, "personal", DAV_COLL_CALENDAR, "Personal");
        /* RFC 6638 2.1, 2.2: clients look for these; nothing is delivered to them yet */
        if (!rc)
            rc = create_default(m, user, kind, "inbox", DAV_COLL_INBOX, NULL);
        if (!rc)
            rc = create_default(m, user, kind, "outbox", DAV_COLL_OUTBOX, NULL);
    } else if (kind == DAV_KIND_ADDRESSBOOKS) {
        rc = create_default(m, user, kind, "contacts", DAV_COLL_ADDRESSBOOK, "Contacts");
    }
    if (!rc)
        log_info("dav: created the default %s of user=%s", dav_kind_name(kind), user);
    return rc;
}

int dav_home_ensure(struct dav_module *m, const char *user)
{
    struct dav_res res;
    int rc;

    dav_res_init(&res);
    rc = dav_res_load(m, user, DAV_KIND_CALENDARS, "", &res);
    if (!rc)
        rc = dav_res_load(m, user, DAV_KIND_ADDRESSBOOKS, "", &res);
    dav_res_release(&res);
    return rc;
}

int dav_parent_load(struct dav_module *m, const char *user, enum dav_kind kind, const char *rel,
                    struct dav_res *parent)
{
    char *prel = dav_rel_parent(rel);
    int rc;

    if (!prel)
        return MG_ENOMEM;
    rc = dav_res_load(m, user, kind, prel, parent);
    free(prel);
    return rc;
}

void dav_sync_token(uint64_t hlc, char *out, size_t cap)
{
    snprintf(out, cap, "%s%llu", DAV_SYNC_PREFIX, (unsigned long long)hlc);
}

unsigned dav_coll_comps(const struct dav_record *coll)
{
    struct dav_objidx x;
    if (coll->index.n && dav_objidx_decode(&coll->index, &x) == 0 && x.kind == DAV_OBJ_COLL &&
        x.comps)
        return x.comps;
    return DEFAULT_COMPS;
}

char *dav_record_prop_text(const struct dav_record *r, const char *ns, const char *name)
{
    long i = dav_record_find_prop(r, ns, name);
    const struct dav_prop *p;
    xmlDoc *doc;
    xmlChar *t;
    char *s = NULL;

    if (i < 0)
        return NULL;
    p = &r->props[i];
    if (p->xml.n > (size_t)INT32_MAX)
        return NULL;
    doc = xmlReadMemory(p->xml.p, (int)p->xml.n, NULL, NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        return NULL;
    t = xmlNodeGetContent(xmlDocGetRootElement(doc));
    if (t)
        s = mg_strdup((const char *)t);
    xmlFree(t);
    xmlFreeDoc(doc);
    return s;
}

icaltimezone *dav_coll_zone(const struct dav_record *coll)
{
    icaltimezone *z = NULL;
    /* the stored element was made by dav_xml_serialize: no DTD, no entities */
    char *text = dav_record_prop_text(coll, DAV_NS_CALDAV, "calendar-timezone");

    if (text && dav_ical_zone_from_text(text, strlen(text), &z))
        z = NULL;
    free(text);
    return z;
}

int dav_record_content(struct dav_module *m, const struct dav_record *rec, uint64_t max,
                       struct buf *out)
{
    struct dht_manifest man;
    int rc;

    dht_manifest_init(&man);
    rc = dht_manifest_decode(rec->manifest.p, rec->manifest.n, &man);
    if (rc) {
        dht_manifest_release(&man);
        return MG_EIO;
    }
    if (man.size > max) {
        dht_manifest_release(&man);
        return MG_ETOOBIG;
    }
    if (man.inline_data) {
        rc = buf_append(out, man.inline_data, (size_t)man.size);
    } else {
        uint64_t off = 0;
        char *chunk = malloc(64 << 10);
        rc = chunk ? 0 : MG_ENOMEM;
        while (!rc && off < man.size) {
            size_t got = 0;
            size_t want = (size_t)(man.size - off < (64 << 10) ? man.size - off : (64 << 10));
            rc = dht_blob_read(m->d, &man, off, chunk, want, &got);
            if (!rc && got == 0)
                rc = MG_EIO;
            if (!rc)
                rc = buf_append(out, chunk, got);
            off += got;
        }
        free(chunk);
    }
    dht_manifest_release(&man);
    return rc;
}
