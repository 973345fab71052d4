/* layernorm.c: LayerNorm forward (backward comes with training). */
#include "kernels/layernorm.h"

#include <math.h>
#include <stddef.h>

void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                       const float *bias, int N, int C, float eps) {
#pragma omp parallel for
    for (int i = 0; i < N; i++) {
        const float *x = inp + (size_t)i * C;
        float *o = out + (size_t)i * C;
        double m = 0.0;
        for (int c = 0; c < C; c++) m += x[c];
        m /= C;
        double v = 0.0;
        for (int c = 0; c < C; c++) {
            double d = x[c] - m;
            v += d * d;
        }
        v /= C;
        float s = (float)(1.0 / sqrt(v + eps));
        float mf = (float)m;
        for (int c = 0; c < C; c++) o[c] = (x[c] - mf) * s * weight[c] + bias[c];
        if (mean) mean[i] = mf;
        if (rstd) rstd[i] = s;
    }
}
