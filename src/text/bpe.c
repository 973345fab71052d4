/* bpe.c: the byte-level BPE model: vocabulary and merge tables, the merge
 * loop (a priority queue on (rank, position), exactly as HF `tokenizers`'
 * Word::merge_all) and bpe_encode_text (ByteLevel pre-tokenization, BPE on
 * each piece, byte offsets, optional offset trimming).
 * Loading from files lives in bpe_load.c. */
#include "text/bpe.h"

#include <stdio.h>
#include <string.h>

#include "text/bpe_internal.h"
#include "text/bytelevel.h"

/* ---- hash tables ---------------------------------------------------------- */

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

static uint64_t hash_key(uint64_t x) { /* splitmix64 finalizer */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

int32_t bpe_lookup(const BpeModel *m, const char *s, size_t n) {
    if (!m->vcap || memchr(s, 0, n)) return -1; /* tokens hold no NUL */
    size_t mask = m->vcap - 1;
    for (size_t i = hash_bytes(s, n) & mask;; i = (i + 1) & mask) {
        int32_t k = m->slots[i];
        if (k < 0) return -1;
        const char *t = m->tokens[k];
        if (strncmp(t, s, n) == 0 && t[n] == 0) return m->ids[k];
    }
}

static int vocab_grow(BpeModel *m, PifiErr *err) {
    size_t cap = m->vcap ? 2 * m->vcap : 1024;
    int32_t *slots = pifi_malloc(cap * sizeof *slots, err);
    if (!slots) return -1;
    for (size_t i = 0; i < cap; i++)
        slots[i] = -1;
    for (int k = 0; k < m->n_vocab; k++) {
        size_t i = hash_bytes(m->tokens[k], strlen(m->tokens[k])) & (cap - 1);
        while (slots[i] >= 0)
            i = (i + 1) & (cap - 1);
        slots[i] = k;
    }
    char **tokens = realloc(m->tokens, cap / 2 * sizeof *tokens);
    if (tokens) m->tokens = tokens;
    int32_t *ids = realloc(m->ids, cap / 2 * sizeof *ids);
    if (ids) m->ids = ids;
    if (!tokens || !ids) {
        free(slots);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory building BPE vocabulary");
    }
    free(m->slots);
    m->slots = slots;
    m->vcap = cap;
    return 0;
}

int bpe_new(BpeModel **out, PifiErr *err) {
    *out = pifi_calloc(1, sizeof **out, err);
    return *out ? 0 : -1;
}

int bpe_add_token(BpeModel *m, const char *token, int64_t id, const char *what, PifiErr *err) {
    if (id < 0 || id > INT32_MAX)
        return pifi_errf(err, "%s: token id %lld out of range", what, (long long)id);
    size_t n = strlen(token);
    if (bpe_lookup(m, token, n) >= 0)
        return pifi_errf(err, "%s: duplicate token \"%.64s\"", what, token);
    if ((size_t)m->n_vocab + 1 > m->vcap / 2 && vocab_grow(m, err)) return -1;
    char *copy = pifi_malloc(n + 1, err);
    if (!copy) return -1;
    memcpy(copy, token, n + 1);
    size_t i = hash_bytes(token, n) & (m->vcap - 1);
    while (m->slots[i] >= 0)
        i = (i + 1) & (m->vcap - 1);
    m->slots[i] = m->n_vocab;
    m->tokens[m->n_vocab] = copy;
    m->ids[m->n_vocab] = (int32_t)id;
    m->n_vocab++;
    return 0;
}

static char *dup_opt(const char *s, int *bad) {
    if (!s) return NULL;
    char *c = strdup(s);
    if (!c) *bad = 1;
    return c;
}

int bpe_set_options(BpeModel *m, const char *unk_token, const char *cont_prefix,
                    const char *word_suffix, int fuse_unk, int byte_fallback, int ignore_merges,
                    PifiErr *err) {
    int bad = 0;
    m->unk_token = dup_opt(unk_token, &bad);
    m->cont_prefix = dup_opt(cont_prefix, &bad);
    m->word_suffix = dup_opt(word_suffix, &bad);
    m->fuse_unk = fuse_unk;
    m->byte_fallback = byte_fallback;
    m->ignore_merges = ignore_merges;
    if (bad) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    return 0;
}

static BpeMergeSlot *merge_find(const BpeModel *m, uint64_t key) {
    if (!m->mcap) return NULL;
    size_t mask = m->mcap - 1;
    for (size_t i = hash_key(key) & mask;; i = (i + 1) & mask) {
        if (m->merges[i].key == key) return &m->merges[i];
        if (m->merges[i].key == BPE_EMPTY_KEY) return NULL;
    }
}

static void merge_put(BpeMergeSlot *tab, size_t cap, BpeMergeSlot s) {
    size_t i = hash_key(s.key) & (cap - 1);
    while (tab[i].key != BPE_EMPTY_KEY && tab[i].key != s.key)
        i = (i + 1) & (cap - 1);
    tab[i] = s;
}

int bpe_add_merge(BpeModel *m, const char *a, size_t alen, const char *b, size_t blen,
                  const char *what, PifiErr *err) {
    int32_t ia = bpe_lookup(m, a, alen), ib = bpe_lookup(m, b, blen);
    if (ia < 0)
        return pifi_errf(err, "%s: merge token \"%.*s\" is not in the vocabulary", what,
                         (int)(alen < 64 ? alen : 64), a);
    if (ib < 0)
        return pifi_errf(err, "%s: merge token \"%.*s\" is not in the vocabulary", what,
                         (int)(blen < 64 ? blen : 64), b);
    size_t plen = m->cont_prefix ? strlen(m->cont_prefix) : 0;
    if (blen < plen)
        return pifi_errf(err, "%s: merge token \"%.*s\" is shorter than the subword prefix", what,
                         (int)blen, b);
    char *joined = pifi_malloc(alen + blen - plen + 1, err);
    if (!joined) return -1;
    memcpy(joined, a, alen);
    memcpy(joined + alen, b + plen, blen - plen);
    int32_t inew = bpe_lookup(m, joined, alen + blen - plen);
    if (inew < 0) {
        pifi_errf(err, "%s: merged token \"%.*s\" is not in the vocabulary", what,
                  (int)((alen + blen - plen) < 64 ? alen + blen - plen : 64), joined);
        free(joined);
        return -1;
    }
    free(joined);
    if (m->next_rank == UINT32_MAX) return pifi_errf(err, "%s: too many merges", what);
    uint64_t key = (uint64_t)(uint32_t)ia << 32 | (uint32_t)ib;
    BpeMergeSlot s = {key, m->next_rank++, inew};
    BpeMergeSlot *old = merge_find(m, key);
    if (old) {
        *old = s;
        return 0;
    }
    if (m->n_merges + 1 > m->mcap / 2) {
        size_t cap = m->mcap ? 2 * m->mcap : 1024;
        BpeMergeSlot *tab = pifi_malloc(cap * sizeof *tab, err);
        if (!tab) return -1;
        for (size_t i = 0; i < cap; i++)
            tab[i].key = BPE_EMPTY_KEY;
        for (size_t i = 0; i < m->mcap; i++)
            if (m->merges[i].key != BPE_EMPTY_KEY) merge_put(tab, cap, m->merges[i]);
        free(m->merges);
        m->merges = tab;
        m->mcap = cap;
    }
    merge_put(m->merges, m->mcap, s);
    m->n_merges++;
    return 0;
}

static int cmp_by_id(const void *x, const void *y) {
    const BpeIdIndex *a = x, *b = y;
    return (a->id > b->id) - (a->id < b->id);
}

int bpe_finish(BpeModel *m, const char *file, PifiErr *err) {
    m->by_id = pifi_malloc((size_t)(m->n_vocab ? m->n_vocab : 1) * sizeof *m->by_id, err);
    if (!m->by_id) return -1;
    for (int k = 0; k < m->n_vocab; k++)
        m->by_id[k] = (BpeIdIndex){m->ids[k], k};
    qsort(m->by_id, (size_t)m->n_vocab, sizeof *m->by_id, cmp_by_id);
    for (int k = 1; k < m->n_vocab; k++) {
        if (m->by_id[k - 1].id == m->by_id[k].id)
            return pifi_errf(err, "%s: tokens \"%.64s\" and \"%.64s\" share id %d", file,
                             m->tokens[m->by_id[k - 1].index], m->tokens[m->by_id[k].index],
                             m->by_id[k].id);
    }
    return 0;
}

void bpe_free(BpeModel *m) {
    if (!m) return;
    for (int k = 0; k < m->n_vocab; k++)
        free(m->tokens[k]);
    free(m->tokens);
    free(m->ids);
    free(m->slots);
    free(m->by_id);
    free(m->merges);
    free(m->unk_token);
    free(m->cont_prefix);
    free(m->word_suffix);
    free(m);
}

int bpe_vocab_size(const BpeModel *m) { return m->n_vocab; }

int bpe_token_to_id(const BpeModel *m, const char *token) {
    return bpe_lookup(m, token, strlen(token));
}

const char *bpe_id_to_token(const BpeModel *m, int id) {
    if (!m->by_id) return NULL;
    int lo = 0, hi = m->n_vocab - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int32_t k = m->by_id[mid].index, kid = m->by_id[mid].id;
        if (kid == id) return m->tokens[k];
        if (kid < id)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

/* ---- encoding -------------------------------------------------------------- */

/* One symbol of a word being merged (HF's Symbol): a doubly linked list over
 * an array; a symbol merged into its left neighbour gets len 0. */
typedef struct {
    int32_t id;
    int32_t prev, next; /* indices, -1: none */
    int32_t len;        /* bytes of the mapped piece it covers */
} BpeSymbol;

/* A candidate merge in the queue: lowest rank first, then leftmost. */
typedef struct {
    uint32_t rank;
    int32_t pos, new_id;
} BpeCand;

/* Buffers reused for every piece of one text. */
typedef struct {
    char *mapped;      /* [mapped_cap] the piece in GPT-2's byte alphabet */
    int32_t *al_start; /* [mapped_cap] original char start of each mapped byte */
    int32_t *al_end;   /* [mapped_cap] original char end */
    size_t mapped_cap, al_start_cap, al_end_cap;
    BpeSymbol *sym; /* [sym_cap] */
    size_t sym_cap, nsym;
    BpeCand *heap; /* [heap_cap] */
    size_t heap_cap, nheap;
    char *look; /* [look_cap] a char with prefix/suffix, for lookups */
    size_t look_cap;
} BpeScratch;

static void scratch_free(BpeScratch *s) {
    free(s->mapped);
    free(s->al_start);
    free(s->al_end);
    free(s->sym);
    free(s->heap);
    free(s->look);
}

/* Make *p hold at least need elements of elem bytes. */
static int grow(void **p, size_t *cap, size_t need, size_t elem, PifiErr *err) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory in BPE");
    *p = q;
    *cap = c;
    return 0;
}

static int sym_push(BpeScratch *s, int32_t id, int32_t len, PifiErr *err) {
    if (grow((void **)&s->sym, &s->sym_cap, s->nsym + 1, sizeof *s->sym, err)) return -1;
    int32_t k = (int32_t)s->nsym;
    if (k > 0) s->sym[k - 1].next = k;
    s->sym[k] = (BpeSymbol){id, k - 1, -1, len};
    s->nsym++;
    return 0;
}

static int cand_less(BpeCand a, BpeCand b) {
    return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos);
}

