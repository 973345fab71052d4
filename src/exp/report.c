/* report.c: results.md, bar charts and training curves from the rows of
 * results.csv (report.h). */
#include "exp/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exp/claims.h"
#include "exp/plot.h"
#include "exp/stats.h"
#include "pifi/dataset.h"
#include "pifi/fileio.h"

/* Rows of one table: the same task, evaluation set and train fraction. */
static int same_group(const ExpRow *a, const ExpRow *b) {
    return !strcmp(a->task, b->task) && !strcmp(a->eval_task, b->eval_task) && a->train_fraction == b->train_fraction;
}

/* File-name part of a group: task[_on_eval][_f<fraction>]. */
static void group_name(const ExpRow *w, char *out, size_t n) {
    int k = snprintf(out, n, "%s", w->task);
    if (strcmp(w->task, w->eval_task) && k >= 0 && (size_t)k < n) k += snprintf(out + k, n - (size_t)k, "_on_%s", w->eval_task);
    if (w->train_fraction != 1 && k >= 0 && (size_t)k < n) snprintf(out + k, n - (size_t)k, "_f%g", w->train_fraction);
}

static void curve_rel(const ExpRow *w, char *out, size_t n) {
    char label[64];
    results_label(w, label, sizeof label);
    if (w->train_fraction != 1) snprintf(out, n, "plots/curves/%s_%s_f%g_seed%lld.png", w->task, label, w->train_fraction, w->seed);
    else snprintf(out, n, "plots/curves/%s_%s_seed%lld.png", w->task, label, w->seed);
}

void report_curve_path(const ExpRow *row, const char *out_dir, char *path, size_t n) {
    char rel[512];
    curve_rel(row, rel, sizeof rel);
    snprintf(path, n, "%s/%s", out_dir, rel);
}

int report_curve(const ExpRow *w, const char *out_dir, PifiErr *err) {
    char png[4600], title[512], label[64];
    report_curve_path(w, out_dir, png, sizeof png);
    char *dir = pifi_path_join(out_dir, "plots/curves");
    int rc = dir ? pifi_mkdirs(dir, err) : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    free(dir);
    if (rc) return -1;
    results_label(w, label, sizeof label);
    snprintf(title, sizeof title, "%s, %s, seed %lld%s", w->task, label, w->seed, w->train_fraction != 1 ? ", fraction" : "");
    if (w->train_fraction != 1) {
        size_t k = strlen(title);
        snprintf(title + k, sizeof title - k, " %g", w->train_fraction);
    }
    return plot_curve(w->run_dir, png, title, err);
}

static void fmt_ms(const StatSummary *s, char *out, size_t n) {
    if (s->n == 0 || isnan(s->mean)) snprintf(out, n, "n/a");
    else if (isnan(s->std)) snprintf(out, n, "%.4f", s->mean);
    else snprintf(out, n, "%.4f ± %.4f", s->mean, s->std);
}

static void fmt_p(double p, char *out, size_t n) {
    if (isnan(p)) snprintf(out, n, "n/a");
    else if (p < 1e-4) snprintf(out, n, "%.1e", p);
    else snprintf(out, n, "%.4f", p);
}

/* The values of one metric over the rows of a label in g's group. */
static int collect(const ExpResults *r, const ExpRow *g, const char *label, int which, double *out) {
    return results_values(r, g->task, g->eval_task, g->train_fraction, label, which, out);
}

static const char *METRIC_TITLES[] = {"accuracy", "macro-F1", "MCC"};

/* Place of a method in a table: base, pifi, pifi-random, pifi-unfrozen,
 * lora, then anything else. "pifi@stories260K" ranks as pifi. */
static int method_rank(const char *method) {
    static const char *const ORDER[] = {"base", "pifi", "pifi-random", "pifi-unfrozen", "lora"};
    size_t n = strcspn(method, "@");
    for (int i = 0; i < 5; i++)
        if (strlen(ORDER[i]) == n && !strncmp(ORDER[i], method, n)) return i;
    return 5;
}

