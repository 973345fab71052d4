/* rmsnorm.c: RMSNorm forward and backward. */
#include "kernels/rmsnorm.h"

#include <math.h>
#include <stddef.h>

void rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight, float offset,
                     int N, int C, float eps) {
#pragma omp parallel for
    for (int i = 0; i < N; i++) {
        const float *x = inp + (size_t)i * C;
        float *o = out + (size_t)i * C;
        double ss = 0.0;
        for (int c = 0; c < C; c++) ss += (double)x[c] * x[c];
        float s = (float)(1.0 / sqrt(ss / C + eps));
        for (int c = 0; c < C; c++) o[c] = x[c] * s * (weight[c] + offset);
        if (rstd) rstd[i] = s;
    }
}

/* With s = rstd and g = dout * (w + offset):
 *   dx = s g - x s^3 mean(g x),   dw += dout x s. */
void rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                      const float *weight, float offset, const float *rstd, int N, int C) {
#pragma omp parallel for
    for (int i = 0; i < N; i++) {
        const float *x = inp + (size_t)i * C;
        const float *dy = dout + (size_t)i * C;
        float *dx = dinp + (size_t)i * C;
        float s = rstd[i];
        double dot = 0.0;
        for (int c = 0; c < C; c++) dot += (double)dy[c] * (weight[c] + offset) * x[c];
        float k = (float)(dot / C) * s * s * s;
        for (int c = 0; c < C; c++) dx[c] += s * dy[c] * (weight[c] + offset) - k * x[c];
    }
    if (!dweight) return;
    /* rows reduce into one vector: parallel over channels */
#pragma omp parallel for
    for (int c = 0; c < C; c++) {
        double acc = 0.0;
        for (int i = 0; i < N; i++)
            acc += (double)dout[(size_t)i * C + c] * inp[(size_t)i * C + c] * rstd[i];
        dweight[c] += (float)acc;
    }
}
