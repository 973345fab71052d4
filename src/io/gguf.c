/* gguf.c: parsing and validating a GGUF file (header, metadata, tensor
 * infos) and looking things up in it. Dequantization is in gguf_dequant.c.
 *
 * Layout (all little-endian):
 *   "GGUF" u32 version  u64 n_tensors  u64 n_kv
 *   n_kv x     { string key, u32 value_type, value }
 *   n_tensors x { string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset }
 *   padding to general.alignment, then the data section.
 * A string is u64 length + bytes (no NUL); an array value is u32 element
 * type + u64 count + elements. */
#include "pifi/gguf.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/fileio.h"

#define GGUF_MAX_ARRAY_DEPTH 4

typedef struct {
    char *key;
    GgufValueType type;
    GgufValueType elem;     /* ARRAY: element type */
    uint64_t n;             /* ARRAY: element count */
    const uint8_t *raw;     /* scalar value, or first array element, in the map */
    char *str;              /* STRING: NUL-terminated copy */
    uint64_t str_len;
    char **strs;            /* ARRAY of STRING: n pointers into strs_buf */
    uint64_t *lens;
    char *strs_buf;
    const uint8_t *rec;     /* the whole record (key, type, value) in the map */
    uint64_t rec_len;
} GgufKV;

struct GgufFile {
    char *path;
    PifiMap map;
    uint32_t version;
    uint64_t alignment;
    uint64_t data_offset;
    int64_t n_kv;
    GgufKV *kv;              /* [n_kv], file order */
    const GgufKV **kv_by_key; /* [n_kv], sorted by key */
    int64_t n_tensors;
    GgufTensor *tensors;     /* [n_tensors], file order */
    const GgufTensor **t_by_name; /* [n_tensors], sorted by name */
};

/* ---- a bounds-checked cursor over the map ---- */

typedef struct {
    const uint8_t *p;
    uint64_t size, pos;
    const char *path;
} Cur;

static int cur_need(Cur *c, uint64_t n, const char *what, PifiErr *err) {
    if (n > c->size - c->pos)
        return pifi_errf(err, "%s: truncated: %s at byte %" PRIu64 " needs %" PRIu64
                              " bytes, %" PRIu64 " left",
                         c->path, what, c->pos, n, c->size - c->pos);
    return 0;
}

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

static int rd_u32(Cur *c, uint32_t *v, const char *what, PifiErr *err) {
    if (cur_need(c, 4, what, err)) return -1;
    *v = le32(c->p + c->pos);
    c->pos += 4;
    return 0;
}

static int rd_u64(Cur *c, uint64_t *v, const char *what, PifiErr *err) {
    if (cur_need(c, 8, what, err)) return -1;
    *v = le64(c->p + c->pos);
    c->pos += 8;
    return 0;
}

/* A string: *s points into the map, not NUL-terminated. */
static int rd_str(Cur *c, const uint8_t **s, uint64_t *len, const char *what, PifiErr *err) {
    if (rd_u64(c, len, what, err)) return -1;
    if (*len > c->size - c->pos)
        return pifi_errf(err, "%s: %s at byte %" PRIu64 " has length %" PRIu64
                              ", beyond the end of the file",
                         c->path, what, c->pos - 8, *len);
    *s = c->p + c->pos;
    c->pos += *len;
    return 0;
}

/* Copy a key or tensor name, refusing control characters (so it prints on
 * one line) and empty names. */
static int copy_name(Cur *c, const uint8_t *s, uint64_t len, const char *what, char **out,
                     PifiErr *err) {
    uint64_t at = (uint64_t)(s - c->p);
    if (len == 0) return pifi_errf(err, "%s: empty %s at byte %" PRIu64, c->path, what, at);
    for (uint64_t i = 0; i < len; i++)
        if (s[i] < 0x20 || s[i] == 0x7f)
            return pifi_errf(err, "%s: %s at byte %" PRIu64 " contains control byte 0x%02x",
                             c->path, what, at, s[i]);
    *out = pifi_malloc(len + 1, err);
    if (!*out) return -1;
    memcpy(*out, s, len);
    (*out)[len] = 0;
    return 0;
}

