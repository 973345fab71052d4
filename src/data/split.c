/* split.c: seeded, stratified carving of a dataset into parts (valid/test
 * carved from a train file) and subsampling (--train-fraction).
 *
 * Deterministic on every machine: the shuffle is Fisher-Yates driven by the
 * counter-based rng.h (a pure function of seed, stream, index), sizes are
 * integer arithmetic, and every part keeps the file order. Per class c with
 * n_c examples: shuffle its indices with stream (purpose + c), then part j
 * takes the next round(n_c * fraction_j) of them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"
#include "core/rng.h"

enum { STREAM_CARVE = 1000, STREAM_SUBSAMPLE = 2000 }; /* + class id */

/* round(n * fraction) in integers (fraction to 1e-6). */
static int64_t part_size(int64_t n, double fraction) {
    int64_t ppm = llround(fraction * 1e6);
    return (n * ppm + 500000) / 1000000;
}

static void shuffle(int64_t *v, int64_t n, uint64_t seed, uint64_t stream) {
    for (int64_t i = n - 1; i > 0; i--) {
        uint64_t r = rng_u64(seed, stream, (uint64_t)i);
        int64_t j = (int64_t)(((unsigned __int128)r * (uint64_t)(i + 1)) >> 64); /* uniform 0..i */
        int64_t t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

/* part_of[i] = which of the nparts the example i goes to; the last part takes
 * what the fractions leave. min1: each non-empty class keeps >= 1 in part 0. */
static int assign_parts(const PifiDataset *src, int nparts, const double *fracs, uint64_t seed,
                        uint64_t stream, int min1, int *part_of, PifiErr *err) {
    int64_t *idx = pifi_malloc((size_t)(src->n ? src->n : 1) * sizeof *idx, err);
    if (!idx) return -1;
    for (int c = 0; c < src->num_classes; c++) {
        int64_t nc = 0;
        for (int64_t i = 0; i < src->n; i++)
            if (src->label[i] == c) idx[nc++] = i;
        shuffle(idx, nc, seed, stream + (uint64_t)c);
        int64_t at = 0;
        for (int p = 0; p < nparts - 1; p++) {
            int64_t k = part_size(nc, fracs[p]);
            if (min1 && p == 0 && k == 0 && nc > 0) k = 1;
            if (k > nc - at) k = nc - at;
            for (int64_t j = 0; j < k; j++) part_of[idx[at + j]] = p;
            at += k;
        }
        for (; at < nc; at++) part_of[idx[at]] = nparts - 1;
    }
    free(idx);
    return 0;
}

static int build_parts(const PifiDataset *src, int nparts, const int *part_of, PifiDataset **outs,
                       PifiErr *err) {
    int64_t *idx = pifi_malloc((size_t)(src->n ? src->n : 1) * sizeof *idx, err);
    if (!idx) return -1;
    for (int p = 0; p < nparts; p++) {
        int64_t k = 0;
        for (int64_t i = 0; i < src->n; i++)
            if (part_of[i] == p) idx[k++] = i;
        if (dataset_select(src, idx, k, outs[p], err) != 0) {
            for (int q = 0; q < p; q++) dataset_free(outs[q]);
            free(idx);
            return -1;
        }
    }
    free(idx);
    return 0;
}

static int check_labels(const PifiDataset *src, PifiErr *err) {
    for (int64_t i = 0; i < src->n; i++)
        if (src->label[i] < 0 || src->label[i] >= src->num_classes)
            return pifi_errk(err, PIFI_ERR_RUNTIME, "split: example %lld has label %d outside 0..%d",
                             (long long)i, (int)src->label[i], src->num_classes - 1);
    return 0;
}

static int carve(const PifiDataset *src, int nparts, const double *fracs, uint64_t seed,
                 uint64_t stream, int min1, PifiDataset **outs, PifiErr *err) {
    double total = 0;
    for (int p = 0; p < nparts - 1; p++) {
        if (!(fracs[p] >= 0.0 && fracs[p] <= 1.0))
            return pifi_errf(err, "split: fraction %g outside [0, 1]", fracs[p]);
        total += fracs[p];
    }
    if (total > 1.0 + 1e-12) return pifi_errf(err, "split: fractions add up to %g > 1", total);
    if (check_labels(src, err) != 0) return -1;
    int *part_of = pifi_malloc((size_t)(src->n ? src->n : 1) * sizeof *part_of, err);
    if (!part_of) return -1;
    int rc = assign_parts(src, nparts, fracs, seed, stream, min1, part_of, err);
    if (rc == 0) rc = build_parts(src, nparts, part_of, outs, err);
    free(part_of);
    return rc;
}

int dataset_carve(const PifiDataset *src, double fraction, uint64_t seed, PifiDataset *part,
                  PifiDataset *rest, PifiErr *err) {
    double fracs[2] = {fraction, 0};
    PifiDataset *outs[2] = {part, rest};
    return carve(src, 2, fracs, seed, STREAM_CARVE, 0, outs, err);
}

int dataset_carve3(const PifiDataset *src, double valid_frac, double test_frac, uint64_t seed,
                   PifiDataset *train, PifiDataset *valid, PifiDataset *test, PifiErr *err) {
    double fracs[3] = {test_frac, valid_frac, 0};
    PifiDataset *outs[3] = {test, valid, train};
    return carve(src, 3, fracs, seed, STREAM_CARVE, 0, outs, err);
}

int dataset_subsample(const PifiDataset *src, double fraction, uint64_t seed, PifiDataset *out,
                      PifiErr *err) {
    if (!(fraction > 0.0 && fraction <= 1.0))
        return pifi_errf(err, "train fraction %g outside (0, 1]", fraction);
    PifiDataset rest;
    double fracs[2] = {fraction, 0};
    PifiDataset *outs[2] = {out, &rest};
    if (carve(src, 2, fracs, seed, STREAM_SUBSAMPLE, 1, outs, err) != 0) return -1;
    dataset_free(&rest);
    return 0;
}
