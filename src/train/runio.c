/* runio.c: the run directory: config, weights, state for --resume, loading a
 * trained run back (see runio.h for the layout). */
#include "train/runio.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/path.h"
#include "models/decoders/llm_layer_internal.h"
#include "models/encoders/encoder_gguf.h"
#include "pifi.h"
#include "pifi/encoder_export.h"
#include "pifi/fileio.h"
#include "pifi/json.h"
#include "pifi/safetensors.h"
#include "pifi/tokenizer.h"
#include "train/runio_int8.h"
#include "train/train_options.h"


int runio_write_json(const char *path, const cJSON *v, PifiErr *err) {
    char *s = cJSON_Print(v);
    if (!s) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    size_t n = strlen(s);
    s[n] = '\n';
    int rc = pifi_write_file_atomic(path, s, n + 1, err);
    free(s);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* options <-> JSON */

/* The option table's rows into config.json: those in "pifi" (pooling,
 * keep_checkpoint, llm_bundled) and the hyperparameters in "pifi.train". */
static void opts_rows_json(cJSON *p, cJSON *h, const TrainOpts *o, int top) {
    for (int i = 0; i < N_TRAIN_OPTIONS; i++) {
        const TrainOption *r = &TRAIN_OPTIONS[i];
        if (!(r->flags & TOPT_TOP) != !top || !train_option_applies(r, o)) continue;
        cJSON_AddItemToObject(top ? p : h, r->config_key ? r->config_key : r->key, train_option_to_json(r, o));
    }
}

cJSON *runio_opts_json(const TrainOpts *o, int K, char *const *label_names, const cJSON *data) {
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "version", PIFI_VERSION);
    cJSON_AddStringToObject(p, "method", method_name(o->method));
    cJSON_AddStringToObject(p, "slm", o->slm);
    if (o->llm && o->bundle) {
        cJSON_AddStringToObject(p, "llm", "llm_layer"); /* relative to the run directory */
        cJSON_AddNullToObject(p, "layer");
    } else if (o->llm) {
        char real[PATH_MAX];
        cJSON_AddStringToObject(p, "llm", realpath(o->llm, real) ? real : o->llm);
        if (o->layer == INT_MIN) cJSON_AddNullToObject(p, "layer");
        else cJSON_AddNumberToObject(p, "layer", o->layer);
    }
    if (o->span) cJSON_AddBoolToObject(p, "span", 1); /* extractive QA: start/end logits on every token */
    if (o->seq2seq) cJSON_AddBoolToObject(p, "seq2seq", 1); /* a generation run: train/s2s_run.h */
    cJSON_AddNumberToObject(p, "num_classes", K);
    cJSON *names = cJSON_AddArrayToObject(p, "label_names");
    for (int k = 0; k < K; k++) cJSON_AddItemToArray(names, cJSON_CreateString(label_names ? label_names[k] : ""));
    opts_rows_json(p, NULL, o, 1);
    opts_rows_json(p, cJSON_AddObjectToObject(p, "train"), o, 0);
    if (data) cJSON_AddItemToObject(p, "data", cJSON_Duplicate(data, 1));
    return p;
}

/* A number of the "pifi" object, range-checked: "<file>: "pifi.num_classes" is
 * 7, expected an integer in 2..256" names the file and the key. */
static int get_num(const cJSON *o, const char *prefix, const char *k, int integer, double lo, double hi,
                   double *v, const char *path, PifiErr *err) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!it || cJSON_IsNull(it)) return pifi_errf(err, "%s: missing \"%s.%s\"", path, prefix, k);
    if (!cJSON_IsNumber(it)) return pifi_errf(err, "%s: \"%s.%s\" is not a number", path, prefix, k);
    double x = it->valuedouble;
    if (integer && !(x >= lo && x <= hi && x == floor(x)))
        return pifi_errf(err, "%s: \"%s.%s\" is %.17g, expected an integer in %.17g..%.17g", path, prefix, k, x,
                         lo, hi);
    if (!integer && !(x >= lo && x <= hi))
        return pifi_errf(err, "%s: \"%s.%s\" is %.17g, expected a number in [%g, %g]", path, prefix, k, x, lo, hi);
    *v = x;
    return 0;
}

