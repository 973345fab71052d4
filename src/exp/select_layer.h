/* select_layer.h: `pifi select-layer`: which layer of an LLM to plug into a
 * small model for a task, ranked without training a PiFi model per layer
 * (docs/select-layer.md).
 *
 * In pooled mode PiFi sends one vector per example through the layer:
 *   h = pool(SLM(x)) (N, C) -> L_in -> layer (one token, position 0) -> L_out -> head.
 * So:
 *   1. the frozen, pretrained SLM runs once over (a seeded, stratified cap
 *      of) the training and validation rows: h_train, h_valid are kept;
 *   2. for each layer, only L_in, L_out and the head are trained on h_train
 *      (pifi_model_forward_pooled / _backward_pooled: the arithmetic of a
 *      PiFi run after pooling; Adam, clipping, label smoothing, head
 *      dropout as `pifi train`), a short fixed budget from one seed, then
 *      scored on h_valid: the task's metric and the loss; and the Fisher
 *      ratio of the layer's output z on h_train, a cheap second signal;
 *   3. the layers ranked by metric, ties by loss: the first is the pick. */
#ifndef PIFI_EXP_SELECT_LAYER_H
#define PIFI_EXP_SELECT_LAYER_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "core/log.h"
#include "pifi/metrics.h"
#include "pifi/pifi_model.h"
#include "train/optim.h"

#define SELECT_LAYER_MAX 4096

typedef struct {
    const char *slm;        /* the SLM: a directory or GGUF file, as pifi train's --slm */
    const char *llm;        /* the whole LLM: an HF directory or a GGUF file */
    const int *layers;      /* the layers to rank (negative: from the end); NULL: every one */
    int n_layers;
    PifiPooling pooling;    /* POOL_AUTO: the SLM family's */
    int max_examples;       /* per split: a seeded stratified subset of at most this many rows (0: all) */
    int max_len, eval_batch;/* tokens per example; rows per batch of the SLM's pass and of scoring */
    /* the probe: pifi train's optimiser on the parts after the SLM */
    int epochs, batch;
    float lr, weight_decay, clip, label_smoothing, head_dropout;
    OptimKind optim;
    uint64_t seed;          /* the heads' initialisation, the row order, dropout, the subsets */
    int probe_seeds;        /* probes per layer, from seeds seed, seed + 1, ...: their scores averaged */
    int metric;             /* PifiMetric that ranks; -1: the task's main metric (accuracy for files) */
    PifiPrecision precision;
} SelectLayerOpts;

/* The defaults (docs/select-layer.md says why each). */
void select_layer_opts_default(SelectLayerOpts *o);

/* One layer's probe. */
typedef struct {
    int layer;          /* index in the LLM (0-based) */
    double metric;      /* the ranking metric on the validation vectors (the mean over the probe seeds) */
    double metric_sd;   /* its standard deviation over the probe seeds (0 with one) */
    double accuracy;
    double loss;        /* mean validation loss (label-smoothed cross-entropy, as pifi train's) */
    double train_loss;  /* mean training loss of the probe's last epoch */
    double fisher;      /* tr(S_between) / tr(S_within) of z on the training vectors
                         * (accuracy, the losses and Fisher: means over the probe seeds too) */
    double seconds;     /* loading the layer, training and scoring it */
    int rank;           /* 1: the pick */
} SelectLayerScore;

typedef struct {
    SelectLayerScore *rows; /* (n) in the order probed */
    int n;
    int pick;               /* index into rows of rank 1 */
    int last;               /* index into rows of the LLM's last layer, -1 when it was not probed */
    int num_layers;         /* of the LLM */
    PifiMetric metric;
    int K;                  /* classes */
    int64_t n_train, n_valid; /* vectors the probes train and score on */
    int64_t steps;          /* optimizer steps of one probe */
    double features_seconds; /* the SLM's pass */
    double seconds;         /* everything */
} SelectLayerResult;

/* Every member may be NULL. */
typedef struct {
    /* the SLM's pass: rows done of total, after each batch */
    void (*on_features)(int64_t done, int64_t total, void *user);
    /* after each layer's probe: done of total layers */
    void (*on_layer)(const SelectLayerScore *s, int done, int total, void *user);
    PifiLogFn on_log; /* notes: the subsets, a validation split carved from train */
    void *user;
} SelectLayerCallbacks;

/* Cached pooled vectors of one split. */
typedef struct {
    float *h;       /* (n, C) */
    int32_t *y;     /* (n) labels */
    int64_t n;
    int C;
} SelectLayerVectors;

void select_layer_vectors_free(SelectLayerVectors *v);

/* The whole command: data (desc: the description data_spec_json makes) ->
 * vectors -> a probe per layer -> the ranking in *res (free with
 * select_layer_result_free). */
int select_layer_run(const SelectLayerOpts *o, const cJSON *desc, const SelectLayerCallbacks *cb,
                     SelectLayerResult *res, PifiErr *err);
void select_layer_result_free(SelectLayerResult *r);

/* Steps 2 and 3 on vectors already computed: m is a PifiModel (its SLM is
 * not used; its layer is replaced by each of o->layers of o->llm in turn,
 * probed o->probe_seeds times),
 * tr and va the cached vectors of m->C floats with m->K classes. res->rows
 * and the ranking are filled; the data counts and feature time are left as
 * they are. */
int select_layer_probe_all(PifiModel *m, const SelectLayerOpts *o, const SelectLayerVectors *tr,
                           const SelectLayerVectors *va, const SelectLayerCallbacks *cb, SelectLayerResult *res,
                           PifiErr *err);

/* The probe of m's current layer (select_layer_probe.c): the heads
 * initialised from o->seed and trained on tr, scored on va; s->layer and
 * s->seconds are left to the caller. *steps: the optimizer steps taken. */
int select_layer_probe(PifiModel *m, const SelectLayerOpts *o, PifiMetric metric, const SelectLayerVectors *tr,
                       const SelectLayerVectors *va, SelectLayerScore *s, int64_t *steps, PifiErr *err);

/* Ranks rows[0..n) (best metric first, ties by lower loss, then by lower
 * layer): rows[i].rank, and the index of rank 1. */
int select_layer_rank(SelectLayerScore *rows, int n);

#endif
