/* meteor.c: METEOR as NLTK 3.10's nltk.translate.meteor_score computes it
 * (single_meteor_score, meteor_score), with its defaults:
 *
 *   words: the text split as str.split() splits it, each word str.lower()ed
 *   align: three stages, each on the words the ones before left unmatched:
 *     exact   (_match_enums) from the last hypothesis word back, each takes
 *             the last unmatched reference word equal to it
 *     stem    the same on NLTK's Porter stems; the words that stay
 *             unmatched stay stemmed for the next stage
 *     synonym from the last hypothesis word back: of the word and every
 *             lemma name without "_" of wordnet.synsets(word), the one whose
 *             last unmatched position in the reference is the latest takes it
 *   P = m / |hyp|, R = m / |ref|, Fmean = P R / (0.9 P + 0.1 R),
 *   chunks: runs of matches adjacent on both sides (by hypothesis position),
 *   score = (1 - 0.5 (chunks / m)^3) Fmean; 0 when m, |hyp| or |ref| is 0;
 *   several references: the highest. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/pystr.h"
#include "data/porter.h"
#include "data/wordnet.h"
#include "pifi/nlg_metrics.h"

#define ALPHA 0.9
#define BETA 3.0
#define GAMMA 0.5

typedef struct {
    char **w;  /* the words, owned */
    int *idx;  /* their position in the text */
    size_t n;
} Words;

static void words_free(Words *a) {
    for (size_t i = 0; i < a->n; i++) free(a->w[i]);
    free(a->w), free(a->idx);
    memset(a, 0, sizeof *a);
}

/* str.split(), each word str.lower()ed */
static int split_lower(const char *text, Words *out) {
    PyStr s = {0}, l = {0};
    size_t cap = 0;
    int rc = pystr_decode(&s, text, strlen(text));
    memset(out, 0, sizeof *out);
    for (size_t i = 0; rc == 0 && i < s.n;) {
        while (i < s.n && pystr_isspace(s.c[i])) i++;
        size_t j = i;
        while (j < s.n && !pystr_isspace(s.c[j])) j++;
        if (j == i) break;
        PyStr w = {s.c + i, j - i, j - i};
        l.n = 0;
        if (out->n == cap) {
            cap = cap ? 2 * cap : 32;
            char **a = realloc(out->w, cap * sizeof *a);
            int *b = a ? realloc(out->idx, cap * sizeof *b) : NULL;
            if (a) out->w = a;
            if (!b) {
                rc = -1;
                break;
            }
            out->idx = b;
        }
        if ((rc = pystr_lower(&w, &l))) break;
        if (!(out->w[out->n] = pystr_encode(&l, 0, l.n))) {
            rc = -1;
            break;
        }
        out->idx[out->n] = (int)out->n;
        out->n++;
        i = j;
    }
    pystr_free(&s), pystr_free(&l);
    if (rc) words_free(out);
    return rc;
}

typedef struct {
    int h, r;
} Match;

/* the last unmatched position of word in ref (-1: none) */
static long last_of(const Words *ref, const char *alive, const char *word) {
    for (size_t j = ref->n; j-- > 0;)
        if (alive[j] && strcmp(ref->w[j], word) == 0) return (long)j;
    return -1;
}

/* drop the words whose flag is 0 */
static void keep(Words *a, const char *live) {
    size_t k = 0;
    for (size_t i = 0; i < a->n; i++) {
        if (live[i]) a->w[k] = a->w[i], a->idx[k++] = a->idx[i];
        else free(a->w[i]);
    }
    a->n = k;
}

/* _match_enums */
static void match_exact(Words *h, Words *r, char *hl, char *rl, Match *m, int *nm) {
    for (size_t i = h->n; i-- > 0;) {
        long j = last_of(r, rl, h->w[i]);
        if (j < 0) continue;
        rl[j] = 0, hl[i] = 0;
        m[(*nm)++] = (Match){h->idx[i], r->idx[j]};
    }
    keep(h, hl), keep(r, rl);
}

/* each word replaced by its Porter stem */
static int stem_all(Words *a) {
    for (size_t i = 0; i < a->n; i++) {
        PyStr w = {0};
        if (pystr_decode(&w, a->w[i], strlen(a->w[i])) || porter_stem(&w)) return pystr_free(&w), -1;
        char *s = pystr_encode(&w, 0, w.n);
        pystr_free(&w);
        if (!s) return -1;
        free(a->w[i]);
        a->w[i] = s;
    }
    return 0;
}

typedef struct {
    const Words *r;
    const char *alive;
    long best;
    const char *best_word;
} SynCtx;

static int syn_visit(void *ctx, const char *name) {
    SynCtx *c = ctx;
    if (strchr(name, '_')) return 0;
    long j = last_of(c->r, c->alive, name);
    if (j > c->best) c->best = j;
    return 0;
}

