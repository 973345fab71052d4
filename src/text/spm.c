/* spm.c: SentencePiece-style BPE by scores with byte fallback (spm.h): a
 * hash of the pieces, the merge loop over a heap of adjacent pairs, and the
 * U+2581 escaping of spaces with its map back to the input's bytes. */
#include "text/spm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPM_MAX_VOCAB (1 << 24)
#define SPM_MAX_PIECE 4096

struct SpmModel {
    char **tok;     /* (n) id -> piece */
    uint32_t *len;  /* (n) its bytes */
    float *score;   /* (n) */
    int n;
    int32_t *slot;  /* (cap) hash: id or -1 */
    uint32_t cap;   /* power of two */
    int32_t unk_id;
    int32_t byte_id[256]; /* "<0xXX>" pieces, -1 when absent */
};

static uint32_t hash_bytes(const char *s, size_t n) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static int32_t lookup(const SpmModel *m, const char *s, size_t n) {
    uint32_t mask = m->cap - 1, i = hash_bytes(s, n) & mask;
    for (; m->slot[i] >= 0; i = (i + 1) & mask) {
        int32_t id = m->slot[i];
        if (m->len[id] == n && memcmp(m->tok[id], s, n) == 0) return id;
    }
    return -1;
}

void spm_free(SpmModel *m) {
    if (!m) return;
    if (m->tok)
        for (int i = 0; i < m->n; i++) free(m->tok[i]);
    free(m->tok);
    free(m->len);
    free(m->score);
    free(m->slot);
    free(m);
}

/* The byte of a byte-fallback piece "<0xAB>" (two hex digits), else -1. */
static int byte_piece(const char *t, uint64_t n) {
    if (n != 6 || memcmp(t, "<0x", 3) != 0 || t[5] != '>') return -1;
    int v = 0;
    for (int k = 3; k < 5; k++) {
        char c = t[k];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

int spm_new(SpmModel **out, const char *const *tokens, const uint64_t *lens, const float *scores, int n,
            int32_t unk_id, const char *what, PifiErr *err) {
    *out = NULL;
    if (n < 1 || n > SPM_MAX_VOCAB) return pifi_errf(err, "%s: %d tokens (expected 1..%d)", what, n, SPM_MAX_VOCAB);
    SpmModel *m = pifi_calloc(1, sizeof *m, err);
    if (!m) return -1;
    m->n = n;
    m->cap = 64;
    while (m->cap < 2u * (uint32_t)n + 2) m->cap *= 2;
    m->tok = pifi_calloc((size_t)n, sizeof *m->tok, err);
    m->len = m->tok ? pifi_calloc((size_t)n, sizeof *m->len, err) : NULL;
    m->score = m->len ? pifi_calloc((size_t)n, sizeof *m->score, err) : NULL;
    m->slot = m->score ? pifi_malloc(m->cap * sizeof *m->slot, err) : NULL;
    if (!m->slot) goto fail;
    memset(m->slot, 0xFF, m->cap * sizeof *m->slot);
    for (int i = 0; i < 256; i++) m->byte_id[i] = -1;
    for (int i = 0; i < n; i++) {
        if (lens[i] > SPM_MAX_PIECE) {
            pifi_errf(err, "%s: token %d is %llu bytes long (at most %d)", what, i, (unsigned long long)lens[i],
                      SPM_MAX_PIECE);
            goto fail;
        }
        m->tok[i] = pifi_malloc(lens[i] + 1, err);
        if (!m->tok[i]) goto fail;
        memcpy(m->tok[i], tokens[i], lens[i]);
        m->tok[i][lens[i]] = 0;
        m->len[i] = (uint32_t)lens[i];
        m->score[i] = scores ? scores[i] : 0.0f;
        uint32_t mask = m->cap - 1, s = hash_bytes(tokens[i], lens[i]) & mask;
        while (m->slot[s] >= 0) s = (s + 1) & mask;
        if (lookup(m, tokens[i], lens[i]) < 0) m->slot[s] = i; /* a duplicate keeps its first id */
        int b = byte_piece(m->tok[i], lens[i]);
        if (b >= 0 && m->byte_id[b] < 0) m->byte_id[b] = i;
    }
    m->unk_id = unk_id >= 0 && unk_id < n ? unk_id : -1;
    *out = m;
    return 0;
fail:
    spm_free(m);
    return -1;
}

int spm_vocab_size(const SpmModel *m) { return m->n; }
int spm_token_to_id(const SpmModel *m, const char *tok) { return lookup(m, tok, strlen(tok)); }
const char *spm_id_to_token(const SpmModel *m, int id) { return id >= 0 && id < m->n ? m->tok[id] : NULL; }

/* ------------------------------------------------------------------------ */
/* the merge loop */

typedef struct {
    int32_t prev, next; /* symbol links, -1 at the ends */
    uint32_t start, n;  /* bytes [start, start + n) of the escaped text; n == 0: merged away */
} Sym;

typedef struct {
    float score;
    int32_t left, right;
    uint32_t size; /* bytes of the pair when it was pushed (stale when it changed) */
} Pair;

typedef struct {
    Pair *v;
    size_t n, cap;
} Heap;

/* a comes out before b: the higher score, then the leftmost */
static int before(const Pair *a, const Pair *b) {
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static int heap_push(Heap *h, Pair p, PifiErr *err) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 64;
        Pair *v = realloc(h->v, cap * sizeof *v);
        if (!v) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory in tokenizer");
        h->v = v, h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0 && before(&p, &h->v[(i - 1) / 2])) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = p;
    return 0;
}

static Pair heap_pop(Heap *h) {
    Pair top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && before(&h->v[c + 1], &h->v[c])) c++;
        if (!before(&h->v[c], &last)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n) h->v[i] = last;
    return top;
}