/* ---- metadata values ---- */

static const char *const VALUE_TYPE_NAMES[GGUF_TYPE_COUNT] = {
    "UINT8", "INT8",   "UINT16", "INT16",  "UINT32", "INT32",   "FLOAT32",
    "BOOL",  "STRING", "ARRAY",  "UINT64", "INT64",  "FLOAT64",
};

const char *gguf_value_type_name(GgufValueType t) {
    return (unsigned)t < GGUF_TYPE_COUNT ? VALUE_TYPE_NAMES[t] : "?";
}

/* Bytes of a fixed-size value; 0 for STRING and ARRAY. */
static uint64_t scalar_size(GgufValueType t) {
    static const uint8_t SIZES[GGUF_TYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return SIZES[t];
}

/* Smallest number of bytes one value of type t can take. */
static uint64_t min_size(GgufValueType t) {
    if (t == GGUF_TYPE_STRING) return 8;
    if (t == GGUF_TYPE_ARRAY) return 12;
    return scalar_size(t);
}

static int check_value_type(Cur *c, uint32_t t, const char *key, PifiErr *err) {
    if (t >= GGUF_TYPE_COUNT)
        return pifi_errf(err, "%s: metadata '%s' has unknown value type %" PRIu32, c->path, key, t);
    return 0;
}

/* Skip over n values of type t, validating them (recursing into nested
 * arrays up to GGUF_MAX_ARRAY_DEPTH). */
static int skip_values(Cur *c, GgufValueType t, uint64_t n, int depth, const char *key,
                       PifiErr *err) {
    if (n > (c->size - c->pos) / min_size(t))
        return pifi_errf(err, "%s: metadata '%s': array of %" PRIu64 " %s cannot fit in the file",
                         c->path, key, n, gguf_value_type_name(t));
    if (t == GGUF_TYPE_BOOL) {
        for (uint64_t i = 0; i < n; i++)
            if (c->p[c->pos + i] > 1)
                return pifi_errf(err, "%s: metadata '%s': bool value %u is not 0 or 1", c->path,
                                 key, c->p[c->pos + i]);
    }
    if (scalar_size(t)) {
        c->pos += n * scalar_size(t);
        return 0;
    }
    for (uint64_t i = 0; i < n; i++) {
        if (t == GGUF_TYPE_STRING) {
            const uint8_t *s;
            uint64_t len;
            if (rd_str(c, &s, &len, "string value", err)) return -1;
        } else { /* nested array */
            uint32_t et;
            uint64_t en;
            if (depth >= GGUF_MAX_ARRAY_DEPTH)
                return pifi_errf(err, "%s: metadata '%s': arrays nested deeper than %d", c->path,
                                 key, GGUF_MAX_ARRAY_DEPTH);
            if (rd_u32(c, &et, "array element type", err) || check_value_type(c, et, key, err) ||
                rd_u64(c, &en, "array length", err) ||
                skip_values(c, (GgufValueType)et, en, depth + 1, key, err))
                return -1;
        }
    }
    return 0;
}

/* Copy an array of n strings starting at the cursor into one buffer. */
static int read_str_array(Cur *c, GgufKV *kv, PifiErr *err) {
    uint64_t n = kv->n, start = c->pos, total = 0;
    if (skip_values(c, GGUF_TYPE_STRING, n, 1, kv->key, err)) return -1;
    total = (c->pos - start) - 8 * n + n; /* string bytes + one NUL each */
    kv->strs = pifi_calloc(n ? n : 1, sizeof *kv->strs, err);
    kv->lens = pifi_calloc(n ? n : 1, sizeof *kv->lens, err);
    kv->strs_buf = pifi_malloc(total ? total : 1, err);
    if (!kv->strs || !kv->lens || !kv->strs_buf) return -1;
    Cur r = *c;
    r.pos = start;
    char *dst = kv->strs_buf;
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *s;
        if (rd_str(&r, &s, &kv->lens[i], "string value", err)) return -1;
        memcpy(dst, s, kv->lens[i]);
        dst[kv->lens[i]] = 0;
        kv->strs[i] = dst;
        dst += kv->lens[i] + 1;
    }
    return 0;
}

