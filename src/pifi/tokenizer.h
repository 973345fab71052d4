/* tokenizer.h: Hugging Face tokenizers in C (BERT WordPiece, RoBERTa byte-level
 * BPE, SentencePiece Unigram as DeBERTa-V3 / ALBERT / T5 save it), read from
 * tokenizer.json or (WordPiece, BPE) the legacy vocab files, producing exactly
 * the ids, type ids and offsets that HF `tokenizers` produces.
 *
 * Offsets are BYTE offsets [start, end) into the UTF-8 text of the input the
 * token came from (text or pair); special and padding tokens have (0, 0). */
#ifndef PIFI_TOKENIZER_H
#define PIFI_TOKENIZER_H

#include <stdint.h>

#include "pifi/err.h"

typedef enum {
    PIFI_TRUNC_NONE = 0,
    PIFI_TRUNC_LONGEST_FIRST,
    PIFI_TRUNC_ONLY_FIRST,
    PIFI_TRUNC_ONLY_SECOND,
} PifiTruncation;

typedef struct {
    int add_special_tokens;    /* [CLS] a [SEP] (b [SEP]) or <s> a </s></s> b </s> */
    int max_length;            /* total length incl. specials; 0 = no limit */
    PifiTruncation truncation; /* how to cut to max_length */
    int pad_to;                /* pad on the right to this length; 0 = none */
} PifiEncodeOpts;

/* Defaults: add specials, no truncation, no padding. */
PifiEncodeOpts pifi_encode_opts_default(void);

typedef struct {
    int n;                  /* tokens incl. specials and padding */
    int cap;
    int32_t *ids;           /* (n) */
    int32_t *type_ids;      /* (n) */
    int32_t *attention_mask;/* (n) 1 real, 0 pad */
    int32_t *special_mask;  /* (n) 1 special or pad */
    int32_t *seq;           /* (n) 0 text, 1 pair, -1 special/pad */
    int32_t *offsets;       /* (n, 2) byte offsets into that input */
} PifiEncoding;

typedef struct PifiTokenizer PifiTokenizer;

/* path: a directory (tokenizer.json preferred; else vocab.txt; else
 * vocab.json + merges.txt), or one of those files, or a .gguf file (its
 * tokenizer.ggml.* metadata: bert, gpt2 or llama vocabularies,
 * src/text/tokenizer_gguf.c). tokenizer_config.json and
 * special_tokens_map.json beside it are honoured (do_lower_case,
 * strip_accents, tokenize_chinese_chars, model_max_length, special tokens). */
int tokenizer_load(PifiTokenizer **out, const char *path, PifiErr *err);
void tokenizer_free(PifiTokenizer *tk);

/* The "bert" vocabulary of the GGUF at path as BertTokenizer's files in dir:
 * vocab.txt (WordPiece spelling) and tokenizer_config.json (lowercase, the
 * special tokens), which tokenizer_load reads back to the same tokenizer: a
 * run trained from a GGUF keeps its tokenizer so (src/text/tokenizer_gguf.c).
 * Other vocabularies (gpt2, llama: a decoder SLM's) as dir/tokenizer.gguf,
 * the GGUF's tokenizer.* metadata alone (no tensors), which tokenizer_load
 * finds in dir. */
int tokenizer_gguf_write_vocab(const char *path, const char *dir, PifiErr *err);

/* Encode one input (pair may be NULL). Text that is not valid UTF-8 fails
 * with "<what>: text is not valid UTF-8 at byte N". enc is (re)filled; it
 * owns its arrays: free with encoding_free. */
int tokenizer_encode(const PifiTokenizer *tk, const char *text, const char *pair,
                     const PifiEncodeOpts *opts, PifiEncoding *enc, PifiErr *err);
void encoding_free(PifiEncoding *enc);

int tokenizer_vocab_size(const PifiTokenizer *tk);
/* -1 when absent. */
int tokenizer_token_to_id(const PifiTokenizer *tk, const char *token);
/* NULL when out of range. */
const char *tokenizer_id_to_token(const PifiTokenizer *tk, int id);
/* ids[0..n) back to text as HF `tokenizers`' decode(ids, skip_special_tokens)
 * does: the model's decoder (Metaspace for Unigram, ByteLevel for BPE,
 * WordPiece's "##" joining with its cleanup); ids the vocabulary lacks are
 * left out. *out: a new NUL-terminated string (free). src/text/decode.c. */
int tokenizer_decode(const PifiTokenizer *tk, const int32_t *ids, int n, int skip_special, char **out,
                     PifiErr *err);
int tokenizer_pad_id(const PifiTokenizer *tk);
/* model_max_length from tokenizer_config.json, or 512. */
int tokenizer_model_max_length(const PifiTokenizer *tk);

#endif
