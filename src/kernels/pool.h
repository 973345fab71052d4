/* pool.h: one vector per sequence out of (B, T, C) hidden states. */
#ifndef PIFI_POOL_H
#define PIFI_POOL_H

#include <stdint.h>

/* out (B, C). mode 0: position 0 (CLS); 1: mean over mask == 1 positions;
 * 2: the last position with mask == 1. mask (B, T) may be NULL (all real). */
void pool_forward(float *out, const float *h, const int32_t *mask, int B, int T, int C, int mode);

/* dh (B, T, C) = the gradient of the pooled vector dout (B, C) spread back to
 * the positions it came from (written, not accumulated: other positions get 0). */
void pool_backward(float *dh, const float *dout, const int32_t *mask, int B, int T, int C, int mode);

#endif
