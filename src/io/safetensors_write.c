/* safetensors_write.c: writing a .safetensors file.
 *
 * Same layout as the reference implementation: an 8-byte little-endian
 * header length, the JSON header ("__metadata__" first, then the tensors in
 * the order given, data_offsets contiguous from 0) padded with spaces to a
 * multiple of 8 bytes, then the tensor bytes back to back. Everything is
 * checked before the file is created, and the file is written atomically, so
 * a failure never leaves anything at the final path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/fileio.h"
#include "pifi/safetensors.h"

static int cmp_str_ptr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sizes each tensor (nbytes[n]) and rejects bad names, dtypes and shapes. */
static int check_tensors(const char *path, const StWriteTensor *ts, int n, uint64_t *nbytes,
                         PifiErr *err) {
    for (int i = 0; i < n; i++) {
        const StWriteTensor *t = &ts[i];
        if (!t->name || !t->name[0] || strcmp(t->name, "__metadata__") == 0)
            return pifi_errf(err, "%s: tensor %d has no usable name", path, i);
        if ((unsigned)t->dtype >= PIFI_DT_COUNT)
            return pifi_errf(err, "%s: tensor '%s' has an invalid dtype (%d)", path, t->name, (int)t->dtype);
        if (t->ndim < 0 || t->ndim > ST_MAX_DIMS)
            return pifi_errf(err, "%s: tensor '%s' has %d dims; 0 to %d are allowed", path, t->name,
                             t->ndim, ST_MAX_DIMS);
        int64_t numel = 1;
        for (int d = 0; d < t->ndim; d++) {
            int64_t v = t->shape[d];
            if (v < 0)
                return pifi_errf(err, "%s: tensor '%s' has negative dim %lld", path, t->name, (long long)v);
            if (v != 0 && numel > INT64_MAX / v)
                return pifi_errf(err, "%s: tensor '%s' has a shape whose element count overflows", path,
                                 t->name);
            numel *= v;
        }
        int64_t es = (int64_t)pifi_dtype_size(t->dtype);
        if (numel > INT64_MAX / es)
            return pifi_errf(err, "%s: tensor '%s' has a shape whose size in bytes overflows", path,
                             t->name);
        nbytes[i] = (uint64_t)(numel * es);
        if (nbytes[i] > 0 && !t->data)
            return pifi_errf(err, "%s: tensor '%s' has no data", path, t->name);
    }
    const char **names = pifi_calloc((size_t)n, sizeof *names, err);
    if (!names) return -1;
    for (int i = 0; i < n; i++) names[i] = ts[i].name;
    qsort(names, (size_t)n, sizeof *names, cmp_str_ptr);
    for (int i = 1; i < n; i++) {
        if (strcmp(names[i], names[i - 1]) == 0) {
            pifi_errf(err, "%s: tensor '%s' is given twice", path, names[i]);
            free(names);
            return -1;
        }
    }
    free(names);
    return 0;
}

/* Adds a raw JSON integer (cJSON would print numbers as doubles). */
static int add_u64(cJSON *array, uint64_t v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    cJSON *num = cJSON_CreateRaw(buf);
    return num && cJSON_AddItemToArray(array, num) ? 0 : -1;
}

/* The header JSON, unpadded, as a heap string; NULL if out of memory. */
static char *build_header(const StWriteTensor *ts, int n, const uint64_t *nbytes, const cJSON *meta) {
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    int bad = 0;
    if (meta) {
        cJSON *copy = cJSON_Duplicate(meta, 1);
        bad |= !copy || !cJSON_AddItemToObject(root, "__metadata__", copy);
    }
    uint64_t off = 0;
    for (int i = 0; i < n && !bad; i++) {
        cJSON *t = cJSON_AddObjectToObject(root, ts[i].name);
        bad |= !t || !cJSON_AddStringToObject(t, "dtype", pifi_dtype_name(ts[i].dtype));
        cJSON *shape = bad ? NULL : cJSON_AddArrayToObject(t, "shape");
        cJSON *offs = bad ? NULL : cJSON_AddArrayToObject(t, "data_offsets");
        bad |= !shape || !offs;
        for (int d = 0; d < ts[i].ndim && !bad; d++) bad |= add_u64(shape, (uint64_t)ts[i].shape[d]);
        if (!bad) bad = add_u64(offs, off) || add_u64(offs, off + nbytes[i]);
        off += nbytes[i];
    }
    char *text = bad ? NULL : cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}

int st_write(const char *path, const StWriteTensor *tensors, int n, const cJSON *metadata,
             PifiErr *err) {
    if (n < 0 || (n > 0 && !tensors)) return pifi_errf(err, "%s: bad tensor list", path);
    if (metadata) {
        const cJSON *it;
        if (!cJSON_IsObject(metadata))
            return pifi_errf(err, "%s: metadata must be an object of strings", path);
        cJSON_ArrayForEach(it, metadata) {
            if (!cJSON_IsString(it))
                return pifi_errf(err, "%s: metadata value for '%s' is not a string", path, it->string);
        }
    }
    uint64_t *nbytes = pifi_calloc((size_t)n, sizeof *nbytes, err);
    if (!nbytes) return -1;
    if (check_tensors(path, tensors, n, nbytes, err)) {
        free(nbytes);
        return -1;
    }
    char *header = build_header(tensors, n, nbytes, metadata);
    if (!header) {
        free(nbytes);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: out of memory building the header", path);
    }
    size_t hlen = strlen(header);
    size_t pad = (8 - hlen % 8) % 8;
    uint8_t prefix[8];
    uint64_t total = (uint64_t)hlen + pad;
    for (int i = 0; i < 8; i++) prefix[i] = (uint8_t)(total >> (8 * i));
    static const char spaces[] = "       "; /* 7: the most padding needed */

    PifiAtomicFile f;
    int rc = pifi_atomic_open(&f, path, err);
    if (rc == 0) {
        rc = pifi_atomic_write(&f, prefix, 8, err) || pifi_atomic_write(&f, header, hlen, err) ||
             pifi_atomic_write(&f, spaces, pad, err);
        for (int i = 0; i < n && rc == 0; i++)
            rc = pifi_atomic_write(&f, tensors[i].data, (size_t)nbytes[i], err);
        if (rc) pifi_atomic_abort(&f);
        else rc = pifi_atomic_commit(&f, err);
    }
    cJSON_free(header);
    free(nbytes);
    return rc ? -1 : 0;
}