static int read_kv(Cur *c, GgufKV *kv, PifiErr *err) {
    const uint8_t *s;
    uint64_t len;
    uint32_t t;
    if (rd_str(c, &s, &len, "metadata key", err) ||
        copy_name(c, s, len, "metadata key", &kv->key, err))
        return -1;
    if (rd_u32(c, &t, "metadata value type", err) || check_value_type(c, t, kv->key, err))
        return -1;
    kv->type = (GgufValueType)t;
    kv->n = 1;
    if (kv->type == GGUF_TYPE_STRING) {
        if (rd_str(c, &s, &kv->str_len, "string value", err)) return -1;
        kv->str = pifi_malloc(kv->str_len + 1, err);
        if (!kv->str) return -1;
        memcpy(kv->str, s, kv->str_len);
        kv->str[kv->str_len] = 0;
        return 0;
    }
    if (kv->type == GGUF_TYPE_ARRAY) {
        if (rd_u32(c, &t, "array element type", err) || check_value_type(c, t, kv->key, err) ||
            rd_u64(c, &kv->n, "array length", err))
            return -1;
        kv->elem = (GgufValueType)t;
        kv->raw = c->p + c->pos;
        if (kv->elem == GGUF_TYPE_STRING) return read_str_array(c, kv, err);
        return skip_values(c, kv->elem, kv->n, 1, kv->key, err);
    }
    kv->raw = c->p + c->pos;
    return skip_values(c, kv->type, 1, 0, kv->key, err);
}

/* ---- tensor infos ---- */

static int read_tensor_info(Cur *c, GgufTensor *t, PifiErr *err) {
    const uint8_t *s;
    uint64_t len;
    uint32_t nd, type;
    char *name = NULL;
    if (rd_str(c, &s, &len, "tensor name", err) || copy_name(c, s, len, "tensor name", &name, err))
        return -1;
    t->name = name;
    t->file = c->path;
    if (rd_u32(c, &nd, "tensor n_dims", err)) return -1;
    if (nd > GGUF_MAX_DIMS)
        return pifi_errf(err, "%s: tensor '%s' has %" PRIu32 " dims, at most %d are allowed",
                         c->path, name, nd, GGUF_MAX_DIMS);
    t->n_dims = (int)nd;
    t->numel = 1;
    for (int i = 0; i < GGUF_MAX_DIMS; i++) {
        uint64_t d = 1;
        if (i < t->n_dims && rd_u64(c, &d, "tensor dim", err)) return -1;
        if (d == 0 || d > (uint64_t)INT64_MAX / (uint64_t)t->numel)
            return pifi_errf(err, "%s: tensor '%s' has bad dim ne[%d] = %" PRIu64
                                  " (zero, or too many elements)",
                             c->path, name, i, d);
        t->ne[i] = (int64_t)d;
        t->numel *= (int64_t)d;
    }
    if (rd_u32(c, &type, "tensor type", err) || rd_u64(c, &t->offset, "tensor offset", err))
        return -1;
    int64_t bs = gguf_type_block_size((GgmlType)type), bb = gguf_type_block_bytes((GgmlType)type);
    if (bs == 0)
        return pifi_errf(err, "%s: tensor '%s' has unknown ggml type %" PRIu32, c->path, name,
                         type);
    t->type = (GgmlType)type;
    if (t->ne[0] % bs != 0)
        return pifi_errf(err, "%s: tensor '%s' (%s): ne[0] = %" PRId64
                              " is not a multiple of the block size %" PRId64,
                         c->path, name, gguf_type_name(t->type), t->ne[0], bs);
    /* nbytes = numel / bs * bb; numel/bs is exact since bs divides ne[0]. */
    uint64_t blocks = (uint64_t)(t->numel / bs);
    if (blocks > UINT64_MAX / (uint64_t)bb)
        return pifi_errf(err, "%s: tensor '%s' byte size overflows", c->path, name);
    t->nbytes = blocks * (uint64_t)bb;
    return 0;
}

/* ---- sorting and lookup ---- */

