/* runio_int8.c: the int8 form of a run directory (see runio_int8.h):
 * writing it from a quantized model, the record in its config.json, and the
 * checks that loading and training make. */
#include "train/runio_int8.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pifi/fileio.h"
#include "pifi/json.h"

#define INT8_LAYOUT 2

/* What can be int8, as "pifi.quantized.int8" names it. */
static const struct {
    const char *name;
    unsigned bit;
} PARTS[] = {
    {"llm_layer", RUN_INT8_LLM},
    {"slm_linear", RUN_INT8_SLM_LINEAR},
    {"slm_embeddings", RUN_INT8_SLM_EMBEDDINGS},
};
#define NPARTS (sizeof PARTS / sizeof PARTS[0])

int runio_int8_record(const cJSON *pifi, const char *path, unsigned *what, PifiErr *err) {
    *what = 0;
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(pifi, "quantized");
    if (!q) return 0;
    if (!cJSON_IsObject(q)) return pifi_errf(err, "%s: \"pifi.quantized\" is not an object", path);
    const cJSON *layout = cJSON_GetObjectItemCaseSensitive(q, "layout");
    if (!layout) /* layout 1: int8 tensors beside the fp32 ones, the layer referenced */
        return pifi_errf(err, "%s: an int8 run written by an earlier pifi quantize (quantized.safetensors beside "
                         "the fp32 weights): run pifi quantize on its source run again", path);
    if (!cJSON_IsNumber(layout) || layout->valuedouble != INT8_LAYOUT)
        return pifi_errf(err, "%s: \"pifi.quantized.layout\" must be %d", path, INT8_LAYOUT);
    const cJSON *parts = cJSON_GetObjectItemCaseSensitive(q, "int8"), *it;
    if (!cJSON_IsArray(parts) || cJSON_GetArraySize(parts) < 1)
        return pifi_errf(err, "%s: \"pifi.quantized.int8\" must list what is int8", path);
    cJSON_ArrayForEach(it, parts) {
        size_t i = 0;
        while (i < NPARTS && !(cJSON_IsString(it) && !strcmp(it->valuestring, PARTS[i].name))) i++;
        if (i == NPARTS)
            return pifi_errf(err, "%s: \"pifi.quantized.int8\" lists an unknown part (llm_layer, slm_linear or "
                             "slm_embeddings)", path);
        *what |= PARTS[i].bit;
    }
    return 0;
}

int runio_int8_verify(const PifiModel *m, unsigned what, const char *run_dir, PifiErr *err) {
    const char *missing = (what & RUN_INT8_LLM) && !(m->has_llm && m->llm.q8_only) ? "LLM layer"
                          : (what & RUN_INT8_SLM_LINEAR) &&
                                    !(m->slm.int8_only && (encoder_int8_parts(&m->slm) & ENCODER_INT8_LINEAR))
                              ? "SLM's linear layers"
                          : (what & RUN_INT8_SLM_EMBEDDINGS) &&
                                    !(m->slm.int8_only && (encoder_int8_parts(&m->slm) & ENCODER_INT8_EMBEDDINGS))
                              ? "SLM's word embeddings"
                              : NULL;
    if (missing)
        return pifi_errf(err, "%s: config.json says the %s is int8 but its weights are not", run_dir, missing);
    return 0;
}

int runio_int8_refuse_training(const cJSON *pifi, const char *run_dir, PifiErr *err) {
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(pifi, "quantized");
    if (!q) return 0;
    const cJSON *from = cJSON_GetObjectItemCaseSensitive(q, "from");
    if (cJSON_IsString(from))
        return pifi_errf(err, "%s: an int8 run (pifi quantize) is for inference only: it cannot be trained or "
                         "resumed; its source run is %s", run_dir, from->valuestring);
    return pifi_errf(err, "%s: an int8 run (pifi quantize) is for inference only: it cannot be trained or resumed",
                     run_dir);
}

