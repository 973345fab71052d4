/* deberta_load.c: the DeBERTa family's parameters: their layout in one fp32
 * arena (Encoder.param_mem, one table: deberta_layout), read from a
 * checkpoint under transformers' names (the bare model's, or a task model's
 * with "deberta."), and what is freed. The names live in one table too
 * (deberta_names), shared with the export. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/encoders/deberta_internal.h"
#include "pifi/safetensors.h"

int64_t deberta_layout(const EncoderConfig *c, DebertaParams *p, float *mem, DebertaTensor *t) {
    int64_t C = c->C, E = c->E, L = c->L, FF = c->FF;
    int v1 = c->deberta.version == 1, rel = c->deberta.relative, share = c->deberta.share_key;
    int pk = rel && c->deberta.c2p && !share, pq = rel && c->deberta.p2c && !share;
    DebertaTensor f[DEBERTA_TENSORS] = {
        {&p->wte, (int64_t)c->V * E, "wte", 1, 0},
        {&p->wpe, c->deberta.pos_input ? (int64_t)c->maxT * E : 0, "wpe", 1, 0},
        {&p->wtt, (int64_t)c->TV * E, "wtt", 1, 0},
        {&p->projw, E != C ? C * E : 0, "projw", 1, 0},
        {&p->emb_lnw, C, "emb_lnw", 0, 0},
        {&p->emb_lnb, C, "emb_lnb", 0, 0},
        {&p->qkvw, L * 3 * C * C, "qkvw", 1, 1},
        {&p->qb, L * C, "qb", v1, 1}, /* v1's q_bias is not named ".bias" */
        {&p->kb, v1 ? 0 : L * C, "kb", 0, 1},
        {&p->vb, L * C, "vb", v1, 1},
        {&p->pkw, pk ? L * C * C : 0, "pkw", 1, 1},
        {&p->pkb, pk && !v1 ? L * C : 0, "pkb", 0, 1},
        {&p->pqw, pq ? L * C * C : 0, "pqw", 1, 1},
        {&p->pqb, pq ? L * C : 0, "pqb", 0, 1},
        {&p->attprojw, L * C * C, "attprojw", 1, 1},
        {&p->attprojb, L * C, "attprojb", 0, 1},
        {&p->ln1w, L * C, "ln1w", 0, 1},
        {&p->ln1b, L * C, "ln1b", 0, 1},
        {&p->fcw, L * FF * C, "fcw", 1, 1},
        {&p->fcb, L * FF, "fcb", 0, 1},
        {&p->fcprojw, L * C * FF, "fcprojw", 1, 1},
        {&p->fcprojb, L * C, "fcprojb", 0, 1},
        {&p->ln2w, L * C, "ln2w", 0, 1},
        {&p->ln2b, L * C, "ln2b", 0, 1},
        {&p->rel, (int64_t)deberta_rel_rows(c) * C, "rel", 1, 0},
        {&p->rel_lnw, c->deberta.norm_rel ? C : 0, "rel_lnw", 0, 0},
        {&p->rel_lnb, c->deberta.norm_rel ? C : 0, "rel_lnb", 0, 0},
        {&p->convw, c->deberta.conv_k ? C * (C / c->deberta.conv_groups) * c->deberta.conv_k : 0, "convw", 1, 0},
        {&p->convb, c->deberta.conv_k ? C : 0, "convb", 0, 0},
        {&p->conv_lnw, c->deberta.conv_k ? C : 0, "conv_lnw", 0, 0},
        {&p->conv_lnb, c->deberta.conv_k ? C : 0, "conv_lnb", 0, 0},
    };
    int64_t total = 0;
    for (int i = 0; i < DEBERTA_TENSORS; i++) {
        if (mem) *f[i].ptr = f[i].n ? mem + total : NULL;
        total += f[i].n;
        if (t) t[i] = f[i];
    }
    return total;
}

/* ------------------------------------------------------------------------ */
/* loading */