/* Order the labels of a table (rows[k]: one row of labels[k]): the top
 * level's LLM first in method_rank order, then each other LLM's (@name) in
 * order of first appearance, each in method_rank order; the same rank
 * (layers of one method) keeps the order of appearance. */
static void order_labels(const ExpRow *const *rows, const char **labels, int n) {
    int key[256];
    const char *names[256];
    int n_names = 0;
    for (int i = 0; i < n; i++) {
        const char *at = strchr(rows[i]->method, '@');
        int group = 0;
        if (at) {
            for (group = 0; group < n_names && strcmp(names[group], at); group++) {
            }
            if (group == n_names) names[n_names++] = at;
            group++;
        }
        key[i] = group * 16 + method_rank(rows[i]->method);
    }
    for (int i = 1; i < n; i++) /* insertion sort: stable */
        for (int j = i; j > 0 && key[j - 1] > key[j]; j--) {
            int k = key[j];
            key[j] = key[j - 1];
            key[j - 1] = k;
            const char *l = labels[j];
            labels[j] = labels[j - 1];
            labels[j - 1] = l;
        }
}

/* " (train fraction F)" after a title, for a group trained on a fraction. */
static void append_fraction(char *title, size_t n, const ExpRow *g) {
    size_t k = strlen(title);
    if (g->train_fraction != 1 && k < n) snprintf(title + k, n - k, " (train fraction %g)", g->train_fraction);
}

/* A group's training curves, each method's averaged over its seeds
 * (plots/curves_<group>.png), from the run directories that are there;
 * linked in md below the bar chart. Nothing when no run directory is. */
static int write_mean_curves(const ExpResults *r, int gi, const char *const *labels, int nl, const char *out_dir,
                             FILE *md, int draw, PifiErr *err) {
    const ExpRow *g = &r->rows[gi];
    const char **dirs = malloc((size_t)r->n * sizeof *dirs);
    int *series = malloc((size_t)r->n * sizeof *series), nr = 0, rc = 0;
    if (!dirs || !series) {
        rc = pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        goto out;
    }
    for (int i = gi; i < r->n; i++) {
        if (!same_group(&r->rows[i], g) || !pifi_is_dir(r->rows[i].run_dir)) continue;
        char lb[64];
        results_label(&r->rows[i], lb, sizeof lb);
        for (int l = 0; l < nl; l++)
            if (!strcmp(lb, labels[l])) {
                dirs[nr] = r->rows[i].run_dir;
                series[nr++] = l;
            }
    }
    if (nr == 0) goto out;
    char name[256], rel[320], png[4600], title[512];
    group_name(g, name, sizeof name);
    snprintf(rel, sizeof rel, "plots/curves_%s.png", name);
    snprintf(png, sizeof png, "%s/%s", out_dir, rel);
    snprintf(title, sizeof title, "%s: training curves, mean over seeds", g->task);
    append_fraction(title, sizeof title, g);
    fprintf(md, "\n![%s](%s)\n", title, rel);
    if (draw) rc = plot_mean_curves(png, title, nl, labels, nr, dirs, series, err);
out:
    free(dirs);
    free(series);
    return rc;
}

/* One group: its table in md, its bar chart and (own task) its mean
 * training curves. Returns -1 when a plot failed (err set: the first). */
