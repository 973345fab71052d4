/* api_train_run.c: include/pifi.h's training runs. pifi_train starts a run,
 * pifi_train_resume continues one from its checkpoint (or reads a complete
 * one back). Both load and check the data, run train/train_run.c with the
 * caller's callbacks and processes, then evaluate the --eval-task tasks
 * and fill the result. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "core/log.h"
#include "data/data_spec.h"
#include "data/gen_tasks.h"
#include "data/tasks_desc.h"
#include "exp/runner.h"
#include "pifi/fileio.h"
#include "pifi/json.h"
#include "pifi/memlimit.h"
#include "train/early_stop.h"
#include "train/runio_int8.h"
#include "train/s2s_run.h"
#include "train/train_run.h"

_Static_assert((int)PIFI_PHASE_LOAD == (int)TRAIN_PHASE_LOAD && (int)PIFI_PHASE_STEPS == (int)TRAIN_PHASE_STEPS &&
                   (int)PIFI_PHASE_EVAL == (int)TRAIN_PHASE_EVAL && (int)PIFI_PHASE_FINISH == (int)TRAIN_PHASE_FINISH,
               "pifi_phase is TrainPhase");

/* ---- the caller's callbacks, as the run's ---------------------------------- */

typedef struct {
    const pifi_callbacks *cb;
    double t0;
    int rank0; /* only rank 0 tells */
} TrainTell;

static void tell_progress(const TrainProgress *tp, void *user) {
    TrainTell *t = user;
    if (!t->cb->progress) return;
    pifi_progress p = {0};
    p.event = tp->kind == TRAIN_PROGRESS_START  ? PIFI_PROGRESS_BEGIN
              : tp->kind == TRAIN_PROGRESS_STEP ? PIFI_PROGRESS_STEP
                                                : PIFI_PROGRESS_PAUSE;
    p.phase = tp->phase ? tp->phase : "";
    p.step = p.done = tp->done;
    p.steps = p.total = tp->total;
    p.loss_mean = tp->mean_loss;
    p.loss_last = tp->last_loss;
    p.examples_per_s = tp->examples_per_s;
    p.decoding = tp->decoding;
    p.elapsed_s = pifi_now() - t->t0;
    t->cb->progress(&p, t->cb->user);
}

static int tell_stop(void *user) {
    TrainTell *t = user;
    return t->cb->stop ? t->cb->stop(t->cb->user) : 0;
}

static void tell_log(PifiLogLevel level, const char *line, void *user) {
    (void)level;
    TrainTell *t = user;
    if (t->cb->log && t->rank0) t->cb->log(line, t->cb->user);
}

static void tell_phase(TrainPhase phase, const char *msg, void *user) {
    TrainTell *t = user;
    if (t->cb->phase) t->cb->phase((pifi_phase)phase, msg, t->cb->user);
}

/* ---- the pieces both calls share ------------------------------------------- */

/* The options' resources (threads, memory budget): process-wide. */
static int apply_resources(const pifi_train_options *t, PifiErr *err) {
    if (t->threads) pifi_set_threads(t->threads);
    uint64_t bytes;
    if (t->max_memory && (pifi_parse_size(t->max_memory, &bytes) || pifi_memlimit_set(bytes, t->max_memory, err)))
        return err->msg[0] ? -1 : pifi_errf(err, "max_memory '%s' is not a size", t->max_memory);
    return 0;
}

/* The names of desc's "eval_tasks" (at most PIFI_EVAL_TASKS_MAX). */
static int eval_task_names(const cJSON *desc, const char **names) {
    const cJSON *it;
    int n = 0;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(desc, "eval_tasks"))
        if (cJSON_IsString(it) && n < PIFI_EVAL_TASKS_MAX) names[n++] = it->valuestring;
    return n;
}