static int cmp_kv(const void *a, const void *b) {
    return strcmp((*(const GgufKV *const *)a)->key, (*(const GgufKV *const *)b)->key);
}

static int cmp_tensor_name(const void *a, const void *b) {
    return strcmp((*(const GgufTensor *const *)a)->name, (*(const GgufTensor *const *)b)->name);
}

static int cmp_tensor_offset(const void *a, const void *b) {
    uint64_t x = (*(const GgufTensor *const *)a)->offset;
    uint64_t y = (*(const GgufTensor *const *)b)->offset;
    return x < y ? -1 : x > y;
}

static const GgufKV *find_kv(const GgufFile *g, const char *key) {
    GgufKV probe = {.key = (char *)key};
    const GgufKV *pp = &probe;
    const GgufKV **hit = bsearch(&pp, g->kv_by_key, (size_t)g->n_kv, sizeof *g->kv_by_key, cmp_kv);
    return hit ? *hit : NULL;
}

/* ---- opening ---- */

static int read_alignment(GgufFile *g, PifiErr *err) {
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    const GgufKV *kv = find_kv(g, "general.alignment");
    if (!kv) return 0;
    if (kv->type != GGUF_TYPE_UINT32)
        return pifi_errf(err, "%s: metadata 'general.alignment' is %s, expected UINT32", g->path,
                         gguf_value_type_name(kv->type));
    uint32_t a = le32(kv->raw);
    if (a == 0 || (a & (a - 1)) != 0)
        return pifi_errf(err, "%s: general.alignment = %" PRIu32 " is not a power of two",
                         g->path, a);
    g->alignment = a;
    return 0;
}

static int place_tensors(GgufFile *g, PifiErr *err) {
    uint64_t size = g->map.size;
    for (int64_t i = 0; i < g->n_tensors; i++) {
        GgufTensor *t = &g->tensors[i];
        if (t->offset % g->alignment != 0)
            return pifi_errf(err, "%s: tensor '%s' offset %" PRIu64
                                  " is not a multiple of the alignment %" PRIu64,
                             g->path, t->name, t->offset, g->alignment);
        if (g->data_offset > size || t->offset > size - g->data_offset ||
            t->nbytes > size - g->data_offset - t->offset)
            return pifi_errf(err, "%s: tensor '%s' data (offset %" PRIu64 ", %" PRIu64
                                  " bytes) lies outside the file",
                             g->path, t->name, t->offset, t->nbytes);
        t->data = g->map.data + g->data_offset + t->offset;
    }
    /* Overlaps: sort by offset, compare neighbours (reuses t_by_name). */
    const GgufTensor **by_off = g->t_by_name;
    qsort(by_off, (size_t)g->n_tensors, sizeof *by_off, cmp_tensor_offset);
    for (int64_t i = 1; i < g->n_tensors; i++)
        if (by_off[i - 1]->offset + by_off[i - 1]->nbytes > by_off[i]->offset)
            return pifi_errf(err, "%s: tensors '%s' and '%s' overlap", g->path, by_off[i - 1]->name,
                             by_off[i]->name);
    qsort(by_off, (size_t)g->n_tensors, sizeof *by_off, cmp_tensor_name);
    for (int64_t i = 1; i < g->n_tensors; i++)
        if (strcmp(by_off[i - 1]->name, by_off[i]->name) == 0)
            return pifi_errf(err, "%s: duplicate tensor name '%s'", g->path, by_off[i]->name);
    return 0;
}

