/* bart_load.c: the BART family's parameters: their layout in one fp32 arena
 * (one table, BART_KINDS, that points, counts, names and shapes them),
 * read from a checkpoint under BartForConditionalGeneration's names (or a
 * bare BartModel's, without "model."), the tensor table, and what is freed.
 * model.shared.weight may be stored only as one of its tied copies
 * (model.encoder.embed_tokens, model.decoder.embed_tokens, lm_head);
 * final_logits_bias, a buffer, is read when present (zeros when not, as
 * transformers does) and kept outside the arena. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/seq2seq/bart_internal.h"
#include "core/rng.h"
#include "pifi/safetensors.h"

/* A stacked tensor: its pointer in the stack, the HF name after the stack's
 * prefix ('?' stands for the part: q, k, v of a packed projection), whether
 * per layer, and its rows and columns per part (0 columns: 1-D). */
typedef struct {
    size_t field;      /* offsetof(BartStack, ...) */
    const char *name;  /* after "model.<stack>." (per layer: after "layers.<l>.") */
    int per_layer;
    int parts;         /* 3: q, k, v packed one after the other */
    char rows, cols;   /* 'C' d_model, 'F' the stack's ffn dim, 'P' position rows, '1' one */
    int decay;
    int decoder_only;
} BartKind;

#define F(x) offsetof(BartStack, x)
static const BartKind BART_KINDS[] = {
    {F(pos), "embed_positions.weight", 0, 1, 'P', 'C', 1, 0},
    {F(lnew), "layernorm_embedding.weight", 0, 1, 'C', 0, 0, 0},
    {F(lneb), "layernorm_embedding.bias", 0, 1, 'C', 0, 0, 0},
    {F(qkvw), "self_attn.?_proj.weight", 1, 3, 'C', 'C', 1, 0},
    {F(qkvb), "self_attn.?_proj.bias", 1, 3, 'C', 0, 0, 0},
    {F(ow), "self_attn.out_proj.weight", 1, 1, 'C', 'C', 1, 0},
    {F(ob), "self_attn.out_proj.bias", 1, 1, 'C', 0, 0, 0},
    {F(ln1w), "self_attn_layer_norm.weight", 1, 1, 'C', 0, 0, 0},
    {F(ln1b), "self_attn_layer_norm.bias", 1, 1, 'C', 0, 0, 0},
    {F(cqkvw), "encoder_attn.?_proj.weight", 1, 3, 'C', 'C', 1, 1},
    {F(cqkvb), "encoder_attn.?_proj.bias", 1, 3, 'C', 0, 0, 1},
    {F(cow), "encoder_attn.out_proj.weight", 1, 1, 'C', 'C', 1, 1},
    {F(cob), "encoder_attn.out_proj.bias", 1, 1, 'C', 0, 0, 1},
    {F(ln2w), "encoder_attn_layer_norm.weight", 1, 1, 'C', 0, 0, 1},
    {F(ln2b), "encoder_attn_layer_norm.bias", 1, 1, 'C', 0, 0, 1},
    {F(fc1w), "fc1.weight", 1, 1, 'F', 'C', 1, 0},
    {F(fc1b), "fc1.bias", 1, 1, 'F', 0, 0, 0},
    {F(fc2w), "fc2.weight", 1, 1, 'C', 'F', 1, 0},
    {F(fc2b), "fc2.bias", 1, 1, 'C', 0, 0, 0},
    {F(ln3w), "final_layer_norm.weight", 1, 1, 'C', 0, 0, 0},
    {F(ln3b), "final_layer_norm.bias", 1, 1, 'C', 0, 0, 0},
};
#undef F
#define BART_NKINDS ((int)(sizeof BART_KINDS / sizeof BART_KINDS[0]))

static int64_t dim_of(char d, int64_t C, int64_t FF, int64_t P) {
    return d == 'C' ? C : d == 'F' ? FF : d == 'P' ? P : 1;
}

/* One row into rows[*n] (when rows), counting it. */
static int add_row(BartTensor *rows, int cap, int *n, const char *name, float *w, int64_t d0, int64_t d1, int decay) {
    if (rows) {
        if (*n >= cap) return -1;
        BartTensor *r = &rows[*n];
        snprintf(r->name, sizeof r->name, "%s", name);
        r->w = w;
        r->ndim = d1 ? 2 : 1;
        r->shape[0] = d0;
        r->shape[1] = d1;
        r->n = d0 * (d1 ? d1 : 1);
        r->decay = decay;
    }
    (*n)++;
    return 0;
}