/* ------------------------------------------------------------------------ */
/* writing */

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *f) {
    (void)sb, (void)flag, (void)f;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* Remove a directory tree (never following links). */
static void remove_tree(const char *dir) { nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* Copy a file of src_dir into dst_dir when it exists. */
static int copy_if_there(const char *src_dir, const char *dst_dir, const char *name, PifiErr *err) {
    char *s = pifi_path_join(src_dir, name), *d = pifi_path_join(dst_dir, name);
    char *buf = NULL;
    size_t n;
    int rc = s && d ? 0 : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    if (rc == 0 && pifi_file_exists(s)) {
        rc = pifi_read_file(s, (size_t)1 << 30, &buf, &n, err);
        if (rc == 0) rc = pifi_write_file_atomic(d, buf, n, err);
    }
    free(buf);
    free(s);
    free(d);
    return rc;
}

/* tmp/config.json: the run's config, the layer bundled, the record
 * "pifi.quantized": layout, what is int8, the caller's fields, the source. */
static int write_config(const RunModel *r, const char *src_dir, const char *tmp, const cJSON *record, PifiErr *err) {
    cJSON *cfg = cJSON_Duplicate(r->cfg, 1), *q = cJSON_CreateObject();
    cJSON *p = cJSON_GetObjectItemCaseSensitive(cfg, "pifi");
    if (!p || !q) {
        cJSON_Delete(cfg);
        cJSON_Delete(q);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    }
    cJSON_AddNumberToObject(q, "layout", INT8_LAYOUT);
    cJSON *parts = cJSON_AddArrayToObject(q, "int8");
    unsigned slm = encoder_int8_parts(&r->model.slm);
    unsigned what = (r->model.has_llm ? RUN_INT8_LLM : 0u) | (slm & ENCODER_INT8_LINEAR ? RUN_INT8_SLM_LINEAR : 0u) |
                    (slm & ENCODER_INT8_EMBEDDINGS ? RUN_INT8_SLM_EMBEDDINGS : 0u);
    for (size_t i = 0; i < NPARTS; i++)
        if (what & PARTS[i].bit) cJSON_AddItemToArray(parts, cJSON_CreateString(PARTS[i].name));
    const cJSON *it;
    cJSON_ArrayForEach(it, record)
        if (it->string && !cJSON_GetObjectItemCaseSensitive(q, it->string))
            cJSON_AddItemToObject(q, it->string, cJSON_Duplicate(it, 1));
    char real[PATH_MAX];
    cJSON_AddStringToObject(q, "from", realpath(src_dir, real) ? real : src_dir);
    /* the source's layer, now bundled in int8 form */
    static const char *MOVED[][2] = {{"llm", "source_llm"}, {"layer", "source_layer"},
                                     {"llm_layer_sha256", "source_llm_layer_sha256"}};
    for (size_t i = 0; i < sizeof MOVED / sizeof MOVED[0]; i++) {
        cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(p, MOVED[i][0]);
        if (v && r->model.has_llm) cJSON_AddItemToObject(q, MOVED[i][1], v);
        else cJSON_Delete(v);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(p, "llm_bundled");
    if (r->model.has_llm) {
        cJSON_AddStringToObject(p, "llm", "llm_layer");
        cJSON_AddNullToObject(p, "layer");
        cJSON_AddBoolToObject(p, "llm_bundled", 1);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(p, "quantized");
    cJSON_AddItemToObject(p, "quantized", q);
    char *path = pifi_path_join(tmp, "config.json");
    int rc = path ? runio_write_json(path, cfg, err) : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    free(path);
    cJSON_Delete(cfg);
    return rc;
}

int runio_write_int8(const RunModel *r, const char *src_dir, const char *out_dir, int overwrite, const cJSON *record,
                     PifiErr *err) {
    char *cfg = pifi_path_join(out_dir, "config.json");
    int is_run = cfg && pifi_file_exists(cfg), exists = pifi_is_dir(out_dir);
    free(cfg);
    if (exists && !(is_run && overwrite) && !pifi_dir_is_empty(out_dir))
        return pifi_errf(err, "%s: exists and is %s", out_dir,
                         is_run ? "a run (pass --overwrite to replace it)" : "not an empty directory");
    char tmp[PATH_MAX], old[PATH_MAX], slm[PATH_MAX + 32], llm[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out_dir, (long)getpid());
    snprintf(old, sizeof old, "%s.old.%ld", out_dir, (long)getpid());
    snprintf(slm, sizeof slm, "%s/model.safetensors", tmp);
    snprintf(llm, sizeof llm, "%s/llm_layer", tmp);
    remove_tree(tmp);
    int rc = pifi_mkdirs(tmp, err);
    if (rc == 0) rc = pifi_model_save_int8(&r->model, slm, llm, r->opts.llm, err);
    if (rc == 0) rc = write_config(r, src_dir, tmp, record, err);
    if (rc == 0) rc = runio_copy_tokenizer(src_dir, tmp, err);
    if (rc == 0) rc = copy_if_there(src_dir, tmp, "metrics.json", err);
    if (rc == 0) rc = copy_if_there(src_dir, tmp, "train_log.jsonl", err);
    if (rc == 0 && exists && rename(out_dir, old) != 0)
        rc = pifi_errk(err, PIFI_ERR_RUNTIME, "%s: cannot replace: %s", out_dir, strerror(errno));
    if (rc == 0 && rename(tmp, out_dir) != 0) {
        rc = pifi_errk(err, PIFI_ERR_RUNTIME, "%s: cannot create: %s", out_dir, strerror(errno));
        if (exists) rename(old, out_dir);
    }
    if (rc) remove_tree(tmp);
    else if (exists) remove_tree(old);
    return rc;
}
