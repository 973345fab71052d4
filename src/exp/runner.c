/* runner.c: the cells of a grid trained one after another, resumably
 * (runner.h). Everything a result row needs lives in the cell's run
 * directory (metrics.json, train_log.jsonl, cell.json with the wall time,
 * eval_<task>.json per cross-domain evaluation), so results.csv is rebuilt
 * from the directories after every cell. */
#include "exp/runner.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "data/tasks_desc.h"
#include "exp/eta.h"
#include "exp/evalset.h"
#include "exp/report.h"
#include "pifi/fileio.h"
#include "pifi/json.h"
#include "train/runio.h"
#include "train/train_run.h"

/* A line of the grid to the caller's callback (the CLI: stderr). */
static void say(const TrainCallbacks *cb, PifiLogLevel level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(const TrainCallbacks *cb, PifiLogLevel level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    pifi_vlogf(cb->on_log, cb->user, level, fmt, ap);
    va_end(ap);
}

const char *cell_state_name(CellState s) {
    static const char *N[] = {"new", "done", "resume", "restart"};
    return N[s];
}

static cJSON *load_json_in(const char *dir, const char *name) {
    char *p = pifi_path_join(dir, name);
    cJSON *j = NULL;
    PifiErr e = {0};
    if (p && pifi_file_exists(p) && pifi_json_load(p, 1 << 26, &j, &e)) j = NULL;
    free(p);
    return j;
}

static int has_file(const char *dir, const char *name) {
    char *p = pifi_path_join(dir, name);
    int ok = p && pifi_file_exists(p);
    free(p);
    return ok;
}

static double num_at(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int metrics_complete(const cJSON *m) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "test");
    return !isnan(num_at(t, "accuracy")) && !isnan(num_at(t, "macro_f1")) && !isnan(num_at(t, "mcc")) &&
           !isnan(num_at(m, "best_epoch"));
}

/* The cell's weights were removed by keep = "metrics" (cell.json says so). */
static int weights_removed(const ExpCell *c) {
    cJSON *cj = load_json_in(c->dir, "cell.json");
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(cj, "weights");
    int removed = cJSON_IsString(w) && !strcmp(w->valuestring, "removed");
    cJSON_Delete(cj);
    return removed;
}

CellState cell_state(const ExpCell *c) {
    cJSON *m = load_json_in(c->dir, "metrics.json");
    int done = m && metrics_complete(m) && (has_file(c->dir, "model.safetensors") || weights_removed(c));
    cJSON_Delete(m);
    if (done) return CELL_DONE;
    if (has_file(c->dir, "checkpoint/state.safetensors") && has_file(c->dir, "config.json")) return CELL_RESUME;
    if (has_file(c->dir, "config.json")) return CELL_RESTART;
    return CELL_NEW;
}

/* ---- settings of an existing run against the grid's ---- */

static void leaf_str(const cJSON *v, char *out, size_t n) {
    if (!v) snprintf(out, n, "(none)");
    else if (cJSON_IsString(v)) snprintf(out, n, "\"%s\"", v->valuestring);
    else if (cJSON_IsNumber(v)) snprintf(out, n, "%.9g", v->valuedouble);
    else if (cJSON_IsBool(v)) snprintf(out, n, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsNull(v)) snprintf(out, n, "null");
    else snprintf(out, n, "(a table)");
}

static int same_leaf(const cJSON *a, const cJSON *b) {
    if (!a || !b) return a == b;
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b)) return a->valuedouble == b->valuedouble;
    return cJSON_Compare(a, b, 1);
}

static int differ(const ExpCell *c, const char *what, const cJSON *had, const cJSON *want, PifiErr *err) {
    char h[256], w[256];
    leaf_str(had, h, sizeof h);
    leaf_str(want, w, sizeof w);
    return pifi_errf(err, "%s: was trained with %s = %s but the grid says %s; remove that directory or use another -o",
                     c->dir, what, h, w);
}

