/* s2s_generate.h: the sources of a tokenized split decoded into texts, in
 * batches: greedy decoding (one beam, no constraints) or beam search
 * (s2s_beam.h), each output back to text with the tokenizer's decoder
 * (special tokens skipped, as transformers' batch_decode(...,
 * skip_special_tokens=True)). And the corpus scores of such texts against
 * references. */
#ifndef PIFI_S2S_GENERATE_H
#define PIFI_S2S_GENERATE_H

#include <stdint.h>

#include "pifi/tokenizer.h"
#include "train/s2s_beam.h"
#include "train/s2s_data.h"

/* Told after each decoded batch: sources done of total. */
typedef void (*S2SGenProgress)(int64_t done, int64_t total, void *user);

/* hyps (d->n, allocated here, each a new string; free with s2s_texts_free)
 * for the sources of d, batch at a time. */
int s2s_generate(Seq2Seq *m, S2SPlug *plug, const PifiTokenizer *tk, const S2SData *d, const S2SBeamOpts *o,
                 int batch, S2SGenProgress progress, void *user, char ***hyps, PifiErr *err);
void s2s_texts_free(char **texts, int64_t n);

/* sacreBLEU's corpus BLEU and chrF2 of hyps against one reference each. */
typedef struct {
    double bleu, chrf;
    double bleu_precisions[4]; /* BLEU's n-gram precisions, percent: BLEU-1..4 as the authors report */
    double bleu_bp;
} S2SScores;

int s2s_score(char *const *hyps, char *const *refs, int64_t n, S2SScores *out, PifiErr *err);

#endif
