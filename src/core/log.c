/* log.c: lines to the caller's callback (log.h), and the monotonic clock. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

void pifi_vlogf(PifiLogFn fn, void *user, PifiLogLevel level, const char *fmt, va_list ap) {
    if (!fn) return;
    char line[4096];
    vsnprintf(line, sizeof line, fmt, ap);
    fn(level, line, user);
}

void pifi_logf(PifiLogFn fn, void *user, PifiLogLevel level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    pifi_vlogf(fn, user, level, fmt, ap);
    va_end(ap);
}

double pifi_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}