static int parse(GgufFile *g, PifiErr *err) {
    Cur c = {g->map.data, g->map.size, 0, g->path};
    uint64_t n_tensors, n_kv;
    if (g->map.size < 4 || memcmp(g->map.data, "GGUF", 4) != 0)
        return pifi_errf(err, "%s: not a GGUF file (no \"GGUF\" magic)", g->path);
    c.pos = 4;
    if (rd_u32(&c, &g->version, "version", err)) return -1;
    if (g->version == 1)
        return pifi_errf(err, "%s: GGUF version 1 is not supported (only 2 and 3); "
                              "re-convert the model with a current llama.cpp", g->path);
    if (g->version != 2 && g->version != 3) {
        if ((g->version & 0xffff) == 0)
            return pifi_errf(err, "%s: big-endian GGUF files are not supported", g->path);
        return pifi_errf(err, "%s: unsupported GGUF version %" PRIu32 " (only 2 and 3)", g->path,
                         g->version);
    }
    if (rd_u64(&c, &n_tensors, "tensor count", err) || rd_u64(&c, &n_kv, "metadata count", err))
        return -1;
    /* A tensor info takes at least 24 bytes, a key/value at least 13. */
    uint64_t left = c.size - c.pos;
    if (n_tensors > left / 24 || n_kv > left / 13 || n_tensors * 24 + n_kv * 13 > left)
        return pifi_errf(err, "%s: %" PRIu64 " tensors and %" PRIu64
                              " metadata entries cannot fit in a %" PRIu64 "-byte file",
                         g->path, n_tensors, n_kv, c.size);
    g->n_kv = (int64_t)n_kv;
    g->n_tensors = (int64_t)n_tensors;
    g->kv = pifi_calloc(n_kv ? n_kv : 1, sizeof *g->kv, err);
    g->kv_by_key = pifi_calloc(n_kv ? n_kv : 1, sizeof *g->kv_by_key, err);
    g->tensors = pifi_calloc(n_tensors ? n_tensors : 1, sizeof *g->tensors, err);
    g->t_by_name = pifi_calloc(n_tensors ? n_tensors : 1, sizeof *g->t_by_name, err);
    if (!g->kv || !g->kv_by_key || !g->tensors || !g->t_by_name) return -1;

    for (int64_t i = 0; i < g->n_kv; i++) {
        uint64_t start = c.pos;
        if (read_kv(&c, &g->kv[i], err)) return -1;
        g->kv[i].rec = c.p + start;
        g->kv[i].rec_len = c.pos - start;
        g->kv_by_key[i] = &g->kv[i];
    }
    qsort(g->kv_by_key, n_kv, sizeof *g->kv_by_key, cmp_kv);
    for (int64_t i = 1; i < g->n_kv; i++)
        if (strcmp(g->kv_by_key[i - 1]->key, g->kv_by_key[i]->key) == 0)
            return pifi_errf(err, "%s: duplicate metadata key '%s'", g->path, g->kv_by_key[i]->key);
    if (read_alignment(g, err)) return -1;

    for (int64_t i = 0; i < g->n_tensors; i++) {
        if (read_tensor_info(&c, &g->tensors[i], err)) return -1;
        g->t_by_name[i] = &g->tensors[i];
    }
    g->data_offset = c.pos + (g->alignment - c.pos % g->alignment) % g->alignment;
    return place_tensors(g, err);
}

int gguf_open(GgufFile **out, const char *path, PifiErr *err) {
    *out = NULL;
    GgufFile *g = pifi_calloc(1, sizeof *g, err);
    if (!g) return -1;
    g->path = strdup(path);
    if (!g->path) {
        free(g);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: out of memory", path);
    }
    if (pifi_map_open(&g->map, path, err) || parse(g, err)) {
        gguf_close(g);
        return -1;
    }
    *out = g;
    return 0;
}

void gguf_close(GgufFile *g) {
    if (!g) return;
    if (g->kv) {
        for (int64_t i = 0; i < g->n_kv; i++) {
            free(g->kv[i].key);
            free(g->kv[i].str);
            free(g->kv[i].strs);
            free(g->kv[i].lens);
            free(g->kv[i].strs_buf);
        }
    }
    if (g->tensors)
        for (int64_t i = 0; i < g->n_tensors; i++) free((char *)g->tensors[i].name);
    free(g->kv);
    free(g->kv_by_key);
    free(g->tensors);
    free(g->t_by_name);
    pifi_map_close(&g->map);
    free(g->path);
    free(g);
}

const char *gguf_path(const GgufFile *g) { return g->path; }
uint32_t gguf_version(const GgufFile *g) { return g->version; }
uint64_t gguf_alignment(const GgufFile *g) { return g->alignment; }
uint64_t gguf_data_offset(const GgufFile *g) { return g->data_offset; }

/* ---- metadata getters ---- */

