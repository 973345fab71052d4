/* trainer.c: a run's model per method, its trainable tensors, one optimizer
 * step, and evaluation. */
#include "train/trainer.h"

#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/path.h"
#include "pifi/fileio.h"
#include "core/rng.h"
#include "models/encoders/encoder_family.h"
#include "models/decoders/llm_layer_internal.h"
#include "train/loss.h"

int train_opts_resolve(TrainOpts *o, PifiErr *err) {
    if (o->seq2seq && o->metric_for_best == BEST_ACCURACY) o->metric_for_best = BEST_BLEU; /* generation's */
    if (o->seq2seq != (o->metric_for_best == BEST_BLEU))
        return pifi_errf(err, o->seq2seq ? "a generation run picks its best epoch by bleu (--metric-for-best bleu)"
                                         : "--metric-for-best bleu is a generation task's");
    if (o->seq2seq) return 0; /* no pooling: the decoder reads every encoder state */
    if (o->span && o->metric_for_best == BEST_ACCURACY) o->metric_for_best = BEST_SQUAD_F1; /* QA's default */
    if (o->span != (o->metric_for_best == BEST_SQUAD_F1))
        return pifi_errf(err, o->span ? "a question answering run picks its best epoch by f1 (--metric-for-best f1)"
                                      : "--metric-for-best f1 is question answering's (SQuAD's F1)");
    if (o->span && method_llm_as_slm(o->method))
        return pifi_errf(err, "method %s does not answer questions (no span head)", method_name(o->method));
    if (method_llm_as_slm(o->method)) {
        if (!o->llm) return pifi_errf(err, "method %s needs an LLM: --llm PATH --layer N", method_name(o->method));
        if (o->slm && strcmp(o->slm, o->llm) != 0)
            return pifi_errf(err, "method %s has no SLM (the LLM's own embeddings feed its layer): give no --slm",
                             method_name(o->method));
        o->slm = o->llm;
    }
    if (o->pooling != POOL_AUTO) return 0;
    if (!o->slm) return pifi_errf(err, "no SLM to pool");
    char *cp = pifi_has_suffix(o->slm, ".gguf") ? strdup(o->slm) : pifi_path_join(o->slm, "config.json");
    EncoderConfig c;
    int rc = cp ? encoder_config_load(&c, cp, err) : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    free(cp);
    if (rc) return -1;
    o->pooling = (PifiPooling)c.family->default_pooling;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* trainable tensors */

/* Register the encoder's trainable tensors (its family lists them) in arena
 * order, so the gradient arena segment mirrors m->param_mem element by
 * element. Frozen ones (BERT's pooler, unused by PiFi) are registered but
 * never updated. */
static int register_encoder(Trainer *t, PifiErr *err) {
    const Encoder *e = &t->model.slm;
    EncoderTensor rows[ENCODER_TENSORS_MAX];
    int n = encoder_tensors(e, rows, ENCODER_TENSORS_MAX);
    if (n < 0) return pifi_errk(err, PIFI_ERR_RUNTIME, "internal: the encoder has more than %d tensors",
                                ENCODER_TENSORS_MAX);
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        char name[160];
        snprintf(name, sizeof name, "slm.%s", rows[i].name);
        if (params_add(&t->pt, name, rows[i].w, 1, rows[i].n, 0, rows[i].decay, err)) return -1;
        t->pt.refs[t->pt.n - 1].frozen = rows[i].frozen;
        t->pt.refs[t->pt.n - 1].per_layer = rows[i].per_layer;
        total += rows[i].n;
    }
    if (total != encoder_param_count(e))
        return pifi_errk(err, PIFI_ERR_RUNTIME, "internal: encoder arena has %lld floats, registered %lld",
                         (long long)encoder_param_count(e), (long long)total);
    return 0;
}

