/* glu.h: the gated feed-forward of LLM layers: out = act(gate) * up
 * (SwiGLU with SiLU for Llama/Mistral/Qwen2, GeGLU with tanh-GELU for Gemma2). */
#ifndef PIFI_GLU_H
#define PIFI_GLU_H

#include <stddef.h>

/* gate, up, out (N); act an Activation (kernels/activation.h); gate_act
 * (N) receives act(gate) for the backward pass (may be NULL). */
void glu_forward(float *out, float *gate_act, const float *gate, const float *up, int act, size_t N);

#endif