int cell_check_config(const ExpGrid *g, const ExpCell *c, PifiErr *err) {
    cJSON *cfg = load_json_in(c->dir, "config.json");
    if (!cfg) {
        if (has_file(c->dir, "config.json"))
            return pifi_errf(err, "%s/config.json: unreadable; remove that directory to train the cell again", c->dir);
        return 0;
    }
    const cJSON *have = cJSON_GetObjectItemCaseSensitive(cfg, "pifi");
    TrainOpts o, d;
    grid_cell_opts(g, c, &o); /* with the cell's own llm */
    /* a setting an older pifi did not record (grad_accum, ...) was its default */
    train_opts_default(&d);
    d.method = o.method;
    d.slm = o.slm;
    PifiErr ignore = {0}; /* pooling auto as the run records it (the SLM family's); unreadable: left as is */
    train_opts_resolve(&o, &ignore);
    train_opts_resolve(&d, &ignore);
    cJSON *data = grid_cell_data(g, c);
    cJSON *want = data ? runio_opts_json(&o, 2, NULL, data) : NULL;
    cJSON *dflt = runio_opts_json(&d, 2, NULL, NULL);
    int rc = 0;
    if (!want || !dflt) {
        rc = pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        goto out;
    }
    if (!cJSON_IsObject(have)) {
        rc = pifi_errf(err, "%s/config.json: not a pifi run; remove that directory or use another -o", c->dir);
        goto out;
    }
    static const char *TOP[] = {"method", "layer", "llm", "pooling"};
    for (size_t i = 0; i < sizeof TOP / sizeof TOP[0]; i++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(have, TOP[i]), *b = cJSON_GetObjectItemCaseSensitive(want, TOP[i]);
        if (!strcmp(TOP[i], "llm") && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(have, "llm_bundled"))) continue;
        if (!strcmp(TOP[i], "layer") && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(have, "llm_bundled"))) continue;
        if (!a && !strcmp(TOP[i], "pooling")) a = cJSON_GetObjectItemCaseSensitive(dflt, TOP[i]);
        if (!same_leaf(a, b)) {
            rc = differ(c, TOP[i], a, b, err);
            goto out;
        }
    }
    const cJSON *ht = cJSON_GetObjectItemCaseSensitive(have, "train"), *wt = cJSON_GetObjectItemCaseSensitive(want, "train");
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(dflt, "train");
    for (const cJSON *it = wt ? wt->child : NULL; it; it = it->next) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(ht, it->string);
        if (!a) a = cJSON_GetObjectItemCaseSensitive(dt, it->string);
        if (!same_leaf(a, it)) {
            char what[96];
            snprintf(what, sizeof what, "train.%s", it->string);
            rc = differ(c, what, a, it, err);
            goto out;
        }
    }
    const cJSON *hd = cJSON_GetObjectItemCaseSensitive(have, "data");
    static const char *DATA[] = {"task", "train_fraction", "train_fraction_seed", "train", "valid", "test",
                                 "text_col", "text_pair_col", "label_col"};
    for (size_t i = 0; i < sizeof DATA / sizeof DATA[0]; i++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(hd, DATA[i]), *b = cJSON_GetObjectItemCaseSensitive(data, DATA[i]);
        if (!same_leaf(a, b)) {
            char what[96];
            snprintf(what, sizeof what, "data.%s", DATA[i]);
            rc = differ(c, what, a, b, err);
            goto out;
        }
    }
out:
    cJSON_Delete(want);
    cJSON_Delete(dflt);
    cJSON_Delete(data);
    cJSON_Delete(cfg);
    return rc;
}

/* ---- rows ---- */

static long long last_logged_step(const char *dir) {
    char *p = pifi_path_join(dir, "train_log.jsonl"), *buf = NULL;
    size_t n = 0;
    PifiErr e = {0};
    long long step = -1;
    if (p && pifi_file_exists(p) && pifi_read_file(p, 1u << 30, &buf, &n, &e) == 0) {
        size_t end = n;
        while (end > 0 && buf[end - 1] == '\n') end--;
        size_t st = end;
        while (st > 0 && buf[st - 1] != '\n') st--;
        if (end > st && sscanf(buf + st, "{\"step\":%lld", &step) != 1) step = -1;
    }
    free(buf);
    free(p);
    return step;
}