static int register_heads(Trainer *t, PifiErr *err) {
    PifiModel *m = &t->model;
    PifiHeadParams *h = &m->hp;
    int64_t C = m->C, D = m->D, K = m->K;
    if (h->l_in && (params_add(&t->pt, "pifi.l_in.weight", h->l_in, 2, D, C, 1, err) ||
                    params_add(&t->pt, "pifi.l_out.weight", h->l_out, 2, C, D, 1, err)))
        return -1;
    if (h->head_w1 && (params_add(&t->pt, "pifi.head.dense.weight", h->head_w1, 2, C, C, 1, err) ||
                       params_add(&t->pt, "pifi.head.dense.bias", h->head_b1, 1, C, 0, 0, err)))
        return -1; /* the span head has no dense layer */
    return params_add(&t->pt, "pifi.head.out.weight", h->head_w2, 2, K, C, 1, err) ||
           params_add(&t->pt, "pifi.head.out.bias", h->head_b2, 1, K, 0, 0, err);
}

static int register_llm(Trainer *t, PifiErr *err) {
    LlmLayer *l = &t->model.llm;
    LlmLayerParams dummy;
    LlmTensorSpec specs[LLM_LAYER_MAX_SPECS];
    int n = llm_layer_specs(&l->cfg, &dummy, l->pooled_only, specs, LLM_LAYER_MAX_SPECS);
    float *w = l->mem;
    for (int i = 0; i < n; i++) {
        char name[192];
        snprintf(name, sizeof name, "pifi.llm.model.layers.%d.%s", l->layer, specs[i].name);
        int decay = specs[i].ndim == 2;
        if (params_add(&t->pt, name, w, specs[i].ndim, specs[i].shape[0], specs[i].shape[1], decay, err)) return -1;
        w += t->pt.refs[t->pt.n - 1].n;
    }
    return 0;
}

/* The gradient arena as DistSegs (dist.h): each encoder layer's slice of the
 * stacked per-layer tensors is final after that layer's backward (stage l);
 * the head's, L_in/L_out's and an unfrozen LLM layer's before the encoder's
 * backward starts (stage L); the embeddings and LoRA adapters at the end
 * (-1). Frozen tensors are left out (never reduced). */
static int grad_segments(Trainer *t, PifiErr *err) {
    int L = t->model.slm.cfg.L, cap = t->pt.n * (L + 1);
    t->segs = calloc((size_t)(cap > 0 ? cap : 1), sizeof *t->segs);
    if (!t->segs) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    t->nsegs = 0;
    for (int r = 0; r < t->pt.n; r++) {
        const ParamRef *p = &t->pt.refs[r];
        if (p->frozen || p->n == 0) continue;
        int64_t off = p->g - t->pt.grad;
        if (p->per_layer && L > 0 && p->n % L == 0) {
            for (int l = 0; l < L; l++) t->segs[t->nsegs++] = (DistSeg){off + p->n / L * l, p->n / L, l};
        } else {
            int head = !strncmp(p->name, "pifi.", 5);
            t->segs[t->nsegs++] = (DistSeg){off, p->n, head ? L : -1};
        }
    }
    return 0;
}

static void on_grad_ready(void *ctx, int layer) { dist_grad_ready(ctx, layer); }

