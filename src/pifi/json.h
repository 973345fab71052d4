/* json.h: loading JSON files with cJSON, and typed field access that reports
 * "<file>: <key>: <problem>" on missing or mistyped fields. */
#ifndef PIFI_JSON_H
#define PIFI_JSON_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "pifi/err.h"

/* Parse a whole file. Invalid JSON reports the line and column; bytes that
 * are not UTF-8 (RFC 8259) are refused too. */
int pifi_json_load(const char *path, size_t max_bytes, cJSON **out, PifiErr *err);
/* Parse a buffer of n bytes (not NUL-terminated necessarily); what names it in errors. */
int pifi_json_parse(const char *buf, size_t n, const char *what, cJSON **out, PifiErr *err);
/* -1 with "<what>: key "k" appears twice in one object" when some object of
 * root repeats a key (cJSON reads the first, Python's json the last: the
 * file is ambiguous). For readers without a more specific check. */
int pifi_json_unique_keys(const cJSON *root, const char *what, PifiErr *err);

/* Typed getters. If the key is missing: return 1 (and leave *out) when
 * required == 0, or fail when required != 0. Wrong type always fails. */
int pifi_json_int(const cJSON *obj, const char *key, int required, int64_t *out, const char *file,
                  PifiErr *err);
int pifi_json_double(const cJSON *obj, const char *key, int required, double *out, const char *file,
                     PifiErr *err);
int pifi_json_bool(const cJSON *obj, const char *key, int required, int *out, const char *file,
                   PifiErr *err);
/* *out points into obj (not copied). */
int pifi_json_string(const cJSON *obj, const char *key, int required, const char **out,
                     const char *file, PifiErr *err);

#endif