static void base_row(const ExpGrid *g, const ExpCell *c, ExpRow *w) {
    memset(w, 0, sizeof *w);
    snprintf(w->task, sizeof w->task, "%s", c->task);
    grid_cell_method(g, c, w->method, sizeof w->method); /* "pifi", or "pifi@stories260K" for an [[also]] llm's */
    w->has_layer = method_has_llm(c->method);
    w->layer = w->has_layer ? c->layer : 0;
    w->seed = c->seed;
    w->train_fraction = c->train_fraction;
    snprintf(w->run_dir, sizeof w->run_dir, "%s", c->dir);
}

static int cell_rows(const ExpGrid *g, const ExpCell *c, ExpResults *r, PifiErr *err) {
    cJSON *m = load_json_in(c->dir, "metrics.json");
    if (!m || !metrics_complete(m)) {
        cJSON_Delete(m);
        return 0;
    }
    ExpRow w;
    base_row(g, c, &w);
    snprintf(w.eval_task, sizeof w.eval_task, "%s", c->task);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "test");
    w.accuracy = num_at(t, "accuracy");
    w.macro_f1 = num_at(t, "macro_f1");
    w.mcc = num_at(t, "mcc");
    w.best_epoch = (long long)num_at(m, "best_epoch");
    w.valid_accuracy = NAN;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(m, "epochs")) {
        if (num_at(e, "epoch") == (double)w.best_epoch)
            w.valid_accuracy = num_at(cJSON_GetObjectItemCaseSensitive(e, "valid"), "accuracy");
    }
    w.steps = last_logged_step(c->dir);
    cJSON *cj = load_json_in(c->dir, "cell.json");
    w.seconds = num_at(cj, "seconds");
    cJSON_Delete(cj);
    cJSON_Delete(m);
    if (results_add(r, &w, err)) return -1;
    const ExpEvalTasks *ev = grid_evals_of(g, c->task);
    for (int i = 0; ev && i < ev->n; i++) {
        char name[128];
        snprintf(name, sizeof name, "eval_%s.json", ev->others[i]);
        cJSON *x = load_json_in(c->dir, name);
        if (!x || isnan(num_at(x, "accuracy"))) {
            cJSON_Delete(x);
            continue;
        }
        ExpRow v = w;
        snprintf(v.eval_task, sizeof v.eval_task, "%s", ev->others[i]);
        v.accuracy = num_at(x, "accuracy");
        v.macro_f1 = num_at(x, "macro_f1");
        v.mcc = num_at(x, "mcc");
        v.seconds = num_at(x, "seconds");
        cJSON_Delete(x);
        if (results_add(r, &v, err)) return -1;
    }
    return 0;
}

int exp_collect(const ExpGrid *g, ExpResults *r, PifiErr *err) {
    memset(r, 0, sizeof *r);
    for (int i = 0; i < g->n_cells; i++)
        if (cell_rows(g, &g->cells[i], r, err)) {
            results_free(r);
            return -1;
        }
    return 0;
}

/* ---- running ---- */

