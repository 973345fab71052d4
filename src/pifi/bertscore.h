/* bertscore.h: BERTScore as the bert-score package (0.3.12/0.3.13) computes
 * it, bert_score.score(cands, refs, model_type, num_layers, idf,
 * batch_size) without baseline rescaling, on token vectors that a caller's
 * encoder produces (the model is not part of the metric: pifi's public API
 * pifi_bertscore runs a pifi_encoder, src/api/api_bertscore.c).
 *
 * Per pair (candidate x, reference y; their tokens with the special
 * tokens, vectors L2-normalised):
 *   sim[i][j] = x_i . y_j;  P = sum_i w_x(i) max_j sim / sum_i w_x(i);
 *   R = sum_j w_y(j) max_i sim / sum_j w_y(j);  F = 2PR / (P + R);
 * with the package's quirks kept:
 *   - the pairs are matched in batches of batch_size (64), each side padded
 *     to the batch's longest, and a padded position's similarity is 0 and
 *     still takes part in the max (a sentence shorter than its batch's
 *     longest gets max(.., 0));
 *   - weights: idf off: 1 for every token but the first and last special
 *     ids ([CLS] and [SEP] as the empty text encodes them), which get 0;
 *     idf on: log((M + 1) / (c + 1)) with c the number of the M references
 *     holding the id (every reference of every group counted), unseen ids
 *     log(M + 1);
 *   - a side with only its two special tokens (an empty text) gives P = R =
 *     0; an F of 0 / 0 is 0; P or R of 0 / 0 weight is NaN, as in torch;
 *   - several references: per candidate the largest P, R and F, each on
 *     its own. */
#ifndef PIFI_BERTSCORE_H
#define PIFI_BERTSCORE_H

#include <stdint.h>

#include "pifi/err.h"

/* A sentence's tokens (special tokens included) and their vectors (len, C),
 * as the caller's encoder gives them. */
typedef struct {
    int len;
    const int32_t *ids;
    const float *vec;
} BertScoreSent;

typedef struct {
    double P, R, F;
} BertScorePRF;

typedef struct {
    int idf;        /* idf weights from the references */
    int batch_size; /* bert-score's batch_size (its default 64) */
    int cls_id, sep_id; /* the special ids weighted 0 without idf */
} BertScoreOpts;

/* n candidates (hyps[i]) each against R references (refs[r][i]), as sent
 * indices into sents[] (the caller deduplicates texts as it likes); C floats
 * per vector. seg[n] (may be NULL) gets each candidate's scores, mean the
 * means over the n candidates. */
int bertscore_corpus(const BertScoreSent *sents, int C, const int *hyps, int n, const int *const *refs, int R,
                     const BertScoreOpts *o, BertScorePRF *seg, BertScorePRF *mean, PifiErr *err);

#endif
