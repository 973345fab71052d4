/* pifi_span.c: the span mode of the PiFi composition, extractive question
 * answering (SQuAD): every position of the sequence goes through the
 * plugged layer, and a span head gives each token a start and an end logit.
 *
 *   h = Enc(x)                     (B, T, C)   the SLM, its padding mask
 *   u = L_in h                     (B, T, D)
 *   z = L_llm(u)                   (B, T, D)   positions 0..T-1; key padding mask, bidirectional
 *                                              (the authors) or causal; span.mask_ones: no mask
 *   v = L_out z                    (B, T, C)   (base, lora: v = h)
 *   logits = v Ws^T + bs           (B, T, 2)   Ws = head_w2 (2, C), bs = head_b2 (2)
 *   loss = mean_b (CE(start_b) + CE(end_b)) / 2, each softmax over row b's real tokens
 *
 * Forward and backward are explicit, as the pooled mode's in pifi_model.c;
 * the activations live in span.mem, the backward's scratch in span.gmem. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm.h"
#include "pifi/pifi_model.h"

/* Grow *mem to n floats (contents not kept). */
static int grow(float **mem, size_t *size, size_t n, PifiErr *err) {
    if (n <= *size) return 0;
    free(*mem);
    *mem = pifi_malloc(n * sizeof(float), err);
    *size = *mem ? n : 0;
    return *mem ? 0 : -1;
}

static int check_faults(PifiErr *err) {
    if (!gemm_f32_take_faults()) return 0;
    return pifi_errf(err, "out of memory inside a matrix product: the pass is incomplete "
                          "(raise --max-memory or free memory)");
}

int pifi_span_forward(PifiModel *m, const int32_t *ids, const int32_t *type_ids, const int32_t *mask, int B,
                      int T, PifiErr *err) {
    PifiSpan *s = &m->span;
    if (!s->on) return pifi_errf(err, "internal: pifi_span_forward on a classification model");
    size_t N = (size_t)B * T, C = m->C, D = m->D;
    if (grow(&s->mem, &s->mem_size, N * (2 * D + C + 2), err)) return -1;
    if (encoder_forward(&m->slm, ids, type_ids, mask, B, T, err)) return -1;
    s->u = s->mem;           /* (N, D) */
    s->z = s->u + N * D;     /* (N, D) */
    s->logits = s->z + N * D; /* (N, 2) */
    const float *h = encoder_output(&m->slm);
    if (m->has_llm) {
        s->v = s->logits + N * 2; /* (N, C) */
        matmul_forward(s->u, h, m->hp.l_in, NULL, (int)N, (int)C, (int)D);
        if (llm_layer_forward_seq(&m->llm, s->z, s->u, s->mask_ones ? NULL : mask, B, T, s->causal, err))
            return -1;
        matmul_forward(s->v, s->z, m->hp.l_out, NULL, (int)N, (int)D, (int)C);
    } else {
        s->v = (float *)h;
    }
    matmul_forward(s->logits, s->v, m->hp.head_w2, m->hp.head_b2, (int)N, (int)C, 2);
    s->mask = mask;
    s->B = B;
    s->T = T;
    return check_faults(err);
}

/* -log softmax(z)[y] over the positions t < T with mask[t] set, z strided by
 * 2; its gradient (p - onehot(y)) * scale into dz (same stride; 0 at padding). */
static double span_ce(const float *z, const int32_t *mask, int T, int y, float scale, float *dz) {
    double maxv = -INFINITY, sum = 0.0;
    for (int t = 0; t < T; t++)
        if (mask[t] && z[2 * t] > maxv) maxv = z[2 * t];
    for (int t = 0; t < T; t++)
        if (mask[t]) sum += exp((double)z[2 * t] - maxv);
    double logsum = log(sum) + maxv;
    for (int t = 0; dz && t < T; t++)
        dz[2 * t] = mask[t] ? (float)((exp((double)z[2 * t] - logsum) - (t == y)) * scale) : 0.0f;
    return logsum - z[2 * y];
}

int pifi_span_loss(const PifiModel *m, const int32_t *start, const int32_t *end, double *loss, float *dlogits,
                   PifiErr *err) {
    const PifiSpan *s = &m->span;
    int B = s->B, T = s->T;
    double total = 0.0;
    for (int b = 0; b < B; b++) {
        const int32_t *mk = s->mask + (size_t)b * T;
        if (start[b] < 0 || start[b] >= T || !mk[start[b]] || end[b] < 0 || end[b] >= T || !mk[end[b]])
            return pifi_errf(err, "internal: span labels %d..%d outside row %d's real tokens", start[b], end[b], b);
        const float *z = s->logits + (size_t)b * T * 2;
        float *dz = dlogits ? dlogits + (size_t)b * T * 2 : NULL;
        float scale = 0.5f / (float)B;
        total += span_ce(z, mk, T, start[b], scale, dz);
        total += span_ce(z + 1, mk, T, end[b], scale, dz ? dz + 1 : NULL);
    }
    *loss = total / (2.0 * B);
    return 0;
}

int pifi_span_backward(PifiModel *m, const float *dlogits, PifiGrads *g, PifiErr *err) {
    PifiSpan *s = &m->span;
    size_t N = (size_t)s->B * s->T, C = m->C, D = m->D;
    if (grow(&s->gmem, &s->gmem_size, N * (2 * C + 2 * D), err)) return -1;
    float *dv = s->gmem;      /* (N, C) */
    float *dz = dv + N * C;   /* (N, D) */
    float *du = dz + N * D;   /* (N, D) */
    float *dh = du + N * D;   /* (N, C) */
    memset(s->gmem, 0, N * (2 * C + 2 * D) * sizeof(float));
    PifiHeadParams *gh = &g->head;
    matmul_backward(dv, gh->head_w2, gh->head_b2, dlogits, s->v, m->hp.head_w2, (int)N, (int)C, 2);
    const float *dhidden = dv;
    if (m->has_llm) {
        matmul_backward(dz, gh->l_out, NULL, dv, s->z, m->hp.l_out, (int)N, (int)D, (int)C);
        if (llm_layer_backward_seq(&m->llm, du, dz, g->llm, err)) return -1;
        matmul_backward(dh, gh->l_in, NULL, du, encoder_output(&m->slm), m->hp.l_in, (int)N, (int)C, (int)D);
        dhidden = dh;
    }
    /* the head's, L_in/L_out's and the LLM layer's gradients are final: stage L */
    if (m->slm.grad_ready) m->slm.grad_ready(m->slm.grad_ready_ctx, m->slm.cfg.L);
    if (encoder_backward_mem(&m->slm, g->enc, g->lora, dhidden, err)) return -1;
    return check_faults(err);
}
