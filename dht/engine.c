/*
 * engine.c - the local store engine: every row of every partition in one
 * SQLite file (<data_dir>/store.db), WAL mode.
 *
 * Concurrency: HTTP worker threads call in parallel. Reads take a connection
 * from a small pool (WAL lets readers run beside the writer without blocking),
 * writes go through one writer connection under a mutex and run in a
 * BEGIN IMMEDIATE transaction, so a conditional write's check and its write
 * are atomic, also against another process (the CLI) that opens the same
 * file: SQLite's file locks plus busy_timeout serialise the two.
 * All statements are prepared once per connection.
 */
#include "engine.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>
#include <sqlite3.h>

#include "chunk_cache.h"
#include "cluster.h"
#include "hlc.h"
#include "identity.h"

#define DHT_DEFAULT_READERS 8
#define DHT_MAX_READERS 256
#define DHT_BUSY_TIMEOUT_MS 10000
#define DHT_SCHEMA_VERSION 2 /* 2: rows carry the base of a conditional write */
#define DHT_DB_FILE "store.db"
/* Rows written per transaction by the batch functions: one commit for many
 * rows, yet the write lock is let go now and then for client writes. */
#define DHT_APPLY_TXN_ROWS 256
/* Tombstones one purge pass of a cluster of one reads at a time. */
#define DHT_PURGE_BATCH 4096
/* A cluster of one purges every grace/4, within these bounds. */
#define DHT_PURGE_EVERY_MIN_MS 100u
#define DHT_PURGE_EVERY_MAX_MS 3600000u

/* Columns every row-returning statement starts its row with, in this order. */
#define ROW_COLS "hlc, node, tomb, hash, value"

enum reader_stmt {
    RS_GET,
    RS_SCAN_ALL,
    RS_SCAN_AFTER,
    RS_CHANGES,
    RS_PARTITION_HLC,
    RS_SCAN_ANY,
    RS_META_PART,
    RS_META_ALL,
    RS_FLOOR,
    RS_OLD_TOMBS,
    RS_COUNT
};

static const char *const reader_sql[RS_COUNT] = {
    [RS_GET] = "SELECT " ROW_COLS " FROM rows WHERE pkey = ?1 AND rkey = ?2",
    [RS_SCAN_ALL] = "SELECT " ROW_COLS ", rkey FROM rows"
                    " WHERE pkey = ?1 AND rkey >= ?2 AND tomb = 0 ORDER BY rkey LIMIT ?3",
    [RS_SCAN_AFTER] = "SELECT " ROW_COLS ", rkey FROM rows"
                      " WHERE pkey = ?1 AND rkey > ?2 AND tomb = 0 ORDER BY rkey LIMIT ?3",
    [RS_CHANGES] = "SELECT " ROW_COLS ", rkey FROM rows"
                   " WHERE pkey = ?1 AND hlc > ?2 ORDER BY hlc, node",
    /* Never below the purge floor: a ctag must not go back to a value a
     * client saw before a deletion whose tombstone has since been purged. */
    [RS_PARTITION_HLC] = "SELECT max(coalesce((SELECT max(hlc) FROM rows WHERE pkey = ?1), 0),"
                         " coalesce((SELECT hlc FROM purged WHERE pkey = ?1), 0))",
    /* Replicas answer a coordinator's scan with tombstones too, so that a
     * newer tombstone on one replica hides an older live row on another. */
    [RS_SCAN_ANY] = "SELECT " ROW_COLS ", rkey FROM rows"
                    " WHERE pkey = ?1 AND rkey >= ?2 ORDER BY rkey",
    /* Versions without values: anti-entropy compares these, and a 1 MiB
     * chunk's value stays on its overflow pages. */
    [RS_META_PART] = "SELECT pkey, rkey, hlc, node, tomb, hash FROM rows WHERE pkey = ?1"
                     " ORDER BY rkey",
    [RS_META_ALL] = "SELECT pkey, rkey, hlc, node, tomb, hash FROM rows ORDER BY pkey, rkey",
    [RS_FLOOR] = "SELECT hlc FROM purged WHERE pkey = ?1",
    /* Node-local bookkeeping ('~') is never replicated: nothing to wait for. */
    [RS_OLD_TOMBS] = "SELECT pkey, rkey, hlc, node, tomb, hash FROM rows"
                     " WHERE tomb = 1 AND hlc < ?1 AND substr(pkey, 1, 1) <> '~'"
                     " ORDER BY pkey, rkey LIMIT ?2",
};

enum writer_stmt {
    WS_BEGIN,
    WS_COMMIT,
    WS_ROLLBACK,
    WS_GET,
    WS_PARTITION_HLC,
    WS_UPSERT,
    WS_PURGE,
    WS_PURGE_TOMB,
    WS_GET_VALUE,
    WS_FLOOR,
    WS_FLOOR_RAISE,
    WS_FLOOR_FORGET,
    WS_COUNT
};

