/* select_layer_probe.c: one layer's probe for `pifi select-layer`: L_in,
 * L_out and the head trained on cached pooled vectors through the plugged
 * layer (pifi_model_forward_pooled / _backward_pooled), scored on the
 * validation vectors; the Fisher ratio of the layer's output; the ranking. */
#include "exp/select_layer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/loss.h"
#include "train/tokdata.h"

/* ------------------------------------------------------------------------ */
/* the trainable tensors: L_in, L_out and the head, as pifi train registers them */

static int register_heads(ParamTable *pt, PifiModel *m, PifiErr *err) {
    PifiHeadParams *h = &m->hp;
    int64_t C = m->C, D = m->D, K = m->K;
    if (h->l_in && (params_add(pt, "pifi.l_in.weight", h->l_in, 2, D, C, 1, err) ||
                    params_add(pt, "pifi.l_out.weight", h->l_out, 2, C, D, 1, err)))
        return -1;
    return params_add(pt, "pifi.head.dense.weight", h->head_w1, 2, C, C, 1, err) ||
           params_add(pt, "pifi.head.dense.bias", h->head_b1, 1, C, 0, 0, err) ||
           params_add(pt, "pifi.head.out.weight", h->head_w2, 2, K, C, 1, err) ||
           params_add(pt, "pifi.head.out.bias", h->head_b2, 1, K, 0, 0, err);
}

/* Rows idx[0..B) of v into h (B, C) and y (B). */
static void gather(const SelectLayerVectors *v, const int64_t *idx, int B, float *h, int32_t *y) {
    for (int i = 0; i < B; i++) {
        memcpy(h + (size_t)i * v->C, v->h + (size_t)idx[i] * v->C, (size_t)v->C * sizeof(float));
        y[i] = v->y[idx[i]];
    }
}

/* ------------------------------------------------------------------------ */
/* training */

typedef struct {
    float *h;        /* (B, C) a batch of vectors */
    int32_t *y;      /* (B) */
    float *dlogits;  /* (B, K) */
    int64_t *order;  /* (n) */
    float *z;        /* (n, D) the layer's outputs on the training vectors (Fisher) */
} ProbeBuf;

