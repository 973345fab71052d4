/* dataset.h: labelled text classification data, in memory.
 *
 * A PifiDataset is n examples: a UTF-8 text, an optional second text (NLI
 * premise/hypothesis pairs), and an integer label in 0..num_classes-1. It is
 * filled either by a named task (task_load: the paper's benchmarks from the
 * shared data folder, with their official or seeded splits; docs/tasks.md) or
 * from the user's own TSV / CSV / JSONL file (dataset_load_generic).
 *
 * Every text is valid UTF-8 and NUL-terminated. Errors in files are reported
 * as "<file>:<line>: <what is wrong>". */
#ifndef PIFI_DATASET_H
#define PIFI_DATASET_H

#include <stdint.h>

#include "pifi/err.h"
#include "pifi/metrics.h"
#include "pifi/squad.h"

typedef struct {
    int64_t n;            /* examples */
    char **text;          /* [n] UTF-8 (owned) */
    char **text_pair;     /* [n] second text of a pair task, or NULL (owned) */
    int32_t *label;       /* [n] in 0..num_classes-1 */
    int num_classes;
    char **label_names;   /* [num_classes] (owned) */
    int64_t skipped;      /* bad rows left out (skip_bad_rows) */
    int64_t dropped;      /* rows left out by the task's definition (SNLI "-", neutral tweets) */
    int64_t recoded;      /* lines that were not UTF-8 and were decoded as cp1252 */
    char first_skip[256]; /* message of the first skipped row, "" if none */
    int64_t cap;          /* allocated room in text/text_pair/label */
    SquadData *squad;     /* an extractive QA split (data/qa_tasks.c; owned): its questions, n of them,
                           * num_classes 2 ("start", "end"); text, text_pair, label NULL */
    char **target;        /* [n] a generation task's target texts (data/gen_tasks.c; owned), text the
                           * sources; num_classes 0, labels -1; NULL for every other task */
} PifiDataset;

void dataset_free(PifiDataset *ds);
/* Examples per class: counts[num_classes] (caller's array). */
void dataset_label_counts(const PifiDataset *ds, int64_t *counts);
/* out = the examples idx[0..k) of src, in that order (texts copied). */
int dataset_select(const PifiDataset *src, const int64_t *idx, int64_t k, PifiDataset *out,
                   PifiErr *err);

/* ---- seeded splitting (src/data/split.c); deterministic on every machine ---- */

/* Stratified carve: for each class c with n_c examples, round(n_c * fraction)
 * of them (chosen by a seeded shuffle) go to *part, the rest to *rest. Both
 * keep the file order. fraction in [0, 1]. */
int dataset_carve(const PifiDataset *src, double fraction, uint64_t seed, PifiDataset *part,
                  PifiDataset *rest, PifiErr *err);
/* Stratified 3-way carve of one file into train / valid / test (fractions of
 * valid and test; train gets the rest). */
int dataset_carve3(const PifiDataset *src, double valid_frac, double test_frac, uint64_t seed,
                   PifiDataset *train, PifiDataset *valid, PifiDataset *test, PifiErr *err);
/* Stratified seeded subsample keeping round(n_c * fraction) of each class
 * (at least one of every class present). fraction in (0, 1]. */
int dataset_subsample(const PifiDataset *src, double fraction, uint64_t seed, PifiDataset *out,
                      PifiErr *err);

/* ---- the user's own files (src/data/generic.c) ---- */

typedef enum {
    PIFI_FMT_AUTO = 0, /* by extension: .tsv, .csv, .jsonl / .ndjson */
    PIFI_FMT_TSV,      /* tab-separated, no quoting (as GLUE), header row */
    PIFI_FMT_CSV,      /* RFC 4180: "quoted, fields" with "" and newlines inside */
    PIFI_FMT_JSONL,    /* one JSON object per line */
} PifiFileFormat;

/* How string labels become ids. Start from a zeroed map for the training
 * file: if every label there is a plain integer 0..K-1, the ids are those
 * integers (names "0".."K-1"); otherwise each distinct string gets the next
 * id in order of first appearance. After a file is loaded the map is frozen,
 * so valid/test files loaded with the same map must only use known labels. */
typedef struct {
    int numeric;  /* 1: labels are the integers themselves */
    int frozen;   /* 1: an unknown label is an error */
    int n;        /* classes */
    char **names; /* [n] */
    int cap;
} PifiLabelMap;

/* Fix the classes in advance from a list of names (frozen, not numeric): a
 * label is one of the names, or an integer index into them. */
int label_map_set(PifiLabelMap *map, const char *const *names, int n, PifiErr *err);
void label_map_free(PifiLabelMap *map);

