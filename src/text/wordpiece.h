/* wordpiece.h: the WordPiece model (BERT): a vocabulary and HF's greedy
 * longest-match-first split of one word with the "##" continuation prefix. */
#ifndef PIFI_WORDPIECE_H
#define PIFI_WORDPIECE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "pifi/err.h"
#include "text/tokbuf.h"

typedef struct WordPiece WordPiece;

/* From the "model" object of a tokenizer.json whose type is "WordPiece". */
int wp_from_json(WordPiece **out, const cJSON *model, const char *file, PifiErr *err);
/* From a vocab.txt: one token per line, id = line number - 1. Duplicates are
 * an error naming both lines. */
int wp_from_vocab_txt(WordPiece **out, const char *path, PifiErr *err);
/* From a list of tokens in WordPiece spelling, id = index (a GGUF's
 * vocabulary); a duplicate keeps its first id. */
int wp_from_tokens(WordPiece **out, const char *const *toks, int n, const char *what, PifiErr *err);
void wp_free(WordPiece *wp);

/* Set the unknown token (must be in the vocabulary). what names the source. */
int wp_set_unk(WordPiece *wp, const char *unk, const char *what, PifiErr *err);

int wp_vocab_size(const WordPiece *wp); /* 1 + the largest id */
int wp_token_to_id(const WordPiece *wp, const char *tok, size_t len); /* -1 if absent */
const char *wp_id_to_token(const WordPiece *wp, int id);              /* NULL if absent */

/* Split one word (UTF-8, len bytes, nchars chars) into pieces appended to
 * out with byte offsets into word; a word that cannot be split, or longer
 * than max_input_chars_per_word, becomes one [UNK] over the whole word. */
int wp_encode_word(const WordPiece *wp, const char *word, size_t len, int nchars, TokBuf *out,
                   PifiErr *err);

#endif
