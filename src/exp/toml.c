/* toml.c: a strict parser of the TOML subset described in toml.h, into cJSON
 * plus a mirror tree of line numbers. Recursive only through arrays and
 * inline tables, bounded by TOML_MAX_DEPTH. */
#include "exp/toml.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

#define TOML_MAX_DEPTH 32

typedef struct {
    const char *s;    /* text */
    size_t n, i;      /* length, cursor */
    int line;         /* line of s[i], from 1 */
    const char *what; /* name for errors */
    PifiErr *err;
} Toml;

static int fail(Toml *t, const char *fmt, const char *arg) {
    char msg[512];
    snprintf(msg, sizeof msg, fmt, arg ? arg : "");
    return pifi_errf(t->err, "%s:%d: %s", t->what, t->line, msg);
}

static int peek(const Toml *t) { return t->i < t->n ? (unsigned char)t->s[t->i] : -1; }

static void skip_ws(Toml *t) {
    while (t->i < t->n && (t->s[t->i] == ' ' || t->s[t->i] == '\t')) t->i++;
}

static void skip_comment(Toml *t) {
    if (peek(t) == '#')
        while (t->i < t->n && t->s[t->i] != '\n') t->i++;
}

/* Whitespace, comments and newlines (inside arrays). */
static void skip_ws_nl(Toml *t) {
    for (;;) {
        skip_ws(t);
        skip_comment(t);
        if (peek(t) == '\n') {
            t->i++;
            t->line++;
        } else if (peek(t) == '\r' && t->i + 1 < t->n && t->s[t->i + 1] == '\n') {
            t->i += 2;
            t->line++;
        } else {
            return;
        }
    }
}

/* After a value or header: optional comment, then a newline or the end. */
static int end_of_line(Toml *t, const char *after) {
    skip_ws(t);
    skip_comment(t);
    if (t->i >= t->n) return 0;
    if (peek(t) == '\r' && t->i + 1 < t->n && t->s[t->i + 1] == '\n') t->i++;
    if (peek(t) != '\n') return fail(t, "unexpected text after %s", after);
    t->i++;
    t->line++;
    return 0;
}

static int is_bare(int c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A basic ("...") or literal ('...') one-line string into a heap buffer. */
static int parse_string(Toml *t, char **out) {
    int quote = peek(t);
    if (t->i + 2 < t->n && t->s[t->i + 1] == quote && t->s[t->i + 2] == quote)
        return fail(t, "multi-line strings are not supported in grid files%s", NULL);
    t->i++;
    size_t cap = 64, len = 0;
    char *b = malloc(cap);
    if (!b) return pifi_errk(t->err, PIFI_ERR_RUNTIME, "out of memory");
    for (;;) {
        if (len + 8 > cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) {
                free(b);
                return pifi_errk(t->err, PIFI_ERR_RUNTIME, "out of memory");
            }
            b = nb;
        }
        int c = peek(t);
        if (c < 0 || c == '\n' || c == '\r') {
            free(b);
            return fail(t, "unterminated string%s", NULL);
        }
        t->i++;
        if (c == quote) break;
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            free(b);
            return fail(t, "control character in a string%s", NULL);
        }
        if (c != '\\' || quote == '\'') {
            b[len++] = (char)c;
            continue;
        }
        int e = peek(t);
        t->i++;
        int simple = e == 'b' ? '\b' : e == 't' ? '\t' : e == 'n' ? '\n' : e == 'f' ? '\f' : e == 'r' ? '\r'
                   : e == '"' ? '"' : e == '\\' ? '\\' : 0;
        if (simple) {
            b[len++] = (char)simple;
        } else if (e == 'u' || e == 'U') {
            int digits = e == 'u' ? 4 : 8;
            uint32_t cp = 0;
            for (int k = 0; k < digits; k++) {
                int h = hexval(peek(t));
                if (h < 0) {
                    free(b);
                    return fail(t, "bad \\%s escape: expected hex digits", e == 'u' ? "u" : "U");
                }
                cp = cp * 16 + (uint32_t)h;
                t->i++;
            }
            if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
                free(b);
                return fail(t, "escape is not a Unicode scalar value%s", NULL);
            }
            len += (size_t)utf8_put((int32_t)cp, b + len);
        } else {
            free(b);
            return fail(t, "unknown escape sequence in a string%s", NULL);
        }
    }
    b[len] = 0;
    size_t bad;
    if (!utf8_valid(b, len, &bad)) {
        free(b);
        return fail(t, "string is not valid UTF-8%s", NULL);
    }
    *out = b;
    return 0;
}

