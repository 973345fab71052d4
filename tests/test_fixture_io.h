/* test_fixture_io.h: reading the oracles' fixture tensors (written by
 * tools/oracle_*.py into io.safetensors) in the forms the tests compare, and
 * the relative difference they are compared by. */
#ifndef PIFI_TEST_FIXTURE_IO_H
#define PIFI_TEST_FIXTURE_IO_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "pifi/safetensors.h"

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

#endif
