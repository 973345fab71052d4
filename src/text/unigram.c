/* unigram.c: the Unigram model (unigram.h): its vocabulary (pieces, scores,
 * an open-addressing hash of piece -> id) and HF `tokenizers`' optimized
 * Viterbi (Unigram::encode_optimized + tokenize): the same candidates in the
 * same order, ties kept by the first, unknowns fused, byte fallback. */
#include "text/unigram.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "pifi/json.h"

#define UG_MAX_VOCAB (1 << 24)
#define UG_MAX_PIECE_BYTES 4096
#define UG_UNK_PENALTY 10.0 /* HF's K_UNK_PENALTY */

struct Unigram {
    char **piece;     /* (n) id -> piece */
    uint32_t *plen;   /* (n) its bytes */
    double *score;    /* (n) */
    int n;
    int32_t *slot;    /* (cap) hash slots: id, or -1 when empty */
    uint32_t cap;     /* power of two */
    int unk_id;       /* -1: none */
    int byte_fallback;
    int32_t byte_id[256]; /* <0xXX> piece of each byte, -1 when absent */
    double min_score; /* the lowest score (unknowns get min_score - 10) */
    uint32_t max_len; /* the longest piece, bytes */
    char *file;       /* where it came from, for messages */
};

#define FNV_INIT 2166136261u
static uint32_t fnv_step(uint32_t h, unsigned char c) { return (h ^ c) * 16777619u; }

/* Slot of s[0..n) (hash h), or the empty slot where it would go. */
static uint32_t find_slot(const Unigram *u, const char *s, uint32_t n, uint32_t h) {
    uint32_t m = u->cap - 1, i = h & m;
    while (u->slot[i] >= 0) {
        int32_t id = u->slot[i];
        if (u->plen[id] == n && memcmp(u->piece[id], s, n) == 0) return i;
        i = (i + 1) & m;
    }
    return i;
}

static int32_t lookup(const Unigram *u, const char *s, uint32_t n) {
    uint32_t h = FNV_INIT;
    for (uint32_t i = 0; i < n; i++) h = fnv_step(h, (unsigned char)s[i]);
    return u->slot[find_slot(u, s, n, h)];
}

void unigram_free(Unigram *u) {
    if (!u) return;
    for (int i = 0; i < u->n; i++) free(u->piece[i]);
    free(u->piece);
    free(u->plen);
    free(u->score);
    free(u->slot);
    free(u->file);
    free(u);
}

/* ---- tokenizer.json ------------------------------------------------------ */

static int parse_vocab(Unigram *u, const cJSON *vocab, const char *file, PifiErr *err) {
    int n = cJSON_GetArraySize(vocab);
    if (!cJSON_IsArray(vocab)) return pifi_errf(err, "%s: model.vocab must be an array of [piece, score]", file);
    if (n > UG_MAX_VOCAB) return pifi_errf(err, "%s: model.vocab has more than %d pieces", file, UG_MAX_VOCAB);
    u->piece = pifi_calloc((size_t)n + 1, sizeof *u->piece, err);
    u->plen = pifi_calloc((size_t)n + 1, sizeof *u->plen, err);
    u->score = pifi_calloc((size_t)n + 1, sizeof *u->score, err);
    u->cap = 64;
    while (u->cap < 2u * (uint32_t)n + 2) u->cap *= 2;
    u->slot = pifi_malloc(u->cap * sizeof *u->slot, err);
    if (!u->piece || !u->plen || !u->score || !u->slot) return -1;
    memset(u->slot, 0xFF, u->cap * sizeof *u->slot);
    u->min_score = INFINITY;
    int id = 0;
    for (const cJSON *it = vocab->child; it; it = it->next, id++) {
        const cJSON *p = cJSON_GetArrayItem(it, 0), *s = cJSON_GetArrayItem(it, 1);
        if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 2 || !cJSON_IsString(p) || !cJSON_IsNumber(s))
            return pifi_errf(err, "%s: model.vocab[%d] must be [piece, score]", file, id);
        if (!isfinite(s->valuedouble))
            return pifi_errf(err, "%s: model.vocab[%d] has a score that is not a finite number", file, id);
        size_t len = strlen(p->valuestring);
        if (len > UG_MAX_PIECE_BYTES)
            return pifi_errf(err, "%s: model.vocab[%d] is longer than %d bytes", file, id, UG_MAX_PIECE_BYTES);
        u->piece[id] = pifi_malloc(len + 1, err);
        if (!u->piece[id]) return -1;
        memcpy(u->piece[id], p->valuestring, len + 1);
        u->plen[id] = (uint32_t)len;
        u->score[id] = s->valuedouble;
        u->n = id + 1;
        if (s->valuedouble < u->min_score) u->min_score = s->valuedouble;
        if (len > u->max_len) u->max_len = (uint32_t)len;
        uint32_t h = FNV_INIT;
        for (size_t i = 0; i < len; i++) h = fnv_step(h, (unsigned char)p->valuestring[i]);
        u->slot[find_slot(u, p->valuestring, (uint32_t)len, h)] = id; /* a repeated piece: the last id, as HF's map */
    }
    return 0;
}