int runio_opts_from_json(const cJSON *p, TrainOpts *o, const char *path, PifiErr *err) {
    train_opts_default(o);
    if (!cJSON_IsObject(p)) return pifi_errf(err, "%s: \"pifi\" is not an object", path);
    if (pifi_json_unique_keys(p, path, err)) return -1;
    const char *s;
    if (pifi_json_string(p, "method", 1, &s, path, err)) return -1;
    if (method_parse(s, &o->method)) return pifi_errf(err, "%s: unknown method \"%s\"", path, s);
    if (pifi_json_string(p, "slm", 1, &o->slm, path, err)) return -1;
    if (pifi_json_string(p, "llm", 0, &o->llm, path, err) < 0) return -1;
    if (method_has_llm(o->method) && !o->llm)
        return pifi_errf(err, "%s: method %s needs \"pifi.llm\"", path, method_name(o->method));
    double v;
    const cJSON *layer = cJSON_GetObjectItemCaseSensitive(p, "layer");
    o->layer = INT_MIN;
    if (layer && !cJSON_IsNull(layer)) { /* the --layer range of pifi train */
        if (get_num(p, "pifi", "layer", 1, -100000, 100000, &v, path, err)) return -1;
        o->layer = (int)v;
    }
    o->span = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "span"));
    o->seq2seq = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "seq2seq"));
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(p, "train");
    /* every option of the table, with the ranges pifi train accepts on its command line */
    for (int i = 0; i < N_TRAIN_OPTIONS; i++) {
        const TrainOption *r = &TRAIN_OPTIONS[i];
        if (!train_option_applies(r, o)) continue;
        const char *k = r->config_key ? r->config_key : r->key;
        const cJSON *in = r->flags & TOPT_TOP ? p : h;
        if (!(r->flags & TOPT_TOP) && !cJSON_IsObject(h)) return pifi_errf(err, "%s: missing \"pifi.train\"", path);
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(in, k);
        char key[96], msg[400];
        snprintf(key, sizeof key, "%s%s", r->flags & TOPT_TOP ? "pifi." : "pifi.train.", k);
        if (!it || (cJSON_IsNull(it) && r->type != TOPT_ENUM && r->type != TOPT_BOOL)) {
            if (!(r->flags & TOPT_OPTIONAL)) return pifi_errf(err, "%s: missing \"%s\"", path, key);
            train_option_set(r, o, r->absent); /* a run older than the option */
            continue;
        }
        if (train_option_from_json(r, it, r->type == TOPT_BOOL ? k : key, 0, o, msg, sizeof msg))
            return pifi_errf(err, "%s: %s", path, msg);
    }
    return 0;
}

void runio_resolve_llm(TrainOpts *o, const char *run_dir) {
    if (!o->llm || o->llm[0] == '/') return;
    if (strcmp(o->llm, "llm_layer") != 0) return; /* only the bundled layer is run-relative */
    snprintf(o->llm_buf, sizeof o->llm_buf, "%s/%s", run_dir, o->llm);
    o->llm = o->llm_buf;
}

int runio_bundle_layer(const TrainOpts *o, const char *run_dir, PifiErr *err) {
    char dst[PATH_MAX];
    snprintf(dst, sizeof dst, "%s/llm_layer", run_dir);
    char *cfg = pifi_path_join(o->llm, "config.json");
    int extracted = 0;
    if (cfg && pifi_is_dir(o->llm) && pifi_file_exists(cfg)) {
        cJSON *c;
        if (pifi_json_load(cfg, 1 << 20, &c, err) == 0) {
            extracted = cJSON_GetObjectItemCaseSensitive(c, "pifi_extract") != NULL;
            cJSON_Delete(c);
        }
    }
    free(cfg);
    if (extracted) { /* already one layer: copy its two files */
        if (pifi_mkdirs(dst, err)) return -1;
        static const char *FILES[] = {"config.json", "model.safetensors"};
        for (int i = 0; i < 2; i++) {
            char *src = pifi_path_join(o->llm, FILES[i]), *out = pifi_path_join(dst, FILES[i]);
            char *buf = NULL;
            size_t n;
            int rc = src && out ? pifi_read_file(src, (size_t)16 << 30, &buf, &n, err)
                                : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
            if (rc == 0) rc = pifi_write_file_atomic(out, buf, n, err);
            free(buf);
            free(src);
            free(out);
            if (rc) return -1;
        }
        return 0;
    }
    LlmExtractReport rep;
    int layer = o->layer;
    return llm_extract(o->llm, &layer, 1, dst, 1, &rep, err);
}

/* ------------------------------------------------------------------------ */
/* directory, config, tokenizer */

