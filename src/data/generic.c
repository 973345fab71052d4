/* generic.c: the user's own labelled files: TSV, CSV (RFC 4180) or JSON
 * Lines, with the text, optional second text and label picked by column
 * name (header / JSON key) or 0-based index. Labels become ids through a
 * PifiLabelMap shared by the train/valid/test files (dataset.h).
 *
 * A bad row (wrong column count, missing field, invalid UTF-8, empty text,
 * unknown label) fails the load with "<file>:<line>: <what>", or, with
 * skip_bad_rows, is left out and counted. Broken CSV quoting and unreadable
 * headers always fail. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "data/data_internal.h"
#include "data/generic_internal.h"
#include "pifi/fileio.h"
#include "pifi/json.h"

#define MAX_CLASSES 10000

/* ---- label maps ---- */

static int map_add(PifiLabelMap *m, const char *name, PifiErr *err) {
    if (m->n == m->cap) {
        int cap = m->cap ? 2 * m->cap : 16;
        char **nv = realloc(m->names, (size_t)cap * sizeof *nv);
        if (!nv) return pifi_errk(err, PIFI_ERR_RUNTIME, "labels: out of memory");
        m->names = nv;
        m->cap = cap;
    }
    if (!(m->names[m->n] = strdup(name))) return pifi_errk(err, PIFI_ERR_RUNTIME, "labels: out of memory");
    m->n++;
    return 0;
}

void label_map_free(PifiLabelMap *m) {
    for (int k = 0; k < m->n; k++) free(m->names[k]);
    free(m->names);
    memset(m, 0, sizeof *m);
}

int label_map_set(PifiLabelMap *m, const char *const *names, int n, PifiErr *err) {
    label_map_free(m);
    for (int k = 0; k < n; k++) {
        for (int j = 0; j < k; j++)
            if (strcmp(names[j], names[k]) == 0) {
                label_map_free(m);
                return pifi_errf(err, "labels: \"%s\" given twice", names[k]);
            }
        if (map_add(m, names[k], err) != 0) {
            label_map_free(m);
            return -1;
        }
    }
    m->frozen = 1;
    return 0;
}

/* A plain non-negative decimal integer below MAX_CLASSES ("0", "17"; not "07", "+1", "1.0"). */
static int small_int(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 4 || (n > 1 && s[0] == '0')) return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v < MAX_CLASSES ? v : -1;
}

