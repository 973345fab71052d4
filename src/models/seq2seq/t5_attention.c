/* t5_attention.c: T5's attention core and its relative position bias.
 *
 * softmax(q k^T + bias + mask) v per (b, h), no 1/sqrt(D) scaling (T5 folds
 * it into the initialisation), queries and keys of different lengths (the
 * decoder's cross-attention), an optional causal mask (the decoder's
 * self-attention); one GEMM pair per (b, h) forward, four backward (gemm.c,
 * oneDNN), the softmax rows as the other attentions do (kernels/simd.h).
 *
 * The bias: one table relb (NB, NH) per stack, held by its block 0 and
 * added in every block: bias[h][i][j] = relb[bucket(j - i)][h], bucketed as
 * transformers' T5Attention._relative_position_bucket in float32:
 *   bidirectional (encoder): NB/2 buckets per direction, keys after the
 *     query in the upper half; unidirectional (decoder): keys after the
 *     query (masked anyway) in bucket 0, NB buckets of distance back;
 *   of n buckets: distances below n/2 exact, then
 *     n/2 + (int)(log(d / (n/2)) / log(max_distance / (n/2)) * (n - n/2)),
 *     at most n - 1. */
#pragma GCC optimize("no-trapping-math")

#include <math.h>
#include <stdlib.h>

#include "kernels/dropout.h"
#include "kernels/gemm.h"
#include "kernels/simd.h"
#include "models/seq2seq/t5_internal.h"

/* ------------------------------------------------------------------------ */
/* the core */

/* dst (Tq, Tk) = src * the dropout mask of block (b, h): element (i, j) of
 * the (b, h) block takes index ((b NH + h) Tq + i) Tk + j. */
static void att_dropout(float *dst, const float *src, size_t block, int Tq, int Tk, float p, uint64_t seed,
                        uint64_t stream) {
    size_t n = (size_t)Tq * Tk;
    if (p >= 1.0f) {
        for (size_t i = 0; i < n; i++) dst[i] = 0.0f;
        return;
    }
    DropoutMask d = dropout_mask(p, seed, stream);
    dropout_apply(dst, src, n, &d, (uint64_t)block * n);
}

void t5_attention_forward(float *out, float *att, float *attd, const float *q, const float *k, const float *v,
                          const float *bias, const int32_t *kmask, int causal, int B, int Tq, int Tk, int NH,
                          int D, float p, uint64_t seed, uint64_t stream) {
    int I = NH * D;
    int drop = p > 0.0f;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            const float *qb = q + (size_t)b * Tq * I + h * D; /* (Tq, D), row stride I */
            const float *kb = k + (size_t)b * Tk * I + h * D; /* (Tk, D) */
            const float *vb = v + (size_t)b * Tk * I + h * D;
            size_t blk = (size_t)b * NH + h;
            float *a = att + blk * Tq * Tk; /* (Tq, Tk) */
            const int32_t *m = kmask ? kmask + (size_t)b * Tk : NULL;
            gemm_f32(0, 1, Tq, Tk, D, 1.0f, qb, I, kb, I, 0.0f, a, Tk);
            for (int i = 0; i < Tq; i++) {
                float *row = a + (size_t)i * Tk;
                if (bias) {
                    const float *br = bias + ((size_t)h * Tq + i) * Tk;
                    for (int j = 0; j < Tk; j++) row[j] += br[j];
                }
                softmax_row(row, m, Tk, causal ? (i + 1 < Tk ? i + 1 : Tk) : Tk, 0.0f);
            }
            const float *pa = a;
            if (drop) {
                att_dropout(attd + blk * Tq * Tk, a, blk, Tq, Tk, p, seed, stream);
                pa = attd + blk * Tq * Tk;
            }
            /* out_bh (Tq, D), row stride I = probabilities (Tq, Tk) v (Tk, D) */
            gemm_f32(0, 0, Tq, D, Tk, 1.0f, pa, Tk, vb, I, 0.0f, out + (size_t)b * Tq * I + h * D, I);
        }
    }
}

