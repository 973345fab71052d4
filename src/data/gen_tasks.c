/* gen_tasks.c: the generation tasks (gen_tasks.h). A data-root task reads
 * two parallel line files per split (gzipped or not: line i of the source
 * file is translated by line i of the target file); the user's files go
 * through the generic TSV / CSV / JSONL reader with a target column. Texts
 * are kept as they are in the files (no cleaning: a translation's
 * punctuation and case are part of what is scored). */
#include "data/gen_tasks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"
#include "pifi/fileio.h"

typedef struct {
    const char *name;
    const char *dir;              /* under the data root; NULL: the user's files */
    const char *src[3], *tgt[3];  /* per split, under dir */
    const char *source_col, *target_col; /* the user's files: default columns */
    const char *prefix;           /* the source prefix (T5's task prefix) unless --source-prefix */
} GenTask;

static const GenTask GEN_TASKS[] = {
    {"multi30k", "multi30k", {"train.en.gz", "val.en.gz", "test_2016_flickr.en.gz"},
     {"train.de.gz", "val.de.gz", "test_2016_flickr.de.gz"}, NULL, NULL, "translate English to German: "},
    {"multi30k_de_en", "multi30k", {"train.de.gz", "val.de.gz", "test_2016_flickr.de.gz"},
     {"train.en.gz", "val.en.gz", "test_2016_flickr.en.gz"}, NULL, NULL, "translate German to English: "},
    {"cnn_dailymail", NULL, {NULL, NULL, NULL}, {NULL, NULL, NULL}, "article", "highlights", "summarize: "},
    {"seq2seq", NULL, {NULL, NULL, NULL}, {NULL, NULL, NULL}, "source", "target", ""},
};
#define N_GEN_TASKS (int)(sizeof GEN_TASKS / sizeof GEN_TASKS[0])

static const GenTask *find(const char *name) {
    for (int i = 0; name && i < N_GEN_TASKS; i++)
        if (!strcmp(GEN_TASKS[i].name, name)) return &GEN_TASKS[i];
    return NULL;
}

int gen_task_is(const char *name, int *takes_files) {
    const GenTask *t = find(name);
    if (takes_files) *takes_files = t && !t->dir;
    return t != NULL;
}

const char *gen_task_prefix(const char *name) {
    const GenTask *t = find(name);
    return t ? t->prefix : NULL;
}

static const char *str(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The lines of a (maybe gzipped) file: buf owns them, line[i] its i-th. */
typedef struct {
    char *buf;
    size_t len;
    const char **line;
    size_t *n;
    int64_t count;
} LineFile;

static void linefile_free(LineFile *f) {
    free(f->buf), free(f->line), free(f->n);
    memset(f, 0, sizeof *f);
}

static int linefile_read(LineFile *f, const char *path, PifiErr *err) {
    memset(f, 0, sizeof *f);
    if (pifi_read_file_gz(path, (size_t)1 << 31, &f->buf, &f->len, err)) return -1;
    int64_t cap = 1;
    for (size_t i = 0; i < f->len; i++) cap += f->buf[i] == '\n';
    f->line = pifi_malloc((size_t)cap * sizeof *f->line, err);
    f->n = pifi_malloc((size_t)cap * sizeof *f->n, err);
    if (!f->line || !f->n) {
        linefile_free(f);
        return -1;
    }
    LineIter it;
    line_iter_init(&it, f->buf, f->len);
    while (line_next(&it, &f->line[f->count], &f->n[f->count])) f->count++;
    return 0;
}

/* ds = the parallel lines of src and tgt. */
static int load_parallel(PifiDataset *ds, const char *src, const char *tgt, int skip_bad, PifiErr *err) {
    memset(ds, 0, sizeof *ds);
    LineFile a, b;
    if (linefile_read(&a, src, err)) return -1;
    if (linefile_read(&b, tgt, err)) {
        linefile_free(&a);
        return -1;
    }
    int rc = 0;
    if (a.count != b.count)
        rc = pifi_errf(err, "%s has %lld lines, %s has %lld: the files of a split must be parallel", src,
                       (long long)a.count, tgt, (long long)b.count);
    for (int64_t i = 0; rc == 0 && i < a.count; i++) {
        char *s = NULL, *t = NULL;
        size_t bad = 0;
        const char *path = src;
        int code = text_make(a.line[i], a.n[i], 0, &s, &bad, NULL);
        if (code == TEXT_OK) {
            path = tgt;
            if ((code = text_make(b.line[i], b.n[i], 0, &t, &bad, NULL)) != TEXT_OK) free(s);
        }
        if (code == TEXT_OK) rc = dataset_push_target(ds, s, t, err);
        else if (skip_bad && code != TEXT_NOMEM) {
            char msg[256];
            snprintf(msg, sizeof msg, "%s:%lld: %s", path, (long long)i + 1, text_problem(code));
            dataset_note_skip(ds, msg);
        } else
            rc = text_fail(err, path, i + 1, code, bad);
    }
    if (rc == 0 && ds->n == 0) rc = pifi_errf(err, "%s: no usable lines", src);
    linefile_free(&a), linefile_free(&b);
    return rc;
}

int gen_task_load(const cJSON *desc, unsigned which, PifiTaskSplits *out, PifiErr *err) {
    memset(out, 0, sizeof *out);
    const GenTask *t = find(str(desc, "task"));
    if (!t) return pifi_errf(err, "internal: not a generation task");
    int skip_bad = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(desc, "skip_bad_rows"));
    static const char *const KEYS[3] = {"train", "valid", "test"};
    for (int s = 0; s < 3; s++) {
        if (!(which & PIFI_SPLIT_BIT(s))) continue;
        int rc;
        if (t->dir) {
            char root[4096];
            const char *dir = task_data_dir(str(desc, "data_dir"), root, sizeof root);
            char *sub = pifi_path_join(dir, t->dir);
            char *a = sub ? pifi_path_join(sub, t->src[s]) : NULL, *b = sub ? pifi_path_join(sub, t->tgt[s]) : NULL;
            rc = a && b ? load_parallel(&out->split[s], a, b, skip_bad, err)
                        : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
            free(sub), free(a), free(b);
        } else {
            const char *p = str(desc, KEYS[s]);
            if (!p) {
                if (s == PIFI_SPLIT_TRAIN) return pifi_errf(err, "%s: no --train file was given", t->name);
                snprintf(out->why_missing[s], sizeof out->why_missing[s], "no --%s file was given", KEYS[s]);
                continue;
            }
            PifiGenericOpts o = {0};
            o.text_col = str(desc, "source_col") ? str(desc, "source_col") : t->source_col;
            o.target_col = str(desc, "target_col") ? str(desc, "target_col") : t->target_col;
            o.skip_bad_rows = skip_bad;
            rc = dataset_load_generic(p, &o, NULL, &out->split[s], err);
        }
        if (rc) {
            for (int k = 0; k <= s; k++) dataset_free(&out->split[k]);
            return -1;
        }
        out->available[s] = 1;
    }
    return 0;
}
