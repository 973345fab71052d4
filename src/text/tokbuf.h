/* tokbuf.h: a growable list of (id, start, end) produced by a tokenizer model
 * before post-processing. Offsets are byte offsets into the input text. */
#ifndef PIFI_TOKBUF_H
#define PIFI_TOKBUF_H

#include <stdint.h>
#include <stdlib.h>

#include "pifi/err.h"

typedef struct {
    int32_t *ids;
    int32_t *start;
    int32_t *end;
    int n, cap;
} TokBuf;

static inline int tokbuf_push(TokBuf *b, int32_t id, int32_t start, int32_t end, PifiErr *err) {
    if (b->n == b->cap) {
        int cap = b->cap ? 2 * b->cap : 64;
        int32_t *ids = realloc(b->ids, (size_t)cap * sizeof *ids);
        if (ids) b->ids = ids;
        int32_t *s = realloc(b->start, (size_t)cap * sizeof *s);
        if (s) b->start = s;
        int32_t *e = realloc(b->end, (size_t)cap * sizeof *e);
        if (e) b->end = e;
        if (!ids || !s || !e) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory in tokenizer");
        b->cap = cap;
    }
    b->ids[b->n] = id;
    b->start[b->n] = start;
    b->end[b->n] = end;
    b->n++;
    return 0;
}

static inline void tokbuf_clear(TokBuf *b) { b->n = 0; }

static inline void tokbuf_free(TokBuf *b) {
    free(b->ids);
    free(b->start);
    free(b->end);
    b->ids = b->start = b->end = NULL;
    b->n = b->cap = 0;
}

#endif
