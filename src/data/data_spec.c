/* data_spec.c: a data specification -> its JSON description -> loaded splits (data_spec.h). */
#include "data/data_spec.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/gen_tasks.h"
#include "data/qa_tasks.h"
#include "data/tasks_desc.h"
#include "pifi/fileio.h"
#include "pifi/json.h"

static void add_path(cJSON *o, const char *key, const char *p) {
    if (!p) return;
    char real[PATH_MAX];
    cJSON_AddStringToObject(o, key, realpath(p, real) ? real : p);
}

/* 1 when root/<task's folder> is a directory. */
static int root_has_task(const char *root, const char *task) {
    const PifiTaskInfo *ti = task_find(task);
    char *dir = ti ? pifi_path_join(root, ti->data_subdir) : NULL;
    int ok = dir && pifi_is_dir(dir);
    free(dir);
    return ok;
}

/* The data root of a task (see data_spec.h), or NULL with err. */
static const char *task_root(const DataSpec *a, char *buf, size_t n, PifiErr *err) {
    const char *env = getenv("PIFI_DATA");
    const char *root = task_data_dir(a->data_dir, buf, n);
    if ((a->data_dir && *a->data_dir) || (env && *env) || !a->run_data_dir || !task_find(a->task)) return root;
    if (root_has_task(a->run_data_dir, a->task)) return a->run_data_dir; /* where the run found its data */
    if (root_has_task(root, a->task)) return root;
    pifi_errf(err,
              "%s: no folder %s/ in the run's data root %s nor in the default %s "
              "(PIFI_DATA is not set; give --data-dir DIR)",
              a->task, task_find(a->task)->data_subdir, a->run_data_dir, root);
    return NULL;
}

int data_spec_json(const DataSpec *a, cJSON **out, PifiErr *err) {
    char root[4096];
    int files = a->train || a->valid || a->test, user_qa = 0, user_gen = 0;
    *out = NULL;
    int gen = a->task && gen_task_is(a->task, &user_gen);
    if (!gen && (a->source_col || a->target_col || a->source_prefix))
        return pifi_errf(err, "--%s is a generation task's (--task multi30k, cnn_dailymail, seq2seq)",
                         a->source_col ? "source-col" : a->target_col ? "target-col" : "source-prefix");
    if (gen && !user_gen && (a->source_col || a->target_col))
        return pifi_errf(err, "--task %s reads its own files: --source-col and --target-col are for cnn_dailymail "
                              "and seq2seq", a->task);
    if (gen && (a->text_col || a->pair_col || a->label_col))
        return pifi_errf(err, "--task %s: name its columns with --source-col and --target-col", a->task);
    if (a->task && qa_task_is(a->task, &user_qa) && user_qa && !files)
        return pifi_errf(err, "--task %s reads your SQuAD-form files: give --train FILE (--valid, --test)", a->task);
    user_qa |= user_gen; /* the user's files under a task name, as a QA task's */
    if (a->task && files && !user_qa)
        return pifi_errf(err, "give either --task or --train/--valid/--test files, not both");
    if (!a->task && !files) return pifi_errf(err, "no data: give --task NAME or --train FILE (--valid, --test)");
    const char *troot = a->task && !user_qa ? task_root(a, root, sizeof root, err) : NULL;
    if (a->task && !user_qa && !troot) return -1;
    cJSON *o = cJSON_CreateObject();
    if (!o) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    if (user_qa) { /* a QA task over the user's files */
        cJSON_AddStringToObject(o, "task", a->task);
        add_path(o, "train", a->train);
        add_path(o, "valid", a->valid);
        add_path(o, "test", a->test);
        cJSON_AddBoolToObject(o, "skip_bad_rows", a->skip_bad_rows);
        if (user_gen && a->source_col) cJSON_AddStringToObject(o, "source_col", a->source_col);
        if (user_gen && a->target_col) cJSON_AddStringToObject(o, "target_col", a->target_col);
    } else if (a->task) {
        cJSON_AddStringToObject(o, "task", a->task);
        add_path(o, "data_dir", troot);
    } else {
        add_path(o, "train", a->train);
        add_path(o, "valid", a->valid);
        add_path(o, "test", a->test);
        if (a->text_col) cJSON_AddStringToObject(o, "text_col", a->text_col);
        if (a->pair_col) cJSON_AddStringToObject(o, "text_pair_col", a->pair_col);
        if (a->label_col) cJSON_AddStringToObject(o, "label_col", a->label_col);
        cJSON_AddBoolToObject(o, "skip_bad_rows", a->skip_bad_rows);
    }
    if (gen) cJSON_AddStringToObject(o, "source_prefix", a->source_prefix ? a->source_prefix : gen_task_prefix(a->task));
    if (a->train_fraction > 0 && a->train_fraction < 1) {
        cJSON_AddNumberToObject(o, "train_fraction", a->train_fraction);
        cJSON_AddNumberToObject(o, "train_fraction_seed", (double)a->seed);
    }
    if (a->n_eval_tasks > 0) {
        if (!a->task) add_path(o, "data_dir", task_data_dir(a->data_dir, root, sizeof root)); /* where the eval tasks are */
        cJSON *ev = cJSON_AddArrayToObject(o, "eval_tasks");
        for (int i = 0; ev && i < a->n_eval_tasks; i++) cJSON_AddItemToArray(ev, cJSON_CreateString(a->eval_tasks[i]));
    }
    *out = o;
    return 0;
}

int data_load(const cJSON *desc, unsigned which, const char *const *label_names, int K, LoadedData *out,
              PifiErr *err) {
    memset(out, 0, sizeof *out);
    if (task_desc_load(desc, which, label_names, K, &out->ts, err)) return -1;
    out->is_task = out->ts.info != NULL;
    for (int s = 0; s < 3; s++) {
        out->have[s] = out->ts.available[s];
        if (out->have[s]) out->split[s] = out->ts.split[s];
    }
    return 0;
}

void data_free(LoadedData *d) {
    task_splits_free(&d->ts); /* split[] are views of ts.split[] */
    memset(d, 0, sizeof *d);
}
