/* pifi_model.c: the PiFi composition (SLM -> pool -> L_in -> frozen LLM layer
 * -> L_out -> head) and the plain baseline (SLM -> pool -> head). */
#include "pifi/pifi_model.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/activation.h"
#include "kernels/compute.h"
#include "kernels/dropout.h"
#include "kernels/gemm.h"
#include "kernels/pool.h"
#include "core/rng.h"
#include "models/encoders/encoder_family.h"
#include "pifi/encoder_export.h"
#include "pifi/fileio.h"

int pifi_pooling_parse(const char *s, PifiPooling *out) {
    if (!strcmp(s, "auto")) *out = POOL_AUTO;
    else if (!strcmp(s, "cls")) *out = POOL_CLS;
    else if (!strcmp(s, "mean")) *out = POOL_MEAN;
    else if (!strcmp(s, "last")) *out = POOL_LAST;
    else return -1;
    return 0;
}

const char *pifi_pooling_name(PifiPooling p) {
    return p == POOL_CLS ? "cls" : p == POOL_MEAN ? "mean" : p == POOL_LAST ? "last" : "auto";
}

/* dense: the classification head's first layer (not in span mode) */
static size_t point_heads(PifiHeadParams *p, float *mem, int C, int D, int K, int has_llm, int dense) {
    struct {
        float **ptr;
        size_t n;
    } t[] = {
        {&p->l_in, has_llm ? (size_t)D * C : 0}, {&p->l_out, has_llm ? (size_t)C * D : 0},
        {&p->head_w1, dense ? (size_t)C * C : 0}, {&p->head_b1, dense ? (size_t)C : 0},
        {&p->head_w2, (size_t)K * C},            {&p->head_b2, (size_t)K},
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (mem) *t[i].ptr = t[i].n ? mem + total : NULL;
        total += t[i].n;
    }
    return total;
}

/* The model around an SLM: slm_layer INT_MIN: the SLM at slm_dir, else the
 * LLM at slm_dir's layer slm_layer alone (encoder_load_llm_layer). */
static int model_init(PifiModel *m, const char *slm_dir, int slm_layer, const char *llm_path, int llm_layer, int K,
                      PifiPooling pooling, int pooled_only, PifiPrecision prec, int llm_frozen, int span,
                      PifiErr *err) {
    memset(m, 0, sizeof *m);
    m->span.on = span;
    if (K < 2 || K > 100000) return pifi_errf(err, "number of classes must be 2..100000, got %d", K);
    m->cx = pifi_malloc(sizeof *m->cx, err);
    if (!m->cx) return -1;
    compute_init(m->cx, prec);
    if (slm_layer == INT_MIN ? encoder_load(&m->slm, slm_dir, m->cx, err)
                             : encoder_load_llm_layer(&m->slm, slm_dir, slm_layer, m->cx, err)) {
        pifi_model_free(m);
        return -1;
    }
    m->C = m->slm.cfg.C;
    m->K = K;
    /* auto: the family's (runs resolve it before they start, train_opts_resolve, to record it) */
    m->pooling = pooling == POOL_AUTO ? (PifiPooling)m->slm.cfg.family->default_pooling : pooling;
    if (llm_path) {
        if (llm_layer_load(&m->llm, llm_path, llm_layer, pooled_only, m->cx, llm_frozen, err)) {
            pifi_model_free(m);
            return -1;
        }
        m->has_llm = 1;
        m->D = m->llm.cfg.D;
    }
    size_t n = point_heads(&m->hp, NULL, m->C, m->D, K, m->has_llm, !span);
    m->hp_mem = pifi_calloc(n, sizeof(float), err);
    if (!m->hp_mem) {
        pifi_model_free(m);
        return -1;
    }
    point_heads(&m->hp, m->hp_mem, m->C, m->D, K, m->has_llm, !span);
    m->hp_count = (int64_t)n;
    m->head_dropout = 0.2f;
    return 0;
}