/* Push the merge of symbols (left, right) at pos if there is one; the heap
 * was sized for every push of one word. */
static void heap_push_pair(const BpeModel *m, BpeScratch *s, int32_t left, int32_t right,
                           int32_t pos) {
    const BpeMergeSlot *ms =
        merge_find(m, (uint64_t)(uint32_t)s->sym[left].id << 32 | (uint32_t)s->sym[right].id);
    if (!ms) return;
    BpeCand c = {ms->rank, pos, ms->new_id};
    size_t i = s->nheap++;
    while (i > 0 && cand_less(c, s->heap[(i - 1) / 2])) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = c;
}

static BpeCand heap_pop(BpeScratch *s) {
    BpeCand top = s->heap[0], last = s->heap[--s->nheap];
    size_t i = 0, n = s->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && cand_less(s->heap[c + 1], s->heap[c])) c++;
        if (!cand_less(s->heap[c], last)) break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n) s->heap[i] = last;
    return top;
}

/* HF Word::merge_all without dropout. */
static int merge_all(const BpeModel *m, BpeScratch *s, PifiErr *err) {
    size_t n = s->nsym;
    /* n - 1 initial pairs, then at most two pushes per merge */
    if (grow((void **)&s->heap, &s->heap_cap, 3 * n + 1, sizeof *s->heap, err)) return -1;
    s->nheap = 0;
    for (size_t i = 0; i + 1 < n; i++)
        heap_push_pair(m, s, (int32_t)i, (int32_t)i + 1, (int32_t)i);
    while (s->nheap) {
        BpeCand top = heap_pop(s);
        BpeSymbol *cur = &s->sym[top.pos];
        if (cur->len == 0 || cur->next < 0) continue;
        int32_t nx = cur->next;
        BpeSymbol right = s->sym[nx];
        const BpeMergeSlot *ms =
            merge_find(m, (uint64_t)(uint32_t)cur->id << 32 | (uint32_t)right.id);
        if (!ms || ms->new_id != top.new_id) continue; /* stale entry */
        cur->id = top.new_id;
        cur->len += right.len;
        cur->next = right.next;
        s->sym[nx].len = 0;
        if (right.next >= 0) s->sym[right.next].prev = top.pos;
        if (cur->prev >= 0) heap_push_pair(m, s, cur->prev, top.pos, cur->prev);
        if (cur->next >= 0) heap_push_pair(m, s, top.pos, cur->next, top.pos);
    }
    return 0;
}

