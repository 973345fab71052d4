/* pifi_method.h: the ways a run builds its model (base fine-tuning, PiFi and
 * the paper's ablations, LoRA): one row each in pifi_method.c's table. */
#ifndef PIFI_MODELS_PIFI_METHOD_H
#define PIFI_MODELS_PIFI_METHOD_H

typedef enum {
    METHOD_BASE,          /* plain fine-tuning of the SLM with the same head */
    METHOD_PIFI,          /* the frozen plugged layer (default) */
    METHOD_PIFI_UNFROZEN, /* the plugged layer trains too (paper B.4) */
    METHOD_PIFI_RANDOM,   /* a randomly initialised layer of the same shapes, frozen */
    METHOD_LORA,          /* LoRA r=8, alpha=16, dropout 0.1 on the SLM's query/value; no plug-in */
    METHOD_LLM_LAYER_ONLY, /* no SLM: the LLM's own embeddings -> its one layer -> pooling -> head, only
                              the head trains (paper B.7; docs/methods.md) */
    METHOD_COUNT
} PifiMethod;

/* The method's name as the CLI, config.json and grid files spell it ("?" out of range). */
const char *method_name(PifiMethod m);
/* 0 and *out set when s names a method; -1 otherwise. */
int method_parse(const char *s, PifiMethod *out);
/* 1 when the method needs an LLM (--llm, --layer). */
int method_has_llm(PifiMethod m);
/* 1 when it plugs the LLM's layer into the SLM (L_in, the layer, L_out). */
int method_plugs_llm(PifiMethod m);
/* 1 when the LLM's embeddings and chosen layer are the SLM (frozen). */
int method_llm_as_slm(PifiMethod m);

#endif