int pifi_model_init(PifiModel *m, const char *slm_dir, const char *llm_path, int llm_layer, int K,
                    PifiPooling pooling, int pooled_only, PifiPrecision prec, int llm_frozen, PifiErr *err) {
    return model_init(m, slm_dir, INT_MIN, llm_path, llm_layer, K, pooling, pooled_only, prec, llm_frozen, 0, err);
}

int pifi_model_init_span(PifiModel *m, const char *slm_dir, const char *llm_path, int llm_layer,
                         PifiPrecision prec, int llm_frozen, PifiErr *err) {
    return model_init(m, slm_dir, INT_MIN, llm_path, llm_layer, 2, POOL_CLS, 0, prec, llm_frozen, 1, err);
}

int pifi_model_init_llm_layer_only(PifiModel *m, const char *llm_path, int layer, int K, PifiPooling pooling,
                                   PifiPrecision prec, PifiErr *err) {
    return model_init(m, llm_path, layer, NULL, 0, K, pooling, 1, prec, 1, 0, err);
}

void pifi_model_point_heads(const PifiModel *m, PifiHeadParams *p, float *mem) {
    point_heads(p, mem, m->C, m->D, m->K, m->has_llm, !m->span.on);
}

/* torch.nn.Linear's reset_parameters: kaiming_uniform(a = sqrt(5)) for the
 * weight, i.e. bound 1/sqrt(fan_in), and the same bound for the bias. */
static void linear_init(float *w, float *b, int out, int in, uint64_t seed, uint64_t stream) {
    float bound = 1.0f / sqrtf((float)in);
    for (int64_t i = 0; i < (int64_t)out * in; i++) w[i] = (2.0f * rng_uniform(seed, stream, i) - 1.0f) * bound;
    if (b)
        for (int i = 0; i < out; i++) b[i] = (2.0f * rng_uniform(seed, stream + 1, i) - 1.0f) * bound;
}

void pifi_model_init_heads(PifiModel *m, uint64_t seed) {
    PifiHeadParams *p = &m->hp;
    if (p->l_in) linear_init(p->l_in, NULL, m->D, m->C, seed, 0x1100);
    if (p->l_out) linear_init(p->l_out, NULL, m->C, m->D, seed, 0x1200);
    if (p->head_w1) linear_init(p->head_w1, p->head_b1, m->C, m->C, seed, 0x1300);
    linear_init(p->head_w2, p->head_b2, m->K, m->C, seed, 0x1400);
}

void pifi_model_set_train(PifiModel *m, int train, uint64_t seed, uint64_t step) {
    m->train = train;
    m->seed = seed;
    m->step = step;
    encoder_set_train(&m->slm, train, seed, step);
    encoder_set_inference(&m->slm, !train); /* no backward in eval: keep one layer's activations */
    if (m->has_llm) llm_layer_set_train(&m->llm, train);
}

void pifi_model_set_row0(PifiModel *m, uint64_t row0) {
    m->row0 = row0;
    encoder_set_row0(&m->slm, row0);
}

int pifi_model_set_precision(PifiModel *m, PifiPrecision p, int llm_frozen, PifiErr *err) {
    compute_set_precision(m->cx, p); /* the one place a model's precision changes */
    encoder_precision_changed(&m->slm);
    return m->has_llm ? llm_layer_precision_changed(&m->llm, !llm_frozen, err) : 0;
}

void pifi_model_set_packing(PifiModel *m, int on) {
    if (m->cx) compute_set_packing(m->cx, on);
}

PifiPrecision pifi_model_precision(const PifiModel *m) { return m->cx ? m->cx->prec : PIFI_PREC_FP32; }

int pifi_model_quantize(PifiModel *m, int all, PifiErr *err) {
    if (m->has_llm && llm_layer_quantize(&m->llm, err)) return -1;
    return all ? encoder_quantize(&m->slm, 1, err) : 0;
}

