/* plot_means.c: the training curves of several methods in one picture,
 * each averaged over its seeds (plot.h, plot_mean_curves). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "exp/plot.h"
#include "exp/plot_internal.h"

#define MEANS_MAX_STEP (1 << 24) /* a log line past this step is left out */
#define MEANS_MAX_EPOCH 256
#define MEANS_MAX_POINTS 1000 /* points drawn per line */

/* One method's sums over its runs: loss per optimizer step, validation
 * accuracy (a generation run's: BLEU) per epoch. */
typedef struct {
    double *loss;
    int *n_loss;
    int64_t cap, max_step;
    double valid[MEANS_MAX_EPOCH + 1];
    int n_valid[MEANS_MAX_EPOCH + 1];
} Series;

static int series_grow(Series *s, int64_t step, PifiErr *err) {
    if (step < s->cap) return 0;
    int64_t cap = s->cap ? s->cap : 1024;
    while (cap <= step) cap *= 2;
    double *l = realloc(s->loss, (size_t)cap * sizeof *l);
    if (l) s->loss = l;
    int *n = l ? realloc(s->n_loss, (size_t)cap * sizeof *n) : NULL;
    if (!n) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    s->n_loss = n;
    memset(s->loss + s->cap, 0, (size_t)(cap - s->cap) * sizeof *s->loss);
    memset(s->n_loss + s->cap, 0, (size_t)(cap - s->cap) * sizeof *s->n_loss);
    s->cap = cap;
    return 0;
}

/* Add one run: its train_log.jsonl (step, loss) and metrics.json (epochs[].valid.accuracy).
 * A step logged twice (a resumed run) counts once per line, as written. */
static int series_add_run(Series *s, const char *run_dir, const char **valid_words, PifiErr *err) {
    PlotRun run;
    if (plot_run_open(&run, run_dir, err)) return -1;
    double step, loss;
    while (plot_run_next(&run, &step, &loss)) {
        if (isnan(loss) || step < 1 || step > MEANS_MAX_STEP) continue;
        int64_t t = (int64_t)step;
        if (series_grow(s, t, err)) {
            plot_run_close(&run);
            return -1;
        }
        s->loss[t] += loss;
        s->n_loss[t]++;
        if (t > s->max_step) s->max_step = t;
    }
    const cJSON *e;
    const char *key = plot_valid_key(run.metrics, valid_words); /* *valid_words: the axis' words */
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(run.metrics, "epochs")) {
        const cJSON *ep = cJSON_GetObjectItemCaseSensitive(e, "epoch");
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(e, "valid"), key);
        if (!cJSON_IsNumber(ep) || !cJSON_IsNumber(a) || !isfinite(a->valuedouble)) continue;
        if (!(ep->valuedouble >= 1 && ep->valuedouble <= MEANS_MAX_EPOCH)) continue;
        int k = (int)ep->valuedouble;
        s->valid[k] += a->valuedouble;
        s->n_valid[k]++;
    }
    plot_run_close(&run);
    return 0;
}

/* The series' mean loss per step, smoothed by a centred moving average of
 * `window` steps (over the steps that have a value), as a datablock. */
static int put_loss(FILE *g, int i, const Series *s, int64_t window) {
    fprintf(g, "$L%d << EOD\n", i);
    int64_t stride = s->max_step / MEANS_MAX_POINTS + 1, half = window / 2, points = 0;
    for (int64_t t = 1; t <= s->max_step; t += stride) {
        double sum = 0;
        int64_t k = 0;
        for (int64_t u = t - half < 1 ? 1 : t - half; u <= t + half && u <= s->max_step; u++)
            if (s->n_loss[u]) sum += s->loss[u] / s->n_loss[u], k++;
        if (k) fprintf(g, "%lld %.6g\n", (long long)t, sum / (double)k), points++;
    }
    if (!points) fprintf(g, "0 NaN\n");
    fprintf(g, "EOD\n");
    return points > 0;
}

