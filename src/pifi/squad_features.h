/* squad_features.h: SQuAD questions as model inputs (data/squad_features.c):
 * question + context windows with byte offsets and the gold span's tokens.
 *
 * Sizes: n windows, T = max_len tokens each (padded). */
#ifndef PIFI_SQUAD_FEATURES_H
#define PIFI_SQUAD_FEATURES_H

#include <stdint.h>

#include "pifi/err.h"
#include "pifi/squad.h"
#include "pifi/tokenizer.h"

typedef struct {
    int n, T, cap;
    int32_t *ids, *types, *mask; /* (n, T) */
    int32_t *offsets;            /* (n, T, 2) byte offsets of context tokens in their context; -1 elsewhere */
    int32_t *question;           /* (n) the question (index into SquadData.q) of each window */
    int32_t *start, *end;        /* (n) the first answer's first and last token, 0 and 0 (CLS) when the
                                  * window does not hold all of it */
} SquadFeatures;

/* The windows of every question of d: each question with its context as a
 * pair (the tokenizer's specials), the context's tokens in windows of
 * max_len - (the other tokens) tokens, consecutive windows sharing
 * doc_stride tokens. A question that leaves no room for its context, or a
 * doc_stride as large as a window's context, fails with "<what>: question
 * <id>: ...". */
int squad_features(const SquadData *d, const PifiTokenizer *tk, int max_len, int doc_stride, SquadFeatures *f,
                   const char *what, PifiErr *err);
void squad_features_free(SquadFeatures *f);

/* One answer per question from start and end logits (n, T) of f's windows
 * (data/squad_answers.c), as Hugging Face's QA post-processing: the best
 * start[s] + end[e] over each window's n_best starts and ends, s <= e, both
 * context tokens, at most max_answer_len tokens; texts[q] (malloc'd, ""
 * when no pair is valid) cut from the context by byte offsets, scores[q]
 * its score. */
int squad_answers(const SquadData *d, const SquadFeatures *f, const float *start, const float *end, int n_best,
                  int max_answer_len, char **texts, float *scores, PifiErr *err);

#endif