static const char *const writer_sql[WS_COUNT] = {
    [WS_BEGIN] = "BEGIN IMMEDIATE",
    [WS_COMMIT] = "COMMIT",
    [WS_ROLLBACK] = "ROLLBACK",
    [WS_GET] = "SELECT hlc, node, tomb, hash, base_hlc, base_node FROM rows"
               " WHERE pkey = ?1 AND rkey = ?2",
    [WS_PARTITION_HLC] = "SELECT max(hlc) FROM rows WHERE pkey = ?1",
    [WS_UPSERT] = ("INSERT OR REPLACE INTO rows"
                   " (pkey, rkey, hlc, node, tomb, hash, value, base_hlc, base_node)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
    [WS_PURGE] = "DELETE FROM rows WHERE pkey = ?1 AND rkey = ?2 AND hlc = ?3 AND node = ?4",
    [WS_PURGE_TOMB] = "DELETE FROM rows WHERE pkey = ?1 AND rkey = ?2 AND hlc = ?3 AND node = ?4"
                      " AND tomb = 1",
    [WS_GET_VALUE] = "SELECT value FROM rows WHERE pkey = ?1 AND rkey = ?2",
    [WS_FLOOR] = "SELECT hlc FROM purged WHERE pkey = ?1",
    [WS_FLOOR_RAISE] = "INSERT INTO purged (pkey, hlc) VALUES (?1, ?2)"
                       " ON CONFLICT (pkey) DO UPDATE SET hlc = max(hlc, excluded.hlc)",
    [WS_FLOOR_FORGET] = "DELETE FROM purged WHERE pkey = ?1",
};

/* The index serves dht_changes_since (range on hlc, ordered by (hlc, node))
 * and dht_partition_hlc (max hlc). base_hlc/base_node: the version a
 * conditional write was based on (NULL: none), node-local, never compared. */
static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS rows ("
    " pkey TEXT NOT NULL, rkey TEXT NOT NULL, hlc INTEGER NOT NULL, node INTEGER NOT NULL,"
    " tomb INTEGER NOT NULL, hash BLOB NOT NULL, value BLOB NOT NULL,"
    " base_hlc INTEGER, base_node INTEGER,"
    " PRIMARY KEY (pkey, rkey)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS rows_pkey_hlc ON rows (pkey, hlc, node);";

/* Schema 1 had no base columns. */
static const char schema_v2_sql[] = "ALTER TABLE rows ADD COLUMN base_hlc INTEGER;"
                                    "ALTER TABLE rows ADD COLUMN base_node INTEGER;";

/* Tombstones by age, for the purge; each partition's purge floor. */
static const char schema_purge_sql[] =
    "CREATE INDEX IF NOT EXISTS rows_tomb ON rows (hlc) WHERE tomb = 1;"
    "CREATE TABLE IF NOT EXISTS purged (pkey TEXT PRIMARY KEY, hlc INTEGER NOT NULL)"
    " WITHOUT ROWID;";

struct reader {
    sqlite3 *db;
    sqlite3_stmt *st[RS_COUNT];
    int overflow; /* opened for a nested call while the pool was empty; closed on release */
};

struct dht {
    char *data_dir;
    char *db_path;
    struct dht_identity id;
    struct hlc clock;

    pthread_mutex_t write_lock; /* guards wdb and ws */
    /* Bumped each time the writer lets go of the store (writer_unlock), so
     * after every commit: a scan that read it before it began saw every
     * change made up to that value (see dht_engine_changes). */
    atomic_uint_fast64_t changes;
    sqlite3 *wdb;
    sqlite3_stmt *ws[WS_COUNT];

    pthread_mutex_t pool_lock; /* guards idle/nidle */
    pthread_cond_t pool_cond;
    struct reader *readers;
    int nreaders;
    struct reader **idle;
    int nidle;

    struct dht_chunk_cache *chunks;
    struct cluster *cluster; /* NULL: a cluster of one (no network) */

    uint64_t grace_ms;                  /* tombstone grace period */
    int purges;                         /* a cluster of one purges: opened by `serve` */
    atomic_uint_fast64_t next_purge_ms; /* cluster of one: monotonic ms of the next pass */
    atomic_uint_fast64_t purged;
    atomic_uint_fast64_t stale_dropped;
    atomic_uint_fast64_t conflicts;
};

/* Readers the calling thread holds (over all stores). A scan callback that
 * reads again must not wait for a pooled connection: with every connection
 * held by threads doing the same, they would all wait forever. */
static _Thread_local int tls_readers_held;

static const uint8_t zero_hash[DHT_HASH_LEN];

static void purge_if_due(struct dht *d);

/* ---- small helpers ------------------------------------------------------ */

/* SQLite INTEGER is signed; node ids are not. Flipping the top bit maps
 * uint64 order onto int64 order, so ORDER BY node matches dht_version_cmp. */
static sqlite3_int64 node_to_db(uint64_t node)
{
    return (sqlite3_int64)(node ^ UINT64_C(0x8000000000000000));
}

static uint64_t node_from_db(sqlite3_int64 v)
{
    return (uint64_t)v ^ UINT64_C(0x8000000000000000);
}

static int check_key(const char *key)
{
    if (!key)
        return MG_EINVAL;
    if (strnlen(key, DHT_KEY_MAX + 1) > DHT_KEY_MAX)
        return MG_ETOOBIG;
    return 0;
}

static int check_keys(const char *pkey, const char *rkey)
{
    int rc = check_key(pkey);
    if (rc)
        return rc;
    return check_key(rkey);
}

static int db_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        log_err("sqlite exec failed sql=\"%.60s\" err=%s", sql, err ? err : "?");
        sqlite3_free(err);
        return MG_EIO;
    }
    return 0;
}

static int db_open(const char *path, sqlite3 **out)
{
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        log_err("cannot open store path=%s err=%s", path, db ? sqlite3_errmsg(db) : "no memory");
        sqlite3_close(db);
        return MG_EIO;
    }
    sqlite3_extended_result_codes(db, 1);
    /* A second process (the CLI) may hold the write lock for a moment. */
    sqlite3_busy_timeout(db, DHT_BUSY_TIMEOUT_MS);
    *out = db;
    return 0;
}

static int db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL) != SQLITE_OK) {
        log_err("sqlite prepare failed sql=\"%.60s\" err=%s", sql, sqlite3_errmsg(db));
        return MG_EIO;
    }
    return 0;
}

/* Fills row from the current result row of st (columns ROW_COLS from 0).
 * copy: malloc a NUL-terminated copy of the value (caller releases);
 * otherwise point into SQLite's memory, valid until the next step/reset. */
static int row_from_stmt(sqlite3_stmt *st, struct dht_row *row, int copy)
{
    row->version.hlc = (uint64_t)sqlite3_column_int64(st, 0);
    row->version.node = node_from_db(sqlite3_column_int64(st, 1));
    row->tombstone = sqlite3_column_int(st, 2) != 0;
    const void *h = sqlite3_column_blob(st, 3);
    if (h && sqlite3_column_bytes(st, 3) == DHT_HASH_LEN)
        memcpy(row->hash, h, DHT_HASH_LEN);
    else
        memset(row->hash, 0, DHT_HASH_LEN);
    /* Per the SQLite docs: fetch the pointer first, then the size. */
    const void *v = sqlite3_column_blob(st, 4);
    size_t len = (size_t)sqlite3_column_bytes(st, 4);
    if (!v)
        len = 0;
    row->value_len = len;
    if (!copy) {
        row->value = (void *)(v ? v : "");
        return 0;
    }
    row->value = malloc(len + 1);
    if (!row->value)
        return MG_ENOMEM;
    if (len)
        memcpy(row->value, v, len);
    ((char *)row->value)[len] = '\0';
    return 0;
}

static int mkdir_p(const char *dir)
{
    int rc = 0;
    struct buf p;
    buf_init(&p);
    if (buf_puts(&p, dir))
        return MG_ENOMEM;
    for (size_t i = 1; i <= p.len; i++) {
        if (i < p.len && p.data[i] != '/')
            continue;
        char saved = p.data[i];
        p.data[i] = '\0';
        if (mkdir(p.data, 0700) && errno != EEXIST) {
            log_err("cannot create directory path=%s err=%s", p.data, strerror(errno));
            rc = MG_EIO;
            goto out;
        }
        p.data[i] = saved;
    }
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
        log_err("data directory is not a directory path=%s", dir);
        rc = MG_EIO;
    }
out:
    buf_release(&p);
    return rc;
}

/* ---- reader pool ---------------------------------------------------------- */

static void reader_close(struct reader *r)
{
    for (int i = 0; i < RS_COUNT; i++) {
        sqlite3_finalize(r->st[i]);
        r->st[i] = NULL;
    }
    sqlite3_close(r->db);
    r->db = NULL;
}

static int reader_open(const struct dht *d, struct reader *r)
{
    int rc = db_open(d->db_path, &r->db);
    if (rc)
        return rc;
    rc = db_exec(r->db, "PRAGMA query_only = 1");
    for (int i = 0; !rc && i < RS_COUNT; i++)
        rc = db_prepare(r->db, reader_sql[i], &r->st[i]);
    if (rc)
        reader_close(r);
    return rc;
}

static int reader_acquire(struct dht *d, struct reader **out)
{
    pthread_mutex_lock(&d->pool_lock);
    while (d->nidle == 0) {
        if (tls_readers_held > 0) {
            pthread_mutex_unlock(&d->pool_lock);
            struct reader *r = calloc(1, sizeof(*r));
            if (!r)
                return MG_ENOMEM;
            int rc = reader_open(d, r);
            if (rc) {
                free(r);
                return rc;
            }
            r->overflow = 1;
            tls_readers_held++;
            *out = r;
            return 0;
        }
        pthread_cond_wait(&d->pool_cond, &d->pool_lock);
    }
    *out = d->idle[--d->nidle];
    pthread_mutex_unlock(&d->pool_lock);
    tls_readers_held++;
    return 0;
}

