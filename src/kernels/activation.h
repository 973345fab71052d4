/* activation.h: the activation functions named by HF configs ("hidden_act"). */
#ifndef PIFI_ACTIVATION_H
#define PIFI_ACTIVATION_H

#include <stddef.h>

typedef enum {
    ACT_GELU,      /* "gelu": exact, x * Phi(x) with erf */
    ACT_GELU_TANH, /* "gelu_new", "gelu_pytorch_tanh", "gelu_fast": tanh approximation */
    ACT_RELU,      /* "relu" */
    ACT_SILU,      /* "silu", "swish" */
    ACT_QUICK_GELU,/* "quick_gelu": x * sigmoid(1.702 x) */
    ACT_TANH,      /* "tanh" (DeBERTa-V2's conv_act) */
} Activation;

/* -1 if the name is unknown. */
int activation_parse(const char *name, Activation *out);
const char *activation_name(Activation a);

/* out (N) = act(inp (N)); out may equal inp. */
void activation_forward(Activation a, float *out, const float *inp, size_t N);

/* dinp (N) += act'(inp) * dout, ACCUMULATING as llm.c's gelu_backward;
 * inp is the forward's input. dinp must not alias dout. ReLU's derivative at
 * 0 is 0, as in PyTorch. */
void activation_backward(Activation a, float *dinp, const float *inp, const float *dout, size_t N);

#endif
