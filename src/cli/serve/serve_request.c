/* serve_request.c: a request body into a ServeRequest (serve_request.h).
 * First one pass over the raw bytes, before any parser: valid UTF-8, no
 * nesting deeper than SERVE_JSON_MAX_DEPTH (cJSON would recurse), no \u0000
 * (a C string would end there). Then cJSON, then the fields. */
#include "cli/serve/serve_request.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

/* The raw body's checks: UTF-8, depth, NUL escapes. */
static int prescan(const char *s, size_t len, ServeError *e) {
    size_t bad;
    if (!utf8_valid(s, len, &bad)) return serve_errf(e, 400, SERVE_E_VALIDATION, "body is not UTF-8 (byte %zu)", bad);
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == 0) return serve_errf(e, 400, SERVE_E_VALIDATION, "body holds a NUL byte (byte %zu)", i);
        if (in_str) {
            if (c == '\\') {
                if (i + 5 < len && s[i + 1] == 'u' && memcmp(s + i + 2, "0000", 4) == 0)
                    return serve_errf(e, 400, SERVE_E_VALIDATION, "a string holds \\u0000 (byte %zu)", i);
                i++; /* the escaped character */
            } else if (c == '"') {
                in_str = 0;
            }
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > SERVE_JSON_MAX_DEPTH)
                return serve_errf(e, 400, SERVE_E_VALIDATION, "JSON nested deeper than %d", SERVE_JSON_MAX_DEPTH);
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return 0;
}

/* An optional boolean field: absent or null keeps *out. */
static int get_bool(const cJSON *root, const char *key, int *out, ServeError *e) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsBool(v)) return serve_errf(e, 400, SERVE_E_VALIDATION, "`%s` must be true or false", key);
    *out = cJSON_IsTrue(v);
    return 0;
}

static int add_input(ServeRequest *r, const cJSON *t, const cJSON *p, const ServeLimits *lim, ServeError *e) {
    size_t bytes = strlen(t->valuestring) + (p ? strlen(p->valuestring) : 0);
    if (bytes > lim->max_input_bytes)
        return serve_errf(e, 413, SERVE_E_VALIDATION, "input %d has %zu bytes, more than the maximum %zu", r->n + 1,
                          bytes, lim->max_input_bytes);
    if (!(r->text[r->n] = strdup(t->valuestring))) return serve_errf(e, 500, SERVE_E_BACKEND, "out of memory");
    if (p && !(r->pair[r->n] = strdup(p->valuestring))) {
        free(r->text[r->n]);
        return serve_errf(e, 500, SERVE_E_BACKEND, "out of memory");
    }
    r->n++;
    return 0;
}

/* An element of a batch or a whole single input: "text", ["text"] or
 * ["text", "pair"] (pairs_ok: only for /predict). */
static int sequence(const cJSON *v, int pairs_ok, const cJSON **t, const cJSON **p, ServeError *e) {
    *p = NULL;
    if (cJSON_IsString(v)) {
        *t = v;
        return 0;
    }
    int n = cJSON_GetArraySize(v);
    if (!pairs_ok || !cJSON_IsArray(v) || n < 1 || n > 2)
        return serve_errf(e, 400, SERVE_E_VALIDATION, "%s", pairs_ok ? "an input must be a string or [string, string]"
                                                                     : "an input must be a string");
    *t = cJSON_GetArrayItem(v, 0);
    if (n == 2) *p = cJSON_GetArrayItem(v, 1);
    if (!cJSON_IsString(*t) || (*p && !cJSON_IsString(*p)))
        return serve_errf(e, 400, SERVE_E_VALIDATION, "an input must be a string or [string, string]");
    return 0;
}