static int try_pair(const SpmModel *m, const char *s, const Sym *sym, int32_t l, int32_t r, Heap *h,
                    PifiErr *err) {
    if (l < 0 || r < 0) return 0;
    /* a character without a piece of its own never merges (HF's BPE turns it
     * into its bytes first) */
    if (lookup(m, s + sym[l].start, sym[l].n) < 0 || lookup(m, s + sym[r].start, sym[r].n) < 0) return 0;
    uint32_t size = sym[l].n + sym[r].n;
    int32_t id = lookup(m, s + sym[l].start, size);
    if (id < 0) return 0;
    return heap_push(h, (Pair){m->score[id], l, r, size}, err);
}

/* Token of escaped bytes [a, b) -> input bytes via orig (escaped byte ->
 * input byte range). */
static int emit(const SpmModel *m, const char *s, uint32_t a, uint32_t b, const int32_t *o0, const int32_t *o1,
                TokBuf *out, PifiErr *err) {
    int32_t id = lookup(m, s + a, b - a);
    if (id >= 0) return tokbuf_push(out, id, o0[a], o1[b - 1], err);
    int all = 1;
    for (uint32_t k = a; k < b; k++) all &= m->byte_id[(unsigned char)s[k]] >= 0;
    if (all) {
        for (uint32_t k = a; k < b; k++)
            if (tokbuf_push(out, m->byte_id[(unsigned char)s[k]], o0[k], o1[k], err)) return -1;
        return 0;
    }
    if (m->unk_id < 0) return 0; /* HF's BPE without an unknown token drops the character */
    return tokbuf_push(out, m->unk_id, o0[a], o1[b - 1], err);
}

int spm_encode(const SpmModel *m, const char *text, size_t len, int first, TokBuf *out, PifiErr *err) {
    if (!len) return 0;
    /* escape: ' ' -> U+2581, a leading U+2581 put before the input's first segment */
    static const char MS[3] = {(char)0xE2, (char)0x96, (char)0x81};
    int prepend = first && !(text[0] == ' ' || (len >= 3 && memcmp(text, MS, 3) == 0));
    size_t cap = 3 * len + 3;
    char *s = malloc(cap);
    int32_t *o0 = malloc(cap * sizeof *o0), *o1 = malloc(cap * sizeof *o1);
    Sym *sym = malloc((len + 1) * sizeof *sym);
    Heap h = {0};
    int rc = -1;
    if (!s || !o0 || !o1 || !sym) {
        pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory in tokenizer");
        goto done;
    }
    size_t n = 0;
    if (prepend) {
        for (int k = 0; k < 3; k++) s[n] = MS[k], o0[n] = 0, o1[n] = 0, n++;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            for (int k = 0; k < 3; k++) s[n] = MS[k], o0[n] = (int32_t)i, o1[n] = (int32_t)i + 1, n++;
        } else {
            s[n] = text[i], o0[n] = (int32_t)i, o1[n] = (int32_t)i + 1, n++;
        }
    }
    if (prepend) o1[0] = o1[1] = o1[2] = o1[3];
    /* one symbol per character */
    int32_t ns = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cl = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        if (i + cl > n) cl = (uint32_t)(n - i);
        sym[ns] = (Sym){ns - 1, (int32_t)ns + 1, (uint32_t)i, cl};
        ns++;
        i += cl;
    }
    sym[ns - 1].next = -1;
    for (int32_t i = 1; i < ns; i++)
        if (try_pair(m, s, sym, i - 1, i, &h, err)) goto done;
    while (h.n) {
        Pair p = heap_pop(&h);
        Sym *l = &sym[p.left], *r = &sym[p.right];
        if (!l->n || !r->n || l->n + r->n != p.size || l->next != p.right) continue; /* stale */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) sym[r->next].prev = p.left;
        if (try_pair(m, s, sym, l->prev, p.left, &h, err) || try_pair(m, s, sym, p.left, l->next, &h, err))
            goto done;
    }
    for (int32_t i = 0; i >= 0; i = sym[i].next)
        if (emit(m, s, sym[i].start, sym[i].start + sym[i].n, o0, o1, out, err)) goto done;
    rc = 0;
done:
    free(s);
    free(o0);
    free(o1);
    free(sym);
    free(h.v);
    return rc;
}
