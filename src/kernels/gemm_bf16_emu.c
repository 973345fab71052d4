/* gemm_bf16_emu.c: bf16 products without bf16 instructions (compute.h,
 * gemm_bf16_emulated): what --precision bf16 computes on a CPU without
 * AVX512-BF16 or AMX, and wherever oneDNN cannot run a bf16 primitive.
 *
 * A bf16 number is an fp32 number with the low 16 bits of its mantissa zero,
 * so widening is exact, and the product of two of them (8-bit mantissas) is
 * exact in fp32: multiplying the widened operands with sgemm, which
 * accumulates in fp32, computes what oneDNN's bf16 kernels compute, up to
 * the order of the sums. The operands are widened a block at a time into
 * cx->emu, (2, COMPUTE_EMU_ELEMS) floats: 8 MB whatever the shapes. */
#include <stdlib.h>

#include "kernels/compute.h"
#include "kernels/gemm.h"

/* dst (rows, cols) = the bf16 block src (rows, cols), row stride ld, widened
 * (bf16_to_f32: the dispatched kernel, kernels/simd/bf16.c). */
static void widen(float *dst, const uint16_t *src, int rows, int cols, int ld) {
#pragma omp parallel for schedule(static) if ((size_t)rows * cols > 65536)
    for (int i = 0; i < rows; i++) bf16_to_f32(dst + (size_t)i * cols, src + (size_t)i * ld, (size_t)cols);
}

/* The last resort, when not even the 8 MB of blocks could be had: one dot
 * product per element, accumulated in fp32. Slow, but it cannot fail. */
static void plain(int ta, int tb, int M, int N, int K, float alpha, const uint16_t *A, int lda, const uint16_t *B,
                  int ldb, float beta, float *C, int ldc) {
#pragma omp parallel for schedule(static)
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float acc = 0.0f;
            for (int k = 0; k < K; k++) {
                float a = bf16_value(ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]);
                float b = bf16_value(tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]);
                acc += a * b;
            }
            float *c = C + (size_t)i * ldc + j;
            *c = alpha * acc + (beta != 0.0f ? beta * *c : 0.0f);
        }
}

void gemm_bf16_emulated(PifiCompute *cx, int ta, int tb, int M, int N, int K, float alpha, const uint16_t *A,
                        int lda, const uint16_t *B, int ldb, float beta, float *C, int ldc, const float *bias) {
    if (M == 0 || N == 0) return;
    const size_t E = COMPUTE_EMU_ELEMS;
    if (!cx->emu) cx->emu = malloc(2 * E * sizeof(float));
    if (!cx->emu || K == 0) {
        plain(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    } else {
        /* blocks: op(A) (mb, kb) and op(B) (kb, nb), each at most E elements */
        int kb = (size_t)K < E / 64 ? K : (int)(E / 64);
        int mb = (size_t)M < E / kb ? M : (int)(E / kb), nb = (size_t)N < E / kb ? N : (int)(E / kb);
        float *a = cx->emu, *b = cx->emu + E;
        for (int m0 = 0; m0 < M; m0 += mb) {
            int m = M - m0 < mb ? M - m0 : mb;
            for (int n0 = 0; n0 < N; n0 += nb) {
                int n = N - n0 < nb ? N - n0 : nb;
                for (int k0 = 0; k0 < K; k0 += kb) {
                    int k = K - k0 < kb ? K - k0 : kb;
                    /* op(A)[m0:m0+m, k0:k0+k], kept in A's orientation */
                    if (ta) widen(a, A + (size_t)k0 * lda + m0, k, m, lda);
                    else widen(a, A + (size_t)m0 * lda + k0, m, k, lda);
                    /* op(B)[k0:k0+k, n0:n0+n], kept in B's orientation */
                    if (tb) widen(b, B + (size_t)n0 * ldb + k0, n, k, ldb);
                    else widen(b, B + (size_t)k0 * ldb + n0, k, n, ldb);
                    gemm_f32(ta, tb, m, n, k, alpha, a, ta ? m : k, b, tb ? k : n, k0 ? 1.0f : beta,
                             C + (size_t)m0 * ldc + n0, ldc);
                }
            }
        }
    }
    if (bias) {
#pragma omp parallel for schedule(static) if ((size_t)M * N > 65536)
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] += bias[j];
    }
}
