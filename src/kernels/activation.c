/* activation.c: the activations' names as HF configs write them. Their
 * forward and backward passes are vectorised kernels (kernels/simd/activation.c). */
#include "kernels/activation.h"

#include <string.h>

static const struct {
    const char *name;
    Activation act;
} NAMES[] = {
    {"gelu", ACT_GELU},           {"gelu_python", ACT_GELU},  {"gelu_new", ACT_GELU_TANH},
    {"gelu_pytorch_tanh", ACT_GELU_TANH}, {"gelu_fast", ACT_GELU_TANH}, {"relu", ACT_RELU},
    {"silu", ACT_SILU},           {"swish", ACT_SILU},        {"quick_gelu", ACT_QUICK_GELU},
    {"tanh", ACT_TANH},
};

int activation_parse(const char *name, Activation *out) {
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
        if (strcmp(name, NAMES[i].name) == 0) {
            *out = NAMES[i].act;
            return 0;
        }
    }
    return -1;
}

const char *activation_name(Activation a) {
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++)
        if (NAMES[i].act == a) return NAMES[i].name;
    return "?";
}
