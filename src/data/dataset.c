/* dataset.c: PifiDataset storage: appending rows, label names, selecting a
 * subset, freeing. Each text is its own heap string owned by the dataset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

void dataset_free(PifiDataset *ds) {
    for (int64_t i = 0; ds->text && i < ds->n; i++) {
        free(ds->text[i]);
        if (ds->text_pair) free(ds->text_pair[i]);
        if (ds->target) free(ds->target[i]);
    }
    free(ds->text);
    free(ds->text_pair);
    free(ds->target);
    free(ds->label);
    for (int k = 0; k < ds->num_classes && ds->label_names; k++) free(ds->label_names[k]);
    free(ds->label_names);
    if (ds->squad) squad_free(ds->squad);
    free(ds->squad);
    memset(ds, 0, sizeof *ds);
}

static int grow(PifiDataset *ds, int want_pair, PifiErr *err) {
    int64_t cap = ds->cap ? ds->cap * 2 : 1024;
    char **t = realloc(ds->text, (size_t)cap * sizeof *t);
    if (!t) return pifi_errk(err, PIFI_ERR_RUNTIME, "dataset: out of memory");
    ds->text = t;
    int32_t *l = realloc(ds->label, (size_t)cap * sizeof *l);
    if (!l) return pifi_errk(err, PIFI_ERR_RUNTIME, "dataset: out of memory");
    ds->label = l;
    if (want_pair) {
        char **p = realloc(ds->text_pair, (size_t)cap * sizeof *p);
        if (!p) return pifi_errk(err, PIFI_ERR_RUNTIME, "dataset: out of memory");
        ds->text_pair = p;
    }
    ds->cap = cap;
    return 0;
}

int dataset_push(PifiDataset *ds, char *text, char *pair, int32_t label, PifiErr *err) {
    if (ds->n > 0 && (pair != NULL) != (ds->text_pair != NULL)) {
        free(text);
        free(pair);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "dataset: pair and single rows mixed");
    }
    if (ds->n == ds->cap && grow(ds, pair != NULL, err) != 0) {
        free(text);
        free(pair);
        return -1;
    }
    ds->text[ds->n] = text;
    if (pair) ds->text_pair[ds->n] = pair;
    ds->label[ds->n] = label;
    ds->n++;
    return 0;
}

int dataset_push_target(PifiDataset *ds, char *source, char *target, PifiErr *err) {
    if (ds->n > 0 && !ds->target) {
        free(source), free(target);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "dataset: generation and classification rows mixed");
    }
    if (ds->n == ds->cap) {
        int64_t cap = ds->cap ? ds->cap * 2 : 1024;
        char **t = realloc(ds->target, (size_t)cap * sizeof *t);
        if (t) ds->target = t;
        if (!t || grow(ds, 0, err) != 0) {
            free(source), free(target);
            return t ? -1 : pifi_errk(err, PIFI_ERR_RUNTIME, "dataset: out of memory");
        }
    }
    ds->text[ds->n] = source;
    ds->target[ds->n] = target;
    ds->label[ds->n] = -1;
    ds->n++;
    return 0;
}

int dataset_set_labels(PifiDataset *ds, const char *const *names, int n, PifiErr *err) {
    for (int k = 0; k < ds->num_classes && ds->label_names; k++) free(ds->label_names[k]);
    free(ds->label_names);
    ds->label_names = NULL;
    ds->num_classes = 0;
    if (n <= 0) return 0;
    char **v = pifi_calloc((size_t)n, sizeof *v, err);
    if (!v) return -1;
    for (int k = 0; k < n; k++) {
        v[k] = strdup(names[k]);
        if (!v[k]) {
            for (int j = 0; j < k; j++) free(v[j]);
            free(v);
            return pifi_errk(err, PIFI_ERR_RUNTIME, "dataset: out of memory");
        }
    }
    ds->label_names = v;
    ds->num_classes = n;
    return 0;
}

void dataset_note_skip(PifiDataset *ds, const char *msg) {
    if (ds->skipped++ == 0) snprintf(ds->first_skip, sizeof ds->first_skip, "%s", msg);
}

void dataset_label_counts(const PifiDataset *ds, int64_t *counts) {
    for (int k = 0; k < ds->num_classes; k++) counts[k] = 0;
    for (int64_t i = 0; i < ds->n; i++)
        if (ds->label[i] >= 0 && ds->label[i] < ds->num_classes) counts[ds->label[i]]++;
}

int dataset_select(const PifiDataset *src, const int64_t *idx, int64_t k, PifiDataset *out,
                   PifiErr *err) {
    memset(out, 0, sizeof *out);
    if (dataset_set_labels(out, (const char *const *)src->label_names, src->num_classes, err) != 0)
        return -1;
    for (int64_t j = 0; j < k; j++) {
        int64_t i = idx[j];
        if (i < 0 || i >= src->n) {
            dataset_free(out);
            return pifi_errk(err, PIFI_ERR_RUNTIME, "dataset: index %lld out of range", (long long)i);
        }
        char *t = strdup(src->text[i]);
        if (src->target) {
            char *y = t ? strdup(src->target[i]) : NULL;
            if (!y) free(t);
            if (!y || dataset_push_target(out, t, y, err) != 0) {
                dataset_free(out);
                return y ? -1 : pifi_errk(err, PIFI_ERR_RUNTIME, "dataset: out of memory");
            }
            continue;
        }
        char *p = src->text_pair ? strdup(src->text_pair[i]) : NULL;
        if (!t || (src->text_pair && !p)) {
            free(t);
            free(p);
            dataset_free(out);
            return pifi_errk(err, PIFI_ERR_RUNTIME, "dataset: out of memory");
        }
        if (dataset_push(out, t, p, src->label[i], err) != 0) {
            dataset_free(out);
            return -1;
        }
    }
    return 0;
}
