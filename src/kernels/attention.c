/* attention.c: softmax(q k^T / sqrt(hs) [+ bias] + mask) v, one GEMM pair per (b, h),
 * and its backward (four GEMMs per (b, h) around the softmax Jacobian). The
 * softmax rows are vectorised kernels (kernels/simd/softmax.c). */
#pragma GCC optimize("no-trapping-math")

#include "kernels/attention.h"

#include <math.h>
#include <stddef.h>

#include "kernels/dropout.h"
#include "kernels/gemm.h"
#include "kernels/simd.h"

/* Apply the dropout mask of head h of global row `row` to a (T, T) block:
 * dst = src * mask. Element (i, j) takes mask index
 * dropout_row_base(row) + h 2^32 + i 2^16 + j, a function of the example
 * and the position only: neither the padded length T nor how the global
 * batch was split into (micro-)batches changes it (needs T <= 2^16,
 * NH <= 2^8). */
static void att_dropout(float *dst, const float *src, uint64_t row, int h, int T, float p, uint64_t seed,
                        uint64_t stream) {
    if (p >= 1.0f) {
        for (size_t i = 0; i < (size_t)T * T; i++) dst[i] = 0.0f;
        return;
    }
    DropoutMask d = dropout_mask(p, seed, stream);
    uint64_t base = dropout_row_base(row) + ((uint64_t)h << 32);
    for (int i = 0; i < T; i++)
        dropout_apply(dst + (size_t)i * T, src + (size_t)i * T, (size_t)T, &d, base + ((uint64_t)i << 16));
}

void attention_forward_bias(float *out, float *att, float *attd, const float *qkv, const int32_t *mask,
                            const float *bias, int B, int T, int C, int NH, float p, uint64_t seed,
                            uint64_t stream, uint64_t row0) {
    int hs = C / NH;
    int C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    int drop = p > 0.0f;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            const float *q = qkv + (size_t)b * T * C3 + h * hs; /* (T, hs), row stride 3C */
            const float *k = q + C;
            const float *v = q + 2 * C;
            size_t base = ((size_t)b * NH + h) * T * T;
            float *a = att + base; /* (T, T) */
            const int32_t *m = mask ? mask + (size_t)b * T : NULL;
            /* scores (T, T) = scale * q k^T */
            gemm_f32(0, 1, T, T, hs, scale, q, C3, k, C3, 0.0f, a, T);
            if (bias) {
                const float *bh = bias + (size_t)h * T * T;
                for (size_t i = 0; i < (size_t)T * T; i++) a[i] += bh[i];
            }
            softmax_block(a, m, T);
            const float *pa = a;
            if (drop) {
                att_dropout(attd + base, a, row0 + (uint64_t)b, h, T, p, seed, stream);
                pa = attd + base;
            }
            /* out_bh (T, hs), row stride C = att (T, T) v (T, hs) */
            gemm_f32(0, 0, T, hs, T, 1.0f, pa, T, v, C3, 0.0f, out + (size_t)b * T * C + h * hs, C);
        }
    }
}

void attention_forward_dropout(float *out, float *att, float *attd, const float *qkv,
                               const int32_t *mask, int B, int T, int C, int NH, float p,
                               uint64_t seed, uint64_t stream, uint64_t row0) {
    attention_forward_bias(out, att, attd, qkv, mask, NULL, B, T, C, NH, p, seed, stream, row0);
}

void attention_forward(float *out, float *att, const float *qkv, const int32_t *mask, int B, int T,
                       int C, int NH) {
    attention_forward_dropout(out, att, NULL, qkv, mask, B, T, C, NH, 0.0f, 0, 0, 0);
}

void attention_backward(float *dqkv, float *datt, float *attd, const float *dout, const float *qkv,
                        const float *att, int B, int T, int C, int NH, float p, uint64_t seed,
                        uint64_t stream, uint64_t row0) {
    int hs = C / NH;
    int C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    int drop = p > 0.0f;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            size_t off = (size_t)b * T * C3 + h * hs;
            const float *q = qkv + off, *k = q + C, *v = q + 2 * C; /* (T, hs), stride 3C */
            float *dq = dqkv + off, *dk = dq + C, *dv = dq + 2 * C;
            const float *g = dout + (size_t)b * T * C + h * hs;    /* (T, hs), stride C */
            size_t base = ((size_t)b * NH + h) * T * T;
            const float *a = att + base; /* (T, T) probabilities */
            float *da = datt + base;     /* (T, T) */
            const float *pa = a;         /* what multiplied v in the forward */
            if (drop) {
                att_dropout(attd + base, a, row0 + (uint64_t)b, h, T, p, seed, stream);
                pa = attd + base;
            }
            /* d(dropped probs) (T, T) = g v^T;  dv += dropped^T g */
            gemm_f32(0, 1, T, T, hs, 1.0f, g, C, v, C3, 0.0f, da, T);
            gemm_f32(1, 0, T, hs, T, 1.0f, pa, T, g, C, 1.0f, dv, C3);
            if (drop) att_dropout(da, da, row0 + (uint64_t)b, h, T, p, seed, stream);
            /* softmax: dscore = a * (da - sum(a * da)) per row */
            softmax_back_block(da, a, T);
            /* scores = scale q k^T:  dq += scale dscore k,  dk += scale dscore^T q */
            gemm_f32(0, 0, T, hs, T, scale, da, T, k, C3, 1.0f, dq, C3);
            gemm_f32(1, 0, T, hs, T, scale, da, T, q, C3, 1.0f, dk, C3);
        }
    }
}
