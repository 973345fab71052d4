/* attention_step.h: the attention of one new query per batch row against
 * keys and values kept from earlier (a decoder's KV cache, or the
 * cross-attention's keys and values of a memory): incremental decoding,
 * eval only (no dropout, no backward). */
#ifndef PIFI_ATTENTION_STEP_H
#define PIFI_ATTENTION_STEP_H

#include <stddef.h>
#include <stdint.h>

/* Per row b and head h (NH heads of size D):
 *   p = softmax(scale q_bh k_bh^T + bias_h, keys where kmask_b is 0 left out),
 *   out_bh = p v_bh
 * q (B rows of stride ldq; head h at column h D). The keys: group rows
 * share one set (beam search's beams of a source over its memory), row b
 * reads set g = b / group (B a multiple of group): key j at k + g kstride +
 * j ldkv (head h at column h D), Tk keys; v alike; kmask (B / group, Tk) 1
 * real / 0 padded, or NULL;
 * bias (NH, Tk) or NULL. scores (B, NH, Tk) scratch, the probabilities on
 * return; out (B, NH D). Two products per (set, h) through gemm_f32
 * (oneDNN), the group's queries together; the softmax rows as the other
 * attentions'. */
void attention_step_forward(float *out, float *scores, const float *q, int ldq, const float *k, const float *v,
                            int ldkv, size_t kstride, int group, const float *bias, const int32_t *kmask, int B,
                            int Tk, int NH, int D, float scale);

#endif
