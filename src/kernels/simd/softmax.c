/* simd/softmax.c: the attention softmax rows (kernels/attention.c,
 * attention_gqa.c) and the softmax backward, vectorized (kernels/vmath.h);
 * compiled once per level (kernels/simd.h). */
#include <math.h>
#include <stddef.h>

#include "kernels/simd.h"
#include "kernels/vmath.h"

void SIMD_NAME(softmax_block)(float *a, const int32_t *m, int T) {
    for (int t = 0; t < T; t++) {
        float *row = a + (size_t)t * T;
        float maxv = -INFINITY, sum = 0.0f;
        if (m) {
#pragma omp simd reduction(max : maxv)
            for (int t2 = 0; t2 < T; t2++) {
                float v = m[t2] ? row[t2] : -INFINITY;
                maxv = v > maxv ? v : maxv;
            }
#pragma omp simd reduction(+ : sum)
            for (int t2 = 0; t2 < T; t2++) {
                float e = m[t2] ? vm_exp(row[t2] - maxv) : 0.0f;
                row[t2] = e;
                sum += e;
            }
        } else {
#pragma omp simd reduction(max : maxv)
            for (int t2 = 0; t2 < T; t2++) maxv = row[t2] > maxv ? row[t2] : maxv;
#pragma omp simd reduction(+ : sum)
            for (int t2 = 0; t2 < T; t2++) {
                float e = vm_exp(row[t2] - maxv);
                row[t2] = e;
                sum += e;
            }
        }
        float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
#pragma omp simd
        for (int t2 = 0; t2 < T; t2++) row[t2] *= inv;
    }
}

void SIMD_NAME(softmax_back_block)(float *d, const float *a, int T) {
    for (int t = 0; t < T; t++) {
        const float *ar = a + (size_t)t * T;
        float *dr = d + (size_t)t * T;
        float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (int t2 = 0; t2 < T; t2++) dot += ar[t2] * dr[t2];
#pragma omp simd
        for (int t2 = 0; t2 < T; t2++) dr[t2] = ar[t2] * (dr[t2] - dot);
    }
}

void SIMD_NAME(softmax_row)(float *row, const int32_t *m, int T, int kend, float softcap) {
    if (softcap > 0.0f)
        for (int t2 = 0; t2 < kend; t2++) row[t2] = softcap * tanhf(row[t2] / softcap);
    float maxv = -INFINITY, sum = 0.0f;
#pragma omp simd reduction(max : maxv)
    for (int t2 = 0; t2 < kend; t2++) {
        float v = !m || m[t2] ? row[t2] : -INFINITY;
        maxv = v > maxv ? v : maxv;
    }
#pragma omp simd reduction(+ : sum)
    for (int t2 = 0; t2 < kend; t2++) {
        float e = !m || m[t2] ? vm_exp(row[t2] - maxv) : 0.0f;
        row[t2] = e;
        sum += e;
    }
    float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
#pragma omp simd
    for (int t2 = 0; t2 < kend; t2++) row[t2] *= inv;
    for (int t2 = kend; t2 < T; t2++) row[t2] = 0.0f;
}
