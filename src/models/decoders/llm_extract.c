/* llm_extract.c: `pifi extract`: copy one or a few decoder layers of an LLM
 * into a small checkpoint directory, reading only those layers' bytes.
 *
 * The output directory is built under "<out>.tmp.<pid>" and renamed into
 * place when complete, so a failure or a kill leaves no partial <out>. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "models/decoders/llm_extract_internal.h"
#include "models/decoders/llm_layer_internal.h"
#include "pifi/fileio.h"
#include "pifi/hash.h"
#include "pifi/json.h"
#include "pifi/safetensors.h"

/* Remove a directory we created and the plain files in it. */
void llm_extract_rmtree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *p = pifi_path_join(dir, e->d_name);
        if (p) unlink(p);
        free(p);
    }
    closedir(d);
    rmdir(dir);
}

int llm_extract_begin(const char *out_dir, int overwrite, char **tmp_dir, PifiErr *err) {
    struct stat st;
    if (stat(out_dir, &st) == 0 && !overwrite)
        return pifi_errf(err, "%s: already exists (pass --overwrite to replace it)", out_dir);
    size_t n = strlen(out_dir) + 32;
    *tmp_dir = malloc(n);
    if (!*tmp_dir) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    snprintf(*tmp_dir, n, "%s.tmp.%ld", out_dir, (long)getpid());
    llm_extract_rmtree(*tmp_dir);
    if (pifi_mkdirs(*tmp_dir, err)) {
        free(*tmp_dir);
        *tmp_dir = NULL;
        return -1;
    }
    return 0;
}

int llm_extract_commit(const char *tmp_dir, const char *out_dir, PifiErr *err) {
    struct stat st;
    char old[PATH_MAX];
    old[0] = 0;
    if (stat(out_dir, &st) == 0) {
        snprintf(old, sizeof old, "%s.old.%ld", out_dir, (long)getpid());
        if (rename(out_dir, old) != 0)
            return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: cannot replace: %s", out_dir, strerror(errno));
    }
    if (rename(tmp_dir, out_dir) != 0) {
        int e = errno;
        if (old[0]) rename(old, out_dir);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: cannot create: %s", out_dir, strerror(e));
    }
    if (old[0]) llm_extract_rmtree(old);
    return 0;
}

/* config.json of the output: the source config plus provenance. */
int llm_extract_write_config(const char *tmp_dir, cJSON *cfg, const char *src, const int *layers,
                             int n, const char *files[][2], int nfiles, const char *tensors_sha,
                             PifiErr *err) {
    cJSON *px = cJSON_CreateObject();
    char real[PATH_MAX];
    cJSON_AddStringToObject(px, "source", realpath(src, real) ? real : src);
    cJSON *arr = cJSON_AddArrayToObject(px, "layers");
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(arr, cJSON_CreateNumber(layers[i]));
    if (n == 1) cJSON_AddNumberToObject(px, "layer", layers[0]);
    cJSON *fh = cJSON_AddObjectToObject(px, "source_sha256");
    for (int i = 0; i < nfiles; i++) cJSON_AddStringToObject(fh, files[i][0], files[i][1]);
    cJSON_AddStringToObject(px, "tensors_sha256", tensors_sha);
    cJSON_AddStringToObject(px, "tool", "pifi extract 0.1.0");
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, "pifi_extract");
    cJSON_AddItemToObject(cfg, "pifi_extract", px);
    char *text = cJSON_Print(cfg);
    if (!text) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    char *path = pifi_path_join(tmp_dir, "config.json");
    int rc = path ? pifi_write_file_atomic(path, text, strlen(text), err)
                  : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    free(path);
    free(text);
    return rc;
}

