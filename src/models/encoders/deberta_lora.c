/* deberta_lora.c: LoRA adapters on DeBERTa-V2/V3's query_proj and value_proj
 * (PEFT semantics, its module names):
 *
 *   query_proj(x) = x Wq^T + bq + s (dropout(x) A_q^T) B_q^T,  s = alpha / r
 *
 * and the same for value_proj. With share_att_key, transformers also runs
 * query_proj on the relative embeddings (the positions' queries of p2c), and
 * PEFT's wrapped module adapts that call too: so does this. A starts uniform
 * (-1/sqrt(C), 1/sqrt(C)), B at zero, in their own arena (Encoder.lora_mem).
 * DeBERTa v1 packs query, key and value into one in_proj: PEFT can only
 * adapt it as a whole, which is not LoRA on query and value, so v1 refuses. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/rng.h"
#include "kernels/dropout.h"
#include "kernels/gemm.h"
#include "models/encoders/deberta_internal.h"

static size_t point_lora(DebertaLora *lo, float *mem, const EncoderConfig *c, int r) {
    size_t n = (size_t)c->L * r * c->C;
    if (mem) lo->qa = mem, lo->qb = mem + n, lo->va = mem + 2 * n, lo->vb = mem + 3 * n;
    return 4 * n;
}

void deberta_lora_point(const Encoder *m, DebertaLora *lo, float *mem) {
    memset(lo, 0, sizeof *lo);
    if (m->lora_r > 0 && mem) point_lora(lo, mem, &m->cfg, m->lora_r);
}

int deberta_lora_enable(Encoder *m, int r, float alpha, float dropout, uint64_t seed, PifiErr *err) {
    const EncoderConfig *c = &m->cfg;
    if (c->deberta.version == 1)
        return pifi_errf(err, "lora: not supported for model_type \"deberta\" (v1): its query, key and value are one "
                         "packed in_proj, which PEFT adapts as a whole, not as query and value");
    if (m->lora_r > 0) return pifi_errf(err, "lora: adapters are already enabled (rank %d)", m->lora_r);
    if (r < 1 || r > c->C) return pifi_errf(err, "lora: rank %d out of range (1 to hidden_size %d)", r, c->C);
    if (!(alpha > 0.0f) || !isfinite(alpha)) return pifi_errf(err, "lora: alpha %g must be positive", (double)alpha);
    if (!(dropout >= 0.0f && dropout < 1.0f))
        return pifi_errf(err, "lora: dropout %g must be in [0, 1)", (double)dropout);
    DebertaState *s = deberta_state(m);
    size_t n = point_lora(&s->lora, NULL, c, r);
    m->lora_mem = pifi_malloc(n * sizeof(float), err);
    if (!m->lora_mem) return -1;
    m->weight_bytes_allocated += n * sizeof(float);
    point_lora(&s->lora, m->lora_mem, c, r);
    size_t per = (size_t)r * c->C;
    float bound = 1.0f / sqrtf((float)c->C);
    for (int l = 0; l < c->L; l++)
        for (int j = 0; j < 2; j++) {
            float *A = (j ? s->lora.va : s->lora.qa) + (size_t)l * per;
            for (size_t i = 0; i < per; i++)
                A[i] = (2.0f * rng_uniform(seed, (uint64_t)l * 2 + j, i) - 1.0f) * bound;
        }
    memset(s->lora.qb, 0, per * c->L * sizeof(float));
    memset(s->lora.vb, 0, per * c->L * sizeof(float));
    m->lora_r = r;
    m->lora_alpha = alpha;
    m->lora_dropout = dropout;
    m->num_lora_params = (int64_t)n;
    return 0;
}

int deberta_lora_tensor(const Encoder *m, float *mem, int i, char *name, size_t name_n, float **data,
                        int64_t shape[2]) {
    int L = m->cfg.L, r = m->lora_r, C = m->cfg.C;
    if (r <= 0 || i < 0 || i >= 4 * L) return -1;
    DebertaLora lo = deberta_state(m)->lora;
    if (mem) deberta_lora_point(m, &lo, mem);
    int l = i / 4, v = (i / 2) % 2, isb = i % 2;
    float *base = v ? (isb ? lo.vb : lo.va) : (isb ? lo.qb : lo.qa);
    if (name)
        snprintf(name, name_n, "encoder.layer.%d.attention.self.%s.lora_%c.weight", l, v ? "value_proj" : "query_proj",
                 isb ? 'B' : 'A');
    if (data) *data = base + (size_t)l * r * C;
    if (shape) shape[0] = isb ? C : r, shape[1] = isb ? r : C;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* forward and backward */

void deberta_lora_forward(Encoder *m, int l, const float *x, float *qkv, int B, int T, float p, uint64_t seed,
                          uint64_t step, uint64_t row0) {
    DebertaState *s = deberta_state(m);
    int r = m->lora_r, C = m->cfg.C, BT = B * T;
    float sc = m->lora_alpha / (float)r;
    size_t per = (size_t)r * C;
    for (int j = 0; j < 2; j++) {
        const float *A = (j ? s->lora.va : s->lora.qa) + (size_t)l * per;
        const float *Bm = (j ? s->lora.vb : s->lora.qb) + (size_t)l * per;
        const float *xd = x;
        if (p > 0.0f) {
            dropout_rows_forward(s->a.lora_x, x, B, (size_t)T * C, p, seed,
                                 deberta_stream(step, l, j ? DEB_SITE_LORA_V : DEB_SITE_LORA_Q), row0);
            xd = s->a.lora_x;
        }
        float *u = s->a.lora_u + ((size_t)l * 2 + j) * BT * r; /* (BT, r) */
        matmul_forward(u, xd, A, NULL, BT, C, r);
        gemm_f32(0, 1, BT, C, r, sc, u, r, Bm, r, 1.0f, qkv + (size_t)j * 2 * C, 3 * C);
    }
}

