/* results.c: results.csv, written and read back (results.h). */
#include "exp/results.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/fileio.h"
#include "pifi/metrics.h"

#define N_COLS 14
static const char *const COLS[N_COLS] = {"task",     "eval_task",      "method",    "layer",      "seed",
                                         "train_fraction", "accuracy", "macro_f1",  "mcc",        "valid_accuracy",
                                         "best_epoch", "steps",        "seconds",   "run_dir"};

int results_add(ExpResults *r, const ExpRow *row, PifiErr *err) {
    if (r->n == r->cap) {
        int cap = r->cap ? r->cap * 2 : 64;
        ExpRow *nr = realloc(r->rows, (size_t)cap * sizeof *nr);
        if (!nr) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        r->rows = nr;
        r->cap = cap;
    }
    r->rows[r->n++] = *row;
    return 0;
}

void results_free(ExpResults *r) {
    free(r->rows);
    memset(r, 0, sizeof *r);
}

void results_label(const ExpRow *row, char *out, size_t n) {
    if (row->has_layer && row->layer != -1 && row->layer != INT_MIN) snprintf(out, n, "%s-L%d", row->method, row->layer);
    else snprintf(out, n, "%s", row->method);
}

int results_values(const ExpResults *r, const char *task, const char *eval_task, double fraction, const char *label,
                   int metric, double *out) {
    int k = 0;
    char lb[80]; /* method (< 64) + "-L" + layer */
    for (int i = 0; i < r->n; i++) {
        const ExpRow *w = &r->rows[i];
        if (strcmp(w->task, task) || strcmp(w->eval_task, eval_task) || w->train_fraction != fraction) continue;
        results_label(w, lb, sizeof lb);
        if (strcmp(lb, label)) continue;
        double v = metric == PIFI_METRIC_MCC        ? w->mcc
                   : metric == PIFI_METRIC_MACRO_F1 ? w->macro_f1
                   : metric == PIFI_METRIC_COUNT    ? w->valid_accuracy
                                                    : w->accuracy;
        if (!isnan(v)) out[k++] = v;
    }
    return k;
}

