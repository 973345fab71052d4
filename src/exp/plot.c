/* plot.c: training curves and bar charts through gnuplot (plot.h). */
#include "exp/plot.h"
#include "exp/plot_internal.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pifi/fileio.h"
#include "pifi/json.h"

#define PLOT_MAX_POINTS 20000 /* a longer log is thinned to every k-th step */

int plot_is_png(const char *path) {
    static const unsigned char SIG[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    unsigned char b[8];
    int ok = fread(b, 1, 8, f) == 8 && !memcmp(b, SIG, 8);
    fclose(f);
    return ok;
}

int plot_available(PifiErr *err) {
    FILE *p = popen("gnuplot -e 'set terminal pngcairo' >/dev/null 2>&1", "r");
    int st = p ? pclose(p) : -1;
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return pifi_errf(err, "plots need gnuplot with the pngcairo terminal (Debian: apt-get install gnuplot-nox)");
    return 0;
}

/* A gnuplot single-quoted string: ' doubled; no newlines. */
void plot_put_quoted(FILE *f, const char *s) {
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputc('\'', f);
        fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
    }
    fputc('\'', f);
}

int plot_open(Plot *p, const char *png, int width, int height, PifiErr *err) {
    snprintf(p->tmp, sizeof p->tmp, "%s.tmp.%d.png", png, (int)getpid());
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &p->old_pipe);
    p->g = popen("gnuplot 2>/dev/null", "w");
    if (!p->g) {
        sigaction(SIGPIPE, &p->old_pipe, NULL);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: cannot start gnuplot", png);
    }
    fprintf(p->g, "set terminal pngcairo size %d,%d noenhanced font 'sans,10'\nset output ", width, height);
    plot_put_quoted(p->g, p->tmp);
    fprintf(p->g, "\nset grid\n");
    return 0;
}

int plot_close(Plot *p, const char *png, PifiErr *err) {
    fprintf(p->g, "set output\nexit\n");
    int st = pclose(p->g);
    sigaction(SIGPIPE, &p->old_pipe, NULL);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || !plot_is_png(p->tmp)) {
        unlink(p->tmp);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: gnuplot failed (is gnuplot-nox installed?)", png);
    }
    if (rename(p->tmp, png)) {
        unlink(p->tmp);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: cannot rename the plot into place", png);
    }
    return 0;
}

int plot_run_open(PlotRun *r, const char *run_dir, PifiErr *err) {
    memset(r, 0, sizeof *r);
    char *lp = pifi_path_join(run_dir, "train_log.jsonl"), *mp = pifi_path_join(run_dir, "metrics.json");
    int rc = -1;
    if (!lp || !mp) pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    else if (!pifi_read_file(lp, 1u << 30, &r->log, &r->n, err) && !pifi_json_load(mp, 1 << 26, &r->metrics, err)) rc = 0;
    free(lp);
    free(mp);
    if (rc) {
        plot_run_close(r);
        return -1;
    }
    for (size_t i = 0; i < r->n; i++) r->lines += r->log[i] == '\n';
    return 0;
}

int plot_run_next(PlotRun *r, double *step, double *loss) {
    if (r->pos >= r->n) return 0;
    char *line = r->log + r->pos, *nl = memchr(line, '\n', r->n - r->pos);
    if (!nl) return 0;
    *nl = 0;
    r->pos = (size_t)(nl + 1 - r->log);
    cJSON *o = cJSON_Parse(line);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "step"), *l = cJSON_GetObjectItemCaseSensitive(o, "loss");
    int ok = cJSON_IsNumber(s) && cJSON_IsNumber(l) && isfinite(s->valuedouble) && isfinite(l->valuedouble);
    *step = ok ? s->valuedouble : NAN;
    *loss = ok ? l->valuedouble : NAN;
    cJSON_Delete(o);
    return 1;
}

const char *plot_valid_key(const cJSON *metrics, const char **words) {
    const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(metrics, "epochs"), 0);
    int bleu = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(e, "valid"), "bleu"));
    *words = bleu ? "validation BLEU" : "validation accuracy";
    return bleu ? "bleu" : "accuracy";
}

