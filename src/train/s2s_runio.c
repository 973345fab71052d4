/* s2s_runio.c: a generation run's files (s2s_runio.h). */
#include "train/s2s_runio.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/fileio.h"
#include "pifi/json.h"
#include "pifi/safetensors.h"
#include "train/runio.h"

int s2s_runio_write_config(const char *run_dir, const char *slm_dir, const cJSON *pifi, PifiErr *err) {
    char src[PATH_MAX], dst[PATH_MAX];
    snprintf(src, sizeof src, "%s/config.json", slm_dir);
    snprintf(dst, sizeof dst, "%s/config.json", run_dir);
    char *text = NULL;
    size_t n = 0;
    cJSON *cfg = NULL;
    if (pifi_read_file(src, 1 << 22, &text, &n, err) || pifi_json_parse(text, n, src, &cfg, err)) {
        free(text);
        return -1;
    }
    int rc = cJSON_GetObjectItemCaseSensitive(cfg, "pifi") ? 1 : runio_write_config_text(dst, text, n, pifi, err);
    if (rc == 1) { /* a run's config.json as the SLM, or no closing brace: written by cJSON */
        cJSON_DeleteItemFromObjectCaseSensitive(cfg, "pifi");
        cJSON_AddItemToObject(cfg, "pifi", cJSON_Duplicate(pifi, 1));
        rc = runio_write_json(dst, cfg, err);
    }
    cJSON_Delete(cfg);
    free(text);
    return rc;
}

/* The name a trainer tensor has in model.safetensors: the plug's under "pifi.". */
static const char *model_name(const ParamRef *r, char *buf, size_t n) {
    if (strcmp(r->name, "l_in.weight") && strcmp(r->name, "l_out.weight")) return r->name;
    snprintf(buf, n, "pifi.%s", r->name);
    return buf;
}

int s2s_runio_save_model(const S2STrainer *t, const char *run_dir, PifiErr *err) {
    int n = t->pt.n;
    StWriteTensor *w = calloc((size_t)n, sizeof *w);
    char (*names)[192] = calloc((size_t)n, sizeof *names);
    int rc = w && names ? 0 : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    for (int i = 0; rc == 0 && i < n; i++) {
        const ParamRef *r = &t->pt.refs[i];
        w[i] = (StWriteTensor){model_name(r, names[i], sizeof names[i]), PIFI_DT_F32, r->ndim,
                               {r->shape[0], r->shape[1]}, r->w};
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/model.safetensors", run_dir);
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "format", "pt");
    if (rc == 0) rc = st_write(path, w, n, meta, err);
    cJSON_Delete(meta);
    free(w);
    free(names);
    return rc;
}

int s2s_runio_load_model(S2STrainer *t, const char *run_dir, PifiErr *err) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/model.safetensors", run_dir);
    SafeTensors *st;
    if (st_open(&st, path, err)) return -1;
    int rc = 0;
    for (int i = 0; rc == 0 && i < t->pt.n; i++) {
        const ParamRef *r = &t->pt.refs[i];
        char buf[192];
        rc = st_read_f32(st, model_name(r, buf, sizeof buf), r->ndim, r->shape, r->w, err);
    }
    st_close(st);
    return rc;
}

int s2s_runio_save_state(const S2STrainer *t, const S2SProgress *p, const char *method, const char *run_dir,
                         PifiErr *err) {
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
    META("step", "%lld", (long long)p->step);
    META("epoch", "%lld", (long long)p->epoch);
    META("step_in_epoch", "%lld", (long long)p->step_in_epoch);
    META("best_valid", "%.17g", p->best_valid);
    META("best_epoch", "%lld", (long long)p->best_epoch);
    META("seconds", "%.17g", p->seconds);
    META("method", "%s", method);
    META("seq2seq", "%s", "true");
#undef META
    char dir[PATH_MAX], path[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/checkpoint", run_dir);
    snprintf(path, sizeof path, "%s/state.safetensors", dir);
    int rc = pifi_mkdirs(dir, err);
    if (rc == 0) rc = st_write(path, w, n + 2, meta, err);
    free(w);
    cJSON_Delete(meta);
    return rc;
}

/* A number of the state's metadata in lo..hi (integer: a whole one). */
static int meta_num(const cJSON *meta, const char *k, double lo, double hi, int integer, double *v, const char *path,
                    PifiErr *err) {
    const char *s;
    if (pifi_json_string(meta, k, 1, &s, path, err)) return -1;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (!*s || *end || errno || !(x >= lo && x <= hi) || (integer && x != (double)(long long)x))
        return pifi_errf(err, "%s: metadata \"%s\" is \"%.40s\", expected %s in [%g, %g]", path, k, s,
                         integer ? "an integer" : "a number", lo, hi);
    *v = x;
    return 0;
}

int s2s_runio_load_state(S2STrainer *t, S2SProgress *p, const char *method, int64_t epochs, const char *run_dir,
                         PifiErr *err) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/checkpoint/state.safetensors", run_dir);
    SafeTensors *st;
    if (st_open(&st, path, err)) return -1;
    int rc = -1;
    const cJSON *meta = st_metadata(st);
    const char *s;
    double step, epoch, in_epoch, best, best_epoch, seconds;
    if (!meta) {
        pifi_errf(err, "%s: no progress metadata", path);
        goto done;
    }
    if (pifi_json_string(meta, "method", 1, &s, path, err)) goto done;
    if (strcmp(s, method) != 0) {
        pifi_errf(err, "%s: metadata \"method\" is \"%s\" but the run's config.json says %s", path, s, method);
        goto done;
    }
    if (meta_num(meta, "step", 0, 9007199254740992.0, 1, &step, path, err) ||
        meta_num(meta, "epoch", 0, (double)epochs, 1, &epoch, path, err) ||
        meta_num(meta, "step_in_epoch", 0, step, 1, &in_epoch, path, err) ||
        meta_num(meta, "best_valid", 0, 100, 0, &best, path, err) ||
        meta_num(meta, "best_epoch", 0, epoch, 1, &best_epoch, path, err) ||
        meta_num(meta, "seconds", 0, 1e12, 0, &seconds, path, err))
        goto done;
    for (int i = 0; i < t->pt.n; i++) {
        ParamRef *r = &t->pt.refs[i];
        int64_t shape[1] = {r->n};
        if (st_read_f32(st, r->name, 1, shape, r->w, err)) goto done;
    }
    int64_t shape[1] = {t->pt.total};
    if (st_read_f32(st, "adam.m", 1, shape, t->pt.m, err) || st_read_f32(st, "adam.v", 1, shape, t->pt.v, err))
        goto done;
    *p = (S2SProgress){(int64_t)step, (int64_t)epoch, (int64_t)in_epoch, best, (int64_t)best_epoch, seconds};
    t->step = p->step;
    rc = 0;
done:
    st_close(st);
    return rc;
}
