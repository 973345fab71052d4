/* qa_eval.h: a span (QA) model evaluated on a tokenized QA split: one answer
 * per question and SQuAD v1.1's exact match and F1 (qa_eval.c). */
#ifndef PIFI_TRAIN_QA_EVAL_H
#define PIFI_TRAIN_QA_EVAL_H

#include "pifi/pifi_model.h"
#include "train/tokdata.h"

typedef struct {
    double exact_match, f1;  /* percentages, as the official script prints them */
    double loss;             /* the mean span loss over the windows */
    int64_t questions, windows;
} QaScore;

/* The answers of td's questions (td from tokdata_build_qa) by m in eval
 * mode: windows in batches of eval_batch of similar lengths, the start and
 * end logits of every window, each question's best span of at most
 * max_answer_len tokens over its windows (squad_answers, 20-best), scored
 * against the gold answers. texts (td->squad->n; malloc'd, the caller
 * frees each) and scores may be NULL. */
int qa_evaluate(PifiModel *m, const TokData *td, int eval_batch, int max_answer_len, QaScore *out, char **texts,
                float *scores, PifiErr *err);

#endif
