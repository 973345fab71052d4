/* layernorm.h: LayerNorm over the last dimension (biased variance, eps inside
 * the square root, as torch.nn.LayerNorm), forward and backward. */
#ifndef PIFI_LAYERNORM_H
#define PIFI_LAYERNORM_H

/* out, inp (N, C); mean, rstd (N) are saved for the backward pass (may be NULL). */
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                       const float *bias, int N, int C, float eps);

/* Backward, ACCUMULATING (+=) into dinp (N, C), dweight (C), dbias (C), from
 * dout (N, C) and the forward's inp, weight, mean, rstd. dweight and dbias
 * may be NULL (frozen). */
void layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, const float *mean, const float *rstd,
                        int N, int C);

#endif
