/* api_train.c: include/pifi.h's training: the options (the model's keys
 * and the option table's rows, set from text), and pifi_train, which loads
 * the data named and runs train/train_run.c in one process with the
 * caller's callbacks. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "core/log.h"
#include "data/data_spec.h"
#include "train/train_options.h"
#include "train/train_run.h"

struct pifi_train_options {
    TrainOpts o;     /* slm and llm point at the copies below */
    char *slm, *llm; /* owned */
};

pifi_train_options *pifi_train_options_new(void) {
    pifi_train_options *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    train_opts_default(&t->o);
    t->o.precision = pifi_precision_default(); /* `auto`, as pifi train's default */
    return t;
}

void pifi_train_options_free(pifi_train_options *o) {
    if (!o) return;
    free(o->slm);
    free(o->llm);
    free(o);
}

int pifi_train_option_count(void) { return N_TRAIN_OPTIONS; }
const char *pifi_train_option_key(int i) { return i >= 0 && i < N_TRAIN_OPTIONS ? TRAIN_OPTIONS[i].key : NULL; }
const char *pifi_train_option_help(int i) { return i >= 0 && i < N_TRAIN_OPTIONS ? TRAIN_OPTIONS[i].help : NULL; }

/* *dst = a copy of value. */
static int set_string(char **dst, const char *value, PifiErr *err) {
    char *c = strdup(value);
    if (!c) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    free(*dst);
    *dst = c;
    return 0;
}

/* A whole decimal integer in [lo, hi]. */
static int parse_int(const char *key, const char *s, long lo, long hi, long *out, PifiErr *err) {
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return pifi_errf(err, "option \"%s\": expected an integer in [%ld, %ld], got '%s'", key, lo, hi, s);
    *out = v;
    return 0;
}

/* A table row's value from text, as JSON (the table's checks read JSON). */
static cJSON *row_value(const TrainOption *r, const char *s) {
    if (r->type == TOPT_BOOL) {
        if (!strcmp(s, "true") || !strcmp(s, "yes")) return cJSON_CreateTrue();
        if (!strcmp(s, "false") || !strcmp(s, "no")) return cJSON_CreateFalse();
        return cJSON_CreateString(s); /* refused by the row's check, which names what it expects */
    }
    if (r->type == TOPT_ENUM) return cJSON_CreateString(s);
    char *end;
    double x = strtod(s, &end);
    return *s && !*end ? cJSON_CreateNumber(x) : cJSON_CreateString(s);
}

static int options_set(pifi_train_options *t, const char *key, const char *value, PifiErr *err) {
    if (!key || !value) return pifi_errf(err, "pifi_train_options_set: key and value must not be NULL");
    long v = 0;
    if (!strcmp(key, "slm")) return set_string(&t->slm, value, err);
    if (!strcmp(key, "llm") || !strcmp(key, "llm_layer")) {
        if (set_string(&t->llm, value, err)) return -1;
        if (!strcmp(key, "llm_layer")) t->o.layer = INT_MIN; /* the extracted layer's own */
        else if (t->o.layer == INT_MIN) t->o.layer = -1;
        return 0;
    }
    if (!strcmp(key, "layer")) {
        if (parse_int(key, value, -100000, 100000, &v, err)) return -1;
        t->o.layer = (int)v;
        return 0;
    }
    if (!strcmp(key, "method")) {
        if (method_parse(value, &t->o.method))
            return pifi_errf(err, "option \"method\" must be base, pifi, pifi-unfrozen, pifi-random or lora, not '%s'",
                             value);
        return 0;
    }
    if (!strcmp(key, "overwrite")) {
        if (strcmp(value, "true") && strcmp(value, "false"))
            return pifi_errf(err, "option \"overwrite\" must be true or false, not '%s'", value);
        t->o.overwrite = !strcmp(value, "true");
        return 0;
    }
    const TrainOption *r = train_option_by_key(key);
    if (!r) return pifi_errf(err, "no training option \"%s\" (pifi_train_option_key lists them)", key);
    cJSON *j = row_value(r, value);
    if (!j) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    char msg[512];
    int rc = train_option_from_json(r, j, key, 0, &t->o, msg, sizeof msg);
    cJSON_Delete(j);
    return rc ? pifi_errf(err, "option %s", msg) : 0;
}

pifi_status pifi_train_options_set(pifi_train_options *o, const char *key, const char *value, pifi_error *err) {
    PifiErr e = {0};
    return options_set(o, key, value, &e) ? api_fail(&e, err) : PIFI_OK;
}