int64_t bart_layout(const Seq2SeqConfig *c, BartParams *p, float *mem, BartTensor *rows, int cap, int *nrows) {
    int64_t C = c->C, off = (int64_t)c->V * C, P = (int64_t)c->max_pos + 2;
    int n = 0;
    memset(p, 0, sizeof *p);
    p->shared = mem;
    if (add_row(rows, cap, &n, "model.shared.weight", mem, c->V, C, 1)) return -1;
    for (int s = 0; s < 2; s++) {
        BartStack *st = s ? &p->dec : &p->enc;
        const char *stack = s ? "decoder" : "encoder";
        int L = s ? c->L_dec : c->L_enc;
        int64_t FF = s ? c->bart.dec_ff : c->bart.enc_ff;
        for (int k = 0; k < BART_NKINDS; k++) {
            const BartKind *kd = &BART_KINDS[k];
            if (kd->decoder_only && !s) continue;
            int64_t d0 = dim_of(kd->rows, C, FF, P), d1 = kd->cols ? dim_of(kd->cols, C, FF, P) : 0;
            int64_t part = d0 * (d1 ? d1 : 1), layers = kd->per_layer ? L : 1;
            float *base = mem ? mem + off : NULL;
            *(float **)((char *)st + kd->field) = base;
            for (int l = 0; l < layers; l++)
                for (int q = 0; q < kd->parts; q++) {
                    char name[96];
                    if (kd->per_layer)
                        snprintf(name, sizeof name, "model.%s.layers.%d.%s", stack, l, kd->name);
                    else
                        snprintf(name, sizeof name, "model.%s.%s", stack, kd->name);
                    char *qm = strchr(name, '?');
                    if (qm) *qm = "qkv"[q];
                    float *w = mem ? base + ((int64_t)l * kd->parts + q) * part : NULL;
                    if (add_row(rows, cap, &n, name, w, d0, d1, kd->decay)) return -1;
                }
            off += layers * kd->parts * part;
        }
    }
    if (nrows) *nrows = n;
    return off;
}

/* ------------------------------------------------------------------------ */
/* loading */

/* A floating-point tensor read as fp32 into dst, its shape checked. */
static int read_tensor(SafeTensors *st, const char *name, int ndim, const int64_t *shape, float *dst, PifiErr *err) {
    const StTensor *t;
    if (st_get(st, name, &t, err)) return -1; /* "<file>: missing tensor '<name>'" */
    if (t->dtype != PIFI_DT_F32 && t->dtype != PIFI_DT_F16 && t->dtype != PIFI_DT_BF16 && t->dtype != PIFI_DT_F64)
        return pifi_errf(err, "%s: tensor '%s' has dtype %s; expected F32, F16, BF16 or F64", t->file, name,
                         pifi_dtype_name(t->dtype));
    return st_read_f32(st, name, ndim, shape, dst, err);
}

/* The checkpoint's prefix for the names after "model.": "model." (the
 * conditional-generation model) or "" (a bare BartModel). */
static const char *find_prefix(SafeTensors *st, PifiErr *err) {
    const StTensor *t;
    int f = st_find(st, "model.encoder.embed_positions.weight", &t, err);
    if (f < 0) return NULL;
    return f == 0 ? "model." : "";
}

/* The name the checkpoint stores a table name under (without its "model."). */
static void stored_name(char *out, size_t n, const char *prefix, const char *name) {
    snprintf(out, n, "%s%s", prefix, !strncmp(name, "model.", 6) ? name + 6 : name);
}

/* model.shared.weight, or else one of its tied copies. */
static int read_shared(SafeTensors *st, const char *prefix, const BartTensor *r, PifiErr *err) {
    static const char *const NAMES[] = {"model.shared.weight", "model.encoder.embed_tokens.weight",
                                        "model.decoder.embed_tokens.weight", "lm_head.weight", NULL};
    for (const char *const *nm = NAMES; *nm; nm++) {
        char full[128];
        if (!strcmp(*nm, "lm_head.weight"))
            snprintf(full, sizeof full, "%s", *nm);
        else
            stored_name(full, sizeof full, prefix, *nm);
        const StTensor *t;
        int f = st_find(st, full, &t, err);
        if (f < 0) return -1;
        if (f == 0) return read_tensor(st, full, r->ndim, r->shape, r->w, err);
    }
    char full[128];
    stored_name(full, sizeof full, prefix, NAMES[0]);
    return read_tensor(st, full, r->ndim, r->shape, r->w, err); /* its "missing tensor" message */
}

