/* bart_attention.c: BART's attention core, softmax(q k^T hs^-0.5 + masks) v
 * per (batch row, head), for queries and keys of different lengths (the
 * decoder's cross-attention over the memory) and strided q, k, v (a packed
 * q|k|v or k|v projection), with dropout p on the probabilities in training
 * (element (b, h, i, j) of the probabilities keyed by (seed, stream, its
 * index), recomputed by the backward): the forward and its backward. The
 * products go through gemm_f32 (oneDNN); the softmax is the kernels'
 * softmax_row, the masks kernels/dropout.h's. */
#pragma GCC optimize("no-trapping-math")

#include <math.h>
#include <stddef.h>

#include "kernels/dropout.h"
#include "kernels/gemm.h"
#include "kernels/simd.h"
#include "models/seq2seq/bart_internal.h"

void bart_attention_forward(float *out, float *att, float *attd, const float *q, int ldq, const float *k,
                            const float *v, int ldkv, const int32_t *kmask, int B, int Tq, int Tk, int NH, int hs,
                            int causal, const BartDrop *drop) {
    int C = NH * hs;
    float scale = (float)(1.0 / sqrt((double)hs)); /* transformers: head_dim ** -0.5 */
    int dr = drop && drop->p > 0.0f;
    DropoutMask dm = dr ? dropout_mask(drop->p, drop->seed, drop->stream) : (DropoutMask){0};
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            const float *qb = q + (size_t)b * Tq * ldq + h * hs;   /* (Tq, hs), stride ldq */
            const float *kb = k + (size_t)b * Tk * ldkv + h * hs;  /* (Tk, hs), stride ldkv */
            const float *vb = v + (size_t)b * Tk * ldkv + h * hs;
            float *a = att + ((size_t)b * NH + h) * Tq * Tk;       /* (Tq, Tk) */
            const int32_t *m = kmask ? kmask + (size_t)b * Tk : NULL;
            gemm_f32(0, 1, Tq, Tk, hs, scale, qb, ldq, kb, ldkv, 0.0f, a, Tk);
            for (int t = 0; t < Tq; t++) softmax_row(a + (size_t)t * Tk, m, Tk, causal ? t + 1 : Tk, 0.0f);
            const float *pv = a; /* the probabilities v is weighted by: after dropout in training */
            if (dr) {
                size_t base = ((size_t)b * NH + h) * Tq * Tk;
                dropout_apply(attd + base, a, (size_t)Tq * Tk, &dm, base);
                pv = attd + base;
            }
            gemm_f32(0, 0, Tq, hs, Tk, 1.0f, pv, Tk, vb, ldkv, 0.0f, out + (size_t)b * Tq * C + h * hs, C);
        }
    }
}

/* Per (b, head): the head's columns of dq, dk, dv are its own, so no two
 * threads write the same floats. With P = att, D its dropout mask (scaled;
 * all ones without dropout), dO = dout:
 *   dv += (D P)^T dO,  dP = D (dO v^T),  ds = P (dP - rowsum(P dP)),
 *   dq += scale ds k,  dk += scale ds^T q. */
void bart_attention_backward(float *dq, float *dk, float *dv, float *datt, const float *dout, const float *q,
                             int ldq, const float *k, const float *v, int ldkv, const float *att, int B, int Tq,
                             int Tk, int NH, int hs, const BartDrop *drop) {
    int C = NH * hs;
    float scale = (float)(1.0 / sqrt((double)hs));
    int dr = drop && drop->p > 0.0f;
    DropoutMask dm = dr ? dropout_mask(drop->p, drop->seed, drop->stream) : (DropoutMask){0};
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            size_t qo = (size_t)b * Tq * ldq + h * hs, ko = (size_t)b * Tk * ldkv + h * hs;
            const float *dob = dout + (size_t)b * Tq * C + h * hs; /* (Tq, hs), stride C */
            const float *a = att + ((size_t)b * NH + h) * Tq * Tk;  /* (Tq, Tk) */
            size_t base = ((size_t)b * NH + h) * Tq * Tk;
            float *ds = datt + base;
            if (dr) dropout_apply(ds, a, (size_t)Tq * Tk, &dm, base); /* D P, recomputed */
            gemm_f32(1, 0, Tk, hs, Tq, 1.0f, dr ? ds : a, Tk, dob, C, 1.0f, dv + ko, ldkv);
            gemm_f32(0, 1, Tq, Tk, hs, 1.0f, dob, C, v + ko, ldkv, 0.0f, ds, Tk);
            if (dr) dropout_apply(ds, ds, (size_t)Tq * Tk, &dm, base);
            for (int t = 0; t < Tq; t++) {
                const float *pr = a + (size_t)t * Tk;
                float *dr = ds + (size_t)t * Tk;
                float dot = 0.0f;
                for (int s = 0; s < Tk; s++) dot += pr[s] * dr[s];
                for (int s = 0; s < Tk; s++) dr[s] = pr[s] * (dr[s] - dot);
            }
            gemm_f32(0, 0, Tq, hs, Tk, scale, ds, Tk, k + ko, ldkv, 1.0f, dq + qo, ldq);
            gemm_f32(1, 0, Tk, hs, Tq, scale, ds, Tk, q + qo, ldq, 1.0f, dk + ko, ldkv);
        }
    }
}
