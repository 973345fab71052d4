/* grid_cells.c: the cells of an experiment grid (grid.h): their labels and
 * run directories, the LLM, training options and data description of each,
 * and the grid of a `pifi train` command with lists (grid_from_train).
 * Reading a grid file is grid.c. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exp/grid.h"
#include "pifi/dataset.h"
#include "pifi/fileio.h"

int grid_add_cell(ExpGrid *g, const char *task, PifiMethod m, int layer, int seed, double frac, int llm, PifiErr *err) {
    if (llm < 0 || llm > g->n_llms) return pifi_errf(err, "%s: a cell names LLM %d of %d", g->path, llm, g->n_llms);
    ExpCell c = {task, m, layer, seed, frac, llm, "", NULL};
    grid_cell_method(g, &c, c.label, sizeof c.label);
    size_t n = strlen(c.label);
    if (method_has_llm(m) && layer != INT_MIN && layer != -1)
        n += (size_t)snprintf(c.label + n, sizeof c.label - n, "-L%d", layer);
    if (frac != 1 && n < sizeof c.label) snprintf(c.label + n, sizeof c.label - n, "-f%g", frac);
    for (int i = 0; i < g->n_cells; i++)
        if (!strcmp(g->cells[i].label, c.label) && g->cells[i].task == task && g->cells[i].seed == seed) return 0;
    if (g->n_cells >= GRID_MAX_CELLS) return pifi_errf(err, "%s: more than %d cells", g->path, GRID_MAX_CELLS);
    if (g->n_cells % 64 == 0) {
        ExpCell *nc = realloc(g->cells, (size_t)(g->n_cells + 64) * sizeof *nc);
        if (!nc) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        g->cells = nc;
    }
    char rel[512];
    snprintf(rel, sizeof rel, "runs/%s/%s/seed%d", task, c.label, seed);
    c.dir = pifi_path_join(g->out, rel);
    if (!c.dir) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    g->cells[g->n_cells++] = c;
    return 0;
}

const char *grid_cell_llm(const ExpGrid *g, const ExpCell *c, int *extracted) {
    if (extracted) *extracted = 0;
    if (!method_has_llm(c->method)) return NULL;
    if (c->llm > 0 && c->llm <= g->n_llms) {
        if (extracted) *extracted = g->llms[c->llm - 1].extracted;
        return g->llms[c->llm - 1].path;
    }
    if (extracted) *extracted = g->llm_extracted;
    return g->llm;
}

void grid_cell_method(const ExpGrid *g, const ExpCell *c, char *out, size_t n) {
    if (c->llm > 0 && c->llm <= g->n_llms) snprintf(out, n, "%s@%s", method_name(c->method), g->llms[c->llm - 1].name);
    else snprintf(out, n, "%s", method_name(c->method));
}

void grid_cell_opts(const ExpGrid *g, const ExpCell *c, TrainOpts *o) {
    *o = g->train;
    o->slm = g->slm;
    o->method = c->method;
    o->llm = grid_cell_llm(g, c, NULL);
    o->layer = method_has_llm(c->method) ? c->layer : -1;
    o->seed = (uint64_t)c->seed;
    o->out = c->dir;
    o->overwrite = 0;
}

cJSON *grid_cell_data(const ExpGrid *g, const ExpCell *c) {
    cJSON *o = g->data ? cJSON_Duplicate(g->data, 1) : cJSON_CreateObject();
    if (!o) return NULL;
    if (!g->data) {
        cJSON_AddStringToObject(o, "task", c->task);
        char root[4096];
        const char *dd = task_data_dir(g->data_dir, root, sizeof root);
        char real[PATH_MAX];
        cJSON_AddStringToObject(o, "data_dir", realpath(dd, real) ? real : dd);
    }
    if (c->train_fraction > 0 && c->train_fraction < 1) {
        cJSON_AddNumberToObject(o, "train_fraction", grid_cell_fraction(c));
        cJSON_AddNumberToObject(o, "train_fraction_seed", (double)c->seed);
    }
    return o;
}

double grid_cell_fraction(const ExpCell *c) { return (double)(float)c->train_fraction; }

const ExpEvalTasks *grid_evals_of(const ExpGrid *g, const char *task) {
    for (int i = 0; i < g->n_evals; i++)
        if (!strcmp(g->evals[i].task, task)) return &g->evals[i];
    return NULL;
}

/* ---- the grid of a `pifi train` command ---- */