static int write_group(const ExpResults *r, int gi, const char *out_dir, FILE *md, double *va, double *vb, int draw,
                       PifiErr *err) {
    const ExpRow *g = &r->rows[gi];
    const PifiTaskInfo *ti = task_find(g->eval_task);
    PifiMetric main_m = ti ? ti->metrics[0] : PIFI_METRIC_ACCURACY;
    const char *mt = METRIC_TITLES[main_m];
    int cross = strcmp(g->task, g->eval_task) != 0;
    fprintf(md, "\n## %s", g->task);
    if (cross) fprintf(md, " → %s (cross-domain: trained on %s, tested on %s)", g->eval_task, g->task, g->eval_task);
    if (g->train_fraction != 1) fprintf(md, ", train fraction %g", g->train_fraction);
    fprintf(md, "\n\nTest split of %s; main metric %s. Δ and p: %s against `base`.\n\n", g->eval_task, mt, mt);
    fprintf(md, "| method | seeds | accuracy | macro-F1 | MCC | Δ %s | p (Welch) | valid accuracy (%s) |%s\n", mt,
            g->task, cross ? "" : " minutes per run (fastest) | curves |");
    fprintf(md, "|---|---|---|---|---|---|---|---|%s\n", cross ? "" : "---|---|");
    /* labels in order of appearance, then in table order */
    const char *labels[256];
    const ExpRow *first[256];
    char store[256][64];
    double means[256], stds[256];
    int nl = 0;
    for (int i = gi; i < r->n && nl < 256; i++) {
        if (!same_group(&r->rows[i], g)) continue;
        char lb[64];
        results_label(&r->rows[i], lb, sizeof lb);
        int seen = 0;
        for (int j = 0; j < nl; j++) seen |= !strcmp(labels[j], lb);
        if (seen) continue;
        snprintf(store[nl], sizeof store[nl], "%s", lb);
        labels[nl] = store[nl];
        first[nl] = &r->rows[i];
        nl++;
    }
    order_labels(first, labels, nl);
    int nb = collect(r, g, "base", main_m, vb);
    for (int l = 0; l < nl; l++) {
        StatSummary s[PIFI_METRIC_COUNT + 1];
        char cell[PIFI_METRIC_COUNT + 1][64];
        for (int m = 0; m <= PIFI_METRIC_COUNT; m++) {
            int k = collect(r, g, labels[l], m, va);
            stats_summary(va, k, &s[m]);
            fmt_ms(&s[m], cell[m], sizeof cell[m]);
        }
        int na = collect(r, g, labels[l], main_m, va);
        char delta[32] = "—", pv[32] = "—";
        if (strcmp(labels[l], "base") && nb > 0 && na > 0) {
            StatSummary sb;
            stats_summary(vb, nb, &sb);
            snprintf(delta, sizeof delta, "%+.4f", s[main_m].mean - sb.mean);
            StatWelch w;
            stats_welch(va, na, vb, nb, &w);
            fmt_p(w.p, pv, sizeof pv);
        }
        means[l] = s[main_m].mean;
        stds[l] = s[main_m].std;
        fprintf(md, "| %s | %d | %s | %s | %s | %s | %s | %s |", labels[l], s[main_m].n, cell[0], cell[1], cell[2], delta,
                pv, cell[PIFI_METRIC_COUNT]);
        if (!cross) {
            double sum = 0, fastest = INFINITY;
            int nt = 0;
            for (int i = gi; i < r->n; i++) { /* wall time of the training runs (cell.json) */
                char lb[64];
                results_label(&r->rows[i], lb, sizeof lb);
                if (!same_group(&r->rows[i], g) || strcmp(lb, labels[l]) || isnan(r->rows[i].seconds)) continue;
                sum += r->rows[i].seconds;
                fastest = fmin(fastest, r->rows[i].seconds);
                nt++;
            }
            if (nt) fprintf(md, " %.1f (%.1f) |", sum / nt / 60, fastest / 60);
            else fprintf(md, " — |");
            for (int i = gi; i < r->n; i++) {
                char lb[64], rel[512];
                results_label(&r->rows[i], lb, sizeof lb);
                if (!same_group(&r->rows[i], g) || strcmp(lb, labels[l])) continue;
                char png[4600];
                curve_rel(&r->rows[i], rel, sizeof rel);
                snprintf(png, sizeof png, "%s/%s", out_dir, rel);
                if (plot_is_png(png)) fprintf(md, " [%lld](%s)", r->rows[i].seed, rel);
            }
            fprintf(md, " |");
        }
        fprintf(md, "\n");
    }
    char name[256], rel[320], png[4600], title[512];
    group_name(g, name, sizeof name);
    snprintf(rel, sizeof rel, "plots/bars_%s.png", name);
    snprintf(png, sizeof png, "%s/%s", out_dir, rel);
    snprintf(title, sizeof title, "%s%s%s: test %s, mean ± std over seeds", g->task, cross ? " → " : "",
             cross ? g->eval_task : "", mt);
    append_fraction(title, sizeof title, g);
    fprintf(md, "\n![%s](%s)\n", title, rel);
    char ylabel[96];
    snprintf(ylabel, sizeof ylabel, "test %s (axis not from 0)", mt);
    int rc = draw ? plot_bars(png, title, ylabel, nl, labels, means, stds, err) : 0;
    PifiErr later = {0}; /* the first failure is the one reported */
    if (!cross && write_mean_curves(r, gi, labels, nl, out_dir, md, draw, rc ? &later : err)) rc = -1;
    return rc;
}

