/* mpnet_relbias.c: MPNet's relative position bias. One table relb (NB, NH),
 * shared by every layer, gives each head a bias by the bucket of the
 * distance from query i to key j; the BERT-shaped layer code adds it to the
 * attention scores (attention_forward_bias) and hands back their gradient.
 *
 *   bias[h][i][j] = relb[bucket(j - i)][h]
 *   bucket(rel): 16 if the key is after the query (rel > 0), plus, of
 *                n = |rel|: n if n < 8, else min(15, 8 + (int)(log(n / 8) / log(128 / 8) * 8))
 */
#include <math.h>
#include <stdlib.h>

#include "models/encoders/encoder_internal.h"
#include "models/encoders/mpnet_internal.h"

enum { HALF = MPNET_BUCKETS / 2, MAX_EXACT = HALF / 2 };

/* The bucket of distance n >= 0, without the direction: float32 as torch
 * computes it (n / 8, its log, divided by log(16) rounded to float, times 8,
 * truncated). From n = MPNET_MAX_DISTANCE on it is HALF - 1. */
static int distance_bucket(int n) {
    if (n < MAX_EXACT) return n;
    float v = logf((float)n / (float)MAX_EXACT) / (float)log((double)MPNET_MAX_DISTANCE / MAX_EXACT) *
              (float)(HALF - MAX_EXACT);
    int large = MAX_EXACT + (int)v;
    return large < HALF - 1 ? large : HALF - 1;
}

int mpnet_relative_bucket(int rel) { return (rel > 0 ? HALF : 0) + distance_bucket(abs(rel)); }

/* near[n] = distance_bucket(n) for n < MPNET_MAX_DISTANCE (the logs once per pass) */
static void near_buckets(int near[MPNET_MAX_DISTANCE]) {
    for (int n = 0; n < MPNET_MAX_DISTANCE; n++) near[n] = distance_bucket(n);
}

static inline int bucket_at(const int near[MPNET_MAX_DISTANCE], int rel) {
    int n = abs(rel);
    return (rel > 0 ? HALF : 0) + (n < MPNET_MAX_DISTANCE ? near[n] : HALF - 1);
}

void mpnet_relbias_forward(float *out, const float *relb, int NH, int T) {
    int near[MPNET_MAX_DISTANCE];
    near_buckets(near);
#pragma omp parallel for
    for (int h = 0; h < NH; h++)
        for (int i = 0; i < T; i++) {
            float *o = out + ((size_t)h * T + i) * T;
            for (int j = 0; j < T; j++) o[j] = relb[(size_t)bucket_at(near, j - i) * NH + h];
        }
}

void mpnet_relbias_backward(float *drelb, const float *dscores, int B, int NH, int T) {
    int near[MPNET_MAX_DISTANCE];
    near_buckets(near);
    /* per head: its buckets' sums in double, then once into drelb (the heads' columns are apart) */
#pragma omp parallel for
    for (int h = 0; h < NH; h++) {
        double acc[MPNET_BUCKETS] = {0};
        for (int s = 0; s < B; s++)
            for (int i = 0; i < T; i++) {
                const float *d = dscores + (((size_t)s * NH + h) * T + i) * T;
                for (int j = 0; j < T; j++) acc[bucket_at(near, j - i)] += d[j];
            }
        for (int k = 0; k < MPNET_BUCKETS; k++) drelb[(size_t)k * NH + h] += (float)acc[k];
    }
}