static int extract_hf(const char *src, const int *req, int n_layers, const char *out_dir,
                      int overwrite, LlmExtractReport *rep, PifiErr *err) {
    char *cfg_path = pifi_path_join(src, "config.json");
    LlmConfig cfg;
    cJSON *raw = NULL;
    SafeTensors *st = NULL;
    StWriteTensor *wt = NULL;
    char *tmp_dir = NULL, *st_path = NULL;
    int rc = -1, layers[64], nw = 0;
    if (!cfg_path) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    if (llm_config_load(&cfg, cfg_path, err) || pifi_json_load(cfg_path, 1 << 20, &raw, err)) goto done;
    if (cJSON_GetObjectItemCaseSensitive(raw, "pifi_extract")) {
        pifi_errf(err, "%s: is already a `pifi extract` output; extract from the full model", src);
        goto done;
    }
    for (int i = 0; i < n_layers; i++)
        if (llm_resolve_layer(req[i], cfg.num_layers, src, &layers[i], err)) goto done;
    if (st_open(&st, src, err)) goto done;
    LlmLayerParams dummy;
    LlmTensorSpec specs[16];
    int ns = llm_layer_specs(&cfg, &dummy, 0, specs, 16);
    wt = calloc((size_t)n_layers * ns, sizeof *wt);
    char (*names)[192] = calloc((size_t)n_layers * ns, sizeof *names);
    if (!wt || !names) {
        free(names);
        pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        goto done;
    }
    PifiSha256 *h = pifi_sha256_new();
    for (int i = 0; i < n_layers; i++) {
        for (int s = 0; s < ns; s++) {
            snprintf(names[nw], sizeof names[nw], "model.layers.%d.%s", layers[i], specs[s].name);
            const StTensor *t;
            if (st_get(st, names[nw], &t, err)) goto fail_names;
            int ok = t->ndim == specs[s].ndim;
            for (int d = 0; ok && d < t->ndim; d++) ok = t->shape[d] == specs[s].shape[d];
            if (!ok) {
                pifi_errf(err, "%s: tensor '%s' has shape [%lld%s%lld] but config.json implies [%lld%s%lld]",
                          t->file, names[nw], (long long)t->shape[0], t->ndim > 1 ? ", " : "",
                          t->ndim > 1 ? (long long)t->shape[1] : 0LL, (long long)specs[s].shape[0],
                          specs[s].ndim > 1 ? ", " : "", specs[s].ndim > 1 ? (long long)specs[s].shape[1] : 0LL);
                goto fail_names;
            }
            if (t->dtype != PIFI_DT_F32 && t->dtype != PIFI_DT_F16 && t->dtype != PIFI_DT_BF16 &&
                t->dtype != PIFI_DT_F64) {
                pifi_errf(err, "%s: tensor '%s' has dtype %s; a layer's weights are F32, F16, BF16 or F64", t->file,
                          names[nw], pifi_dtype_name(t->dtype));
                goto fail_names;
            }
            wt[nw].name = names[nw];
            wt[nw].dtype = t->dtype;
            wt[nw].ndim = t->ndim;
            for (int d = 0; d < t->ndim; d++) wt[nw].shape[d] = t->shape[d];
            wt[nw].data = t->data;
            pifi_sha256_update(h, t->data, t->nbytes);
            rep->params += t->numel;
            rep->bytes += (int64_t)t->nbytes;
            nw++;
        }
    }
    pifi_sha256_final(h, rep->tensors_sha256);
    h = NULL;
    if (llm_extract_begin(out_dir, overwrite, &tmp_dir, err)) goto fail_names;
    st_path = pifi_path_join(tmp_dir, "model.safetensors");
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "format", "pt");
    rc = st_write(st_path, wt, nw, meta, err);
    cJSON_Delete(meta);
    if (rc == 0) {
        char hcfg[65], hidx[65];
        const char *files[2][2] = {{"config.json", hcfg}, {"model.safetensors.index.json", hidx}};
        int nfiles = 1;
        rc = pifi_sha256_file(cfg_path, hcfg, err);
        char *idx = pifi_path_join(src, "model.safetensors.index.json");
        if (rc == 0 && idx && pifi_file_exists(idx)) {
            rc = pifi_sha256_file(idx, hidx, err);
            nfiles = 2;
        }
        free(idx);
        if (rc == 0)
            rc = llm_extract_write_config(tmp_dir, raw, src, layers, n_layers, files, nfiles,
                                          rep->tensors_sha256, err);
    }
    if (rc == 0) rc = llm_extract_commit(tmp_dir, out_dir, err);
    if (rc) llm_extract_rmtree(tmp_dir);
fail_names:
    if (h) pifi_sha256_final(h, rep->tensors_sha256);
    free(names);
done:
    free(st_path);
    free(tmp_dir);
    free(wt);
    st_close(st);
    cJSON_Delete(raw);
    free(cfg_path);
    return rc;
}

int llm_extract(const char *src, const int *layers, int n_layers, const char *out_dir, int overwrite,
                LlmExtractReport *rep, PifiErr *err) {
    memset(rep, 0, sizeof *rep);
    if (n_layers < 1 || n_layers > 64) return pifi_errf(err, "extract: between 1 and 64 layers, got %d", n_layers);
    size_t n = strlen(src);
    if (n > 5 && strcmp(src + n - 5, ".gguf") == 0 && !pifi_is_dir(src))
        return llm_extract_gguf(src, layers, n_layers, out_dir, overwrite, rep, err);
    if (!pifi_is_dir(src)) return pifi_errf(err, "%s: not a model directory or .gguf file", src);
    return extract_hf(src, layers, n_layers, out_dir, overwrite, rep, err);
}
