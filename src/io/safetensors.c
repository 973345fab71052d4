/* safetensors.c: parsing and validating one .safetensors file, and reading a
 * tensor as fp32.
 *
 * Layout: 8-byte little-endian header length N, N bytes of JSON, then the
 * data section. The JSON maps tensor names to {"dtype", "shape",
 * "data_offsets": [begin, end]} (offsets relative to the data section), plus
 * an optional "__metadata__" object of strings. Everything in the header is
 * hostile until checked: the length, each dtype, shape and offset range, and
 * that no two tensors share bytes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors_internal.h"
#include "pifi/json.h"

/* dtypes the safetensors format knows but pifi does not read. */
static const char *const ST_UNSUPPORTED[] = {"U16",     "U32",     "U64",     "F8_E4M3", "F8_E5M2",
                                             "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4",      "C64"};

/* A JSON number that is a non-negative integer JSON can hold exactly. */
static int json_u64(const cJSON *it, uint64_t *out) {
    if (!cJSON_IsNumber(it)) return -1;
    double v = it->valuedouble;
    if (!(v >= 0) || v != floor(v) || v > 9007199254740992.0) return -1;
    *out = (uint64_t)v;
    return 0;
}

/* "[30522, 384]" into buf. */
static void shape_str(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < ndim && k < cap; d++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

static int parse_dtype(const char *path, const char *name, const cJSON *entry, PifiDType *out,
                       PifiErr *err) {
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
    if (!cJSON_IsString(dt))
        return pifi_errf(err, "%s: tensor '%s' has no \"dtype\" string", path, name);
    if (pifi_dtype_parse(dt->valuestring, out) == 0) return 0;
    for (size_t i = 0; i < sizeof ST_UNSUPPORTED / sizeof *ST_UNSUPPORTED; i++)
        if (strcmp(dt->valuestring, ST_UNSUPPORTED[i]) == 0)
            return pifi_errf(err, "%s: tensor '%s' has dtype %s, which pifi does not support", path,
                             name, dt->valuestring);
    return pifi_errf(err, "%s: tensor '%s' has unknown dtype '%s'", path, name, dt->valuestring);
}

/* Fills t->ndim, t->shape, t->numel, t->nbytes (t->dtype already set). */
static int parse_shape(const char *path, const char *name, const cJSON *entry, StTensor *t,
                       PifiErr *err) {
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(entry, "shape");
    if (!cJSON_IsArray(shape))
        return pifi_errf(err, "%s: tensor '%s' has no \"shape\" array", path, name);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > ST_MAX_DIMS)
        return pifi_errf(err, "%s: tensor '%s' has %d dims; at most %d are supported", path, name,
                         ndim, ST_MAX_DIMS);
    int64_t numel = 1;
    int overflow = 0, d = 0;
    const cJSON *dim;
    cJSON_ArrayForEach(dim, shape) {
        uint64_t v;
        if (json_u64(dim, &v))
            return pifi_errf(err, "%s: tensor '%s' has a bad shape (dims must be non-negative integers)",
                             path, name);
        t->shape[d++] = (int64_t)v;
        if (v != 0 && numel > INT64_MAX / (int64_t)v) overflow = 1;
        else numel *= (int64_t)v;
    }
    t->ndim = ndim;
    size_t es = pifi_dtype_size(t->dtype);
    if (overflow || numel > INT64_MAX / (int64_t)es) {
        char s[256];
        shape_str(s, sizeof s, ndim, t->shape);
        return pifi_errf(err, "%s: tensor '%s' has shape %s, whose size in bytes overflows 64 bits",
                         path, name, s);
    }
    t->numel = numel;
    t->nbytes = (uint64_t)numel * es;
    return 0;
}

