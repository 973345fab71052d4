/* safetensors_index.c: the SafeTensors handle: resolving what st_open was
 * given (a file, an index, a directory, or a pickle to refuse), sharded sets
 * described by model.safetensors.index.json, and lookup by name.
 *
 * An index is {"metadata": {...}, "weight_map": {tensor name: shard file}}.
 * Shard names must be plain file names in the index's directory. A shard is
 * mapped and its header parsed only when a tensor it holds is first looked
 * up, so listing names never touches the shards. Lookup is a binary search
 * over the names sorted once at open. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/path.h"
#include "io/safetensors_internal.h"
#include "pifi/json.h"

/* Index files above this size are refused. */
#define ST_INDEX_MAX ((size_t)100 << 20)

typedef struct {
    const char *name;  /* tensor name (points into the index or the file header) */
    const char *shard; /* shard file name from the index (NULL for a single file) */
    int file;          /* index into SafeTensors.files */
} StEntry;

struct SafeTensors {
    char *path;            /* what was opened: the .safetensors file or the index */
    cJSON *index;          /* parsed index, or NULL for a single file */
    const cJSON *metadata; /* the index's "metadata", or the single file's "__metadata__" */
    StEntry *entries;      /* [n], sorted by name */
    int n;
    StFile *files;         /* [nfiles]; files[i].header == NULL until opened */
    char **file_paths;     /* [nfiles] full paths of the shards */
    int nfiles;
};

static int cmp_entry_name(const void *a, const void *b) {
    return strcmp(((const StEntry *)a)->name, ((const StEntry *)b)->name);
}

static int cmp_entry_ptr_shard(const void *a, const void *b) {
    return strcmp((*(StEntry *const *)a)->shard, (*(StEntry *const *)b)->shard);
}

int st_refuse_pickle(const char *path, PifiErr *err) {
    char *dir = pifi_is_dir(path) ? strdup(path) : pifi_dir_of(path);
    const char *d = dir ? dir : "DIR";
    pifi_errf(err,
              "%s: PyTorch pickle checkpoints are not loaded (a pickle can run code); convert it to "
              "safetensors first, e.g. python -c \"from transformers import AutoModel; "
              "AutoModel.from_pretrained('%s').save_pretrained('%s', safe_serialization=True)\"",
              path, d, d);
    free(dir);
    return -1;
}

static int is_pickle_name(const char *path) {
    static const char *const suffixes[] = {".bin", ".pt", ".pth", ".ckpt", ".pkl", ".bin.index.json"};
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++)
        if (pifi_has_suffix(path, suffixes[i])) return 1;
    return 0;
}

static int alloc_handle(SafeTensors **out, const char *path, PifiErr *err) {
    SafeTensors *st = pifi_calloc(1, sizeof *st, err);
    if (!st) return -1;
    st->path = strdup(path);
    if (!st->path) {
        free(st);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: out of memory", path);
    }
    *out = st;
    return 0;
}

static int open_single(SafeTensors *st, PifiErr *err) {
    st->nfiles = 1;
    st->files = pifi_calloc(1, sizeof *st->files, err);
    st->file_paths = pifi_calloc(1, sizeof *st->file_paths, err);
    if (!st->files || !st->file_paths) return -1;
    st->file_paths[0] = strdup(st->path);
    if (!st->file_paths[0]) return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: out of memory", st->path);
    if (st_file_open(&st->files[0], st->path, err)) return -1;
    const StFile *f = &st->files[0];
    st->metadata = f->metadata;
    st->n = f->n;
    st->entries = pifi_calloc((size_t)f->n, sizeof *st->entries, err);
    if (!st->entries) return -1;
    for (int i = 0; i < f->n; i++) st->entries[i] = (StEntry){f->tensors[i].name, NULL, 0};
    return 0; /* f->tensors is sorted by name, so entries are too */
}

/* A shard name must be a plain file name: no directory part, not "." or "..". */
static int plain_name(const char *s) {
    return s[0] && !strchr(s, '/') && !strchr(s, '\\') && strcmp(s, ".") && strcmp(s, "..");
}

/* Give each distinct shard name a file slot and its full path. */
static int assign_shards(SafeTensors *st, const char *dir, PifiErr *err) {
    StEntry **by_shard = pifi_calloc((size_t)st->n, sizeof *by_shard, err);
    if (!by_shard) return -1;
    for (int i = 0; i < st->n; i++) by_shard[i] = &st->entries[i];
    qsort(by_shard, (size_t)st->n, sizeof *by_shard, cmp_entry_ptr_shard);
    int nfiles = 0;
    for (int i = 0; i < st->n; i++) {
        if (i == 0 || strcmp(by_shard[i]->shard, by_shard[i - 1]->shard) != 0) nfiles++;
        by_shard[i]->file = nfiles - 1;
    }
    st->files = pifi_calloc((size_t)nfiles, sizeof *st->files, err);
    st->file_paths = pifi_calloc((size_t)nfiles, sizeof *st->file_paths, err);
    if (!st->files || !st->file_paths) {
        free(by_shard);
        return -1;
    }
    st->nfiles = nfiles;
    for (int i = 0; i < st->n; i++) {
        int k = by_shard[i]->file;
        if (st->file_paths[k]) continue;
        st->file_paths[k] = pifi_path_join(dir, by_shard[i]->shard);
        if (!st->file_paths[k]) {
            free(by_shard);
            return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: out of memory", st->path);
        }
    }
    free(by_shard);
    return 0;
}

