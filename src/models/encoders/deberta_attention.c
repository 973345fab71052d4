/* deberta_attention.c: DeBERTa's disentangled self-attention core, forward
 * and backward, one (b, h) block at a time (the projections are the layer's,
 * deberta_forward.c):
 *
 *   scores[i][j] = s (q_i . k_j + q_i . pk[c2p(i, j)] + k_j . pq[p2c(i, j)])
 *   s = 1 / sqrt(hs (1 + c2p + p2c))
 *   probs = softmax(scores masked where mask[i] mask[j] == 0 by -FLT_MAX)
 *
 * as transformers' DisentangledSelfAttention (v1 and v2): content-to-position
 * is computed for every row of pk ((T, R) by one GEMM) and gathered, as is
 * position-to-content. A padded query's scores are all -FLT_MAX, so its
 * probabilities are uniform (1/T) and, masked_fill stopping the gradient,
 * its scores get none. Every product is gemm_f32. */
#include <float.h>
#include <stddef.h>
#include <string.h>

#include "kernels/dropout.h"
#include "kernels/gemm.h"
#include "kernels/simd.h"
#include "models/encoders/deberta_internal.h"

/* Where head h's q, k, v start in a row of qkv (3C). */
static void head_offsets(const DebertaAttn *d, int h, size_t *q, size_t *k, size_t *v) {
    int hs = d->C / d->NH;
    if (d->v1) { /* in_proj: q, k, v of each head side by side */
        *q = (size_t)h * 3 * hs, *k = *q + hs, *v = *q + 2 * hs;
    } else {
        *q = (size_t)h * hs, *k = *q + d->C, *v = *q + 2 * (size_t)d->C;
    }
}

/* The dropout of head h of global row `row` on a (T, T) block, keyed as
 * kernels/attention.c keys it. */
static void att_dropout(float *dst, const float *src, uint64_t row, int h, int T, float p, uint64_t seed,
                        uint64_t stream) {
    DropoutMask dm = dropout_mask(p, seed, stream);
    uint64_t base = dropout_row_base(row) + ((uint64_t)h << 32);
    for (int i = 0; i < T; i++)
        dropout_apply(dst + (size_t)i * T, src + (size_t)i * T, (size_t)T, &dm, base + ((uint64_t)i << 16));
}

void deberta_attention_forward(float *out, float *att, float *attd, float *c2p_s, float *p2c_s, const float *qkv,
                               const float *pk, const float *pq, const DebertaAttn *d) {
    int B = d->B, T = d->T, C = d->C, NH = d->NH, R = d->R, hs = C / NH, C3 = 3 * C;
    float s = d->scale;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            size_t oq, ok, ov;
            head_offsets(d, h, &oq, &ok, &ov);
            const float *q = qkv + (size_t)b * T * C3 + oq; /* (T, hs), row stride 3C */
            const float *k = qkv + (size_t)b * T * C3 + ok;
            const float *v = qkv + (size_t)b * T * C3 + ov;
            size_t blk = (size_t)b * NH + h;
            float *a = att + blk * T * T; /* (T, T) */
            const int32_t *m = d->mask + (size_t)b * T;
            gemm_f32(0, 1, T, T, hs, s, q, C3, k, C3, 0.0f, a, T);
            if (d->c2p) { /* cs (T, R) = q pk_h^T, then a[i][j] += s cs[i][c2p(i, j)] */
                float *cs = c2p_s + blk * T * R;
                gemm_f32(0, 1, T, R, hs, 1.0f, q, C3, pk + (size_t)h * hs, C, 0.0f, cs, R);
                for (int i = 0; i < T; i++)
                    for (int j = 0; j < T; j++) a[(size_t)i * T + j] += s * cs[(size_t)i * R + d->c2p[(size_t)i * T + j]];
            }
            if (d->p2c) { /* ps (T, R) = k pq_h^T, then a[i][j] += s ps[j][p2c(i, j)] */
                float *ps = p2c_s + blk * T * R;
                gemm_f32(0, 1, T, R, hs, 1.0f, k, C3, pq + (size_t)h * hs, C, 0.0f, ps, R);
                for (int i = 0; i < T; i++)
                    for (int j = 0; j < T; j++) a[(size_t)i * T + j] += s * ps[(size_t)j * R + d->p2c[(size_t)i * T + j]];
            }
            softmax_block(a, m, T); /* masked keys: exactly 0, as exp(-FLT_MAX - max) */
            for (int i = 0; i < T; i++)
                if (!m[i]) /* every score -FLT_MAX: uniform */
                    for (int j = 0; j < T; j++) a[(size_t)i * T + j] = 1.0f / (float)T;
            const float *pa = a;
            if (d->p > 0.0f) {
                att_dropout(attd + blk * T * T, a, d->row0 + (uint64_t)b, h, T, d->p, d->seed, d->stream);
                pa = attd + blk * T * T;
            }
            /* the heads concatenated as transformers does: head h at columns h hs */
            gemm_f32(0, 0, T, hs, T, 1.0f, pa, T, v, C3, 0.0f, out + (size_t)b * T * C + (size_t)h * hs, C);
        }
    }
}

