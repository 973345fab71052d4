/* precompiled.h: HF `tokenizers`' Precompiled normalizer, SentencePiece's
 * compiled normalization rules (its `precompiled_charsmap`, base64 in
 * tokenizer.json): a darts-clone double-array trie over UTF-8 keys whose
 * values point at NUL-terminated replacement strings. Applied the way
 * `spm_precompiled` does it: each grapheme cluster under 6 bytes is looked
 * up whole, else each char alone; the shortest key that is a prefix of the
 * chunk wins and replaces the whole chunk. The blob is hostile input: every
 * trie step and string offset is bounds-checked (an entry that points
 * outside matches nothing). */
#ifndef PIFI_PRECOMPILED_H
#define PIFI_PRECOMPILED_H

#include <stddef.h>
#include <stdint.h>

#include "pifi/err.h"
#include "text/bert_normalizer.h"

typedef struct PcMap PcMap;

/* From the base64 text of precompiled_charsmap; file names it in errors. */
int pc_from_base64(PcMap **out, const char *b64, const char *file, PifiErr *err);
void pc_free(PcMap *m);

/* Normalize t in place (alignments as HF's NormalizedString::transform);
 * base is the byte offset of the segment t came from. */
int pc_normalize(const PcMap *m, NormText *t, int32_t base, PifiErr *err);

/* The replacement of the shortest key that prefixes key[0..n), or NULL;
 * *len gets its length. Exposed for tests. */
const char *pc_lookup(const PcMap *m, const uint8_t *key, size_t n, size_t *len);

#endif
