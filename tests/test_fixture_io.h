/* test_fixture_io.h: reading the oracles' fixture tensors (written by
 * tools/oracle_*.py into io.safetensors) in the forms the tests compare, and
 * the relative difference they are compared by. */
#ifndef PIFI_TEST_FIXTURE_IO_H
#define PIFI_TEST_FIXTURE_IO_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "pifi/fileio.h"
#include "pifi/safetensors.h"
#include "test.h"

/* The rows of a JSON array of integer arrays (a generate fixture's ids) into
 * out, row r at out[r * cols]. */
static inline void test_json_ints(const cJSON *rows, int32_t *out, int cols) {
    int i = 0;
    const cJSON *r, *v;
    cJSON_ArrayForEach(r, rows) {
        int j = 0;
        cJSON_ArrayForEach(v, r) out[i * cols + j++] = v->valueint;
        i++;
    }
}

/* A [B, T] integer tensor the oracle stored as float (ids, masks) into out. */
static inline int test_read_ints(SafeTensors *st, const char *name, int B, int T, int32_t *out, PifiErr *err) {
    float *tmp = malloc((size_t)B * T * sizeof *tmp);
    if (!tmp) return pifi_errf(err, "%s: out of memory", name);
    int64_t shape[2] = {B, T};
    int rc = st_read_f32(st, name, 2, shape, tmp, err);
    for (int i = 0; rc == 0 && i < B * T; i++) out[i] = (int32_t)tmp[i];
    free(tmp);
    return rc;
}

/* A tensor of st as floats (malloc'd, any stored dtype), its element count
 * in *numel; NULL if absent or unreadable. */
static inline float *test_read_tensor(SafeTensors *st, const char *name, int64_t *numel) {
    const StTensor *t;
    PifiErr err;
    if (st_find(st, name, &t, &err)) return NULL;
    float *v = malloc((size_t)(t->numel ? t->numel : 1) * sizeof *v);
    int64_t shape[ST_MAX_DIMS];
    for (int d = 0; d < t->ndim; d++) shape[d] = t->shape[d];
    if (!v || st_read_f32(st, name, t->ndim, shape, v, &err)) {
        free(v);
        return NULL;
    }
    *numel = t->numel;
    return v;
}

/* max |a - b| / max(max |b|, floor): a tensor's difference relative to its
 * largest value (floor: the scale below which it is compared absolutely). */
static inline double test_rel_diff(const float *a, const float *b, int64_t n, double floor) {
    double d = 0, m = floor;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (!(e <= d)) d = e;
        if (fabs(b[i]) > m) m = fabs(b[i]);
    }
    return d / m;
}

/* A fixture's text file as its lines (each ends with \n in the file), in
 * one buffer: l->line[0 .. l->n - 1]. */
typedef struct {
    char *buf;
    char **line;
    int n;
} TestLines;

static inline void test_read_lines(const char *dir, const char *name, TestLines *l) {
    char p[1200];
    size_t len;
    PifiErr err;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    REQUIRE(pifi_read_file(p, 1 << 24, &l->buf, &len, &err) == 0);
    l->n = 0;
    l->line = malloc((len + 1) * sizeof *l->line);
    for (char *s = l->buf; *s;) {
        char *e = strchr(s, '\n');
        REQUIRE(e); /* every line ends with \n */
        *e = '\0';
        l->line[l->n++] = s;
        s = e + 1;
    }
}

static inline void test_lines_free(TestLines *l) { free(l->buf), free(l->line); }

#endif
