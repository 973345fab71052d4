/* json.c: cJSON file loading with located errors, and typed getters. */
#include "pifi/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/fileio.h"
#include "core/utf8.h"

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first key that appears twice in one object of v (depth first), or NULL.
 * cJSON keeps the first of two equal keys, Python's json the last: a file
 * with both is ambiguous, so it is refused. */
static const char *duplicate_key(const cJSON *v) {
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v)) return NULL;
    size_t n = 0;
    for (const cJSON *c = v->child; c; c = c->next) n++;
    if (cJSON_IsObject(v) && n > 1) {
        const char **keys = malloc(n * sizeof *keys);
        if (keys) { /* out of memory: not checked */
            size_t i = 0;
            for (const cJSON *c = v->child; c; c = c->next) keys[i++] = c->string ? c->string : "";
            qsort(keys, n, sizeof *keys, cmp_str);
            const char *dup = NULL;
            for (i = 1; i < n && !dup; i++)
                if (strcmp(keys[i - 1], keys[i]) == 0) dup = keys[i];
            free(keys);
            if (dup) return dup;
        }
    }
    for (const cJSON *c = v->child; c; c = c->next) {
        const char *d = duplicate_key(c);
        if (d) return d;
    }
    return NULL;
}

int pifi_json_unique_keys(const cJSON *root, const char *what, PifiErr *err) {
    const char *dup = duplicate_key(root);
    return dup ? pifi_errf(err, "%s: key \"%s\" appears twice in one object", what, dup) : 0;
}

int pifi_json_parse(const char *buf, size_t n, const char *what, cJSON **out, PifiErr *err) {
    const char *end = NULL;
    *out = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, n, &end, 0);
    if (!root) {
        size_t off = end && end >= buf && end <= buf + n ? (size_t)(end - buf) : 0;
        int line = 1, col = 1;
        for (size_t i = 0; i < off; i++) {
            if (buf[i] == '\n') line++, col = 1;
            else col++;
        }
        return pifi_errf(err, "%s: invalid JSON at line %d, column %d", what, line, col);
    }
    size_t bad;
    if (!utf8_valid(buf, n, &bad)) {
        cJSON_Delete(root);
        int line = 1;
        for (size_t i = 0; i < bad; i++) line += buf[i] == '\n';
        return pifi_errf(err, "%s: not valid UTF-8 (line %d, byte %zu)", what, line, bad);
    }
    *out = root;
    return 0;
}

int pifi_json_load(const char *path, size_t max_bytes, cJSON **out, PifiErr *err) {
    char *buf;
    size_t n;
    if (pifi_read_file(path, max_bytes, &buf, &n, err)) return -1;
    int rc = pifi_json_parse(buf, n, path, out, err);
    free(buf);
    return rc;
}

static const cJSON *field(const cJSON *obj, const char *key, int required, const char *file,
                          PifiErr *err, int *rc) {
    const cJSON *it = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    if (!it || cJSON_IsNull(it)) {
        *rc = required ? pifi_errf(err, "%s: missing field \"%s\"", file, key) : 1;
        return NULL;
    }
    *rc = 0;
    return it;
}

int pifi_json_int(const cJSON *obj, const char *key, int required, int64_t *out, const char *file,
                  PifiErr *err) {
    int rc;
    const cJSON *it = field(obj, key, required, file, err, &rc);
    if (!it) return rc;
    double v = it->valuedouble;
    if (!cJSON_IsNumber(it) || v != floor(v) || fabs(v) > 9007199254740992.0)
        return pifi_errf(err, "%s: field \"%s\" must be an integer", file, key);
    *out = (int64_t)v;
    return 0;
}

int pifi_json_double(const cJSON *obj, const char *key, int required, double *out, const char *file,
                     PifiErr *err) {
    int rc;
    const cJSON *it = field(obj, key, required, file, err, &rc);
    if (!it) return rc;
    if (!cJSON_IsNumber(it)) return pifi_errf(err, "%s: field \"%s\" must be a number", file, key);
    *out = it->valuedouble;
    return 0;
}

int pifi_json_bool(const cJSON *obj, const char *key, int required, int *out, const char *file,
                   PifiErr *err) {
    int rc;
    const cJSON *it = field(obj, key, required, file, err, &rc);
    if (!it) return rc;
    if (!cJSON_IsBool(it)) return pifi_errf(err, "%s: field \"%s\" must be true or false", file, key);
    *out = cJSON_IsTrue(it);
    return 0;
}

int pifi_json_string(const cJSON *obj, const char *key, int required, const char **out,
                     const char *file, PifiErr *err) {
    int rc;
    const cJSON *it = field(obj, key, required, file, err, &rc);
    if (!it) return rc;
    if (!cJSON_IsString(it)) return pifi_errf(err, "%s: field \"%s\" must be a string", file, key);
    *out = it->valuestring;
    return 0;
}