static int parse_key(Toml *t, char **out) {
    int c = peek(t);
    if (c == '"' || c == '\'') {
        if (parse_string(t, out)) return -1;
    } else {
        size_t st = t->i;
        while (is_bare(peek(t))) t->i++;
        if (t->i == st) return fail(t, "expected a key%s", NULL);
        *out = strndup(t->s + st, t->i - st);
        if (!*out) return pifi_errk(t->err, PIFI_ERR_RUNTIME, "out of memory");
    }
    skip_ws(t);
    if (peek(t) == '.') {
        free(*out);
        return fail(t, "dotted keys are not supported in grid files; use a [table]%s", NULL);
    }
    return 0;
}

/* Decimal integer or float; everything else that starts like a value is refused. */
static int parse_number(Toml *t, cJSON **out) {
    size_t st = t->i;
    while (t->i < t->n && strchr("0123456789+-._eE", t->s[t->i]) && t->s[t->i]) t->i++;
    size_t len = t->i - st;
    if (len == 0 || len > 64 || is_bare(peek(t)) || peek(t) == ':')
        return fail(t, "invalid value (strings need quotes; dates, hex and inf/nan are not supported)%s", NULL);
    char buf[72];
    size_t k = 0;
    const char *p = t->s + st;
    int is_float = 0;
    for (size_t j = 0; j < len; j++) {
        if (p[j] == '_') {
            int ok = j > 0 && j + 1 < len && p[j - 1] >= '0' && p[j - 1] <= '9' && p[j + 1] >= '0' && p[j + 1] <= '9';
            if (!ok) return fail(t, "'_' must stand between digits%s", NULL);
            continue;
        }
        if (p[j] == '.' || p[j] == 'e' || p[j] == 'E') is_float = 1;
        buf[k++] = p[j];
    }
    buf[k] = 0;
    const char *d = buf + (buf[0] == '+' || buf[0] == '-');
    if (d[0] == '0' && d[1] >= '0' && d[1] <= '9') return fail(t, "leading zeros are not allowed: '%s'", buf);
    if (d[0] < '0' || d[0] > '9') return fail(t, "invalid number '%s'", buf);
    if (is_float) {
        const char *dot = strchr(d, '.');
        if (dot && (dot[1] < '0' || dot[1] > '9')) return fail(t, "invalid number '%s'", buf);
    }
    char *end;
    double v = strtod(buf, &end);
    if (*end || !isfinite(v)) return fail(t, "invalid number '%s'", buf);
    if (!is_float && fabs(v) > 9007199254740992.0) return fail(t, "integer '%s' is too large", buf);
    *out = cJSON_CreateNumber(v);
    return *out ? 0 : pifi_errk(t->err, PIFI_ERR_RUNTIME, "out of memory");
}

static int parse_value(Toml *t, cJSON **out, cJSON **mirror, int depth);

static int parse_array(Toml *t, cJSON **out, int depth) {
    t->i++; /* [ */
    cJSON *a = cJSON_CreateArray();
    if (!a) return pifi_errk(t->err, PIFI_ERR_RUNTIME, "out of memory");
    for (;;) {
        skip_ws_nl(t);
        if (peek(t) == ']') break;
        cJSON *v, *m = NULL;
        if (parse_value(t, &v, &m, depth + 1)) {
            cJSON_Delete(a);
            return -1;
        }
        cJSON_Delete(m);
        cJSON_AddItemToArray(a, v);
        skip_ws_nl(t);
        if (peek(t) == ',') {
            t->i++;
            continue;
        }
        if (peek(t) != ']') {
            cJSON_Delete(a);
            return fail(t, "expected ',' or ']' in an array%s", NULL);
        }
        break;
    }
    t->i++; /* ] */
    *out = a;
    return 0;
}

