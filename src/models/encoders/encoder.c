/* encoder.c: BERT / RoBERTa / ELECTRA encoders (and MPNet and ALBERT, which
 * their families run on this code): weights from safetensors into one fp32 arena,
 * and the batched forward pass (post-LayerNorm transformer), with dropout in
 * training mode. The backward is in encoder_backward.c, the LoRA adapters in
 * encoder_lora.c.
 *
 *   x = LN(word[id] + type[tt] + pos[p])        (ELECTRA, ALBERT: then Linear E -> C; MPNet: no type)
 *   for each layer:                              (ALBERT: every layer the same weights)
 *     a = x + Attn(x)           h1 = LN1(a)     (MPNet: the scores + relb by relative bucket)
 *     f = h1 + W2 act(W1 h1)    x  = LN2(f)
 *   pooled = tanh(Wp x[:, 0])                    (when the checkpoint has a pooler)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/compute.h"
#include "kernels/dropout.h"
#include "kernels/gemm.h"
#include "kernels/layernorm.h"
#include "pifi/encoder.h"
#include "pifi/fileio.h"
#include "models/encoders/encoder_internal.h"

/* ------------------------------------------------------------------------ */
/* parameters */

/* Point the EncoderParams fields into one arena; returns the float count.
 * With mem == NULL only counts. q8 (ENC_Q8_*): tensors held in int8 only,
 * left out of the arena (NULL). */
static size_t point_params(EncoderParams *p, float *mem, const EncoderConfig *c, int pooler, unsigned q8) {
    size_t C = c->C, E = c->E, L = enc_weight_layers(c), FF = c->FF, proj = enc_has_proj(c);
    size_t lin = q8 & ENC_Q8_LINEAR ? 0 : 1, wte = q8 & ENC_Q8_WTE ? 0 : 1;
    struct {
        float **ptr;
        size_t n;
    } t[] = {
        {&p->wte, wte * c->V * E},     {&p->wpe, (size_t)c->maxT * E}, {&p->wtt, (size_t)c->TV * E},
        {&p->emb_lnw, E},              {&p->emb_lnb, E},
        {&p->projw, proj * C * E},     {&p->projb, proj * C},
        {&p->qkvw, lin * L * 3 * C * C}, {&p->qkvb, L * 3 * C},
        {&p->attprojw, lin * L * C * C}, {&p->attprojb, L * C},
        {&p->ln1w, L * C},             {&p->ln1b, L * C},
        {&p->fcw, lin * L * FF * C},   {&p->fcb, L * FF},
        {&p->fcprojw, lin * L * C * FF}, {&p->fcprojb, L * C},
        {&p->ln2w, L * C},             {&p->ln2b, L * C},
        {&p->relb, (size_t)c->rel_buckets * c->NH},
        {&p->poolw, pooler ? C * C : 0}, {&p->poolb, pooler ? C : 0},
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (mem) *t[i].ptr = t[i].n ? mem + total : NULL;
        total += t[i].n;
    }
    return total;
}

/* The ENC_Q8_* tensors m holds in int8 only. */
static unsigned q8_only_what(const Encoder *m) {
    return m->int8_only ? (m->q8.qkvw ? ENC_Q8_LINEAR : 0u) | (m->q8.wte ? ENC_Q8_WTE : 0u) : 0u;
}

/* Read "<prefix><name>" (or its old gamma/beta spelling) into dst; dst
 * NULL: a tensor held in int8 (encoder_load_q8 reads it). */
