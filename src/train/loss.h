/* loss.h: softmax cross-entropy with label smoothing, as
 * torch.nn.CrossEntropyLoss(label_smoothing=eps), mean over the batch:
 *   loss_b = (1 - eps) * (-log p[y_b]) + eps * mean_k(-log p[k]) */
#ifndef PIFI_LOSS_H
#define PIFI_LOSS_H

#include <stdint.h>

/* logits (B, K), labels (B) in 0..K-1. Returns the mean loss; probs (B, K)
 * receives the softmax (may be NULL); dlogits (B, K) (may be NULL) receives
 * d(mean loss)/d(logits). */
double crossentropy_forward_backward(const float *logits, const int32_t *labels, int B, int K,
                                     float smoothing, float *probs, float *dlogits);

#endif