void t5_attention_backward(float *dq, float *dk, float *dv, float *datt, float *attd, const float *dout,
                           const float *q, const float *k, const float *v, const float *att, int B, int Tq,
                           int Tk, int NH, int D, float p, uint64_t seed, uint64_t stream) {
    int I = NH * D;
    int drop = p > 0.0f;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            size_t oq = (size_t)b * Tq * I + h * D, ok = (size_t)b * Tk * I + h * D;
            size_t blk = (size_t)b * NH + h;
            const float *a = att + blk * Tq * Tk; /* (Tq, Tk) */
            float *da = datt + blk * Tq * Tk;
            const float *g = dout + oq; /* (Tq, D), stride I */
            const float *pa = a;
            if (drop) {
                att_dropout(attd + blk * Tq * Tk, a, blk, Tq, Tk, p, seed, stream);
                pa = attd + blk * Tq * Tk;
            }
            /* d(probabilities used) = g v^T;  dv += used^T g */
            gemm_f32(0, 1, Tq, Tk, D, 1.0f, g, I, v + ok, I, 0.0f, da, Tk);
            gemm_f32(1, 0, Tk, D, Tq, 1.0f, pa, Tk, g, I, 1.0f, dv + ok, I);
            if (drop) att_dropout(da, da, blk, Tq, Tk, p, seed, stream);
            /* softmax: dscore = a * (da - sum(a * da)) per row (masked keys: a = 0) */
            for (int i = 0; i < Tq; i++) {
                const float *ar = a + (size_t)i * Tk;
                float *dr = da + (size_t)i * Tk;
                float dot = 0.0f;
                for (int j = 0; j < Tk; j++) dot += ar[j] * dr[j];
                for (int j = 0; j < Tk; j++) dr[j] = ar[j] * (dr[j] - dot);
            }
            /* scores = q k^T: dq += dscore k, dk += dscore^T q */
            gemm_f32(0, 0, Tq, D, Tk, 1.0f, da, Tk, k + ok, I, 1.0f, dq + oq, I);
            gemm_f32(1, 0, Tk, D, Tq, 1.0f, da, Tk, q + oq, I, 1.0f, dk + ok, I);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* the relative position bias */

int t5_relative_bucket(int rel, int bidirectional, int NB, int max_distance) {
    int base = 0, n = NB, d;
    if (bidirectional) {
        n = NB / 2;
        base = rel > 0 ? n : 0;
        d = abs(rel);
    } else {
        d = rel < 0 ? -rel : 0;
    }
    int max_exact = n / 2;
    if (d < max_exact) return base + d;
    /* float32 as torch: log(d / max_exact) / log(max_distance / max_exact) (a double, rounded) * (n - max_exact) */
    float v = logf((float)d / (float)max_exact) / (float)log((double)max_distance / max_exact) *
              (float)(n - max_exact);
    int large = max_exact + (int)v;
    return base + (large < n - 1 ? large : n - 1);
}

void t5_buckets(int *bk, int bidirectional, int NB, int max_distance, int T) {
    for (int r = -(T - 1); r <= T - 1; r++) bk[r + T - 1] = t5_relative_bucket(r, bidirectional, NB, max_distance);
}

void t5_relbias_forward(float *bias, const float *relb, const int *bk, int NH, int T) {
#pragma omp parallel for
    for (int h = 0; h < NH; h++)
        for (int i = 0; i < T; i++) {
            float *o = bias + ((size_t)h * T + i) * T;
            for (int j = 0; j < T; j++) o[j] = relb[(size_t)bk[j - i + T - 1] * NH + h];
        }
}

void t5_relbias_backward(float *drelb, double *acc, const float *dscores, const int *bk, int B, int NH, int NB,
                         int T) {
    /* per head: its buckets' sums in double, then once into drelb (the heads' columns are apart) */
#pragma omp parallel for
    for (int h = 0; h < NH; h++) {
        double *ah = acc + (size_t)h * NB;
        for (int k = 0; k < NB; k++) ah[k] = 0.0;
        for (int s = 0; s < B; s++)
            for (int i = 0; i < T; i++) {
                const float *d = dscores + (((size_t)s * NH + h) * T + i) * T;
                for (int j = 0; j < T; j++) ah[bk[j - i + T - 1]] += d[j];
            }
        for (int k = 0; k < NB; k++) drelb[(size_t)k * NH + h] += (float)ah[k];
    }
}
