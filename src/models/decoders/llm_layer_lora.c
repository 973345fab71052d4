/* llm_layer_lora.c: LoRA adapters on a decoder layer's q_proj and v_proj in
 * sequence mode (LlmLora, pifi/llm_layer.h; PEFT semantics), the branch the
 * layer's forwards add to the projection before RoPE and its backward. */
#include <string.h>

#include "kernels/dropout.h"
#include "kernels/gemm.h"
#include "models/decoders/llm_layer_internal.h"

void llm_lora_forward(const LlmLora *lo, int v, float *y, int cols, const float *n, float *u, float *xd, float p,
                      int B, int T, int D) {
    int N = B * T, r = lo->r;
    const float *x = n;
    if (p > 0.0f) {
        dropout_rows_forward(xd, n, B, (size_t)T * D, p, lo->seed, v ? lo->stream_v : lo->stream_q, lo->row0);
        x = xd;
    }
    /* u (N, r) = x A^T;  y (N, cols) += scale u B^T */
    gemm_f32(0, 1, N, r, D, 1.0f, x, D, v ? lo->va : lo->qa, D, 0.0f, u, r);
    gemm_f32(0, 1, N, cols, r, lo->scale, u, r, v ? lo->vb : lo->qb, r, 1.0f, y, cols);
}

void llm_lora_backward(const LlmLora *lo, int v, const float *dy, int cols, const float *n, const float *u,
                       float *du, float *xd, float *dn, float p, int B, int T, int D) {
    int N = B * T, r = lo->r;
    uint64_t stream = v ? lo->stream_v : lo->stream_q;
    const float *A = v ? lo->va : lo->qa, *Bm = v ? lo->vb : lo->qb;
    float *dA = v ? lo->gva : lo->gqa, *dB = v ? lo->gvb : lo->gqb;
    /* y = scale u B^T:  dB (cols, r) += scale dy^T u;  du (N, r) = scale dy B */
    if (dB) gemm_f32(1, 0, cols, r, N, lo->scale, dy, cols, u, r, 1.0f, dB, r);
    gemm_f32(0, 0, N, r, cols, lo->scale, dy, cols, Bm, r, 0.0f, du, r);
    /* u = x A^T:  dA (r, D) += du^T x;  dn (N, D) += dropout_backward(du A) */
    const float *x = n;
    if (p > 0.0f) {
        dropout_rows_forward(xd, n, B, (size_t)T * D, p, lo->seed, stream, lo->row0);
        x = xd;
    }
    if (dA) gemm_f32(1, 0, r, D, N, 1.0f, du, r, x, D, 1.0f, dA, D);
    if (p > 0.0f) {
        gemm_f32(0, 0, N, D, r, 1.0f, du, r, A, D, 0.0f, xd, D);
        dropout_rows_backward(xd, xd, B, (size_t)T * D, p, lo->seed, stream, lo->row0);
        for (size_t i = 0; i < (size_t)N * D; i++) dn[i] += xd[i];
    } else {
        gemm_f32(0, 0, N, D, r, 1.0f, du, r, A, D, 1.0f, dn, D);
    }
}
