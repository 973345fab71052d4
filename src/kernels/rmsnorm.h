/* rmsnorm.h: RMSNorm over the last dimension, as Llama and Gemma2 compute it
 * in fp32: out = x * rsqrt(mean(x^2) + eps) * (w + offset), offset 0 for
 * Llama/Mistral/Qwen2 and 1 for Gemma2's (1 + w). */
#ifndef PIFI_RMSNORM_H
#define PIFI_RMSNORM_H

/* out, inp (N, C); rstd (N) saved for the backward pass (may be NULL). */
void rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight, float offset,
                     int N, int C, float eps);

/* Accumulates: dinp (N, C) += dL/dinp, dweight (C) += dL/dweight (dweight
 * may be NULL: no weight gradient). dout, inp (N, C); rstd (N) from the
 * forward. dinp may not alias dout or inp. */
void rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                      const float *weight, float offset, const float *rstd, int N, int C);

#endif
