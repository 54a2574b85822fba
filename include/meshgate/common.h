/*
 * common.h - small utilities every module may use: error codes, logging,
 * growable byte buffers, time, hex and URL path helpers.
 *
 * This is the one place for these helpers; do not grow a second copy in a module.
 */
#ifndef MESHGATE_COMMON_H
#define MESHGATE_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Error codes shared by all modules. 0 is success; errors are negative. */
enum mg_err {
    MG_OK = 0,
    MG_ENOMEM = -1,    /* allocation failed */
    MG_ENOTFOUND = -2, /* no such key / resource */
    MG_EEXIST = -3,    /* already exists */
    MG_EPRECOND = -4,  /* a conditional write's precondition failed */
    MG_EIO = -5,       /* storage or network I/O failed */
    MG_EINVAL = -6,    /* malformed input */
    MG_ETOOBIG = -7,   /* a configured limit was exceeded */
    MG_EUNAVAIL = -8,  /* not enough replicas answered */
    MG_EDENIED = -9,   /* not allowed */
    MG_ECONFLICT = -10 /* state conflict (e.g. parent missing) */
};

/* Returns a static lowercase description of an mg_err code. */
const char *mg_strerror(int err);

/* ---- logging ---------------------------------------------------------- */

enum mg_log_level { MG_LOG_ERR = 0, MG_LOG_WARN, MG_LOG_INFO, MG_LOG_DEBUG };

/* Sets the process-wide minimum level written to stderr. */
void log_set_level(enum mg_log_level level);
/* Parses "error|warn|info|debug"; returns 0 on success, MG_EINVAL otherwise. */
int log_parse_level(const char *name, enum mg_log_level *out);
/* Sets the request id printed on every line logged by the calling thread (NULL clears). */
void log_set_request_id(const char *id);

/* Writes one line: time, level, request id (if any), then the formatted message. */
void log_msg(enum mg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(MG_LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(MG_LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(MG_LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(MG_LOG_DEBUG, __VA_ARGS__)

/* ---- byte buffers ----------------------------------------------------- */

/* A growable byte buffer. data is always NUL-terminated (not counted in len)
 * once anything was appended. Caller-owned storage: buf_init()/buf_release(). */
struct buf {
    char *data;
    size_t len;
    size_t cap;
};

void buf_init(struct buf *b);
/* Frees the storage; the buffer is empty and reusable afterwards. NULL-safe. */
void buf_release(struct buf *b);
/* Empties the buffer, keeping its storage. */
void buf_reset(struct buf *b);
/* Each append returns 0, or MG_ENOMEM (the buffer is unchanged then). */
int buf_append(struct buf *b, const void *data, size_t len);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Appends s with XML's five special characters escaped. */
int buf_put_xml_escaped(struct buf *b, const char *s);
/* Returns the data (caller frees with free()) and leaves the buffer empty.
 * Returns an empty malloc'd string when nothing was appended; NULL on ENOMEM. */
char *buf_detach(struct buf *b, size_t *len);

/* ---- time, hex, strings ----------------------------------------------- */

/* Wall clock in milliseconds since the epoch. */
uint64_t mg_now_ms(void);
/* Monotonic clock in milliseconds. */
uint64_t mg_mono_ms(void);
/* Formats t (seconds since epoch) as an RFC 7231 IMF-fixdate into out (>= 30 bytes). */
void mg_http_date(int64_t t, char *out, size_t cap);
/* Formats t as RFC 3339 UTC ("2026-01-02T03:04:05Z") into out (>= 21 bytes). */
void mg_iso8601(int64_t t, char *out, size_t cap);

/* Lowercase hex of len bytes into out, which must hold 2*len+1 bytes. */
void mg_hex_encode(const void *data, size_t len, char *out);
/* Decodes exactly 2*len hex digits; returns 0 or MG_EINVAL. */
int mg_hex_decode(const char *hex, void *out, size_t len);

/* Parses a whole decimal unsigned integer (no sign, no trailing junk, no overflow). */
int mg_parse_u64(const char *s, uint64_t *out);

/* strdup that returns NULL for NULL. */
char *mg_strdup(const char *s);

/* ---- URL paths --------------------------------------------------------- */

/* Percent-decodes the path part of a request URL (query removed first),
 * collapses repeated slashes and rejects what must never reach a handler:
 * NUL bytes (%00), "." or ".." segments (also when encoded), invalid escapes,
 * invalid UTF-8 and control characters. The result keeps a trailing slash
 * if the input had one. Returns a malloc'd string in *out, or MG_EINVAL. */
int mg_path_decode(const char *raw, char **out);

/* Appends path to b percent-encoding everything but unreserved characters
 * and '/', so the result is a valid href for any name (spaces, non-ASCII). */
int mg_path_encode(struct buf *b, const char *path);

#endif
