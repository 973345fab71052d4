/* simd/adam.c: the Adam/AdamW update of one tensor (train/optim.c's
 * optim_step), one branch-free loop per mode so each vectorizes (sqrtf is an
 * instruction: the simd files are compiled with -fno-math-errno; the
 * update's inputs are never negative and no code here reads errno). Every
 * level gives the bits of scalar code: ISO C mode contracts no a*b+c into an
 * FMA, and sqrt and division are correctly rounded at any width. Compiled
 * once per level (kernels/simd.h). */
#include <math.h>

#include "kernels/simd.h"

/* Element i. mode 0: plain Adam; 1: Adam with L2 (wd added to the
 * gradient, torch's Adam weight_decay); 2: AdamW (the weight shrunk by
 * `shrink` first). */
#define ADAM_ELEM(mode)                                                                  \
    do {                                                                                 \
        float gi = g[i];                                                                 \
        if ((mode) == 2) w[i] *= shrink;                                                 \
        if ((mode) == 1) gi += wd * w[i];                                                \
        m[i] += (1.0f - b1) * (gi - m[i]); /* torch: exp_avg.lerp_(grad, 1 - beta1) */ \
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;                                        \
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;                                      \
        w[i] -= step_size * m[i] / denom;                                                \
    } while (0)

void SIMD_NAME(adam_tensor)(float *restrict w, const float *restrict g, float *restrict m, float *restrict v,
                            int64_t n, int mode, float b1, float b2, float eps, float step_size, float bc2_sqrt,
                            float wd, float shrink) {
    if (mode == 2) {
#pragma omp parallel for simd
        for (int64_t i = 0; i < n; i++) ADAM_ELEM(2);
    } else if (mode == 1) {
#pragma omp parallel for simd
        for (int64_t i = 0; i < n; i++) ADAM_ELEM(1);
    } else {
#pragma omp parallel for simd
        for (int64_t i = 0; i < n; i++) ADAM_ELEM(0);
    }
}