int report_write(const ExpResults *r, const char *out_dir, ReportCurves curves, PifiLogFn on_log, void *log_user,
                 PifiErr *err) {
    char *md_buf = NULL;
    size_t md_len = 0;
    FILE *md = open_memstream(&md_buf, &md_len);
    double *va = malloc(((size_t)r->n + 1) * sizeof *va), *vb = malloc(((size_t)r->n + 1) * sizeof *vb);
    char *plots = pifi_path_join(out_dir, "plots");
    int rc = 0, plot_failures = 0;
    PifiErr first = {0};
    if (!md || !va || !vb || !plots) {
        rc = pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        goto out;
    }
    if (pifi_mkdirs(plots, err)) {
        rc = -1;
        goto out;
    }
    fprintf(md, "# Experiment results\n\n"
                "Generated from `results.csv` (%d rows) by pifi; `pifi experiment --report DIR` redraws it.\n"
                "Each cell is one run; its metrics are on the test split of the evaluation task.\n"
                "Values: mean ± sample standard deviation (ddof = 1) over seeds. Δ: difference of the\n"
                "means from `base` (same task, evaluation set and train fraction). p: two-sided Welch's\n"
                "t-test against `base` over seeds (unequal variances, Welch–Satterthwaite degrees of\n"
                "freedom), n/a with fewer than 2 seeds on either side. Minutes per run: the mean wall\n"
                "time of the training runs (training and their evaluations, cell.json), the fastest\n"
                "in brackets.\n",
            r->n);
    int plots_ok = plot_available(&first) == 0;
    if (!plots_ok) {
        plot_failures++;
        pifi_logf(on_log, log_user, PIFI_LOG_NOTE, "experiment: %s", first.msg);
    }
    for (int i = 0; plots_ok && curves != REPORT_CURVES_NONE && i < r->n; i++) {
        const ExpRow *w = &r->rows[i];
        if (strcmp(w->task, w->eval_task) || !pifi_is_dir(w->run_dir)) continue;
        char png[4600];
        report_curve_path(w, out_dir, png, sizeof png);
        if (curves == REPORT_CURVES_MISSING && plot_is_png(png)) continue;
        PifiErr pe = {0};
        if (report_curve(w, out_dir, &pe)) {
            pifi_logf(on_log, log_user, PIFI_LOG_NOTE, "experiment: %s", pe.msg);
            if (!plot_failures++) first = pe;
        }
    }
    claims_write(r, md);
    for (int i = 0; i < r->n; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++) seen = same_group(&r->rows[j], &r->rows[i]);
        if (seen) continue;
        PifiErr pe = {0};
        if (write_group(r, i, out_dir, md, va, vb, plots_ok, &pe)) {
            pifi_logf(on_log, log_user, PIFI_LOG_NOTE, "experiment: %s", pe.msg);
            if (!plot_failures++) first = pe;
        }
    }
    if (r->n == 0) fprintf(md, "\nNo finished runs yet.\n");
    fclose(md);
    md = NULL;
    char *path = pifi_path_join(out_dir, "results.md");
    rc = path ? pifi_write_file_atomic(path, md_buf, md_len, err) : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    free(path);
    if (rc == 0 && plot_failures && err) {
        *err = first;
        if (plot_failures > 1) {
            size_t k = strlen(err->msg);
            snprintf(err->msg + k, sizeof err->msg - k, " (and %d more plot failures)", plot_failures - 1);
        }
    }
    if (rc == 0 && plot_failures) rc = -1;
out:
    if (md) fclose(md);
    free(md_buf);
    free(va);
    free(vb);
    free(plots);
    return rc;
}