static int read_inputs(ServeRequest *r, const cJSON *in, const ServeLimits *lim, ServeError *e) {
    const int predict = r->kind == SERVE_PREDICT;
    const cJSON *items = NULL; /* the batch's elements, or NULL for one input */
    if (cJSON_IsArray(in)) {
        const cJSON *first = in->child;
        if (!first) return serve_errf(e, 400, SERVE_E_VALIDATION, "`inputs` must not be empty");
        /* /predict: ["a"] and ["a", "b"] are one input; [[...], ...] a batch */
        if (!predict || cJSON_IsArray(first)) items = in;
    } else if (!cJSON_IsString(in)) {
        return serve_errf(e, 400, SERVE_E_VALIDATION, "`inputs` must be a string or an array%s",
                          predict ? " (a pair, or a batch of [text] and [text, pair])" : " of strings");
    }
    int n = items ? cJSON_GetArraySize(items) : 1;
    if (n > lim->max_inputs)
        return serve_errf(e, 413, SERVE_E_VALIDATION, "batch size %d > maximum allowed batch size %d", n, lim->max_inputs);
    r->batch = items != NULL;
    r->text = calloc((size_t)n, sizeof *r->text);
    r->pair = calloc((size_t)n, sizeof *r->pair);
    if (!r->text || !r->pair) return serve_errf(e, 500, SERVE_E_BACKEND, "out of memory");
    int pairs = 0;
    const cJSON *v = items ? items->child : in;
    for (int i = 0; i < n; i++, v = v->next) {
        const cJSON *t = NULL, *p = NULL;
        if (sequence(v, predict, &t, &p, e)) {
            if (items) snprintf(e->msg + strlen(e->msg), sizeof e->msg - strlen(e->msg), " (input %d)", i + 1);
            return -1;
        }
        if (add_input(r, t, p, lim, e)) return -1;
        pairs += p != NULL;
    }
    if (pairs && pairs != n)
        return serve_errf(e, 422, SERVE_E_VALIDATION, "a batch mixes texts and pairs: send them in separate requests");
    if (!pairs) {
        free(r->pair);
        r->pair = NULL;
    }
    return 0;
}

int serve_request_parse(ServeRequest *r, ServeKind kind, const char *body, size_t len, const ServeLimits *lim,
                        ServeError *e) {
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->normalize = 1;
    if (len == 0) return serve_errf(e, 400, SERVE_E_VALIDATION, "empty body: expected a JSON object");
    if (prescan(body, len, e)) return -1;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (!root) {
        size_t at = end && end >= body && end <= body + len ? (size_t)(end - body) : 0;
        return serve_errf(e, 400, SERVE_E_VALIDATION, "invalid JSON (near byte %zu)", at);
    }
    int rc = -1;
    for (size_t i = (size_t)(end - body); i < len; i++) /* only white space may follow */
        if (!strchr(" \t\r\n", body[i])) {
            serve_errf(e, 400, SERVE_E_VALIDATION, "invalid JSON: data after the value (byte %zu)", i);
            goto done;
        }
    if (!cJSON_IsObject(root)) {
        serve_errf(e, 400, SERVE_E_VALIDATION, "the body must be a JSON object");
        goto done;
    }
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(root, "inputs");
    if (!in) {
        serve_errf(e, 400, SERVE_E_VALIDATION, "missing field `inputs`");
        goto done;
    }
    if (get_bool(root, "truncate", &r->truncate, e) ||
        (kind == SERVE_PREDICT && get_bool(root, "raw_scores", &r->raw_scores, e)) ||
        (kind == SERVE_EMBED && get_bool(root, "normalize", &r->normalize, e)) || read_inputs(r, in, lim, e))
        goto done;
    rc = 0;
done:
    cJSON_Delete(root);
    if (rc) serve_request_free(r);
    return rc;
}

void serve_request_free(ServeRequest *r) {
    for (int i = 0; i < r->n; i++) {
        free(r->text[i]);
        if (r->pair) free(r->pair[i]);
    }
    free(r->text);
    free(r->pair);
    r->text = r->pair = NULL;
    r->n = 0;
}
