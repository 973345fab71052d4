/* rouge.c: ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum as Google's rouge-score
 * 0.1.2 computes them (rouge_scorer.py, tokenize.py, scoring.py):
 *
 *   tokens:  text.lower(); re.sub("[^a-z0-9]+", " "); split; Porter stem of
 *            tokens longer than 3 (use_stemmer); the lowercase of a
 *            non-ASCII code point is ASCII only for U+0130 ("i" + U+0307)
 *            and U+212A (Kelvin sign, "k"), so those two become letters
 *   rougeN:  p = |overlap| / max(#hyp n-grams, 1), r = ... / max(#ref, 1)
 *   rougeL:  LCS / len, 0 when either side has no token
 *   rougeLsum: lines are sentences; per reference sentence the union of its
 *            LCS index sets with every hypothesis sentence (the LCS read
 *            back from the table as _backtrack_norec does), each token
 *            counted while both sides still have one left
 *   F = 2pr / (p + r), 0 when p + r = 0. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/pystr.h"
#include "data/porter.h"
#include "pifi/nlg_metrics.h"

const char *const ROUGE_NAMES[ROUGE_TYPES] = {"rouge1", "rouge2", "rougeL", "rougeLsum"};

/* The tokens of one text: text in buf (NUL-separated), their line. */
typedef struct {
    char *buf;
    size_t len, cap;
    size_t *off;
    int *line, *id;
    size_t n, ncap;
} Toks;

static void toks_free(Toks *t) { free(t->buf), free(t->off), free(t->line), free(t->id); }

static int toks_add(Toks *t, const PyStr *w, int line) {
    if (t->n == t->ncap) {
        size_t nc = t->ncap ? 2 * t->ncap : 64;
        size_t *o = realloc(t->off, nc * sizeof *o);
        if (!o) return -1;
        t->off = o;
        int *l = realloc(t->line, nc * sizeof *l);
        if (!l) return -1;
        t->line = l, t->ncap = nc;
    }
    if (t->len + w->n + 1 > t->cap) {
        size_t nc = 2 * (t->len + w->n + 1);
        char *b = realloc(t->buf, nc);
        if (!b) return -1;
        t->buf = b, t->cap = nc;
    }
    t->off[t->n] = t->len;
    t->line[t->n++] = line;
    for (size_t i = 0; i < w->n; i++) t->buf[t->len++] = (char)w->c[i];
    t->buf[t->len++] = '\0';
    return 0;
}

/* tokenize.tokenize(text, stemmer) */
static int tokenize(const char *text, int stem, Toks *t) {
    PyStr s = {0}, w = {0};
    int rc = pystr_decode(&s, text, strlen(text)), line = 0;
    for (size_t i = 0; rc == 0 && i <= s.n; i++) {
        int32_t c = i < s.n ? s.c[i] : ' ', a = 0;
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) a = c;
        else if (c >= 'A' && c <= 'Z') a = c + 32;
        else if (c == 0x212A) a = 'k';
        if (a) {
            rc = pystr_push(&w, a);
            continue;
        }
        if (c == 0x130 && (rc = pystr_push(&w, 'i'))) break; /* "i\u0307": the dot a separator */
        if (w.n) {
            if (stem && w.n > 3) rc = porter_stem(&w);
            if (rc == 0) rc = toks_add(t, &w, line);
            w.n = 0;
        }
        if (c == '\n') line++;
    }
    pystr_free(&s), pystr_free(&w);
    return rc;
}

typedef struct {
    const char *s;
    size_t k; /* index over both texts */
} Key;

static int key_cmp(const void *a, const void *b) { return strcmp(((const Key *)a)->s, ((const Key *)b)->s); }

/* Number the distinct tokens of both texts 0..V-1 (equal text, equal id). */
static int intern(Toks *a, Toks *b, int *V) {
    size_t n = a->n + b->n;
    Key *k = malloc((n ? n : 1) * sizeof *k);
    a->id = malloc((a->n ? a->n : 1) * sizeof *a->id);
    b->id = malloc((b->n ? b->n : 1) * sizeof *b->id);
    if (!k || !a->id || !b->id) return free(k), -1;
    for (size_t i = 0; i < n; i++) k[i] = (Key){i < a->n ? a->buf + a->off[i] : b->buf + b->off[i - a->n], i};
    qsort(k, n, sizeof *k, key_cmp);
    int v = -1;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(k[i].s, k[i - 1].s)) v++;
        if (k[i].k < a->n) a->id[k[i].k] = v;
        else b->id[k[i].k - a->n] = v;
    }
    *V = v + 1;
    free(k);
    return 0;
}