/* HF BPE::merge_word's first half: one symbol per character of the mapped
 * piece (with continuing prefix / end-of-word suffix), byte fallback, and
 * unknown characters (fused or not; dropped when there is no unk token). */
static int build_word(const BpeModel *m, BpeScratch *s, size_t mlen, PifiErr *err) {
    const char *mp = s->mapped;
    s->nsym = 0;
    if (m->ignore_merges) {
        int32_t id = bpe_lookup(m, mp, mlen);
        if (id >= 0) return sym_push(s, id, (int32_t)mlen, err);
    }
    size_t plen = m->cont_prefix ? strlen(m->cont_prefix) : 0;
    size_t slen = m->word_suffix ? strlen(m->word_suffix) : 0;
    int have_unk = 0;
    int32_t unk_id = -1, unk_len = 0;
    for (size_t i = 0; i < mlen;) {
        size_t e = i + (((uint8_t)mp[i] & 0x80) ? 2 : 1); /* mapped chars are 1 or 2 bytes */
        if (e > mlen) e = mlen;
        int32_t byte_len = (int32_t)(e - i);
        size_t pl = (i > 0) ? plen : 0, sl = (e == mlen) ? slen : 0;
        size_t n = pl + (e - i) + sl;
        if (grow((void **)&s->look, &s->look_cap, n + 1, 1, err)) return -1;
        if (pl) memcpy(s->look, m->cont_prefix, pl);
        memcpy(s->look + pl, mp + i, e - i);
        if (sl) memcpy(s->look + pl + (e - i), m->word_suffix, sl);
        i = e;
        int32_t id = bpe_lookup(m, s->look, n);
        if (id >= 0) {
            if (have_unk && sym_push(s, unk_id, unk_len, err)) return -1;
            have_unk = 0;
            if (sym_push(s, id, byte_len, err)) return -1;
            continue;
        }
        if (m->byte_fallback) {
            int all = 1;
            for (size_t k = 0; k < n && all; k++) {
                char name[8];
                snprintf(name, sizeof name, "<0x%02X>", (uint8_t)s->look[k]);
                all = bpe_lookup(m, name, 6) >= 0;
            }
            if (all) {
                for (size_t k = 0; k < n; k++) {
                    char name[8];
                    snprintf(name, sizeof name, "<0x%02X>", (uint8_t)s->look[k]);
                    if (sym_push(s, bpe_lookup(m, name, 6), 1, err)) return -1;
                }
                continue;
            }
        }
        if (!m->unk_token) continue; /* HF drops the character */
        if (have_unk && m->fuse_unk) {
            unk_len += byte_len;
            continue;
        }
        if (have_unk && sym_push(s, unk_id, unk_len, err)) return -1;
        unk_id = bpe_lookup(m, m->unk_token, strlen(m->unk_token));
        if (unk_id < 0)
            return pifi_errf(err, "BPE: unk_token \"%.64s\" is not in the vocabulary",
                             m->unk_token);
        unk_len = byte_len;
        have_unk = 1;
    }
    if (have_unk && sym_push(s, unk_id, unk_len, err)) return -1;
    return 0;
}