static int add_key(Toml *t, cJSON *table, cJSON *mirror, char *key, cJSON *v, cJSON *m) {
    if (cJSON_GetObjectItemCaseSensitive(table, key)) {
        int rc = fail(t, "duplicate key \"%s\"", key);
        free(key);
        cJSON_Delete(v);
        cJSON_Delete(m);
        return rc;
    }
    cJSON_AddItemToObject(table, key, v);
    cJSON_AddItemToObject(mirror, key, m ? m : cJSON_CreateNumber(t->line));
    free(key);
    return 0;
}

static int parse_inline_table(Toml *t, cJSON **out, cJSON **mirror, int depth) {
    t->i++; /* { */
    cJSON *o = cJSON_CreateObject(), *mo = cJSON_CreateObject();
    if (!o || !mo) {
        cJSON_Delete(o);
        cJSON_Delete(mo);
        return pifi_errk(t->err, PIFI_ERR_RUNTIME, "out of memory");
    }
    cJSON_AddNumberToObject(mo, "", t->line);
    skip_ws(t);
    if (peek(t) == '}') goto close;
    for (;;) {
        skip_ws(t);
        char *key;
        cJSON *v, *m = NULL;
        if (peek(t) == '\n' || peek(t) == '\r' || peek(t) < 0) {
            fail(t, "an inline table must fit on one line%s", NULL);
            goto fail;
        }
        if (parse_key(t, &key)) goto fail;
        skip_ws(t);
        if (peek(t) != '=') {
            free(key);
            fail(t, "expected '=' after a key%s", NULL);
            goto fail;
        }
        t->i++;
        skip_ws(t);
        if (parse_value(t, &v, &m, depth + 1)) {
            free(key);
            goto fail;
        }
        if (add_key(t, o, mo, key, v, m)) goto fail;
        skip_ws(t);
        if (peek(t) == ',') {
            t->i++;
            continue;
        }
        if (peek(t) == '}') break;
        fail(t, "expected ',' or '}' in an inline table (which must fit on one line)%s", NULL);
        goto fail;
    }
close:
    t->i++; /* } */
    *out = o;
    *mirror = mo;
    return 0;
fail:
    cJSON_Delete(o);
    cJSON_Delete(mo);
    return -1;
}

/* *mirror: set for inline tables (their key lines), else left NULL. */
static int parse_value(Toml *t, cJSON **out, cJSON **mirror, int depth) {
    if (depth > TOML_MAX_DEPTH) return fail(t, "values nested too deeply%s", NULL);
    int c = peek(t);
    if (c == '"' || c == '\'') {
        char *s;
        if (parse_string(t, &s)) return -1;
        *out = cJSON_CreateString(s);
        free(s);
        return *out ? 0 : pifi_errk(t->err, PIFI_ERR_RUNTIME, "out of memory");
    }
    if (c == '[') return parse_array(t, out, depth);
    if (c == '{') return parse_inline_table(t, out, mirror, depth);
    if (t->n - t->i >= 4 && !strncmp(t->s + t->i, "true", 4) && !is_bare(t->i + 4 < t->n ? t->s[t->i + 4] : ' ')) {
        t->i += 4;
        *out = cJSON_CreateTrue();
        return 0;
    }
    if (t->n - t->i >= 5 && !strncmp(t->s + t->i, "false", 5) && !is_bare(t->i + 5 < t->n ? t->s[t->i + 5] : ' ')) {
        t->i += 5;
        *out = cJSON_CreateFalse();
        return 0;
    }
    if (c < 0 || c == '\n' || c == '#') return fail(t, "expected a value after '='%s", NULL);
    return parse_number(t, out);
}

