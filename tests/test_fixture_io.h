/* test_fixture_io.h: reading the oracles' fixture tensors (written by
 * tools/oracle_*.py into io.safetensors) in the forms the tests compare. */
#ifndef PIFI_TEST_FIXTURE_IO_H
#define PIFI_TEST_FIXTURE_IO_H

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

#endif