static void reader_release(struct dht *d, struct reader *r)
{
    tls_readers_held--;
    if (r->overflow) {
        reader_close(r);
        free(r);
        return;
    }
    pthread_mutex_lock(&d->pool_lock);
    d->idle[d->nidle++] = r;
    pthread_cond_signal(&d->pool_cond);
    pthread_mutex_unlock(&d->pool_lock);
}

/* ---- open / close ------------------------------------------------------- */

/* Returns the highest hlc stored (0 for an empty store) in *out. */
static int max_stored_hlc(sqlite3 *db, uint64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(db, "SELECT max(hlc) FROM rows", &st);
    if (rc)
        return rc;
    *out = 0;
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW)
        *out = (uint64_t)sqlite3_column_int64(st, 0);
    else if (s != SQLITE_DONE)
        rc = MG_EIO;
    sqlite3_finalize(st);
    return rc;
}

static int writer_open(struct dht *d)
{
    int rc = db_open(d->db_path, &d->wdb);
    if (rc)
        return rc;
    sqlite3_stmt *st = NULL;
    /* Only takes effect on a new file. Blob chunks are 1 MiB values: with
     * 16 KiB pages a chunk is 64 overflow pages instead of 256, which made
     * blob writes ~1.7x and reads ~1.4x faster in a local benchmark, while
     * small-row reads stay well above what the HTTP layer needs. */
    rc = db_exec(d->wdb, "PRAGMA page_size = 16384");
    if (rc)
        return rc;
    rc = db_prepare(d->wdb, "PRAGMA journal_mode = WAL", &st);
    if (rc)
        return rc;
    const char *mode = NULL;
    if (sqlite3_step(st) == SQLITE_ROW)
        mode = (const char *)sqlite3_column_text(st, 0);
    if (!mode || strcmp(mode, "wal") != 0) {
        log_err("cannot switch store to WAL mode path=%s err=%s", d->db_path,
                sqlite3_errmsg(d->wdb));
        rc = MG_EIO;
    }
    sqlite3_finalize(st);
    if (rc)
        return rc;
    /* WAL + NORMAL: a commit survives a process crash; after power loss the
     * last commits may roll back, which replication repairs. */
    rc = db_exec(d->wdb, "PRAGMA synchronous = NORMAL");
    if (!rc)
        rc = db_exec(d->wdb, "BEGIN IMMEDIATE");
    if (rc)
        return rc;
    rc = db_exec(d->wdb, schema_sql);
    if (!rc) {
        rc = db_prepare(d->wdb, "PRAGMA user_version", &st);
        int version = 0;
        if (!rc && sqlite3_step(st) == SQLITE_ROW)
            version = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        if (!rc && version > DHT_SCHEMA_VERSION) {
            log_err("store was written by a newer meshgate path=%s schema=%d", d->db_path, version);
            rc = MG_EINVAL;
        } else if (!rc && version < DHT_SCHEMA_VERSION) {
            if (version == 1)
                rc = db_exec(d->wdb, schema_v2_sql);
            if (!rc)
                rc = db_exec(d->wdb, "PRAGMA user_version = 2");
        }
        if (!rc)
            rc = db_exec(d->wdb, schema_purge_sql);
    }
    if (rc) {
        db_exec(d->wdb, "ROLLBACK");
        return rc;
    }
    rc = db_exec(d->wdb, "COMMIT");
    for (int i = 0; !rc && i < WS_COUNT; i++)
        rc = db_prepare(d->wdb, writer_sql[i], &d->ws[i]);
    return rc;
}

int dht_open(const struct dht_options *opts, struct dht **out)
{
    int rc;
    *out = NULL;
    if (!opts || !opts->data_dir || !*opts->data_dir || opts->readers < 0 ||
        opts->readers > DHT_MAX_READERS)
        return MG_EINVAL;
    if (sodium_init() < 0)
        return MG_EIO;
    struct dht *d = calloc(1, sizeof(*d));
    if (!d)
        return MG_ENOMEM;
    pthread_mutex_init(&d->write_lock, NULL);
    pthread_mutex_init(&d->pool_lock, NULL);
    pthread_cond_init(&d->pool_cond, NULL);

    struct buf path;
    buf_init(&path);
    d->grace_ms =
        opts->tombstone_grace_ms ? opts->tombstone_grace_ms : DHT_TOMBSTONE_GRACE_DEFAULT_MS;
    /* Only the serving process knows the configured grace period; a CLI
     * command opening the same store leaves tombstones alone. */
    d->purges = opts->listen_addr != NULL;
    d->data_dir = strdup(opts->data_dir);
    if (!d->data_dir || buf_printf(&path, "%s/%s", opts->data_dir, DHT_DB_FILE)) {
        rc = MG_ENOMEM;
        goto out;
    }
    d->db_path = buf_detach(&path, NULL);
    if (!d->db_path) {
        rc = MG_ENOMEM;
        goto out;
    }
    rc = mkdir_p(d->data_dir);
    if (rc)
        goto out;
    rc = dht_identity_load(d->data_dir, &d->id);
    if (rc)
        goto out;
    rc = writer_open(d);
    if (rc)
        goto out;

    uint64_t floor;
    rc = max_stored_hlc(d->wdb, &floor);
    if (rc)
        goto out;
    hlc_init(&d->clock, floor);

    d->chunks = dht_chunk_cache_new();
    int n = opts->readers ? opts->readers : DHT_DEFAULT_READERS;
    d->readers = calloc((size_t)n, sizeof(*d->readers));
    d->idle = calloc((size_t)n, sizeof(*d->idle));
    if (!d->chunks || !d->readers || !d->idle) {
        rc = MG_ENOMEM;
        goto out;
    }
    for (int i = 0; i < n; i++) {
        rc = reader_open(d, &d->readers[i]);
        if (rc)
            goto out;
        d->nreaders++;
        d->idle[d->nidle++] = &d->readers[i];
    }
    log_info("store open path=%s node=%016llx readers=%d hlc=%llu", d->db_path,
             (unsigned long long)d->id.node_id, n, (unsigned long long)floor);
    /* Without cluster state in the data directory this leaves d->cluster
     * NULL and the store is exactly the local engine. */
    rc = cluster_open(d, opts, &d->cluster);
    if (rc)
        goto out;
    purge_if_due(d);
    *out = d;
out:
    buf_release(&path);
    if (rc)
        dht_close(d);
    return rc;
}

void dht_close(struct dht *d)
{
    if (!d)
        return;
    /* Background threads use the engine: stop them first. */
    cluster_close(d->cluster);
    d->cluster = NULL;
    for (int i = 0; i < d->nreaders; i++)
        reader_close(&d->readers[i]);
    for (int i = 0; i < WS_COUNT; i++)
        sqlite3_finalize(d->ws[i]);
    /* Closing the last connection checkpoints the WAL into the main file. */
    if (d->wdb && sqlite3_close(d->wdb) != SQLITE_OK)
        log_err("cannot close store path=%s err=%s", d->db_path, sqlite3_errmsg(d->wdb));
    dht_identity_release(&d->id);
    dht_chunk_cache_free(d->chunks);
    pthread_cond_destroy(&d->pool_cond);
    pthread_mutex_destroy(&d->pool_lock);
    pthread_mutex_destroy(&d->write_lock);
    free(d->readers);
    free(d->idle);
    free(d->db_path);
    free(d->data_dir);
    free(d);
}