uint64_t pifi_model_weight_bytes_allocated(const PifiModel *m) {
    return m->slm.weight_bytes_allocated + (m->has_llm ? m->llm.weight_bytes_allocated : 0) +
           (uint64_t)m->hp_count * sizeof(float);
}

void pifi_model_free(PifiModel *m) {
    free(m->gscratch);
    encoder_free(&m->slm);
    if (m->has_llm) llm_layer_free(&m->llm);
    if (m->cx) compute_free(m->cx);
    free(m->cx);
    free(m->hp_mem);
    free(m->act_mem);
    free(m->span.mem);
    free(m->span.gmem);
    memset(m, 0, sizeof *m);
}

/* The heads' tensors: name (after the prefix), shape, field of m->hp. */
typedef struct {
    const char *name;
    int ndim;
    int64_t shape[2];
    float *data;
} HeadTensor;

static int head_tensors(const PifiModel *m, HeadTensor t[6]) {
    int C = m->C, D = m->D, K = m->K, n = 0;
    HeadTensor all[6] = {
        {"l_in.weight", 2, {D, C}, m->hp.l_in},         {"l_out.weight", 2, {C, D}, m->hp.l_out},
        {"head.dense.weight", 2, {C, C}, m->hp.head_w1}, {"head.dense.bias", 1, {C, 0}, m->hp.head_b1},
        {"head.out.weight", 2, {K, C}, m->hp.head_w2},   {"head.out.bias", 1, {K, 0}, m->hp.head_b2},
    };
    for (int i = 0; i < 6; i++)
        if (all[i].data) t[n++] = all[i];
    return n;
}

int pifi_model_load_heads(PifiModel *m, SafeTensors *st, const char *prefix, PifiErr *err) {
    HeadTensor t[6];
    int n = head_tensors(m, t);
    for (int i = 0; i < n; i++) {
        char name[128];
        snprintf(name, sizeof name, "%s%s", prefix, t[i].name);
        if (st_read_f32(st, name, t[i].ndim, t[i].shape, t[i].data, err)) return -1;
    }
    return 0;
}

/* The tensors reordered (stably) by decreasing element size, so that
 * st_write aligns every one to its element size. n <= 1024. */
static void by_element_size(StWriteTensor *t, int n) {
    static const PifiDType ORDER[] = {PIFI_DT_F64, PIFI_DT_I64, PIFI_DT_F32, PIFI_DT_I32, PIFI_DT_F16,
                                      PIFI_DT_BF16, PIFI_DT_I16, PIFI_DT_I8, PIFI_DT_U8, PIFI_DT_BOOL};
    _Static_assert(sizeof ORDER / sizeof ORDER[0] == PIFI_DT_COUNT, "every dtype has its place");
    StWriteTensor tmp[1024];
    int m = 0;
    for (size_t o = 0; o < sizeof ORDER / sizeof ORDER[0]; o++)
        for (int i = 0; i < n; i++)
            if (t[i].dtype == ORDER[o]) tmp[m++] = t[i];
    memcpy(t, tmp, (size_t)m * sizeof *t);
}

/* llm_dir/config.json: the layer's config, naming its layer as a `pifi
 * extract` output does, so that llm_layer_load finds it. */
static int write_layer_config(const LlmLayer *l, const char *llm_dir, const char *source, PifiErr *err) {
    cJSON *c = llm_config_to_json(&l->cfg), *px = c ? cJSON_AddObjectToObject(c, "pifi_extract") : NULL;
    if (!px) {
        cJSON_Delete(c);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    }
    cJSON_AddStringToObject(px, "source", source ? source : "");
    cJSON_AddNumberToObject(px, "layer", l->layer);
    cJSON_AddStringToObject(px, "form", "int8 matrices, one fp32 scale per row (absmax / 127)");
    char *text = cJSON_Print(c), *path = pifi_path_join(llm_dir, "config.json");
    int rc = text && path ? pifi_write_file_atomic(path, text, strlen(text), err)
                          : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    free(text);
    free(path);
    cJSON_Delete(c);
    return rc;
}