int runio_prepare(const char *run_dir, int overwrite, PifiErr *err) {
    char *cfg = pifi_path_join(run_dir, "config.json");
    int exists = cfg && pifi_file_exists(cfg);
    free(cfg);
    if (exists && !overwrite)
        return pifi_errf(err, "%s: already holds a run (pass --overwrite to replace it, or --resume %s to continue it)",
                         run_dir, run_dir);
    if (pifi_mkdirs(run_dir, err)) return -1;
    char *ck = pifi_path_join(run_dir, "checkpoint");
    int rc = ck ? pifi_mkdirs(ck, err) : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    if (rc == 0 && overwrite) { /* a fresh run: the old state must not be resumed */
        char *st = pifi_path_join(ck, "state.safetensors");
        if (st) unlink(st);
        free(st);
        static const char *OLD[] = {"train_log.jsonl", "metrics.json"}; /* metrics.json: a complete run's */
        for (int i = 0; i < 2; i++) {
            char *f = pifi_path_join(run_dir, OLD[i]);
            if (f) unlink(f);
            free(f);
        }
    }
    free(ck);
    return rc;
}

int runio_write_config_text(const char *path, const char *text, size_t n, const cJSON *pifi, PifiErr *err) {
    size_t end = n;
    while (end > 0 && text[end - 1] != '}') end--;
    if (end == 0) return 1;
    size_t body = end - 1; /* the closing brace */
    while (body > 0 && (text[body - 1] == ' ' || text[body - 1] == '\n' || text[body - 1] == '\r' ||
                        text[body - 1] == '\t'))
        body--;
    char *p = cJSON_Print(pifi);
    if (!p) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    size_t np = strlen(p), total = body + np + 32;
    char *out = malloc(total);
    int rc = -1;
    if (!out) {
        pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    } else {
        int empty = body > 0 && text[body - 1] == '{';
        int k = snprintf(out, total, "%.*s%s\n  \"pifi\": %s\n}\n", (int)body, text, empty ? "" : ",", p);
        rc = pifi_write_file_atomic(path, out, (size_t)k, err);
    }
    free(out);
    free(p);
    return rc;
}

int runio_write_config(const char *run_dir, const Encoder *slm, const char *slm_dir, const cJSON *pifi,
                       PifiErr *err) {
    cJSON *cfg = encoder_config_json(slm, slm_dir, err); /* the directory's own, or one written from the model */
    if (!cfg) return -1;
    char *path = pifi_path_join(run_dir, "config.json");
    int rc = path ? 1 : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    if (rc == 1 && !pifi_has_suffix(slm_dir, ".gguf") && !cJSON_GetObjectItemCaseSensitive(cfg, "pifi")) {
        /* a model directory's own config.json, which the family took as it is: kept as written */
        char *src = pifi_path_join(slm_dir, "config.json"), *text = NULL;
        size_t n = 0;
        cJSON *own = NULL;
        PifiErr quiet = {0};
        if (src && pifi_read_file(src, 1 << 20, &text, &n, &quiet) == 0 &&
            pifi_json_parse(text, n, src, &own, &quiet) == 0 && cJSON_Compare(own, cfg, 1))
            rc = runio_write_config_text(path, text, n, pifi, err); /* 1: no closing brace, written below */
        cJSON_Delete(own);
        free(src);
        free(text);
    }
    if (rc == 1) {
        cJSON_DeleteItemFromObjectCaseSensitive(cfg, "pifi");
        cJSON_AddItemToObject(cfg, "pifi", cJSON_Duplicate(pifi, 1));
        rc = runio_write_json(path, cfg, err);
    }
    free(path);
    cJSON_Delete(cfg);
    return rc;
}