uint64_t dht_node_id(const struct dht *d)
{
    return d->id.node_id;
}

const struct dht_identity *dht_identity(const struct dht *d)
{
    return &d->id;
}

uint64_t dht_clock_now(struct dht *d)
{
    return hlc_now(&d->clock);
}

struct hlc *dht_engine_clock(struct dht *d)
{
    return &d->clock;
}

struct cluster *dht_engine_cluster(const struct dht *d)
{
    return d->cluster;
}

const char *dht_engine_data_dir(const struct dht *d)
{
    return d->data_dir;
}

struct dht_chunk_cache *dht_engine_chunk_cache(struct dht *d)
{
    return d->chunks;
}

int dht_version_cmp(const struct dht_version *a, const struct dht_version *b)
{
    if (a->hlc != b->hlc)
        return a->hlc < b->hlc ? -1 : 1;
    if (a->node != b->node)
        return a->node < b->node ? -1 : 1;
    return 0;
}

void dht_row_release(struct dht_row *row)
{
    if (!row)
        return;
    free(row->value);
    row->value = NULL;
    row->value_len = 0;
}

/* ---- reads ------------------------------------------------------------------ */

static int get_row(struct dht *d, const char *pkey, const char *rkey, struct dht_row *out,
                   int want_tombstones)
{
    memset(out, 0, sizeof(*out));
    int rc = check_keys(pkey, rkey);
    if (rc)
        return rc;
    struct reader *r;
    rc = reader_acquire(d, &r);
    if (rc)
        return rc;
    sqlite3_stmt *st = r->st[RS_GET];
    sqlite3_bind_text(st, 1, pkey, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, rkey, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        if (!want_tombstones && sqlite3_column_int(st, 2))
            rc = MG_ENOTFOUND;
        else
            rc = row_from_stmt(st, out, 1);
    } else if (s == SQLITE_DONE) {
        rc = MG_ENOTFOUND;
    } else {
        log_err("store read failed pkey=%s err=%s", pkey, sqlite3_errmsg(r->db));
        rc = MG_EIO;
    }
    sqlite3_reset(st);
    reader_release(d, r);
    return rc;
}

int dht_local_get(struct dht *d, const char *pkey, const char *rkey, struct dht_row *out)
{
    return get_row(d, pkey, rkey, out, 0);
}

int dht_engine_get_any(struct dht *d, const char *pkey, const char *rkey, struct dht_row *out)
{
    return get_row(d, pkey, rkey, out, 1);
}

/* Runs a prepared row-returning statement (ROW_COLS, then rkey) and calls fn
 * for each row. Returns 0, fn's non-zero value, or MG_EIO. */
static int visit_rows(struct reader *r, sqlite3_stmt *st, const char *pkey, dht_row_fn fn,
                      void *ctx)
{
    int rc = 0;
    for (;;) {
        int s = sqlite3_step(st);
        if (s == SQLITE_DONE)
            break;
        if (s != SQLITE_ROW) {
            log_err("store scan failed pkey=%s err=%s", pkey, sqlite3_errmsg(r->db));
            rc = MG_EIO;
            break;
        }
        struct dht_row row;
        row_from_stmt(st, &row, 0);
        const char *rkey = (const char *)sqlite3_column_text(st, 5);
        rc = fn(ctx, rkey ? rkey : "", &row);
        if (rc)
            break;
    }
    sqlite3_reset(st);
    return rc;
}

int dht_local_scan(struct dht *d, const char *pkey, const char *after, size_t limit, dht_row_fn fn,
                   void *ctx)
{
    int rc = check_key(pkey);
    if (!rc && after)
        rc = check_key(after);
    if (rc)
        return rc;
    if (!fn)
        return MG_EINVAL;
    struct reader *r;
    rc = reader_acquire(d, &r);
    if (rc)
        return rc;
    sqlite3_stmt *st = r->st[after ? RS_SCAN_AFTER : RS_SCAN_ALL];
    sqlite3_bind_text(st, 1, pkey, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, after ? after : "", -1, SQLITE_STATIC);
    /* LIMIT -1 is SQLite's "no limit". */
    sqlite3_int64 lim = limit == 0 || limit > INT64_MAX ? -1 : (sqlite3_int64)limit;
    sqlite3_bind_int64(st, 3, lim);
    rc = visit_rows(r, st, pkey, fn, ctx);
    reader_release(d, r);
    return rc;
}

int dht_local_changes_since(struct dht *d, const char *pkey, uint64_t since_hlc, dht_row_fn fn,
                            void *ctx)
{
    int rc = check_key(pkey);
    if (rc)
        return rc;
    if (!fn)
        return MG_EINVAL;
    if (since_hlc > INT64_MAX)
        return 0;
    struct reader *r;
    rc = reader_acquire(d, &r);
    if (rc)
        return rc;
    sqlite3_stmt *st = r->st[RS_CHANGES];
    sqlite3_bind_text(st, 1, pkey, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)since_hlc);
    rc = visit_rows(r, st, pkey, fn, ctx);
    reader_release(d, r);
    return rc;
}

/* The integer a reader statement keyed by pkey selects; 0 when it selects
 * no row or NULL (max() of an empty partition). */
static int read_pkey_u64(struct dht *d, int which, const char *pkey, uint64_t *out)
{
    *out = 0;
    int rc = check_key(pkey);
    if (rc)
        return rc;
    struct reader *r;
    rc = reader_acquire(d, &r);
    if (rc)
        return rc;
    sqlite3_stmt *st = r->st[which];
    sqlite3_bind_text(st, 1, pkey, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        *out = (uint64_t)sqlite3_column_int64(st, 0);
    } else if (s != SQLITE_DONE) {
        log_err("store read failed pkey=%s err=%s", pkey, sqlite3_errmsg(r->db));
        rc = MG_EIO;
    }
    sqlite3_reset(st);
    reader_release(d, r);
    return rc;
}

int dht_local_partition_hlc(struct dht *d, const char *pkey, uint64_t *out)
{
    return read_pkey_u64(d, RS_PARTITION_HLC, pkey, out);
}

/* ---- writes ----------------------------------------------------------------- */

/* The stored state of one row, read inside the write transaction. */
struct current {
    int exists; /* a row, live or tombstone */
    int live;   /* exists and not a tombstone */
    struct dht_version version;
    uint8_t hash[DHT_HASH_LEN];
    int has_base; /* the stored write was conditional: base is what it read */
    struct dht_version base;
    uint64_t partition_hlc; /* highest hlc in the row's partition */
};

static int writer_step(struct dht *d, enum writer_stmt which)
{
    sqlite3_stmt *st = d->ws[which];
    int s = sqlite3_step(st);
    sqlite3_reset(st);
    if (s != SQLITE_DONE) {
        log_err("store write failed step=%d err=%s", (int)which, sqlite3_errmsg(d->wdb));
        return MG_EIO;
    }
    return 0;
}

/* Ends the transaction: commits when rc is 0, else rolls back. Returns rc,
 * or MG_EIO when the commit failed. */
/* Lets go of the writer; every write section ends here, after its commit. */
static void writer_unlock(struct dht *d)
{
    atomic_fetch_add(&d->changes, 1);
    pthread_mutex_unlock(&d->write_lock);
}