static const char *desc_string(const cJSON *desc, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(desc, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The run's eval_tasks (desc "eval_tasks") evaluated on the kept weights:
 * into *ev and the run's metrics.json. */
static int eval_tasks_after(const TrainOpts *o, const cJSON *desc, cJSON **ev, PifiErr *err) {
    const char *names[PIFI_EVAL_TASKS_MAX];
    int n = eval_task_names(desc, names);
    *ev = NULL;
    if (n == 0) return 0;
    if (exp_eval_run(o->out, names, n, desc_string(desc, "data_dir"), o->eval_batch, ev, err)) return -1;
    char *p = pifi_path_join(o->out, "metrics.json");
    cJSON *m = NULL;
    int rc = p ? pifi_json_load(p, 1 << 26, &m, err) : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    if (rc == 0) {
        cJSON_DeleteItemFromObjectCaseSensitive(m, "eval_tasks");
        cJSON_AddItemReferenceToObject(m, "eval_tasks", *ev);
        rc = runio_write_json(p, m, err);
    }
    cJSON_Delete(m);
    free(p);
    return rc;
}

static double num(const cJSON *o, const char *key) {
    return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* The library's result (and the eval tasks' ev) as the public one. */
static void fill_result(pifi_train_result *res, const TrainResult *tr, const TrainOpts *o, const cJSON *ev) {
    res->stopped = tr->interrupted;
    res->complete_already = tr->complete_already;
    res->method = method_name(o->method);
    res->steps = tr->steps;
    res->steps_per_epoch = tr->steps_per_epoch;
    res->best_epoch = tr->best_epoch;
    res->best_partial = tr->best_partial;
    res->partial_epoch = tr->partial_epoch;
    res->partial_steps = tr->partial_steps;
    res->metric_for_best = best_metric_key(o->metric_for_best);
    res->metric_for_best_name = best_metric_words(o->metric_for_best);
    res->best_valid = tr->best_valid;
    res->stopped_early = tr->stopped_early;
    res->early_stopping_patience = o->early_stopping_patience;
    res->test_accuracy = tr->test_accuracy, res->test_macro_f1 = tr->test_macro_f1, res->test_mcc = tr->test_mcc;
    res->test_exact_match = tr->test_exact_match, res->test_f1 = tr->test_f1;
    res->test_bleu = tr->test_bleu, res->test_chrf = tr->test_chrf;
    res->seconds = tr->seconds;
    const cJSON *e;
    cJSON_ArrayForEach(e, ev) {
        const PifiTaskInfo *ti = task_find(e->string);
        if (!ti || res->n_eval_tasks == PIFI_EVAL_TASKS_MAX) continue;
        pifi_task_scores *s = &res->eval_tasks[res->n_eval_tasks++];
        s->task = ti->name; /* the registry's: outlives ev */
        s->n = (long long)num(e, "n");
        s->loss = num(e, "loss"), s->accuracy = num(e, "accuracy"), s->macro_f1 = num(e, "macro_f1");
        s->mcc = num(e, "mcc"), s->seconds = num(e, "seconds");
    }
}

static void result_init(pifi_train_result *res) {
    memset(res, 0, sizeof *res);
    res->best_valid = res->test_accuracy = res->test_macro_f1 = res->test_mcc = -1;
    res->test_exact_match = res->test_f1 = res->test_bleu = res->test_chrf = -1;
}

/* A generation task's run (train/s2s_run.h): one process, no eval tasks. */
static int run_gen(TrainOpts *o, const cJSON *desc, int resume, Dist *d, TrainTell *tell, pifi_train_result *res,
                   PifiErr *err) {
    if (d->size > 1) return pifi_errf(err, "a generation run trains in one process: several ranks are not built for it yet");
    const char *names[PIFI_EVAL_TASKS_MAX];
    if (eval_task_names(desc, names) > 0) return pifi_errf(err, "--eval-task is a classification run's");
    PifiTaskSplits ts;
    if (gen_task_load(desc, PIFI_SPLITS_ALL, &ts, err)) return -1;
    PifiDataset *splits[3] = {&ts.split[0], ts.available[1] ? &ts.split[1] : NULL, ts.available[2] ? &ts.split[2] : NULL};
    if (!splits[1]) pifi_logf(tell_log, tell, PIFI_LOG_NOTE, "train: no validation split: the last epoch is kept");
    TrainCallbacks tcb = {.on_progress = tell_progress, .on_log = tell_log, .stop_requested = tell_stop,
                          .on_phase = tell_phase, .user = tell};
    TrainResult tr;
    o->seq2seq = 1;
    if (train_opts_resolve(o, err)) { /* its metric for the result too */
        task_splits_free(&ts);
        return -1;
    }
    int rc = s2s_run(o, splits, desc, resume, &tcb, &tr, err);
    task_splits_free(&ts);
    if (rc == 0) fill_result(res, &tr, o, NULL);
    return rc;
}

/* The data desc loaded and checked, the run o trained (resume: from its
 * checkpoint), the eval tasks evaluated after; res filled. */
static int run(TrainOpts *o, const cJSON *desc, int resume, Dist *d, TrainTell *tell, pifi_train_result *res,
               PifiErr *err) {
    if (gen_task_is(desc_string(desc, "task"), NULL)) return run_gen(o, desc, resume, d, tell, res, err);
    LoadedData ld;
    memset(&ld, 0, sizeof ld);
    int rc = data_load(desc, PIFI_SPLITS_ALL, NULL, 0, &ld, err);
    if (rc == 0 && !ld.have[0]) rc = pifi_errf(err, "train: the data has no training split");
    if (rc == 0 && !ld.have[1] && o->early_stopping_patience > 0)
        rc = pifi_errf(err, "train: --early-stopping-patience (early_stopping_patience) watches the validation "
                            "split: the data has none (give --valid FILE)");
    const char *names[PIFI_EVAL_TASKS_MAX];
    int n_eval = eval_task_names(desc, names);
    if (rc == 0 && n_eval)
        rc = task_eval_tasks_check(names, n_eval, desc_string(desc, "task"), desc_string(desc, "data_dir"),
                                   (const char *const *)ld.split[0].label_names, ld.split[0].num_classes, tell_log,
                                   tell, err);
    if (dist_agree(d, rc, err)) {
        data_free(&ld);
        return -1;
    }
    PifiDataset *splits[3] = {&ld.split[0], ld.have[1] ? &ld.split[1] : NULL, ld.have[2] ? &ld.split[2] : NULL};
    if (!splits[1]) pifi_logf(tell_log, tell, PIFI_LOG_NOTE, "train: no validation split: the last epoch is kept");
    TrainCallbacks tcb = {.on_progress = tell_progress, .on_log = tell_log, .stop_requested = tell_stop,
                          .on_phase = tell_phase, .user = tell};
    TrainResult tr;
    rc = train_run(o, splits, desc, resume, d, &tcb, &tr, err);
    data_free(&ld);
    if (rc) return -1;
    cJSON *ev = NULL;
    if (!tr.interrupted && d->rank == 0) rc = eval_tasks_after(o, desc, &ev, err); /* the run itself is complete */
    fill_result(res, &tr, o, ev);
    cJSON_Delete(ev);
    return rc;
}

/* The one process, when the options name no others. */
static Dist *dist_of(const pifi_train_options *t, Dist *one) {
    *one = (Dist){.size = 1, .timeout_s = 600, .bucket = 1 << 21};
    return t && t->dist ? &t->dist->d : one;
}

/* ---- a new run -------------------------------------------------------------- */

/* The data specification of p, its fraction seeded by the run's seed. */
static void data_spec_of(const pifi_data *p, const TrainOpts *o, DataSpec *s) {
    memset(s, 0, sizeof *s);
    s->task = p->task, s->data_dir = p->data_dir;
    s->train = p->train, s->valid = p->valid, s->test = p->test;
    s->text_col = p->text_col, s->pair_col = p->pair_col, s->label_col = p->label_col;
    s->skip_bad_rows = p->skip_bad_rows;
    s->train_fraction = p->train_fraction;
    s->seed = (long long)o->seed;
    s->eval_tasks = p->eval_tasks, s->n_eval_tasks = p->n_eval_tasks;
    s->source_col = p->source_col, s->target_col = p->target_col, s->source_prefix = p->source_prefix;
}

pifi_status pifi_train(const pifi_train_options *opts, const pifi_data *data, const char *out_dir,
                       const pifi_callbacks *cb, pifi_train_result *res, pifi_error *err) {
    PifiErr e = {0};
    result_init(res);
    TrainOpts o = opts->o;
    o.slm = opts->slm;
    o.llm = method_has_llm(o.method) ? opts->llm : NULL;
    o.out = out_dir;
    if (!o.slm && !method_llm_as_slm(o.method)) pifi_errf(&e, "no SLM: set the option \"slm\"");
    else if (!out_dir) pifi_errf(&e, "no output directory");
    else if (!data) pifi_errf(&e, "no data");
    else if (method_has_llm(o.method) && !o.llm)
        pifi_errf(&e, "method %s needs an LLM layer: set \"llm\" (and \"layer\") or \"llm_layer\"", method_name(o.method));
    else if (data->train_fraction < 0 || data->train_fraction > 1)
        pifi_errf(&e, "train_fraction %g is outside [0, 1]", data->train_fraction);
    else if (data->n_eval_tasks < 0 || data->n_eval_tasks > PIFI_EVAL_TASKS_MAX)
        pifi_errf(&e, "n_eval_tasks %d is outside [0, %d]", data->n_eval_tasks, PIFI_EVAL_TASKS_MAX);
    o.seq2seq = data && gen_task_is(data->task, NULL);
    for (int i = 0; !e.msg[0] && i < N_TRAIN_OPTIONS; i++) { /* an option of the other kind of run */
        const TrainOption *r = &TRAIN_OPTIONS[i];
        if (opts->given[i] && (r->flags & TOPT_GEN) && !o.seq2seq)
            pifi_errf(&e, "--%s is a generation task's (--task multi30k, cnn_dailymail, seq2seq)", r->flag);
        else if (opts->given[i] && (r->flags & TOPT_CLS) && o.seq2seq)
            pifi_errf(&e, "--%s does not apply to a generation task (%s)", r->flag, data->task);
    }
    if (e.msg[0] || apply_resources(opts, &e)) return api_fail(&e, err);
    Dist one, *d = dist_of(opts, &one);
    pifi_callbacks none = {0};
    TrainTell tell = {cb ? cb : &none, pifi_now(), d->rank == 0};
    DataSpec spec;
    data_spec_of(data, &o, &spec);
    cJSON *desc = NULL;
    int rc = data_spec_json(&spec, &desc, &e);
    if (dist_agree(d, rc, &e) == 0) rc = run(&o, desc, 0, d, &tell, res, &e);
    else rc = -1;
    cJSON_Delete(desc);
    return rc ? api_fail(&e, err) : PIFI_OK;
}

/* ---- a run continued -------------------------------------------------------- */

/* Only what a resume may change is set in t. */
static int check_changes(const pifi_train_options *t, PifiErr *err) {
    if (t->model_key)
        return pifi_errf(err, "a resumed run keeps the model of its config.json: \"%s\" cannot be set", t->model_key);
    char can[256] = "";
    for (int i = 0; i < N_TRAIN_OPTIONS; i++)
        if (TRAIN_OPTIONS[i].flags & TOPT_RESUME)
            snprintf(can + strlen(can), sizeof can - strlen(can), "%s, ", TRAIN_OPTIONS[i].key);
    for (int i = 0; i < N_TRAIN_OPTIONS; i++)
        if (t->given[i] && !(TRAIN_OPTIONS[i].flags & TOPT_RESUME))
            return pifi_errf(err, "a resumed run takes \"%s\" from its config.json (it may change %sthreads and "
                                  "max_memory)", TRAIN_OPTIONS[i].key, can);
    return 0;
}

/* The run's config.json (*cfg: o's strings point into it), its settings
 * (into *o) and its data description. */
static int load_run(const char *run_dir, TrainOpts *o, cJSON **cfg_out, cJSON **data, PifiErr *err) {
    char *cp = pifi_path_join(run_dir, "config.json");
    if (!cp) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    cJSON *cfg = NULL;
    int rc = pifi_json_load(cp, 1 << 22, &cfg, err);
    *cfg_out = cfg;
    const cJSON *p = rc ? NULL : cJSON_GetObjectItemCaseSensitive(cfg, "pifi");
    if (!rc && !cJSON_IsObject(p)) rc = pifi_errf(err, "%s: not a pifi run", cp);
    if (!rc && (runio_int8_refuse_training(p, run_dir, err) || runio_opts_from_json(p, o, cp, err))) rc = -1;
    if (!rc) {
        o->out = run_dir;
        runio_resolve_llm(o, run_dir);
        *data = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(p, "data"), 1);
        if (!*data) rc = pifi_errf(err, "train: %s has no \"pifi.data\"", cp);
    }
    free(cp);
    return rc;
}

/* Apply the changes t sets to o (read from config.json) and list those that
 * differ from it, for train_run to record (config.json "resumes",
 * train_log.jsonl); NULL when nothing differs. A change of a TOPT_WAS row
 * (the precision) is announced: the continuation is no longer
 * bit-identical. */
static cJSON *resume_apply(TrainOpts *o, const pifi_train_options *t, TrainTell *tell) {
    cJSON *c = cJSON_CreateObject();
    if (!c) return NULL;
    for (int i = 0; i < N_TRAIN_OPTIONS; i++) {
        const TrainOption *r = &TRAIN_OPTIONS[i];
        if (!t->given[i] || train_option_get(r, &t->o) == train_option_get(r, o)) continue;
        cJSON_AddItemToObject(c, r->key, train_option_to_json(r, &t->o));
        if (r->flags & TOPT_WAS) {
            char now[64], was[64], key[96];
            train_option_format(r, &t->o, now, sizeof now);
            train_option_format(r, o, was, sizeof was);
            pifi_logf(tell_log, tell, PIFI_LOG_NOTE,
                      "--%s %s: %s was trained in %s so far; it continues in %s, so it is no longer bit-identical "
                      "to an uninterrupted run (recorded in its config.json \"resumes\")",
                      r->flag, now, o->out, was, now);
            snprintf(key, sizeof key, "%s_was", r->key);
            cJSON_AddItemToObject(c, key, train_option_to_json(r, o));
        }
        train_option_set(r, o, train_option_get(r, &t->o));
    }
    if (t->threads) cJSON_AddNumberToObject(c, "threads", t->threads);
    if (t->max_memory) cJSON_AddStringToObject(c, "max_memory", t->max_memory);
    if (!c->child) {
        cJSON_Delete(c);
        return NULL;
    }
    return c;
}

/* Is the run complete (rank 0)? 1: yes, res filled (the eval tasks a stop
 * left out evaluated now), and a change of keep_checkpoint applied and
 * recorded; 0: no; -1: failed. */
static int read_complete(TrainOpts *o, const pifi_train_options *t, const cJSON *data, pifi_train_result *res,
                         PifiErr *err) {
    TrainOpts oc = *o; /* keep_checkpoint no now removes a complete run's checkpoint */
    const TrainOption *keep = train_option_by_key("keep_checkpoint");
    if (t->given[keep - TRAIN_OPTIONS]) oc.keep_checkpoint = t->o.keep_checkpoint;
    TrainResult tr;
    cJSON *ev = NULL, *changes = NULL;
    int complete = train_run_complete(&oc, &tr, &ev, err);
    if (complete > 0 && oc.keep_checkpoint != o->keep_checkpoint) {
        changes = cJSON_CreateObject();
        cJSON_AddBoolToObject(changes, "keep_checkpoint", oc.keep_checkpoint);
        oc.resume_changes = changes;
        if (runio_record_resume(o->out, tr.steps, &oc, err)) complete = -1;
    }
    const char *names[PIFI_EVAL_TASKS_MAX];
    if (complete > 0 && !ev && eval_task_names(data, names) > 0 && eval_tasks_after(o, data, &ev, err))
        complete = -1; /* the eval tasks an interruption left out */
    if (complete > 0) fill_result(res, &tr, o, ev);
    cJSON_Delete(changes);
    cJSON_Delete(ev);
    return complete;
}

pifi_status pifi_train_resume(const char *run_dir, const pifi_train_options *changes, const pifi_callbacks *cb,
                              pifi_train_result *res, pifi_error *err) {
    PifiErr e = {0};
    result_init(res);
    pifi_train_options none_set;
    memset(&none_set, 0, sizeof none_set);
    const pifi_train_options *t = changes ? changes : &none_set;
    if (!run_dir) pifi_errf(&e, "no run directory");
    if (e.msg[0] || check_changes(t, &e) || apply_resources(t, &e)) return api_fail(&e, err);
    Dist one, *d = dist_of(t, &one);
    pifi_callbacks none = {0};
    TrainTell tell = {cb ? cb : &none, pifi_now(), d->rank == 0};
    TrainOpts o;
    train_opts_default(&o);
    cJSON *cfg = NULL, *data = NULL, *record = NULL;
    int rc = load_run(run_dir, &o, &cfg, &data, &e), complete = 0;
    if (rc == 0 && d->rank == 0) {
        complete = read_complete(&o, t, data, res, &e);
        if (complete < 0) rc = -1;
    }
    if (dist_agree(d, rc, &e) || dist_bcast(d, &complete, sizeof complete, &e)) rc = -1;
    else if (complete) res->complete_already = 1;
    else {
        record = resume_apply(&o, t, &tell);
        o.resume_changes = record;
        rc = run(&o, data, 1, d, &tell, res, &e);
    }
    cJSON_Delete(record);
    cJSON_Delete(data);
    cJSON_Delete(cfg);
    return rc ? api_fail(&e, err) : PIFI_OK;
}
