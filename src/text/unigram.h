/* unigram.h: the SentencePiece Unigram model of HF `tokenizers`: pieces
 * with log-probability scores, and the Viterbi segmentation of one
 * pre-tokenized piece of text into the pieces of highest total score; a
 * char no piece starts with is unknown (scored min_score - 10, neighbouring
 * unknowns fused into one token), which becomes the unk_id or, with
 * byte_fallback, one <0xXX> piece per byte. */
#ifndef PIFI_UNIGRAM_H
#define PIFI_UNIGRAM_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "pifi/err.h"
#include "text/tokbuf.h"

typedef struct Unigram Unigram;

/* From the "model" object of a tokenizer.json whose type is "Unigram"
 * (vocab [[piece, score], ...], unk_id, byte_fallback). */
int unigram_from_json(Unigram **out, const cJSON *model, const char *file, PifiErr *err);
void unigram_free(Unigram *u);

/* Segment s[0..n) (valid UTF-8); appends tokens with byte offsets into s. */
int unigram_encode(const Unigram *u, const char *s, size_t n, TokBuf *out, PifiErr *err);

int unigram_vocab_size(const Unigram *u);
int unigram_token_to_id(const Unigram *u, const char *tok); /* -1 if absent */
const char *unigram_id_to_token(const Unigram *u, int id);  /* NULL if absent */

#endif