void plot_run_close(PlotRun *r) {
    free(r->log);
    cJSON_Delete(r->metrics);
    memset(r, 0, sizeof *r);
}

int plot_curve(const char *run_dir, const char *png, const char *title, PifiErr *err) {
    PlotRun run;
    Plot p;
    if (plot_run_open(&run, run_dir, err)) return -1;
    int64_t every = run.lines / PLOT_MAX_POINTS + 1;
    if (plot_open(&p, png, 960, 560, err)) {
        plot_run_close(&run);
        return -1;
    }
    FILE *g = p.g;
    fprintf(g, "set title ");
    plot_put_quoted(g, title);
    fprintf(g, "\nset xlabel 'optimizer step'\nset ylabel 'training loss (per batch)'\n"
               "set key top right\n$loss << EOD\n");
    int64_t k = 0, points = 0;
    double step, loss;
    for (; plot_run_next(&run, &step, &loss); k++)
        if (k % every == 0 && !isnan(loss)) {
            fprintf(g, "%.0f %.6g\n", step, loss);
            points++;
        }
    fprintf(g, "EOD\n$valid << EOD\n");
    int nv = 0;
    const char *words, *key = plot_valid_key(run.metrics, &words);
    const cJSON *ep = cJSON_GetObjectItemCaseSensitive(run.metrics, "epochs"), *e;
    cJSON_ArrayForEach(e, ep) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(e, "step");
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(e, "valid"), key);
        if (cJSON_IsNumber(s) && cJSON_IsNumber(a)) {
            fprintf(g, "%.0f %.6g\n", s->valuedouble, a->valuedouble);
            nv++;
        }
    }
    fprintf(g, "EOD\n");
    if (points == 0) fprintf(g, "$loss << EOD\n0 NaN\nEOD\nset yrange [0:1]\n");
    if (nv) {
        fprintf(g, "set y2label '%s (epoch end)'\nset ytics nomirror\nset y2tics\n"
                   "plot $loss using 1:2 with lines lw 1 lc rgb '#4477aa' title 'training loss', "
                   "$valid using 1:2 axes x1y2 with linespoints lw 2 pt 7 ps 1.3 lc rgb '#cc3311' "
                   "title '%s'\n", words, words);
    } else {
        fprintf(g, "plot $loss using 1:2 with lines lw 1 lc rgb '#4477aa' title 'training loss'\n");
    }
    plot_run_close(&run);
    return plot_close(&p, png, err);
}

int plot_bars(const char *png, const char *title, const char *ylabel, int n, const char *const *labels,
              const double *mean, const double *std, PifiErr *err) {
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        if (isnan(mean[i])) continue;
        double s = isnan(std[i]) ? 0 : std[i];
        if (mean[i] - s < lo) lo = mean[i] - s;
        if (mean[i] + s > hi) hi = mean[i] + s;
    }
    if (!(lo <= hi)) lo = 0, hi = 1;
    double pad = (hi - lo) * 0.25 + 0.01;
    Plot p;
    if (plot_open(&p, png, 960, 560, err)) return -1;
    FILE *g = p.g;
    fprintf(g, "set title ");
    plot_put_quoted(g, title);
    fprintf(g, "\nset ylabel ");
    plot_put_quoted(g, ylabel);
    fprintf(g, "\nset style data histogram\nset style histogram errorbars gap 1 lw 1.5\n"
               "set style fill solid 0.6 border -1\nset boxwidth 0.8\nset key off\nset grid noxtics\n"
               "set yrange [%.6g:%.6g]\nset xtics rotate by -20\n$d << EOD\n",
            lo - pad, hi + pad);
    for (int i = 0; i < n; i++) {
        fputc('"', g);
        for (const char *s = labels[i]; *s; s++) fputc(*s == '"' || *s == '\n' ? '\'' : *s, g);
        fprintf(g, "\" %.8g %.8g\n", isnan(mean[i]) ? 0.0 : mean[i], isnan(std[i]) ? 0.0 : std[i]);
    }
    fprintf(g, "EOD\nplot $d using 2:3:xtic(1) lc rgb '#4477aa', "
               "$d using 0:($2 + $3):(sprintf('%%.4f', $2)) with labels offset 0,0.8 notitle\n");
    return plot_close(&p, png, err);
}
