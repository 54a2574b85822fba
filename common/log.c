/* log.c - leveled, one-line-per-event logging to stderr. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "meshgate/common.h"

static enum mg_log_level g_level = MG_LOG_INFO;
static _Thread_local char t_request_id[32];

static const char *const LEVEL_NAMES[] = {"error", "warn", "info", "debug"};

void log_set_level(enum mg_log_level level)
{
    g_level = level;
}

int log_parse_level(const char *name, enum mg_log_level *out)
{
    for (int i = 0; i <= MG_LOG_DEBUG; i++) {
        if (name && strcmp(name, LEVEL_NAMES[i]) == 0) {
            *out = (enum mg_log_level)i;
            return 0;
        }
    }
    return MG_EINVAL;
}

void log_set_request_id(const char *id)
{
    if (!id) {
        t_request_id[0] = '\0';
        return;
    }
    snprintf(t_request_id, sizeof(t_request_id), "%s", id);
}

void log_msg(enum mg_log_level level, const char *fmt, ...)
{
    if (level > g_level)
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, LEVEL_NAMES[level]);
    if (t_request_id[0] && n > 0 && (size_t)n < sizeof(line))
        n += snprintf(line + n, sizeof(line) - (size_t)n, "req=%s ", t_request_id);
    if (n > 0 && (size_t)n < sizeof(line)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
        va_end(ap);
    }
    /* one write per line so concurrent threads do not interleave */
    size_t len = strnlen(line, sizeof(line) - 2);
    line[len++] = '\n';
    fwrite(line, 1, len, stderr);
}