int64_t gguf_kv_count(const GgufFile *g) { return g->n_kv; }

const char *gguf_kv_key(const GgufFile *g, int64_t i) {
    return i >= 0 && i < g->n_kv ? g->kv[i].key : NULL;
}

GgufValueType gguf_kv_type(const GgufFile *g, int64_t i) {
    return i >= 0 && i < g->n_kv ? g->kv[i].type : GGUF_TYPE_COUNT;
}

int gguf_write_metadata(const GgufFile *g, const char *prefix, const char *path, PifiErr *err) {
    uint64_t n = 0, bytes = 24;
    for (int64_t i = 0; i < g->n_kv; i++)
        if (!strncmp(g->kv[i].key, prefix, strlen(prefix)) || !strcmp(g->kv[i].key, "general.architecture"))
            n++, bytes += g->kv[i].rec_len;
    uint8_t *buf = pifi_malloc(bytes, err);
    if (!buf) return -1;
    uint8_t *p = buf;
    uint32_t version = g->version;
    uint64_t zero = 0;
    memcpy(p, "GGUF", 4), p += 4; /* little-endian, as the file read */
    memcpy(p, &version, 4), p += 4;
    memcpy(p, &zero, 8), p += 8;
    memcpy(p, &n, 8), p += 8;
    for (int64_t i = 0; i < g->n_kv; i++)
        if (!strncmp(g->kv[i].key, prefix, strlen(prefix)) || !strcmp(g->kv[i].key, "general.architecture"))
            memcpy(p, g->kv[i].rec, g->kv[i].rec_len), p += g->kv[i].rec_len;
    int rc = pifi_write_file_atomic(path, buf, bytes, err);
    free(buf);
    return rc;
}

int64_t gguf_find_key(const GgufFile *g, const char *key) {
    const GgufKV *kv = find_kv(g, key);
    return kv ? kv - g->kv : -1;
}

static const GgufKV *get_kv(const GgufFile *g, const char *key, PifiErr *err) {
    const GgufKV *kv = find_kv(g, key);
    if (!kv) pifi_errf(err, "%s: missing metadata key '%s'", g->path, key);
    return kv;
}

/* One number of type t at p: kind 0 signed (*i), 1 unsigned or bool (*u),
 * 2 float (*d); -1 if t is not a number. */
static int num_read(GgufValueType t, const uint8_t *p, int64_t *i, uint64_t *u, double *d) {
    switch (t) {
    case GGUF_TYPE_UINT8: case GGUF_TYPE_BOOL: *u = p[0]; return 1;
    case GGUF_TYPE_UINT16: *u = (uint64_t)p[0] | (uint64_t)p[1] << 8; return 1;
    case GGUF_TYPE_UINT32: *u = le32(p); return 1;
    case GGUF_TYPE_UINT64: *u = le64(p); return 1;
    case GGUF_TYPE_INT8: *i = (int8_t)p[0]; return 0;
    case GGUF_TYPE_INT16: *i = (int16_t)(uint16_t)(p[0] | p[1] << 8); return 0;
    case GGUF_TYPE_INT32: *i = (int32_t)le32(p); return 0;
    case GGUF_TYPE_INT64: *i = (int64_t)le64(p); return 0;
    case GGUF_TYPE_FLOAT32: {
        uint32_t v = le32(p);
        float f;
        memcpy(&f, &v, 4);
        *d = f;
        return 2;
    }
    case GGUF_TYPE_FLOAT64: {
        uint64_t v = le64(p);
        memcpy(d, &v, 8);
        return 2;
    }
    default: return -1;
    }
}

static int type_err(const GgufFile *g, const GgufKV *kv, const char *want, PifiErr *err) {
    if (kv->type == GGUF_TYPE_ARRAY)
        return pifi_errf(err, "%s: metadata '%s' is an ARRAY of %s, expected %s", g->path, kv->key,
                         gguf_value_type_name(kv->elem), want);
    return pifi_errf(err, "%s: metadata '%s' is %s, expected %s", g->path, kv->key,
                     gguf_value_type_name(kv->type), want);
}

