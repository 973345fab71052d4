/* train_grid.c: `pifi train` with several seeds or layers (--seeds 42,1004,
 * --layer -1,-2): -o becomes a directory of runs, one per (layer, seed) cell,
 * trained, resumed and summarised by the experiment runner (src/exp/) as the
 * grid of those cells (grid_from_train), so `pifi train` lists and
 * `pifi experiment` grids share one code path. */
#include "cli/train_grid.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "exp/grid.h"
#include "exp/results.h"
#include "exp/runner.h"
#include "exp/stats.h"
#include "pifi/json.h"
#include "pifi/llm_layer.h"

/* Every layer of the list must exist in the LLM, each once. */
int train_grid_check_layers(const char *llm, const int *layers, int n) {
    LlmConfig cfg;
    PifiErr err = {0};
    if (llm_config_from_path(&cfg, llm, &err)) return cli_fail(&err);
    int L = cfg.num_layers;
    for (int i = 0; i < n; i++) {
        if (layers[i] < -L || layers[i] >= L)
            return cli_usage_error("train", "--layer %d: %s has %d layers (-%d..%d)", layers[i], llm, L, L, L - 1);
        for (int j = 0; j < i; j++)
            if ((layers[i] + L) % L == (layers[j] + L) % L)
                return cli_usage_error("train", "--layer: %d and %d are the same layer of %s", layers[j], layers[i], llm);
    }
    return 0;
}

static void json_stat(cJSON *o, const char *k, double v) {
    if (isnan(v)) cJSON_AddNullToObject(o, k);
    else cJSON_AddNumberToObject(o, k, v);
}

/* Mean +- std over seeds per (evaluation task, method and layer), from the
 * rows of results.csv. */
static void print_grid_summary(const ExpGrid *g, const ExpRunStats *st, int json) {
    ExpResults r;
    PifiErr err = {0};
    if (exp_collect(g, &r, &err)) {
        cli_fail(&err);
        return;
    }
    cJSON *sum = json ? cJSON_CreateArray() : NULL;
    if (!json)
        printf("%s: %d runs: %d trained, %d resumed, %d finished already, %d failed\n", g->out, st->cells, st->trained,
               st->resumed, st->skipped, st->failed);
    /* rows grouped by evaluation task (own test split first), each in run order */
    ExpRow *by_eval = malloc(((size_t)r.n + 1) * sizeof *by_eval);
    int m = 0;
    for (int i = 0; by_eval && i < r.n; i++) {
        int first = 1;
        for (int j = 0; j < i && first; j++) first = strcmp(r.rows[j].eval_task, r.rows[i].eval_task) != 0;
        for (int k = i; first && k < r.n; k++)
            if (!strcmp(r.rows[k].eval_task, r.rows[i].eval_task)) by_eval[m++] = r.rows[k];
    }
    if (by_eval) free(r.rows), r.rows = by_eval;
    char *done = calloc((size_t)r.n + 1, 1);
    const char *shown = "";
    for (int i = 0; done && i < r.n; i++) {
        if (done[i]) continue;
        char label[96], other[96];
        results_label(&r.rows[i], label, sizeof label);
        double *x = malloc(3 * (size_t)r.n * sizeof *x);
        if (!x) break;
        int n = 0;
        for (int j = i; j < r.n; j++) {
            results_label(&r.rows[j], other, sizeof other);
            if (done[j] || strcmp(r.rows[j].eval_task, r.rows[i].eval_task) || strcmp(label, other)) continue;
            done[j] = 1;
            x[n] = r.rows[j].accuracy, x[r.n + n] = r.rows[j].macro_f1, x[2 * r.n + n] = r.rows[j].mcc;
            n++;
        }
        StatSummary s[3];
        for (int k = 0; k < 3; k++) stats_summary(x + (size_t)k * (size_t)r.n, n, &s[k]);
        free(x);
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "task", r.rows[i].task);
            cJSON_AddStringToObject(o, "eval_task", r.rows[i].eval_task);
            cJSON_AddStringToObject(o, "method", r.rows[i].method);
            if (r.rows[i].has_layer && r.rows[i].layer != INT_MIN) cJSON_AddNumberToObject(o, "layer", r.rows[i].layer);
            else cJSON_AddNullToObject(o, "layer");
            cJSON_AddNumberToObject(o, "runs", n);
            static const char *const K[3][2] = {{"accuracy_mean", "accuracy_std"}, {"macro_f1_mean", "macro_f1_std"},
                                                {"mcc_mean", "mcc_std"}};
            for (int k = 0; k < 3; k++) json_stat(o, K[k][0], s[k].mean), json_stat(o, K[k][1], s[k].std);
            cJSON_AddItemToArray(sum, o);
            continue;
        }
        if (strcmp(shown, r.rows[i].eval_task)) {
            shown = r.rows[i].eval_task;
            printf("test split of %s%s:  runs  accuracy         macro-F1         MCC\n", shown,
                   strcmp(shown, r.rows[i].task) ? " (cross-domain)" : "");
        }
        printf("  %-20s %4d", label, n);
        for (int k = 0; k < 3; k++) {
            if (isnan(s[k].std)) printf("  %.4f         ", s[k].mean);
            else printf("  %.4f ± %.4f", s[k].mean, s[k].std);
        }
        printf("\n");
    }
    free(done);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "out", g->out);
        cJSON_AddNumberToObject(o, "runs", st->cells);
        cJSON_AddNumberToObject(o, "trained", st->trained);
        cJSON_AddNumberToObject(o, "resumed", st->resumed);
        cJSON_AddNumberToObject(o, "finished_already", st->skipped);
        cJSON_AddNumberToObject(o, "failed", st->failed);
        cJSON_AddItemToObject(o, "summary", sum);
        char *s = cJSON_PrintUnformatted(o);
        if (s) printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("results: %s/results.csv, %s/results.md, %s/plots/\n", g->out, g->out, g->out);
    }
    results_free(&r);
}

