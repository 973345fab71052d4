/* simd/colsum.c: column sums of a matrix (the bias gradient of the linear
 * layer, kernels/gemm.c). Compiled once per level (kernels/simd.h). */
#include "kernels/simd.h"

/* Columns in blocks of 64 (four cache lines per row), each column summed
 * over the rows in order: the result depends neither on the thread count
 * nor on the level. */
void SIMD_NAME(colsum_add)(float *dst, const float *x, int N, int C) {
    int nblk = (C + 63) / 64;
#pragma omp parallel for schedule(static) if (nblk > 1 && (size_t)N * C > 32768)
    for (int blk = 0; blk < nblk; blk++) {
        int c0 = blk * 64, n = C - c0 < 64 ? C - c0 : 64;
        float acc[64] = {0};
        for (int i = 0; i < N; i++) {
            const float *g = x + (size_t)i * C + c0;
#pragma omp simd
            for (int j = 0; j < n; j++) acc[j] += g[j];
        }
        for (int j = 0; j < n; j++) dst[c0 + j] += acc[j];
    }
}
