/* qa_tasks.c: the QA tasks (qa_tasks.h). XQuAD-en (240 paragraphs of 48
 * Wikipedia articles, 1,190 questions) is split by article in file order:
 * the first 36 articles (75%) train, the last 12 test, none shared, no
 * validation split (a run keeps its last epoch). SQuAD's own training set
 * is not in the data root; `squad` reads the user's files. */
#include "data/qa_tasks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/fileio.h"

typedef struct {
    const char *name;
    const char *file;      /* under the data root; NULL: the user's files */
    int train_articles;    /* articles [0, n) train, the rest test */
} QaTask;

static const QaTask QA_TASKS[] = {
    {"xquad_en", "squad_v1.1_dev_subset_xquad/xquad.en.json", 36},
    {"squad", NULL, 0},
};
#define N_QA_TASKS (int)(sizeof QA_TASKS / sizeof QA_TASKS[0])

static const QaTask *find(const char *name) {
    for (int i = 0; name && i < N_QA_TASKS; i++)
        if (!strcmp(QA_TASKS[i].name, name)) return &QA_TASKS[i];
    return NULL;
}

int qa_task_is(const char *name, int *takes_files) {
    const QaTask *t = find(name);
    if (takes_files) *takes_files = t && !t->file;
    return t != NULL;
}

static const char *str(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Keep the questions of articles [lo, hi) of d (an article: consecutive
 * contexts with one title), in place. */
static int keep_articles(SquadData *d, int lo, int hi, PifiErr *err) {
    int *map = pifi_malloc((size_t)(d->n_contexts ? d->n_contexts : 1) * sizeof *map, err), nc = 0, art = -1;
    if (!map) return -1;
    for (int c = 0; c < d->n_contexts; c++) { /* each context's article, before any is freed */
        if (c == 0 || strcmp(d->titles[c], d->titles[c - 1]) != 0) art++;
        map[c] = art;
    }
    for (int c = 0; c < d->n_contexts; c++) {
        if (map[c] >= lo && map[c] < hi) {
            map[c] = nc;
            d->contexts[nc] = d->contexts[c], d->titles[nc] = d->titles[c];
            nc++;
        } else {
            map[c] = -1;
            free(d->contexts[c]), free(d->titles[c]);
        }
    }
    int nq = 0;
    for (int i = 0; i < d->n; i++) {
        SquadQuestion *q = &d->q[i];
        if (map[q->context] >= 0) {
            q->context = map[q->context];
            d->q[nq++] = *q;
            continue;
        }
        for (int a = 0; a < q->n_answers; a++) free(q->answers[a]);
        free(q->answers), free(q->starts), free(q->id), free(q->question);
    }
    d->n_contexts = nc, d->n = nq;
    free(map);
    return 0;
}

/* ds = the questions of path (articles [lo, hi) when hi > 0). */
static int load_split(PifiDataset *ds, const char *path, int skip_bad, int lo, int hi, PifiErr *err) {
    memset(ds, 0, sizeof *ds);
    ds->squad = pifi_calloc(1, sizeof *ds->squad, err);
    ds->label_names = pifi_calloc(2, sizeof *ds->label_names, err);
    if (!ds->squad || !ds->label_names) return -1;
    ds->num_classes = 2;
    ds->label_names[0] = strdup("start"), ds->label_names[1] = strdup("end");
    if (!ds->label_names[0] || !ds->label_names[1]) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    if (squad_load(ds->squad, path, skip_bad, err)) return -1;
    if (hi > 0 && keep_articles(ds->squad, lo, hi, err)) return -1;
    if (ds->squad->n == 0) return pifi_errf(err, "%s: no questions in articles %d..%d", path, lo, hi - 1);
    ds->n = ds->squad->n;
    ds->skipped = ds->squad->skipped;
    snprintf(ds->first_skip, sizeof ds->first_skip, "%s", ds->squad->first_skip);
    return 0;
}

int qa_task_load(const cJSON *desc, unsigned which, PifiTaskSplits *out, PifiErr *err) {
    memset(out, 0, sizeof *out);
    const QaTask *t = find(str(desc, "task"));
    if (!t) return pifi_errf(err, "internal: not a QA task");
    int skip_bad = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(desc, "skip_bad_rows"));
    static const char *const KEYS[3] = {"train", "valid", "test"};
    for (int s = 0; s < 3; s++) {
        if (!(which & PIFI_SPLIT_BIT(s))) continue;
        int rc = 0;
        if (t->file) {
            if (s == PIFI_SPLIT_VALID) {
                snprintf(out->why_missing[s], sizeof out->why_missing[s], "%s has no validation split", t->name);
                continue;
            }
            char root[4096];
            const char *dir = task_data_dir(str(desc, "data_dir"), root, sizeof root);
            char *path = pifi_path_join(dir, t->file);
            if (!path) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
            int lo = s == PIFI_SPLIT_TRAIN ? 0 : t->train_articles, hi = s == PIFI_SPLIT_TRAIN ? t->train_articles
                                                                                             : 1 << 30;
            rc = load_split(&out->split[s], path, skip_bad, lo, hi, err);
            free(path);
        } else {
            const char *p = str(desc, KEYS[s]);
            if (!p) {
                if (s == PIFI_SPLIT_TRAIN && (which & PIFI_SPLIT_BIT(s)))
                    return pifi_errf(err, "%s: no --train file was given", t->name);
                snprintf(out->why_missing[s], sizeof out->why_missing[s], "no --%s file was given", KEYS[s]);
                continue;
            }
            rc = load_split(&out->split[s], p, skip_bad, 0, 0, err);
        }
        if (rc) {
            dataset_free(&out->split[s]);
            for (int k = 0; k < s; k++) dataset_free(&out->split[k]);
            return -1;
        }
        out->available[s] = 1;
    }
    return 0;
}
