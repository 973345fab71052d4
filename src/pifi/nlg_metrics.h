/* nlg_metrics.h: the generation metrics beside BLEU and chrF
 * (mt_metrics.h), each as its reference implementation computes it:
 *
 * ROUGE (data/rouge.c): Google's rouge-score 0.1.2, RougeScorer(["rouge1",
 * "rouge2", "rougeL", "rougeLsum"], use_stemmer) with its default
 * tokenizer (lower(), every run of characters other than [a-z0-9] a
 * separator, NLTK's Porter stemmer on tokens longer than 3 characters);
 * rougeLsum's sentences are the lines of a text. Several references:
 * score_multi, per ROUGE type the reference of the highest F-measure.
 *
 * METEOR (data/meteor.c): NLTK 3.10's meteor_score (alpha 0.9, beta 3,
 * gamma 0.5; exact, Porter-stem and WordNet-synonym stages, str.lower()
 * first; several references: the best) on texts split at whitespace as
 * Python's str.split() splits, with WordNet 3.0's dict files
 * (data/wordnet.c).
 *
 * COCO BLEU (data/coco_bleu.c): BLEU-1..4 as pycocoevalcap 1.2's Bleu(4)
 * computes them (coco-caption's scorer, which nlg-eval runs): words split
 * as str.split() splits, n-grams clipped by their largest count in any
 * reference, the closest reference length (ties: the shorter), the
 * corpus's counts with its 1e-15 and 1e-9 guards, fractions 0..1. */
#ifndef PIFI_NLG_METRICS_H
#define PIFI_NLG_METRICS_H

#include <stdint.h>

#include "pifi/err.h"

typedef struct {
    double precision, recall, fmeasure;
} RougePRF;

enum { ROUGE_1, ROUGE_2, ROUGE_L, ROUGE_LSUM, ROUGE_TYPES };
extern const char *const ROUGE_NAMES[ROUGE_TYPES]; /* "rouge1", "rouge2", "rougeL", "rougeLsum" */

/* RougeScorer.score_multi(refs, hyp): one segment against R references. */
int rouge_segment(const char *hyp, const char *const *refs, int R, int stem, RougePRF out[ROUGE_TYPES],
                  PifiErr *err);

/* The corpus: per type the mean over the n segments of each of precision,
 * recall and F-measure (the mean that rouge-score's BootstrapAggregator's
 * "mid" estimates by resampling). refs: R streams of n segments each. */
int rouge_corpus(const char *const *hyps, int n, const char *const *const *refs, int R, int stem,
                 RougePRF out[ROUGE_TYPES], PifiErr *err);

typedef struct WordNet WordNet;

/* WordNet's dict folder (index.{noun,verb,adj,adv}, data.*, *.exc; Debian's
 * wordnet-base installs it in /usr/share/wordnet). */
int wordnet_open(const char *dir, WordNet **out, PifiErr *err);
void wordnet_free(WordNet *wn);

/* meteor_score of one segment against R references (wn NULL: no synonym
 * stage). */
int meteor_segment(const WordNet *wn, const char *hyp, const char *const *refs, int R, double *out, PifiErr *err);
/* The mean of the segments' METEOR (what Hugging Face evaluate reports). */
int meteor_corpus(const WordNet *wn, const char *const *hyps, int n, const char *const *const *refs, int R,
                  double *out, PifiErr *err);

typedef struct {
    double bleu[4];                /* BLEU-1 .. BLEU-4 */
    int64_t correct[4], guess[4];  /* clipped matches and hypothesis n-grams, n = 1..4 */
    int64_t testlen, reflen;
} CocoBleu;

/* Bleu(4).compute_score(gts, res) over n segments; refs: R streams. */
int coco_bleu_corpus(const char *const *hyps, int n, const char *const *const *refs, int R, CocoBleu *out,
                     PifiErr *err);

#endif