static int read_weights(Bart *b, SafeTensors *st, PifiErr *err) {
    const char *prefix = find_prefix(st, err);
    if (!prefix) return -1;
    for (int i = 0; i < b->nrows; i++) {
        const BartTensor *r = &b->rows[i];
        if (i == 0) {
            if (read_shared(st, prefix, r, err)) return -1;
            continue;
        }
        char full[128];
        stored_name(full, sizeof full, prefix, r->name);
        if (read_tensor(st, full, r->ndim, r->shape, r->w, err)) return -1;
    }
    /* final_logits_bias (1, V): a buffer, zeros when absent (transformers' _keys_to_ignore_on_load_missing) */
    const StTensor *t;
    int f = st_find(st, "final_logits_bias", &t, err);
    if (f < 0) return -1;
    int64_t shape[2] = {1, b->base.cfg.V};
    if (f == 0) return read_tensor(st, "final_logits_bias", 2, shape, b->flb, err);
    return 0;
}

/* A model of cfg with its table, an uninitialised arena and a zero final_logits_bias. */
static Bart *bart_alloc(const Seq2SeqConfig *cfg, struct PifiCompute *cx, PifiErr *err) {
    Bart *b = pifi_calloc(1, sizeof *b, err);
    if (!b) return NULL;
    b->base.cfg = *cfg;
    b->base.cx = cx;
    int n = 0;
    int64_t floats = bart_layout(cfg, &b->p, NULL, NULL, 0, &n);
    b->rows = pifi_calloc((size_t)n, sizeof *b->rows, err);
    b->base.param_mem = pifi_malloc((size_t)floats * sizeof(float), err);
    b->flb = pifi_calloc((size_t)cfg->V, sizeof(float), err);
    if (!b->rows || !b->base.param_mem || !b->flb) {
        bart_free(&b->base);
        return NULL;
    }
    b->base.num_params = bart_layout(cfg, &b->p, b->base.param_mem, b->rows, n, &b->nrows);
    return b;
}

static int ends(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* transformers' BartPreTrainedModel._init_weights: every linear weight and
 * embedding N(0, init_std) (the word embeddings' padding row 0), biases 0,
 * LayerNorms 1 and 0, final_logits_bias 0. */
int bart_init(Seq2Seq **out, const Seq2SeqConfig *cfg, uint64_t seed, struct PifiCompute *cx, PifiErr *err) {
    *out = NULL;
    Bart *b = bart_alloc(cfg, cx, err);
    if (!b) return -1;
    for (int i = 0; i < b->nrows; i++) {
        const BartTensor *r = &b->rows[i];
        int norm = strstr(r->name, "layer_norm") || strstr(r->name, "layernorm_embedding");
        for (int64_t k = 0; k < r->n; k++)
            r->w[k] = ends(r->name, ".bias") ? 0.0f
                      : norm                 ? 1.0f
                                             : cfg->bart.init_std * rng_normal(seed, 0x5200 + (uint64_t)i, (uint64_t)k);
        if (i == 0) memset(r->w + (size_t)cfg->pad_id * cfg->C, 0, (size_t)cfg->C * sizeof *r->w); /* padding_idx */
    }
    *out = &b->base;
    return 0;
}

int bart_load(Seq2Seq **out, const Seq2SeqConfig *cfg, const char *dir, struct PifiCompute *cx, PifiErr *err) {
    *out = NULL;
    SafeTensors *st = NULL;
    if (st_open(&st, dir, err)) return -1;
    Bart *b = bart_alloc(cfg, cx, err);
    if (!b) {
        st_close(st);
        return -1;
    }
    if (read_weights(b, st, err)) goto fail;
    st_close(st);
    *out = &b->base;
    return 0;
fail:
    st_close(st);
    bart_free(&b->base);
    return -1;
}

static void acts_free(BartActs *a) {
    free(a->mem);
    free(a->ids);
    free(a->mask);
}

void bart_free(Seq2Seq *m) {
    if (!m) return;
    Bart *b = bart_of(m);
    acts_free(&b->enc);
    acts_free(&b->dec);
    free(b->scratch);
    free(b->w16_mem);
    free(b->rows);
    free(b->flb);
    free(m->param_mem);
    free(b);
}

int bart_tensors(const Seq2Seq *m, Seq2SeqTensor *rows, int cap) {
    const Bart *b = bart_cof(m);
    if (b->nrows > cap) return -1;
    for (int i = 0; i < b->nrows; i++)
        rows[i] = (Seq2SeqTensor){b->rows[i].name, b->rows[i].w, b->rows[i].n, b->rows[i].decay, b->rows[i].ndim,
                                  {b->rows[i].shape[0], b->rows[i].shape[1]}};
    return b->nrows;
}
