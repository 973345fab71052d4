/* normalizers.h: the tokenizer.json normalizers SentencePiece tokenizers
 * use (DeBERTa-V3, ALBERT, T5 as transformers converts them): Precompiled,
 * Replace (a string, or one of the small regexes of replace_regex.h), Strip,
 * Lowercase, NFD, NFKD, NFC, NFKC, StripAccents, and a Sequence of them. Each works on
 * a NormText (bert_normalizer.h) and keeps the alignment of every char to
 * the input the way HF's NormalizedString does, so offsets match. */
#ifndef PIFI_NORMALIZERS_H
#define PIFI_NORMALIZERS_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "pifi/err.h"
#include "text/bert_normalizer.h"
#include "text/precompiled.h"
#include "text/replace_regex.h"

typedef enum {
    NZ_PRECOMPILED = 1,
    NZ_REPLACE,
    NZ_STRIP,
    NZ_LOWERCASE,
    NZ_NFD,
    NZ_NFKD,
    NZ_STRIP_ACCENTS,
    NZ_NFC,
    NZ_NFKC,
} NzKind;

typedef struct {
    NzKind kind;
    int left, right;   /* Strip */
    char *pattern;     /* Replace: the literal string, or NULL for a regex */
    Rx rx;             /* Replace: the regex */
    char *content;     /* Replace: what each match becomes */
    PcMap *pc;         /* Precompiled */
} NzStep;

typedef struct {
    NzStep *steps; /* (n) applied in order */
    int n;
} NzList;

/* From tokenizer.json's "normalizer" (NULL or null: none). An unsupported
 * type fails naming it. */
int nz_from_json(NzList *l, const cJSON *nz, const char *file, PifiErr *err);
void nz_free(NzList *l);

/* Every step over t; base is the byte offset of t's segment in its input. */
int nz_apply(const NzList *l, NormText *t, int32_t base, PifiErr *err);

/* A new text as HF's transformations: each char with its change. */
typedef struct {
    int32_t *cp, *chg; /* (n) */
    int n, cap;
} NzChanges;

int nz_changes_push(NzChanges *c, int32_t cp, int32_t chg, PifiErr *err);

/* HF's NormalizedString::transform over the whole of t: the new text is
 * cp[0..n); chg[k] = 0 replaces the next old char, > 0 inserts (aligned
 * with the last old char consumed), < 0 replaces the next old char and
 * drops -chg[k] more; `initial` old chars are dropped first and old chars
 * left over at the end are dropped. */
int normtext_transform(NormText *t, const int32_t *cp, const int32_t *chg, int n, int initial,
                       int32_t base, PifiErr *err);

#endif