static int train_cell(const ExpGrid *g, const ExpCell *c, CellState s, const TrainCallbacks *cb, TrainResult *res,
                      PifiErr *err) {
    TrainOpts o;
    grid_cell_opts(g, c, &o);
    if (s == CELL_RESTART) o.overwrite = 1;
    cJSON *data = grid_cell_data(g, c);
    if (!data) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    /* wall time: the parts before an interruption are in cell_time.json (a
     * restarted cell starts over, and so does its time) */
    cJSON *ct = s == CELL_RESUME ? load_json_in(c->dir, "cell_time.json") : NULL;
    double before = ct && num_at(ct, "seconds") >= 0 ? num_at(ct, "seconds") : 0.0;
    int parts = ct && num_at(ct, "parts") >= 1 ? (int)num_at(ct, "parts") : 0;
    cJSON_Delete(ct);
    double t0 = pifi_now();
    /* the splits exactly as `pifi train --task T --train-fraction F --seed S` loads them */
    PifiTaskSplits ts;
    int rc = task_desc_load(data, PIFI_SPLITS_ALL, NULL, 0, &ts, err);
    if (rc == 0) {
        PifiDataset *splits[3] = {&ts.split[0], ts.available[1] ? &ts.split[1] : NULL,
                                  ts.available[2] ? &ts.split[2] : NULL};
        if (!splits[2]) rc = pifi_errf(err, "%s: task %s has no test split: %s", c->dir, c->task, ts.why_missing[2]);
        else rc = train_run(&o, splits, data, s == CELL_RESUME, NULL /* one process */, cb, res, err);
        task_splits_free(&ts);
    }
    char *tp = pifi_path_join(c->dir, "cell_time.json");
    if (rc == 0) {
        cJSON *cj = cJSON_CreateObject();
        double part = res->interrupted ? pifi_now() - t0 : res->seconds;
        cJSON_AddNumberToObject(cj, "seconds", before + part);
        cJSON_AddNumberToObject(cj, "parts", parts + 1);
        if (!res->interrupted) cJSON_AddBoolToObject(cj, "resumed", parts > 0 || s == CELL_RESUME);
        char *p = pifi_path_join(c->dir, res->interrupted ? "cell_time.json" : "cell.json");
        rc = p && cj ? runio_write_json(p, cj, err) : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        free(p);
        cJSON_Delete(cj);
    }
    if (rc == 0 && !res->interrupted && tp) unlink(tp);
    free(tp);
    cJSON_Delete(data);
    return rc;
}

/* One cross-domain evaluation as eval_<task>.json and metrics.json's "eval_tasks" hold it. */
static cJSON *eval_json(const char *task, const EvalSummary *s) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "task", task);
    cJSON_AddStringToObject(o, "split", "test");
    cJSON_AddNumberToObject(o, "n", (double)s->n);
    cJSON_AddNumberToObject(o, "loss", s->loss);
    cJSON_AddNumberToObject(o, "accuracy", s->accuracy);
    cJSON_AddNumberToObject(o, "macro_f1", s->macro_f1);
    cJSON_AddNumberToObject(o, "mcc", s->mcc);
    cJSON_AddNumberToObject(o, "seconds", s->seconds);
    if (s->label_note[0]) cJSON_AddStringToObject(o, "label_note", s->label_note);
    return o;
}

int exp_eval_run(const char *run_dir, const char *const *tasks, int n, const char *data_dir, int batch, cJSON **out,
                 PifiErr *err) {
    *out = NULL;
    if (n <= 0) return 0;
    RunModel rm;
    if (runio_load_run(&rm, run_dir, err)) return -1;
    cJSON *all = cJSON_CreateObject();
    int rc = all ? 0 : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    for (int i = 0; i < n && rc == 0; i++) {
        EvalSummary s;
        rc = evalset_task(&rm, tasks[i], data_dir, PIFI_SPLIT_TEST, batch, &s, err);
        if (rc == 0) cJSON_AddItemToObject(all, tasks[i], eval_json(tasks[i], &s));
    }
    runio_free_run(&rm);
    if (rc) {
        cJSON_Delete(all);
        return pifi_err_prefix(err, run_dir);
    }
    *out = all;
    return 0;
}

