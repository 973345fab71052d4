/* attention_step.c: one query per batch row against cached keys and values
 * (attention_step.h), the decoders' incremental step: per key set and head,
 * the queries of the set's group rows as one (group, D) operand. */
#include "kernels/attention_step.h"

#include "kernels/gemm.h"
#include "kernels/simd.h"

void attention_step_forward(float *out, float *scores, const float *q, int ldq, const float *k, const float *v,
                            int ldkv, size_t kstride, int group, const float *bias, const int32_t *kmask, int B,
                            int Tk, int NH, int D, float scale) {
    int G = B / group, ldo = NH * D, lds = NH * Tk;
#pragma omp parallel for collapse(2) schedule(static)
    for (int g = 0; g < G; g++) {
        for (int h = 0; h < NH; h++) {
            size_t b0 = (size_t)g * group;                     /* the set's first row */
            const float *qg = q + b0 * ldq + h * D;            /* (group, D), row stride ldq */
            const float *kg = k + (size_t)g * kstride + h * D; /* (Tk, D), row stride ldkv */
            const float *vg = v + (size_t)g * kstride + h * D;
            float *s = scores + b0 * lds + (size_t)h * Tk;     /* (group, Tk), row stride NH Tk */
            const int32_t *m = kmask ? kmask + (size_t)g * Tk : NULL;
            gemm_f32(0, 1, group, Tk, D, scale, qg, ldq, kg, ldkv, 0.0f, s, lds);
            for (int i = 0; i < group; i++) {
                float *row = s + (size_t)i * lds;
                if (bias) {
                    const float *br = bias + (size_t)h * Tk;
                    for (int j = 0; j < Tk; j++) row[j] += br[j];
                }
                softmax_row(row, m, Tk, Tk, 0.0f);
            }
            gemm_f32(0, 0, group, D, Tk, 1.0f, s, lds, vg, ldkv, 0.0f, out + b0 * ldo + h * D, ldo);
        }
    }
}