void deberta_lora_rel_forward(Encoder *m, int l, const float *relx, float *pq, int R, float p, uint64_t seed,
                              uint64_t step) {
    DebertaState *s = deberta_state(m);
    int r = m->lora_r, C = m->cfg.C;
    float sc = m->lora_alpha / (float)r;
    const float *A = s->lora.qa + (size_t)l * r * C, *Bm = s->lora.qb + (size_t)l * r * C;
    const float *xd = relx;
    if (p > 0.0f) {
        deberta_rel_dropout(s->a.lora_x, relx, s->r_lo, R, C, p, seed, deberta_stream(step, l, DEB_SITE_LORA_QREL));
        xd = s->a.lora_x;
    }
    float *u = s->a.lora_ur + (size_t)l * R * r; /* (R, r) */
    matmul_forward(u, xd, A, NULL, R, C, r);
    gemm_f32(0, 1, R, C, r, sc, u, r, Bm, r, 1.0f, pq, C);
}

/* One adapter's backward for input x (N rows; xd: x after the forward's
 * dropout, recomputed by redo) and output gradient dy (ld ldy): dB += s dy^T
 * u, du = s dy B, dA += du^T xd, dx += dropout'(du A). */
typedef struct {
    Encoder *m;
    int B, T, R;
    float p;
    uint64_t seed, stream, row0;
    int rel; /* the positions' rows, else the batch's */
} Redo;

static void redo_dropout(const Redo *d, float *dst, const float *x) {
    int C = d->m->cfg.C;
    if (d->rel)
        deberta_rel_dropout(dst, x, deberta_state(d->m)->r_lo, d->R, C, d->p, d->seed, d->stream);
    else
        dropout_rows_forward(dst, x, d->B, (size_t)d->T * C, d->p, d->seed, d->stream, d->row0);
}

static void adapter_backward(const Redo *d, const float *A, const float *Bm, float *dA, float *dB, const float *u,
                             const float *x, const float *dy, int ldy, float *dx, int N) {
    Encoder *m = d->m;
    DebertaState *s = deberta_state(m);
    int r = m->lora_r, C = m->cfg.C;
    float sc = m->lora_alpha / (float)r;
    float *du = s->gs.du; /* (N, r) */
    if (dB) gemm_f32(1, 0, C, r, N, sc, dy, ldy, u, r, 1.0f, dB, r);
    if (!dA && !dx) return;
    gemm_f32(0, 0, N, r, C, sc, dy, ldy, Bm, r, 0.0f, du, r);
    const float *xd = x;
    if (d->p > 0.0f) {
        redo_dropout(d, s->a.lora_x, x);
        xd = s->a.lora_x;
    }
    if (dA) gemm_f32(1, 0, r, C, N, 1.0f, du, r, xd, C, 1.0f, dA, C);
    if (!dx) return;
    if (d->p > 0.0f) { /* dx += dropout(du A): the mask is linear */
        float *t = s->a.lora_x;
        gemm_f32(0, 0, N, C, r, 1.0f, du, r, A, C, 0.0f, t, C);
        redo_dropout(d, t, t);
        size_t n = (size_t)N * C;
#pragma omp parallel for
        for (size_t i = 0; i < n; i++) dx[i] += t[i];
    } else {
        gemm_f32(0, 0, N, C, r, 1.0f, du, r, A, C, 1.0f, dx, C);
    }
}

void deberta_lora_backward(Encoder *m, DebertaLora *lg, int l, const float *x, const float *dqkv, float *dx, int B,
                           int T, float p, uint64_t seed, uint64_t step, uint64_t row0) {
    DebertaState *s = deberta_state(m);
    int r = m->lora_r, C = m->cfg.C, BT = B * T;
    size_t per = (size_t)r * C;
    for (int j = 0; j < 2; j++) {
        Redo d = {m, B, T, 0, p, seed, deberta_stream(step, l, j ? DEB_SITE_LORA_V : DEB_SITE_LORA_Q), row0, 0};
        const float *A = (j ? s->lora.va : s->lora.qa) + (size_t)l * per;
        const float *Bm = (j ? s->lora.vb : s->lora.qb) + (size_t)l * per;
        float *dA = lg && (j ? lg->va : lg->qa) ? (j ? lg->va : lg->qa) + (size_t)l * per : NULL;
        float *dB = lg && (j ? lg->vb : lg->qb) ? (j ? lg->vb : lg->qb) + (size_t)l * per : NULL;
        const float *u = s->a.lora_u + ((size_t)l * 2 + j) * BT * r;
        adapter_backward(&d, A, Bm, dA, dB, u, x, dqkv + (size_t)j * 2 * C, 3 * C, dx, BT);
    }
}

void deberta_lora_rel_backward(Encoder *m, DebertaLora *lg, int l, const float *relx, const float *dpq,
                               float *drelx, int R, float p, uint64_t seed, uint64_t step) {
    DebertaState *s = deberta_state(m);
    int r = m->lora_r, C = m->cfg.C;
    size_t per = (size_t)r * C;
    Redo d = {m, 0, 0, R, p, seed, deberta_stream(step, l, DEB_SITE_LORA_QREL), 0, 1};
    float *dA = lg && lg->qa ? lg->qa + (size_t)l * per : NULL;
    float *dB = lg && lg->qb ? lg->qb + (size_t)l * per : NULL;
    adapter_backward(&d, s->lora.qa + (size_t)l * per, s->lora.qb + (size_t)l * per, dA, dB,
                     s->a.lora_ur + (size_t)l * R * r, relx, dpq, C, drelx, R);
}
