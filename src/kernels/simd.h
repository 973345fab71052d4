/* simd.h: pifi's own vectorised kernels, declared once, and their dispatch.
 *
 * The kernels' bodies live in src/kernels/simd/. CMake compiles its
 * files once per instruction-set level (on x86-64 with GCC or clang:
 * -march=x86-64-v4 as "avx512", -march=x86-64-v3 as "avx2", and the
 * default flags as "baseline"; elsewhere only "baseline"), each time with
 * SIMD_SUFFIX set to the level's name, so kernel k of level L is the symbol
 * k_L (SIMD_NAME(k) in those files) and simd/table.c makes the level's
 * table simd_kernels_L. simd.c picks one table at first use: the best level
 * the CPU runs, capped by PIFI_MAX_ISA or pifi_kernel_isa_set_max
 * (src/pifi/compute.h), and defines the plain names below, which call
 * through it. Callers use the plain names (activation_forward, ...).
 *
 * All levels compute the same formulas; results differ only by the order
 * of the vector reductions (softmax sums, the 16-, 8- or 4-lane partial
 * sums) and not by FMA: ISO C mode contracts no a*b+c. */
#ifndef PIFI_KERNELS_SIMD_H
#define PIFI_KERNELS_SIMD_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/activation.h"
#include "kernels/dropout.h"

/* The kernels: each row is name, parameters, and the parameters as
 * arguments. Every kernel returns void. The public ones keep the
 * declarations of their headers (kernels/activation.h, dropout.h, gemm.h,
 * compute.h); the others are declared below. */
#define SIMD_KERNELS(X)                                                                                    \
    /* activation.c */                                                                                     \
    X(activation_forward, (Activation a, float *out, const float *inp, size_t N), (a, out, inp, N))        \
    X(activation_backward, (Activation a, float *dinp, const float *inp, const float *dout, size_t N),     \
      (a, dinp, inp, dout, N))                                                                             \
    /* softmax.c */                                                                                        \
    X(softmax_block, (float *a, const int32_t *m, int T), (a, m, T))                                       \
    X(softmax_back_block, (float *d, const float *a, int T), (d, a, T))                                    \
    X(softmax_row, (float *row, const int32_t *m, int T, int kend, float softcap), (row, m, T, kend, softcap)) \
    /* dropout.c */                                                                                        \
    X(dropout_forward, (float *out, const float *inp, size_t N, float p, uint64_t seed, uint64_t stream),  \
      (out, inp, N, p, seed, stream))                                                                      \
    X(dropout_apply, (float *dst, const float *src, size_t n, const DropoutMask *d, uint64_t base),        \
      (dst, src, n, d, base))                                                                              \
    /* bf16.c */                                                                                           \
    X(bf16_from_f32, (uint16_t *dst, const float *src, size_t n), (dst, src, n))                           \
    X(bf16_to_f32, (float *dst, const uint16_t *src, size_t n), (dst, src, n))                             \
    /* colsum.c */                                                                                         \
    X(colsum_add, (float *dst, const float *x, int N, int C), (dst, x, N, C))                              \
    /* adam.c */                                                                                           \
    X(adam_tensor,                                                                                         \
      (float *restrict w, const float *restrict g, float *restrict m, float *restrict v, int64_t n,        \
       int mode, float b1, float b2, float eps, float step_size, float bc2_sqrt, float wd, float shrink),  \
      (w, g, m, v, n, mode, b1, b2, eps, step_size, bc2_sqrt, wd, shrink))

/* The kernels without a header of their own (the others are in theirs). */

/* Rows of a (T, T) score block -> probabilities over the keys m marks real
 * (m NULL: all); a row with no real key becomes zeros. */
void softmax_block(float *a, const int32_t *m, int T);
/* Softmax backward on a (T, T) block: d = a * (d - rowsum(a * d)). */
void softmax_back_block(float *d, const float *a, int T);
/* Row (T) of a score block over keys [0, kend) that m marks real (NULL:
 * all): soft-capped (softcap > 0), then softmax; keys from kend on get 0. */
void softmax_row(float *row, const int32_t *m, int T, int kend, float softcap);
/* Adam/AdamW on one tensor of n elements (train/optim.c's optim_step).
 * mode 0: plain Adam; 1: Adam with L2 (wd added to the gradient, torch's
 * Adam weight_decay); 2: AdamW (the weight multiplied by shrink first). */
void adam_tensor(float *restrict w, const float *restrict g, float *restrict m, float *restrict v, int64_t n,
                 int mode, float b1, float b2, float eps, float step_size, float bc2_sqrt, float wd, float shrink);

/* One level's kernels. */
typedef struct {
    const char *name; /* "avx512", "avx2", "baseline" */
#define SIMD_FIELD(name, params, args) void(*name) params;
    SIMD_KERNELS(SIMD_FIELD)
#undef SIMD_FIELD
} SimdKernels;

/* The table in effect (kernels/simd.c; tests check which one a level runs). */
const SimdKernels *simd_active(void);

/* Inside src/kernels/simd/: the name of kernel k at the level being compiled. */
#define SIMD_CAT2(a, b) a##_##b
#define SIMD_CAT(a, b) SIMD_CAT2(a, b)
#ifdef SIMD_SUFFIX
#define SIMD_NAME(k) SIMD_CAT(k, SIMD_SUFFIX)
#define SIMD_PROTO(name, params, args) void SIMD_NAME(name) params;
SIMD_KERNELS(SIMD_PROTO)
#undef SIMD_PROTO
extern const SimdKernels SIMD_NAME(simd_kernels);
#endif

#endif