uint64_t dht_engine_changes(struct dht *d)
{
    return atomic_load(&d->changes);
}

static int writer_finish(struct dht *d, int rc)
{
    if (rc == 0) {
        rc = writer_step(d, WS_COMMIT);
        if (rc == 0)
            return 0;
    }
    if (!sqlite3_get_autocommit(d->wdb))
        writer_step(d, WS_ROLLBACK);
    return rc;
}

static int read_current(struct dht *d, const char *pkey, const char *rkey, struct current *cur)
{
    int rc = 0;
    sqlite3_stmt *st = d->ws[WS_GET];
    memset(cur, 0, sizeof(*cur));
    sqlite3_bind_text(st, 1, pkey, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, rkey, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        cur->exists = 1;
        cur->version.hlc = (uint64_t)sqlite3_column_int64(st, 0);
        cur->version.node = node_from_db(sqlite3_column_int64(st, 1));
        cur->live = sqlite3_column_int(st, 2) == 0;
        const void *h = sqlite3_column_blob(st, 3);
        if (h && sqlite3_column_bytes(st, 3) == DHT_HASH_LEN)
            memcpy(cur->hash, h, DHT_HASH_LEN);
        cur->has_base = sqlite3_column_type(st, 4) != SQLITE_NULL;
        cur->base.hlc = (uint64_t)sqlite3_column_int64(st, 4);
        cur->base.node = node_from_db(sqlite3_column_int64(st, 5));
    } else if (s != SQLITE_DONE) {
        log_err("store read failed pkey=%s err=%s", pkey, sqlite3_errmsg(d->wdb));
        rc = MG_EIO;
    }
    sqlite3_reset(st);
    if (rc)
        return rc;
    st = d->ws[WS_PARTITION_HLC];
    sqlite3_bind_text(st, 1, pkey, -1, SQLITE_STATIC);
    s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        cur->partition_hlc = (uint64_t)sqlite3_column_int64(st, 0);
    } else {
        log_err("store read failed pkey=%s err=%s", pkey, sqlite3_errmsg(d->wdb));
        rc = MG_EIO;
    }
    sqlite3_reset(st);
    return rc;
}

/* A fresh version for a local write: above the partition's highest hlc, so
 * that within one store a partition's hlc grows with every local write (a
 * sync token taken from dht_partition_hlc then misses no later local write,
 * even one made by another process whose clock is a tick behind), and so
 * above the version the write replaces. */
static struct dht_version local_version(struct dht *d, const struct current *cur)
{
    struct dht_version v = {hlc_now_above(&d->clock, cur->partition_hlc), d->id.node_id};
    return v;
}

/* RFC 7232 3.1/3.2 semantics: If-Match needs a current representation (with
 * this strong ETag), If-None-Match: * needs none. Tombstones count as absent. */
static int check_cond(const struct dht_cond *cond, const struct current *cur)
{
    if (!cond)
        return 0;
    switch (cond->kind) {
    case DHT_COND_NONE:
        return 0;
    case DHT_COND_ABSENT:
        return cur->live ? MG_EPRECOND : 0;
    case DHT_COND_PRESENT:
        return cur->live ? 0 : MG_EPRECOND;
    case DHT_COND_MATCH:
        if (!cur->live || sodium_memcmp(cur->hash, cond->hash, DHT_HASH_LEN) != 0)
            return MG_EPRECOND;
        return 0;
    }
    return MG_EINVAL;
}

/* Stores a row; base (may be NULL) is the version a conditional write read. */
static int write_row(struct dht *d, const char *pkey, const char *rkey, const struct dht_version *v,
                     int tomb, const uint8_t hash[DHT_HASH_LEN], const void *value, size_t len,
                     const struct dht_version *base)
{
    sqlite3_stmt *st = d->ws[WS_UPSERT];
    sqlite3_bind_text(st, 1, pkey, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, rkey, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)v->hlc);
    sqlite3_bind_int64(st, 4, node_to_db(v->node));
    sqlite3_bind_int(st, 5, tomb);
    sqlite3_bind_blob(st, 6, hash, DHT_HASH_LEN, SQLITE_STATIC);
    /* A NULL pointer would bind SQL NULL; the column holds an empty blob instead. */
    sqlite3_bind_blob(st, 7, len ? value : "", (int)len, SQLITE_STATIC);
    if (base) {
        sqlite3_bind_int64(st, 8, (sqlite3_int64)base->hlc);
        sqlite3_bind_int64(st, 9, node_to_db(base->node));
    }
    int rc = writer_step(d, WS_UPSERT);
    sqlite3_clear_bindings(st);
    return rc;
}

int dht_local_put_hashed(struct dht *d, const char *pkey, const char *rkey, const void *value,
                         size_t len, const uint8_t hash[DHT_HASH_LEN], const struct dht_cond *cond,
                         struct dht_version *out_version)
{
    int rc = check_keys(pkey, rkey);
    if (rc)
        return rc;
    if (len > DHT_VALUE_MAX)
        return MG_ETOOBIG;
    if (!value && len)
        return MG_EINVAL;

    pthread_mutex_lock(&d->write_lock);
    struct current cur;
    struct dht_version v;
    rc = writer_step(d, WS_BEGIN);
    if (rc)
        goto out;
    rc = read_current(d, pkey, rkey, &cur);
    if (!rc)
        rc = check_cond(cond, &cur);
    if (!rc) {
        v = local_version(d, &cur);
        rc = write_row(d, pkey, rkey, &v, 0, hash, value, len, NULL);
    }
    rc = writer_finish(d, rc);
out:
    writer_unlock(d);
    if (!rc && out_version)
        *out_version = v;
    purge_if_due(d);
    return rc;
}

int dht_local_put(struct dht *d, const char *pkey, const char *rkey, const void *value, size_t len,
                  const struct dht_cond *cond, struct dht_version *out_version,
                  uint8_t out_hash[DHT_HASH_LEN])
{
    uint8_t hash[DHT_HASH_LEN];
    if (len > DHT_VALUE_MAX)
        return MG_ETOOBIG;
    if (!value && len)
        return MG_EINVAL;
    /* Hash outside the write lock: writers only serialise on the SQL work. */
    crypto_generichash(hash, sizeof(hash), value, len, NULL, 0);
    int rc = dht_local_put_hashed(d, pkey, rkey, value, len, hash, cond, out_version);
    if (!rc && out_hash)
        memcpy(out_hash, hash, DHT_HASH_LEN);
    return rc;
}

int dht_local_delete(struct dht *d, const char *pkey, const char *rkey, const struct dht_cond *cond)
{
    int rc = check_keys(pkey, rkey);
    if (rc)
        return rc;
    pthread_mutex_lock(&d->write_lock);
    struct current cur;
    rc = writer_step(d, WS_BEGIN);
    if (rc)
        goto out;
    rc = read_current(d, pkey, rkey, &cur);
    if (!rc)
        rc = check_cond(cond, &cur);
    if (!rc && !cur.live)
        rc = MG_ENOTFOUND;
    if (!rc) {
        struct dht_version v = local_version(d, &cur);
        rc = write_row(d, pkey, rkey, &v, 1, zero_hash, NULL, 0, NULL);
    }
    rc = writer_finish(d, rc);
out:
    writer_unlock(d);
    purge_if_due(d);
    return rc;
}