static int open_index(SafeTensors *st, PifiErr *err) {
    const char *path = st->path;
    if (pifi_json_load(path, ST_INDEX_MAX, &st->index, err)) return -1;
    if (!cJSON_IsObject(st->index)) return pifi_errf(err, "%s: index is not a JSON object", path);
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(st->index, "metadata");
    if (meta && !cJSON_IsNull(meta)) {
        if (!cJSON_IsObject(meta)) return pifi_errf(err, "%s: \"metadata\" is not an object", path);
        st->metadata = meta;
    }
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(st->index, "weight_map");
    if (!cJSON_IsObject(map)) return pifi_errf(err, "%s: missing \"weight_map\" object", path);

    int n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, map) n++;
    st->entries = pifi_calloc((size_t)n, sizeof *st->entries, err);
    if (!st->entries) return -1;
    cJSON_ArrayForEach(it, map) {
        const char *name = it->string ? it->string : "";
        if (!cJSON_IsString(it))
            return pifi_errf(err, "%s: weight_map value for tensor '%s' is not a file name", path, name);
        if (!plain_name(it->valuestring))
            return pifi_errf(err,
                             "%s: shard '%s' of tensor '%s' is not a plain file name in the index's "
                             "directory",
                             path, it->valuestring, name);
        st->entries[st->n++] = (StEntry){name, it->valuestring, 0};
    }
    qsort(st->entries, (size_t)st->n, sizeof *st->entries, cmp_entry_name);
    for (int i = 1; i < st->n; i++)
        if (strcmp(st->entries[i].name, st->entries[i - 1].name) == 0)
            return pifi_errf(err, "%s: tensor '%s' appears twice in weight_map", path, st->entries[i].name);

    char *dir = pifi_dir_of(path);
    if (!dir) return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: out of memory", path);
    int rc = assign_shards(st, dir, err);
    free(dir);
    return rc;
}

/* What a path given to st_open means. */
static int open_resolved(SafeTensors **out, const char *path, PifiErr *err) {
    if (is_pickle_name(path)) return st_refuse_pickle(path, err);
    int index = pifi_has_suffix(path, ".json");
    if (alloc_handle(out, path, err)) return -1;
    if ((index ? open_index : open_single)(*out, err)) {
        st_close(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

int st_open(SafeTensors **out, const char *path, PifiErr *err) {
    *out = NULL;
    if (!pifi_is_dir(path)) return open_resolved(out, path, err);
    static const char *const candidates[] = {"model.safetensors.index.json", "model.safetensors",
                                             "pytorch_model.bin.index.json", "pytorch_model.bin"};
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++) {
        char *p = pifi_path_join(path, candidates[i]);
        if (!p) return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: out of memory", path);
        int rc = 1;
        if (pifi_file_exists(p)) rc = open_resolved(out, p, err);
        free(p);
        if (rc != 1) return rc;
    }
    return pifi_errf(err, "%s: no model.safetensors or model.safetensors.index.json in this directory",
                     path);
}

void st_close(SafeTensors *st) {
    if (!st) return;
    for (int i = 0; i < st->nfiles; i++) {
        if (st->files) st_file_close(&st->files[i]);
        if (st->file_paths) free(st->file_paths[i]);
    }
    free(st->files);
    free(st->file_paths);
    free(st->entries);
    cJSON_Delete(st->index);
    free(st->path);
    free(st);
}

int st_count(const SafeTensors *st) { return st->n; }

const char *st_name(const SafeTensors *st, int i) {
    return i >= 0 && i < st->n ? st->entries[i].name : NULL;
}

const cJSON *st_metadata(const SafeTensors *st) { return st->metadata; }

int st_find(SafeTensors *st, const char *name, const StTensor **out, PifiErr *err) {
    *out = NULL;
    if (st->n == 0) return 1;
    StEntry key = {.name = name};
    const StEntry *e = bsearch(&key, st->entries, (size_t)st->n, sizeof *st->entries, cmp_entry_name);
    if (!e) return 1;
    StFile *f = &st->files[e->file];
    if (!f->header && st_file_open(f, st->file_paths[e->file], err)) return -1;
    const StTensor *t = st_file_find(f, name);
    if (!t)
        return pifi_errf(err, "%s: tensor '%s' is listed in %s but missing from this shard", f->path,
                         name, st->path);
    *out = t;
    return 0;
}

int st_get(SafeTensors *st, const char *name, const StTensor **out, PifiErr *err) {
    int rc = st_find(st, name, out, err);
    if (rc == 1) return pifi_errf(err, "%s: missing tensor '%s'", st->path, name);
    return rc;
}
