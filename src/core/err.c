/* err.c: filling PifiErr messages. */
#include "pifi/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Messages quote names read from files (tensor names, JSON keys): a hostile
 * file must not break the one-line rule or send terminal escapes, so control
 * bytes become '?'. */
static void sanitize(char *s) {
    for (unsigned char *p = (unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f) *p = '?';
}

static int errv(PifiErr *err, PifiErrKind kind, const char *fmt, va_list ap) {
    if (!err) return -1;
    err->kind = kind;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    sanitize(err->msg);
    return -1;
}

int pifi_errf(PifiErr *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    errv(err, PIFI_ERR_INPUT, fmt, ap);
    va_end(ap);
    return -1;
}

int pifi_errk(PifiErr *err, PifiErrKind kind, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    errv(err, kind, fmt, ap);
    va_end(ap);
    return -1;
}

int pifi_err_prefix(PifiErr *err, const char *prefix) {
    if (!err) return -1;
    char old[PIFI_ERR_MSG_MAX];
    memcpy(old, err->msg, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof err->msg / 2) n = sizeof err->msg / 2;
    memcpy(err->msg, prefix, n);
    memcpy(err->msg + n, ": ", 2);
    size_t room = sizeof err->msg - n - 3;
    size_t k = strnlen(old, room);
    memcpy(err->msg + n + 2, old, k);
    err->msg[n + 2 + k] = 0;
    return -1;
}

void *pifi_malloc(size_t n, PifiErr *err) {
    void *p = malloc(n ? n : 1);
    if (!p) pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory allocating %zu bytes", n);
    return p;
}

void *pifi_calloc(size_t count, size_t size, PifiErr *err) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

static PifiBugFn g_bug_handler;
static char g_bug_msg[PIFI_ERR_MSG_MAX]; /* the last words, for a debugger or a core dump */

void pifi_set_bug_handler(PifiBugFn fn) { g_bug_handler = fn; }

_Noreturn void pifi_bug(const char *fmt, ...) {
    int n = snprintf(g_bug_msg, sizeof g_bug_msg, "internal error: ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_bug_msg + n, sizeof g_bug_msg - (size_t)n, fmt, ap);
    va_end(ap);
    if (g_bug_handler) g_bug_handler(g_bug_msg);
    abort(); /* a bug in pifi: nothing sensible to return to */
}