/* Train the cells (layers x seeds) with the experiment runner. */
int train_grid_run(const TrainOpts *o, const DataArgs *da, const cJSON *data, int llm_extracted, const int *seeds,
                    int n_seeds, const int *layers, int n_layers, int json) {
    ExpTrainSpec sp = {0};
    sp.train = o;
    sp.llm_extracted = llm_extracted;
    sp.task = da->task;
    sp.data = da->task ? NULL : data;
    sp.data_dir = da->data_dir;
    sp.out = o->out;
    sp.seeds = seeds, sp.n_seeds = n_seeds;
    sp.layers = layers, sp.n_layers = n_layers;
    sp.train_fraction = da->train_fraction > 0 ? da->train_fraction : 1.0;
    sp.eval_tasks = da->eval_tasks, sp.n_eval_tasks = da->n_eval_tasks;
    PifiErr err = {0};
    ExpGrid g;
    if (grid_from_train(&g, &sp, &err)) return cli_fail(&err);
    ExpRunOpts ro = {0};
    Progress progress;
    TrainCallbacks cb = cli_train_callbacks(&progress); /* the grid's lines, each run's bar, on stderr */
    ro.cb = &cb;
    ro.proc = cli_cell_processes();
    ExpRunStats st;
    int rc = exp_run(&g, &ro, &st, &err), status = 0; /* SIGINT/SIGTERM: the running cell saves its state */
    if (st.interrupted) {
        fprintf(stderr, "pifi: train: interrupted; the run's state is saved. Continue with the same command.\n");
        status = 128 + st.interrupted;
    } else if (rc) {
        status = cli_fail(&err);
    }
    if (!st.interrupted && (rc == 0 || st.trained + st.skipped + st.resumed > 0)) print_grid_summary(&g, &st, json);
    grid_free(&g);
    return status;
}

