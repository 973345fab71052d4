/* mt_metrics.h: corpus BLEU and chrF as sacreBLEU 2.x computes them
 * (data/bleu.c, data/chrf.c), to the last bit: sacreBLEU's defaults
 * (BLEU: the 13a tokenizer, exp smoothing, 4-grams, the closest reference
 * length; chrF: character 6-grams, no word n-grams, beta 2, whitespace
 * removed, the best reference per segment), computed in double in
 * sacreBLEU's order.
 *
 * hyps: n segments; refs: R reference streams of n segments each. */
#ifndef PIFI_MT_METRICS_H
#define PIFI_MT_METRICS_H

#include <stdint.h>

#include "pifi/err.h"

typedef struct {
    double score;         /* 0..100 */
    int64_t counts[4];    /* matching n-grams, n = 1..4 */
    int64_t totals[4];    /* hypothesis n-grams */
    double precisions[4]; /* percent, smoothed */
    double bp;            /* brevity penalty */
    int64_t sys_len, ref_len;
} BleuScore;

/* sacreBLEU's 13a tokenizer (tokenizer_13a.py + tokenizer_re.py) of one
 * line, as a new string (NULL: out of memory). */
char *bleu_tokenize_13a(const char *line);

int bleu_corpus(const char *const *hyps, int n, const char *const *const *refs, int R, BleuScore *out,
                PifiErr *err);

typedef struct {
    double score;         /* chrF2, 0..100 */
    int64_t stats[18];    /* per order 1..6: hypothesis, reference and matching character n-grams */
} ChrfScore;

int chrf_corpus(const char *const *hyps, int n, const char *const *const *refs, int R, ChrfScore *out,
                PifiErr *err);

#endif
