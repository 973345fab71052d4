/* encoder_lora.c: LoRA adapters on the attention query and value projections
 * of every layer (the paper's LoRA baseline, PEFT semantics):
 *
 *   q = x Wq^T + bq + s (dropout(x) A_q^T) B_q^T,   s = alpha / r
 *   v = x Wv^T + bv + s (dropout(x) A_v^T) B_v^T
 *
 * A (r, C) starts uniform(-1/sqrt(C), 1/sqrt(C)) (kaiming_uniform, a =
 * sqrt(5)), B (C, r) at zero, so training starts from the base model. The
 * adapters live in their own arena (m->lora_mem), apart from the base
 * parameters, with the same pointer-table design. ALBERT's layers share one
 * query and one value Linear, so PEFT wraps each once: one pair of adapters,
 * run (and differentiated, accumulating) by every layer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/dropout.h"
#include "kernels/gemm.h"
#include "core/rng.h"
#include "models/encoders/encoder_internal.h"
#include "pifi/encoder.h"

static size_t point_lora(EncoderLora *lo, float *mem, const EncoderConfig *c, int r) {
    size_t n = (size_t)enc_weight_layers(c) * r * c->C; /* floats per tensor */
    if (mem) {
        lo->qa = mem;
        lo->qb = mem + n;
        lo->va = mem + 2 * n;
        lo->vb = mem + 3 * n;
    }
    return 4 * n;
}

int bert_lora_enable(Encoder *m, int r, float alpha, float dropout, uint64_t seed, PifiErr *err) {
    const EncoderConfig *c = &m->cfg;
    if (m->lora_r > 0)
        return pifi_errf(err, "lora: adapters are already enabled (rank %d)", m->lora_r);
    if (m->int8_only) return pifi_errf(err, "lora: an int8 encoder is for inference only");
    if (r < 1 || r > c->C)
        return pifi_errf(err, "lora: rank %d out of range (1 to hidden_size %d)", r, c->C);
    if (!(alpha > 0.0f) || !isfinite(alpha))
        return pifi_errf(err, "lora: alpha %g must be positive", (double)alpha);
    if (!(dropout >= 0.0f && dropout < 1.0f))
        return pifi_errf(err, "lora: dropout %g must be in [0, 1)", (double)dropout);
    size_t n = point_lora(&m->lora, NULL, c, r);
    m->lora_mem = enc_weights_alloc(m, n * sizeof(float), err);
    if (!m->lora_mem) return -1;
    point_lora(&m->lora, m->lora_mem, c, r);
    /* A: uniform(-1/sqrt(C), 1/sqrt(C)), tensor (layer, q|v) its own stream; B: zeros */
    size_t per = (size_t)r * c->C;
    float bound = 1.0f / sqrtf((float)c->C);
    for (int l = 0; l < enc_weight_layers(c); l++) {
        for (int j = 0; j < 2; j++) {
            float *A = (j ? m->lora.va : m->lora.qa) + (size_t)l * per;
            uint64_t stream = (uint64_t)l * 2 + j;
            for (size_t i = 0; i < per; i++)
                A[i] = (2.0f * rng_uniform(seed, stream, i) - 1.0f) * bound;
        }
    }
    memset(m->lora.qb, 0, per * enc_weight_layers(c) * sizeof(float));
    memset(m->lora.vb, 0, per * enc_weight_layers(c) * sizeof(float));
    m->lora_r = r;
    m->lora_alpha = alpha;
    m->lora_dropout = dropout;
    m->num_lora_params = (int64_t)n;
    return 0;
}

void encoder_lora_disable(Encoder *m) {
    free(m->lora_mem);
    m->lora_mem = NULL;
    memset(&m->lora, 0, sizeof m->lora);
    m->lora_r = 0;
    m->lora_alpha = m->lora_dropout = 0.0f;
    m->num_lora_params = 0;
}

int64_t encoder_lora_param_count(const Encoder *m) { return m->num_lora_params; }

void encoder_lora_point(const Encoder *m, EncoderLora *lo, float *mem) {
    if (m->lora_r <= 0) {
        memset(lo, 0, sizeof *lo);
        return;
    }
    point_lora(lo, mem, &m->cfg, m->lora_r);
}

int encoder_lora_tensor(const Encoder *m, const EncoderLora *lo, int i, char *name, size_t name_n,
                        float **data, int64_t shape[2]) {
    int L = enc_weight_layers(&m->cfg), r = m->lora_r, C = m->cfg.C;
    if (r <= 0 || i < 0 || i >= 4 * L) return -1;
    int l = i / 4, proj = (i / 2) % 2, isb = i % 2; /* per layer: qA qB vA vB */
    size_t per = (size_t)r * C;
    float *base = proj ? (isb ? lo->vb : lo->va) : (isb ? lo->qb : lo->qa);
    if (name) { /* PEFT's names: the adapted Linear's, then lora_A / lora_B */
        const EncoderNames *nm = encoder_names(&m->cfg);
        enc_layer_name(name, name_n, "", nm, l, nm->qkv[proj ? 2 : 0], isb ? "lora_B.weight" : "lora_A.weight");
    }
    if (data) *data = base ? base + (size_t)l * per : NULL;
    if (shape) {
        shape[0] = isb ? C : r;
        shape[1] = isb ? r : C;
    }
    return 0;
}