/* The cross-domain evaluations of a finished cell that are not there yet. */
static int eval_cell(const ExpGrid *g, const ExpCell *c, const TrainCallbacks *cb, int *done, PifiErr *err) {
    const ExpEvalTasks *ev = grid_evals_of(g, c->task);
    RunModel rm;
    int loaded = 0, rc = 0;
    for (int i = 0; ev && i < ev->n && rc == 0; i++) {
        char name[128];
        snprintf(name, sizeof name, "eval_%s.json", ev->others[i]);
        cJSON *x = load_json_in(c->dir, name);
        int have = x && !isnan(num_at(x, "accuracy"));
        cJSON_Delete(x);
        if (have) continue;
        if (weights_removed(c))
            return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: cannot add the evaluation on %s: the cell's weights were "
                             "removed (keep = \"metrics\"); remove the directory to train it again", c->dir,
                             ev->others[i]);
        if (!loaded && (rc = runio_load_run(&rm, c->dir, err)) == 0) loaded = 1;
        if (rc) break;
        EvalSummary s;
        if ((rc = evalset_task(&rm, ev->others[i], g->data_dir, PIFI_SPLIT_TEST, g->train.eval_batch, &s, err))) {
            pifi_err_prefix(err, c->dir);
            break;
        }
        cJSON *o = eval_json(ev->others[i], &s);
        char *p = pifi_path_join(c->dir, name);
        rc = p ? runio_write_json(p, o, err) : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        free(p);
        cJSON_Delete(o);
        if (rc == 0) {
            (*done)++;
            say(cb, PIFI_LOG_NOTE, "experiment:   on %s: accuracy %.4f  macro-F1 %.4f  MCC %.4f", ev->others[i],
                s.accuracy, s.macro_f1, s.mcc);
        }
    }
    if (loaded) runio_free_run(&rm);
    return rc;
}

/* The files a cell keeps under keep = "metrics": what results.csv, the
 * report and resuming the grid read. */
static int kept_for_metrics(const char *name) {
    return !strcmp(name, "config.json") || !strcmp(name, "metrics.json") || !strcmp(name, "train_log.jsonl") ||
           !strcmp(name, "cell.json") || (!strncmp(name, "eval_", 5) && strlen(name) > 10 &&
                                          !strcmp(name + strlen(name) - 5, ".json"));
}

static int remove_file_in(const char *dir, const char *name, PifiErr *err) {
    char *p = pifi_path_join(dir, name);
    int rc = !p ? pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory")
             : unlink(p) && errno != ENOENT ? pifi_errk(err, PIFI_ERR_RUNTIME, "%s: cannot remove: %s", p, strerror(errno))
                                           : 0;
    free(p);
    return rc;
}

/* Apply keep to a finished cell whose evaluations are done: "model" removes
 * checkpoint/, "metrics" also every file but kept_for_metrics's, after
 * marking cell.json ("weights": "removed": the cell stays finished). */
static int prune_cell(const ExpGrid *g, const ExpCell *c, PifiErr *err) {
    if (g->keep == KEEP_ALL) return 0;
    if (g->keep == KEEP_METRICS && !weights_removed(c)) {
        cJSON *cj = load_json_in(c->dir, "cell.json");
        if (!cj) cj = cJSON_CreateObject();
        cJSON_DeleteItemFromObject(cj, "weights");
        cJSON_AddStringToObject(cj, "weights", "removed");
        char *p = pifi_path_join(c->dir, "cell.json");
        int rc = p && cj ? runio_write_json(p, cj, err) : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        free(p);
        cJSON_Delete(cj);
        if (rc) return -1;
    }
    char *ck = pifi_path_join(c->dir, "checkpoint");
    if (!ck) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    DIR *d = opendir(ck);
    struct dirent *de;
    int rc = 0;
    while (d && rc == 0 && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) rc = remove_file_in(ck, de->d_name, err);
    if (d) closedir(d);
    if (rc == 0 && rmdir(ck) && errno != ENOENT)
        rc = pifi_errk(err, PIFI_ERR_RUNTIME, "%s: cannot remove: %s", ck, strerror(errno));
    free(ck);
    if (rc || g->keep != KEEP_METRICS) return rc;
    d = opendir(c->dir);
    while (d && rc == 0 && (de = readdir(d))) {
        if (de->d_name[0] == '.' || kept_for_metrics(de->d_name)) continue;
        char *p = pifi_path_join(c->dir, de->d_name);
        struct stat sb;
        int plain = p && lstat(p, &sb) == 0 && S_ISREG(sb.st_mode);
        free(p);
        if (plain) rc = remove_file_in(c->dir, de->d_name, err);
    }
    if (d) closedir(d);
    return rc;
}