static double fmeasure(double p, double r) { return p + r > 0 ? 2 * p * r / (p + r) : 0.0; }

static int u64_cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* the n-grams of ids as sorted keys (n = 1, 2); their count in *m */
static uint64_t *ngrams(const int *id, size_t len, int n, size_t *m) {
    *m = len >= (size_t)n ? len - (size_t)n + 1 : 0;
    uint64_t *g = malloc((*m ? *m : 1) * sizeof *g);
    if (!g) return NULL;
    for (size_t i = 0; i < *m; i++) g[i] = n == 1 ? (uint64_t)id[i] : (uint64_t)id[i] << 32 | (uint32_t)id[i + 1];
    qsort(g, *m, sizeof *g, u64_cmp);
    return g;
}

/* _score_ngrams(_create_ngrams(ref), _create_ngrams(hyp)) */
static int score_ngrams(const Toks *ref, const Toks *hyp, int n, RougePRF *o) {
    size_t mr, mh, i = 0, j = 0, inter = 0;
    uint64_t *r = ngrams(ref->id, ref->n, n, &mr), *h = ngrams(hyp->id, hyp->n, n, &mh);
    if (!r || !h) return free(r), free(h), -1;
    while (i < mr && j < mh) { /* sorted multisets: the overlap is sum of min counts */
        if (r[i] == h[j]) inter++, i++, j++;
        else if (r[i] < h[j]) i++;
        else j++;
    }
    free(r), free(h);
    o->precision = (double)inter / (double)(mh > 1 ? mh : 1);
    o->recall = (double)inter / (double)(mr > 1 ? mr : 1);
    o->fmeasure = fmeasure(o->precision, o->recall);
    return 0;
}

/* _lcs_table(ref, can) as (lr+1) x (lc+1) ints; NULL: out of memory */
static int *lcs_table(const int *ref, size_t lr, const int *can, size_t lc) {
    if (lc + 1 > SIZE_MAX / sizeof(int) / (lr + 1)) return NULL;
    int *t = calloc((lr + 1) * (lc + 1), sizeof *t);
    if (!t) return NULL;
    size_t W = lc + 1;
    for (size_t i = 1; i <= lr; i++)
        for (size_t j = 1; j <= lc; j++) {
            int up = t[(i - 1) * W + j], left = t[i * W + j - 1];
            t[i * W + j] = ref[i - 1] == can[j - 1] ? t[(i - 1) * W + j - 1] + 1 : up > left ? up : left;
        }
    return t;
}

/* _score_lcs: the LCS length in two rows */
static int score_lcs(const Toks *ref, const Toks *hyp, RougePRF *o) {
    *o = (RougePRF){0, 0, 0};
    if (!ref->n || !hyp->n) return 0;
    int *row = calloc(2 * (hyp->n + 1), sizeof *row);
    if (!row) return -1;
    int *prev = row, *cur = row + hyp->n + 1;
    for (size_t i = 1; i <= ref->n; i++) {
        for (size_t j = 1; j <= hyp->n; j++)
            cur[j] = ref->id[i - 1] == hyp->id[j - 1] ? prev[j - 1] + 1 : prev[j] > cur[j - 1] ? prev[j] : cur[j - 1];
        int *x = prev;
        prev = cur, cur = x;
    }
    double lcs = prev[hyp->n];
    free(row);
    o->precision = lcs / (double)hyp->n;
    o->recall = lcs / (double)ref->n;
    o->fmeasure = fmeasure(o->precision, o->recall);
    return 0;
}