static int load_tensor(SafeTensors *st, const char *prefix, const char *name, int ndim, int64_t d0,
                       int64_t d1, float *dst, PifiErr *err) {
    if (!dst) return 0;
    char full[256];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    const StTensor *t;
    int rc = st_find(st, full, &t, err);
    if (rc < 0) return -1;
    if (rc == 1) { /* legacy LayerNorm names */
        size_t n = strlen(full);
        char alt[256];
        if (n > 7 && strcmp(full + n - 7, ".weight") == 0)
            snprintf(alt, sizeof alt, "%.*s.gamma", (int)(n - 7), full);
        else if (n > 5 && strcmp(full + n - 5, ".bias") == 0)
            snprintf(alt, sizeof alt, "%.*s.beta", (int)(n - 5), full);
        else
            alt[0] = 0;
        if (alt[0] && strstr(full, "LayerNorm") && st_find(st, alt, &t, err) == 0)
            snprintf(full, sizeof full, "%s", alt);
    }
    PifiDType dt = st_find(st, full, &t, err) == 0 ? t->dtype : PIFI_DT_F32; /* missing: st_read_f32 says so */
    if (dt != PIFI_DT_F32 && dt != PIFI_DT_F16 && dt != PIFI_DT_BF16 && dt != PIFI_DT_F64) /* int8 without its scale */
        return pifi_errf(err, "%s: tensor '%s' has dtype %s; expected F32, F16, BF16 or F64", t->file, full,
                         pifi_dtype_name(t->dtype));
    int64_t shape[2] = {d0, d1};
    return st_read_f32(st, full, ndim, shape, dst, err);
}

static int load_params(Encoder *m, SafeTensors *st, const char *prefix, PifiErr *err) {
    const EncoderConfig *c = &m->cfg;
    const EncoderNames *nm = encoder_names(c);
    EncoderParams *p = &m->params;
    int C = c->C, E = c->E, FF = c->FF;
    if (load_tensor(st, prefix, "embeddings.word_embeddings.weight", 2, c->V, E, p->wte, err) ||
        load_tensor(st, prefix, "embeddings.position_embeddings.weight", 2, c->maxT, E, p->wpe, err) ||
        load_tensor(st, prefix, "embeddings.LayerNorm.weight", 1, E, 0, p->emb_lnw, err) ||
        load_tensor(st, prefix, "embeddings.LayerNorm.bias", 1, E, 0, p->emb_lnb, err))
        return -1;
    if (c->TV > 0 &&
        load_tensor(st, prefix, "embeddings.token_type_embeddings.weight", 2, c->TV, E, p->wtt, err))
        return -1;
    char n[160];
    if (p->projw) {
        snprintf(n, sizeof n, "%s.weight", nm->proj);
        if (load_tensor(st, prefix, n, 2, C, E, p->projw, err)) return -1;
        snprintf(n, sizeof n, "%s.bias", nm->proj);
        if (load_tensor(st, prefix, n, 1, C, 0, p->projb, err)) return -1;
    }
    for (int l = 0; l < enc_weight_layers(c); l++) {
        for (int j = 0; j < 3; j++) {
            enc_layer_name(n, sizeof n, "", nm, l, nm->qkv[j], "weight");
            if (load_tensor(st, prefix, n, 2, C, C, ENC_AT(p->qkvw, ((size_t)l * 3 + j) * C * C), err)) return -1;
            enc_layer_name(n, sizeof n, "", nm, l, nm->qkv[j], "bias");
            if (load_tensor(st, prefix, n, 1, C, 0, p->qkvb + ((size_t)l * 3 + j) * C, err)) return -1;
        }
        struct {
            const char *name, *suffix;
            int ndim;
            int64_t d0, d1;
            float *dst;
        } t[] = {
            {nm->attproj, "weight", 2, C, C, ENC_AT(p->attprojw, (size_t)l * C * C)},
            {nm->attproj, "bias", 1, C, 0, p->attprojb + (size_t)l * C},
            {nm->ln1, "weight", 1, C, 0, p->ln1w + (size_t)l * C},
            {nm->ln1, "bias", 1, C, 0, p->ln1b + (size_t)l * C},
            {nm->fc, "weight", 2, FF, C, ENC_AT(p->fcw, (size_t)l * FF * C)},
            {nm->fc, "bias", 1, FF, 0, p->fcb + (size_t)l * FF},
            {nm->fcproj, "weight", 2, C, FF, ENC_AT(p->fcprojw, (size_t)l * C * FF)},
            {nm->fcproj, "bias", 1, C, 0, p->fcprojb + (size_t)l * C},
            {nm->ln2, "weight", 1, C, 0, p->ln2w + (size_t)l * C},
            {nm->ln2, "bias", 1, C, 0, p->ln2b + (size_t)l * C},
        };
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
            enc_layer_name(n, sizeof n, "", nm, l, t[i].name, t[i].suffix);
            if (load_tensor(st, prefix, n, t[i].ndim, t[i].d0, t[i].d1, t[i].dst, err)) return -1;
        }
    }
    if (p->relb && load_tensor(st, prefix, "encoder.relative_attention_bias.weight", 2, c->rel_buckets, c->NH,
                               p->relb, err))
        return -1;
    if (p->poolw) {
        snprintf(n, sizeof n, "%s.weight", nm->pooler);
        if (load_tensor(st, prefix, n, 2, C, C, p->poolw, err)) return -1;
        snprintf(n, sizeof n, "%s.bias", nm->pooler);
        if (load_tensor(st, prefix, n, 1, C, 0, p->poolb, err)) return -1;
    }
    return 0;
}

