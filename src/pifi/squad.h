/* squad.h: extractive question answering data in SQuAD's form, and the
 * official SQuAD v1.1 evaluation (exact match and token F1 of normalised
 * answers, the best over the gold answers, corpus percentages).
 *
 * Readers (data/squad.c): SQuAD v1.1 JSON (data -> paragraphs -> qas ->
 * answers) and the Hugging Face datasets JSON Lines form (one question per
 * line: id, title, context, question, answers.text / answers.answer_start).
 * answer_start counts characters (code points), as Python does; the reader
 * checks every answer is the context's text at that place and keeps byte
 * offsets. SQuAD v2.0's unanswerable questions (is_impossible) are refused.
 *
 * The metric (data/squad_metric.c) is the official v1.1 script's, to the
 * last bit: Python's str.lower() (full mapping: U+0130, final sigma), ASCII
 * punctuation removed, the articles a/an/the removed at Unicode word
 * boundaries (Python re's \b: letters and numbers are word characters), and
 * str.split()'s whitespace. */
#ifndef PIFI_SQUAD_H
#define PIFI_SQUAD_H

#include <stddef.h>
#include <stdint.h>

#include "pifi/err.h"

typedef struct {
    char *id;
    char *question;
    int context;       /* index into SquadData.contexts */
    int n_answers;
    char **answers;    /* (n_answers) gold texts */
    int64_t *starts;   /* (n_answers) byte offsets of the answers in the context */
} SquadQuestion;

typedef struct {
    int n_contexts;
    char **contexts;
    char **titles;     /* of each context's article ("" when none) */
    int n;
    SquadQuestion *q;
    int64_t skipped;   /* bad questions left out (skip_bad) */
    char first_skip[256];
} SquadData;

/* Read path (".jsonl": the JSON Lines form; otherwise SQuAD JSON).
 * skip_bad: a question whose answers do not match its context (or lacks a
 * field) is left out and counted instead of failing. Errors name the file
 * and the question id. */
int squad_load(SquadData *d, const char *path, int skip_bad, PifiErr *err);
void squad_free(SquadData *d);

/* The official script's normalize_answer(s) into a new string (NULL when
 * out of memory). */
char *squad_normalize(const char *s);
/* exact_match_score and f1_score of one prediction against one gold text. */
int squad_exact(const char *pred, const char *gold);
double squad_f1(const char *pred, const char *gold);

/* The official evaluate(dataset, predictions): for each question of d in
 * order, the best exact match and F1 over its gold answers (0 for a
 * question without a prediction), as percentages of all questions.
 * pred_of(i) is question i's predicted text or NULL. unanswered counts
 * the questions without one. */
typedef struct {
    double exact_match, f1;
    int64_t total, unanswered;
} SquadScore;
int squad_evaluate(const SquadData *d, const char *(*pred_of)(void *ctx, int i), void *ctx, SquadScore *out,
                   PifiErr *err);

#endif