/* _enum_wordnetsyn_match */
static int match_synonyms(const WordNet *wn, Words *h, Words *r, char *hl, char *rl, Match *m, int *nm) {
    for (size_t i = h->n; i-- > 0;) {
        SynCtx c = {r, rl, last_of(r, rl, h->w[i]), NULL};
        if (wordnet_synonyms(wn, h->w[i], syn_visit, &c)) return -1;
        if (c.best < 0) continue;
        rl[c.best] = 0, hl[i] = 0;
        m[(*nm)++] = (Match){h->idx[i], r->idx[c.best]};
    }
    keep(h, hl), keep(r, rl);
    return 0;
}

static int match_cmp(const void *a, const void *b) { return ((const Match *)a)->h - ((const Match *)b)->h; }

/* words copied (owned) */
static int copy_words(const Words *a, Words *out) {
    memset(out, 0, sizeof *out);
    out->w = calloc(a->n ? a->n : 1, sizeof *out->w);
    out->idx = malloc((a->n ? a->n : 1) * sizeof *out->idx);
    if (!out->w || !out->idx) return free(out->w), free(out->idx), -1;
    for (size_t i = 0; i < a->n; i++) {
        out->idx[i] = a->idx[i];
        size_t len = strlen(a->w[i]) + 1;
        if ((out->w[i] = malloc(len))) memcpy(out->w[i], a->w[i], len);
        else {
            out->n = i;
            words_free(out);
            return -1;
        }
    }
    out->n = a->n;
    return 0;
}

/* single_meteor_score of lowered words */
static int meteor_pair(const WordNet *wn, const Words *hyp, const Words *ref, double *out) {
    *out = 0.0;
    if (!hyp->n || !ref->n) return 0;
    Words h, r;
    if (copy_words(hyp, &h)) return -1;
    if (copy_words(ref, &r)) return words_free(&h), -1;
    size_t cap = hyp->n < ref->n ? hyp->n : ref->n;
    Match *m = malloc(cap * sizeof *m);
    char *hl = malloc(hyp->n), *rl = malloc(ref->n);
    int nm = 0, rc = (!m || !hl || !rl) ? -1 : 0;
    if (rc == 0) { /* exact */
        memset(hl, 1, h.n), memset(rl, 1, r.n);
        match_exact(&h, &r, hl, rl, m, &nm);
    }
    if (rc == 0 && (rc = stem_all(&h) || stem_all(&r) ? -1 : 0) == 0) { /* stems */
        memset(hl, 1, h.n), memset(rl, 1, r.n);
        match_exact(&h, &r, hl, rl, m, &nm);
    }
    if (rc == 0 && wn) { /* synonyms, on the stems left */
        memset(hl, 1, h.n), memset(rl, 1, r.n);
        rc = match_synonyms(wn, &h, &r, hl, rl, m, &nm);
    }
    if (rc == 0 && nm > 0) {
        qsort(m, (size_t)nm, sizeof *m, match_cmp);
        int chunks = 1;
        for (int i = 0; i + 1 < nm; i++)
            if (!(m[i + 1].h == m[i].h + 1 && m[i + 1].r == m[i].r + 1)) chunks++;
        double precision = (double)nm / (double)hyp->n, recall = (double)nm / (double)ref->n;
        double fmean = (precision * recall) / (ALPHA * precision + (1 - ALPHA) * recall);
        double frag = (double)chunks / (double)nm;
        *out = (1 - GAMMA * pow(frag, BETA)) * fmean;
    }
    free(m), free(hl), free(rl);
    words_free(&h), words_free(&r);
    return rc;
}

int meteor_segment(const WordNet *wn, const char *hyp, const char *const *refs, int R, double *out, PifiErr *err) {
    if (R < 1) return pifi_errf(err, "meteor: no reference");
    Words h;
    if (split_lower(hyp, &h)) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    int rc = 0;
    for (int k = 0; k < R && rc == 0; k++) {
        Words r;
        double s;
        if (split_lower(refs[k], &r)) {
            rc = -1;
            break;
        }
        rc = meteor_pair(wn, &h, &r, &s);
        words_free(&r);
        if (rc == 0 && (k == 0 || s > *out)) *out = s;
    }
    words_free(&h);
    return rc ? pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory") : 0;
}

int meteor_corpus(const WordNet *wn, const char *const *hyps, int n, const char *const *const *refs, int R,
                  double *out, PifiErr *err) {
    if (n < 1) return pifi_errf(err, "meteor: no segments");
    if (R < 1 || R > 64) return pifi_errf(err, "meteor: %d reference streams (1 to 64)", R);
    double sum = 0;
    for (int i = 0; i < n; i++) {
        const char *r[64];
        for (int k = 0; k < R; k++) r[k] = refs[k][i];
        double s;
        if (meteor_segment(wn, hyps[i], r, R, &s, err)) return -1;
        sum += s;
    }
    *out = sum / n;
    return 0;
}