int bert_params_alloc(Encoder *m, unsigned q8, PifiErr *err) {
    size_t n = point_params(&m->params, NULL, &m->cfg, m->has_pooler, q8);
    m->param_mem = enc_weights_alloc(m, n * sizeof(float), err);
    if (!m->param_mem) return -1;
    point_params(&m->params, m->param_mem, &m->cfg, m->has_pooler, q8);
    m->num_params = (int64_t)n;
    return 0;
}

int bert_load(Encoder *m, const char *dir, PifiErr *err) {
    SafeTensors *st;
    if (st_open(&st, dir, err)) return -1;
    /* Which prefix do the names carry? */
    const EncoderNames *nm = encoder_names(&m->cfg);
    const char *prefix = NULL;
    for (const char *const *pr = nm->prefixes; *pr && !prefix; pr++) {
        char n[64];
        snprintf(n, sizeof n, "%sembeddings.word_embeddings.weight", *pr);
        const StTensor *t;
        int f = st_find(st, n, &t, err);
        if (f < 0) goto fail;
        if (f == 0) prefix = *pr;
    }
    if (!prefix) {
        pifi_errf(err, "%s: no tensor 'embeddings.word_embeddings.weight' (with or without a "
                  "%s prefix): not a %s checkpoint", dir, nm->prefix_list, m->cfg.model_type);
        goto fail;
    }
    char pn[96];
    snprintf(pn, sizeof pn, "%s%s.weight", prefix, nm->pooler);
    const StTensor *pt;
    int f = st_find(st, pn, &pt, err);
    if (f < 0) goto fail;
    m->has_pooler = f == 0;
    /* an int8 checkpoint: which tensors are I8 (those never get an fp32 copy) */
    char query0[128];
    enc_layer_name(query0, sizeof query0, "", nm, 0, nm->qkv[0], "weight");
    const struct {
        const char *name;
        unsigned what;
    } PROBE[] = {{query0, ENC_Q8_LINEAR}, {"embeddings.word_embeddings.weight", ENC_Q8_WTE}};
    unsigned q8 = 0;
    for (size_t i = 0; i < sizeof PROBE / sizeof PROBE[0]; i++) {
        char n[160];
        snprintf(n, sizeof n, "%s%s", prefix, PROBE[i].name);
        const StTensor *t;
        f = st_find(st, n, &t, err);
        if (f < 0) goto fail;
        if (f == 0 && t->dtype == PIFI_DT_I8) q8 |= PROBE[i].what;
    }

    if (bert_params_alloc(m, q8, err)) goto fail;
    if (load_params(m, st, prefix, err)) goto fail;
    if (q8) {
        if (encoder_load_q8(m, st, prefix, q8, err)) goto fail;
        m->int8_only = 1;
    }
    st_close(st);
    return 0;
fail:
    st_close(st);
    return -1; /* encoder_load frees m */
}

void bert_free(Encoder *m) {
    free(m->w16_mem);
    free(m->q8_mem);
    free(m->param_mem);
    free(m->act_mem);
    free(m->pos_ids);
    free(m->ids);
    free(m->type_ids);
    free(m->mask);
    free(m->lora_mem);
    free(m->grad_mem);
}