static int train(PifiModel *m, const SelectLayerOpts *o, const SelectLayerVectors *tr, ParamTable *pt,
                 PifiGrads *g, ProbeBuf *b, double *last_loss, int64_t *steps, PifiErr *err) {
    int B = o->batch;
    int64_t n = tr->n, per_epoch = epoch_steps(n, B, 1), step = 0;
    OptimConfig oc = {o->optim, 0.9f, 0.999f, 1e-8f, o->weight_decay};
    for (int e = 0; e < o->epochs; e++) {
        epoch_order(b->order, n, o->seed, e, 1);
        double sum = 0.0;
        for (int64_t s = 0; s < per_epoch; s++) {
            int rows = epoch_batch_rows(n, B, 1, s);
            gather(tr, b->order + s * B, rows, b->h, b->y);
            pifi_model_set_train(m, 1, o->seed, (uint64_t)step);
            pifi_model_set_row0(m, 0);
            if (pifi_model_forward_pooled(m, b->h, rows, err)) return -1;
            double loss = crossentropy_forward_backward(m->acts.logits, b->y, rows, m->K, o->label_smoothing, NULL,
                                                        b->dlogits);
            if (!isfinite(loss))
                return pifi_errk(err, PIFI_ERR_RUNTIME, "layer %d: the probe's loss is %g at step %lld", m->llm.layer,
                                 loss, (long long)step + 1);
            params_zero_grad(pt);
            if (pifi_model_backward_pooled(m, b->dlogits, g, err)) return -1;
            double norm = sqrt(params_sumsq(pt->grad, pt->total));
            if (o->clip > 0) params_clip(pt, norm, o->clip);
            optim_step(pt, &oc, o->lr, ++step);
            sum += loss;
        }
        *last_loss = per_epoch ? sum / per_epoch : 0.0;
    }
    *steps = step;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* scoring */

/* The validation vectors in eval mode: the metric, accuracy and mean loss. */
static int score(PifiModel *m, const SelectLayerOpts *o, PifiMetric metric, const SelectLayerVectors *va,
                 ProbeBuf *b, SelectLayerScore *s, PifiErr *err) {
    PifiConfusion cm;
    if (confusion_init(&cm, m->K, err)) return -1;
    pifi_model_set_train(m, 0, 0, 0);
    double total = 0.0;
    int32_t pred[512];
    int64_t idx[512];
    int B = o->batch < 512 ? o->batch : 512;
    int rc = 0;
    for (int64_t s0 = 0; rc == 0 && s0 < va->n; s0 += B) {
        int rows = (int)(va->n - s0 < B ? va->n - s0 : B);
        for (int i = 0; i < rows; i++) idx[i] = s0 + i;
        gather(va, idx, rows, b->h, b->y);
        if (pifi_model_forward_pooled(m, b->h, rows, err)) {
            rc = -1;
            break;
        }
        total += rows * crossentropy_forward_backward(m->acts.logits, b->y, rows, m->K, o->label_smoothing, NULL,
                                                      NULL);
        for (int i = 0; i < rows; i++) {
            const float *l = m->acts.logits + (size_t)i * m->K;
            int best = 0;
            for (int k = 1; k < m->K; k++)
                if (l[k] > l[best]) best = k;
            pred[i] = best;
        }
        rc = confusion_add(&cm, b->y, pred, rows, err);
    }
    if (rc == 0) {
        s->metric = metric_value(&cm, metric);
        s->accuracy = metric_accuracy(&cm);
        s->loss = va->n ? total / va->n : 0.0;
    }
    confusion_free(&cm);
    return rc;
}

/* Fisher's ratio of the layer's outputs z (n, D) with labels y over K
 * classes: tr(S_b) / tr(S_w), S_b = sum_k n_k (mu_k - mu)(mu_k - mu)^T,
 * S_w = sum_i (z_i - mu_{y_i})(z_i - mu_{y_i})^T; 0 when S_w is 0. */
static double fisher_ratio(const float *z, const int32_t *y, int64_t n, int D, int K, PifiErr *err) {
    double *mu = calloc((size_t)(K + 1) * D, sizeof *mu), *cnt = calloc((size_t)K, sizeof *cnt);
    if (!mu || !cnt) {
        free(mu);
        free(cnt);
        pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        return -1.0;
    }
    double *all = mu + (size_t)K * D; /* (D) the overall mean */
    for (int64_t i = 0; i < n; i++) {
        cnt[y[i]] += 1.0;
        for (int d = 0; d < D; d++) mu[(size_t)y[i] * D + d] += z[(size_t)i * D + d];
    }
    for (int k = 0; k < K; k++)
        for (int d = 0; d < D; d++) {
            all[d] += mu[(size_t)k * D + d];
            if (cnt[k] > 0) mu[(size_t)k * D + d] /= cnt[k];
        }
    for (int d = 0; d < D; d++) all[d] /= (double)(n ? n : 1);
    double sb = 0.0, sw = 0.0;
    for (int k = 0; k < K; k++)
        for (int d = 0; d < D; d++) {
            double x = mu[(size_t)k * D + d] - all[d];
            sb += cnt[k] * x * x;
        }
    for (int64_t i = 0; i < n; i++)
        for (int d = 0; d < D; d++) {
            double x = z[(size_t)i * D + d] - mu[(size_t)y[i] * D + d];
            sw += x * x;
        }
    free(mu);
    free(cnt);
    return sw > 0 ? sb / sw : 0.0;
}

/* z of every training vector (eval mode) into b->z, then its Fisher ratio. */
static int fisher(PifiModel *m, const SelectLayerOpts *o, const SelectLayerVectors *tr, ProbeBuf *b, double *out,
                  PifiErr *err) {
    pifi_model_set_train(m, 0, 0, 0);
    int64_t idx[512];
    int B = o->batch < 512 ? o->batch : 512;
    for (int64_t s0 = 0; s0 < tr->n; s0 += B) {
        int rows = (int)(tr->n - s0 < B ? tr->n - s0 : B);
        for (int i = 0; i < rows; i++) idx[i] = s0 + i;
        gather(tr, idx, rows, b->h, b->y);
        if (pifi_model_forward_pooled(m, b->h, rows, err)) return -1;
        memcpy(b->z + (size_t)s0 * m->D, m->acts.z, (size_t)rows * m->D * sizeof(float));
    }
    *out = fisher_ratio(b->z, tr->y, tr->n, m->D, m->K, err);
    return *out < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------------ */

int select_layer_probe(PifiModel *m, const SelectLayerOpts *o, PifiMetric metric, const SelectLayerVectors *tr,
                       const SelectLayerVectors *va, SelectLayerScore *s, int64_t *steps, PifiErr *err) {
    if (!m->has_llm) return pifi_errf(err, "select-layer: the model has no LLM layer to probe");
    if (tr->C != m->C || va->C != m->C)
        return pifi_errf(err, "select-layer: vectors of %d floats for an SLM of hidden size %d", tr->C, m->C);
    if (tr->n < o->batch)
        return pifi_errf(err, "select-layer: %lld training rows, fewer than one batch of %d (--batch)",
                         (long long)tr->n, o->batch);
    if (va->n < 1) return pifi_errf(err, "select-layer: no validation rows to score the layers on");
    int B = o->batch; /* scoring and the Fisher pass take min(batch, 512) rows */
    ProbeBuf b = {0};
    ParamTable pt = {0};
    PifiGrads g = {0};
    int rc = -1;
    b.h = pifi_malloc((size_t)B * m->C * sizeof(float), err);
    b.y = b.h ? pifi_malloc((size_t)B * sizeof(int32_t), err) : NULL;
    b.dlogits = b.y ? pifi_malloc((size_t)B * m->K * sizeof(float), err) : NULL;
    b.order = b.dlogits ? pifi_malloc((size_t)tr->n * sizeof(int64_t), err) : NULL;
    b.z = b.order ? pifi_malloc((size_t)tr->n * m->D * sizeof(float), err) : NULL;
    if (!b.z) goto done;
    if (register_heads(&pt, m, err) || params_alloc(&pt, err)) goto done;
    pifi_model_point_heads(m, &g.head, pt.grad);
    pifi_model_init_heads(m, o->seed);
    m->head_dropout = o->head_dropout;
    rc = train(m, o, tr, &pt, &g, &b, &s->train_loss, steps, err) || score(m, o, metric, va, &b, s, err) ||
                 fisher(m, o, tr, &b, &s->fisher, err)
             ? -1
             : 0;
done:
    params_free(&pt);
    free(b.h);
    free(b.y);
    free(b.dlogits);
    free(b.order);
    free(b.z);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* the ranking */

static int better(const SelectLayerScore *a, const SelectLayerScore *b) {
    if (a->metric != b->metric) return a->metric > b->metric;
    if (a->loss != b->loss) return a->loss < b->loss;
    return a->layer < b->layer;
}

int select_layer_rank(SelectLayerScore *rows, int n) {
    int pick = 0;
    for (int i = 0; i < n; i++) {
        rows[i].rank = 1;
        for (int j = 0; j < n; j++)
            if (j != i && better(&rows[j], &rows[i])) rows[i].rank++;
        if (rows[i].rank == 1) pick = i;
    }
    return pick;
}
