/*
 * purge.c - deleting everything an account owns, through the dht.h API only.
 *
 * What a user owns, by partition (see DESIGN.md and the dav/ and api/ headers):
 *   mbox/<user>                     the user's own mailboxes (index)
 *   mbox/<user>/<mailbox>           messages; each sealed copy's body chunks
 *                                   (blob/<hash>) are its own and deleted too
 *   coll/<user>/<kind>[/<folder>..] DAV trees (files, calendars, addressbooks):
 *                                   a folder is a partition, and each of its rows
 *                                   that names a sub-folder has a partition of
 *                                   its own one level down
 *   home/<user>                     the user's collections and their properties
 *   lock/<user>                     WebDAV locks
 * The store has no "list partitions by prefix", so DAV folders are found by
 * walking: every row of a folder partition is tried as a sub-folder partition
 * (a scan of one row tells). The chunks of DAV files are content-addressed and
 * may be shared with other users' identical files, so they are left for a
 * reference-counting collector (not written yet); mail chunks are not shared
 * (every sealed copy has its own random key) and are deleted here.
 * Rows become tombstones, purged by the store after its grace period.
 */
#include <stdlib.h>
#include <string.h>

#include "api_private.h"

#define PURGE_BATCH 256

static const char *const purge_kinds[] = {"files", "calendars", "addressbooks"};

struct purge_batch {
    char **keys;
    struct buf *values; /* parallel to keys, when want_values */
    size_t n;
    int want_values;
    int include_root; /* the row "" is part of the batch */
};

static void purge_batch_release(struct purge_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->keys[i]);
        if (b->values)
            buf_release(&b->values[i]);
    }
    b->n = 0;
}

static int purge_collect(void *ctx, const char *rkey, const struct dht_row *row)
{
    struct purge_batch *b = ctx;
    b->keys[b->n] = strdup(rkey);
    if (!b->keys[b->n])
        return MG_ENOMEM;
    if (b->want_values) {
        buf_init(&b->values[b->n]);
        if (buf_append(&b->values[b->n], row->value, row->value_len)) {
            free(b->keys[b->n]);
            return MG_ENOMEM;
        }
    }
    b->n++;
    return 0;
}

/* Calls fn for every row of pkey (the row "" included), in batches, then
 * deletes the row. fn may be NULL. Returns 0 or the first error met. */
static int purge_partition(struct dht *d, const char *pkey, int want_values,
                           int (*fn)(void *ctx, const char *pkey, const char *rkey,
                                     const struct buf *value),
                           void *ctx)
{
    char *keys[PURGE_BATCH];
    struct buf values[PURGE_BATCH];
    struct purge_batch b = {keys, want_values ? values : NULL, 0, want_values, 0};
    int first_err = 0;
    char *after = NULL; /* NULL: start with the row "" */
    for (;;) {
        b.n = 0;
        int rc = dht_scan(d, pkey, after, PURGE_BATCH, purge_collect, &b);
        if (rc < 0) {
            purge_batch_release(&b);
            first_err = first_err ? first_err : rc;
            break;
        }
        size_t got = b.n;
        for (size_t i = 0; i < got; i++) {
            if (fn) {
                rc = fn(ctx, pkey, keys[i], want_values ? &values[i] : NULL);
                first_err = first_err ? first_err : rc;
            }
            rc = dht_delete(d, pkey, keys[i], NULL);
            if (rc && rc != MG_ENOTFOUND)
                first_err = first_err ? first_err : rc;
        }
        free(after);
        after = got ? strdup(keys[got - 1]) : NULL;
        purge_batch_release(&b);
        if (got < PURGE_BATCH || !after)
            break;
    }
    free(after);
    return first_err;
}

/* ---- mail ---------------------------------------------------------------------------- */

static int purge_message(void *ctx, const char *pkey, const char *rkey, const struct buf *value)
{
    (void)pkey;
    if (rkey[0] == '\0')
        return 0; /* the mailbox's own row */
    struct api_envelope e;
    if (api_envelope_parse(value->data, value->len, &e))
        return 0; /* not an envelope: nothing more to free */
    int rc = api_mail_delete_chunks(ctx, &e);
    api_envelope_release(&e);
    return rc;
}