int pifi_model_save_int8(const PifiModel *m, const char *slm_path, const char *llm_dir, const char *llm_source,
                         PifiErr *err) {
    if (m->has_llm && !m->llm.q8_only) return pifi_errf(err, "%s: the LLM layer is not quantized", llm_dir);
    if (m->has_llm) { /* the layer: its own checkpoint directory */
        StWriteTensor t[32];
        char names[32][192];
        int n = llm_layer_int8_tensors(&m->llm, t, names, 31);
        if (m->llm.cfg.has_rope_freqs) /* GGUF's rope divisors, as pifi extract keeps them */
            t[n++] = (StWriteTensor){"model.rope_freqs", PIFI_DT_F32, 1, {m->llm.cfg.HD / 2}, m->llm.cfg.rope_freqs};
        by_element_size(t, n);
        cJSON *meta = cJSON_CreateObject();
        cJSON_AddStringToObject(meta, "format", "pifi-int8");
        char *p = pifi_path_join(llm_dir, "model.safetensors");
        int rc = p ? pifi_mkdirs(llm_dir, err) : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        if (rc == 0) rc = st_write(p, t, n, meta, err);
        if (rc == 0) rc = write_layer_config(&m->llm, llm_dir, llm_source, err);
        free(p);
        cJSON_Delete(meta);
        if (rc) return -1;
    }
    /* the SLM (int8 where quantized) and the heads */
    EncoderExport *x = malloc(sizeof *x);
    if (!x) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    int rc = encoder_export(&m->slm, "", x, err);
    HeadTensor h[6];
    int nh = head_tensors(m, h);
    char hn[6][64];
    for (int i = 0; rc == 0 && i < nh; i++) {
        if (x->n >= ENCODER_EXPORT_MAX) {
            rc = pifi_errf(err, "%s: too many tensors to save", slm_path);
            break;
        }
        snprintf(hn[i], sizeof hn[i], "pifi.%s", h[i].name);
        x->t[x->n++] = (StWriteTensor){hn[i], PIFI_DT_F32, h[i].ndim, {h[i].shape[0], h[i].shape[1]}, h[i].data};
    }
    if (rc == 0) {
        by_element_size(x->t, x->n);
        cJSON *meta = cJSON_CreateObject();
        cJSON_AddStringToObject(meta, "format", "pifi-int8");
        rc = st_write(slm_path, x->t, x->n, meta, err);
        cJSON_Delete(meta);
    }
    free(x);
    return rc;
}

static int ensure_acts(PifiModel *m, int B, PifiErr *err) {
    if (m->act_mem && m->act_B >= B) return 0;
    size_t C = m->C, D = m->D, K = m->K;
    size_t n = (size_t)B * (C + 2 * D + 4 * C + K);
    free(m->act_mem);
    m->act_mem = pifi_malloc(n * sizeof(float), err);
    if (!m->act_mem) return -1;
    m->act_B = B;
    return 0;
}

static void point_acts(PifiModel *m, int B) {
    size_t C = m->C, D = m->D;
    float *p = m->act_mem;
    PifiActs *a = &m->acts;
    a->pooled = p, p += B * C;
    a->u = p, p += B * D;
    a->z = p, p += B * D;
    a->v = p, p += B * C;
    a->h1 = p, p += B * C;
    a->h1d = p, p += B * C;
    a->h1a = p, p += B * C;
    a->logits = p;
}

/* A product that ran out of memory half-way (gemm.h) spoils the pass. */
static int check_faults(PifiErr *err) {
    if (!gemm_f32_take_faults()) return 0;
    return pifi_errf(err, "out of memory inside a matrix product: the pass is incomplete "
                          "(raise --max-memory or free memory)");
}

