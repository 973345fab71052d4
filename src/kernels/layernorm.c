/* layernorm.c: LayerNorm forward and backward (llm.c's formulas). */
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

void layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, const float *mean, const float *rstd,
                        int N, int C) {
    /* dinp: rows are independent. */
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) {
        const float *x = inp + (size_t)i * C, *g = dout + (size_t)i * C;
        float *dx = dinp + (size_t)i * C;
        float mu = mean[i], rs = rstd[i];
        /* the two means the LayerNorm Jacobian needs */
        double dnorm_mean = 0.0, dnorm_norm_mean = 0.0;
        for (int c = 0; c < C; c++) {
            double dnorm = (double)weight[c] * g[c];
            dnorm_mean += dnorm;
            dnorm_norm_mean += dnorm * ((x[c] - mu) * rs);
        }
        float a = (float)(dnorm_mean / C), b = (float)(dnorm_norm_mean / C);
        for (int c = 0; c < C; c++) {
            float norm = (x[c] - mu) * rs;
            dx[c] += (weight[c] * g[c] - a - norm * b) * rs;
        }
    }
    if (!dweight && !dbias) return;
    /* dweight, dbias: column sums over rows (in order), 64 columns per task */
    int nblk = (C + 63) / 64;
#pragma omp parallel for schedule(static)
    for (int blk = 0; blk < nblk; blk++) {
        int c0 = blk * 64, n = C - c0 < 64 ? C - c0 : 64;
        float dw[64] = {0}, db[64] = {0};
        for (int i = 0; i < N; i++) {
            const float *x = inp + (size_t)i * C + c0, *g = dout + (size_t)i * C + c0;
            float mu = mean[i], rs = rstd[i];
#pragma omp simd
            for (int c = 0; c < n; c++) {
                dw[c] += (x[c] - mu) * rs * g[c];
                db[c] += g[c];
            }
        }
        for (int c = 0; c < n; c++) {
            if (dweight) dweight[c0 + c] += dw[c];
            if (dbias) dbias[c0 + c] += db[c];
        }
    }
}
