/* fuzz_common.h: what every libFuzzer harness of pifi shares: a private
 * per-process temp directory to write the fuzzed file (and valid companion
 * files) into, and checks of the error contract (a failing call leaves a
 * one-line message).
 *
 * pifi's parsers take paths, so each input is written to a file in that
 * directory and the real public API is called on it. The directory is made
 * with mkdtemp under $TMPDIR (or /tmp), so parallel fuzzers never collide,
 * and it is removed at exit. Each harness is one translation unit, so the
 * helpers here are static inline (unused ones draw no warning). */
#ifndef PIFI_FUZZ_COMMON_H
#define PIFI_FUZZ_COMMON_H

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pifi/err.h"

/* A harness bug (not a finding in pifi): say so and stop. */
static inline void fz_die(const char *what) {
    fprintf(stderr, "fuzz harness: %s\n", what);
    abort();
}

/* Remove every plain file in dir (one level below too), then dir. */
static inline void fz_rmtree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[4096];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) fz_rmtree(p);
        else unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static char fz_root_path[512];

static inline void fz_cleanup(void) {
    if (fz_root_path[0]) fz_rmtree(fz_root_path);
}

/* The private directory of this process, made on first use. */
static inline const char *fz_root(void) {
    if (fz_root_path[0]) return fz_root_path;
    const char *tmp = getenv("TMPDIR");
    snprintf(fz_root_path, sizeof fz_root_path, "%s/pifi-fuzz-%ld-XXXXXX", tmp && *tmp ? tmp : "/tmp",
             (long)getpid());
    if (!mkdtemp(fz_root_path)) fz_die("cannot create the temp directory");
    atexit(fz_cleanup);
    return fz_root_path;
}

/* "<root>/<sub>" made if missing (sub may be NULL: the root). Heap string. */
static inline char *fz_subdir(const char *sub) {
    const char *root = fz_root();
    char *p = malloc(strlen(root) + (sub ? strlen(sub) : 0) + 2);
    if (!p) fz_die("out of memory");
    sprintf(p, "%s%s%s", root, sub ? "/" : "", sub ? sub : "");
    if (sub && mkdir(p, 0700) != 0 && access(p, F_OK) != 0) fz_die("cannot create a subdirectory");
    return p;
}

/* Write n bytes to dir/name (replacing it). Returns the heap path. */
static inline char *fz_write(const char *dir, const char *name, const void *data, size_t n) {
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    if (!p) fz_die("out of memory");
    sprintf(p, "%s/%s", dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) fz_die("cannot create a temp file");
    const uint8_t *b = data;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w <= 0) fz_die("cannot write a temp file");
        b += w, n -= (size_t)w;
    }
    close(fd);
    return p;
}

static inline void fz_write_str(const char *dir, const char *name, const char *text) {
    free(fz_write(dir, name, text, strlen(text)));
}

/* The error contract: a failing call leaves a non-empty message (abort
 * otherwise). It should also be ONE line, but names taken from hostile files
 * (JSON keys, tensor names) are printed as they are and may hold newlines or
 * other control bytes: that is reported once per process as a note ("fuzz:
 * note: multi-line error message", which scripts/fuzz.sh counts), and is
 * fatal only with PIFI_FUZZ_STRICT_MSG=1. */
static inline void fz_check_err(const PifiErr *err, const char *call) {
    static int noted;
    if (err->msg[0] == 0) {
        fprintf(stderr, "fuzz: %s failed with an empty message\n", call);
        abort();
    }
    int ctl = 0;
    for (const char *p = err->msg; *p; p++) ctl |= (unsigned char)*p < 0x20 || *p == 0x7f;
    if (!ctl) return;
    const char *strict = getenv("PIFI_FUZZ_STRICT_MSG");
    if (strict && *strict == '1') {
        fprintf(stderr, "fuzz: %s failed with a message holding control bytes: \"%s\"\n", call, err->msg);
        abort();
    }
    if (!noted++) fprintf(stderr, "fuzz: note: multi-line error message from %s: \"%s\"\n", call, err->msg);
}

/* Input split in two at the first "\n====\n" (b empty when absent). The
 * parts are NUL-terminated heap copies. */
typedef struct {
    char *a, *b;
    size_t na, nb;
} FzSplit;

static inline FzSplit fz_split(const uint8_t *data, size_t size) {
    static const char SEP[] = "\n====\n";
    const size_t k = sizeof SEP - 1;
    size_t at = size;
    for (size_t i = 0; i + k <= size; i++)
        if (memcmp(data + i, SEP, k) == 0) {
            at = i;
            break;
        }
    FzSplit s;
    s.na = at;
    s.nb = at < size ? size - at - k : 0;
    s.a = malloc(s.na + 1);
    s.b = malloc(s.nb + 1);
    if (!s.a || !s.b) fz_die("out of memory");
    memcpy(s.a, data, s.na);
    s.a[s.na] = 0;
    if (s.nb) memcpy(s.b, data + at + k, s.nb);
    s.b[s.nb] = 0;
    return s;
}

static inline void fz_split_free(FzSplit *s) {
    free(s->a);
    free(s->b);
}

/* The metric harnesses' input: cut at its NUL bytes into at most max
 * segments, hypothesis, reference, hypothesis, ...; returns the heap copy
 * the segments point into (free it), NULL when out of memory. *pairs: the
 * (hypothesis, reference) pairs, also in hyp[] and ref[] (max / 2 each). */
static inline char *fz_segments(const uint8_t *data, size_t size, const char **seg, int max, int *n,
                                const char **hyp, const char **ref, int *pairs) {
    char *buf = malloc(size + 1);
    if (!buf) return NULL;
    memcpy(buf, data, size);
    buf[size] = '\0';
    *n = 0;
    for (size_t i = 0; i <= size && *n < max;) {
        seg[(*n)++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    *pairs = *n / 2;
    for (int i = 0; i < *pairs; i++) hyp[i] = seg[2 * i], ref[i] = seg[2 * i + 1];
    return buf;
}

#endif