int runio_copy_tokenizer(const char *slm_dir, const char *run_dir, PifiErr *err) {
    if (pifi_has_suffix(slm_dir, ".gguf")) return tokenizer_gguf_write_vocab(slm_dir, run_dir, err);
    static const char *FILES[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                  "vocab.txt", "vocab.json", "merges.txt"};
    for (size_t i = 0; i < sizeof FILES / sizeof FILES[0]; i++) {
        char *src = pifi_path_join(slm_dir, FILES[i]);
        if (!src) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        if (!pifi_file_exists(src) || strcmp(slm_dir, run_dir) == 0) {
            free(src);
            continue;
        }
        char *buf;
        size_t n;
        int rc = pifi_read_file(src, 256u << 20, &buf, &n, err);
        free(src);
        if (rc) return -1;
        char *dst = pifi_path_join(run_dir, FILES[i]);
        rc = dst ? pifi_write_file_atomic(dst, buf, n, err) : -1;
        free(dst);
        free(buf);
        if (rc) return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* weights */

int runio_save_model(const Trainer *t, const char *run_dir, PifiErr *err) {
    const PifiModel *m = &t->model;
    EncoderExport *x = malloc(sizeof *x);
    float *merged = NULL;
    int rc = -1;
    if (!x) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    /* LoRA merged into the weights it adapts: a plain checkpoint */
    if (encoder_export_merged(&m->slm, "", x, &merged, err)) goto done;
    /* the heads and a trained layer, under their ParamTable names */
    for (int i = 0; i < t->pt.n; i++) {
        const ParamRef *r = &t->pt.refs[i];
        if (strncmp(r->name, "pifi.", 5) != 0) continue;
        if (x->n >= ENCODER_EXPORT_MAX) {
            pifi_errf(err, "too many tensors to save");
            goto done;
        }
        x->t[x->n] = (StWriteTensor){r->name, PIFI_DT_F32, r->ndim, {r->shape[0], r->shape[1]}, r->w};
        x->n++;
    }
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "format", "pt");
    cJSON_AddStringToObject(meta, "pifi_method", method_name(t->o.method));
    char *path = pifi_path_join(run_dir, "model.safetensors");
    rc = path ? st_write(path, x->t, x->n, meta, err) : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    free(path);
    cJSON_Delete(meta);
done:
    free(merged);
    free(x);
    return rc;
}

int runio_save_state(const Trainer *t, const char *run_dir, PifiErr *err) {
    int n = t->pt.n;
    StWriteTensor *w = calloc((size_t)n + 2, sizeof *w);
    if (!w) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    for (int i = 0; i < n; i++) {
        const ParamRef *r = &t->pt.refs[i];
        w[i] = (StWriteTensor){r->name, PIFI_DT_F32, 1, {r->n, 0}, r->w};
    }
    w[n] = (StWriteTensor){"adam.m", PIFI_DT_F32, 1, {t->pt.total, 0}, t->pt.m};
    w[n + 1] = (StWriteTensor){"adam.v", PIFI_DT_F32, 1, {t->pt.total, 0}, t->pt.v};
    cJSON *meta = cJSON_CreateObject();
    char buf[64];
#define META(key, fmt, val) snprintf(buf, sizeof buf, fmt, val), cJSON_AddStringToObject(meta, key, buf)
    META("step", "%lld", (long long)t->step);
    META("epoch", "%lld", (long long)t->epoch);
    META("step_in_epoch", "%lld", (long long)t->step_in_epoch);
    META("best_valid", "%.17g", t->best_valid);
    META("best_epoch", "%lld", (long long)t->best_epoch);
    META("method", "%s", method_name(t->o.method));
#undef META
    char *ck = pifi_path_join(run_dir, "checkpoint");
    char *path = ck ? pifi_path_join(ck, "state.safetensors") : NULL;
    int rc = path ? pifi_mkdirs(ck, err) : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    if (rc == 0) rc = st_write(path, w, n + 2, meta, err);
    free(ck);
    free(path);
    free(w);
    cJSON_Delete(meta);
    return rc;
}

/* An integer of the state's metadata, in lo..hi. */
static int meta_i64(const cJSON *meta, const char *k, int64_t lo, int64_t hi, int64_t *v, const char *path,
                    PifiErr *err) {
    const char *s;
    if (pifi_json_string(meta, k, 1, &s, path, err)) return -1;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (!*s || *end || errno) return pifi_errf(err, "%s: metadata \"%s\" is not an integer", path, k);
    if (x < lo || x > hi)
        return pifi_errf(err, "%s: metadata \"%s\" is %lld, expected %lld..%lld", path, k, x, (long long)lo,
                         (long long)hi);
    *v = x;
    return 0;
}

int runio_load_state(Trainer *t, const char *run_dir, PifiErr *err) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/checkpoint/state.safetensors", run_dir);
    SafeTensors *st;
    if (st_open(&st, path, err)) return -1;
    int rc = -1;
    /* the progress first: it is small, and a state of another run says so */
    const cJSON *meta = st_metadata(st);
    const char *s;
    if (!meta) {
        pifi_errf(err, "%s: no progress metadata", path);
        goto done;
    }
    if (pifi_json_string(meta, "method", 1, &s, path, err)) goto done;
    if (strcmp(s, method_name(t->o.method)) != 0) {
        pifi_errf(err, "%s: metadata \"method\" is \"%s\" but the run's config.json says %s", path, s,
                  method_name(t->o.method));
        goto done;
    }
    if (pifi_json_string(meta, "best_valid", 1, &s, path, err)) goto done;
    char *end;
    double best = strtod(s, &end);
    if (!*s || *end || !(best >= -1 && best <= 1)) { /* an accuracy, or 0 before the first epoch */
        pifi_errf(err, "%s: metadata \"best_valid\" is \"%.40s\", expected a number in [-1, 1]", path, s);
        goto done;
    }
    int64_t step, epoch, in_epoch, best_epoch;
    const int64_t MAX_STEP = (int64_t)1 << 53;
    if (meta_i64(meta, "step", 0, MAX_STEP, &step, path, err) ||
        meta_i64(meta, "epoch", 0, t->o.epochs, &epoch, path, err) ||
        meta_i64(meta, "step_in_epoch", 0, step, &in_epoch, path, err) ||
        meta_i64(meta, "best_epoch", 0, epoch, &best_epoch, path, err))
        goto done;
    for (int i = 0; i < t->pt.n; i++) {
        ParamRef *r = &t->pt.refs[i];
        int64_t shape[1] = {r->n};
        if (st_read_f32(st, r->name, 1, shape, r->w, err)) goto done;
    }
    int64_t shape[1] = {t->pt.total};
    if (st_read_f32(st, "adam.m", 1, shape, t->pt.m, err) || st_read_f32(st, "adam.v", 1, shape, t->pt.v, err))
        goto done;
    t->best_valid = best;
    t->step = step;
    t->epoch = epoch;
    t->step_in_epoch = in_epoch;
    t->best_epoch = best_epoch;
    rc = 0;
done:
    st_close(st);
    return rc;
}