/* Checks a row received from a replica (see dht_engine_apply). */
static int check_applied_row(const char *pkey, const char *rkey, const struct dht_row *row)
{
    uint8_t hash[DHT_HASH_LEN];
    int rc = check_keys(pkey, rkey);
    if (rc)
        return rc;
    if (row->value_len > DHT_VALUE_MAX)
        return MG_ETOOBIG;
    /* SQLite integers are signed; a larger hlc would sort before every other. */
    if (row->version.hlc > INT64_MAX || (!row->value && row->value_len))
        return MG_EINVAL;
    if (row->tombstone)
        return row->value_len ? MG_EINVAL : 0;
    crypto_generichash(hash, sizeof(hash), row->value, row->value_len, NULL, 0);
    return sodium_memcmp(hash, row->hash, DHT_HASH_LEN) != 0 ? MG_EINVAL : 0;
}

/* The purge floor of pkey, read inside the write transaction. */
static int read_floor(struct dht *d, const char *pkey, uint64_t *out)
{
    sqlite3_stmt *st = d->ws[WS_FLOOR];
    *out = 0;
    sqlite3_bind_text(st, 1, pkey, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW)
        *out = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (s != SQLITE_ROW && s != SQLITE_DONE) {
        log_err("store read failed pkey=%s err=%s", pkey, sqlite3_errmsg(d->wdb));
        return MG_EIO;
    }
    return 0;
}

static int apply_row(struct dht *d, const char *pkey, const char *rkey, const struct dht_row *row,
                     const struct dht_version *base, int judge, int *wrote);

/* Stores loser (live) as the conflict copy of (pkey, rkey). Inside a write
 * transaction. Every replica that keeps it makes the same row. */
static int keep_conflict(struct dht *d, const char *pkey, const char *rkey,
                         const struct dht_row *loser)
{
    struct buf cp, cr;
    int wrote = 0;
    buf_init(&cp);
    buf_init(&cr);
    int rc = dht_conflict_keys(pkey, rkey, &loser->version, &cp, &cr);
    if (rc == MG_ETOOBIG) {
        /* No room for the prefix: the write itself must still land. */
        log_warn("conflict copy not kept (partition key too long) pkey=%.64s", pkey);
        rc = 0;
    } else if (!rc) {
        rc = apply_row(d, cp.data, cr.data, loser, NULL, 0, &wrote);
    }
    if (!rc && wrote) {
        atomic_fetch_add(&d->conflicts, 1);
        log_info("conflict copy kept pkey=%s rkey=%s as=%s", pkey, rkey, cr.data);
    }
    buf_release(&cp);
    buf_release(&cr);
    return rc;
}

/* keep_conflict for the stored row described by cur, about to be replaced. */
static int keep_stored_conflict(struct dht *d, const char *pkey, const char *rkey,
                                const struct current *cur)
{
    sqlite3_stmt *st = d->ws[WS_GET_VALUE];
    struct dht_row loser = {.version = cur->version};
    memcpy(loser.hash, cur->hash, DHT_HASH_LEN);
    sqlite3_bind_text(st, 1, pkey, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, rkey, -1, SQLITE_STATIC);
    int rc = MG_EIO;
    if (sqlite3_step(st) == SQLITE_ROW) {
        /* A copy: the statement's memory does not outlive the writes below. */
        const void *v = sqlite3_column_blob(st, 0);
        loser.value_len = v ? (size_t)sqlite3_column_bytes(st, 0) : 0;
        loser.value = malloc(loser.value_len + 1);
        rc = loser.value ? 0 : MG_ENOMEM;
        if (!rc && loser.value_len)
            memcpy(loser.value, v, loser.value_len);
    }
    sqlite3_reset(st);
    if (!rc)
        rc = keep_conflict(d, pkey, rkey, &loser);
    free(loser.value);
    return rc;
}

/* 1 when two versions of a row differ in content (a tombstone has none). */
static int differs(const struct dht_row *row, const struct current *cur)
{
    return row->tombstone || !cur->live || sodium_memcmp(row->hash, cur->hash, DHT_HASH_LEN) != 0;
}

/* Writes a checked row if it is newer than the stored one (last writer
 * wins), keeping a conflict copy of the losing version when judge is set and
 * one write did not see the other (see struct dht_apply_item). A row for an
 * absent key at or below the partition's purge floor is dropped. Inside a
 * write transaction; *wrote is set to 1 when the row was written. */
static int apply_row(struct dht *d, const char *pkey, const char *rkey, const struct dht_row *row,
                     const struct dht_version *base, int judge, int *wrote)
{
    struct current cur;
    uint64_t floor = 0;
    *wrote = 0;
    int rc = read_current(d, pkey, rkey, &cur);
    if (!rc && !cur.exists)
        rc = read_floor(d, pkey, &floor);
    if (rc)
        return rc;
    if (!cur.exists && row->version.hlc <= floor) {
        atomic_fetch_add(&d->stale_dropped, 1);
        log_debug("row below the purge floor dropped pkey=%s rkey=%s", pkey, rkey);
        return 0;
    }
    int cmp = cur.exists ? dht_version_cmp(&row->version, &cur.version) : 1;
    if (cmp < 0 && judge && cur.has_base && !row->tombstone &&
        dht_version_cmp(&cur.base, &row->version) < 0 && differs(row, &cur))
        return keep_conflict(d, pkey, rkey, row); /* the stored write did not see this one */
    if (cmp <= 0)
        return 0;
    if (judge && base && cur.live && dht_version_cmp(base, &cur.version) < 0 && differs(row, &cur))
        rc = keep_stored_conflict(d, pkey, rkey, &cur); /* this write did not see the stored one */
    if (!rc)
        rc = write_row(d, pkey, rkey, &row->version, row->tombstone != 0,
                       row->tombstone ? zero_hash : row->hash, row->value, row->value_len, base);
    *wrote = rc == 0;
    return rc;
}

static int apply_checked(struct dht *d, struct dht_apply_item *it)
{
    return apply_row(d, it->pkey, it->rkey, &it->row, it->has_base ? &it->base : NULL, 1,
                     &it->applied);
}

int dht_engine_apply(struct dht *d, const char *pkey, const char *rkey, const struct dht_row *row,
                     int *applied)
{
    if (applied)
        *applied = 0;
    int rc = check_applied_row(pkey, rkey, row);
    if (rc)
        return rc;
    struct dht_apply_item it = {.pkey = pkey, .rkey = rkey, .row = *row};
    pthread_mutex_lock(&d->write_lock);
    rc = writer_step(d, WS_BEGIN);
    if (!rc)
        rc = writer_finish(d, apply_checked(d, &it));
    writer_unlock(d);
    if (!rc && applied)
        *applied = it.applied;
    return rc;
}

int dht_engine_apply_batch(struct dht *d, struct dht_apply_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        items[i].applied = 0;
        int rc = check_applied_row(items[i].pkey, items[i].rkey, &items[i].row);
        if (rc)
            return rc;
    }
    for (size_t done = 0; done < n;) {
        size_t end = done + DHT_APPLY_TXN_ROWS < n ? done + DHT_APPLY_TXN_ROWS : n;
        pthread_mutex_lock(&d->write_lock);
        int rc = writer_step(d, WS_BEGIN);
        for (size_t i = done; !rc && i < end; i++)
            rc = apply_checked(d, &items[i]);
        rc = writer_finish(d, rc);
        writer_unlock(d);
        if (rc) {
            for (size_t i = done; i < end; i++)
                items[i].applied = 0; /* rolled back */
            return rc;
        }
        done = end;
    }
    return 0;
}