/* Encode w[ps, pe), one pre-tokenized piece, and append its tokens. w is the
 * text with the prefix space (when prefix) in front; first_len is the byte
 * length of the text's first character, which the prefix space maps to. */
static int encode_piece(const BpeModel *m, BpeScratch *s, const char *w, size_t wlen, size_t ps,
                        size_t pe, int prefix, size_t first_len, TokBuf *out, PifiErr *err) {
    size_t mlen = 0;
    if (grow((void **)&s->mapped, &s->mapped_cap, 2 * (pe - ps), 1, err)) return -1;
    if (grow((void **)&s->al_start, &s->al_start_cap, s->mapped_cap, sizeof(int32_t), err) ||
        grow((void **)&s->al_end, &s->al_end_cap, s->mapped_cap, sizeof(int32_t), err))
        return -1;
    for (size_t j = ps; j < pe;) {
        int32_t cp;
        size_t n = bytelevel_char_at(w, wlen, j, &cp), os, oe;
        if (prefix && j == 0)
            n = 1, os = 0, oe = first_len;
        else
            os = j - (size_t)prefix, oe = os + n;
        for (size_t k = j; k < j + n && k < pe; k++) {
            int c = bytelevel_utf8((uint8_t)w[k], s->mapped + mlen);
            for (int q = 0; q < c; q++) {
                s->al_start[mlen + q] = (int32_t)os;
                s->al_end[mlen + q] = (int32_t)oe;
            }
            mlen += (size_t)c;
        }
        j += n;
    }
    if (mlen == 0) return 0;
    if (build_word(m, s, mlen, err) || merge_all(m, s, err)) return -1;
    size_t p = 0;
    for (size_t k = 0; k < s->nsym; k++) {
        const BpeSymbol *y = &s->sym[k];
        if (y->len == 0) continue;
        size_t a = p < mlen ? p : mlen - 1, b = p + (size_t)y->len;
        if (b > mlen) b = mlen;
        if (b <= a) b = a + 1;
        p += (size_t)y->len;
        if (tokbuf_push(out, y->id, s->al_start[a], s->al_end[b - 1], err)) return -1;
    }
    return 0;
}

