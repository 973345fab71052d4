/* bpe_internal.h: the BPE model's layout and the builder calls that
 * bpe_load.c uses to fill it; private to bpe.c and bpe_load.c.
 *
 * Build order: bpe_new, bpe_add_token for every vocabulary entry,
 * bpe_set_options, bpe_add_merge for every merge in rank order, bpe_finish. */
#ifndef PIFI_BPE_INTERNAL_H
#define PIFI_BPE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "pifi/err.h"
#include "text/bpe.h"

/* One merge: the pair (a, b) of token ids, key = a << 32 | b. */
typedef struct {
    uint64_t key; /* BPE_EMPTY_KEY marks a free slot */
    uint32_t rank;
    int32_t new_id;
} BpeMergeSlot;

#define BPE_EMPTY_KEY UINT64_MAX

typedef struct {
    int32_t id, index; /* index into BpeModel.tokens */
} BpeIdIndex;

struct BpeModel {
    int n_vocab;
    char **tokens;     /* [n_vocab] NUL-terminated token strings, in insertion order */
    int32_t *ids;      /* [n_vocab] their ids */
    int32_t *slots;    /* [vcap] hash table: index into tokens, or -1 */
    size_t vcap;       /* power of two */
    BpeIdIndex *by_id; /* [n_vocab] sorted by id (after bpe_finish) */

    BpeMergeSlot *merges; /* [mcap] hash table keyed by pair */
    size_t mcap;          /* power of two */
    size_t n_merges;      /* distinct pairs */
    uint32_t next_rank;   /* rank of the next bpe_add_merge */

    char *unk_token;   /* NULL: none */
    char *cont_prefix; /* continuing_subword_prefix, NULL: none */
    char *word_suffix; /* end_of_word_suffix, NULL: none */
    int fuse_unk, byte_fallback, ignore_merges;
};

int bpe_new(BpeModel **out, PifiErr *err);
/* Fails (naming what) on a duplicate token or an id outside [0, INT32_MAX]. */
int bpe_add_token(BpeModel *m, const char *token, int64_t id, const char *what, PifiErr *err);
/* Strings may be NULL (absent); they are copied. */
int bpe_set_options(BpeModel *m, const char *unk_token, const char *cont_prefix,
                    const char *word_suffix, int fuse_unk, int byte_fallback, int ignore_merges,
                    PifiErr *err);
/* Merge a + b (b loses the continuing prefix); each of a, b and the merged
 * token must be in the vocabulary. what names the merge in errors ("f: line 3").
 * A pair seen again takes the later rank, as HF's map does. */
int bpe_add_merge(BpeModel *m, const char *a, size_t alen, const char *b, size_t blen,
                  const char *what, PifiErr *err);
/* Checks ids are distinct and builds the id index. file names the model. */
int bpe_finish(BpeModel *m, const char *file, PifiErr *err);

/* Vocabulary lookup of n bytes: the id, or -1. */
int32_t bpe_lookup(const BpeModel *m, const char *s, size_t n);

#endif