static int load_tensor(SafeTensors *st, const char *prefix, const char *name, int ndim, const int64_t shape[3],
                       float *dst, PifiErr *err) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    const StTensor *t;
    int rc = st_find(st, full, &t, err);
    if (rc < 0) return -1;
    if (rc == 0 && t->dtype != PIFI_DT_F32 && t->dtype != PIFI_DT_F16 && t->dtype != PIFI_DT_BF16 &&
        t->dtype != PIFI_DT_F64)
        return pifi_errf(err, "%s: tensor '%s' has dtype %s; expected F32, F16, BF16 or F64", t->file, full,
                         pifi_dtype_name(t->dtype));
    return st_read_f32(st, full, ndim, shape, dst, err); /* a missing one: its message */
}

int deberta_names(const EncoderConfig *c, const DebertaParams *p, DebertaNameFn fn, void *ctx) {
    int64_t C = c->C, E = c->E, FF = c->FF;
    int v1 = c->deberta.version == 1;
    int k = c->deberta.conv_k, G = c->deberta.conv_groups > 0 ? c->deberta.conv_groups : 1;
    struct {
        const char *name;
        float *data;
        int ndim;
        int64_t shape[3];
    } emb[] = {
        {"embeddings.word_embeddings.weight", p->wte, 2, {c->V, E}},
        {"embeddings.position_embeddings.weight", p->wpe, 2, {c->maxT, E}},
        {"embeddings.token_type_embeddings.weight", p->wtt, 2, {c->TV, E}},
        {"embeddings.embed_proj.weight", p->projw, 2, {C, E}},
        {"embeddings.LayerNorm.weight", p->emb_lnw, 1, {C}},
        {"embeddings.LayerNorm.bias", p->emb_lnb, 1, {C}},
        {"encoder.rel_embeddings.weight", p->rel, 2, {deberta_rel_rows(c), C}},
        {"encoder.LayerNorm.weight", p->rel_lnw, 1, {C}},
        {"encoder.LayerNorm.bias", p->rel_lnb, 1, {C}},
        {"encoder.conv.conv.weight", p->convw, 3, {C, C / G, k}},
        {"encoder.conv.conv.bias", p->convb, 1, {C}},
        {"encoder.conv.LayerNorm.weight", p->conv_lnw, 1, {C}},
        {"encoder.conv.LayerNorm.bias", p->conv_lnb, 1, {C}},
    };
    for (size_t i = 0; i < sizeof emb / sizeof emb[0]; i++)
        if (emb[i].data && fn(ctx, emb[i].name, emb[i].ndim, emb[i].shape, emb[i].data)) return -1;
    for (int l = 0; l < c->L; l++) {
        size_t cc = (size_t)l * C * C, lc = (size_t)l * C, fc = (size_t)l * FF * C;
#define AT(ptr, off) ((ptr) ? (ptr) + (off) : NULL)
        struct {
            const char *name;
            float *data;
            int ndim;
            int64_t d0, d1;
        } t[] = {
            {v1 ? "attention.self.in_proj.weight" : NULL, AT(p->qkvw, 3 * cc), 2, 3 * C, C},
            {v1 ? NULL : "attention.self.query_proj.weight", AT(p->qkvw, 3 * cc), 2, C, C},
            {v1 ? NULL : "attention.self.key_proj.weight", AT(p->qkvw, 3 * cc + (size_t)C * C), 2, C, C},
            {v1 ? NULL : "attention.self.value_proj.weight", AT(p->qkvw, 3 * cc + 2 * (size_t)C * C), 2, C, C},
            {v1 ? "attention.self.q_bias" : "attention.self.query_proj.bias", AT(p->qb, lc), 1, C, 0},
            {"attention.self.key_proj.bias", AT(p->kb, lc), 1, C, 0},
            {v1 ? "attention.self.v_bias" : "attention.self.value_proj.bias", AT(p->vb, lc), 1, C, 0},
            {v1 ? "attention.self.pos_proj.weight" : "attention.self.pos_key_proj.weight", AT(p->pkw, cc), 2, C, C},
            {"attention.self.pos_key_proj.bias", AT(p->pkb, lc), 1, C, 0},
            {v1 ? "attention.self.pos_q_proj.weight" : "attention.self.pos_query_proj.weight", AT(p->pqw, cc), 2, C,
             C},
            {v1 ? "attention.self.pos_q_proj.bias" : "attention.self.pos_query_proj.bias", AT(p->pqb, lc), 1, C, 0},
            {"attention.output.dense.weight", AT(p->attprojw, cc), 2, C, C},
            {"attention.output.dense.bias", AT(p->attprojb, lc), 1, C, 0},
            {"attention.output.LayerNorm.weight", AT(p->ln1w, lc), 1, C, 0},
            {"attention.output.LayerNorm.bias", AT(p->ln1b, lc), 1, C, 0},
            {"intermediate.dense.weight", AT(p->fcw, fc), 2, FF, C},
            {"intermediate.dense.bias", AT(p->fcb, (size_t)l * FF), 1, FF, 0},
            {"output.dense.weight", AT(p->fcprojw, fc), 2, C, FF},
            {"output.dense.bias", AT(p->fcprojb, lc), 1, C, 0},
            {"output.LayerNorm.weight", AT(p->ln2w, lc), 1, C, 0},
            {"output.LayerNorm.bias", AT(p->ln2b, lc), 1, C, 0},
        };
#undef AT
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
            if (!t[i].name || !t[i].data) continue;
            char n[160];
            snprintf(n, sizeof n, "encoder.layer.%d.%s", l, t[i].name);
            int64_t shape[3] = {t[i].d0, t[i].d1, 0};
            if (fn(ctx, n, t[i].ndim, shape, t[i].data)) return -1;
        }
    }
    return 0;
}

