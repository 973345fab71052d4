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
