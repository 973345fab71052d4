/* bert_pretok.h: HF `tokenizers`' BertPreTokenizer over a normalized text:
 * split on whitespace (dropped) and isolate every punctuation char. */
#ifndef PIFI_BERT_PRETOK_H
#define PIFI_BERT_PRETOK_H

#include "pifi/err.h"
#include "text/bert_normalizer.h"

typedef struct {
    int32_t *start; /* (n) word = chars [start, end) of the normalized text */
    int32_t *end;   /* (n) */
    int n, cap;
} WordSpans;

/* Append to w the words of chars [from, to) of t. */
int bert_pretokenize(const NormText *t, int from, int to, WordSpans *w, PifiErr *err);
/* Append chars [from, to) as one word (no pre-tokenizer), if not empty. */
int wordspans_push(WordSpans *w, int start, int end, PifiErr *err);
void wordspans_free(WordSpans *w);

#endif
