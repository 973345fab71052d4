/* pifi_method.c: the table of methods (pifi_method.h). */
#include "models/pifi_method.h"

#include <string.h>

static const struct {
    const char *name;
    int has_llm;    /* needs --llm */
    int plugs;      /* L_in -> the layer -> L_out after the SLM */
    int llm_as_slm; /* the LLM's embeddings and layer are the SLM */
} METHODS[METHOD_COUNT] = {
    [METHOD_BASE] = {"base", 0, 0, 0},
    [METHOD_PIFI] = {"pifi", 1, 1, 0},
    [METHOD_PIFI_UNFROZEN] = {"pifi-unfrozen", 1, 1, 0},
    [METHOD_PIFI_RANDOM] = {"pifi-random", 1, 1, 0},
    [METHOD_LORA] = {"lora", 0, 0, 0},
    [METHOD_LLM_LAYER_ONLY] = {"llm-layer-only", 1, 0, 1},
};

const char *method_name(PifiMethod m) { return (unsigned)m < METHOD_COUNT ? METHODS[m].name : "?"; }

int method_parse(const char *s, PifiMethod *out) {
    for (int i = 0; i < METHOD_COUNT; i++)
        if (strcmp(s, METHODS[i].name) == 0) {
            *out = (PifiMethod)i;
            return 0;
        }
    return -1;
}

int method_has_llm(PifiMethod m) { return (unsigned)m < METHOD_COUNT && METHODS[m].has_llm; }
int method_plugs_llm(PifiMethod m) { return (unsigned)m < METHOD_COUNT && METHODS[m].plugs; }
int method_llm_as_slm(PifiMethod m) { return (unsigned)m < METHOD_COUNT && METHODS[m].llm_as_slm; }