int trainer_setup(Trainer *t, const TrainOpts *o, int K, PifiErr *err) {
    memset(t, 0, sizeof *t);
    t->o = *o;
    t->K = K;
    int has_llm = method_has_llm(o->method);
    if (has_llm && !o->llm)
        return pifi_errf(err, "method %s needs an LLM layer: --llm PATH --layer N or --llm-layer DIR",
                         method_name(o->method));
    /* a frozen real layer loads straight into bf16 in bf16 precision (never all in fp32);
     * pifi-random's is written first (fp32), then frozen by pifi_model_set_precision */
    int llm_frozen = o->method != METHOD_PIFI_UNFROZEN, plugs = method_plugs_llm(o->method);
    int frozen_now = llm_frozen && o->method != METHOD_PIFI_RANDOM;
    if (o->span ? pifi_model_init_span(&t->model, o->slm, plugs ? o->llm : NULL, o->layer, o->precision, frozen_now,
                                       err)
        : method_llm_as_slm(o->method) ? pifi_model_init_llm_layer_only(&t->model, o->llm, o->layer, K, o->pooling,
                                                                       o->precision, err)
                                       : pifi_model_init(&t->model, o->slm, plugs ? o->llm : NULL, o->layer, K,
                                                         o->pooling, 1, o->precision, frozen_now, err))
        goto fail;
    PifiModel *m = &t->model;
    m->span.causal = o->layer_causal;
    m->span.mask_ones = o->layer_mask_ones;
    m->head_dropout = o->head_dropout;
    pifi_model_init_heads(m, o->seed);
    if (o->method == METHOD_PIFI_RANDOM && llm_layer_init_random(&m->llm, o->seed, err)) goto fail;
    if (pifi_model_set_precision(m, o->precision, llm_frozen, err)) goto fail;
    if (o->method == METHOD_LORA &&
        encoder_lora_enable(&m->slm, o->lora_r, o->lora_alpha, o->lora_dropout, o->seed, err))
        goto fail;

    /* trainable tensors, in the order of the gradient arena */
    t->enc_trainable = o->method != METHOD_LORA && !method_llm_as_slm(o->method); /* llm-layer-only: frozen */
    if (t->enc_trainable && register_encoder(t, err)) goto fail;
    if (o->method == METHOD_LORA) {
        int64_t n = encoder_lora_param_count(&m->slm);
        if (params_add(&t->pt, "slm.lora", m->slm.lora_mem, 1, n, 0, 1, err)) goto fail;
    }
    if (register_heads(t, err)) goto fail;
    if (o->method == METHOD_PIFI_UNFROZEN && register_llm(t, err)) goto fail;
    if (params_alloc(&t->pt, err)) goto fail;
    /* (batch, K), or (batch, max_len, 2) of a span model */
    t->dlogits = pifi_malloc((size_t)o->batch * (o->span ? 2 * (size_t)o->max_len : (size_t)K) * sizeof(float), err);
    if (!t->dlogits) goto fail;
    const char *fault = getenv("PIFI_FAULT_NAN_STEP"); /* fault injection for the tests */
    t->fault_nan_step = fault ? strtoll(fault, NULL, 10) : 0;

    /* gradient structs pointing into the arena */
    float *g = t->pt.grad;
    if (t->enc_trainable) {
        t->grads.enc = g;
        g += encoder_param_count(&m->slm);
    }
    if (o->method == METHOD_LORA) {
        t->grads.lora = g;
        g += encoder_lora_param_count(&m->slm);
    }
    pifi_model_point_heads(m, &t->grads.head, g);
    g += m->hp_count;
    if (o->method == METHOD_PIFI_UNFROZEN) {
        llm_layer_point_params(&m->llm, &t->gllm, g);
        t->grads.llm = &t->gllm;
    }
    if (grad_segments(t, err)) goto fail;
    return 0;
fail:
    trainer_free(t);
    return -1;
}