static int map_find(const PifiLabelMap *m, const char *s) {
    if (m->numeric) {
        int v = small_int(s);
        return v >= 0 && v < m->n ? v : -1;
    }
    for (int k = 0; k < m->n; k++)
        if (strcmp(m->names[k], s) == 0) return k;
    int v = small_int(s); /* an index into names given in advance */
    return v >= 0 && v < m->n && m->frozen ? v : -1;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* First file into an empty map: integer labels 0..K-1 are their own ids;
 * other integer labels take ids in increasing order; anything else takes ids
 * in order of first appearance. */
static int map_learn(PifiLabelMap *m, char **raw, int64_t n, PifiErr *err) {
    int all_int = n > 0, has_zero = 0, max = -1;
    for (int64_t i = 0; i < n && all_int; i++) {
        if (!raw[i]) continue;
        int v = small_int(raw[i]);
        if (v < 0) all_int = 0;
        has_zero |= v == 0;
        if (v > max) max = v;
    }
    char name[16];
    if (all_int && has_zero) {
        m->numeric = 1;
        for (int k = 0; k <= max; k++) {
            snprintf(name, sizeof name, "%d", k);
            if (map_add(m, name, err) != 0) return -1;
        }
        return 0;
    }
    if (all_int) {
        int *seen = pifi_calloc(MAX_CLASSES, sizeof *seen, err), nd = 0;
        if (!seen) return -1;
        int *vals = pifi_malloc(MAX_CLASSES * sizeof *vals, err);
        if (!vals) {
            free(seen);
            return -1;
        }
        for (int64_t i = 0; i < n; i++)
            if (raw[i] && !seen[small_int(raw[i])]++) vals[nd++] = small_int(raw[i]);
        qsort(vals, (size_t)nd, sizeof *vals, cmp_int);
        int rc = 0;
        for (int k = 0; k < nd && rc == 0; k++) {
            snprintf(name, sizeof name, "%d", vals[k]);
            rc = map_add(m, name, err);
        }
        free(seen);
        free(vals);
        return rc;
    }
    for (int64_t i = 0; i < n; i++) {
        if (!raw[i] || map_find(m, raw[i]) >= 0) continue;
        if (m->n >= MAX_CLASSES)
            return pifi_errf(err, "labels: more than %d distinct labels: is the label column right?", MAX_CLASSES);
        if (map_add(m, raw[i], err) != 0) return -1;
    }
    return 0;
}

/* ---- loading ---- */

typedef struct {
    const char *path;
    const PifiGenericOpts *o;
    PifiDataset *ds;
    char **raw;      /* [n] raw label of each row pushed so far */
    int64_t *line;   /* [n] */
    int64_t cap;
    int64_t nraw;    /* raw labels allocated (rows pushed) */
} Loader;

/* A bad row: fail, or (skip_bad_rows) count it and go on. Returns -1 to fail, 0 to go on. */
static int bad_row(Loader *L, PifiErr *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad_row(Loader *L, PifiErr *err, const char *fmt, ...) {
    char msg[PIFI_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (L->o->skip_bad_rows) {
        dataset_note_skip(L->ds, msg);
        return 0;
    }
    return pifi_errf(err, "%s", msg);
}

/* Make the source and target texts of a generation row. */
static int add_target_row(Loader *L, int64_t line, const char *src, size_t sn, const char *tgt, size_t tn,
                          PifiErr *err) {
    unsigned flags = L->o->clean ? TEXT_CLEAN : 0;
    char *s = NULL, *t = NULL;
    size_t bad = 0;
    const char *which = "source";
    int code = text_make(src, sn, flags, &s, &bad, NULL);
    if (code == TEXT_OK) {
        which = "target";
        code = text_make(tgt, tn, flags, &t, &bad, NULL);
        if (code != TEXT_OK) free(s);
    }
    if (code == TEXT_NOMEM) return text_fail(err, L->path, line, code, bad);
    if (code == TEXT_EMPTY) return bad_row(L, err, "%s:%lld: empty %s text", L->path, (long long)line, which);
    if (code != TEXT_OK)
        return bad_row(L, err, "%s:%lld: %s in the %s text", L->path, (long long)line, text_problem(code), which);
    return dataset_push_target(L->ds, s, t, err);
}

/* Make the texts of one row and keep it with its raw label. */
static int add_row(Loader *L, int64_t line, const char *text, size_t tn, const char *pair, size_t pn,
                   int has_pair, const char *label, PifiErr *err) {
    unsigned flags = L->o->clean ? TEXT_CLEAN : 0;
    char *t = NULL, *p = NULL;
    size_t bad = 0;
    int code = text_make(text, tn, flags, &t, &bad, NULL);
    if (code == TEXT_OK && has_pair && (code = text_make(pair, pn, flags, &p, &bad, NULL)) != TEXT_OK) {
        free(t);
        t = NULL;
    }
    if (code == TEXT_NOMEM) return text_fail(err, L->path, line, code, bad);
    if (code != TEXT_OK) {
        if (code == TEXT_EMPTY) return bad_row(L, err, "%s:%lld: empty text", L->path, (long long)line);
        return bad_row(L, err, "%s:%lld: %s in a text", L->path, (long long)line, text_problem(code));
    }
    size_t ln = strlen(label);
    while (ln && (label[ln - 1] == ' ' || label[ln - 1] == '\t')) ln--;
    while (ln && (*label == ' ' || *label == '\t')) label++, ln--;
    if (ln == 0) {
        free(t);
        free(p);
        return bad_row(L, err, "%s:%lld: empty label", L->path, (long long)line);
    }
    if (L->ds->n == L->cap) {
        int64_t cap = L->cap ? 2 * L->cap : 1024;
        char **nr = realloc(L->raw, (size_t)cap * sizeof *nr);
        if (nr) L->raw = nr;
        int64_t *nl = nr ? realloc(L->line, (size_t)cap * sizeof *nl) : NULL;
        if (nl) L->line = nl;
        if (!nr || !nl) {
            free(t);
            free(p);
            return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: out of memory", L->path);
        }
        L->cap = cap;
    }
    char *lab = strndup(label, ln);
    if (!lab) {
        free(t);
        free(p);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: out of memory", L->path);
    }
    L->raw[L->ds->n] = lab;
    L->nraw++;
    L->line[L->ds->n] = line;
    if (dataset_push(L->ds, t, p, -1, err) != 0) {
        free(lab);
        return -1;
    }
    return 0;
}

/* A column spec -> index: a header name, else a 0-based index. -1 if none. */
static int resolve_col(const char *spec, char **header, int nh, int no_header) {
    if (!no_header)
        for (int i = 0; i < nh; i++)
            if (strcmp(header[i], spec) == 0) return i;
    char *end;
    long v = strtol(spec, &end, 10);
    if (*spec && !*end && v >= 0 && v < 100000) return (int)v;
    return -1;
}

static int col_error(const char *path, const char *what, const char *spec, char **header, int nh,
                     int no_header, PifiErr *err) {
    if (no_header)
        return pifi_errf(err, "%s: %s \"%s\" must be a 0-based column index (the file has no header)",
                         path, what, spec);
    char cols[512] = "";
    for (int i = 0; i < nh; i++) {
        strncat(cols, i ? ", " : "", sizeof cols - strlen(cols) - 1);
        strncat(cols, header[i], sizeof cols - strlen(cols) - 1);
    }
    return pifi_errf(err, "%s: no column \"%s\" for the %s (columns: %s)", path, spec, what, cols);
}

static int load_table(Loader *L, const PifiMap *map, int csv, PifiErr *err) {
    const PifiGenericOpts *o = L->o;
    RecordReader r;
    records_init(&r, (const char *)map->data, map->size, csv);
    char **header = NULL;
    int nh = 0, ncols = -1, rc = 0, c_text = -1, c_pair = -1, c_label = -1;
    const char *s_text = o->text_col ? o->text_col : o->no_header ? "0" : "text";
    const char *s_label = o->target_col ? o->target_col : o->label_col ? o->label_col : o->no_header ? "1" : "label";
    const char *w_label = o->target_col ? "target text" : "label";
    for (;;) {
        int got = records_next(&r);
        if (got == 0) break;
        if (got < 0) {
            rc = got == RECORD_NOMEM ? pifi_errk(err, PIFI_ERR_RUNTIME, "%s: out of memory", L->path)
                 : pifi_errf(err, "%s:%lld: %s", L->path, (long long)r.line,
                             got == RECORD_UNTERMINATED ? "quoted field never closed (a \" is missing)"
                                                        : "text after the closing quote of a field");
            break;
        }
        size_t bad;
        if (!text_utf8_valid(r.raw, r.raw_n, &bad)) {
            if (ncols < 0 && !o->no_header) {
                rc = pifi_errf(err, "%s:%lld: invalid UTF-8 in the header at byte %zu", L->path,
                               (long long)r.line, bad);
                break;
            }
            if ((rc = bad_row(L, err, "%s:%lld: invalid UTF-8 at byte %zu of the line", L->path,
                              (long long)r.line, bad)) != 0)
                break;
            continue; /* without a header, the first good row sets the columns */
        }
        if (ncols < 0) { /* first record: the header, or the column count to expect */
            ncols = r.nf;
            if (!o->no_header) {
                header = pifi_calloc((size_t)r.nf, sizeof *header, err);
                if (!header) {
                    rc = -1;
                    break;
                }
                for (nh = 0; nh < r.nf; nh++) header[nh] = r.buf + r.off[nh];
            }
            c_text = resolve_col(s_text, header, nh, o->no_header);
            c_label = resolve_col(s_label, header, nh, o->no_header);
            c_pair = o->pair_col ? resolve_col(o->pair_col, header, nh, o->no_header) : -1;
            if (c_text < 0 || c_text >= ncols) rc = col_error(L->path, "text", s_text, header, nh, o->no_header, err);
            else if (c_label < 0 || c_label >= ncols) rc = col_error(L->path, w_label, s_label, header, nh, o->no_header, err);
            else if (o->pair_col && (c_pair < 0 || c_pair >= ncols))
                rc = col_error(L->path, "second text", o->pair_col, header, nh, o->no_header, err);
            if (rc != 0) break;
            if (!o->no_header) {
                /* the header's strings live in r.buf, which the next record reuses */
                for (int i = 0; i < nh; i++) header[i] = NULL;
                continue;
            }
        }
        if (r.nf != ncols) {
            if ((rc = bad_row(L, err, "%s:%lld: %d columns, expected %d%s", L->path, (long long)r.line, r.nf,
                              ncols, o->no_header ? " (as the first row)" : " (as the header)")) != 0)
                break;
            continue;
        }
        if (o->target_col) {
            if ((rc = add_target_row(L, r.line, r.buf + r.off[c_text], r.len[c_text], r.buf + r.off[c_label],
                                     r.len[c_label], err)) != 0)
                break;
            continue;
        }
        if ((rc = add_row(L, r.line, r.buf + r.off[c_text], r.len[c_text],
                          c_pair >= 0 ? r.buf + r.off[c_pair] : NULL, c_pair >= 0 ? r.len[c_pair] : 0,
                          c_pair >= 0, r.buf + r.off[c_label], err)) != 0)
            break;
    }
    if (rc == 0 && ncols < 0) rc = pifi_errf(err, "%s: no rows", L->path);
    free(header);
    records_free(&r);
    return rc;
}

/* A JSONL field by key, or by 0-based position among the object's keys. */
static const cJSON *json_field(const cJSON *obj, const char *spec) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, spec);
    if (v) return v;
    char *end;
    long i = strtol(spec, &end, 10);
    if (!*spec || *end || i < 0) return NULL;
    return cJSON_GetArrayItem(obj, (int)i);
}

static int load_jsonl(Loader *L, const PifiMap *map, PifiErr *err) {
    const PifiGenericOpts *o = L->o;
    const char *s_text = o->text_col ? o->text_col : "text";
    const char *s_label = o->label_col ? o->label_col : "label";
    LineIter it;
    line_iter_init(&it, map->data, map->size);
    const char *s;
    size_t n;
    int rc = 0, rows = 0;
    while (rc == 0 && line_next(&it, &s, &n)) {
        size_t k = 0;
        while (k < n && (s[k] == ' ' || s[k] == '\t')) k++;
        if (k == n) continue;
        rows++;
        size_t bad;
        if (!text_utf8_valid(s, n, &bad)) {
            rc = bad_row(L, err, "%s:%lld: invalid UTF-8 at byte %zu of the line", L->path, (long long)it.line, bad);
            continue;
        }
        cJSON *row = cJSON_ParseWithLength(s, n);
        if (!cJSON_IsObject(row)) {
            cJSON_Delete(row);
            rc = bad_row(L, err, "%s:%lld: not a JSON object", L->path, (long long)it.line);
            continue;
        }
        PifiErr dup;
        if (pifi_json_unique_keys(row, "row", &dup)) { /* "row: key \"k\" appears twice ..." */
            cJSON_Delete(row);
            rc = bad_row(L, err, "%s:%lld: %s", L->path, (long long)it.line, dup.msg);
            continue;
        }
        const cJSON *t = json_field(row, s_text), *p = o->pair_col ? json_field(row, o->pair_col) : NULL;
        if (o->target_col) {
            const cJSON *y = json_field(row, o->target_col);
            if (!cJSON_IsString(t))
                rc = bad_row(L, err, "%s:%lld: no string field \"%s\" (the source text)", L->path, (long long)it.line,
                             s_text);
            else if (!cJSON_IsString(y))
                rc = bad_row(L, err, "%s:%lld: no string field \"%s\" (the target text)", L->path,
                             (long long)it.line, o->target_col);
            else
                rc = add_target_row(L, it.line, t->valuestring, strlen(t->valuestring), y->valuestring,
                                    strlen(y->valuestring), err);
            cJSON_Delete(row);
            continue;
        }
        const cJSON *y = json_field(row, s_label);
        char num[32];
        const char *label = NULL;
        if (cJSON_IsString(y)) label = y->valuestring;
        else if (cJSON_IsNumber(y) && fabs(y->valuedouble) <= 9007199254740992.0 && /* 2^53: (long long) of */
                 y->valuedouble == floor(y->valuedouble)) {                    /* a huge double is UB */
            snprintf(num, sizeof num, "%lld", (long long)y->valuedouble);
            label = num;
        } else if (cJSON_IsBool(y)) label = cJSON_IsTrue(y) ? "true" : "false";
        if (!cJSON_IsString(t))
            rc = bad_row(L, err, "%s:%lld: no string field \"%s\" (the text)", L->path, (long long)it.line, s_text);
        else if (o->pair_col && !cJSON_IsString(p))
            rc = bad_row(L, err, "%s:%lld: no string field \"%s\" (the second text)", L->path,
                         (long long)it.line, o->pair_col);
        else if (!label)
            rc = bad_row(L, err, "%s:%lld: no field \"%s\" holding a string or integer label", L->path,
                         (long long)it.line, s_label);
        else
            rc = add_row(L, it.line, t->valuestring, strlen(t->valuestring), p ? p->valuestring : NULL,
                         p ? strlen(p->valuestring) : 0, o->pair_col != NULL, label, err);
        cJSON_Delete(row);
    }
    if (rc == 0 && rows == 0) rc = pifi_errf(err, "%s: no rows", L->path);
    return rc;
}

/* Turn the raw labels into ids, leaving out (or failing on) unknown ones. */
static int resolve_labels(Loader *L, PifiLabelMap *map, PifiErr *err) {
    PifiDataset *ds = L->ds;
    if (!map->frozen && map->n == 0 && map_learn(map, L->raw, ds->n, err) != 0) return -1;
    int64_t w = 0;
    for (int64_t i = 0; i < ds->n; i++) {
        int id = map_find(map, L->raw[i]);
        if (id < 0) {
            char known[256] = "";
            for (int k = 0; k < map->n && strlen(known) < 200; k++) {
                strncat(known, k ? ", " : "", sizeof known - strlen(known) - 1);
                strncat(known, map->names[k], sizeof known - strlen(known) - 1);
            }
            if (bad_row(L, err, "%s:%lld: unknown label \"%.60s\" (known: %s)", L->path, (long long)L->line[i],
                        L->raw[i], known) != 0)
                return -1;
            free(ds->text[i]);
            if (ds->text_pair) free(ds->text_pair[i]);
            continue;
        }
        ds->text[w] = ds->text[i];
        if (ds->text_pair) ds->text_pair[w] = ds->text_pair[i];
        ds->label[w] = id;
        w++;
    }
    ds->n = w;
    map->frozen = 1;
    return dataset_set_labels(ds, (const char *const *)map->names, map->n, err);
}

static PifiFileFormat format_of(const char *path) {
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/')) return PIFI_FMT_AUTO;
    if (strcasecmp(dot, ".tsv") == 0) return PIFI_FMT_TSV;
    if (strcasecmp(dot, ".csv") == 0) return PIFI_FMT_CSV;
    if (strcasecmp(dot, ".jsonl") == 0 || strcasecmp(dot, ".ndjson") == 0) return PIFI_FMT_JSONL;
    return PIFI_FMT_AUTO;
}

int dataset_load_generic(const char *path, const PifiGenericOpts *opts, PifiLabelMap *labels,
                         PifiDataset *out, PifiErr *err) {
    memset(out, 0, sizeof *out);
    PifiGenericOpts o = opts ? *opts : (PifiGenericOpts){0};
    PifiFileFormat fmt = o.format != PIFI_FMT_AUTO ? o.format : format_of(path);
    if (fmt == PIFI_FMT_AUTO)
        return pifi_errf(err, "%s: cannot tell the format from the name (use .tsv, .csv or .jsonl)", path);
    if (o.pair_col && o.target_col)
        return pifi_errf(err, "%s: a generation task reads a source and a target column, not a second text", path);
    PifiMap map;
    if (pifi_map_open(&map, path, err) != 0) return -1;
    Loader L = {path, &o, out, NULL, NULL, 0, 0};
    int rc = fmt == PIFI_FMT_JSONL ? load_jsonl(&L, &map, err) : load_table(&L, &map, fmt == PIFI_FMT_CSV, err);
    if (rc == 0 && !o.target_col) rc = resolve_labels(&L, labels, err);
    for (int64_t i = 0; i < L.nraw; i++) free(L.raw[i]);
    free(L.raw);
    free(L.line);
    pifi_map_close(&map);
    if (rc == 0 && out->n == 0) rc = pifi_errf(err, "%s: no usable rows (%lld skipped)", path, (long long)out->skipped);
    if (rc != 0) {
        int64_t skipped = out->skipped;
        dataset_free(out);
        out->skipped = skipped;
    }
    return rc;
}