void deberta_attention_backward(float *dqkv, float *dpk_b, float *dpq_b, float *datt, float *attd, float *c2p_s,
                                float *p2c_s, const float *dout, const float *qkv, const float *att, const float *pk,
                                const float *pq, const DebertaAttn *d) {
    int B = d->B, T = d->T, C = d->C, NH = d->NH, R = d->R, hs = C / NH, C3 = 3 * C;
    float s = d->scale;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            size_t oq, ok, ov;
            head_offsets(d, h, &oq, &ok, &ov);
            size_t row = (size_t)b * T * C3;
            const float *q = qkv + row + oq, *k = qkv + row + ok, *v = qkv + row + ov;
            float *dq = dqkv + row + oq, *dk = dqkv + row + ok, *dv = dqkv + row + ov;
            const float *g = dout + (size_t)b * T * C + (size_t)h * hs; /* (T, hs), stride C */
            size_t blk = (size_t)b * NH + h;
            const float *a = att + blk * T * T;
            float *da = datt + blk * T * T;
            const int32_t *m = d->mask + (size_t)b * T;
            const float *pa = a;
            if (d->p > 0.0f) {
                att_dropout(attd + blk * T * T, a, d->row0 + (uint64_t)b, h, T, d->p, d->seed, d->stream);
                pa = attd + blk * T * T;
            }
            gemm_f32(0, 1, T, T, hs, 1.0f, g, C, v, C3, 0.0f, da, T);   /* d(probs) = g v^T */
            gemm_f32(1, 0, T, hs, T, 1.0f, pa, T, g, C, 1.0f, dv, C3);  /* dv += probs^T g */
            if (d->p > 0.0f) att_dropout(da, da, d->row0 + (uint64_t)b, h, T, d->p, d->seed, d->stream);
            softmax_back_block(da, a, T);
            for (int i = 0; i < T; i++) /* masked_fill: no gradient into a padded query's scores */
                if (!m[i]) memset(da + (size_t)i * T, 0, (size_t)T * sizeof *da);
            gemm_f32(0, 0, T, hs, T, s, da, T, k, C3, 1.0f, dq, C3);    /* dq += s dscores k */
            gemm_f32(1, 0, T, hs, T, s, da, T, q, C3, 1.0f, dk, C3);    /* dk += s dscores^T q */
            if (d->c2p) { /* dcs[i][c2p(i, j)] += s da[i][j]; dq += dcs pk_h; dpk_h = dcs^T q */
                float *cs = c2p_s + blk * T * R;
                memset(cs, 0, (size_t)T * R * sizeof *cs);
                for (int i = 0; i < T; i++)
                    for (int j = 0; j < T; j++) cs[(size_t)i * R + d->c2p[(size_t)i * T + j]] += s * da[(size_t)i * T + j];
                gemm_f32(0, 0, T, hs, R, 1.0f, cs, R, pk + (size_t)h * hs, C, 1.0f, dq, C3);
                gemm_f32(1, 0, R, hs, T, 1.0f, cs, R, q, C3, 0.0f, dpk_b + (size_t)b * R * C + (size_t)h * hs, C);
            }
            if (d->p2c) { /* dps[j][p2c(i, j)] += s da[i][j]; dk += dps pq_h; dpq_h = dps^T k */
                float *ps = p2c_s + blk * T * R;
                memset(ps, 0, (size_t)T * R * sizeof *ps);
                for (int i = 0; i < T; i++)
                    for (int j = 0; j < T; j++) ps[(size_t)j * R + d->p2c[(size_t)i * T + j]] += s * da[(size_t)i * T + j];
                gemm_f32(0, 0, T, hs, R, 1.0f, ps, R, pq + (size_t)h * hs, C, 1.0f, dk, C3);
                gemm_f32(1, 0, R, hs, T, 1.0f, ps, R, k, C3, 0.0f, dpq_b + (size_t)b * R * C + (size_t)h * hs, C);
            }
        }
    }
}
