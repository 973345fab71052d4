/* s2s_plug.h: PiFi's plugged layer between an encoder-decoder's two halves
 * (paper Sec. 3.2): every encoder state goes through L_in, the frozen LLM
 * layer in sequence mode and L_out, and the result is the decoder's memory.
 *
 *   u = h L_in^T        (B, Ts, D)   L_in (D, C), nn.Linear(C, D, bias=False)
 *   z = L_llm(u)        (B, Ts, D)   positions 0..Ts-1, the source's key padding
 *                                    mask (mask_ones: none, the authors' code),
 *                                    bidirectional unless causal
 *   v = z L_out^T       (B, Ts, C)   L_out (C, D); the memory
 *
 * L_in and L_out train, the layer does not (its input gradient only). */
#ifndef PIFI_S2S_PLUG_H
#define PIFI_S2S_PLUG_H

#include <stddef.h>
#include <stdint.h>

#include "pifi/llm_layer.h"

typedef struct {
    LlmLayer llm;
    int C, D;
    int causal, mask_ones;
    float *l_in, *l_out;      /* (D, C), (C, D): the caller's (a parameter arena) */
    float *u, *z, *v, *dz, *du; /* activations (N, D), (N, D), (N, C); scratch (N, D) x 2 */
    size_t cap;               /* rows N = B * Ts the buffers hold */
    const float *h;           /* the last forward's input (the caller's) */
    const int32_t *mask;
    int B, T;
} S2SPlug;

/* Layer `layer` of the LLM at path (frozen), for an SLM of width C. */
int s2s_plug_init(S2SPlug *p, const char *path, int layer, int C, struct PifiCompute *cx, PifiErr *err);
void s2s_plug_free(S2SPlug *p);
/* nn.Linear's initialisation of l_in and l_out (kaiming uniform, bound
 * 1/sqrt(fan_in)) from seed. */
void s2s_plug_init_weights(S2SPlug *p, uint64_t seed);

/* h (B, T, C) -> p->v (B, T, C); the layer in training mode keeps what the
 * backward needs. */
int s2s_plug_forward(S2SPlug *p, const float *h, const int32_t *mask, int B, int T, PifiErr *err);
/* dv (B, T, C) -> dh (B, T, C) (overwritten); g_in (D, C) and g_out (C, D)
 * ACCUMULATE. */
int s2s_plug_backward(S2SPlug *p, const float *dv, float *dh, float *g_in, float *g_out, PifiErr *err);

#endif
