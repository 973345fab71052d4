/* s2s_runmodel.c: a generation run loaded for inference (s2s_runmodel.h). */
#include "train/s2s_runmodel.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/fileio.h"
#include "pifi/json.h"
#include "data/gen_tasks.h"
#include "pifi/safetensors.h"
#include "train/runio.h"
#include "train/s2s_train.h"

static int load_config(const char *run_dir, cJSON **cfg, PifiErr *err) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/config.json", run_dir);
    return pifi_json_load(path, 1 << 22, cfg, err);
}

int s2s_run_is(const char *run_dir, PifiErr *err) {
    cJSON *cfg;
    if (load_config(run_dir, &cfg, err)) return -1;
    int is = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cfg, "pifi"), "seq2seq"));
    cJSON_Delete(cfg);
    return is;
}

/* L_in and L_out of a pifi run from its model.safetensors. */
static int load_plug(S2SRunModel *r, const char *run_dir, PifiErr *err) {
    const TrainOpts *o = &r->o;
    const Seq2SeqConfig *c = seq2seq_config(r->m);
    if (s2s_plug_init(&r->plug, o->llm, o->layer, c->C, &r->cx, err)) return -1;
    r->has_plug = 1;
    r->plug.causal = o->layer_causal, r->plug.mask_ones = o->layer_mask_ones;
    int64_t D = r->plug.D, C = r->plug.C;
    r->plug_mem = pifi_malloc((size_t)(2 * D * C) * sizeof *r->plug_mem, err);
    if (!r->plug_mem) return -1;
    r->plug.l_in = r->plug_mem, r->plug.l_out = r->plug_mem + D * C;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/model.safetensors", run_dir);
    SafeTensors *st;
    if (st_open(&st, path, err)) return -1;
    int64_t in_shape[2] = {D, C}, out_shape[2] = {C, D};
    int rc = st_read_f32(st, "pifi.l_in.weight", 2, in_shape, r->plug.l_in, err) ||
             st_read_f32(st, "pifi.l_out.weight", 2, out_shape, r->plug.l_out, err)
                 ? -1
                 : 0;
    st_close(st);
    return rc;
}

int s2s_runmodel_open(S2SRunModel *r, const char *run_dir, PifiPrecision prec, PifiErr *err) {
    memset(r, 0, sizeof *r);
    compute_init(&r->cx, prec);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/config.json", run_dir);
    int rc = load_config(run_dir, &r->cfg, err);
    const cJSON *p = rc ? NULL : cJSON_GetObjectItemCaseSensitive(r->cfg, "pifi");
    if (rc == 0 && runio_opts_from_json(p, &r->o, path, err)) rc = -1;
    if (rc == 0 && !r->o.seq2seq) rc = pifi_errf(err, "%s: not a generation run (no \"pifi.seq2seq\")", path);
    if (rc == 0) {
        runio_resolve_llm(&r->o, run_dir);
        const cJSON *pv = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(p, "data"), "source_prefix");
        r->prefix = cJSON_IsString(pv) ? pv->valuestring : "";
        rc = tokenizer_load(&r->tk, run_dir, err) || seq2seq_load(&r->m, run_dir, &r->cx, err) ? -1 : 0;
    }
    if (rc == 0 && r->o.method == METHOD_PIFI) rc = load_plug(r, run_dir, err);
    if (rc == 0) seq2seq_set_train(r->m, 0, 0);
    if (rc) s2s_runmodel_close(r);
    return rc;
}

void s2s_runmodel_close(S2SRunModel *r) {
    if (r->has_plug) s2s_plug_free(&r->plug);
    free(r->plug_mem);
    seq2seq_free(r->m);
    tokenizer_free(r->tk);
    cJSON_Delete(r->cfg);
    compute_free(&r->cx);
    memset(r, 0, sizeof *r);
}

S2SBeamOpts s2s_runmodel_beam_opts(const S2SRunModel *r) {
    const TrainOpts *o = &r->o;
    return (S2SBeamOpts){.num_beams = o->num_beams, .length_penalty = o->length_penalty,
                         .early_stopping = o->early_stopping, .no_repeat_ngram_size = o->no_repeat_ngram,
                         .min_new_tokens = o->min_new_tokens, .max_new_tokens = o->max_new_tokens};
}

int s2s_runmodel_generate(S2SRunModel *r, int n, const char *const *texts, const S2SBeamOpts *o, int batch,
                          char ***out, PifiErr *err) {
    *out = NULL;
    if (n < 0 || batch < 1) return pifi_errf(err, "generate: %d texts in batches of %d", n, batch);
    if (o->num_beams < 1 || o->max_new_tokens < 1 || o->min_new_tokens < 0 || o->no_repeat_ngram_size < 0)
        return pifi_errf(err, "generate: num_beams and max_new_tokens must be >= 1, min_new_tokens and "
                              "no_repeat_ngram_size >= 0");
    char **empty = pifi_calloc((size_t)n + 1, sizeof *empty, err);
    if (!empty) return -1;
    for (int i = 0; i < n; i++) empty[i] = "";
    /* a view: the texts as sources, no targets (only the sources are read) */
    PifiDataset view = {.n = n, .text = (char **)texts, .target = empty};
    S2SData d;
    int rc = s2s_data_build(&d, r->tk, &view, r->prefix, r->o.max_len, r->o.max_target_len, err);
    if (rc == 0) {
        rc = s2s_generate(r->m, r->has_plug ? &r->plug : NULL, r->tk, &d, o, batch, NULL, NULL, out, err);
        s2s_data_free(&d);
    }
    free(empty);
    return rc;
}

int s2s_runmodel_evaluate(S2SRunModel *r, const cJSON *desc, int split, const S2SBeamOpts *o, int batch,
                          S2SGenProgress progress, void *user, int64_t *n, double *loss, S2SScores *sc, char ***hyps,
                          PifiErr *err) {
    if (hyps) *hyps = NULL;
    if (!desc) desc = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r->cfg, "pifi"), "data");
    const cJSON *task = cJSON_GetObjectItemCaseSensitive(desc, "task");
    if (!cJSON_IsString(task) || !gen_task_is(task->valuestring, NULL))
        return pifi_errf(err, "a generation run is evaluated on a generation task (multi30k, cnn_dailymail, seq2seq)");
    PifiTaskSplits ts;
    if (gen_task_load(desc, PIFI_SPLIT_BIT(split), &ts, err)) return -1;
    int rc = 0;
    if (!ts.available[split])
        rc = pifi_errf(err, "%s: no %s split (%s)", task->valuestring, split == PIFI_SPLIT_TEST ? "test" : "valid",
                       ts.why_missing[split][0] ? ts.why_missing[split] : "none");
    S2SData d = {0};
    char **out = NULL;
    if (rc == 0) rc = s2s_data_build(&d, r->tk, &ts.split[split], r->prefix, r->o.max_len, r->o.max_target_len, err);
    S2SPlug *plug = r->has_plug ? &r->plug : NULL;
    if (rc == 0) rc = s2s_eval_loss(r->m, plug, &d, batch, loss, err);
    if (rc == 0) rc = s2s_generate(r->m, plug, r->tk, &d, o, batch, progress, user, &out, err);
    if (rc == 0) rc = s2s_score(out, ts.split[split].target, d.n, sc, err);
    *n = d.n;
    if (rc == 0 && hyps) *hyps = out;
    else s2s_texts_free(out, d.n);
    s2s_data_free(&d);
    task_splits_free(&ts);
    return rc;
}