int runio_remove_state(const char *run_dir, PifiErr *err) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/checkpoint/state.safetensors", run_dir);
    if (unlink(path) && errno != ENOENT)
        return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: cannot remove: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/checkpoint", run_dir);
    rmdir(path); /* kept when something else is in it */
    return 0;
}

int runio_record_resume(const char *run_dir, int64_t step, const TrainOpts *o, PifiErr *err) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/config.json", run_dir);
    cJSON *cfg;
    if (pifi_json_load(path, 1 << 22, &cfg, err)) return -1;
    cJSON *p = cJSON_GetObjectItemCaseSensitive(cfg, "pifi"), *h = cJSON_GetObjectItemCaseSensitive(p, "train");
    int rc = 0;
    if (!cJSON_IsObject(p) || !cJSON_IsObject(h)) {
        rc = pifi_errf(err, "%s: no \"pifi.train\" object", path);
        goto done;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(h, "precision");
    cJSON_AddStringToObject(h, "precision", pifi_precision_name(o->precision));
    cJSON_DeleteItemFromObjectCaseSensitive(p, "keep_checkpoint");
    cJSON_AddBoolToObject(p, "keep_checkpoint", o->keep_checkpoint);
    cJSON *list = cJSON_GetObjectItemCaseSensitive(p, "resumes");
    if (!cJSON_IsArray(list)) {
        cJSON_DeleteItemFromObjectCaseSensitive(p, "resumes");
        list = cJSON_AddArrayToObject(p, "resumes");
    }
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "step", (double)step);
    for (const cJSON *it = o->resume_changes ? o->resume_changes->child : NULL; it; it = it->next)
        cJSON_AddItemToObject(r, it->string, cJSON_Duplicate(it, 1));
    cJSON_AddItemToArray(list, r);
    rc = runio_write_json(path, cfg, err);
done:
    cJSON_Delete(cfg);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* a trained run */

