/* linear.c: the linear layer in the arithmetic of a compute context (fp32,
 * bf16 products with fp32 accumulation, int8 weights dequantized on the fly).
 * The fp32 <-> bf16 conversions are vectorised kernels (kernels/simd/bf16.c). */
#include <stdio.h>
#include <stdlib.h>

#include "kernels/compute.h"
#include "kernels/gemm.h"

/* The passes never allocate: their callers reserve the scratch when they
 * size their activations (compute_reserve). Too little here is a bug in
 * that caller, not a condition of the data or the machine. */
static void need(const PifiCompute *cx, size_t n, size_t qbytes) {
    if (n <= cx->s16_cap && qbytes <= cx->sq_cap) return;
    pifi_bug("compute scratch of %zu/%zu elements/bytes is below %zu/%zu (compute_reserve)", cx->s16_cap, cx->sq_cap,
             n, qbytes);
}

/* Use the bf16 copy of w? Yes in a bf16 context, and whenever it is all there is. */
static int use_bf16(const PifiCompute *cx, LinearW w) { return w.bf16 && (compute_bf16(cx) || !w.f32); }

/* Rows [o0, o0 + rows) of an int8 weight, dequantized into cx->sq: bf16 when
 * bf16 != 0, else fp32. */
static void dequant_rows(PifiCompute *cx, LinearW w, int o0, int rows, int C, int bf16) {
    need(cx, 0, (size_t)rows * C * (bf16 ? 2 : 4));
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
        const int8_t *q = w.q8 + (size_t)(o0 + r) * C;
        float s = w.qscale[o0 + r];
        if (bf16) {
            uint16_t *d = (uint16_t *)cx->sq + (size_t)r * C;
            for (int c = 0; c < C; c++) d[c] = bf16_round(s * q[c]);
        } else {
            float *d = (float *)cx->sq + (size_t)r * C;
            for (int c = 0; c < C; c++) d[c] = s * q[c];
        }
    }
}

void linear_forward(PifiCompute *cx, float *out, const float *inp, LinearW w, const float *bias,
                    int BT, int C, int OC) {
    if (BT == 0) return;
    if (use_bf16(cx, w)) {
        need(cx, (size_t)BT * C, 0);
        bf16_from_f32(cx->s16[0], inp, (size_t)BT * C);
        gemm_bf16_weight(cx, BT, OC, C, cx->s16[0], w.bf16, out, bias);
        return;
    }
    if (!w.f32 && w.q8) {
        int bf = compute_bf16(cx);
        if (bf) {
            need(cx, (size_t)BT * C, 0);
            bf16_from_f32(cx->s16[0], inp, (size_t)BT * C);
        }
        for (int o0 = 0; o0 < OC; o0 += COMPUTE_QROWS) {
            int rows = OC - o0 < COMPUTE_QROWS ? OC - o0 : COMPUTE_QROWS;
            dequant_rows(cx, w, o0, rows, C, bf);
            if (bf) {
                gemm_bf16(cx, 0, 1, BT, rows, C, 1.0f, cx->s16[0], C, cx->sq, C, 0.0f, out + o0, OC,
                          bias ? bias + o0 : NULL);
            } else {
                gemm_f32(0, 1, BT, rows, C, 1.0f, inp, C, cx->sq, C, 0.0f, out + o0, OC);
                cx->flops += 2.0 * BT * rows * C;
            }
        }
        if (!bf && bias) {
#pragma omp parallel for schedule(static)
            for (int i = 0; i < BT; i++)
                for (int j = 0; j < OC; j++) out[(size_t)i * OC + j] += bias[j];
        }
        return;
    }
    matmul_forward(out, inp, w.f32, bias, BT, C, OC);
    if (cx) cx->flops += 2.0 * BT * OC * C;
}

void linear_backward(PifiCompute *cx, float *dinp, float *dweight, float *dbias, const float *dout,
                     const float *inp, LinearW w, int BT, int C, int OC) {
    if (BT == 0) return;
    int bf = use_bf16(cx, w), q = !w.f32 && !w.bf16 && w.q8;
    if (!bf && !q) {
        matmul_backward(dinp, dweight, dbias, dout, inp, w.f32, BT, C, OC);
        if (cx) cx->flops += 2.0 * BT * OC * C * ((dinp != NULL) + (dweight != NULL));
        return;
    }
    if (dbias) matmul_backward(NULL, NULL, dbias, dout, NULL, NULL, BT, C, OC);
    if (dweight && !bf) { /* int8 weights are frozen (quantized runs only infer): a caller's bug */
        pifi_bug("weight gradient of an int8 linear layer");
    }
    int dq = compute_bf16(cx); /* gradients in bf16 for the products */
    if (bf || dq) {
        need(cx, (size_t)BT * (OC > C ? OC : C), 0);
        bf16_from_f32(cx->s16[0], dout, (size_t)BT * OC);
    }
    if (bf) {
        if (dinp) gemm_bf16(cx, 0, 0, BT, C, OC, 1.0f, cx->s16[0], OC, w.bf16, C, 1.0f, dinp, C, NULL);
        if (dweight) {
            bf16_from_f32(cx->s16[1], inp, (size_t)BT * C);
            gemm_bf16(cx, 1, 0, OC, C, BT, 1.0f, cx->s16[0], OC, cx->s16[1], C, 1.0f, dweight, C, NULL);
        }
        return;
    }
    if (!dinp) return;
    for (int o0 = 0; o0 < OC; o0 += COMPUTE_QROWS) { /* int8 weights: dinp += dout[:, rows] W[rows] */
        int rows = OC - o0 < COMPUTE_QROWS ? OC - o0 : COMPUTE_QROWS;
        dequant_rows(cx, w, o0, rows, C, dq);
        if (dq) {
            gemm_bf16(cx, 0, 0, BT, C, rows, 1.0f, cx->s16[0] + o0, OC, cx->sq, C, 1.0f, dinp, C, NULL);
        } else {
            gemm_f32(0, 0, BT, C, rows, 1.0f, dout + o0, OC, cx->sq, C, 1.0f, dinp, C);
            cx->flops += 2.0 * BT * rows * C;
        }
    }
}