static int purge_mailbox(struct dht *d, const char *user, const char *mailbox)
{
    struct buf pkey;
    buf_init(&pkey);
    int rc = api_mailbox_pkey(&pkey, user, mailbox);
    if (!rc)
        rc = purge_partition(d, pkey.data, 1, purge_message, d);
    buf_release(&pkey);
    return rc;
}

static int purge_user_mailbox(void *ctx, const char *pkey, const char *rkey,
                              const struct buf *value)
{
    (void)value;
    const char *user = strchr(pkey, '/') + 1; /* "mbox/<user>" */
    if (api_mailbox_is_system(rkey))
        return 0; /* done separately */
    return purge_mailbox(ctx, user, rkey);
}

/* ---- DAV trees ------------------------------------------------------------------------- */

struct purge_tree {
    struct dht *d;
    char **stack; /* folder partitions still to empty */
    size_t n;
    size_t cap;
};

static int purge_has_rows(void *ctx, const char *rkey, const struct dht_row *row)
{
    (void)rkey;
    (void)row;
    *(int *)ctx = 1;
    return 1;
}

/* A row of a folder: if a partition one level down has rows, it is a folder. */
static int purge_tree_row(void *ctx, const char *pkey, const char *rkey, const struct buf *value)
{
    (void)value;
    struct purge_tree *t = ctx;
    if (rkey[0] == '\0')
        return 0;
    struct buf child;
    buf_init(&child);
    if (buf_printf(&child, "%s/%s", pkey, rkey))
        return MG_ENOMEM;
    if (child.len > DHT_KEY_MAX) {
        buf_release(&child);
        return 0;
    }
    int found = 0;
    int rc = dht_scan(t->d, child.data, NULL, 1, purge_has_rows, &found);
    if (rc < 0 || !found) {
        buf_release(&child);
        return rc < 0 ? rc : 0;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        char **s = realloc(t->stack, cap * sizeof(*s));
        if (!s) {
            buf_release(&child);
            return MG_ENOMEM;
        }
        t->stack = s;
        t->cap = cap;
    }
    t->stack[t->n++] = buf_detach(&child, NULL);
    return t->stack[t->n - 1] ? 0 : MG_ENOMEM;
}

static int purge_tree(struct dht *d, const char *root)
{
    struct purge_tree t = {d, NULL, 0, 0};
    int first_err = 0;
    t.stack = malloc(sizeof(*t.stack));
    if (!t.stack)
        return MG_ENOMEM;
    t.cap = 1;
    t.stack[t.n++] = strdup(root);
    if (!t.stack[0]) {
        free(t.stack);
        return MG_ENOMEM;
    }
    /* depth first; a folder's rows are deleted after its sub-folders were found */
    while (t.n) {
        char *pkey = t.stack[--t.n];
        int rc = pkey ? purge_partition(d, pkey, 0, purge_tree_row, &t) : MG_ENOMEM;
        first_err = first_err ? first_err : rc;
        free(pkey);
    }
    free(t.stack);
    return first_err;
}

int api_purge_user(struct dht *d, const char *user)
{
    if (!acct_valid_name(user))
        return MG_EINVAL;
    int first_err = 0;
    int rc;
    struct buf pkey;
    buf_init(&pkey);

    for (size_t i = 0; api_system_mailboxes[i]; i++) {
        rc = purge_mailbox(d, user, api_system_mailboxes[i]);
        first_err = first_err ? first_err : rc;
    }
    rc = api_mailbox_index_pkey(&pkey, user);
    if (!rc)
        rc = purge_partition(d, pkey.data, 0, purge_user_mailbox, d);
    first_err = first_err ? first_err : rc;

    for (size_t i = 0; i < sizeof(purge_kinds) / sizeof(purge_kinds[0]); i++) {
        buf_reset(&pkey);
        rc = buf_printf(&pkey, "coll/%s/%s", user, purge_kinds[i]);
        if (!rc)
            rc = purge_tree(d, pkey.data);
        first_err = first_err ? first_err : rc;
    }
    static const char *const flat[] = {"home", "lock"};
    for (size_t i = 0; i < sizeof(flat) / sizeof(flat[0]); i++) {
        buf_reset(&pkey);
        rc = buf_printf(&pkey, "%s/%s", flat[i], user);
        if (!rc)
            rc = purge_partition(d, pkey.data, 0, NULL, NULL);
        first_err = first_err ? first_err : rc;
    }
    buf_release(&pkey);
    return first_err;
}