/* An integer value within [lo, hi] (hi as unsigned so UINT64 fits). */
static int get_int(const GgufFile *g, const char *key, int64_t lo, uint64_t hi, int64_t *si,
                   uint64_t *ui, PifiErr *err) {
    const GgufKV *kv = get_kv(g, key, err);
    if (!kv) return -1;
    int64_t i = 0;
    uint64_t u = 0;
    double d;
    int kind = kv->type == GGUF_TYPE_BOOL ? -1 : num_read(kv->type, kv->raw, &i, &u, &d);
    if (kind != 0 && kind != 1) return type_err(g, kv, "an integer", err);
    if (kind == 0 && (i < lo || (i > 0 && (uint64_t)i > hi)))
        return pifi_errf(err, "%s: metadata '%s' = %" PRId64 " is out of range", g->path, key, i);
    if (kind == 1 && u > hi)
        return pifi_errf(err, "%s: metadata '%s' = %" PRIu64 " is out of range", g->path, key, u);
    if (kind == 1) i = (int64_t)u; /* in range of every caller's type */
    if (kind == 0) u = (uint64_t)i;
    if (si) *si = i;
    if (ui) *ui = u;
    return 0;
}

int gguf_get_u32(const GgufFile *g, const char *key, uint32_t *out, PifiErr *err) {
    uint64_t u;
    if (get_int(g, key, 0, UINT32_MAX, NULL, &u, err)) return -1;
    *out = (uint32_t)u;
    return 0;
}

int gguf_get_i32(const GgufFile *g, const char *key, int32_t *out, PifiErr *err) {
    int64_t i;
    if (get_int(g, key, INT32_MIN, INT32_MAX, &i, NULL, err)) return -1;
    *out = (int32_t)i;
    return 0;
}

int gguf_get_u64(const GgufFile *g, const char *key, uint64_t *out, PifiErr *err) {
    return get_int(g, key, 0, UINT64_MAX, NULL, out, err);
}

int gguf_get_i64(const GgufFile *g, const char *key, int64_t *out, PifiErr *err) {
    return get_int(g, key, INT64_MIN, INT64_MAX, out, NULL, err);
}

int gguf_get_f64(const GgufFile *g, const char *key, double *out, PifiErr *err) {
    const GgufKV *kv = get_kv(g, key, err);
    if (!kv) return -1;
    int64_t i;
    uint64_t u;
    if (kv->type != GGUF_TYPE_FLOAT32 && kv->type != GGUF_TYPE_FLOAT64)
        return type_err(g, kv, "FLOAT32 or FLOAT64", err);
    num_read(kv->type, kv->raw, &i, &u, out);
    return 0;
}

int gguf_get_f32(const GgufFile *g, const char *key, float *out, PifiErr *err) {
    double d;
    if (gguf_get_f64(g, key, &d, err)) return -1;
    *out = (float)d;
    return 0;
}

int gguf_get_bool(const GgufFile *g, const char *key, int *out, PifiErr *err) {
    const GgufKV *kv = get_kv(g, key, err);
    if (!kv) return -1;
    if (kv->type != GGUF_TYPE_BOOL) return type_err(g, kv, "BOOL", err);
    *out = kv->raw[0];
    return 0;
}

int gguf_get_str(const GgufFile *g, const char *key, const char **out, uint64_t *len,
                 PifiErr *err) {
    const GgufKV *kv = get_kv(g, key, err);
    if (!kv) return -1;
    if (kv->type != GGUF_TYPE_STRING) return type_err(g, kv, "STRING", err);
    *out = kv->str;
    if (len) *len = kv->str_len;
    return 0;
}

static const GgufKV *get_arr(const GgufFile *g, const char *key, PifiErr *err) {
    const GgufKV *kv = get_kv(g, key, err);
    if (kv && kv->type != GGUF_TYPE_ARRAY) {
        type_err(g, kv, "ARRAY", err);
        return NULL;
    }
    return kv;
}

int gguf_get_arr_info(const GgufFile *g, const char *key, GgufValueType *elem, uint64_t *n,
                      PifiErr *err) {
    const GgufKV *kv = get_arr(g, key, err);
    if (!kv) return -1;
    if (elem) *elem = kv->elem;
    if (n) *n = kv->n;
    return 0;
}