static int put_valid(FILE *g, int i, const Series *s) {
    fprintf(g, "$V%d << EOD\n", i);
    int points = 0;
    for (int k = 1; k <= MEANS_MAX_EPOCH; k++)
        if (s->n_valid[k]) fprintf(g, "%d %.6g\n", k, s->valid[k] / s->n_valid[k]), points++;
    if (!points) fprintf(g, "0 NaN\n");
    fprintf(g, "EOD\n");
    return points > 0;
}

static const char *const COLOURS[] = {"#4477aa", "#ee6677", "#228833", "#ccbb44",
                                      "#66ccee", "#aa3377", "#bbbbbb", "#000000"};

/* "plot" over the series that have points: $<block><i> in series i's
 * colour; empty axes saying so when none has (gnuplot refuses a plot
 * without a defined point). */
static void put_plot(FILE *g, char block, const int *has, int n, const char *const *labels, const char *style) {
    int any = 0;
    for (int i = 0; i < n; i++) any |= has[i];
    if (!any) {
        fprintf(g, "set label 1 'no data' at graph 0.5,0.5 center\nplot [0:1][0:1] 2 notitle\nunset label 1\n");
        return;
    }
    fprintf(g, "plot ");
    for (int i = 0, first = 1; i < n; i++) {
        if (!has[i]) continue;
        fprintf(g, "%s$%c%d using 1:2 with %s lc rgb '%s' title ", first ? "" : ", ", block, i, style, COLOURS[i % 8]);
        plot_put_quoted(g, labels[i]);
        first = 0;
    }
    fprintf(g, "\n");
}

int plot_mean_curves(const char *png, const char *title, int n_series, const char *const *labels, int n_runs,
                     const char *const *run_dirs, const int *series_of, PifiErr *err) {
    if (n_series < 1 || n_series > 64) return pifi_errf(err, "%s: %d methods to plot (1 to 64)", png, n_series);
    Series *s = calloc((size_t)n_series, sizeof *s);
    int *has_l = calloc((size_t)n_series, sizeof *has_l), *has_v = calloc((size_t)n_series, sizeof *has_v);
    int rc = -1;
    if (!s || !has_l || !has_v) {
        pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        goto out;
    }
    int64_t max_step = 0;
    const char *valid_words = "validation accuracy";
    for (int r = 0; r < n_runs; r++) {
        if (series_of[r] < 0 || series_of[r] >= n_series) continue;
        if (series_add_run(&s[series_of[r]], run_dirs[r], &valid_words, err)) goto out;
    }
    for (int i = 0; i < n_series; i++)
        if (s[i].max_step > max_step) max_step = s[i].max_step;
    int64_t window = max_step / 40 + 1;
    Plot p;
    if (plot_open(&p, png, 1280, 520, err)) goto out;
    FILE *g = p.g;
    for (int i = 0; i < n_series; i++) {
        has_l[i] = put_loss(g, i, &s[i], window);
        has_v[i] = put_valid(g, i, &s[i]);
    }
    fprintf(g, "set multiplot layout 1,2 title ");
    plot_put_quoted(g, title);
    fprintf(g, "\nset xlabel 'optimizer step'\nset key top right\n");
    if (window > 1) fprintf(g, "set ylabel 'training loss (mean over seeds, moving average of %lld steps)'\n", (long long)window);
    else fprintf(g, "set ylabel 'training loss (mean over seeds)'\n");
    put_plot(g, 'L', has_l, n_series, labels, "lines lw 1.5");
    fprintf(g, "set xlabel 'epoch'\nset ylabel '%s (mean over seeds)'\nset xtics 1\n"
               "set key bottom right\n", valid_words);
    put_plot(g, 'V', has_v, n_series, labels, "linespoints lw 2 pt 7 ps 1.2");
    fprintf(g, "unset multiplot\n");
    rc = plot_close(&p, png, err);
out:
    for (int i = 0; s && i < n_series; i++) {
        free(s[i].loss);
        free(s[i].n_loss);
    }
    free(s);
    free(has_l);
    free(has_v);
    return rc;
}