static int write_csv(const ExpGrid *g, PifiErr *err) {
    ExpResults r;
    if (exp_collect(g, &r, err)) return -1;
    char *p = pifi_path_join(g->out, "results.csv");
    int rc = p ? results_write_csv(&r, p, err) : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    free(p);
    results_free(&r);
    return rc;
}

static void cell_title(const ExpCell *c, char *out, size_t n) {
    snprintf(out, n, "%s %s seed %d", c->task, c->label, c->seed);
}

/* ---- one cell in a child process ----
 * Each cell trains and evaluates in a fork()ed process: a cell then starts
 * from a fresh process exactly as `pifi train` does, a crash of one cell
 * (or the kernel's OOM killer) does not end the grid, and the parent never
 * starts OpenMP or oneDNN (fork after OpenMP is unsafe). The child reports
 * through a pipe. */

typedef struct {
    int rc;          /* 0, or -1 with err */
    int trained;     /* it ran train_run */
    int evals;       /* cross-domain evaluations done */
    TrainResult res;
    PifiErr err;
} CellReport;

/* The parent's signal state, for forwarding SIGINT/SIGTERM to the running
 * cell (a handler can reach nothing else). */
static volatile sig_atomic_t g_child_pid, g_stop;

static void on_stop_signal(int sig) {
    g_stop = sig;
    if (g_child_pid > 0) kill((pid_t)g_child_pid, sig);
}

static int evals_missing(const ExpGrid *g, const ExpCell *c) {
    const ExpEvalTasks *ev = grid_evals_of(g, c->task);
    for (int i = 0; ev && i < ev->n; i++) {
        char name[128];
        snprintf(name, sizeof name, "eval_%s.json", ev->others[i]);
        cJSON *x = load_json_in(c->dir, name);
        int have = x && !isnan(num_at(x, "accuracy"));
        cJSON_Delete(x);
        if (!have) return 1;
    }
    return 0;
}

/* A cell's training (unless done) and cross-domain evaluations, here. */
static void cell_work(const ExpGrid *g, const ExpCell *c, CellState s, const TrainCallbacks *cb, CellReport *r) {
    memset(r, 0, sizeof *r);
    if (s != CELL_DONE) {
        r->trained = 1;
        r->rc = train_cell(g, c, s, cb, &r->res, &r->err);
    }
    if (r->rc == 0 && !r->res.interrupted) {
        if (cb->on_phase)
            cb->on_phase(TRAIN_PHASE_EVAL, "interrupted during the cell's cross-domain evaluations; its training is saved",
                         cb->user);
        r->rc = eval_cell(g, c, cb, &r->evals, &r->err);
    }
}

static void child_cell(const ExpGrid *g, const ExpCell *c, CellState s, const TrainCallbacks *cb,
                       const ExpProcess *proc, int fd) {
    proc->cell_begin(); /* as `pifi train`: blocked in every thread, taken between steps; the parent forwards */
    CellReport r;
    cell_work(g, c, s, cb, &r);
    const char *p = (const char *)&r;
    for (size_t left = sizeof r; left > 0;) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        p += w;
        left -= (size_t)w;
    }
    fflush(NULL);
    proc->cell_end();
}