/* From a->pooled (B, C) to a->logits: L_in, the layer, L_out (with a
 * layer), the head. */
static int head_forward(PifiModel *m, int B, PifiErr *err) {
    PifiActs *a = &m->acts;
    int C = m->C, D = m->D, K = m->K;
    const float *v = a->pooled;
    if (m->has_llm) {
        matmul_forward(a->u, a->pooled, m->hp.l_in, NULL, B, C, D);
        if (llm_layer_forward_pooled(&m->llm, a->z, a->u, B, err)) return -1;
        matmul_forward(a->v, a->z, m->hp.l_out, NULL, B, D, C);
        v = a->v;
    }
    matmul_forward(a->h1, v, m->hp.head_w1, m->hp.head_b1, B, C, C);
    /* the authors' head: Linear -> Dropout -> GELU -> Linear */
    if (m->train && m->head_dropout > 0)
        dropout_rows_forward(a->h1d, a->h1, B, (size_t)C, m->head_dropout, m->seed, m->step * 64 + 63, m->row0);
    else
        memcpy(a->h1d, a->h1, (size_t)B * C * sizeof(float));
    activation_forward(ACT_GELU, a->h1a, a->h1d, (size_t)B * C);
    matmul_forward(a->logits, a->h1a, m->hp.head_w2, m->hp.head_b2, B, C, K);
    m->last_B = B;
    return 0;
}

int pifi_model_pool(PifiModel *m, float *pooled, const int32_t *ids, const int32_t *type_ids, const int32_t *mask,
                    int B, int T, PifiErr *err) {
    if (encoder_forward(&m->slm, ids, type_ids, mask, B, T, err)) return -1;
    pool_forward(pooled, encoder_output(&m->slm), mask, B, T, m->C, (int)m->pooling);
    return 0;
}

int pifi_model_forward(PifiModel *m, const int32_t *ids, const int32_t *type_ids, const int32_t *mask,
                       int B, int T, PifiErr *err) {
    if (m->span.on) return pifi_errf(err, "internal: a span model's forward is pifi_span_forward");
    if (ensure_acts(m, B, err)) return -1;
    point_acts(m, B);
    if (pifi_model_pool(m, m->acts.pooled, ids, type_ids, mask, B, T, err) || head_forward(m, B, err)) return -1;
    m->last_mask = mask;
    m->last_T = T;
    return check_faults(err);
}

int pifi_model_forward_pooled(PifiModel *m, const float *pooled, int B, PifiErr *err) {
    if (m->span.on) return pifi_errf(err, "internal: a span model's forward is pifi_span_forward");
    if (ensure_acts(m, B, err)) return -1;
    point_acts(m, B);
    memcpy(m->acts.pooled, pooled, (size_t)B * m->C * sizeof(float));
    if (head_forward(m, B, err)) return -1;
    m->last_mask = NULL;
    m->last_T = 0;
    return check_faults(err);
}

static float *grad_scratch(PifiModel *m, size_t need, PifiErr *err) {
    if (need > m->gscratch_size) {
        free(m->gscratch);
        m->gscratch = pifi_malloc(need * sizeof(float), err);
        m->gscratch_size = m->gscratch ? need : 0;
    }
    return m->gscratch;
}

/* Backward of head_forward into s (6 (B, max(C, D)) blocks): the heads' (and
 * an unfrozen layer's) gradients accumulated into g; *dpooled (B, C), the
 * gradient of a->pooled, points into s. */
