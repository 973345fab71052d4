/* bert_pretok.c: BertPreTokenizer: whitespace split, punctuation isolated. */
#include "text/bert_pretok.h"

#include <stdlib.h>
#include <string.h>

int wordspans_push(WordSpans *w, int start, int end, PifiErr *err) {
    if (start >= end) return 0;
    if (w->n == w->cap) {
        if (w->cap > (1 << 28)) return pifi_errk(err, PIFI_ERR_RUNTIME, "too many words");
        int cap = w->cap ? 2 * w->cap : 64;
        int32_t *s = realloc(w->start, (size_t)cap * sizeof *s);
        if (s) w->start = s;
        int32_t *e = realloc(w->end, (size_t)cap * sizeof *e);
        if (e) w->end = e;
        if (!s || !e) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory splitting words");
        w->cap = cap;
    }
    w->start[w->n] = start;
    w->end[w->n] = end;
    w->n++;
    return 0;
}

void wordspans_free(WordSpans *w) {
    free(w->start);
    free(w->end);
    memset(w, 0, sizeof *w);
}

int bert_pretokenize(const NormText *t, int from, int to, WordSpans *w, PifiErr *err) {
    int word = from; /* start of the current run of ordinary chars */
    for (int i = from; i < to; i++) {
        int32_t c = t->cp[i];
        if (uc_is_whitespace(c)) {
            if (wordspans_push(w, word, i, err)) return -1;
            word = i + 1;
        } else if (uc_is_bert_punct(c)) {
            if (wordspans_push(w, word, i, err) || wordspans_push(w, i, i + 1, err)) return -1;
            word = i + 1;
        }
    }
    return wordspans_push(w, word, to, err);
}