/* _summary_level_lcs over the lines of both texts */
static int score_lsum(const Toks *ref, const Toks *hyp, int V, RougePRF *o) {
    *o = (RougePRF){0, 0, 0};
    if (!ref->n || !hyp->n) return 0;
    int *cr = calloc((size_t)V, sizeof *cr), *cc = calloc((size_t)V, sizeof *cc);
    char *mark = calloc(ref->n, 1);
    int rc = (!cr || !cc || !mark) ? -1 : 0;
    for (size_t i = 0; rc == 0 && i < ref->n; i++) cr[ref->id[i]]++;
    for (size_t i = 0; rc == 0 && i < hyp->n; i++) cc[hyp->id[i]]++;
    size_t hits = 0;
    for (size_t r0 = 0; rc == 0 && r0 < ref->n;) { /* each reference sentence r0..r1 */
        size_t r1 = r0;
        while (r1 < ref->n && ref->line[r1] == ref->line[r0]) r1++;
        const int *R = ref->id + r0;
        size_t lr = r1 - r0;
        for (size_t c0 = 0; rc == 0 && c0 < hyp->n;) {
            size_t c1 = c0;
            while (c1 < hyp->n && hyp->line[c1] == hyp->line[c0]) c1++;
            const int *C = hyp->id + c0;
            size_t lc = c1 - c0, W = lc + 1;
            int *t = lcs_table(R, lr, C, lc);
            if (!t) {
                rc = -1;
                break;
            }
            for (size_t i = lr, j = lc; i > 0 && j > 0;) { /* _backtrack_norec */
                if (R[i - 1] == C[j - 1]) mark[r0 + i - 1] = 1, i--, j--;
                else if (t[i * W + j - 1] > t[(i - 1) * W + j]) j--;
                else i--;
            }
            free(t);
            c0 = c1;
        }
        for (size_t i = r0; rc == 0 && i < r1; i++) { /* the union, in order */
            int k = ref->id[i];
            if (mark[i] && cc[k] > 0 && cr[k] > 0) hits++, cc[k]--, cr[k]--;
        }
        r0 = r1;
    }
    free(cr), free(cc), free(mark);
    if (rc) return -1;
    o->recall = (double)hits / (double)ref->n;
    o->precision = (double)hits / (double)hyp->n;
    o->fmeasure = fmeasure(o->precision, o->recall);
    return 0;
}

/* RougeScorer.score(target=ref, prediction=hyp) */
static int score_pair(const char *hyp, const char *ref, int stem, RougePRF out[ROUGE_TYPES]) {
    Toks h = {0}, r = {0};
    int V = 0;
    int rc = tokenize(hyp, stem, &h) || tokenize(ref, stem, &r) || intern(&r, &h, &V) ||
             score_ngrams(&r, &h, 1, &out[ROUGE_1]) || score_ngrams(&r, &h, 2, &out[ROUGE_2]) ||
             score_lcs(&r, &h, &out[ROUGE_L]) || score_lsum(&r, &h, V, &out[ROUGE_LSUM]);
    toks_free(&h), toks_free(&r);
    return rc ? -1 : 0;
}

int rouge_segment(const char *hyp, const char *const *refs, int R, int stem, RougePRF out[ROUGE_TYPES],
                  PifiErr *err) {
    if (R < 1) return pifi_errf(err, "rouge: no reference");
    for (int k = 0; k < R; k++) {
        RougePRF s[ROUGE_TYPES];
        if (score_pair(hyp, refs[k], stem, s)) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        for (int t = 0; t < ROUGE_TYPES; t++) /* np.argmax: the first of the highest */
            if (k == 0 || s[t].fmeasure > out[t].fmeasure) out[t] = s[t];
    }
    return 0;
}

int rouge_corpus(const char *const *hyps, int n, const char *const *const *refs, int R, int stem,
                 RougePRF out[ROUGE_TYPES], PifiErr *err) {
    if (n < 1) return pifi_errf(err, "rouge: no segments");
    if (R < 1 || R > 64) return pifi_errf(err, "rouge: %d reference streams (1 to 64)", R);
    memset(out, 0, ROUGE_TYPES * sizeof *out);
    for (int i = 0; i < n; i++) {
        const char *r[64];
        for (int k = 0; k < R; k++) r[k] = refs[k][i];
        RougePRF s[ROUGE_TYPES];
        if (rouge_segment(hyps[i], r, R, stem, s, err)) return -1;
        for (int t = 0; t < ROUGE_TYPES; t++) {
            out[t].precision += s[t].precision;
            out[t].recall += s[t].recall;
            out[t].fmeasure += s[t].fmeasure;
        }
    }
    for (int t = 0; t < ROUGE_TYPES; t++) {
        out[t].precision /= n;
        out[t].recall /= n;
        out[t].fmeasure /= n;
    }
    return 0;
}