/* The stem of a path ("data/my-train.tsv" -> "my-train"), letters, digits,
 * '-', '_' and '.' only, else "data". */
static char *file_stem(const char *path) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    const char *dot = strrchr(b, '.');
    size_t n = dot && dot > b ? (size_t)(dot - b) : strlen(b);
    if (n > 40) n = 40;
    int ok = n > 0;
    for (size_t i = 0; i < n; i++) {
        char ch = b[i];
        ok &= (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
              ch == '_' || ch == '.';
    }
    return ok ? strndup(b, n) : strdup("data");
}

int grid_from_train(ExpGrid *g, const ExpTrainSpec *s, PifiErr *err) {
    memset(g, 0, sizeof *g);
    const TrainOpts *t = s->train;
    PifiMethod m = t->method;
    if (!s->task == !s->data) return pifi_errf(err, "train: give a task or files");
    if (s->n_seeds < 1 || s->n_seeds > GRID_MAX_LIST || s->n_layers < 1 || s->n_layers > GRID_MAX_LIST ||
        s->n_eval_tasks < 0 || s->n_eval_tasks > GRID_MAX_LIST)
        return pifi_errf(err, "train: 1 to %d seeds and layers, at most %d eval tasks", GRID_MAX_LIST, GRID_MAX_LIST);
    g->path = strdup("train");
    g->slm = strdup(t->slm);
    g->out = strdup(s->out);
    g->llm = method_has_llm(m) && t->llm ? strdup(t->llm) : NULL;
    g->data_dir = s->data_dir ? strdup(s->data_dir) : NULL;
    g->llm_extracted = g->llm && s->llm_extracted;
    g->train = *t;
    const char *task = s->task ? s->task : NULL;
    if (s->task) {
        const PifiTaskInfo *ti = task_find(s->task);
        if (!ti) {
            grid_free(g);
            return pifi_errf(err, "unknown task \"%s\"", s->task);
        }
        task = ti->name;
    } else {
        const cJSON *tr = cJSON_GetObjectItemCaseSensitive(s->data, "train");
        g->own_task = file_stem(cJSON_IsString(tr) ? tr->valuestring : "data");
        g->data = cJSON_Duplicate(s->data, 1);
        cJSON_DeleteItemFromObjectCaseSensitive(g->data, "train_fraction");
        cJSON_DeleteItemFromObjectCaseSensitive(g->data, "train_fraction_seed");
        cJSON_DeleteItemFromObjectCaseSensitive(g->data, "eval_tasks"); /* the grid's evals do them */
        task = g->own_task;
    }
    if (!g->path || !g->slm || !g->out || (method_has_llm(m) && t->llm && !g->llm) || (s->data_dir && !g->data_dir) ||
        (!s->task && (!g->own_task || !g->data))) {
        grid_free(g);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    }
    if (method_has_llm(m) && !g->llm) {
        grid_free(g);
        return pifi_errf(err, "train: method %s needs an LLM", method_name(m));
    }
    int nl = method_has_llm(m) && !g->llm_extracted ? s->n_layers : 1;
    for (int li = 0; li < nl; li++)
        for (int si = 0; si < s->n_seeds; si++) {
            int layer = !method_has_llm(m) ? 0 : g->llm_extracted ? INT_MIN : s->layers[li];
            if (grid_add_cell(g, task, m, layer, s->seeds[si], s->train_fraction, 0, err)) {
                grid_free(g);
                return -1;
            }
        }
    if (s->n_eval_tasks > 0) {
        ExpEvalTasks *e = &g->evals[g->n_evals++];
        e->task = task;
        e->n = s->n_eval_tasks;
        for (int i = 0; i < e->n; i++) {
            const PifiTaskInfo *o = task_find(s->eval_tasks[i]);
            if (!o) {
                grid_free(g);
                return pifi_errf(err, "unknown task \"%s\"", s->eval_tasks[i]);
            }
            e->others[i] = o->name;
        }
    }
    return 0;
}
