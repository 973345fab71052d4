/* data_internal.h: what the dataset readers share: building a PifiDataset
 * row by row, turning raw bytes into a stored text (UTF-8 check, cp1252
 * fallback, cleaning), line iteration, and the per-format task readers. */
#ifndef PIFI_DATA_INTERNAL_H
#define PIFI_DATA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "pifi/dataset.h"

/* ---- task_files.c: the task registry's `files` column ---- */

extern const PifiTaskFile TASK_FILES_SST2[], TASK_FILES_SST5[], TASK_FILES_CR[], TASK_FILES_MR[],
    TASK_FILES_SUBJ[], TASK_FILES_TREC[], TASK_FILES_TWEET_OFFENSIVE[], TASK_FILES_TWEET_SENTIMENT_BINARY[],
    TASK_FILES_COLA[], TASK_FILES_IMDB[], TASK_FILES_SNLI[], TASK_FILES_MNLI[];

/* ---- dataset.c ---- */

/* Append one example, taking ownership of text and pair (pair may be NULL;
 * a dataset has pairs for all rows or none). On failure both are freed. */
int dataset_push(PifiDataset *ds, char *text, char *pair, int32_t label, PifiErr *err);
/* A generation row: source and target texts (owned from here on, freed on failure); label -1. */
int dataset_push_target(PifiDataset *ds, char *source, char *target, PifiErr *err);
/* Copy names into ds->label_names (replacing any). */
int dataset_set_labels(PifiDataset *ds, const char *const *names, int n, PifiErr *err);
/* Record one skipped row: count it, keep the first message. */
void dataset_note_skip(PifiDataset *ds, const char *msg);

/* ---- text.c ---- */

enum { TEXT_CLEAN = 1, TEXT_CP1252 = 2 };
enum { TEXT_OK = 0, TEXT_BAD_UTF8 = 1, TEXT_EMPTY = 2, TEXT_NOMEM = 3, TEXT_NUL = 4 };

/* Strict UTF-8 check (no overlongs, surrogates or > U+10FFFF): 1 if valid,
 * else 0 with *bad = offset of the first bad byte. */
int text_utf8_valid(const char *s, size_t n, size_t *bad);
/* Raw bytes -> a heap NUL-terminated text. TEXT_CP1252: bytes that are not
 * valid UTF-8 are decoded as Windows-1252 (*recoded set to 1); otherwise
 * they are TEXT_BAD_UTF8 with *bad the offset. TEXT_CLEAN: dataset_clean_text.
 * An empty result (after cleaning) is TEXT_EMPTY, a NUL byte TEXT_NUL (at
 * *bad). Returns a TEXT_* code. */
int text_make(const char *s, size_t n, unsigned flags, char **out, size_t *bad, int *recoded);
/* "invalid UTF-8" / "empty text" / "out of memory" / "NUL byte" */
const char *text_problem(int code);
/* Fail with "<path>:<line>: <problem>[ at byte B]" (line <= 0: "<path>: ...").
 * Out of memory is a runtime error, the rest bad input. Returns -1. */
int text_fail(PifiErr *err, const char *path, int64_t line, int code, size_t bad);

/* ---- lines ---- */

typedef struct {
    const char *p, *end;
    int64_t line; /* 1-based number of the line last returned */
} LineIter;

static inline void line_iter_init(LineIter *it, const void *data, size_t size) {
    it->p = (const char *)data;
    it->end = size ? it->p + size : it->p; /* an empty file maps to NULL: no NULL + 0 */
    it->line = 0;
    /* a UTF-8 byte order mark is not part of the first line */
    if (size >= 3 && (unsigned char)it->p[0] == 0xEF && (unsigned char)it->p[1] == 0xBB &&
        (unsigned char)it->p[2] == 0xBF)
        it->p += 3;
}

/* Next line without its "\n" or "\r\n"; 0 at the end. A final line without
 * newline counts; a file ending in "\n" has no extra empty line. */
static inline int line_next(LineIter *it, const char **s, size_t *n) {
    if (it->p >= it->end) return 0;
    const char *q = it->p;
    while (q < it->end && *q != '\n') q++;
    *s = it->p;
    *n = (size_t)(q - it->p);
    if (*n > 0 && (*s)[*n - 1] == '\r') (*n)--;
    it->p = q < it->end ? q + 1 : q;
    it->line++;
    return 1;
}

/* ---- per-format readers of the named tasks ---- */

/* "LABEL text" per line (SST, CR, MR, SUBJ, TREC). Labels must be 0..num_classes-1. */
int read_lines_label(const char *path, int num_classes, unsigned text_flags, PifiDataset *out,
                     PifiErr *err);
/* TweetEval: text file + labels file, line-aligned. map[old] = new label or -1 to drop
 * (NULL = identity); num_in = labels in the file. */
int read_tweeteval(const char *text_path, const char *labels_path, int num_in, const int *map,
                   unsigned text_flags, PifiDataset *out, PifiErr *err);
/* CoLA 4-column TSV (source, label, mark, sentence). */
int read_cola(const char *path, unsigned text_flags, PifiDataset *out, PifiErr *err);
/* aclImdb split folder (root/neg, root/pos): neg = 0, pos = 1, ordered by file id. */
int read_imdb(const char *split_dir, unsigned text_flags, PifiDataset *out, PifiErr *err);
/* SNLI s1/s2/labels files; "-" rows dropped. */
int read_snli(const char *s1, const char *s2, const char *labels, unsigned text_flags,
              PifiDataset *out, PifiErr *err);
/* MNLI jsonl {premise, hypothesis, label}; "-" rows dropped. */
int read_mnli_jsonl(const char *path, unsigned text_flags, PifiDataset *out, PifiErr *err);
/* NLI label name -> 0 entailment, 1 neutral, 2 contradiction; -2 for "-", -1 unknown. */
int nli_label(const char *s, size_t n);

#endif
