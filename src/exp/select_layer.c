/* select_layer.c: `pifi select-layer` (select_layer.h): the data and its
 * subsets, the SLM's one pass into cached pooled vectors, each layer of the
 * LLM loaded in turn and probed (select_layer_probe.c), the ranking. */
#include "exp/select_layer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "data/data_spec.h"
#include "models/decoders/llm_source.h"
#include "pifi/tokenizer.h"
#include "train/tokdata.h"

void select_layer_opts_default(SelectLayerOpts *o) {
    memset(o, 0, sizeof *o);
    o->pooling = POOL_AUTO;
    o->max_examples = 2000;
    o->max_len = 100;      /* pifi train's */
    o->eval_batch = 64;
    o->epochs = 2;
    o->batch = 32;
    o->lr = 1e-3f;         /* a probe's: the SLM is frozen, so the heads alone must move (docs/select-layer.md) */
    o->clip = 5.0f;        /* pifi train's clipping, label smoothing, head dropout, Adam, seed */
    o->label_smoothing = 0.05f;
    o->head_dropout = 0.2f;
    o->optim = OPT_ADAM;
    o->seed = 2023;
    o->probe_seeds = 3;    /* one probe's ranking moves with its seed (docs/select-layer.md) */
    o->metric = -1;
    o->precision = PIFI_PREC_FP32;
}

void select_layer_vectors_free(SelectLayerVectors *v) {
    free(v->h);
    free(v->y);
    memset(v, 0, sizeof *v);
}

