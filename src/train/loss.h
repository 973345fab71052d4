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

/* The same over rows of a sequence model's logits (N, K) with labels (N)
 * where a label < 0 is ignored (torch's ignore_index): the mean over the
 * counted rows, their dlogits scaled by 1 / count, an ignored row's dlogits
 * 0. *count (may be NULL) gets the counted rows; no counted row: loss 0.
 * Rows in parallel; the sum is taken in row order (the same on any thread
 * count). row_loss (N) is scratch. */
double crossentropy_ignore(const float *logits, const int32_t *labels, int64_t N, int K, float smoothing,
                           float *dlogits, double *row_loss, int64_t *count);

#endif
