/* tasks_desc.c: a data description (tasks_desc.h) -> loaded splits: a named
 * task through task_load (its classes put onto a run's by name when the run's
 * are given, task_labels.c), the user's files through dataset_load_generic
 * with the same cleaning, then the seeded --train-fraction subsample. */
#include "data/tasks_desc.h"

#include "data/gen_tasks.h"
#include "data/qa_tasks.h"

#include <stdio.h>
#include <string.h>

static const char *str(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *k, double dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static int load_files(const cJSON *desc, unsigned which, const char *const *label_names, int K, PifiTaskSplits *out,
                      PifiErr *err) {
    PifiGenericOpts go = {0};
    go.clean = 1; /* the same cleaning as the named tasks */
    go.text_col = str(desc, "text_col");
    go.pair_col = str(desc, "text_pair_col");
    go.label_col = str(desc, "label_col");
    go.skip_bad_rows = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(desc, "skip_bad_rows"));
    PifiLabelMap map = {0};
    if (label_names && label_map_set(&map, label_names, K, err)) return -1;
    static const char *const KEYS[3] = {"train", "valid", "test"};
    for (int s = 0; s < 3; s++) {
        const char *p = str(desc, KEYS[s]);
        if (!(which & PIFI_SPLIT_BIT(s))) continue;
        if (!p) {
            snprintf(out->why_missing[s], sizeof out->why_missing[s], "no --%s file was given", KEYS[s]);
            continue;
        }
        if (dataset_load_generic(p, &go, &map, &out->split[s], err)) {
            label_map_free(&map);
            return -1;
        }
        map.frozen = 1;
        out->available[s] = 1;
    }
    label_map_free(&map);
    return 0;
}

int task_desc_load(const cJSON *desc, unsigned which, const char *const *label_names, int K, PifiTaskSplits *out,
                   PifiErr *err) {
    memset(out, 0, sizeof *out);
    double frac = num(desc, "train_fraction", 1.0);
    uint64_t fseed = (uint64_t)num(desc, "train_fraction_seed", 2023);
    const char *task = str(desc, "task");
    if (task && gen_task_is(task, NULL)) /* sources and targets: data/gen_tasks.c, for the seq2seq trainer */
        return pifi_errf(err, "%s is a generation task: it needs an encoder-decoder model (T5, BART), which "
                              "pifi cannot train yet", task);
    if (task && qa_task_is(task, NULL)) { /* extractive QA: questions, not classes */
        if (label_names && K != 2)
            return pifi_errf(err, "%s is a question answering task; the run is a %d-class classifier", task, K);
        return qa_task_load(desc, which, out, err);
    }
    if (task) {
        PifiTaskOpts to = task_opts_default();
        to.load = which;
        to.need = which & PIFI_SPLIT_BIT(PIFI_SPLIT_TRAIN);
        to.train_fraction = frac;
        to.fraction_seed = fseed;
        if (task_load(task, str(desc, "data_dir"), out, &to, err)) return -1;
        if (label_names && task_splits_onto_run(out, label_names, K, err)) {
            task_splits_free(out);
            return -1;
        }
        return 0;
    }
    if (load_files(desc, which, label_names, K, out, err)) {
        task_splits_free(out);
        return -1;
    }
    PifiDataset *train = &out->split[PIFI_SPLIT_TRAIN];
    if (out->available[PIFI_SPLIT_TRAIN] && frac > 0 && frac < 1) {
        PifiDataset sub;
        if (dataset_subsample(train, frac, fseed, &sub, err)) {
            task_splits_free(out);
            return -1;
        }
        dataset_free(train);
        *train = sub;
    }
    return 0;
}
