/* llm_extract.c: `pifi extract`: copy one or a few decoder layers of an LLM
 * into a small checkpoint directory, reading only those layers' bytes.
 *
 * The tensors come from the checkpoint source (llm_source.h) in Hugging Face
 * naming: an HF directory's in their dtype, a GGUF's dequantized to F32. The
 * output directory is built under "<out>.tmp.<pid>" and renamed into place
 * when complete, so a failure or a kill leaves no partial <out>. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "models/decoders/llm_layer_internal.h"
#include "models/decoders/llm_source.h"
#include "pifi/fileio.h"
#include "pifi/hash.h"
#include "pifi/safetensors.h"

/* Remove a directory we created and the plain files in it. */
static void rmtree(const char *dir) {
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

/* Refuse an existing out_dir (unless overwrite); create "<out>.tmp.<pid>". */
static int begin(const char *out_dir, int overwrite, char **tmp_dir, PifiErr *err) {
    struct stat st;
    if (stat(out_dir, &st) == 0 && !overwrite)
        return pifi_errf(err, "%s: already exists (pass --overwrite to replace it)", out_dir);
    size_t n = strlen(out_dir) + 32;
    *tmp_dir = malloc(n);
    if (!*tmp_dir) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    snprintf(*tmp_dir, n, "%s.tmp.%ld", out_dir, (long)getpid());
    rmtree(*tmp_dir);
    if (pifi_mkdirs(*tmp_dir, err)) {
        free(*tmp_dir);
        *tmp_dir = NULL;
        return -1;
    }
    return 0;
}

/* Move tmp_dir to out_dir (replacing it). */
static int commit(const char *tmp_dir, const char *out_dir, PifiErr *err) {
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
    if (old[0]) rmtree(old);
    return 0;
}

/* config.json of the output: the source config plus provenance (files: the
 * source's hashes, taken over). */
static int write_config(const char *tmp_dir, cJSON *cfg, const char *src, const int *layers, int n, cJSON *files,
                        const char *tensors_sha, PifiErr *err) {
    cJSON *px = cJSON_CreateObject();
    char real[PATH_MAX];
    cJSON_AddStringToObject(px, "source", realpath(src, real) ? real : src);
    cJSON *arr = cJSON_AddArrayToObject(px, "layers");
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(arr, cJSON_CreateNumber(layers[i]));
    if (n == 1) cJSON_AddNumberToObject(px, "layer", layers[0]);
    cJSON_AddItemToObject(px, "source_sha256", files);
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

/* The views of the layers' tensors (specs[s] of layers[i] at v[i * ns + s]),
 * their values read (GGUF: dequantized), hashed in that order. */
static int read_layers(LlmSource *s, const int *layers, int n_layers, const LlmTensorSpec *specs, int ns,
                       LlmTensorView *v, LlmExtractReport *rep, PifiErr *err) {
    PifiSha256 *h = pifi_sha256_new();
    if (!h) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    int rc = 0;
    for (int i = 0; rc == 0 && i < n_layers; i++) {
        for (int j = 0; rc == 0 && j < ns; j++) {
            LlmTensorView *t = &v[i * ns + j];
            char name[192];
            snprintf(name, sizeof name, "model.layers.%d.%s", layers[i], specs[j].name);
            rc = llm_source_tensor(s, name, specs[j].ndim, specs[j].shape, t, err);
            if (rc == 0) rc = llm_source_check_float(t, err);
            if (rc == 0) rc = llm_source_data(s, t, err);
            if (rc) break;
            pifi_sha256_update(h, t->data, t->nbytes);
            rep->params += t->numel;
            rep->bytes += (int64_t)t->nbytes;
        }
    }
    pifi_sha256_final(h, rep->tensors_sha256);
    return rc;
}

/* Write the tensors wt (nw) and the config into a new out_dir. */
static int write_out(LlmSource *s, const int *layers, int n_layers, const StWriteTensor *wt, int nw,
                     const char *out_dir, int overwrite, const LlmExtractReport *rep, PifiErr *err) {
    char *tmp_dir = NULL;
    if (begin(out_dir, overwrite, &tmp_dir, err)) return -1;
    char *st_path = pifi_path_join(tmp_dir, "model.safetensors");
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "format", "pt");
    int rc = st_path ? st_write(st_path, wt, nw, meta, err) : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    cJSON_Delete(meta);
    free(st_path);
    cJSON *files = rc == 0 ? cJSON_CreateObject() : NULL;
    if (rc == 0 && !files) rc = pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    if (rc == 0) rc = llm_source_hash_files(s, files, err);
    cJSON *cfg = rc == 0 ? llm_source_config_json(s, err) : NULL;
    if (rc == 0 && !cfg) rc = -1;
    if (rc == 0) {
        rc = write_config(tmp_dir, cfg, llm_source_path(s), layers, n_layers, files, rep->tensors_sha256, err);
        files = NULL; /* now cfg's */
    }
    cJSON_Delete(cfg);
    cJSON_Delete(files);
    if (rc == 0) rc = commit(tmp_dir, out_dir, err);
    if (rc) rmtree(tmp_dir);
    free(tmp_dir);
    return rc;
}

static int extract(LlmSource *s, const int *req, int n_layers, const char *out_dir, int overwrite,
                   LlmExtractReport *rep, PifiErr *err) {
    const LlmConfig *c = llm_source_config(s);
    const char *src = llm_source_path(s);
    if (llm_source_is_extract(s))
        return pifi_errf(err, "%s: is already a `pifi extract` output; extract from the full model", src);
    int layers[64];
    for (int i = 0; i < n_layers; i++)
        if (llm_resolve_layer(req[i], c->num_layers, src, &layers[i], err)) return -1;
    LlmLayerParams dummy;
    LlmTensorSpec specs[LLM_LAYER_MAX_SPECS];
    int ns = llm_layer_specs(c, &dummy, 0, specs, LLM_LAYER_MAX_SPECS), nt = n_layers * ns;
    LlmTensorView *v = calloc((size_t)nt, sizeof *v);
    StWriteTensor *wt = calloc((size_t)nt + 1, sizeof *wt);
    int rc = v && wt ? 0 : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    if (rc == 0) rc = read_layers(s, layers, n_layers, specs, ns, v, rep, err);
    if (rc == 0) {
        for (int i = 0; i < nt; i++) {
            wt[i] = (StWriteTensor){v[i].name, v[i].dtype, v[i].ndim, {0}, v[i].data};
            memcpy(wt[i].shape, v[i].shape, sizeof v[i].shape);
        }
        int nw = nt;
        if (c->has_rope_freqs) /* a GGUF's llama3 rope scaling, for llm_layer_load */
            wt[nw++] = (StWriteTensor){"model.rope_freqs", PIFI_DT_F32, 1, {c->HD / 2, 0}, c->rope_freqs};
        rc = write_out(s, layers, n_layers, wt, nw, out_dir, overwrite, rep, err);
    }
    for (int i = 0; v && i < nt; i++) llm_source_release(s, &v[i]);
    free(v);
    free(wt);
    return rc;
}

int llm_extract(const char *src, const int *layers, int n_layers, const char *out_dir, int overwrite,
                LlmExtractReport *rep, PifiErr *err) {
    memset(rep, 0, sizeof *rep);
    if (n_layers < 1 || n_layers > 64) return pifi_errf(err, "extract: between 1 and 64 layers, got %d", n_layers);
    LlmSource *s;
    if (llm_source_open(&s, src, err)) return -1;
    int rc = extract(s, layers, n_layers, out_dir, overwrite, rep, err);
    llm_source_close(s);
    return rc;
}