void encoder_lora_merge(Encoder *m) {
    int L = enc_weight_layers(&m->cfg), r = m->lora_r, C = m->cfg.C;
    if (r <= 0) return;
    float s = m->lora_alpha / (float)r;
    size_t per = (size_t)r * C;
    for (int l = 0; l < L; l++) {
        for (int j = 0; j < 2; j++) { /* W (C, C) += s B (C, r) A (r, C) */
            const float *A = (j ? m->lora.va : m->lora.qa) + (size_t)l * per;
            const float *Bm = (j ? m->lora.vb : m->lora.qb) + (size_t)l * per;
            float *W = m->params.qkvw + ((size_t)l * 3 + 2 * j) * C * C;
            gemm_f32(0, 0, C, C, r, s, Bm, r, A, C, 1.0f, W, C);
        }
    }
    encoder_lora_disable(m);
}

void encoder_lora_forward(Encoder *m, int l, const float *x, float *qkv, int B, int T, float p,
                          uint64_t seed, uint64_t step, uint64_t row0) {
    int r = m->lora_r, C = m->cfg.C, BT = B * T;
    float s = m->lora_alpha / (float)r;
    size_t per = (size_t)r * C, lw = enc_wl(&m->cfg, l);
    for (int j = 0; j < 2; j++) {
        const float *A = (j ? m->lora.va : m->lora.qa) + lw * per;
        const float *Bm = (j ? m->lora.vb : m->lora.qb) + lw * per;
        const float *xd = x;
        if (p > 0.0f) {
            dropout_rows_forward(m->acts.lora_x, x, B, (size_t)T * C, p, seed,
                                 encoder_stream(step, l, j ? ENC_SITE_LORA_V : ENC_SITE_LORA_Q), row0);
            xd = m->acts.lora_x;
        }
        float *u = m->acts.lora_u + ((size_t)l * 2 + j) * BT * r; /* (BT, r) */
        matmul_forward(u, xd, A, NULL, BT, C, r);
        /* qkv[:, q or v columns] (BT, C), row stride 3C, += s u B^T */
        gemm_f32(0, 1, BT, C, r, s, u, r, Bm, r, 1.0f, qkv + (size_t)j * 2 * C, 3 * C);
    }
}

void encoder_lora_backward(Encoder *m, EncoderLora *lg, int l, const float *x, const float *dqkv,
                           float *dx, int B, int T, float p, uint64_t seed, uint64_t step, uint64_t row0) {
    int r = m->lora_r, C = m->cfg.C, BT = B * T;
    float s = m->lora_alpha / (float)r;
    size_t per = (size_t)r * C, lw = enc_wl(&m->cfg, l);
    float *du = m->gs.du; /* (BT, r) */
    for (int j = 0; j < 2; j++) {
        const float *A = (j ? m->lora.va : m->lora.qa) + lw * per;
        const float *Bm = (j ? m->lora.vb : m->lora.qb) + lw * per;
        float *dA = lg ? (j ? lg->va : lg->qa) : NULL;
        float *dB = lg ? (j ? lg->vb : lg->qb) : NULL;
        if (dA) dA += lw * per;
        if (dB) dB += lw * per;
        const float *dy = dqkv + (size_t)j * 2 * C; /* (BT, C), row stride 3C */
        const float *u = m->acts.lora_u + ((size_t)l * 2 + j) * BT * r;
        uint64_t stream = encoder_stream(step, l, j ? ENC_SITE_LORA_V : ENC_SITE_LORA_Q);
        /* y = s u B^T:  dB (C, r) += s dy^T u,  du (BT, r) = s dy B */
        if (dB) gemm_f32(1, 0, C, r, BT, s, dy, 3 * C, u, r, 1.0f, dB, r);
        if (!dA && !dx) continue;
        gemm_f32(0, 0, BT, r, C, s, dy, 3 * C, Bm, r, 0.0f, du, r);
        /* u = xd A^T:  dA (r, C) += du^T xd,  dxd (BT, C) = du A */
        const float *xd = x;
        if (p > 0.0f) {
            dropout_rows_forward(m->acts.lora_x, x, B, (size_t)T * C, p, seed, stream, row0);
            xd = m->acts.lora_x;
        }
        if (dA) gemm_f32(1, 0, r, C, BT, 1.0f, du, r, xd, C, 1.0f, dA, C);
        if (!dx) continue;
        if (p > 0.0f) { /* dx += dropout_backward(du A) */
            float *t = m->acts.lora_x;
            gemm_f32(0, 0, BT, C, r, 1.0f, du, r, A, C, 0.0f, t, C);
            dropout_rows_backward(t, t, B, (size_t)T * C, p, seed, stream, row0);
            size_t n = (size_t)BT * C;
#pragma omp parallel for
            for (size_t i = 0; i < n; i++) dx[i] += t[i];
        } else {
            gemm_f32(0, 0, BT, C, r, 1.0f, du, r, A, C, 1.0f, dx, C);
        }
    }
}
