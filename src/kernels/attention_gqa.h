/* attention_gqa.h: attention core for LLM decoder layers: grouped-query heads
 * (NH query heads share NKV key/value heads), separate q, k, v tensors,
 * optional causal mask, key padding mask, score scale and Gemma2's logit
 * soft-capping. */
#ifndef PIFI_ATTENTION_GQA_H
#define PIFI_ATTENTION_GQA_H

#include <stdint.h>

typedef struct {
    int NH, NKV, HD; /* query heads, key/value heads, head size */
    float scale;     /* multiplies q k^T */
    float softcap;   /* 0: none; else scores = softcap * tanh(scores / softcap) */
    int causal;      /* 1: query t sees keys <= t */
} GqaParams;

/* q (B, T, NH*HD), k, v (B, T, NKV*HD); mask (B, T) 1 real / 0 pad (NULL:
 * all real); att (B, NH, T, T) probabilities saved for backward;
 * out (B, T, NH*HD). A query that sees no real key gets zeros. */
void attention_gqa_forward(float *out, float *att, const float *q, const float *k, const float *v,
                           const int32_t *mask, int B, int T, const GqaParams *p);

/* Accumulates dq (B, T, NH*HD), dk, dv (B, T, NKV*HD) += the gradients of
 * the forward above given dout (B, T, NH*HD), from the probabilities att it
 * saved (masked keys have probability 0, so their gradient is 0: the masks
 * need not be passed again). datt (B, NH, T, T) is scratch (receives
 * dL/dscores). With a softcap the raw scores are recomputed from q, k. */
void attention_gqa_backward(float *dq, float *dk, float *dv, float *datt, const float *dout,
                            const float *q, const float *k, const float *v, const float *att, int B,
                            int T, const GqaParams *p);

#endif