int64_t encoder_param_count(const Encoder *m) { return m->num_params; }

void encoder_point_params(const Encoder *m, EncoderParams *p, float *mem) {
    point_params(p, mem, &m->cfg, m->has_pooler, q8_only_what(m));
}

void encoder_set_inference(Encoder *m, int inference) { m->inference = inference != 0; }

void encoder_set_row0(Encoder *m, uint64_t row0) { m->row0 = row0; }

void encoder_set_train(Encoder *m, int train, uint64_t seed, uint64_t step) {
    m->w16_fresh = 0;
    m->train = train != 0;
    m->seed = seed;
    m->step = step;
}

/* ------------------------------------------------------------------------ */
/* activations */

/* Optional activations, by what the next forward needs (ENC_ACT_ONE_LAYER:
 * encoder_internal.h). */
enum { ACT_EMB_DROP = 1, ACT_ATTD = 2, ACT_LORA_X = 4, ACT_ONE_LAYER = ENC_ACT_ONE_LAYER };

static unsigned act_flags(const Encoder *m) {
    const EncoderConfig *c = &m->cfg;
    unsigned f = 0;
    if (m->train && c->hidden_dropout > 0.0f) f |= ACT_EMB_DROP;
    if (m->inference) f |= ACT_ONE_LAYER;
    if (m->train && c->attn_dropout > 0.0f) f |= ACT_ATTD;
    if (m->lora_r > 0 && m->lora_dropout > 0.0f) f |= ACT_LORA_X;
    return f;
}

static size_t point_acts(EncoderActs *a, float *mem, const EncoderConfig *c, int B, int T,
                         int pooler, unsigned flags, int r) {
    size_t BT = (size_t)B * T, C = c->C, E = c->E, L = flags & ACT_ONE_LAYER ? 1 : c->L, NH = c->NH, FF = c->FF;
    struct {
        float **ptr;
        size_t n;
    } t[] = {
        {&a->emb, BT * E},           {&a->emb_ln, BT * E},       {&a->emb_mean, BT},
        {&a->emb_rstd, BT},          {&a->proj, enc_has_proj(c) ? BT * C : 0},
        {&a->qkv, L * BT * 3 * C},   {&a->att, B * NH * T * T},  {&a->atty, BT * C},
        {&a->res1, L * BT * C},      {&a->ln1, L * BT * C},      {&a->ln1_mean, L * BT},
        {&a->ln1_rstd, L * BT},      {&a->fch, L * BT * FF},     {&a->fch_act, BT * FF},
        {&a->res2, L * BT * C},      {&a->ln2, L * BT * C},      {&a->ln2_mean, L * BT},
        {&a->ln2_rstd, L * BT},      {&a->pooled, pooler ? (size_t)B * C : 0},
        {&a->relbias, c->rel_buckets ? NH * T * T : 0},
        {&a->emb_drop, flags & ACT_EMB_DROP ? BT * E : 0},
        {&a->attd, flags & ACT_ATTD ? (size_t)B * NH * T * T : 0},
        {&a->lora_u, (size_t)c->L * 2 * BT * (size_t)r}, /* every layer's, even in inference (encoder_lora.c) */
        {&a->lora_x, flags & ACT_LORA_X ? BT * C : 0},
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (mem) *t[i].ptr = t[i].n ? mem + total : NULL;
        total += t[i].n;
    }
    return total;
}

/* Columns of the widest operand of a product: bf16 scratch is (B T, widest). */
static size_t widest(const EncoderConfig *c) {
    int w = c->FF > 3 * c->C ? c->FF : 3 * c->C;
    return (size_t)(w > c->E ? w : c->E);
}

/* Lay the activations out for (B, T), the training mode and LoRA; the
 * buffers only grow, so batches of varying length reuse them (no per-step
 * allocation once the longest batch has been seen). */
