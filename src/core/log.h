/* log.h: how the library says something that is not an error: a line handed
 * to a callback its caller supplies (the CLI writes it on stderr). The
 * library never prints; with no callback a line goes nowhere. */
#ifndef PIFI_CORE_LOG_H
#define PIFI_CORE_LOG_H

#include <stdarg.h>

typedef enum {
    PIFI_LOG_NOTE,  /* a message: the CLI writes "pifi: <line>" */
    PIFI_LOG_PLAIN, /* a line of a listing (a grid's dry run): written as it is */
} PifiLogLevel;

/* line: one line, no newline. */
typedef void (*PifiLogFn)(PifiLogLevel level, const char *line, void *user);

/* A printf-style line to fn (nothing when fn is NULL); a line longer than
 * 4 kB is cut. */
void pifi_logf(PifiLogFn fn, void *user, PifiLogLevel level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void pifi_vlogf(PifiLogFn fn, void *user, PifiLogLevel level, const char *fmt, va_list ap);

/* Seconds on the monotonic clock (durations, throughput). */
double pifi_now(void);

#endif