int dht_local_scan_any(struct dht *d, const char *pkey, const char *after, size_t live_limit,
                       dht_row_fn fn, void *ctx)
{
    int rc = check_key(pkey);
    if (!rc && after)
        rc = check_key(after);
    if (rc)
        return rc;
    struct reader *r;
    rc = reader_acquire(d, &r);
    if (rc)
        return rc;
    sqlite3_stmt *st = r->st[RS_SCAN_ANY];
    sqlite3_bind_text(st, 1, pkey, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, after ? after : "", -1, SQLITE_STATIC);
    size_t live = 0;
    for (;;) {
        int s = sqlite3_step(st);
        if (s == SQLITE_DONE)
            break;
        if (s != SQLITE_ROW) {
            log_err("store scan failed pkey=%s err=%s", pkey, sqlite3_errmsg(r->db));
            rc = MG_EIO;
            break;
        }
        if (live_limit && live >= live_limit) {
            rc = DHT_SCAN_MORE;
            break;
        }
        const char *rkey = (const char *)sqlite3_column_text(st, 5);
        if (!rkey)
            rkey = "";
        /* rkey >= after keeps the primary-key range; "after" is exclusive. */
        if (after && strcmp(rkey, after) == 0)
            continue;
        struct dht_row row;
        row_from_stmt(st, &row, 0);
        live += !row.tombstone;
        rc = fn(ctx, rkey, &row);
        if (rc)
            break;
    }
    sqlite3_reset(st);
    reader_release(d, r);
    return rc;
}

/* Runs a bound statement of reader r returning (pkey, rkey, hlc, node,
 * tomb, hash) and calls fn for each row; resets the statement and releases
 * r. Returns 0, fn's non-zero value, or MG_EIO. */
static int visit_meta(struct dht *d, struct reader *r, sqlite3_stmt *st, dht_meta_fn fn, void *ctx)
{
    int rc = 0;
    for (;;) {
        int s = sqlite3_step(st);
        if (s == SQLITE_DONE)
            break;
        if (s != SQLITE_ROW) {
            log_err("store scan failed err=%s", sqlite3_errmsg(r->db));
            rc = MG_EIO;
            break;
        }
        const char *pk = (const char *)sqlite3_column_text(st, 0);
        const char *rk = (const char *)sqlite3_column_text(st, 1);
        struct dht_version v = {(uint64_t)sqlite3_column_int64(st, 2),
                                node_from_db(sqlite3_column_int64(st, 3))};
        int tomb = sqlite3_column_int(st, 4) != 0;
        uint8_t hash[DHT_HASH_LEN];
        const void *h = sqlite3_column_blob(st, 5);
        if (h && sqlite3_column_bytes(st, 5) == DHT_HASH_LEN)
            memcpy(hash, h, DHT_HASH_LEN);
        else
            memset(hash, 0, DHT_HASH_LEN);
        rc = fn(ctx, pk ? pk : "", rk ? rk : "", &v, tomb, hash);
        if (rc)
            break;
    }
    sqlite3_reset(st);
    reader_release(d, r);
    return rc;
}

int dht_local_meta(struct dht *d, const char *pkey, dht_meta_fn fn, void *ctx)
{
    int rc = pkey ? check_key(pkey) : 0;
    if (rc)
        return rc;
    struct reader *r;
    rc = reader_acquire(d, &r);
    if (rc)
        return rc;
    sqlite3_stmt *st = r->st[pkey ? RS_META_PART : RS_META_ALL];
    if (pkey)
        sqlite3_bind_text(st, 1, pkey, -1, SQLITE_STATIC);
    return visit_meta(d, r, st, fn, ctx);
}

static int purge_one(struct dht *d, const char *pkey, const char *rkey, const struct dht_version *v)
{
    sqlite3_stmt *st = d->ws[WS_PURGE];
    sqlite3_bind_text(st, 1, pkey, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, rkey, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)v->hlc);
    sqlite3_bind_int64(st, 4, node_to_db(v->node));
    int rc = writer_step(d, WS_PURGE);
    sqlite3_clear_bindings(st);
    return rc;
}

int dht_local_purge(struct dht *d, const char *pkey, const char *rkey, const struct dht_version *v)
{
    int rc = check_keys(pkey, rkey);
    if (rc)
        return rc;
    pthread_mutex_lock(&d->write_lock);
    rc = purge_one(d, pkey, rkey, v);
    writer_unlock(d);
    return rc;
}

int dht_local_purge_many(struct dht *d, const char *pkey, char *const *rkeys,
                         const struct dht_version *versions, size_t n)
{
    int rc = check_key(pkey);
    for (size_t i = 0; !rc && i < n; i++)
        rc = check_keys(pkey, rkeys[i]);
    for (size_t done = 0; !rc && done < n;) {
        size_t end = done + DHT_APPLY_TXN_ROWS < n ? done + DHT_APPLY_TXN_ROWS : n;
        pthread_mutex_lock(&d->write_lock);
        rc = writer_step(d, WS_BEGIN);
        for (size_t i = done; !rc && i < end; i++)
            rc = purge_one(d, pkey, rkeys[i], &versions[i]);
        rc = writer_finish(d, rc);
        writer_unlock(d);
        done = end;
    }
    return rc;
}

/* ---- tombstone purge ---------------------------------------------------------- */

uint64_t dht_engine_purge_horizon(struct dht *d)
{
    uint64_t now = mg_now_ms();
    return now > d->grace_ms ? hlc_make(now - d->grace_ms, 0) : 0;
}

int dht_local_purge_floor(struct dht *d, const char *pkey, uint64_t *out)
{
    return read_pkey_u64(d, RS_FLOOR, pkey, out);
}

int dht_local_changes_complete(struct dht *d, const char *pkey, uint64_t since_hlc, dht_row_fn fn,
                               void *ctx)
{
    uint64_t floor;
    int rc = dht_local_purge_floor(d, pkey, &floor);
    if (!rc && floor > since_hlc)
        rc = MG_ECONFLICT;
    if (!rc)
        rc = dht_local_changes_since(d, pkey, since_hlc, fn, ctx);
    return rc;
}

static int raise_floor(struct dht *d, const char *pkey, uint64_t hlc)
{
    sqlite3_stmt *st = d->ws[WS_FLOOR_RAISE];
    sqlite3_bind_text(st, 1, pkey, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)hlc);
    int rc = writer_step(d, WS_FLOOR_RAISE);
    sqlite3_clear_bindings(st);
    return rc;
}

