/* tokenizer_impl.h: the inside of a PifiTokenizer, shared by the loader
 * (tokenizer_load.c), the per-sequence pipeline (tokenizer.c) and the
 * post-processing (encoding.c). */
#ifndef PIFI_TOKENIZER_IMPL_H
#define PIFI_TOKENIZER_IMPL_H

#include <stdint.h>

#include "pifi/tokenizer.h"
#include "text/bert_normalizer.h"
#include "text/bpe.h"
#include "text/spm.h"
#include "text/metaspace.h"
#include "text/normalizers.h"
#include "text/tokbuf.h"
#include "text/unigram.h"
#include "text/wordpiece.h"

/* A token of the added vocabulary, matched in the text before the model runs
 * (HF's AddedToken). */
typedef struct {
    char *content;   /* as written */
    char *norm;      /* content normalized (used when normalized == 1), may be "" */
    int32_t id;
    int special, single_word, lstrip, rstrip, normalized;
} AddedTok;

#define TPL_MAX_IDS 4

/* One piece of a post-processing template: a sequence or a special token. */
typedef struct {
    int seq;                   /* 0 = A, 1 = B, -1 = special token */
    int32_t type_id;
    int n_ids;                 /* special: its ids */
    int32_t ids[TPL_MAX_IDS];
} TplPiece;

typedef struct {
    TplPiece *single, *pair;  /* (n_single), (n_pair) */
    int n_single, n_pair;
    int trim_offsets;         /* RobertaProcessing / ByteLevel: trim spaces off offsets */
    int add_prefix_space;     /* for that trimming */
} PostProc;

typedef enum { TK_WORDPIECE = 1, TK_BPE = 2, TK_SPM = 3, TK_UNIGRAM = 4 } TkModel;

struct PifiTokenizer {
    char *path;               /* what was loaded, for messages */
    TkModel kind;
    WordPiece *wp;
    BpeModel *bpe;
    SpmModel *spm;            /* a GGUF "llama" vocabulary (tokenizer_gguf.c) */
    Unigram *ug;
    NzList nz;                /* Unigram: its normalizers */
    Metaspace ms;             /* Unigram: its pre-tokenizer */
    int has_norm;             /* BertNormalizer present */
    BertNormOpts norm;
    int bert_pretok;          /* BertPreTokenizer present (WordPiece) */
    BpeOpts bpe_opts;
    int bpe_split_digits;     /* every digit its own piece before the BPE regex (GGUF pre "smollm") */
    AddedTok *added;          /* (n_added) */
    int n_added;
    PostProc post;
    int32_t pad_id, pad_type_id;
    int model_max_length;
};

/* tokenizer_gguf.c: fill tk from the tokenizer.ggml.* metadata of a GGUF. */
int tk_load_gguf(PifiTokenizer *tk, const char *path, PifiErr *err);

/* Pipeline, tokenizer.c: tokens of one input sequence with byte offsets into it. */
int tk_encode_sequence(const PifiTokenizer *tk, const char *text, size_t len, TokBuf *out,
                       PifiErr *err);

/* tokenizer_encode with explicit byte lengths (text may hold NUL bytes). */
int tk_encode_bytes(const PifiTokenizer *tk, const char *text, size_t text_len, const char *pair,
                    size_t pair_len, const PifiEncodeOpts *opts, PifiEncoding *enc, PifiErr *err);

/* encoding.c: truncation, template, padding. b may be NULL. */
int tk_build_encoding(const PifiTokenizer *tk, TokBuf *a, TokBuf *b, const PifiEncodeOpts *o,
                      PifiEncoding *enc, PifiErr *err);
void post_proc_free(PostProc *p);

#endif
