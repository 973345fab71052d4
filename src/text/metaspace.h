/* metaspace.h: HF `tokenizers`' Metaspace pre-tokenizer and decoder, as
 * SentencePiece tokenizers use them: spaces become the replacement char
 * ('▁'), a '▁' is prepended (prepend_scheme always; first: only to the part
 * of the input that starts at its byte 0; never), and with split the text
 * is cut before each '▁' (MergedWithNext: a '▁' joins the text after it,
 * a run of them stands alone but for the last). The decoder turns '▁' back
 * into spaces, dropping them from the first token unless the scheme is
 * never. A WhitespaceSplit ahead of it (older files) first cuts the text
 * into words at White_Space, each word then a text of its own. */
#ifndef PIFI_METASPACE_H
#define PIFI_METASPACE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "pifi/err.h"
#include "text/bert_normalizer.h"
#include "text/bert_pretok.h"

typedef enum { MS_ALWAYS = 0, MS_FIRST, MS_NEVER } MsPrepend;

typedef struct {
    int ws_split;        /* a WhitespaceSplit first: words split at White_Space, which is dropped */
    int on;              /* 0: no Metaspace, each word is one piece */
    int32_t replacement; /* a char, U+2581 usually */
    MsPrepend prepend;
    int split;
} Metaspace;

/* From tokenizer.json's "pre_tokenizer": null, a Metaspace, or a Sequence
 * of one Metaspace (prepend_scheme, or the older add_prefix_space),
 * optionally after a WhitespaceSplit (how older converters wrote T5's and
 * ALBERT's). */
int metaspace_from_json(Metaspace *m, const cJSON *pt, const char *file, PifiErr *err);

/* Pre-tokenize chars [from, to) of t: out (cleared first) gets them with
 * spaces replaced and the prepended '▁' (aligned with the first char), and
 * spans the pieces of out. at_start: the chars start at byte 0 of the input. */
int metaspace_split(const Metaspace *m, const NormText *t, int from, int to, int at_start,
                    NormText *out, WordSpans *spans, PifiErr *err);

/* The decoder on token number index (UTF-8, len bytes): written into out
 * (room for len bytes), returns the bytes written. */
size_t metaspace_decode_token(const Metaspace *m, const char *tok, size_t len, int index, char *out);

#endif