typedef struct {
    PifiFileFormat format;
    const char *text_col;  /* header name or 0-based index; NULL: "text" (column 0 without header) */
    const char *pair_col;  /* NULL: no second text */
    const char *label_col; /* NULL: "label" (column 1 without header) */
    const char *target_col; /* a generation task's target text (header name or index); set: no label
                              column is read, the rows go into PifiDataset.target */
    int no_header;         /* TSV/CSV without a header row: columns by index only */
    int skip_bad_rows;     /* leave bad rows out (counted in skipped) instead of failing */
    int clean;             /* apply the same cleaning as the named tasks (dataset_clean_text) */
} PifiGenericOpts;

int dataset_load_generic(const char *path, const PifiGenericOpts *opts, PifiLabelMap *labels,
                         PifiDataset *out, PifiErr *err);

/* The cleaning the named tasks apply (the authors' BeautifulSoup text +
 * whitespace collapse, approximated; docs/tasks.md): <br> and block tags ->
 * space, inline tags removed, HTML entities decoded, runs of whitespace ->
 * one space, trimmed. Returns a new heap string (NULL when out of memory). */
char *dataset_clean_text(const char *s, size_t n);

/* ---- named tasks (src/data/tasks.c) ---- */

typedef enum { PIFI_SPLIT_TRAIN = 0, PIFI_SPLIT_VALID = 1, PIFI_SPLIT_TEST = 2 } PifiSplit;
#define PIFI_SPLIT_BIT(s) (1u << (s))
#define PIFI_SPLITS_ALL 7u

/* One file of a named task as `pifi data get` fetches it (src/data/task_files.c). */
typedef struct {
    const char *path;     /* under the data root, as the registry reads it; NULL ends a list */
    const char *url;      /* owner/repo/commit/path under raw.githubusercontent.com; NULL: put there by hand */
    const char *sha256;   /* of the original; NULL when not pinned */
    const char *git_blob; /* git blob id (SHA-1 of "blob <size>\0" + bytes); NULL when unknown */
    int needed;           /* read by the task (else provenance: license, README) */
} PifiTaskFile;

typedef struct {
    const char *name;        /* "sst2" */
    const char *description; /* one line */
    const char *data_subdir; /* folder under the data root */
    int num_classes;
    const char *const *label_names; /* [num_classes] */
    int is_pair;             /* 1: examples are (text, text_pair) */
    int n_metrics;
    PifiMetric metrics[3];   /* reported metrics, the main one first */
} PifiTaskInfo;

int task_count(void);
const PifiTaskInfo *task_at(int i);
const PifiTaskInfo *task_find(const char *name); /* NULL if unknown */
const char *split_name(PifiSplit s);             /* "train" / "valid" / "test" */

typedef struct {
    unsigned load;          /* splits to load (PIFI_SPLIT_BIT mask); 0 = all */
    unsigned need;          /* splits that must be available, else an error */
    uint64_t split_seed;    /* seed of the carved splits (default 2023) */
    double train_fraction;  /* keep this stratified fraction of train; 0 or 1 = all */
    uint64_t fraction_seed; /* seed of that subsample */
    int raw_text;           /* 1: no cleaning (texts as in the files, minus the newline) */
} PifiTaskOpts;

PifiTaskOpts task_opts_default(void);
/* The data root, the same for --task and `pifi data get`: dir (--data-dir)
 * when given, else $PIFI_DATA, else $XDG_CACHE_HOME/pifi/data, else
 * $HOME/.cache/pifi/data (the home directory from the password database
 * when HOME is unset). Returns dir or the environment's string, or the path
 * written into buf (n bytes). */
const char *task_data_dir(const char *dir, char *buf, size_t n);
/* Where the task's files come from (one line), and those files (a NULL path
 * ends the list): the registry's source and files columns. */
const char *task_source(const PifiTaskInfo *t);
const PifiTaskFile *task_files(const PifiTaskInfo *t);
/* Which of the task's needed files (or folders) are under the data root:
 * 2 all, 1 some, 0 none; *missing the first one absent (NULL when none). */
int task_files_present(const PifiTaskInfo *t, const char *data_dir, const char **missing);

typedef struct {
    const PifiTaskInfo *info;
    PifiDataset split[3];      /* indexed by PifiSplit */
    int available[3];          /* 1 when split[s] was loaded */
    char why_missing[3][1024];  /* for a split that was asked for but is not in the data */
    int64_t recoded;           /* cp1252-decoded lines in all files read (before any carve) */
    int64_t dropped;           /* rows the task's definition left out, all files read */
    char label_note[512];      /* "" or how the classes were put onto a run's (task_splits_onto_run) */
} PifiTaskSplits;

/* Load a named task from the data root (data_dir: see task_data_dir). Splits asked for in opts->load that
 * the data lacks are marked unavailable with a reason (why_missing); an error
 * only if they are in opts->need. opts NULL = defaults. */
int task_load(const char *task, const char *data_dir, PifiTaskSplits *out, const PifiTaskOpts *opts,
              PifiErr *err);
void task_splits_free(PifiTaskSplits *ts);

#endif
