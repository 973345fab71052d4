/* gemm.c: row-major GEMM on oneDNN's sgemm, and the linear layer on top
 * (its bias gradient: colsum_add, kernels/simd/colsum.c). */
#include "kernels/gemm.h"

#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>

void gemm_f32(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc) {
    if (M == 0 || N == 0) return;
    dnnl_status_t s = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb,
                                 beta, C, ldc);
    if (s != dnnl_success) {
        /* Only reachable with inconsistent sizes: a programming error. */
        fprintf(stderr, "pifi: internal error: dnnl_sgemm failed (%d) M=%d N=%d K=%d\n", (int)s, M,
                N, K);
        abort();
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