static int ensure_acts(Encoder *m, int B, int T, PifiErr *err) {
    unsigned flags = act_flags(m);
    if (m->act_mem && m->act_B == B && m->act_T == T && m->act_flags == flags &&
        m->fwd_lora_r == m->lora_r && (!m->cx || m->cx->s16_cap >= (size_t)B * T * widest(&m->cfg)) &&
        (!m->q8_mem || (m->cx && m->cx->sq_cap >= widest(&m->cfg) * COMPUTE_QROWS * sizeof(float))))
        return 0;
    size_t n = point_acts(&m->acts, NULL, &m->cfg, B, T, m->has_pooler, flags, m->lora_r);
    size_t ni = (size_t)B * T;
    m->B = m->T = 0; /* no forward to differentiate until this one succeeds */
    if (n > m->act_cap) {
        free(m->act_mem);
        m->act_cap = 0;
        m->act_mem = pifi_malloc(n * sizeof(float), err);
        if (!m->act_mem) return -1;
        m->act_cap = n;
    }
    if (ni > m->ids_cap) {
        free(m->pos_ids);
        free(m->ids);
        free(m->type_ids);
        free(m->mask);
        m->ids_cap = 0;
        m->pos_ids = pifi_malloc(ni * sizeof(int32_t), err);
        m->ids = m->pos_ids ? pifi_malloc(ni * sizeof(int32_t), err) : NULL;
        m->type_ids = m->ids ? pifi_malloc(ni * sizeof(int32_t), err) : NULL;
        m->mask = m->type_ids ? pifi_malloc(ni * sizeof(int32_t), err) : NULL;
        if (!m->mask) {
            free(m->pos_ids);
            free(m->ids);
            free(m->type_ids);
            m->pos_ids = m->ids = m->type_ids = NULL;
            m->act_B = m->act_T = 0;
            return -1;
        }
        m->ids_cap = ni;
    }
    if (m->cx && compute_reserve(m->cx, ni * widest(&m->cfg), m->q8_mem ? widest(&m->cfg) : 0, err)) return -1;
    point_acts(&m->acts, m->act_mem, &m->cfg, B, T, m->has_pooler, flags, m->lora_r);
    m->act_B = B;
    m->act_T = T;
    m->act_flags = flags;
    m->fwd_lora_r = m->lora_r;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* forward */

/* RoBERTa and MPNet number real tokens from padding_idx + 1 and give pads
 * padding_idx; BERT and ELECTRA use 0..T-1. */
static void position_ids(int32_t *pos, const int32_t *ids, const EncoderConfig *c, int B, int T) {
    for (int b = 0; b < B; b++) {
        int run = 0;
        for (int t = 0; t < T; t++) {
            int32_t id = ids[(size_t)b * T + t];
            if (c->arch == ENC_ROBERTA || c->arch == ENC_MPNET) {
                if (id != c->pad_id) run++;
                pos[(size_t)b * T + t] = id != c->pad_id ? c->pad_id + run : c->pad_id;
            } else {
                pos[(size_t)b * T + t] = t;
            }
        }
    }
}

/* out (B, T, E) = wte[ids] + wtt[type_ids] + wpe[pos]; the word embeddings
 * fp32 (wte) or int8 with a scale per token (wte8, swte). */
static void embedding_forward(float *out, const int32_t *ids, const int32_t *type_ids,
                              const int32_t *pos, const float *wte, const int8_t *wte8, const float *swte,
                              const float *wtt, const float *wpe, int BT, int E) {
#pragma omp parallel for
    for (int i = 0; i < BT; i++) {
        float *o = out + (size_t)i * E;
        const float *tt = wtt ? wtt + (size_t)(type_ids ? type_ids[i] : 0) * E : NULL;
        const float *p = wpe + (size_t)pos[i] * E;
        for (int e = 0; e < E; e++) {
            float v = wte8 ? swte[ids[i]] * (float)wte8[(size_t)ids[i] * E + e] : wte[(size_t)ids[i] * E + e];
            if (tt) v += tt[e];
            o[e] = v + p[e];
        }
    }
}

static void residual_add(float *out, const float *inp, size_t N) {
#pragma omp parallel for
    for (size_t i = 0; i < N; i++) out[i] += inp[i];
}

int bert_forward(Encoder *m, const int32_t *ids, const int32_t *type_ids, const int32_t *mask,
                    int B, int T, PifiErr *err) {
    const EncoderConfig *c = &m->cfg;
    if (B <= 0 || T <= 0) return pifi_errf(err, "encoder: empty batch (B=%d, T=%d)", B, T);
    if ((int64_t)B * T > INT32_MAX / 4)
        return pifi_errf(err, "encoder: batch of %d x %d tokens is too large", B, T);
    if (ensure_acts(m, B, T, err)) return -1;
    m->B = m->T = 0; /* until this forward succeeds */
    int bf = compute_bf16(m->cx);
    if (bf && !m->w16_fresh && encoder_refresh_w16(m, err)) return -1;
    int BT = B * T, C = c->C, E = c->E, FF = c->FF, NH = c->NH;
    for (int i = 0; i < BT; i++) {
        if (ids[i] < 0 || ids[i] >= c->V)
            return pifi_errf(err, "encoder: token id %d out of range (vocab_size %d)", ids[i], c->V);
        if (type_ids && (type_ids[i] < 0 || type_ids[i] >= (c->TV > 0 ? c->TV : 1)))
            return pifi_errf(err, "encoder: token type id %d out of range (type_vocab_size %d)",
                             type_ids[i], c->TV);
    }
    position_ids(m->pos_ids, ids, c, B, T);
    for (int i = 0; i < BT; i++)
        if (m->pos_ids[i] >= c->maxT)
            return pifi_errf(err, "encoder: sequence of %d tokens is longer than "
                             "max_position_embeddings %d allows", T, c->maxT);
    /* Copies for the backward pass (the caller's buffers may change). */
    memcpy(m->ids, ids, (size_t)BT * sizeof *ids);
    for (int i = 0; i < BT; i++) {
        m->type_ids[i] = type_ids && c->TV > 0 ? type_ids[i] : 0;
        m->mask[i] = mask ? mask[i] : 1;
    }
    mask = m->mask;
    /* Dropout in effect for this forward, remembered for the backward. */
    m->fwd_train = m->train;
    m->fwd_seed = m->seed;
    m->fwd_step = m->step;
    m->fwd_row0 = m->row0;
    float hp = m->train ? c->hidden_dropout : 0.0f, ap = m->train ? c->attn_dropout : 0.0f;
    float lp = m->train ? m->lora_dropout : 0.0f;
    uint64_t seed = m->seed, step = m->step, row0 = m->row0;

    EncoderParams *p = &m->params;
    const EncoderParams16 *w16 = bf ? &m->w16 : NULL;
    PifiCompute *cx = m->cx;
    EncoderActs *a = &m->acts;
    const EncoderParamsQ8 *q8 = m->q8_mem ? &m->q8 : NULL;
    embedding_forward(a->emb, ids, c->TV > 0 ? type_ids : NULL, m->pos_ids, p->wte, q8 ? q8->wte : NULL,
                      q8 ? q8->swte : NULL, c->TV > 0 ? p->wtt : NULL, p->wpe, BT, E);
    layernorm_forward(a->emb_ln, a->emb_mean, a->emb_rstd, a->emb, p->emb_lnw, p->emb_lnb, BT, E,
                      c->ln_eps);
    if (a->relbias) mpnet_relbias_forward(a->relbias, p->relb, NH, T); /* one bias for every layer */
    const float *x = a->emb_ln; /* (B, T, C) input of the current layer */
    if (hp > 0.0f) {
        dropout_rows_forward(a->emb_drop, a->emb_ln, B, (size_t)T * E, hp, seed, encoder_stream(step, -1, 0), row0);
        x = a->emb_drop;
    }
    if (a->proj) {
        linear_forward(cx, a->proj, x, linw(p->projw, w16 ? w16->projw : NULL), p->projb, BT, E, C);
        x = a->proj;
    }
    for (int l = 0; l < c->L; l++) {
        int li = m->act_flags & ACT_ONE_LAYER ? 0 : l; /* inference: one layer's buffers, reused */
        size_t o = (size_t)li * BT;
        float *qkv = a->qkv + o * 3 * C;
        float *att = a->att, *atty = a->atty; /* one layer's: the backward recomputes the others' */
        float *res1 = a->res1 + o * C, *ln1 = a->ln1 + o * C;
        float *fch = a->fch + o * FF, *fch_act = a->fch_act; /* one layer's, as att */
        float *res2 = a->res2 + o * C, *ln2 = a->ln2 + o * C;

        size_t lw = enc_wl(c, l); /* the slice of the weights layer l runs (ALBERT: 0, shared) */
        size_t oq = lw * 3 * C * C, oa = lw * C * C, of = lw * FF * C;
        size_t rq = lw * 3 * C, ra = lw * C, rf = lw * FF;
        const EncoderParamsQ8 *lq = q8 && q8->qkvw ? q8 : NULL; /* the layers' matrices in int8 */
        linear_forward(cx, qkv, x, enc_w(ENC_AT(p->qkvw, oq), w16 ? ENC_AT(w16->qkvw, oq) : NULL,
                                         lq ? lq->qkvw + oq : NULL, lq ? lq->sqkv + rq : NULL),
                       p->qkvb + rq, BT, C, 3 * C);
        if (m->lora_r > 0) encoder_lora_forward(m, l, x, qkv, B, T, lp, seed, step, row0);
        attention_forward_bias(atty, att, a->attd, qkv, mask, a->relbias, B, T, C, NH, ap, seed,
                               encoder_stream(step, l, ENC_SITE_ATT_PROBS), row0);
        linear_forward(cx, res1, atty, enc_w(ENC_AT(p->attprojw, oa), w16 ? ENC_AT(w16->attprojw, oa) : NULL,
                                             lq ? lq->attprojw + oa : NULL, lq ? lq->sattproj + ra : NULL),
                       p->attprojb + ra, BT, C, C);
        if (hp > 0.0f)
            dropout_rows_forward(res1, res1, B, (size_t)T * C, hp, seed, encoder_stream(step, l, ENC_SITE_ATT_OUT),
                                 row0);
        residual_add(res1, x, (size_t)BT * C);
        layernorm_forward(ln1, a->ln1_mean + o, a->ln1_rstd + o, res1, p->ln1w + ra, p->ln1b + ra, BT, C,
                          c->ln_eps);
        linear_forward(cx, fch, ln1, enc_w(ENC_AT(p->fcw, of), w16 ? ENC_AT(w16->fcw, of) : NULL,
                                           lq ? lq->fcw + of : NULL, lq ? lq->sfc + rf : NULL),
                       p->fcb + rf, BT, C, FF);
        activation_forward((Activation)c->act, fch_act, fch, (size_t)BT * FF);
        linear_forward(cx, res2, fch_act, enc_w(ENC_AT(p->fcprojw, of), w16 ? ENC_AT(w16->fcprojw, of) : NULL,
                                                lq ? lq->fcprojw + of : NULL, lq ? lq->sfcproj + ra : NULL),
                       p->fcprojb + ra, BT, FF, C);
        if (hp > 0.0f && enc_ffn_dropout(c))
            dropout_rows_forward(res2, res2, B, (size_t)T * C, hp, seed, encoder_stream(step, l, ENC_SITE_FFN_OUT),
                                 row0);
        residual_add(res2, ln1, (size_t)BT * C);
        layernorm_forward(ln2, a->ln2_mean + o, a->ln2_rstd + o, res2, p->ln2w + ra, p->ln2b + ra, BT, C,
                          c->ln_eps);
        x = ln2;
    }
    if (a->pooled) {
        for (int b = 0; b < B; b++) {
            const float *cls = x + (size_t)b * T * C;
            float *out = a->pooled + (size_t)b * C;
            matmul_forward(out, cls, p->poolw, p->poolb, 1, C, C);
            for (int i = 0; i < C; i++) out[i] = tanhf(out[i]);
        }
    }
    m->B = B;
    m->T = T;
    m->last_layer_kept = 1;
    return 0;
}

const float *bert_output(const Encoder *m) {
    int last = m->act_flags & ACT_ONE_LAYER ? 0 : m->cfg.L - 1;
    return m->acts.ln2 + (size_t)last * m->B * m->T * m->cfg.C;
}