int dht_local_purge_tombstones(struct dht *d, const char *pkey, char *const *rkeys,
                               const struct dht_version *versions, size_t n, size_t *purged)
{
    size_t count = 0;
    int rc = check_key(pkey);
    for (size_t i = 0; !rc && i < n; i++)
        rc = check_keys(pkey, rkeys[i]);
    for (size_t done = 0; !rc && done < n;) {
        size_t end = done + DHT_APPLY_TXN_ROWS < n ? done + DHT_APPLY_TXN_ROWS : n;
        size_t gone = 0;
        uint64_t top = 0;
        pthread_mutex_lock(&d->write_lock);
        rc = writer_step(d, WS_BEGIN);
        for (size_t i = done; !rc && i < end; i++) {
            sqlite3_stmt *st = d->ws[WS_PURGE_TOMB];
            sqlite3_bind_text(st, 1, pkey, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, rkeys[i], -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 3, (sqlite3_int64)versions[i].hlc);
            sqlite3_bind_int64(st, 4, node_to_db(versions[i].node));
            rc = writer_step(d, WS_PURGE_TOMB);
            sqlite3_clear_bindings(st);
            if (!rc && sqlite3_changes(d->wdb) > 0) {
                gone++;
                if (versions[i].hlc > top)
                    top = versions[i].hlc;
            }
        }
        /* The floor moves in the same transaction: no moment where a purged
         * tombstone's key could be taken back from a stale copy. */
        if (!rc && gone)
            rc = raise_floor(d, pkey, top);
        rc = writer_finish(d, rc);
        writer_unlock(d);
        if (!rc)
            count += gone;
        done = end;
    }
    atomic_fetch_add(&d->purged, count);
    if (purged)
        *purged = count;
    return rc;
}

int dht_local_forget_floor(struct dht *d, const char *pkey)
{
    int rc = check_key(pkey);
    if (rc)
        return rc;
    pthread_mutex_lock(&d->write_lock);
    sqlite3_stmt *st = d->ws[WS_FLOOR_FORGET];
    sqlite3_bind_text(st, 1, pkey, -1, SQLITE_STATIC);
    rc = writer_step(d, WS_FLOOR_FORGET);
    sqlite3_clear_bindings(st);
    writer_unlock(d);
    return rc;
}

/* Old tombstones read by a purge pass: one partition's keys at a time. */
struct old_tombs {
    struct dht *d;
    char *pkey;
    char **rkeys;
    struct dht_version *versions;
    size_t n, seen;
    size_t purged;
    int err;
};

/* Purges what was gathered of the current partition. */
static int old_tombs_flush(struct old_tombs *o)
{
    size_t got = 0;
    int rc =
        o->n ? dht_local_purge_tombstones(o->d, o->pkey, o->rkeys, o->versions, o->n, &got) : 0;
    o->purged += got;
    for (size_t i = 0; i < o->n; i++)
        free(o->rkeys[i]);
    o->n = 0;
    return rc;
}

static int old_tomb_row(void *ctx, const char *pkey, const char *rkey, const struct dht_version *v,
                        int tomb, const uint8_t hash[DHT_HASH_LEN])
{
    (void)tomb;
    (void)hash;
    struct old_tombs *o = ctx;
    o->seen++;
    if (!o->pkey || strcmp(o->pkey, pkey) != 0) {
        int rc = old_tombs_flush(o);
        if (rc)
            return rc;
        free(o->pkey);
        o->pkey = strdup(pkey);
        if (!o->pkey)
            return MG_ENOMEM;
    }
    o->rkeys[o->n] = strdup(rkey);
    if (!o->rkeys[o->n])
        return MG_ENOMEM;
    o->versions[o->n++] = *v;
    return 0;
}

/* Visits up to limit tombstones older than horizon (node-local partitions
 * excluded) in (pkey, rkey) order. The purge runs inside the visit: a
 * pass holds a reader, the deletes take the writer (WAL: no conflict). */
static int visit_old_tombs(struct dht *d, uint64_t horizon, size_t limit, dht_meta_fn fn, void *ctx)
{
    struct reader *r;
    int rc = reader_acquire(d, &r);
    if (rc)
        return rc;
    sqlite3_stmt *st = r->st[RS_OLD_TOMBS];
    sqlite3_bind_int64(st, 1, (sqlite3_int64)horizon);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
    return visit_meta(d, r, st, fn, ctx);
}

int dht_local_purge_expired(struct dht *d, size_t *purged)
{
    struct old_tombs o = {.d = d};
    uint64_t horizon = dht_engine_purge_horizon(d);
    int rc = 0;
    o.rkeys = calloc(DHT_PURGE_BATCH, sizeof(*o.rkeys));
    o.versions = calloc(DHT_PURGE_BATCH, sizeof(*o.versions));
    if (!o.rkeys || !o.versions)
        rc = MG_ENOMEM;
    /* Batches until one comes back short: what was purged is gone from the
     * next read, so each pass starts again from the oldest partition. */
    while (!rc && horizon) {
        size_t before = o.purged;
        o.seen = 0;
        rc = visit_old_tombs(d, horizon, DHT_PURGE_BATCH, old_tomb_row, &o);
        if (!rc)
            rc = old_tombs_flush(&o);
        if (o.seen < DHT_PURGE_BATCH || o.purged == before)
            break;
    }
    for (size_t i = 0; i < o.n; i++)
        free(o.rkeys[i]);
    free(o.rkeys);
    free(o.versions);
    free(o.pkey);
    if (o.purged)
        log_info("tombstones purged rows=%zu", o.purged);
    if (purged)
        *purged = o.purged;
    return rc;
}

/* A cluster of one purges now and then after its writes (a cluster's
 * replicas wait for anti-entropy instead): at most every grace/4, clamped. */
static void purge_if_due(struct dht *d)
{
    if (d->cluster || !d->purges)
        return;
    uint64_t now = mg_mono_ms();
    uint64_t due = atomic_load(&d->next_purge_ms);
    if (now < due)
        return;
    uint64_t every = d->grace_ms / 4;
    if (every < DHT_PURGE_EVERY_MIN_MS)
        every = DHT_PURGE_EVERY_MIN_MS;
    if (every > DHT_PURGE_EVERY_MAX_MS)
        every = DHT_PURGE_EVERY_MAX_MS;
    /* One thread runs the pass; the others go on with their requests. */
    if (!atomic_compare_exchange_strong(&d->next_purge_ms, &due, now + every))
        return;
    if (dht_local_purge_expired(d, NULL))
        log_warn("tombstone purge failed; retried later");
}

void dht_engine_stats(struct dht *d, struct dht_engine_stats *out)
{
    out->tombstones_purged = atomic_load(&d->purged);
    out->stale_rows_dropped = atomic_load(&d->stale_dropped);
    out->conflict_copies = atomic_load(&d->conflicts);
}

/* ---- conflict copies ----------------------------------------------------------- */

int dht_conflict_keys(const char *pkey, const char *rkey, const struct dht_version *v,
                      struct buf *cpkey, struct buf *crkey)
{
    char suffix[96], when[32] = "00000000-000000";
    time_t secs = (time_t)(dht_hlc_ms(v->hlc) / 1000);
    struct tm tm;
    if (strlen(pkey) + strlen(DHT_CONFLICT_PREFIX) > DHT_KEY_MAX)
        return MG_ETOOBIG;
    if (gmtime_r(&secs, &tm))
        strftime(when, sizeof(when), "%Y%m%d-%H%M%S", &tm);
    /* Syncthing's "<name>.sync-conflict-<date>-<time>-<device>", with the
     * version's hlc so that two writes in one second stay apart. */
    int n = snprintf(suffix, sizeof(suffix), ".sync-conflict-%s-%016llx-%016llx", when,
                     (unsigned long long)v->node, (unsigned long long)v->hlc);
    size_t keep = strlen(rkey);
    if (keep + (size_t)n > DHT_KEY_MAX)
        keep = DHT_KEY_MAX - (size_t)n;
    if (buf_printf(cpkey, "%s%s", DHT_CONFLICT_PREFIX, pkey) ||
        buf_printf(crkey, "%.*s%s", (int)keep, rkey, suffix))
        return MG_ENOMEM;
    return 0;
}
