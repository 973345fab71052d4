/* err.h: how pifi reports failure.
 *
 * Every fallible library function takes a PifiErr* as its last argument and
 * returns 0 on success, -1 on failure after writing one line into err->msg of
 * the form "<file or subject>: <what is wrong>" (no "pifi: " prefix and no
 * newline; the CLI adds both). The library never prints and never exits. */
#ifndef PIFI_ERR_H
#define PIFI_ERR_H

#include <stddef.h>

#define PIFI_ERR_MSG_MAX 1024

/* What kind of failure: the CLI maps it to an exit status (2 bad input or
 * usage, 1 runtime failure). */
typedef enum {
    PIFI_ERR_NONE = 0,
    PIFI_ERR_INPUT = 2,   /* bad file, bad flag, bad text: the user can fix it */
    PIFI_ERR_RUNTIME = 1, /* out of memory, I/O error, internal failure */
} PifiErrKind;

typedef struct {
    PifiErrKind kind;
    char msg[PIFI_ERR_MSG_MAX];
} PifiErr;

/* Fill err (if not NULL) and return -1. printf-style. kind defaults to INPUT. */
int pifi_errf(PifiErr *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, with an explicit kind. */
int pifi_errk(PifiErr *err, PifiErrKind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefix an existing message: "<prefix>: <old msg>". Returns -1. */
int pifi_err_prefix(PifiErr *err, const char *prefix);

/* A broken internal invariant: a bug in pifi, never a condition the input
 * or the machine can cause. The message ("internal error: ...") goes to the
 * handler the program installed (the CLI writes it on stderr; none: it is
 * kept only in the core dump), then the process aborts. The one place the
 * library ends a process. */
typedef void (*PifiBugFn)(const char *msg);
void pifi_set_bug_handler(PifiBugFn fn);
_Noreturn void pifi_bug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Allocation that reports failure through err instead of returning silently. */
void *pifi_malloc(size_t n, PifiErr *err);
void *pifi_calloc(size_t count, size_t size, PifiErr *err);

#endif
