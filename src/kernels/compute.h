/* compute.h: the compute context of a model (PifiCompute): its precision, the
 * oneDNN matmul primitives it has created (one per shape, cached), and the
 * scratch its bf16 and int8 paths convert activations into; and the linear
 * layer on top of it, which picks fp32, bf16 or int8-weight arithmetic.
 *
 * A context belongs to one model (PifiModel owns one and lends it to its
 * encoder and LLM layer); it is not thread-safe, like the model. All scratch
 * is sized up front (compute_reserve): the passes never allocate. */
#ifndef PIFI_KERNELS_COMPUTE_H
#define PIFI_KERNELS_COMPUTE_H

#include <stddef.h>
#include <stdint.h>

#include "pifi/compute.h"
#include "pifi/err.h"

typedef struct MatmulCache MatmulCache;

typedef struct PifiCompute {
    PifiPrecision prec;
    MatmulCache *mm;       /* oneDNN engine, stream and primitives; created on first use */
    uint16_t *s16[2];      /* bf16 copies of a product's operands */
    size_t s16_cap;        /* elements in each */
    void *sq;              /* dequantized int8 weight rows (bf16 or fp32) */
    size_t sq_cap;         /* bytes */
    double flops;          /* matrix-product FLOPs done through this context (benchmarks) */
    int packing;           /* compute_set_packing */
    int emulate_bf16;      /* 1: bf16 products emulated even where the CPU has bf16 (tests) */
    float *emu;            /* (2, COMPUTE_EMU_ELEMS) fp32 blocks of an emulated product's operands */
    long long fallbacks;   /* bf16 products oneDNN could not run natively, emulated instead */
} PifiCompute;

/* A fresh context (nothing allocated until needed). */
void compute_init(PifiCompute *cx, PifiPrecision prec);
/* Change the context's precision: its owner does it (pifi_model_set_precision
 * for a model), then tells the encoder and layer that use it. */
void compute_set_precision(PifiCompute *cx, PifiPrecision prec);
void compute_free(PifiCompute *cx);

/* Make room for converting operands of up to n elements (activation
 * matrices, gradients) and, when quant_row is > 0, for dequantizing
 * COMPUTE_QROWS weight rows of quant_row elements. Only grows. */
int compute_reserve(PifiCompute *cx, size_t n, size_t quant_row, PifiErr *err);
#define COMPUTE_QROWS 128

/* Packed weights. on != 0 promises that the bf16 weights the linear layers
 * of this context multiply will not change from now on (inference: pifi
 * predict, eval, bench): each (up to 2^23 elements) is then reordered once, at its first product,
 * into the blocked layout oneDNN's matmul prefers, and that copy is used from
 * then on (unpacked, the primitive repacks the weight at every call, which
 * dominates at batch 1). Costs one more copy of the bf16 weights. on == 0
 * frees the copies. Results are the same bits either way. */
void compute_set_packing(PifiCompute *cx, int on);
/* The weights changed (bf16 copies refreshed): drop the packed copies. */
void compute_weights_changed(PifiCompute *cx);

/* Round-to-nearest-even fp32 -> bf16 (NaN stays NaN), and back (exact). */
void bf16_from_f32(uint16_t *dst, const float *src, size_t n);
void bf16_to_f32(float *dst, const uint16_t *src, size_t n);
static inline uint16_t bf16_round(float f) {
    union { float f; uint32_t u; } v = {f};
    if ((v.u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((v.u >> 16) | 0x40); /* quiet NaN */
    return (uint16_t)((v.u + 0x7fffu + ((v.u >> 16) & 1u)) >> 16);
}
static inline float bf16_value(uint16_t h) {
    union { uint32_t u; float f; } v = {(uint32_t)h << 16};
    return v.f;
}

/* C (M, N) fp32 = alpha op(A) op(B) + beta C with A, B bf16 (row-major,
 * op = transpose when ta/tb), accumulated in fp32; bias (N) fp32 or NULL is
 * added to every row. beta must be 0 or 1. A oneDNN matmul primitive per
 * distinct shape, created once and cached in cx. Deterministic for a given
 * thread count. Never fails: on a CPU without native bf16
 * (pifi_cpu_has_bf16), or when oneDNN cannot create or run the primitive,
 * the product is emulated (gemm_bf16_emulated). */
void gemm_bf16(PifiCompute *cx, int ta, int tb, int M, int N, int K, float alpha, const uint16_t *A,
               int lda, const uint16_t *B, int ldb, float beta, float *C, int ldc, const float *bias);

/* The same product without bf16 instructions (gemm_bf16_emu.c): blocks of
 * the operands widened to fp32 (exactly: a bf16 value is an fp32 value) and
 * multiplied by gemm_f32, so each product of two bf16 numbers is exact and
 * accumulated in fp32, as in oneDNN's bf16 kernels: the results differ from
 * native ones by summation order only. Uses cx->emu (COMPUTE_EMU_ELEMS x 2
 * floats, allocated at the first emulated product); without memory for it, a
 * plain loop. */
void gemm_bf16_emulated(PifiCompute *cx, int ta, int tb, int M, int N, int K, float alpha, const uint16_t *A,
                        int lda, const uint16_t *B, int ldb, float beta, float *C, int ldc, const float *bias);
#define COMPUTE_EMU_ELEMS ((size_t)1 << 20)

/* C (M, N) fp32 = A (M, K) W^T + bias for a weight W (N, K) bf16 that does
 * not change (compute_set_packing): W is packed at its first use. Falls
 * back to gemm_bf16 when packing is off, W has more than 2^23 elements (the
 * gain is small there, the memory not: compute.c), or oneDNN has no packed
 * kernel. */
void gemm_bf16_weight(PifiCompute *cx, int M, int N, int K, const uint16_t *A, const uint16_t *W, float *C,
                      const float *bias);

/* The weight (OC, C) of a linear layer, as PyTorch stores it, in whichever
 * forms the model holds: fp32 (master weights), a bf16 copy, or int8 with a
 * scale per output row (w = scale[o] * q[o][c]). At least one is set. */
typedef struct {
    const float *f32;
    const uint16_t *bf16;
    const int8_t *q8;
    const float *qscale; /* (OC) */
} LinearW;

static inline LinearW linw(const float *f32, const uint16_t *bf16) {
    LinearW w = {f32, bf16, NULL, NULL};
    return w;
}

/* out (BT, OC) = inp (BT, C) w^T + bias. fp32 context or no bf16 copy: exactly
 * matmul_forward (kernels/gemm.h). bf16: inp rounded to bf16, bf16 product.
 * int8 weights: dequantized COMPUTE_QROWS rows at a time (to bf16 in a bf16
 * context, else fp32). */
void linear_forward(PifiCompute *cx, float *out, const float *inp, LinearW w, const float *bias,
                    int BT, int C, int OC);

/* Backward, ACCUMULATING as matmul_backward: dinp += dout w, dweight +=
 * dout^T inp, dbias += column sums; NULL ones skipped. In a bf16 context dout
 * and inp are rounded to bf16 for the products (fp32 accumulation). */
void linear_backward(PifiCompute *cx, float *dinp, float *dweight, float *dbias, const float *dout,
                     const float *inp, LinearW w, int BT, int C, int OC);

/* Does cx take the bf16 path? */
static inline int compute_bf16(const PifiCompute *cx) { return cx && cx->prec == PIFI_PREC_BF16; }

#endif