int bpe_encode_text(const BpeModel *m, const BpeOpts *o, const char *text, size_t len, TokBuf *out,
                    PifiErr *err) {
    if (len > (size_t)INT32_MAX - 2)
        return pifi_errf(err, "BPE: text of %zu bytes is too long", len);
    if (!m->by_id) return pifi_errf(err, "BPE: model is not finished");
    int prefix = o->add_prefix_space && len > 0 && text[0] != ' ';
    int32_t cp;
    size_t first_len = len ? bytelevel_char_at(text, len, 0, &cp) : 0;
    const char *w = text;
    size_t wlen = len;
    char *wbuf = NULL;
    if (prefix) {
        wbuf = pifi_malloc(len + 1, err);
        if (!wbuf) return -1;
        wbuf[0] = ' ';
        memcpy(wbuf + 1, text, len);
        w = wbuf;
        wlen = len + 1;
    }
    BpeScratch s = {0};
    int first = out->n, rc = 0;
    for (size_t pos = 0; pos < wlen && rc == 0;) {
        size_t end = o->split       ? split_regex_next(o->split, w, wlen, pos)
                     : o->use_regex ? bytelevel_next_piece(w, wlen, pos)
                                    : wlen;
        rc = encode_piece(m, &s, w, wlen, pos, end, prefix, first_len, out, err);
        pos = end;
    }
    scratch_free(&s);
    free(wbuf);
    if (rc) return -1;
    if (o->trim_offsets) {
        for (int i = first; i < out->n; i++) {
            const char *tok = bpe_id_to_token(m, out->ids[i]);
            if (!tok) continue;
            int is_first = i == first || out->start[i] == 0;
            bytelevel_trim_offsets(text, len, tok, is_first, o->add_prefix_space, &out->start[i],
                                   &out->end[i]);
        }
    }
    return 0;
}