void select_layer_result_free(SelectLayerResult *r) {
    free(r->rows);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------------------ */
/* the data */

/* A seeded stratified subset of at most max rows of *ds (kept when it is
 * smaller), replacing it: *own holds the rows then. */
static int cap_split(PifiDataset **ds, PifiDataset *own, int max, uint64_t seed, PifiErr *err) {
    if (max <= 0 || (*ds)->n <= max) return 0;
    PifiDataset rest;
    if (dataset_carve(*ds, (double)max / (double)(*ds)->n, seed, own, &rest, err)) return -1;
    dataset_free(&rest);
    *ds = own;
    return 0;
}

/* The training and validation rows: a validation split carved from train
 * (20%, seeded) when the data has none; each capped at o->max_examples. */
typedef struct {
    LoadedData ld;
    PifiDataset carved_train, carved_valid, cap_train, cap_valid;
    PifiDataset *train, *valid;
} SlData;

static void sl_data_free(SlData *d) {
    dataset_free(&d->carved_train);
    dataset_free(&d->carved_valid);
    dataset_free(&d->cap_train);
    dataset_free(&d->cap_valid);
    data_free(&d->ld);
}

static int sl_data_load(SlData *d, const cJSON *desc, const SelectLayerOpts *o, const SelectLayerCallbacks *cb,
                        PifiErr *err) {
    memset(d, 0, sizeof *d);
    unsigned which = PIFI_SPLIT_BIT(PIFI_SPLIT_TRAIN) | PIFI_SPLIT_BIT(PIFI_SPLIT_VALID);
    if (data_load(desc, which, NULL, 0, &d->ld, err)) return -1;
    if (!d->ld.have[0]) return pifi_errf(err, "select-layer: the data has no training split");
    d->train = &d->ld.split[0];
    if (d->ld.have[1]) {
        d->valid = &d->ld.split[1];
    } else {
        if (dataset_carve(d->train, 0.2, o->seed, &d->carved_valid, &d->carved_train, err)) return -1;
        d->train = &d->carved_train;
        d->valid = &d->carved_valid;
        pifi_logf(cb ? cb->on_log : NULL, cb ? cb->user : NULL, PIFI_LOG_NOTE,
                  "select-layer: no validation split: the layers are scored on 20%% of the training rows "
                  "(%lld, seeded), trained on the rest", (long long)d->valid->n);
    }
    int64_t n0 = d->train->n, n1 = d->valid->n;
    if (cap_split(&d->train, &d->cap_train, o->max_examples, o->seed, err) ||
        cap_split(&d->valid, &d->cap_valid, o->max_examples, o->seed + 1, err))
        return -1;
    if (d->train->n < n0 || d->valid->n < n1)
        pifi_logf(cb ? cb->on_log : NULL, cb ? cb->user : NULL, PIFI_LOG_NOTE,
                  "select-layer: probing on %lld of %lld training and %lld of %lld validation rows "
                  "(--max-examples %d, stratified, seeded)",
                  (long long)d->train->n, (long long)n0, (long long)d->valid->n, (long long)n1, o->max_examples);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* the SLM's pass */

/* by (length, index), so that a batch pads little */
static int by_length(const void *a, const void *b) {
    const int64_t *x = a, *y = b;
    if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

/* The pooled vectors of ds (eval mode) into v; progress counted from done0
 * of total. */
static int vectors(PifiModel *m, const PifiTokenizer *tk, const PifiDataset *ds, const SelectLayerOpts *o,
                   const SelectLayerCallbacks *cb, int64_t done0, int64_t total, SelectLayerVectors *v,
                   PifiErr *err) {
    memset(v, 0, sizeof *v);
    TokData td;
    if (tokdata_build(&td, tk, ds, o->max_len, err)) return -1;
    int B = o->eval_batch, C = m->C, rc = -1;
    Batch b = {0};
    int64_t n = td.n, *order = malloc((size_t)(n ? n : 1) * 2 * sizeof *order), *idx = malloc((size_t)B * sizeof *idx);
    float *pooled = pifi_malloc((size_t)B * C * sizeof(float), err);
    v->h = pifi_malloc((size_t)(n ? n : 1) * C * sizeof(float), err);
    v->y = pifi_malloc((size_t)(n ? n : 1) * sizeof(int32_t), err);
    if (!order || !idx) pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    if (!order || !idx || !pooled || !v->h || !v->y) goto done;
    v->n = n, v->C = C;
    memcpy(v->y, ds->label, (size_t)n * sizeof(int32_t));
    for (int64_t i = 0; i < n; i++) order[2 * i] = td.len[i], order[2 * i + 1] = i;
    qsort(order, (size_t)n, 2 * sizeof *order, by_length);
    pifi_model_set_train(m, 0, 0, 0);
    for (int64_t s = 0; s < n; s += B) {
        int rows = (int)(n - s < B ? n - s : B);
        for (int i = 0; i < rows; i++) idx[i] = order[2 * (s + i) + 1];
        if (batch_fill(&b, &td, idx, rows, err) || pifi_model_pool(m, pooled, b.ids, b.type_ids, b.mask, rows, b.T, err))
            goto done;
        for (int i = 0; i < rows; i++)
            memcpy(v->h + (size_t)idx[i] * C, pooled + (size_t)i * C, (size_t)C * sizeof(float));
        if (cb && cb->on_features) cb->on_features(done0 + s + rows, total, cb->user);
    }
    rc = 0;
done:
    if (rc) select_layer_vectors_free(v);
    batch_free(&b);
    tokdata_free(&td);
    free(order);
    free(idx);
    free(pooled);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* the layers */

/* m's plugged layer replaced by layer k of path (frozen, pooled only). */
static int load_layer(PifiModel *m, const char *path, int k, PifiErr *err) {
    llm_layer_free(&m->llm);
    if (llm_layer_load(&m->llm, path, k, 1, m->cx, 1, err)) return -1;
    if (m->llm.cfg.D != m->D)
        return pifi_errf(err, "%s: layer %d has hidden size %d, the others %d", path, k, m->llm.cfg.D, m->D);
    return llm_layer_precision_changed(&m->llm, 0, err);
}

/* o->probe_seeds probes of m's layer (seeds o->seed, o->seed + 1, ...), their
 * scores averaged into *s; the metric's standard deviation over them. */
static int probe_seeds(PifiModel *m, const SelectLayerOpts *o, PifiMetric metric, const SelectLayerVectors *tr,
                       const SelectLayerVectors *va, SelectLayerScore *s, int64_t *steps, PifiErr *err) {
    int R = o->probe_seeds > 0 ? o->probe_seeds : 1;
    SelectLayerOpts one = *o;
    double sum[5] = {0}, sq = 0;
    for (int r = 0; r < R; r++) {
        SelectLayerScore x = {0};
        one.seed = o->seed + (uint64_t)r;
        if (select_layer_probe(m, &one, metric, tr, va, &x, steps, err)) return -1;
        double v[5] = {x.metric, x.accuracy, x.loss, x.train_loss, x.fisher};
        for (int i = 0; i < 5; i++) sum[i] += v[i];
        sq += x.metric * x.metric;
    }
    s->metric = sum[0] / R, s->accuracy = sum[1] / R, s->loss = sum[2] / R, s->train_loss = sum[3] / R;
    s->fisher = sum[4] / R;
    double var = R > 1 ? (sq - R * s->metric * s->metric) / (R - 1) : 0.0;
    s->metric_sd = var > 0 ? sqrt(var) : 0.0;
    return 0;
}

int select_layer_probe_all(PifiModel *m, const SelectLayerOpts *o, const SelectLayerVectors *tr,
                           const SelectLayerVectors *va, const SelectLayerCallbacks *cb, SelectLayerResult *res,
                           PifiErr *err) {
    if (!m->has_llm) return pifi_errf(err, "select-layer: the model has no LLM layer");
    int L = m->llm.cfg.num_layers, n = o->layers ? o->n_layers : L;
    if (n < 1 || n > SELECT_LAYER_MAX) return pifi_errf(err, "select-layer: %d layers to probe (1..%d)", n, SELECT_LAYER_MAX);
    free(res->rows);
    res->rows = calloc((size_t)n, sizeof *res->rows);
    if (!res->rows) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    res->n = 0, res->num_layers = L, res->K = m->K, res->last = -1;
    res->metric = o->metric >= 0 ? (PifiMetric)o->metric : PIFI_METRIC_ACCURACY;
    for (int i = 0; i < n; i++) {
        int k = i;
        if (o->layers && llm_resolve_layer(o->layers[i], L, o->llm, &k, err)) return -1;
        for (int j = 0; j < i; j++)
            if (res->rows[j].layer == k) return pifi_errf(err, "select-layer: layer %d is listed twice", k);
        SelectLayerScore *s = &res->rows[i];
        double t0 = pifi_now();
        if (m->llm.layer != k && load_layer(m, o->llm, k, err)) return -1;
        if (probe_seeds(m, o, res->metric, tr, va, s, &res->steps, err)) return -1;
        s->layer = k;
        s->seconds = pifi_now() - t0;
        res->n = i + 1;
        if (k == L - 1) res->last = i;
        if (cb && cb->on_layer) cb->on_layer(s, i + 1, n, cb->user);
    }
    res->pick = select_layer_rank(res->rows, res->n);
    return 0;
}

/* ------------------------------------------------------------------------ */

/* The LLM must be a whole model: an extracted layer holds one. */
static int check_llm(const char *path, PifiErr *err) {
    LlmSource *s;
    if (llm_source_open(&s, path, err)) return -1;
    int one = llm_source_is_extract(s);
    llm_source_close(s);
    if (one)
        return pifi_errf(err, "%s: a `pifi extract` output holds one layer; select-layer ranks the layers of a "
                              "whole LLM (an HF directory or a GGUF file)", path);
    return 0;
}

int select_layer_run(const SelectLayerOpts *o, const cJSON *desc, const SelectLayerCallbacks *cb,
                     SelectLayerResult *res, PifiErr *err) {
    memset(res, 0, sizeof *res);
    double t0 = pifi_now();
    if (!o->slm || !o->llm) return pifi_errf(err, "select-layer: needs an SLM and an LLM");
    if (check_llm(o->llm, err)) return -1;
    SlData d;
    PifiModel m;
    memset(&m, 0, sizeof m);
    PifiTokenizer *tk = NULL;
    SelectLayerVectors tr = {0}, va = {0};
    int rc = -1;
    if (sl_data_load(&d, desc, o, cb, err)) goto done;
    int K = d.train->num_classes;
    /* the first layer to probe; the others replace it one by one */
    int first = o->layers && o->n_layers > 0 ? o->layers[0] : 0;
    if (tokenizer_load(&tk, o->slm, err) ||
        pifi_model_init(&m, o->slm, o->llm, first, K, o->pooling, 1, o->precision, 1, err) ||
        pifi_model_set_precision(&m, o->precision, 1, err))
        goto done;
    SelectLayerOpts oo = *o;
    if (oo.metric < 0) oo.metric = d.ld.is_task ? (int)d.ld.ts.info->metrics[0] : PIFI_METRIC_ACCURACY;
    int64_t total = d.train->n + d.valid->n;
    double tf = pifi_now();
    if (vectors(&m, tk, d.train, &oo, cb, 0, total, &tr, err) ||
        vectors(&m, tk, d.valid, &oo, cb, d.train->n, total, &va, err))
        goto done;
    double features = pifi_now() - tf;
    if (select_layer_probe_all(&m, &oo, &tr, &va, cb, res, err)) goto done;
    res->n_train = tr.n, res->n_valid = va.n;
    res->features_seconds = features;
    res->seconds = pifi_now() - t0;
    rc = 0;
done:
    if (rc) select_layer_result_free(res);
    select_layer_vectors_free(&tr);
    select_layer_vectors_free(&va);
    pifi_model_free(&m);
    if (tk) tokenizer_free(tk);
    sl_data_free(&d);
    return rc;
}
