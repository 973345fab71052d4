/* loss.c: label-smoothed softmax cross-entropy, forward and backward fused. */
#include "train/loss.h"

#include <math.h>
#include <stddef.h>

double crossentropy_forward_backward(const float *logits, const int32_t *labels, int B, int K,
                                     float smoothing, float *probs, float *dlogits) {
    double total = 0.0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * K;
        double maxv = z[0];
        for (int k = 1; k < K; k++)
            if (z[k] > maxv) maxv = z[k];
        double sum = 0.0;
        for (int k = 0; k < K; k++) sum += exp((double)z[k] - maxv);
        double logsum = log(sum) + maxv;
        double mean_nll = 0.0;
        for (int k = 0; k < K; k++) mean_nll += logsum - z[k];
        mean_nll /= K;
        int y = labels[b];
        total += (1.0 - smoothing) * (logsum - z[y]) + smoothing * mean_nll;
        for (int k = 0; k < K; k++) {
            double p = exp((double)z[k] - logsum);
            if (probs) probs[(size_t)b * K + k] = (float)p;
            if (dlogits) {
                double target = (k == y ? 1.0 - smoothing : 0.0) + smoothing / K;
                dlogits[(size_t)b * K + k] = (float)((p - target) / B);
            }
        }
    }
    return total / B;
}

double crossentropy_ignore(const float *logits, const int32_t *labels, int64_t N, int K, float smoothing,
                           float *dlogits, double *row_loss, int64_t *count) {
    int64_t n = 0;
    for (int64_t r = 0; r < N; r++) n += labels[r] >= 0;
    if (count) *count = n;
    double scale = n ? 1.0 / (double)n : 0.0;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < N; r++) {
        const float *z = logits + (size_t)r * K;
        float *d = dlogits ? dlogits + (size_t)r * K : NULL;
        int y = labels[r];
        row_loss[r] = 0.0;
        if (y < 0) {
            for (int k = 0; d && k < K; k++) d[k] = 0.0f;
            continue;
        }
        double maxv = z[0];
        for (int k = 1; k < K; k++)
            if (z[k] > maxv) maxv = z[k];
        double sum = 0.0, mean_nll = 0.0;
        for (int k = 0; k < K; k++) sum += exp((double)z[k] - maxv);
        double logsum = log(sum) + maxv;
        for (int k = 0; k < K; k++) mean_nll += logsum - z[k];
        row_loss[r] = (1.0 - smoothing) * (logsum - z[y]) + smoothing * mean_nll / K;
        for (int k = 0; d && k < K; k++) {
            double target = (k == y ? 1.0 - smoothing : 0.0) + smoothing / K;
            d[k] = (float)((exp((double)z[k] - logsum) - target) * scale);
        }
    }
    double total = 0.0;
    for (int64_t r = 0; r < N; r++) total += row_loss[r];
    return total * scale;
}