/* Checks data_offsets against the data section and the tensor's size. */
static int parse_offsets(const char *path, const char *name, const cJSON *entry, uint64_t data_size,
                         const StTensor *t, uint64_t *begin, uint64_t *end, PifiErr *err) {
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 ||
        json_u64(cJSON_GetArrayItem(offs, 0), begin) || json_u64(cJSON_GetArrayItem(offs, 1), end))
        return pifi_errf(err,
                         "%s: tensor '%s' needs \"data_offsets\" [begin, end] of non-negative integers",
                         path, name);
    if (*begin > *end)
        return pifi_errf(err, "%s: tensor '%s' has data_offsets [%llu, %llu]: begin is after end", path,
                         name, (unsigned long long)*begin, (unsigned long long)*end);
    if (*end > data_size)
        return pifi_errf(err, "%s: tensor '%s' ends at byte %llu but the data section has %llu bytes",
                         path, name, (unsigned long long)*end, (unsigned long long)data_size);
    if (*end - *begin != t->nbytes) {
        char s[256];
        shape_str(s, sizeof s, t->ndim, t->shape);
        return pifi_errf(err,
                         "%s: tensor '%s' is %s %s (%llu bytes) but its data_offsets span %llu bytes",
                         path, name, pifi_dtype_name(t->dtype), s, (unsigned long long)t->nbytes,
                         (unsigned long long)(*end - *begin));
    }
    return 0;
}

static int check_metadata(const char *path, const cJSON *meta, PifiErr *err) {
    if (!cJSON_IsObject(meta))
        return pifi_errf(err, "%s: \"__metadata__\" must be an object of strings", path);
    const cJSON *it;
    cJSON_ArrayForEach(it, meta) {
        if (!cJSON_IsString(it))
            return pifi_errf(err, "%s: \"__metadata__\" value for '%s' is not a string", path,
                             it->string);
    }
    return 0;
}

typedef struct {
    uint64_t begin, end;
    const char *name;
} StSpan;

