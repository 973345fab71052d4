/* s2s_plug.c: L_in -> the frozen LLM layer over the whole source -> L_out
 * between an encoder-decoder's halves (s2s_plug.h). */
#include "train/s2s_plug.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "kernels/gemm.h"
#include "pifi/fileio.h"

int s2s_plug_init(S2SPlug *p, const char *path, int layer, int C, struct PifiCompute *cx, PifiErr *err) {
    memset(p, 0, sizeof *p);
    if (llm_layer_load(&p->llm, path, layer, 0, cx, 1, err)) return -1;
    p->C = C, p->D = p->llm.cfg.D;
    llm_layer_set_train(&p->llm, 1);
    return 0;
}

void s2s_plug_free(S2SPlug *p) {
    llm_layer_free(&p->llm);
    free(p->u);
    memset(p, 0, sizeof *p);
}

static void linear_init(float *w, int out, int in, uint64_t seed, uint64_t stream) {
    float bound = 1.0f / sqrtf((float)in);
    for (int64_t i = 0; i < (int64_t)out * in; i++) w[i] = (2.0f * rng_uniform(seed, stream, i) - 1.0f) * bound;
}

void s2s_plug_init_weights(S2SPlug *p, uint64_t seed) {
    linear_init(p->l_in, p->D, p->C, seed, 0x2100);
    linear_init(p->l_out, p->C, p->D, seed, 0x2200);
}

int s2s_plug_forward(S2SPlug *p, const float *h, const int32_t *mask, int B, int T, PifiErr *err) {
    size_t N = (size_t)B * T, C = p->C, D = p->D;
    if (N > p->cap) {
        free(p->u);
        p->u = pifi_malloc(N * (4 * D + C) * sizeof *p->u, err);
        if (!p->u) {
            p->cap = 0;
            return -1;
        }
        p->cap = N;
    }
    p->z = p->u + p->cap * D, p->dz = p->z + p->cap * D, p->du = p->dz + p->cap * D, p->v = p->du + p->cap * D;
    matmul_forward(p->u, h, p->l_in, NULL, (int)N, (int)C, (int)D);
    if (llm_layer_forward_seq(&p->llm, p->z, p->u, p->mask_ones ? NULL : mask, B, T, p->causal, err)) return -1;
    matmul_forward(p->v, p->z, p->l_out, NULL, (int)N, (int)D, (int)C);
    p->h = h, p->mask = mask, p->B = B, p->T = T;
    return 0;
}

int s2s_plug_backward(S2SPlug *p, const float *dv, float *dh, float *g_in, float *g_out, PifiErr *err) {
    size_t N = (size_t)p->B * p->T, C = p->C, D = p->D;
    memset(p->dz, 0, N * D * sizeof *p->dz);
    matmul_backward(p->dz, g_out, NULL, dv, p->z, p->l_out, (int)N, (int)D, (int)C);
    if (llm_layer_backward_seq(&p->llm, p->du, p->dz, NULL, err)) return -1;
    memset(dh, 0, N * C * sizeof *dh);
    matmul_backward(dh, g_in, NULL, p->du, p->h, p->l_in, (int)N, (int)C, (int)D);
    return 0;
}
