/* gemm.c: row-major GEMM on oneDNN's sgemm, and the linear layer on top
 * (its bias gradient: colsum_add, kernels/simd/colsum.c). */
#include "kernels/gemm.h"

#include <oneapi/dnnl/dnnl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "pifi/err.h"

static atomic_int g_faults; /* accumulating products sgemm could not finish (out of memory) */

int gemm_f32_take_faults(void) { return atomic_exchange(&g_faults, 0); }

/* C = alpha op(A) op(B) + beta C one dot product at a time, for when
 * sgemm has no memory for its packing buffers (a --max-memory limit, a full
 * machine): slow, but it needs none. */
static void gemm_f32_plain(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                           const float *B, int ldb, float beta, float *C, int ldc) {
#pragma omp parallel for schedule(static)
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float acc = 0.0f;
            for (int k = 0; k < K; k++)
                acc += (ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) *
                       (tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]);
            float *c = C + (size_t)i * ldc + j;
            *c = alpha * acc + (beta != 0.0f ? beta * *c : 0.0f);
        }
}

void gemm_f32(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc) {
    if (M == 0 || N == 0) return;
    dnnl_status_t s = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb,
                                 beta, C, ldc);
    if (s == dnnl_out_of_memory) {
        /* Its threads allocate their buffers as they start, so some parts of
         * C may be done: with beta 0 they are simply recomputed; with beta 1
         * they cannot be told apart, so the product is counted as failed
         * (gemm_f32_take_faults: the model's pass returns an error). */
        if (beta == 0.0f) gemm_f32_plain(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        else atomic_fetch_add(&g_faults, 1);
    } else if (s != dnnl_success) {
        /* dnnl_invalid_arguments, the only other status: sizes or strides
         * that do not fit, a bug in the caller (pifi), never the data's */
        pifi_bug("dnnl_sgemm failed (%d) M=%d N=%d K=%d", (int)s, M, N, K);
    }
}

void matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int BT,
                    int C, int OC) {
    gemm_f32(0, 1, BT, OC, C, 1.0f, inp, C, weight, C, 0.0f, out, OC);
    if (bias) {
#pragma omp parallel for
        for (int i = 0; i < BT; i++) {
            float *o = out + (size_t)i * OC;
            for (int j = 0; j < OC; j++) o[j] += bias[j];
        }
    }
}

void matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                     const float *weight, int BT, int C, int OC) {
    if (dinp) gemm_f32(0, 0, BT, C, OC, 1.0f, dout, OC, weight, C, 1.0f, dinp, C);
    if (dweight) gemm_f32(1, 0, OC, C, BT, 1.0f, dout, OC, inp, C, 1.0f, dweight, C);
    if (dbias) colsum_add(dbias, dout, BT, OC);
}