static int cmp_span(const void *a, const void *b) {
    const StSpan *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

static int cmp_tensor_name(const void *a, const void *b) {
    return strcmp(((const StTensor *)a)->name, ((const StTensor *)b)->name);
}

/* A zip (torch.save since 1.6) or a raw pickle stream, not safetensors. */
static int looks_like_pickle(const uint8_t *p, size_t n) {
    if (n >= 9 && p[8] == '{') return 0; /* a plausible safetensors header */
    if (n >= 4 && memcmp(p, "PK\003\004", 4) == 0) return 1;
    return n >= 2 && p[0] == 0x80 && p[1] >= 2 && p[1] <= 5;
}

/* Parses the header of an already mapped file into f. */
static int parse_header(StFile *f, PifiErr *err) {
    const char *path = f->path;
    const uint8_t *p = f->map.data;
    size_t size = f->map.size;
    if (size < 8)
        return pifi_errf(err, "%s: file is %zu bytes, shorter than 8 bytes: not a safetensors file", path,
                         size);
    if (looks_like_pickle(p, size)) return st_refuse_pickle(path, err);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | p[i];
    if (n > ST_HEADER_MAX)
        return pifi_errf(err, "%s: header length %llu is absurd (limit %llu bytes)", path,
                         (unsigned long long)n, ST_HEADER_MAX);
    if (n > size - 8)
        return pifi_errf(err, "%s: header length %llu runs beyond the end of the file (%zu bytes)", path,
                         (unsigned long long)n, size);
    if (n == 0 || p[8] != '{')
        return pifi_errf(err, "%s: header does not start with '{': not a safetensors file", path);

    /* Parse a NUL-terminated copy so no parser can read past the header. */
    char *text = pifi_malloc((size_t)n + 1, err);
    if (!text) return -1;
    memcpy(text, p + 8, (size_t)n);
    text[n] = 0;
    int rc = pifi_json_parse(text, (size_t)n, path, &f->header, err);
    free(text);
    if (rc) return -1;
    if (!cJSON_IsObject(f->header)) return pifi_errf(err, "%s: header is not a JSON object", path);

    const uint8_t *data = p + 8 + n;
    uint64_t data_size = (uint64_t)size - 8 - n;
    int count = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, f->header) count++;
    f->tensors = pifi_calloc((size_t)count, sizeof *f->tensors, err);
    StSpan *spans = pifi_calloc((size_t)count, sizeof *spans, err);
    if (!f->tensors || !spans) {
        free(spans);
        return -1;
    }
    int nt = 0;
    cJSON_ArrayForEach(it, f->header) {
        const char *name = it->string ? it->string : "";
        if (strcmp(name, "__metadata__") == 0) {
            if (check_metadata(path, it, err)) goto fail;
            f->metadata = it;
            continue;
        }
        if (!cJSON_IsObject(it)) {
            pifi_errf(err, "%s: tensor '%s' is not an object in the header", path, name);
            goto fail;
        }
        StTensor *t = &f->tensors[nt];
        uint64_t begin, end;
        t->name = name;
        t->file = path;
        if (parse_dtype(path, name, it, &t->dtype, err) || parse_shape(path, name, it, t, err) ||
            parse_offsets(path, name, it, data_size, t, &begin, &end, err))
            goto fail;
        t->data = data + begin;
        spans[nt] = (StSpan){begin, end, name};
        nt++;
    }
    f->n = nt;

    qsort(spans, (size_t)nt, sizeof *spans, cmp_span);
    for (int i = 1; i < nt; i++) {
        if (spans[i].begin < spans[i - 1].end) {
            pifi_errf(err, "%s: tensors '%s' (bytes %llu-%llu) and '%s' (bytes %llu-%llu) overlap", path,
                      spans[i - 1].name, (unsigned long long)spans[i - 1].begin,
                      (unsigned long long)spans[i - 1].end, spans[i].name,
                      (unsigned long long)spans[i].begin, (unsigned long long)spans[i].end);
            goto fail;
        }
    }
    free(spans);
    spans = NULL;

    qsort(f->tensors, (size_t)nt, sizeof *f->tensors, cmp_tensor_name);
    for (int i = 1; i < nt; i++)
        if (strcmp(f->tensors[i].name, f->tensors[i - 1].name) == 0)
            return pifi_errf(err, "%s: tensor '%s' appears twice in the header", path, f->tensors[i].name);
    return 0;
fail:
    free(spans);
    return -1;
}

int st_file_open(StFile *f, const char *path, PifiErr *err) {
    memset(f, 0, sizeof *f);
    f->path = strdup(path);
    if (!f->path) return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: out of memory", path);
    if (pifi_map_open(&f->map, path, err) || parse_header(f, err)) {
        st_file_close(f);
        return -1;
    }
    return 0;
}

void st_file_close(StFile *f) {
    pifi_map_close(&f->map);
    cJSON_Delete(f->header);
    free(f->tensors);
    free(f->path);
    memset(f, 0, sizeof *f);
}

const StTensor *st_file_find(const StFile *f, const char *name) {
    if (f->n == 0) return NULL;
    StTensor key = {.name = name};
    return bsearch(&key, f->tensors, (size_t)f->n, sizeof *f->tensors, cmp_tensor_name);
}

int st_read_f32(SafeTensors *st, const char *name, int ndim, const int64_t *shape, float *dst,
                PifiErr *err) {
    const StTensor *t;
    if (st_get(st, name, &t, err)) return -1;
    int same = t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = t->shape[d] == shape[d];
    if (!same) {
        char found[256], want[256];
        shape_str(found, sizeof found, t->ndim, t->shape);
        shape_str(want, sizeof want, ndim > 0 && ndim <= ST_MAX_DIMS ? ndim : 0, shape);
        return pifi_errf(err, "%s: tensor '%s' has shape %s but %s was expected", t->file, name, found,
                         want);
    }
    pifi_to_f32(t->dtype, t->data, dst, (size_t)t->numel);
    return 0;
}