int runio_load_run(RunModel *r, const char *run_dir, PifiErr *err) {
    memset(r, 0, sizeof *r);
    char *cp = pifi_path_join(run_dir, "config.json");
    int rc = cp ? pifi_json_load(cp, 1 << 22, &r->cfg, err) : -1;
    if (rc) {
        free(cp);
        return -1;
    }
    if (pifi_json_unique_keys(r->cfg, cp, err)) goto fail;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(r->cfg, "pifi");
    if (!cJSON_IsObject(p)) {
        pifi_errf(err, "%s: not a pifi run (no \"pifi\" object)", cp);
        goto fail;
    }
    if (runio_opts_from_json(p, &r->opts, cp, err)) goto fail;
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(p, "label_names");
    r->K = cJSON_IsArray(names) ? cJSON_GetArraySize(names) : 0;
    if (r->K < 2 || r->K > 256) {
        pifi_errf(err, "%s: \"pifi.label_names\" must list 2..256 classes", cp);
        goto fail;
    }
    double nc;
    if (get_num(p, "pifi", "num_classes", 1, 2, 256, &nc, cp, err)) goto fail;
    if ((int)nc != r->K) {
        pifi_errf(err, "%s: \"pifi.num_classes\" is %d but \"pifi.label_names\" lists %d", cp, (int)nc, r->K);
        goto fail;
    }
    for (int k = 0; k < r->K; k++) {
        const cJSON *nm = cJSON_GetArrayItem(names, k);
        r->label_names[k] = cJSON_IsString(nm) ? nm->valuestring : "?";
    }
    TrainOpts *o = &r->opts;
    if (runio_int8_record(p, cp, &r->int8, err)) goto fail;
    runio_resolve_llm(o, run_dir);
    int has_llm = method_plugs_llm(o->method); /* llm-layer-only's layer is the run's own SLM */
    /* fp32 first: a trained or random layer's weights are written into it below */
    if (o->span && r->K != 2) {
        pifi_errf(err, "%s: a span (QA) run has 2 classes, start and end", cp);
        goto fail;
    }
    if (o->span ? pifi_model_init_span(&r->model, run_dir, has_llm ? o->llm : NULL, o->layer, PIFI_PREC_FP32, 0, err)
                : pifi_model_init(&r->model, run_dir, has_llm ? o->llm : NULL, o->layer, r->K, o->pooling, 1,
                                  PIFI_PREC_FP32, 0, err))
        goto fail;
    r->model.span.causal = o->layer_causal;
    r->model.span.mask_ones = o->layer_mask_ones;
    if (r->int8 && runio_int8_verify(&r->model, r->int8, run_dir, err)) goto fail;
    /* an int8 run holds its layer as it was quantized: random, or trained */
    if (!r->int8 && o->method == METHOD_PIFI_RANDOM && llm_layer_init_random(&r->model.llm, o->seed, err)) goto fail;
    const char *want_sha = NULL;
    if (has_llm && pifi_json_string(p, "llm_layer_sha256", 0, &want_sha, cp, err) < 0) goto fail;
    if (want_sha) { /* the frozen layer is referenced, not copied: is it still the same? */
        char hex[65];
        llm_layer_weights_sha256(&r->model.llm, hex);
        if (strcmp(hex, want_sha) != 0) {
            pifi_errf(err, "%s: the LLM layer changed since this run was trained (weights sha256 %.12s..., "
                      "the run recorded %.12s...)", o->llm, hex, want_sha);
            goto fail;
        }
    }
    SafeTensors *st;
    if (st_open(&st, run_dir, err)) goto fail;
    rc = pifi_model_load_heads(&r->model, st, "pifi.", err);
    if (rc == 0 && o->method == METHOD_PIFI_UNFROZEN && !r->int8) {
        LlmLayer *l = &r->model.llm;
        LlmTensorSpec specs[LLM_LAYER_MAX_SPECS];
        LlmLayerParams dummy;
        int n = llm_layer_specs(&l->cfg, &dummy, l->pooled_only, specs, LLM_LAYER_MAX_SPECS);
        float *w = l->mem;
        for (int i = 0; rc == 0 && i < n; i++) {
            char name[192];
            snprintf(name, sizeof name, "pifi.llm.model.layers.%d.%s", l->layer, specs[i].name);
            rc = st_read_f32(st, name, specs[i].ndim, specs[i].shape, w, err);
            w += specs[i].shape[0] * (specs[i].ndim == 2 ? specs[i].shape[1] : 1);
        }
    }
    st_close(st);
    if (rc) goto fail;
    if (tokenizer_load(&r->tk, run_dir, err)) goto fail;
    free(cp);
    return 0;
fail:
    free(cp);
    runio_free_run(r);
    return -1;
}

void runio_free_run(RunModel *r) {
    pifi_model_free(&r->model);
    if (r->tk) tokenizer_free(r->tk);
    cJSON_Delete(r->cfg);
    memset(r, 0, sizeof *r);
}
