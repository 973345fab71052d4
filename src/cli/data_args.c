/* data_args.c: data flags -> JSON description -> loaded splits. */
#include "cli/data_args.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/json.h"

static void add_path(cJSON *o, const char *key, const char *p) {
    if (!p) return;
    char real[PATH_MAX];
    cJSON_AddStringToObject(o, key, realpath(p, real) ? real : p);
}

cJSON *data_args_json(const DataArgs *a, const char *cmd) {
    int files = a->train || a->valid || a->test;
    if (a->task && files) {
        fprintf(stderr, "pifi: %s: give either --task or --train/--valid/--test files, not both\n", cmd);
        return NULL;
    }
    if (!a->task && !files) {
        fprintf(stderr, "pifi: %s: no data: give --task NAME or --train FILE (--valid, --test)\n"
                        "hint: 'pifi %s --help' lists the tasks\n", cmd, cmd);
        return NULL;
    }
    cJSON *o = cJSON_CreateObject();
    if (a->task) {
        cJSON_AddStringToObject(o, "task", a->task);
        add_path(o, "data_dir", task_data_dir(a->data_dir));
    } else {
        add_path(o, "train", a->train);
        add_path(o, "valid", a->valid);
        add_path(o, "test", a->test);
        if (a->text_col) cJSON_AddStringToObject(o, "text_col", a->text_col);
        if (a->pair_col) cJSON_AddStringToObject(o, "text_pair_col", a->pair_col);
        if (a->label_col) cJSON_AddStringToObject(o, "label_col", a->label_col);
        cJSON_AddBoolToObject(o, "skip_bad_rows", a->skip_bad_rows);
    }
    if (a->train_fraction > 0 && a->train_fraction < 1) {
        cJSON_AddNumberToObject(o, "train_fraction", a->train_fraction);
        cJSON_AddNumberToObject(o, "train_fraction_seed", (double)a->seed);
    }
    return o;
}

static const char *str(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *k, double dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

int data_load(const cJSON *desc, unsigned which, const char *const *label_names, int K, LoadedData *out,
              PifiErr *err) {
    memset(out, 0, sizeof *out);
    double frac = num(desc, "train_fraction", 1.0);
    uint64_t fseed = (uint64_t)num(desc, "train_fraction_seed", 2023);
    const char *task = str(desc, "task");
    if (task) {
        PifiTaskOpts to = task_opts_default();
        to.load = which;
        to.need = which & PIFI_SPLIT_BIT(PIFI_SPLIT_TRAIN);
        to.train_fraction = frac;
        to.fraction_seed = fseed;
        if (task_load(task, str(desc, "data_dir"), &out->ts, &to, err)) return -1;
        out->is_task = 1;
        for (int s = 0; s < 3; s++) {
            out->have[s] = out->ts.available[s];
            if (out->have[s]) out->split[s] = out->ts.split[s];
        }
        return 0;
    }
    PifiGenericOpts go = {0};
    go.clean = 1; /* the same cleaning as the named tasks */
    go.text_col = str(desc, "text_col");
    go.pair_col = str(desc, "text_pair_col");
    go.label_col = str(desc, "label_col");
    const cJSON *sb = cJSON_GetObjectItemCaseSensitive(desc, "skip_bad_rows");
    go.skip_bad_rows = cJSON_IsTrue(sb);
    PifiLabelMap map = {0};
    if (label_names && label_map_set(&map, label_names, K, err)) return -1;
    static const char *KEYS[3] = {"train", "valid", "test"};
    for (int s = 0; s < 3; s++) {
        const char *p = str(desc, KEYS[s]);
        if (!p || !(which & PIFI_SPLIT_BIT(s))) continue;
        if (dataset_load_generic(p, &go, &map, &out->split[s], err)) {
            label_map_free(&map);
            data_free(out);
            return -1;
        }
        map.frozen = 1;
        out->have[s] = 1;
    }
    label_map_free(&map);
    if (out->have[0] && frac > 0 && frac < 1) {
        PifiDataset sub;
        if (dataset_subsample(&out->split[0], frac, fseed, &sub, err)) {
            data_free(out);
            return -1;
        }
        dataset_free(&out->split[0]);
        out->split[0] = sub;
    }
    return 0;
}

void data_free(LoadedData *d) {
    if (d->is_task) {
        task_splits_free(&d->ts);
    } else {
        for (int s = 0; s < 3; s++)
            if (d->have[s]) dataset_free(&d->split[s]);
    }
    memset(d, 0, sizeof *d);
}