/* The run's progress and notes, told to the caller's callbacks. */
typedef struct {
    const pifi_callbacks *cb;
    double t0;
} TrainTell;

static void tell_progress(const TrainProgress *tp, void *user) {
    TrainTell *t = user;
    if (!t->cb->progress || tp->kind == TRAIN_PROGRESS_PAUSE) return;
    pifi_progress p = {0};
    p.phase = tp->phase ? tp->phase : "";
    p.step = p.done = tp->kind == TRAIN_PROGRESS_START ? 0 : tp->done;
    p.steps = p.total = tp->total;
    p.loss_mean = tp->mean_loss;
    p.loss_last = tp->last_loss;
    p.examples_per_s = tp->examples_per_s;
    p.elapsed_s = pifi_now() - t->t0;
    t->cb->progress(&p, t->cb->user);
}

static int tell_stop(void *user) {
    TrainTell *t = user;
    return t->cb->stop && t->cb->stop(t->cb->user) ? 1 : 0;
}

static void tell_log(PifiLogLevel level, const char *line, void *user) {
    (void)level;
    TrainTell *t = user;
    if (t->cb->log) t->cb->log(line, t->cb->user);
}

/* The data specification of d, its fraction seeded by the run's seed. */
static void data_spec_of(const pifi_data *d, const TrainOpts *o, DataSpec *s) {
    memset(s, 0, sizeof *s);
    s->task = d->task, s->data_dir = d->data_dir;
    s->train = d->train, s->valid = d->valid, s->test = d->test;
    s->text_col = d->text_col, s->pair_col = d->pair_col, s->label_col = d->label_col;
    s->skip_bad_rows = d->skip_bad_rows;
    s->train_fraction = d->train_fraction;
    s->seed = (long long)o->seed;
}

pifi_status pifi_train(const pifi_train_options *opts, const pifi_data *data, const char *out_dir,
                       const pifi_callbacks *cb, pifi_train_result *res, pifi_error *err) {
    PifiErr e = {0};
    memset(res, 0, sizeof *res);
    TrainOpts o = opts->o;
    o.slm = opts->slm;
    o.llm = method_has_llm(o.method) ? opts->llm : NULL;
    o.out = out_dir;
    if (!o.slm) pifi_errf(&e, "no SLM: set the option \"slm\"");
    else if (!out_dir) pifi_errf(&e, "no output directory");
    else if (!data) pifi_errf(&e, "no data");
    else if (method_has_llm(o.method) && !o.llm)
        pifi_errf(&e, "method %s needs an LLM layer: set \"llm\" (and \"layer\") or \"llm_layer\"", method_name(o.method));
    else if (data->train_fraction < 0 || data->train_fraction > 1)
        pifi_errf(&e, "train_fraction %g is outside [0, 1]", data->train_fraction);
    if (e.msg[0]) return api_fail(&e, err);
    DataSpec spec;
    data_spec_of(data, &o, &spec);
    cJSON *desc = NULL;
    LoadedData ld;
    memset(&ld, 0, sizeof ld);
    int rc = data_spec_json(&spec, &desc, &e) || data_load(desc, PIFI_SPLITS_ALL, NULL, 0, &ld, &e) ? -1 : 0;
    if (rc == 0 && !ld.have[0]) rc = pifi_errf(&e, "the data has no training split");
    if (rc == 0 && !ld.have[1] && o.early_stopping_patience > 0)
        rc = pifi_errf(&e, "early stopping watches the validation split: the data has none");
    if (rc == 0) {
        PifiDataset *splits[3] = {&ld.split[0], ld.have[1] ? &ld.split[1] : NULL, ld.have[2] ? &ld.split[2] : NULL};
        pifi_callbacks none = {0};
        TrainTell tell = {cb ? cb : &none, pifi_now()};
        TrainCallbacks tcb = {.on_progress = tell_progress, .on_log = tell_log, .stop_requested = tell_stop,
                              .user = &tell};
        TrainResult tr;
        rc = train_run(&o, splits, desc, 0, NULL, &tcb, &tr, &e);
        if (rc == 0) {
            res->stopped = tr.interrupted != 0;
            res->steps = tr.steps;
            res->best_epoch = tr.best_epoch;
            res->best_valid = tr.best_valid;
            res->stopped_early = tr.stopped_early;
            res->test_accuracy = tr.test_accuracy, res->test_macro_f1 = tr.test_macro_f1, res->test_mcc = tr.test_mcc;
            res->seconds = tr.seconds;
        }
    }
    data_free(&ld);
    cJSON_Delete(desc);
    return rc ? api_fail(&e, err) : PIFI_OK;
}
