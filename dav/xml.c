/*
 * xml.c - safe parsing of request bodies and the pieces of XML responses
 * (multistatus, DAV:error) the handlers share.
 *
 * Request bodies come from anyone, so parsing refuses what makes XML parsers
 * dangerous (STYLE.md): no network access (XML_PARSE_NONET), no DTD at all
 * (a DOCTYPE anywhere is refused before libxml2 sees the body, which rules out
 * internal and external entities and billion-laughs), no entity substitution
 * (XML_PARSE_NOENT is never set), and depth and element counts are bounded by
 * the configured limits.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlsave.h>

#include "dav_private.h"

/* Counts elements and checks depth; returns 0, 400 (too deep) or 413 (too many). */
static int check_tree(const xmlNode *node, int depth, const struct mg_limits *lim, long *count)
{
    for (const xmlNode *n = node; n; n = n->next) {
        if (n->type == XML_ENTITY_REF_NODE || n->type == XML_ENTITY_NODE ||
            n->type == XML_DTD_NODE || n->type == XML_XINCLUDE_START)
            return 400;
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (depth >= lim->max_xml_depth)
            return 400;
        if (++*count > lim->max_xml_elements)
            return 413;
        if (n->children) {
            int rc = check_tree(n->children, depth + 1, lim, count);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* No-op error handler: parse errors are reported by status, never printed. */
static void quiet_error(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

/* Any document type declaration stops the parse: the byte scan below cannot
 * see one written in UTF-16 or another encoding. */
static void refuse_dtd(void *ctx, const xmlChar *name, const xmlChar *external_id,
                       const xmlChar *system_id)
{
    xmlParserCtxt *ctxt = ctx;
    (void)name;
    (void)external_id;
    (void)system_id;
    ctxt->wellFormed = 0;
    xmlStopParser(ctxt);
}

static void refuse_entity(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
                          const xmlChar *system_id, xmlChar *content)
{
    xmlParserCtxt *ctxt = ctx;
    (void)name;
    (void)type;
    (void)public_id;
    (void)system_id;
    (void)content;
    ctxt->wellFormed = 0;
    xmlStopParser(ctxt);
}

int dav_xml_parse(const char *data, size_t len, const struct mg_limits *lim, xmlDoc **out)
{
    xmlParserCtxt *ctxt = NULL;
    xmlDoc *doc = NULL;
    long count = 0;
    int status = 400;

    *out = NULL;
    if (!data || len == 0)
        return 400;
    if (len > (size_t)INT_MAX || (lim->max_body && len > lim->max_body))
        return 413;
    /* no DTD, hence no entity declarations of any kind */
    if (memmem(data, len, "<!DOCTYPE", 9) || memmem(data, len, "<!ENTITY", 8))
        return 400;
    ctxt = xmlNewParserCtxt();
    if (!ctxt)
        return 500;
    ctxt->sax->error = quiet_error;
    ctxt->sax->warning = quiet_error;
    ctxt->vctxt.error = quiet_error;
    ctxt->vctxt.warning = quiet_error;
    ctxt->sax->internalSubset = refuse_dtd;
    ctxt->sax->externalSubset = refuse_dtd;
    ctxt->sax->entityDecl = refuse_entity;
    doc = xmlCtxtReadMemory(ctxt, data, (int)len, NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                XML_PARSE_NOCDATA);
    /* nsWellFormed: e.g. xmlns:x="" is an error in Namespaces in XML 1.0
     * (litmus propfind_invalid2) */
    if (!doc || !ctxt->wellFormed || !ctxt->nsWellFormed || doc->intSubset || doc->extSubset)
        goto out;
    if (!xmlDocGetRootElement(doc))
        goto out;
    status = check_tree(xmlDocGetRootElement(doc), 0, lim, &count);
    if (status)
        goto out;
    *out = doc;
    doc = NULL;
out:
    if (doc)
        xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return status;
}

const char *dav_xml_ns(const xmlNode *node)
{
    if (node && node->ns && node->ns->href)
        return (const char *)node->ns->href;
    return "";
}

int dav_xml_is(const xmlNode *node, const char *name)
{
    return node && node->type == XML_ELEMENT_NODE && strcmp(dav_xml_ns(node), DAV_NS) == 0 &&
           strcmp((const char *)node->name, name) == 0;
}

xmlNode *dav_xml_next_elem(xmlNode *node)
{
    for (node = node ? node->next : NULL; node; node = node->next) {
        if (node->type == XML_ELEMENT_NODE)
            return node;
    }
    return NULL;
}

xmlNode *dav_xml_first_elem(xmlNode *node)
{
    for (node = node ? node->children : NULL; node; node = node->next) {
        if (node->type == XML_ELEMENT_NODE)
            return node;
    }
    return NULL;
}

int dav_xml_serialize(xmlNode *node, struct buf *out)
{
    xmlDoc *doc = NULL;
    xmlNode *copy;
    xmlBuffer *xb = NULL;
    int rc = MG_ENOMEM;

    doc = xmlNewDoc((const xmlChar *)"1.0");
    if (!doc)
        goto out;
    /* The copy declares, on itself, the namespaces it inherited from the
     * request's ancestors (xmlStaticCopyNode), so it stands alone. */
    copy = xmlDocCopyNode(node, doc, 1);
    if (!copy)
        goto out;
    xmlDocSetRootElement(doc, copy);
    xmlReconciliateNs(doc, copy);
    xb = xmlBufferCreate();
    if (!xb)
        goto out;
    if (xmlNodeDump(xb, doc, copy, 0, 0) < 0) {
        rc = MG_EINVAL;
        goto out;
    }
    rc = buf_append(out, xmlBufferContent(xb), (size_t)xmlBufferLength(xb));
out:
    if (xb)
        xmlBufferFree(xb);
    if (doc)
        xmlFreeDoc(doc);
    return rc;
}

const char *dav_status_line(int status)
{
    switch (status) {
    case 200:
        return "HTTP/1.1 200 OK";
    case 201:
        return "HTTP/1.1 201 Created";
    case 204:
        return "HTTP/1.1 204 No Content";
    case 400:
        return "HTTP/1.1 400 Bad Request";
    case 401:
        return "HTTP/1.1 401 Unauthorized";
    case 403:
        return "HTTP/1.1 403 Forbidden";
    case 404:
        return "HTTP/1.1 404 Not Found";
    case 405:
        return "HTTP/1.1 405 Method Not Allowed";
    case 409:
        return "HTTP/1.1 409 Conflict";
    case 412:
        return "HTTP/1.1 412 Precondition Failed";
    case 413:
        return "HTTP/1.1 413 Payload Too Large";
    case 422:
        return "HTTP/1.1 422 Unprocessable Entity";
    case 423:
        return "HTTP/1.1 423 Locked";
    case 424:
        return "HTTP/1.1 424 Failed Dependency";
    case 507:
        return "HTTP/1.1 507 Insufficient Storage";
    default:
        return "HTTP/1.1 500 Internal Server Error";
    }
}

int dav_ms_begin(struct buf *b)
{
    return buf_puts(b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                       "<D:multistatus xmlns:D=\"DAV:\" xmlns:C=\"" DAV_NS_CALDAV
                       "\" xmlns:CR=\"" DAV_NS_CARDDAV "\" xmlns:CS=\"" DAV_NS_CS "\">\n");
}

int dav_ms_end(struct buf *b)
{
    return buf_puts(b, "</D:multistatus>\n");
}

int dav_ms_status(struct buf *b, const char *path, int status)
{
    if (buf_puts(b, "<D:response><D:href>") || dav_put_href(b, path) ||
        buf_printf(b, "</D:href><D:status>%s</D:status></D:response>\n", dav_status_line(status)))
        return MG_ENOMEM;
    return 0;
}

int dav_put_prop_name(struct buf *b, const char *ns, size_t nslen, const char *name, size_t namelen)
{
    int rc;
    if (nslen == 4 && memcmp(ns, DAV_NS, 4) == 0) {
        rc = buf_puts(b, "<D:");
        if (!rc)
            rc = buf_append(b, name, namelen);
        return rc ? rc : buf_puts(b, "/>");
    }
    if (nslen == 0) {
        rc = buf_putc(b, '<');
        if (!rc)
            rc = buf_append(b, name, namelen);
        return rc ? rc : buf_puts(b, " xmlns=\"\"/>");
    }
    rc = buf_puts(b, "<X:");
    if (!rc)
        rc = buf_append(b, name, namelen);
    if (!rc)
        rc = buf_puts(b, " xmlns:X=\"");
    if (!rc) {
        /* ns is not NUL-terminated when it comes from a record */
        char *tmp = malloc(nslen + 1);
        if (!tmp)
            return MG_ENOMEM;
        memcpy(tmp, ns, nslen);
        tmp[nslen] = '\0';
        rc = buf_put_xml_escaped(b, tmp);
        free(tmp);
    }
    return rc ? rc : buf_puts(b, "\"/>");
}

int dav_respond_error(struct srv_request *req, int status, const char *cond, const char *href,
                      const char *message)
{
    return dav_respond_error_ns(req, status, DAV_NS, cond, href, message);
}

int dav_respond_error_ns(struct srv_request *req, int status, const char *ns, const char *cond,
                         const char *href, const char *message)
{
    const char *pfx = "D";
    struct buf b;

    if (!cond) {
        return srv_respond_text(req, status, "%s", message ? message : dav_status_line(status));
    }
    buf_init(&b);
    if (buf_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:error xmlns:D=\"DAV:\""))
        goto nomem;
    if (strcmp(ns, DAV_NS) != 0) {
        pfx = strcmp(ns, DAV_NS_CALDAV) == 0 ? "C" : strcmp(ns, DAV_NS_CARDDAV) == 0 ? "CR" : "X";
        if (buf_printf(&b, " xmlns:%s=\"", pfx) || buf_put_xml_escaped(&b, ns) || buf_putc(&b, '"'))
            goto nomem;
    }
    if (buf_printf(&b, "><%s:%s>", pfx, cond))
        goto nomem;
    if (href && (buf_puts(&b, "<D:href>") || dav_put_href(&b, href) || buf_puts(&b, "</D:href>")))
        goto nomem;
    if (buf_printf(&b, "</%s:%s>", pfx, cond))
        goto nomem;
    if (message && (buf_puts(&b, "<mg:message xmlns:mg=\"urn:meshgate\">") ||
                    buf_put_xml_escaped(&b, message) || buf_puts(&b, "</mg:message>")))
        goto nomem;
    if (buf_puts(&b, "</D:error>\n"))
        goto nomem;
    return srv_respond_buf(req, status, "application/xml; charset=utf-8", &b);
nomem:
    buf_release(&b);
    return srv_respond_text(req, 500, "out of memory");
}
