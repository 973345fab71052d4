/* s2s_beam.h: beam search over an encoder-decoder (pifi/seq2seq.h) with
 * transformers' generate() semantics (s2s_beam.c says which). */
#ifndef PIFI_S2S_BEAM_H
#define PIFI_S2S_BEAM_H

#include <stdint.h>

#include "pifi/seq2seq.h"
#include "train/s2s_plug.h"

typedef struct {
    int num_beams;            /* >= 1 */
    float length_penalty;     /* a finished beam's score: sum of log-probs / (generated length ^ this) */
    int early_stopping;       /* 0: false (stop when no beam can improve, by the heuristic), 1: true (stop
                                 when num_beams are finished), 2: "never" (the canonical search) */
    int no_repeat_ngram_size; /* 0: off */
    int min_new_tokens;       /* the end-of-sequence token is banned before this many */
    int max_new_tokens;       /* >= 1 */
} S2SBeamOpts;

/* The best finished beam of each source src (B, Ts) with mask: out (B,
 * max_new_tokens) gets its tokens (plug: PiFi's layer between the halves,
 * NULL: none) without the start and end tokens, len (B)
 * their counts. */
int s2s_beam(Seq2Seq *m, S2SPlug *plug, const int32_t *src, const int32_t *mask, int B, int Ts,
             const S2SBeamOpts *o, int32_t *out, int *len, PifiErr *err);

#endif
