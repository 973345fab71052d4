/* bert_normalizer.h: HF `tokenizers`' BertNormalizer (clean text, pad CJK
 * ideographs with spaces, strip accents, lowercase) over a "normalized text":
 * a list of code points, each remembering the byte range of the original
 * character it came from. That alignment is how token offsets in the
 * normalized text are mapped back to the input, exactly as HF's
 * NormalizedString does it. Also the Unicode character classes the BERT
 * pipeline relies on, with Rust's definitions. */
#ifndef PIFI_BERT_NORMALIZER_H
#define PIFI_BERT_NORMALIZER_H

#include <stddef.h>
#include <stdint.h>

#include "pifi/err.h"

typedef struct {
    int32_t *cp;    /* (n) normalized code points */
    int32_t *start; /* (n) byte range [start, end) of the original char it came from */
    int32_t *end;   /* (n) */
    int n, cap;
} NormText;

typedef struct {
    int clean_text;
    int handle_chinese_chars;
    int strip_accents; /* already resolved: null in the JSON means "= lowercase" */
    int lowercase;
} BertNormOpts;

int normtext_push(NormText *t, int32_t cp, int32_t start, int32_t end, PifiErr *err);
void normtext_free(NormText *t);

/* Fill t (cleared first) with the code points of s[0..n) (valid UTF-8) as
 * is; offsets are base + byte position in s. */
int normtext_from_utf8(NormText *t, const char *s, size_t n, int32_t base, PifiErr *err);

/* Normalize t in place. */
int bert_normalize(const BertNormOpts *o, NormText *t, PifiErr *err);

/* Character classes with the definitions HF's Rust code uses. */
int uc_is_whitespace(int32_t c);  /* Rust char::is_whitespace (White_Space) */
int uc_is_bert_punct(int32_t c);  /* ASCII punctuation or Unicode P* */
int uc_is_chinese(int32_t c);     /* the CJK ideograph blocks BERT pads */
int uc_is_word(int32_t c);        /* regex \w: alphanumeric, marks, Pc */

/* Rust's char::to_lowercase: the simple mapping, plus the one unconditional
 * multi-char mapping of SpecialCasing.txt. Returns the count written. */
int uc_lower_full(int32_t c, int32_t out[3]);

/* The full canonical (compat = 0) or compatibility (compat = 1)
 * decomposition of c, not reordered, as HF's normalization tables have it
 * (compositions newer than them are left whole). Returns the count. */
#define UC_MAX_DECOMP 32
int uc_decompose(int32_t c, int compat, int32_t out[UC_MAX_DECOMP]);
int uc_combining_class(int32_t c);

#endif
