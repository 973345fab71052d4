/* glu.h: the gated feed-forward of LLM layers: out = act(gate) * up
 * (SwiGLU with SiLU for Llama/Mistral/Qwen2, GeGLU with tanh-GELU for Gemma2). */
#ifndef PIFI_GLU_H
#define PIFI_GLU_H

#include <stddef.h>

/* gate, up, out (N); act an Activation (kernels/activation.h); gate_act
 * (N) receives act(gate) for the backward pass (may be NULL). */
void glu_forward(float *out, float *gate_act, const float *gate, const float *up, int act, size_t N);

/* Accumulates: dgate (N) += dout * up * act'(gate), dup (N) += dout * act(gate).
 * gate_act (N) is act(gate) saved by the forward. */
void glu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up,
                  const float *gate_act, int act, size_t N);

#endif
