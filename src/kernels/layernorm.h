/* layernorm.h: LayerNorm over the last dimension (biased variance, eps inside
 * the square root, as torch.nn.LayerNorm). */
#ifndef PIFI_LAYERNORM_H
#define PIFI_LAYERNORM_H

/* out, inp (N, C); mean, rstd (N) are saved for the backward pass (may be NULL). */
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                       const float *bias, int N, int C, float eps);

#endif