int unigram_from_json(Unigram **out, const cJSON *model, const char *file, PifiErr *err) {
    *out = NULL;
    Unigram *u = pifi_calloc(1, sizeof *u, err);
    if (!u) return -1;
    u->unk_id = -1;
    u->file = pifi_malloc(strlen(file) + 1, err);
    if (!u->file) goto fail;
    strcpy(u->file, file);
    const cJSON *unk = cJSON_GetObjectItemCaseSensitive(model, "unk_id");
    if (parse_vocab(u, cJSON_GetObjectItemCaseSensitive(model, "vocab"), file, err) ||
        pifi_json_bool(model, "byte_fallback", 0, &u->byte_fallback, file, err) < 0)
        goto fail;
    if (unk && !cJSON_IsNull(unk)) {
        if (u->n == 0) {
            pifi_errf(err, "%s: model.unk_id is set but model.vocab is empty", file);
            goto fail;
        }
        if (!cJSON_IsNumber(unk) || unk->valuedouble != (double)(int64_t)unk->valuedouble ||
            unk->valuedouble < 0 || unk->valuedouble >= u->n) {
            pifi_errf(err, "%s: model.unk_id must be the id of a piece (0..%d)", file, u->n - 1);
            goto fail;
        }
        u->unk_id = (int)unk->valuedouble;
    }
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        u->byte_id[b] = lookup(u, name, 6);
    }
    *out = u;
    return 0;
fail:
    unigram_free(u);
    return -1;
}

/* ---- Viterbi ------------------------------------------------------------- */

typedef struct {
    double score;  /* best path score ending here */
    int32_t start; /* where its last piece starts, -1: not reached */
    int32_t id;
} UgNode;

static int no_unk(const Unigram *u, PifiErr *err) {
    return pifi_errf(err, "%s: the text has a character outside the Unigram vocabulary and the model has no unk_id",
                     u->file);
}

/* The token s[a..b): its piece, or its bytes, or unk. */
static int push_token(const Unigram *u, const char *s, int32_t a, int32_t b, TokBuf *out, PifiErr *err) {
    int32_t id = lookup(u, s + a, (uint32_t)(b - a));
    if (id >= 0) return tokbuf_push(out, id, a, b, err);
    if (u->byte_fallback) {
        int all = 1;
        for (int32_t i = a; i < b; i++) all &= u->byte_id[(unsigned char)s[i]] >= 0;
        if (all) {
            for (int32_t i = a; i < b; i++)
                if (tokbuf_push(out, u->byte_id[(unsigned char)s[i]], a, b, err)) return -1;
            return 0;
        }
    }
    if (u->unk_id < 0) return no_unk(u, err);
    return tokbuf_push(out, u->unk_id, a, b, err);
}

int unigram_encode(const Unigram *u, const char *s, size_t n, TokBuf *out, PifiErr *err) {
    if (n == 0) return 0;
    if (n > INT32_MAX - 1) return pifi_errf(err, "%s: text too long for the Unigram model", u->file);
    UgNode *node = pifi_malloc((n + 1) * sizeof *node, err);
    if (!node) return -1;
    for (size_t i = 0; i <= n; i++) node[i] = (UgNode){0.0, -1, -1};
    double unk_score = u->min_score - UG_UNK_PENALTY;
    int32_t *bound = NULL; /* token boundaries, from the end */
    int rc = -1;
    for (size_t at = 0; at < n;) {
        double till_here = node[at].score;
        size_t k = at;
        (void)utf8_next(s, n, &k);
        size_t mblen = k - at;
        int single = 0;
        uint32_t h = FNV_INIT;
        for (size_t len = 1; len <= u->max_len && at + len <= n; len++) {
            h = fnv_step(h, (unsigned char)s[at + len - 1]);
            int32_t id = u->slot[find_slot(u, s + at, (uint32_t)len, h)];
            if (id < 0) continue;
            double cand = u->score[id] + till_here;
            UgNode *t = &node[at + len];
            if (t->start < 0 || cand > t->score) *t = (UgNode){cand, (int32_t)at, id};
            if (len == mblen) single = 1;
        }
        if (!single) {
            double cand = unk_score + till_here;
            UgNode *t = &node[at + mblen];
            if (t->start < 0 || cand > t->score) {
                if (u->unk_id < 0) {
                    no_unk(u, err);
                    goto done;
                }
                *t = (UgNode){cand, (int32_t)at, u->unk_id};
            }
        }
        at += mblen;
    }
    /* Back from the end: the boundaries of the tokens, unknowns next to each
     * other fused (HF's fuse_unk, always on for Unigram), then the tokens in
     * order. */
    bound = pifi_malloc((n + 1) * sizeof *bound, err);
    if (!bound) goto done;
    int nb = 0;
    bound[nb++] = (int32_t)n;
    for (int32_t end = (int32_t)n; end > 0;) {
        int32_t a = node[end].start;
        int unk = u->unk_id >= 0 && node[end].id == u->unk_id;
        int prev_unk = a > 0 && u->unk_id >= 0 && node[a].id == u->unk_id;
        if (!(unk && prev_unk)) bound[nb++] = a;
        end = a;
    }
    for (int k = nb - 1; k > 0; k--)
        if (push_token(u, s, bound[k], bound[k - 1], out, err)) goto done;
    rc = 0;
done:
    free(bound);
    free(node);
    return rc;
}

int unigram_vocab_size(const Unigram *u) { return u->n; }

int unigram_token_to_id(const Unigram *u, const char *tok) {
    size_t n = strlen(tok);
    return n > UG_MAX_PIECE_BYTES ? -1 : lookup(u, tok, (uint32_t)n);
}

const char *unigram_id_to_token(const Unigram *u, int id) {
    return id >= 0 && id < u->n ? u->piece[id] : NULL;
}
