/* spm.h: SentencePiece-style BPE by scores (llama.cpp's "llama" vocabulary,
 * tokenizer.ggml.model = "llama"): the pieces of a vocabulary with a score
 * each; a segment's characters are merged pairwise, always the adjacent pair
 * whose concatenation is the vocabulary piece of highest score (the leftmost
 * on a tie), until no pair is a piece; a character with no piece of its own
 * falls back to its UTF-8 bytes as the "<0xXX>" pieces (then to the unknown
 * token). Spaces are written as U+2581 and, as HF's Metaspace with
 * prepend_scheme "first" does, a U+2581 is put before a segment that starts
 * the input and does not already start with one. This is what HF
 * `tokenizers` builds from such a vocabulary (BPE with merges ranked by the
 * merged piece's score, byte_fallback) and what llama.cpp's SPM tokenizer
 * does. */
#ifndef PIFI_SPM_H
#define PIFI_SPM_H

#include <stddef.h>
#include <stdint.h>

#include "pifi/err.h"
#include "text/tokbuf.h"

typedef struct SpmModel SpmModel;

/* tokens[i] (lens[i] bytes) with scores[i] is id i; n pieces. unk_id < 0:
 * none. what names the source in errors. */
int spm_new(SpmModel **out, const char *const *tokens, const uint64_t *lens, const float *scores, int n,
            int32_t unk_id, const char *what, PifiErr *err);
void spm_free(SpmModel *m);

/* Encode text[0..len) (valid UTF-8), a segment that starts the input when
 * first != 0; appends to out with byte offsets into text. */
int spm_encode(const SpmModel *m, const char *text, size_t len, int first, TokBuf *out, PifiErr *err);

int spm_vocab_size(const SpmModel *m);
int spm_token_to_id(const SpmModel *m, const char *tok); /* -1 if absent */
const char *spm_id_to_token(const SpmModel *m, int id);  /* NULL if absent */

#endif
