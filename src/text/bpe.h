/* bpe.h: byte-level BPE (GPT-2 / RoBERTa): the GPT-2 pre-tokenizer split,
 * the byte-to-unicode map, and merges by rank, as HF `tokenizers` does them
 * (ByteLevel pre-tokenizer + BPE model + ByteLevel/Roberta offset trimming).
 *
 * The tokenizer pipeline (tokenizer.c) calls bpe_encode_text on each input
 * sequence and gets tokens with byte offsets into that sequence. */
#ifndef PIFI_BPE_H
#define PIFI_BPE_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "pifi/err.h"
#include "text/split_regex.h"
#include "text/tokbuf.h"

typedef struct BpeModel BpeModel;

typedef struct {
    int add_prefix_space; /* ByteLevel: prepend a space if the text does not start with one */
    int trim_offsets;     /* ByteLevel/Roberta: offsets exclude the leading space (Ġ) */
    int use_regex;        /* ByteLevel: split with the GPT-2 regex (default 1) */
    SplitRegex split;     /* a Split pre-tokenizer before ByteLevel (Llama-3, Qwen2; never with use_regex) */
} BpeOpts;

/* From the "model" object of a tokenizer.json whose type is "BPE" (vocab,
 * merges as "a b" strings or [a, b] pairs, unk_token, fuse_unk,
 * continuing_subword_prefix, end_of_word_suffix). file names it in errors. */
int bpe_from_json(BpeModel **out, const cJSON *model, const char *file, PifiErr *err);
/* From the legacy vocab.json + merges.txt pair. */
int bpe_from_files(BpeModel **out, const char *vocab_json, const char *merges_txt, PifiErr *err);
void bpe_free(BpeModel *m);

/* Pre-tokenize and encode a whole (valid UTF-8) sequence text of len bytes;
 * appends to out with byte offsets into text. */
int bpe_encode_text(const BpeModel *m, const BpeOpts *o, const char *text, size_t len, TokBuf *out,
                    PifiErr *err);

int bpe_vocab_size(const BpeModel *m);
int bpe_token_to_id(const BpeModel *m, const char *token); /* -1 if absent */
const char *bpe_id_to_token(const BpeModel *m, int id);    /* NULL if absent */

#endif
