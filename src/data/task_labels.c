/* task_labels.c: a named task's classes put onto a trained run's classes
 * (tasks_desc.h), so that evaluating a run on another task compares class
 * NAMES, never bare indices: a run trained on a file whose first row was
 * "positive" has positive as class 0, CR has negative as class 0, and
 * comparing indices would swap every label.
 *
 * The rule, in order: (1) every task class has a run class of exactly the
 * same name; (2) the same ignoring ASCII case, when that pairs the classes
 * one to one ("Positive" = "positive"; a note says so); (3) the run's classes
 * are the integers "0".."K-1" (it was trained on numeric labels, so its
 * classes have no names): class k is the task's class k, with a note; else an
 * error naming both lists. The number of classes must be the same. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/data_internal.h"
#include "data/tasks_desc.h"
#include "pifi/fileio.h"

/* "a, b, c" into buf (n bytes), shortened with "..." when long. */
static void list_names(char *buf, size_t n, const char *const *names, int k) {
    buf[0] = 0;
    for (int i = 0; i < k; i++) {
        size_t used = strlen(buf);
        if (used + strlen(names[i]) + 8 > n) {
            snprintf(buf + used, n - used, "%s...", i ? ", " : "");
            return;
        }
        snprintf(buf + used, n - used, "%s%s", i ? ", " : "", names[i]);
    }
}

/* 1 when each task class pairs with one run class (to_run[] filled, no run
 * class used twice) under the comparison; 0 otherwise. */
static int pair_by(const PifiTaskInfo *ti, const char *const *names, int K, int ignore_case, int *to_run) {
    for (int t = 0; t < ti->num_classes; t++) {
        int found = -1;
        for (int r = 0; r < K; r++) {
            int same = ignore_case ? strcasecmp(ti->label_names[t], names[r]) == 0
                                   : strcmp(ti->label_names[t], names[r]) == 0;
            if (!same) continue;
            if (found >= 0) return 0; /* two run classes of that name */
            found = r;
        }
        if (found < 0) return 0;
        for (int u = 0; u < t; u++)
            if (to_run[u] == found) return 0;
        to_run[t] = found;
    }
    return 1;
}

/* 1 when names are exactly "0", "1", ..., "K-1". */
static int integer_names(const char *const *names, int K) {
    char want[16];
    for (int k = 0; k < K; k++) {
        snprintf(want, sizeof want, "%d", k);
        if (strcmp(names[k], want) != 0) return 0;
    }
    return 1;
}

/* "task a = run A, task b = run B" into buf. */
static void list_pairs(char *buf, size_t n, const PifiTaskInfo *ti, const char *const *names, const int *to_run) {
    buf[0] = 0;
    for (int t = 0; t < ti->num_classes; t++) {
        size_t used = strlen(buf);
        if (used + 64 > n) {
            snprintf(buf + used, n - used, ", ...");
            return;
        }
        snprintf(buf + used, n - used, "%s%.24s = %.24s", t ? ", " : "", ti->label_names[t], names[to_run[t]]);
    }
}

int task_labels_match(const PifiTaskInfo *ti, const char *const *names, int K, int *to_run, char *note,
                      size_t note_n, PifiErr *err) {
    if (note_n) note[0] = 0;
    if (ti->num_classes == K) {
        if (pair_by(ti, names, K, 0, to_run)) return 0;
        char pairs[400];
        if (pair_by(ti, names, K, 1, to_run)) {
            list_pairs(pairs, sizeof pairs, ti, names, to_run);
            snprintf(note, note_n, "%s's classes matched to the run's by name ignoring case: %s", ti->name, pairs);
            return 0;
        }
        if (integer_names(names, K)) {
            for (int k = 0; k < K; k++) to_run[k] = k;
            list_pairs(pairs, sizeof pairs, ti, names, to_run);
            snprintf(note, note_n,
                     "the run's classes are the integers 0..%d (it was trained on numeric labels): "
                     "%s's classes matched by index: %s",
                     K - 1, ti->name, pairs);
            return 0;
        }
    }
    char mine[300], theirs[300];
    list_names(mine, sizeof mine, ti->label_names, ti->num_classes);
    list_names(theirs, sizeof theirs, names, K);
    return pifi_errf(err, "%s: its classes (%s) cannot be matched by name to the run's (%s)", ti->name, mine, theirs);
}

int task_splits_onto_run(PifiTaskSplits *ts, const char *const *names, int K, PifiErr *err) {
    int to_run[256];
    if (ts->info->num_classes > (int)(sizeof to_run / sizeof *to_run))
        return pifi_errf(err, "%s: %d classes, more than %d", ts->info->name, ts->info->num_classes,
                         (int)(sizeof to_run / sizeof *to_run));
    if (task_labels_match(ts->info, names, K, to_run, ts->label_note, sizeof ts->label_note, err)) return -1;
    for (int s = 0; s < 3; s++) {
        if (!ts->available[s]) continue;
        PifiDataset *ds = &ts->split[s];
        for (int64_t i = 0; i < ds->n; i++) ds->label[i] = to_run[ds->label[i]]; /* task id -> run id */
        if (dataset_set_labels(ds, names, K, err)) return -1;
    }
    return 0;
}

int task_eval_tasks_check(const char *const *tasks, int n, const char *own_task, const char *data_dir,
                          const char *const *names, int K, PifiLogFn log, void *user, PifiErr *err) {
    for (int i = 0; i < n; i++) {
        const PifiTaskInfo *ti = task_find(tasks[i]);
        if (!ti) return pifi_errf(err, "eval task %s: no such task (`pifi data list` lists them)", tasks[i]);
        for (int j = 0; j < i; j++)
            if (!strcmp(tasks[j], ti->name)) return pifi_errf(err, "eval task %s is listed twice", ti->name);
        if (own_task && !strcmp(own_task, ti->name))
            return pifi_errf(err, "eval task %s: the run is tested on its own task anyway", ti->name);
        int to_run[256];
        char note[512];
        if (task_labels_match(ti, names, K, to_run, note, sizeof note, err)) {
            PifiErr why = *err;
            return pifi_errf(err, "eval task %s", why.msg);
        }
        if (note[0]) pifi_logf(log, user, PIFI_LOG_NOTE, "eval task %s: note: %s", ti->name, note);
        char root[4096];
        char *dir = pifi_path_join(task_data_dir(data_dir, root, sizeof root), ti->data_subdir);
        if (!dir) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        int ok = pifi_is_dir(dir);
        if (!ok) pifi_errf(err, "eval task %s: no data folder %s (set the data directory or PIFI_DATA)", ti->name, dir);
        free(dir);
        if (!ok) return -1;
    }
    return 0;
}
