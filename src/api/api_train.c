/* api_train.c: include/pifi.h's training options: the model's keys, the
 * resources' and the option table's rows, set from text (the runs
 * themselves: api_train_run.c). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "pifi/memlimit.h"

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
    free(o->max_memory);
    free(o);
}

int pifi_train_option_count(void) { return N_TRAIN_OPTIONS; }
const char *pifi_train_option_key(int i) { return i >= 0 && i < N_TRAIN_OPTIONS ? TRAIN_OPTIONS[i].key : NULL; }
const char *pifi_train_option_help(int i) { return i >= 0 && i < N_TRAIN_OPTIONS ? TRAIN_OPTIONS[i].help : NULL; }
int pifi_train_option_resumable(int i) { return i >= 0 && i < N_TRAIN_OPTIONS && (TRAIN_OPTIONS[i].flags & TOPT_RESUME); }

void pifi_train_options_set_dist(pifi_train_options *o, pifi_dist *d) { o->dist = d; }

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

/* The model's keys (not rows of the option table); 1: key is none of them. */
static const char *const MODEL_KEYS[] = {"slm", "llm", "llm_layer", "layer", "method", "overwrite", NULL};

static int model_set(pifi_train_options *t, const char *key, const char *value, PifiErr *err) {
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
    return 1; /* not one of them */
}

static int options_set(pifi_train_options *t, const char *key, const char *value, PifiErr *err) {
    if (!key || !value) return pifi_errf(err, "pifi_train_options_set: key and value must not be NULL");
    long v = 0;
    int m = model_set(t, key, value, err);
    if (m <= 0) {
        if (m == 0 && !t->model_key) /* our own spelling: key is the caller's */
            for (int i = 0; MODEL_KEYS[i]; i++)
                if (!strcmp(key, MODEL_KEYS[i])) t->model_key = MODEL_KEYS[i];
        return m;
    }
    if (!strcmp(key, "threads")) {
        if (parse_int(key, value, 1, 4096, &v, err)) return -1;
        t->threads = (int)v;
        return 0;
    }
    if (!strcmp(key, "max_memory")) {
        uint64_t bytes;
        if (pifi_parse_size(value, &bytes))
            return pifi_errf(err, "option \"max_memory\" expects a size of at least 1M such as 2G or 512M, not '%s'",
                             value);
        return set_string(&t->max_memory, value, err);
    }
    const TrainOption *r = train_option_by_key(key);
    if (!r) return pifi_errf(err, "no training option \"%s\" (pifi_train_option_key lists them)", key);
    cJSON *j = row_value(r, value);
    if (!j) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    char msg[512];
    int rc = train_option_from_json(r, j, key, 0, &t->o, msg, sizeof msg);
    cJSON_Delete(j);
    if (rc) return pifi_errf(err, "option %s", msg);
    t->given[r - TRAIN_OPTIONS] = 1;
    return 0;
}

pifi_status pifi_train_options_set(pifi_train_options *o, const char *key, const char *value, pifi_error *err) {
    PifiErr e = {0};
    return options_set(o, key, value, &e) ? api_fail(&e, err) : PIFI_OK;
}
