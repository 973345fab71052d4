/* layernorm.c: LayerNorm forward and backward (llm.c's formulas). */
#include "kernels/layernorm.h"

#include <math.h>
#include <stddef.h>

/* Rows whose serial double sums run side by side: each row's sum still
 * adds its elements in order c = 0..C-1 (the bits of one row at a time),
 * but LN_ROWS independent chains hide the latency of each addition. */
#define LN_ROWS 8

void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                       const float *bias, int N, int C, float eps) {
#pragma omp parallel for schedule(static)
    for (int i0 = 0; i0 < N; i0 += LN_ROWS) {
        int R = N - i0 < LN_ROWS ? N - i0 : LN_ROWS;
        const float *x = inp + (size_t)i0 * C;
        double m[LN_ROWS] = {0}, v[LN_ROWS] = {0};
        for (int c = 0; c < C; c++)
            for (int r = 0; r < R; r++) m[r] += x[(size_t)r * C + c];
        for (int r = 0; r < R; r++) m[r] /= C;
        for (int c = 0; c < C; c++)
            for (int r = 0; r < R; r++) {
                double d = x[(size_t)r * C + c] - m[r];
                v[r] += d * d;
            }
        for (int r = 0; r < R; r++) {
            const float *xr = x + (size_t)r * C;
            float *o = out + (size_t)(i0 + r) * C;
            double var = v[r] / C;
            float s = (float)(1.0 / sqrt(var + eps));
            float mf = (float)m[r];
            for (int c = 0; c < C; c++) o[c] = (xr[c] - mf) * s * weight[c] + bias[c];
            if (mean) mean[i0 + r] = mf;
            if (rstd) rstd[i0 + r] = s;
        }
    }
}

void layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, const float *mean, const float *rstd,
                        int N, int C) {
    /* dinp: rows are independent (LN_ROWS sums side by side, as the forward) */
#pragma omp parallel for schedule(static)
    for (int i0 = 0; i0 < N; i0 += LN_ROWS) {
        int R = N - i0 < LN_ROWS ? N - i0 : LN_ROWS;
        const float *x = inp + (size_t)i0 * C, *g = dout + (size_t)i0 * C;
        /* the two means the LayerNorm Jacobian needs */
        double dnorm_mean[LN_ROWS] = {0}, dnorm_norm_mean[LN_ROWS] = {0};
        for (int c = 0; c < C; c++)
            for (int r = 0; r < R; r++) {
                size_t k = (size_t)r * C + c;
                double dnorm = (double)weight[c] * g[k];
                dnorm_mean[r] += dnorm;
                dnorm_norm_mean[r] += dnorm * ((x[k] - mean[i0 + r]) * rstd[i0 + r]);
            }
        for (int r = 0; r < R; r++) {
            const float *xr = x + (size_t)r * C, *gr = g + (size_t)r * C;
            float *dx = dinp + (size_t)(i0 + r) * C;
            float mu = mean[i0 + r], rs = rstd[i0 + r];
            float a = (float)(dnorm_mean[r] / C), b = (float)(dnorm_norm_mean[r] / C);
            for (int c = 0; c < C; c++) {
                float norm = (xr[c] - mu) * rs;
                dx[c] += (weight[c] * gr[c] - a - norm * b) * rs;
            }
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