int gguf_get_arr_str(const GgufFile *g, const char *key, uint64_t *n, const char *const **strs,
                     const uint64_t **lens, PifiErr *err) {
    const GgufKV *kv = get_arr(g, key, err);
    if (!kv) return -1;
    if (kv->elem != GGUF_TYPE_STRING) return type_err(g, kv, "an ARRAY of STRING", err);
    *n = kv->n;
    *strs = (const char *const *)kv->strs;
    if (lens) *lens = kv->lens;
    return 0;
}

int gguf_get_arr_data(const GgufFile *g, const char *key, GgufValueType *elem, uint64_t *n,
                      const void **data, PifiErr *err) {
    const GgufKV *kv = get_arr(g, key, err);
    if (!kv) return -1;
    if (!scalar_size(kv->elem)) return type_err(g, kv, "an ARRAY of numbers", err);
    *elem = kv->elem;
    *n = kv->n;
    *data = kv->raw;
    return 0;
}

static const GgufKV *get_num_arr(const GgufFile *g, const char *key, uint64_t n, PifiErr *err) {
    const GgufKV *kv = get_arr(g, key, err);
    if (!kv) return NULL;
    if (!scalar_size(kv->elem)) {
        type_err(g, kv, "an ARRAY of numbers", err);
        return NULL;
    }
    if (kv->n != n) {
        pifi_errf(err, "%s: metadata '%s' has %" PRIu64 " elements, expected %" PRIu64, g->path,
                  key, kv->n, n);
        return NULL;
    }
    return kv;
}

int gguf_get_arr_i64(const GgufFile *g, const char *key, int64_t *dst, uint64_t n, PifiErr *err) {
    const GgufKV *kv = get_num_arr(g, key, n, err);
    if (!kv) return -1;
    uint64_t sz = scalar_size(kv->elem);
    for (uint64_t k = 0; k < n; k++) {
        int64_t i = 0;
        uint64_t u = 0;
        double d;
        int kind = num_read(kv->elem, kv->raw + k * sz, &i, &u, &d);
        if (kind == 2) return type_err(g, kv, "an ARRAY of integers", err);
        if (kind == 1 && u > INT64_MAX)
            return pifi_errf(err, "%s: metadata '%s'[%" PRIu64 "] = %" PRIu64 " is out of range",
                             g->path, key, k, u);
        dst[k] = kind == 1 ? (int64_t)u : i;
    }
    return 0;
}

int gguf_get_arr_f32(const GgufFile *g, const char *key, float *dst, uint64_t n, PifiErr *err) {
    const GgufKV *kv = get_num_arr(g, key, n, err);
    if (!kv) return -1;
    uint64_t sz = scalar_size(kv->elem);
    for (uint64_t k = 0; k < n; k++) {
        int64_t i = 0;
        uint64_t u = 0;
        double d = 0;
        int kind = num_read(kv->elem, kv->raw + k * sz, &i, &u, &d);
        dst[k] = kind == 0 ? (float)i : kind == 1 ? (float)u : (float)d;
    }
    return 0;
}

/* ---- tensors ---- */

int64_t gguf_tensor_count(const GgufFile *g) { return g->n_tensors; }

const GgufTensor *gguf_tensor_at(const GgufFile *g, int64_t i) {
    return i >= 0 && i < g->n_tensors ? &g->tensors[i] : NULL;
}

int gguf_find_tensor(const GgufFile *g, const char *name, const GgufTensor **out) {
    GgufTensor probe = {.name = name};
    const GgufTensor *pp = &probe;
    const GgufTensor **hit =
        bsearch(&pp, g->t_by_name, (size_t)g->n_tensors, sizeof *g->t_by_name, cmp_tensor_name);
    if (!hit) return 1;
    *out = *hit;
    return 0;
}

int gguf_get_tensor(const GgufFile *g, const char *name, const GgufTensor **out, PifiErr *err) {
    if (gguf_find_tensor(g, name, out) != 0)
        return pifi_errf(err, "%s: missing tensor '%s'", g->path, name);
    return 0;
}