static int head_backward(PifiModel *m, int B, const float *dlogits, PifiGrads *g, float *s, const float **dpooled,
                         PifiErr *err) {
    int C = m->C, D = m->D, K = m->K;
    PifiActs *a = &m->acts;
    int W = C > D ? C : D;
    float *dh1a = s;                        /* (B, C) */
    float *dh1d = dh1a + (size_t)B * W;     /* (B, C) */
    float *dv = dh1d + (size_t)B * W;       /* (B, C) */
    float *dz = dv + (size_t)B * W;         /* (B, D) */
    float *du = dz + (size_t)B * W;         /* (B, D) */
    float *dpool = du + (size_t)B * W;      /* (B, C) */
    PifiHeadParams *gh = &g->head;
    memset(s, 0, 6 * (size_t)B * W * sizeof(float));
    matmul_backward(dh1a, gh->head_w2, gh->head_b2, dlogits, a->h1a, m->hp.head_w2, B, C, K);
    activation_backward(ACT_GELU, dh1d, a->h1d, dh1a, (size_t)B * C);
    if (m->train && m->head_dropout > 0)
        dropout_rows_backward(dh1d, dh1d, B, (size_t)C, m->head_dropout, m->seed, m->step * 64 + 63, m->row0);
    const float *v = m->has_llm ? a->v : a->pooled;
    matmul_backward(dv, gh->head_w1, gh->head_b1, dh1d, v, m->hp.head_w1, B, C, C);
    *dpooled = dv;
    if (m->has_llm) {
        matmul_backward(dz, gh->l_out, NULL, dv, a->z, m->hp.l_out, B, D, C);
        if (llm_layer_backward_pooled(&m->llm, du, dz, g->llm, err)) return -1;
        matmul_backward(dpool, gh->l_in, NULL, du, a->pooled, m->hp.l_in, B, C, D);
        *dpooled = dpool;
    }
    return 0;
}

int pifi_model_backward(PifiModel *m, const float *dlogits, PifiGrads *g, PifiErr *err) {
    int B = m->last_B, T = m->last_T, C = m->C, D = m->D;
    int W = C > D ? C : D;
    float *s = grad_scratch(m, 6 * (size_t)B * W + (size_t)B * T * C, err);
    if (!s) return -1;
    float *dh = s + 6 * (size_t)B * W; /* (B, T, C) */
    const float *dpooled;
    if (head_backward(m, B, dlogits, g, s, &dpooled, err)) return -1;
    pool_backward(dh, dpooled, m->last_mask, B, T, C, (int)m->pooling);
    /* the head's, L_in/L_out's and the LLM layer's gradients are final: stage L */
    if (m->slm.grad_ready) m->slm.grad_ready(m->slm.grad_ready_ctx, m->slm.cfg.L);
    if (encoder_backward_mem(&m->slm, g->enc, g->lora, dh, err)) return -1;
    return check_faults(err);
}

int pifi_model_backward_pooled(PifiModel *m, const float *dlogits, PifiGrads *g, PifiErr *err) {
    int B = m->last_B, W = m->C > m->D ? m->C : m->D;
    float *s = grad_scratch(m, 6 * (size_t)B * W, err);
    const float *dpooled;
    if (!s || head_backward(m, B, dlogits, g, s, &dpooled, err)) return -1;
    return check_faults(err);
}

int pifi_model_forward_seq(PifiModel *m, float *out, const int32_t *ids, const int32_t *type_ids,
                           const int32_t *mask, int B, int T, int causal, PifiErr *err) {
    if (!m->has_llm) return pifi_errf(err, "sequence mode needs an LLM layer");
    if (encoder_forward(&m->slm, ids, type_ids, mask, B, T, err)) return -1;
    size_t N = (size_t)B * T;
    int C = m->C, D = m->D;
    float *u = pifi_malloc(2 * N * D * sizeof(float), err);
    if (!u) return -1;
    float *z = u + N * D;
    matmul_forward(u, encoder_output(&m->slm), m->hp.l_in, NULL, (int)N, C, D);
    int rc = llm_layer_forward_seq(&m->llm, z, u, mask, B, T, causal, err);
    if (rc == 0) matmul_forward(out, z, m->hp.l_out, NULL, (int)N, D, C);
    free(u);
    return rc ? rc : check_faults(err);
}
