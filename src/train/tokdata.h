/* tokdata.h: a dataset tokenized once up front, and batches cut from it with
 * dynamic padding (each batch padded to its longest example). */
#ifndef PIFI_TOKDATA_H
#define PIFI_TOKDATA_H

#include <stdint.h>

#include "pifi/dataset.h"
#include "pifi/squad_features.h"
#include "pifi/tokenizer.h"

typedef struct {
    int64_t n;
    int32_t *len;      /* (n) tokens of each example incl. specials */
    int64_t *off;      /* (n) start of each example in ids/type_ids */
    int32_t *ids;      /* all examples' ids, concatenated */
    int32_t *type_ids;
    const int32_t *label; /* (n) the dataset's labels (not owned) */
    int pad_id;
    /* extractive QA (tokdata_build_qa): the n examples are the questions' windows */
    SquadFeatures *qa;       /* the windows (owned): byte offsets, the question of each */
    const SquadData *squad;  /* the questions (the dataset's) */
    const int32_t *start, *end; /* (n) each window's answer tokens (into qa), else NULL */
} TokData;

/* Tokenize every example (pairs when the dataset has them), truncated
 * (longest_first) to max_len tokens incl. specials. */
int tokdata_build(TokData *td, const PifiTokenizer *tk, const PifiDataset *ds, int max_len, PifiErr *err);
/* A QA dataset (ds->squad): each question with its context in windows of
 * max_len tokens sharing doc_stride context tokens (squad_features), the
 * start and end labels of each window kept. */
int tokdata_build_qa(TokData *td, const PifiTokenizer *tk, const PifiDataset *ds, int max_len, int doc_stride,
                     PifiErr *err);
void tokdata_free(TokData *td);

typedef struct {
    int B, T, cap_BT, cap_B;
    int32_t *ids, *type_ids, *mask; /* (B, T) */
    int32_t *labels;                /* (B) */
    int32_t *start, *end;           /* (B) QA: the answer's first and last token, else NULL */
} Batch;

/* Fill b with the examples idx[0..B) padded to the longest of them. */
int batch_fill(Batch *b, const TokData *td, const int64_t *idx, int B, PifiErr *err);
void batch_free(Batch *b);

/* The example order of an epoch: a seeded permutation of 0..n-1 (the same on
 * every machine), or 0..n-1 when shuffle is 0. */
void epoch_order(int64_t *order, int64_t n, uint64_t seed, int64_t epoch, int shuffle);

/* The batches of an epoch of n examples: step s (0-based) takes
 * order[s * B, s * B + epoch_batch_rows(n, B, drop_last, s)).
 *   drop_last 1: n / B full batches; the last n % B examples of the order
 *                are left out (a different n % B each shuffled epoch), as
 *                torch's DataLoader(drop_last=True) in the authors' code;
 *   drop_last 0: ceil(n / B) batches, the last one holding the n % B left,
 *                so every example is seen once an epoch (HF Trainer's default). */
int64_t epoch_steps(int64_t n, int B, int drop_last);
int epoch_batch_rows(int64_t n, int B, int drop_last, int64_t s);
/* The weight of step s in the epoch's mean loss: its rows / B (1 for a full
 * batch, so a mean of full batches is the plain mean of their losses). */
double epoch_step_weight(int64_t n, int B, int drop_last, int64_t s);

#endif