void trainer_free(Trainer *t) {
    pifi_model_free(&t->model);
    if (t->tk) tokenizer_free(t->tk);
    params_free(&t->pt);
    free(t->segs);
    free(t->dlogits);
    batch_free(&t->mb);
    memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------------------ */
/* one step */

/* accumulate's span (QA) model: the start and end labels of each window. */
static int accumulate_span(Trainer *t, const Batch *b, int B_global, double *loss, PifiErr *err) {
    PifiModel *m = &t->model;
    if (!b->start) return pifi_errf(err, "internal: a span model's batch has no start/end labels");
    if (pifi_span_forward(m, b->ids, b->type_ids, b->mask, b->B, b->T, err) ||
        pifi_span_loss(m, b->start, b->end, loss, t->dlogits, err))
        return -1;
    if (t->fault_nan_step > 0 && t->step + 1 == t->fault_nan_step) *loss = NAN;
    if (b->B != B_global) {
        float scale = (float)b->B / (float)B_global;
        for (size_t i = 0; i < (size_t)b->B * b->T * 2; i++) t->dlogits[i] *= scale;
    }
    return pifi_span_backward(m, t->dlogits, &t->grads, err);
}

/* Forward and backward of one (micro-)batch, its gradient added to the
 * arena with the loss gradient scaled by b->B / B_global (the batch's share
 * of the global mean). *loss: the batch's own mean loss. */
static int accumulate(Trainer *t, const Batch *b, uint64_t row0, int B_global, double *loss, PifiErr *err) {
    PifiModel *m = &t->model;
    pifi_model_set_train(m, 1, t->o.seed, (uint64_t)t->step);
    pifi_model_set_row0(m, row0);
    if (m->span.on) return accumulate_span(t, b, B_global, loss, err);
    if (pifi_model_forward(m, b->ids, b->type_ids, b->mask, b->B, b->T, err)) return -1;
    if (t->fault_nan_step > 0 && t->step + 1 == t->fault_nan_step) m->acts.logits[0] = NAN;
    float *dlogits = t->dlogits;
    *loss = crossentropy_forward_backward(m->acts.logits, b->labels, b->B, m->K, t->o.label_smoothing, NULL,
                                          dlogits);
    if (b->B != B_global) {
        float scale = (float)b->B / (float)B_global;
        for (size_t i = 0; i < (size_t)b->B * m->K; i++) dlogits[i] *= scale;
    }
    return pifi_model_backward(m, dlogits, &t->grads, err);
}

/* Clip by the global norm sqrt(sumsq) and take the optimizer step. */
static int apply(Trainer *t, float lr, double sumsq, double *gnorm, PifiErr *err) {
    *gnorm = sqrt(sumsq);
    if (!isfinite(*gnorm))
        return pifi_errk(err, PIFI_ERR_RUNTIME, "gradient norm is %g at step %lld", *gnorm, (long long)t->step + 1);
    if (t->o.clip > 0) params_clip(&t->pt, *gnorm, t->o.clip);
    OptimConfig oc = {t->o.optim, 0.9f, 0.999f, 1e-8f, t->o.weight_decay}; /* lr: the schedule's, per step */
    t->step++;
    optim_step(&t->pt, &oc, lr, t->step);
    return 0;
}

int trainer_step(Trainer *t, const Batch *b, float lr, double *loss, double *gnorm, PifiErr *err) {
    params_zero_grad(&t->pt);
    if (accumulate(t, b, 0, b->B, loss, err)) return -1;
    if (!isfinite(*loss)) return pifi_errk(err, PIFI_ERR_RUNTIME, "loss is %g at step %lld", *loss, (long long)t->step + 1);
    return apply(t, lr, params_sumsq(t->pt.grad, t->pt.total), gnorm, err);
}

int trainer_step_global(Trainer *t, const TokData *td, const int64_t *idx, int B, float lr, StepStats *st,
                        PifiErr *err) {
    Dist *d = t->dist;
    int N = d ? d->size : 1, r = d ? d->rank : 0;
    int K = t->o.grad_accum > 1 ? t->o.grad_accum : 1;
    int64_t lo = (int64_t)B * r / N, hi = (int64_t)B * (r + 1) / N;
    double comm0 = d ? d->comm_s : 0.0, part = 0.0;
    int rc = 0;
    params_zero_grad(&t->pt);
    /* several ranks: every rank sends every segment, in the same order, even
     * when its backward failed (the collectives must match) */
    if (N > 1 && dist_grad_begin(d, t->pt.grad, t->pt.total, t->segs, t->nsegs, err)) return -1;
    int64_t last = K - 1; /* the last non-empty micro-batch: its backward sends the layers' sums */
    while (last > 0 && lo + (hi - lo) * last / K == lo + (hi - lo) * (last + 1) / K) last--;
    for (int k = 0; k < K && rc == 0; k++) {
        int64_t a = lo + (hi - lo) * k / K, e = lo + (hi - lo) * (k + 1) / K;
        if (e == a) continue;
        if (N > 1 && k == last) {
            t->model.slm.grad_ready = on_grad_ready;
            t->model.slm.grad_ready_ctx = d;
        }
        double l = 0.0;
        /* rows a..e of the global batch: the dropout masks of one batch of B */
        rc = batch_fill(&t->mb, td, idx + a, (int)(e - a), err) || accumulate(t, &t->mb, (uint64_t)a, B, &l, err)
                 ? -1
                 : 0;
        part += e - a == B ? l : l * (double)(e - a) / B;
    }
    t->model.slm.grad_ready = NULL;
    double loss = part;
    if (N > 1) {
        dist_grad_ready(d, INT_MIN); /* what the backward has not sent (all of it after a failure) */
        /* agree on failures and stop signals, and sum the loss: one small reduction */
        int sig = st->signal;
        double v[5] = {rc != 0, rc ? 0.0 : part, sig == SIGINT, sig == SIGUSR1, sig && sig != SIGINT && sig != SIGUSR1};
        PifiErr mine = {0};
        if (rc && err) mine = *err;
        if (dist_allreduce_f64(d, v, 5, DIST_SUM, err)) return -1;
        if (v[0] > 0) {
            PifiErr drain;
            dist_grad_finish(d, NULL, &drain); /* complete the sums in flight before stopping */
            d->agreed_fail = 1, d->own_fail = rc != 0, d->fail_count = (int)v[0];
            if (rc) {
                if (err) *err = mine;
                return -1;
            }
            return pifi_errk(err, PIFI_ERR_RUNTIME, "%d of %d ranks failed at step %lld (their messages are above)",
                             (int)v[0], N, (long long)t->step + 1);
        }
        loss = v[1];
        st->signal = sig ? sig : v[2] > 0 ? SIGINT : v[3] > 0 ? SIGUSR1 : v[4] > 0 ? SIGTERM : 0;
    } else if (rc) {
        return -1;
    }
    st->loss = loss;
    if (!isfinite(loss)) {
        if (d) d->agreed_fail = 1, d->own_fail = 1, d->fail_count = N; /* the same on every rank */
        return pifi_errk(err, PIFI_ERR_RUNTIME, "loss is %g at step %lld", loss, (long long)t->step + 1);
    }
    double sumsq;
    if (N > 1) {
        if (dist_grad_finish(d, &sumsq, err)) return -1;
    } else {
        sumsq = params_sumsq(t->pt.grad, t->pt.total);
    }
    st->comm_s = d ? d->comm_s - comm0 : 0.0;
    if (apply(t, lr, sumsq, &st->gnorm, err)) {
        if (d) d->agreed_fail = 1, d->own_fail = 1, d->fail_count = N;
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* evaluation */

/* qsort context-free comparator over (length, index) pairs */
static int by_length(const void *a, const void *b) {
    const int64_t *x = a, *y = b;
    if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

int trainer_evaluate(PifiModel *m, const TokData *td, int eval_batch, PifiConfusion *cm, float *probs,
                     double *mean_loss, float label_smoothing, PifiErr *err) {
    return trainer_evaluate_dist(m, td, eval_batch, cm, probs, mean_loss, label_smoothing, NULL, err);
}

static int evaluate(PifiModel *m, const TokData *td, int eval_batch, PifiConfusion *cm, float *probs,
                    double *mean_loss, float label_smoothing, Dist *d, TrainerEvalProgress fn, void *ctx,
                    PifiErr *err);

int trainer_evaluate_dist(PifiModel *m, const TokData *td, int eval_batch, PifiConfusion *cm, float *probs,
                          double *mean_loss, float label_smoothing, Dist *d, PifiErr *err) {
    return evaluate(m, td, eval_batch, cm, probs, mean_loss, label_smoothing, d, NULL, NULL, err);
}

int trainer_evaluate_progress(PifiModel *m, const TokData *td, int eval_batch, PifiConfusion *cm, float *probs,
                              double *mean_loss, float label_smoothing, TrainerEvalProgress fn, void *ctx,
                              PifiErr *err) {
    return evaluate(m, td, eval_batch, cm, probs, mean_loss, label_smoothing, NULL, fn, ctx, err);
}

static int evaluate(PifiModel *m, const TokData *td, int eval_batch, PifiConfusion *cm, float *probs,
                    double *mean_loss, float label_smoothing, Dist *d, TrainerEvalProgress fn, void *ctx,
                    PifiErr *err) {
    int N = d ? d->size : 1, rank = d ? d->rank : 0;
    if (N > 1 && probs) return pifi_errf(err, "internal: probabilities of a sharded evaluation");
    pifi_model_set_train(m, 0, 0, 0);
    Batch b = {0};
    int64_t *idx = malloc((size_t)eval_batch * sizeof *idx);
    int64_t *order = malloc((size_t)(td->n ? td->n : 1) * 2 * sizeof *order);
    int32_t *pred = malloc((size_t)eval_batch * sizeof *pred);
    float *p = malloc((size_t)eval_batch * m->K * sizeof *p);
    int rc = -1;
    double total = 0.0;
    if (!idx || !pred || !p || !order) {
        pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        goto done;
    }
    /* batches of similar lengths pad little: sort by length, results go back by index */
    for (int64_t i = 0; i < td->n; i++) order[2 * i] = td->len[i], order[2 * i + 1] = i;
    qsort(order, (size_t)td->n, 2 * sizeof *order, by_length);
    confusion_reset(cm);
    for (int64_t s = 0, j = 0; s < td->n; s += eval_batch, j++) {
        if (j % N != rank) continue; /* this rank's batches: round-robin */
        int B = (int)(td->n - s < eval_batch ? td->n - s : eval_batch);
        for (int i = 0; i < B; i++) idx[i] = order[2 * (s + i) + 1];
        if (batch_fill(&b, td, idx, B, err) ||
            pifi_model_forward(m, b.ids, b.type_ids, b.mask, B, b.T, err))
            goto done;
        total += B * crossentropy_forward_backward(m->acts.logits, b.labels, B, m->K, label_smoothing, p, NULL);
        for (int i = 0; i < B; i++) {
            int best = 0;
            for (int k = 1; k < m->K; k++)
                if (m->acts.logits[(size_t)i * m->K + k] > m->acts.logits[(size_t)i * m->K + best]) best = k;
            pred[i] = best;
            if (probs) memcpy(probs + (size_t)idx[i] * m->K, p + (size_t)i * m->K, (size_t)m->K * sizeof(float));
        }
        if (td->label && confusion_add(cm, b.labels, pred, B, err)) goto done;
        if (fn) fn(ctx, s + B, td->n, total);
    }
    rc = 0;
done:
    if (N > 1) { /* the whole split's counts and loss on every rank */
        int64_t C2 = (int64_t)cm->num_classes * cm->num_classes;
        if (dist_agree(d, rc, err) || dist_allreduce_i64(d, cm->counts, C2, DIST_SUM, err) ||
            dist_allreduce_i64(d, &cm->n, 1, DIST_SUM, err) || dist_allreduce_f64(d, &total, 1, DIST_SUM, err))
            rc = -1;
    }
    if (rc == 0 && mean_loss) *mean_loss = td->n ? total / td->n : 0.0;
    batch_free(&b);
    free(idx);
    free(order);
    free(pred);
    free(p);
    return rc;
}
