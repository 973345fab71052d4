/* attention_gqa.c: softmax(scale q k^T [softcap] + masks) v per (b, head), and its backward. */
#pragma GCC optimize("no-trapping-math")

#include "kernels/attention_gqa.h"

#include <math.h>
#include <stddef.h>

#include "kernels/gemm.h"
#include "kernels/simd.h"

void attention_gqa_forward(float *out, float *att, const float *q, const float *k, const float *v,
                           const int32_t *mask, int B, int T, const GqaParams *p) {
    int NH = p->NH, NKV = p->NKV, HD = p->HD, group = NH / NKV;
    int QC = NH * HD, KC = NKV * HD;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            int kh = h / group;
            const float *qb = q + (size_t)b * T * QC + h * HD;  /* (T, HD), stride QC */
            const float *kb = k + (size_t)b * T * KC + kh * HD; /* (T, HD), stride KC */
            const float *vb = v + (size_t)b * T * KC + kh * HD;
            float *a = att + ((size_t)b * NH + h) * T * T;      /* (T, T) */
            const int32_t *m = mask ? mask + (size_t)b * T : NULL;
            gemm_f32(0, 1, T, T, HD, p->scale, qb, QC, kb, KC, 0.0f, a, T);
            for (int t = 0; t < T; t++) softmax_row(a + (size_t)t * T, m, T, p->causal ? t + 1 : T, p->softcap);
            gemm_f32(0, 0, T, HD, T, 1.0f, a, T, vb, KC, 0.0f, out + (size_t)b * T * QC + h * HD, QC);
        }
    }
}

/* Per (b, kv head), looping over the query heads of its group, so that no
 * two threads accumulate into the same dk, dv rows. For one query head, with
 * P = att, dO = dout, s the scores before softmax:
 *   dv += P^T dO,  dP = dO v^T,  ds = P (dP - rowsum(P dP)) [softcap: * (1 - tanh^2)],
 *   dq += scale ds k,  dk += scale ds^T q. */
void attention_gqa_backward(float *dq, float *dk, float *dv, float *datt, const float *dout,
                            const float *q, const float *k, const float *v, const float *att, int B,
                            int T, const GqaParams *p) {
    int NH = p->NH, NKV = p->NKV, HD = p->HD, group = NH / NKV;
    int QC = NH * HD, KC = NKV * HD;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int kh = 0; kh < NKV; kh++) {
            const float *kb = k + (size_t)b * T * KC + kh * HD; /* (T, HD), stride KC */
            const float *vb = v + (size_t)b * T * KC + kh * HD;
            float *dkb = dk + (size_t)b * T * KC + kh * HD;
            float *dvb = dv + (size_t)b * T * KC + kh * HD;
            for (int h = kh * group; h < (kh + 1) * group; h++) {
                const float *qb = q + (size_t)b * T * QC + h * HD;  /* (T, HD), stride QC */
                const float *dob = dout + (size_t)b * T * QC + h * HD;
                float *dqb = dq + (size_t)b * T * QC + h * HD;
                const float *a = att + ((size_t)b * NH + h) * T * T; /* (T, T) */
                float *ds = datt + ((size_t)b * NH + h) * T * T;     /* (T, T) */
                gemm_f32(1, 0, T, HD, T, 1.0f, a, T, dob, QC, 1.0f, dvb, KC);
                gemm_f32(0, 1, T, T, HD, 1.0f, dob, QC, vb, KC, 0.0f, ds, T);
                for (int t = 0; t < T; t++) {
                    const float *pr = a + (size_t)t * T;
                    float *dr = ds + (size_t)t * T;
                    float dot = 0.0f;
                    for (int t2 = 0; t2 < T; t2++) dot += pr[t2] * dr[t2];
                    for (int t2 = 0; t2 < T; t2++) {
                        float g = pr[t2] * (dr[t2] - dot);
                        if (p->softcap > 0.0f && pr[t2] != 0.0f) {
                            const float *qt = qb + (size_t)t * QC, *kt = kb + (size_t)t2 * KC;
                            float sc = 0.0f;
                            for (int d = 0; d < HD; d++) sc += qt[d] * kt[d];
                            float th = tanhf(sc * p->scale / p->softcap);
                            g *= 1.0f - th * th;
                        }
                        dr[t2] = g;
                    }
                }
                gemm_f32(0, 0, T, HD, T, p->scale, ds, T, kb, KC, 1.0f, dqb, QC);
                gemm_f32(1, 0, T, HD, T, p->scale, ds, T, qb, QC, 1.0f, dkb, KC);
            }
        }
    }
}