/* [name] or [[name]]: the table that the following keys go into. */
static int parse_header(Toml *t, cJSON *root, cJSON *rlines, cJSON **table, cJSON **mirror) {
    int line = t->line;
    t->i++;
    int array = peek(t) == '[';
    if (array) t->i++;
    skip_ws(t);
    char *key;
    if (parse_key(t, &key)) return -1;
    skip_ws(t);
    if (peek(t) != ']' || (array && (t->i + 1 >= t->n || t->s[t->i + 1] != ']'))) {
        free(key);
        return fail(t, "expected '%s' to close the table header", array ? "]]" : "]");
    }
    t->i += array ? 2 : 1;
    cJSON *existing = cJSON_GetObjectItemCaseSensitive(root, key);
    cJSON *em = cJSON_GetObjectItemCaseSensitive(rlines, key);
    cJSON *o = cJSON_CreateObject(), *mo = cJSON_CreateObject();
    if (!o || !mo) {
        free(key);
        cJSON_Delete(o);
        cJSON_Delete(mo);
        return pifi_errk(t->err, PIFI_ERR_RUNTIME, "out of memory");
    }
    cJSON_AddNumberToObject(mo, "", line);
    int rc = 0;
    if (array) {
        if (existing && !cJSON_IsArray(em)) {
            rc = fail(t, "\"%s\" is already defined and is not an array of tables", key);
        } else if (!existing) {
            existing = cJSON_AddArrayToObject(root, key);
            em = cJSON_AddArrayToObject(rlines, key);
        }
        if (rc == 0) {
            cJSON_AddItemToArray(existing, o);
            cJSON_AddItemToArray(em, mo);
        }
    } else if (existing) {
        rc = fail(t, "table [%s] is defined twice", key);
    } else {
        cJSON_AddItemToObject(root, key, o);
        cJSON_AddItemToObject(rlines, key, mo);
    }
    free(key);
    if (rc) {
        cJSON_Delete(o);
        cJSON_Delete(mo);
        return -1;
    }
    *table = o;
    *mirror = mo;
    return end_of_line(t, "the table header");
}

int toml_parse(const char *buf, size_t n, const char *what, TomlDoc *out, PifiErr *err) {
    memset(out, 0, sizeof *out);
    if (memchr(buf, 0, n)) return pifi_errf(err, "%s: contains a NUL byte; not a text file", what);
    Toml t = {buf, n, 0, 1, what, err};
    if (n >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3)) t.i = 3; /* BOM */
    cJSON *root = cJSON_CreateObject(), *lines = cJSON_CreateObject();
    if (!root || !lines) {
        cJSON_Delete(root);
        cJSON_Delete(lines);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    }
    cJSON *table = root, *mirror = lines;
    for (;;) {
        skip_ws_nl(&t);
        if (t.i >= t.n) break;
        int rc;
        if (peek(&t) == '[') {
            rc = parse_header(&t, root, lines, &table, &mirror);
        } else {
            char *key;
            cJSON *v = NULL, *m = NULL;
            rc = parse_key(&t, &key);
            if (rc == 0) {
                skip_ws(&t);
                if (peek(&t) != '=') {
                    rc = fail(&t, "expected '=' after the key \"%s\"", key);
                    free(key);
                } else {
                    t.i++;
                    skip_ws(&t);
                    int line = t.line;
                    rc = parse_value(&t, &v, &m, 0);
                    if (rc) {
                        free(key);
                    } else {
                        int cur = t.line;
                        t.line = line; /* a key's line is where it stands, even for a long array */
                        rc = add_key(&t, table, mirror, key, v, m);
                        t.line = cur;
                        if (rc == 0) rc = end_of_line(&t, "the value");
                    }
                }
            }
        }
        if (rc) {
            cJSON_Delete(root);
            cJSON_Delete(lines);
            return -1;
        }
    }
    out->root = root;
    out->lines = lines;
    return 0;
}

void toml_free(TomlDoc *d) {
    cJSON_Delete(d->root);
    cJSON_Delete(d->lines);
    memset(d, 0, sizeof *d);
}

int toml_line(const cJSON *lines, const char *key) {
    const cJSON *m = lines ? cJSON_GetObjectItemCaseSensitive(lines, key) : NULL;
    if (cJSON_IsNumber(m)) return m->valueint;
    if (cJSON_IsArray(m)) m = cJSON_GetArrayItem(m, 0);
    if (cJSON_IsObject(m)) {
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(m, "");
        return cJSON_IsNumber(l) ? l->valueint : 0;
    }
    return 0;
}

const cJSON *toml_sub(const cJSON *lines, const char *key, int i) {
    const cJSON *m = lines ? cJSON_GetObjectItemCaseSensitive(lines, key) : NULL;
    if (i >= 0) return cJSON_IsArray(m) ? cJSON_GetArrayItem(m, i) : NULL;
    return cJSON_IsObject(m) ? m : NULL;
}