typedef struct {
    SafeTensors *st;
    const char *prefix;
    PifiErr *err;
} LoadCtx;

static int load_one(void *ctx, const char *name, int ndim, const int64_t shape[3], float *data) {
    LoadCtx *x = ctx;
    return load_tensor(x->st, x->prefix, name, ndim, shape, data, x->err);
}

int deberta_load(Encoder *m, const char *dir, PifiErr *err) {
    DebertaState *s = calloc(1, sizeof *s);
    if (!s) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    m->priv = s;
    SafeTensors *st;
    if (st_open(&st, dir, err)) return -1;
    static const char *const PREFIXES[] = {"", "deberta.", NULL};
    const char *prefix = NULL;
    for (const char *const *pr = PREFIXES; *pr && !prefix; pr++) {
        char n[64];
        snprintf(n, sizeof n, "%sembeddings.word_embeddings.weight", *pr);
        const StTensor *t;
        int f = st_find(st, n, &t, err);
        if (f < 0) goto fail;
        if (f == 0) prefix = *pr;
    }
    if (!prefix) {
        pifi_errf(err, "%s: no tensor 'embeddings.word_embeddings.weight' (with or without a deberta. prefix): "
                  "not a %s checkpoint", dir, m->cfg.model_type);
        goto fail;
    }
    int64_t n = deberta_layout(&m->cfg, &s->p, NULL, NULL);
    m->param_mem = pifi_malloc((size_t)n * sizeof(float), err);
    if (!m->param_mem) goto fail;
    m->weight_bytes_allocated += (uint64_t)n * sizeof(float);
    deberta_layout(&m->cfg, &s->p, m->param_mem, NULL);
    m->num_params = n;
    s->nrel = deberta_rel_rows(&m->cfg);
    LoadCtx ctx = {st, prefix, err};
    if (deberta_names(&m->cfg, &s->p, load_one, &ctx)) goto fail;
    st_close(st);
    return 0;
fail:
    st_close(st);
    return -1; /* encoder_load frees m */
}

void deberta_free(Encoder *m) {
    DebertaState *s = deberta_state(m);
    if (s) {
        free(s->w16_mem);
        free(s->act_mem);
        free(s->idx);
        free(s->grad_mem);
        free(s);
    }
    free(m->param_mem);
    free(m->lora_mem);
    free(m->ids);
    free(m->type_ids);
    free(m->mask);
    free(m->pos_ids);
}