static int run_cell_isolated(const ExpGrid *g, const ExpCell *c, CellState s, const TrainCallbacks *cb,
                             const ExpProcess *proc, CellReport *rep) {
    memset(rep, 0, sizeof *rep);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC)) return pifi_errk(&rep->err, PIFI_ERR_RUNTIME, "cannot create a pipe"), rep->rc = -1;
    fflush(NULL);
    sigset_t stop, old; /* blocked across fork: the child blocks them for good, the parent forwards them */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGUSR1);
    sigprocmask(SIG_BLOCK, &stop, &old);
    pid_t pid = fork();
    if (pid < 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        close(fds[0]);
        close(fds[1]);
        return pifi_errk(&rep->err, PIFI_ERR_RUNTIME, "cannot fork the cell's process"), rep->rc = -1;
    }
    if (pid == 0) {
        close(fds[0]);
        child_cell(g, c, s, cb, proc, fds[1]); /* does not return */
    }
    close(fds[1]);
    g_child_pid = pid;
    sigprocmask(SIG_SETMASK, &old, NULL); /* one that came meanwhile is forwarded now */
    if (g_stop) kill(pid, (int)g_stop); /* a signal that came just before the fork */
    size_t got = 0;
    char *p = (char *)rep;
    while (got < sizeof *rep) {
        ssize_t n = read(fds[0], p + got, sizeof *rep - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    g_child_pid = 0;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (got != sizeof *rep && (code == 128 + SIGINT || code == 128 + SIGTERM)) {
        memset(rep, 0, sizeof *rep); /* stopped at once while loading or evaluating (stopsig.h) */
        rep->res.interrupted = code - 128;
    } else if (got != sizeof *rep) {
        memset(rep, 0, sizeof *rep);
        rep->rc = -1;
        if (WIFSIGNALED(status))
            pifi_errk(&rep->err, PIFI_ERR_RUNTIME, "%s: the cell's process died of signal %d%s", c->dir, WTERMSIG(status),
                      WTERMSIG(status) == SIGKILL ? " (out of memory?)" : "");
        else
            pifi_errk(&rep->err, PIFI_ERR_RUNTIME, "%s: the cell's process exited (%d) without reporting", c->dir,
                      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    return rep->rc;
}

static int run_cells(const ExpGrid *g, const CellState *state, const TrainCallbacks *cb, const ExpProcess *proc,
                     ExpRunStats *st, PifiErr *err) {
    PifiErr first = {0};
    for (int i = 0; i < g->n_cells && !st->interrupted; i++) {
        const ExpCell *c = &g->cells[i];
        char title[256];
        cell_title(c, title, sizeof title);
        if (g_stop) {
            st->interrupted = g_stop;
            break;
        }
        if (state[i] == CELL_DONE) {
            st->skipped++;
            say(cb, PIFI_LOG_NOTE, "experiment: cell %d/%d: %s: finished already", i + 1, g->n_cells, title);
            if (!evals_missing(g, c)) {
                PifiErr pe = {0};
                if (prune_cell(g, c, &pe)) { /* keep = "model"/"metrics" applies to cells finished before too */
                    st->failed++;
                    say(cb, PIFI_LOG_NOTE, "experiment: cell %d/%d: %s: %s", i + 1, g->n_cells, title, pe.msg);
                    if (st->failed == 1) first = pe;
                }
                continue;
            }
        } else {
            ExpEta eta;
            char left[128];
            exp_eta(g, i, &eta);
            exp_eta_format(&eta, left, sizeof left);
            say(cb, PIFI_LOG_NOTE, "experiment: cell %d/%d: %s: %s %s%s%s%s", i + 1, g->n_cells, title,
                state[i] == CELL_RESUME ? "resuming" : "training", c->dir, *left ? " (grid: " : "", left,
                *left ? ")" : "");
        }
        CellReport rep;
        if (proc) run_cell_isolated(g, c, state[i], cb, proc, &rep);
        else cell_work(g, c, state[i], cb, &rep);
        st->evals += rep.evals;
        if (rep.rc == 0 && rep.res.interrupted) {
            st->interrupted = rep.res.interrupted;
            break;
        }
        if (rep.rc) {
            if (g_stop) { /* stopped while loading or evaluating: not a failure */
                st->interrupted = g_stop;
                break;
            }
            st->failed++;
            say(cb, PIFI_LOG_NOTE, "experiment: cell %d/%d: %s failed: %s", i + 1, g->n_cells, title, rep.err.msg);
            if (st->failed == 1) first = rep.err;
            continue;
        }
        if (prune_cell(g, c, &rep.err)) {
            st->failed++;
            say(cb, PIFI_LOG_NOTE, "experiment: cell %d/%d: %s: %s", i + 1, g->n_cells, title, rep.err.msg);
            if (st->failed == 1) first = rep.err;
        }
        if (rep.trained) {
            if (state[i] == CELL_RESUME) st->resumed++;
            else st->trained++;
            say(cb, PIFI_LOG_NOTE, "experiment: cell %d/%d: test accuracy %.4f  macro-F1 %.4f  MCC %.4f  (%.1f s)",
                        i + 1, g->n_cells, rep.res.test_accuracy, rep.res.test_macro_f1, rep.res.test_mcc,
                        rep.res.seconds);
        }
        if (write_csv(g, err)) return -1;
        if (rep.trained) { /* its curve now; the rest are drawn at the end if missing */
            ExpRow w;
            base_row(g, c, &w);
            snprintf(w.eval_task, sizeof w.eval_task, "%s", c->task);
            PifiErr pe = {0};
            if (report_curve(&w, g->out, &pe)) say(cb, PIFI_LOG_NOTE, "experiment: %s", pe.msg);
        }
    }
    if (write_csv(g, err)) return -1;
    ExpResults r;
    if (exp_collect(g, &r, err)) return -1;
    int rc = report_write(&r, g->out, REPORT_CURVES_MISSING, cb->on_log, cb->user, err);
    results_free(&r);
    if (rc) return -1;
    if (st->failed) {
        if (err) {
            pifi_errk(err, first.kind ? first.kind : PIFI_ERR_RUNTIME, "%d of %d cells failed; the first: %s",
                      st->failed, g->n_cells, first.msg);
        }
        return -1;
    }
    return 0;
}

int exp_run(const ExpGrid *g, const ExpRunOpts *ro, ExpRunStats *st, PifiErr *err) {
    memset(st, 0, sizeof *st);
    st->cells = g->n_cells;
    static const TrainCallbacks quiet = {0};
    const TrainCallbacks *cb = ro->cb ? ro->cb : &quiet;
    CellState *state = malloc((size_t)g->n_cells * sizeof *state + 1);
    if (!state) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    /* every existing run must match the grid before anything starts */
    for (int i = 0; i < g->n_cells; i++) {
        state[i] = cell_state(&g->cells[i]);
        if (state[i] != CELL_NEW && cell_check_config(g, &g->cells[i], err)) {
            free(state);
            return -1;
        }
    }
    if (ro->dry_run) {
        int count[4] = {0};
        for (int i = 0; i < g->n_cells; i++) {
            count[state[i]]++;
            say(cb, PIFI_LOG_PLAIN, "%-8s %s", cell_state_name(state[i]), g->cells[i].dir);
        }
        ExpEta eta;
        char left[128];
        exp_eta(g, 0, &eta);
        exp_eta_format(&eta, left, sizeof left);
        say(cb, PIFI_LOG_PLAIN, "%d cells: %d done, %d to resume, %d to restart, %d new%s%s", g->n_cells, count[CELL_DONE],
                    count[CELL_RESUME], count[CELL_RESTART], count[CELL_NEW], *left ? "; " : "", left);
        free(state);
        return 0;
    }
    if (pifi_mkdirs(g->out, err)) {
        free(state);
        return -1;
    }
    /* one grid at a time in an output directory (the lock goes with the process) */
    char *lock_path = pifi_path_join(g->out, ".lock");
    int lock = lock_path ? open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644) : -1;
    free(lock_path);
    if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB)) {
        if (lock >= 0) close(lock);
        free(state);
        return pifi_errf(err, "%s: another `pifi experiment` is running there (or the directory is not writable)", g->out);
    }
    g_stop = 0;
    int rc;
    if (!ro->proc) {
        rc = run_cells(g, state, cb, NULL, st, err);
    } else { /* this process forwards SIGINT/SIGTERM to the cell's, which takes them itself */
        struct sigaction sa, old_int, old_term;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_stop_signal;
        sigemptyset(&sa.sa_mask);
        ro->proc->block(); /* the handler first, then unblocked: a pending signal is forwarded, none killed */
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
        ro->proc->unblock();
        rc = run_cells(g, state, cb, ro->proc, st, err);
        ro->proc->block(); /* blocked again before the handler goes: a late signal is dropped, the grid's status stands */
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
    close(lock);
    free(state);
    return rc;
}