/* Shortest of %.15g..%.17g that reads back exactly; "" for NaN. */
static void fmt_num(double v, char *buf, size_t n) {
    if (isnan(v)) {
        buf[0] = 0;
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

/* A free-text field, quoted when it holds a comma, quote or newline. */
static int put_field(PifiAtomicFile *f, const char *s, PifiErr *err) {
    if (!strpbrk(s, ",\"\n\r")) return pifi_atomic_write(f, s, strlen(s), err);
    if (pifi_atomic_write(f, "\"", 1, err)) return -1;
    for (const char *p = s; *p; p++)
        if (pifi_atomic_write(f, p, 1, err) || (*p == '"' && pifi_atomic_write(f, "\"", 1, err))) return -1;
    return pifi_atomic_write(f, "\"", 1, err);
}

int results_write_csv(const ExpResults *r, const char *path, PifiErr *err) {
    PifiAtomicFile f;
    if (pifi_atomic_open(&f, path, err)) return -1;
    char line[1024];
    size_t k = 0;
    for (int c = 0; c < N_COLS; c++) k += (size_t)snprintf(line + k, sizeof line - k, "%s%s", c ? "," : "", COLS[c]);
    line[k++] = '\n';
    if (pifi_atomic_write(&f, line, k, err)) goto fail;
    for (int i = 0; i < r->n; i++) {
        const ExpRow *w = &r->rows[i];
        char layer[16] = "", fr[32], acc[32], f1[32], mcc[32], va[32], sec[32];
        if (w->has_layer) {
            if (w->layer == INT_MIN) snprintf(layer, sizeof layer, "own");
            else snprintf(layer, sizeof layer, "%d", w->layer);
        }
        fmt_num(w->train_fraction, fr, sizeof fr);
        fmt_num(w->accuracy, acc, sizeof acc);
        fmt_num(w->macro_f1, f1, sizeof f1);
        fmt_num(w->mcc, mcc, sizeof mcc);
        fmt_num(w->valid_accuracy, va, sizeof va);
        fmt_num(isnan(w->seconds) ? NAN : round(w->seconds * 100) / 100, sec, sizeof sec);
        if (put_field(&f, w->task, err) || pifi_atomic_write(&f, ",", 1, err) || put_field(&f, w->eval_task, err) ||
            pifi_atomic_write(&f, ",", 1, err) || put_field(&f, w->method, err))
            goto fail;
        k = (size_t)snprintf(line, sizeof line, ",%s,%lld,%s,%s,%s,%s,%s,%lld,%lld,%s,", layer, w->seed, fr, acc, f1,
                             mcc, va, w->best_epoch, w->steps, sec);
        if (pifi_atomic_write(&f, line, k, err) || put_field(&f, w->run_dir, err) || pifi_atomic_write(&f, "\n", 1, err))
            goto fail;
    }
    return pifi_atomic_commit(&f, err);
fail:
    pifi_atomic_abort(&f);
    return -1;
}

/* ---- reading ---- */

/* Split one CSV record starting at *pos into fields (copied into store, NUL
 * separated); advances *pos past its newline. Returns the field count, -1 if
 * malformed or too long. */
static int read_record(const char *s, size_t n, size_t *pos, char *store, size_t cap, char **fields, int max_fields) {
    size_t i = *pos, k = 0;
    int nf = 1, in_q = 0;
    fields[0] = store;
    while (i < n) {
        char c = s[i++];
        if (k + 2 >= cap) return -1;
        if (in_q) {
            if (c != '"') store[k++] = c;
            else if (i < n && s[i] == '"') store[k++] = '"', i++;
            else in_q = 0;
        } else if (c == '"' && store + k == fields[nf - 1]) {
            in_q = 1;
        } else if (c == ',') {
            if (nf == max_fields) return -1;
            store[k++] = 0;
            fields[nf++] = store + k;
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && i < n && s[i] == '\n') i++;
            break;
        } else {
            store[k++] = c;
        }
    }
    if (in_q) return -1;
    store[k] = 0;
    *pos = i;
    return nf;
}

static int parse_num(const char *s, int allow_empty, double *out) {
    if (!*s) {
        *out = NAN;
        return allow_empty ? 0 : -1;
    }
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return *end || errno || !isfinite(*out) ? -1 : 0;
}

static int copy_str(char *dst, size_t cap, const char *s) {
    if (strlen(s) >= cap) return -1;
    strcpy(dst, s);
    return 0;
}

int results_read_csv(ExpResults *r, const char *path, PifiErr *err) {
    memset(r, 0, sizeof *r);
    char *buf;
    size_t n;
    if (pifi_read_file(path, 1 << 28, &buf, &n, err)) return -1;
    char store[8192];
    char *f[N_COLS + 1];
    size_t pos = 0;
    int rc = 0, line = 1;
    int nf = read_record(buf, n, &pos, store, sizeof store, f, N_COLS + 1);
    int header_ok = nf == N_COLS;
    for (int c = 0; header_ok && c < N_COLS; c++) header_ok = strcmp(f[c], COLS[c]) == 0;
    if (!header_ok) {
        rc = pifi_errf(err, "%s:1: not a results.csv header (expected %s,%s,...)", path, COLS[0], COLS[1]);
        goto out;
    }
    while (pos < n) {
        line++;
        nf = read_record(buf, n, &pos, store, sizeof store, f, N_COLS + 1);
        if (nf == 1 && !f[0][0]) continue; /* blank line */
        if (nf != N_COLS) {
            rc = pifi_errf(err, "%s:%d: expected %d fields, got %d", path, line, N_COLS, nf);
            goto out;
        }
        ExpRow w;
        memset(&w, 0, sizeof w);
        double seed, be, st;
        int bad = copy_str(w.task, sizeof w.task, f[0]) || copy_str(w.eval_task, sizeof w.eval_task, f[1]) ||
                  copy_str(w.method, sizeof w.method, f[2]) || copy_str(w.run_dir, sizeof w.run_dir, f[13]) ||
                  !w.task[0] || !w.eval_task[0] || !w.method[0];
        w.has_layer = f[3][0] != 0;
        if (!strcmp(f[3], "own")) {
            w.layer = INT_MIN;
        } else if (w.has_layer) {
            double l;
            bad |= parse_num(f[3], 0, &l) || l != floor(l) || fabs(l) > 100000;
            w.layer = bad ? 0 : (int)l;
        }
        bad |= parse_num(f[4], 0, &seed) || seed != floor(seed) || fabs(seed) > 9e15;
        bad |= parse_num(f[5], 0, &w.train_fraction) || parse_num(f[6], 1, &w.accuracy) ||
               parse_num(f[7], 1, &w.macro_f1) || parse_num(f[8], 1, &w.mcc) || parse_num(f[9], 1, &w.valid_accuracy);
        bad |= parse_num(f[10], 1, &be) || parse_num(f[11], 1, &st) || parse_num(f[12], 1, &w.seconds);
        if (bad) {
            rc = pifi_errf(err, "%s:%d: a field is malformed or too long", path, line);
            goto out;
        }
        w.seed = (long long)seed;
        w.best_epoch = isnan(be) ? -1 : (long long)be;
        w.steps = isnan(st) ? -1 : (long long)st;
        if (results_add(r, &w, err)) {
            rc = -1;
            goto out;
        }
    }
out:
    free(buf);
    if (rc) results_free(r);
    return rc;
}
