/* coco_bleu.c: BLEU-1..4 as pycocoevalcap 1.2 computes them
 * (bleu/bleu_scorer.py, Bleu(4).compute_score with option "closest"), the
 * numbers nlg-eval reports as Bleu_1..Bleu_4:
 *
 *   per segment: words = s.split(); for k = 1..4 the hypothesis' k-grams,
 *     each counted at most as often as in the reference that has it most
 *     (correct[k]), guess[k] = max(0, len - k + 1); reflen = the reference
 *     length closest to the hypothesis', the shorter on a tie
 *   corpus: b = 1; for k: b *= (correct[k] + 1e-15) / (guess[k] + 1e-9),
 *     BLEU-k = b ** (1 / k); ratio = (testlen + 1e-15) / (reflen + 1e-9);
 *     ratio < 1: every BLEU-k *= exp(1 - 1 / ratio). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/pystr.h"
#include "pifi/nlg_metrics.h"

#define MAXR 64

typedef struct {
    char **w;
    int *id;
    size_t n;
} Sent;

static void sent_free(Sent *s) {
    for (size_t i = 0; i < s->n; i++) free(s->w[i]);
    free(s->w), free(s->id);
}

/* str.split() */
static int split(const char *text, Sent *out) {
    PyStr s = {0};
    size_t cap = 0;
    memset(out, 0, sizeof *out);
    int rc = pystr_decode(&s, text, strlen(text));
    for (size_t i = 0; rc == 0 && i < s.n;) {
        while (i < s.n && pystr_isspace(s.c[i])) i++;
        size_t j = i;
        while (j < s.n && !pystr_isspace(s.c[j])) j++;
        if (j == i) break;
        if (out->n == cap) {
            cap = cap ? 2 * cap : 32;
            char **w = realloc(out->w, cap * sizeof *w);
            if (!w) {
                rc = -1;
                break;
            }
            out->w = w;
        }
        if (!(out->w[out->n] = pystr_encode(&s, i, j))) rc = -1;
        else out->n++;
        i = j;
    }
    pystr_free(&s);
    return rc;
}

typedef struct {
    const char *s;
    Sent *sent;
    size_t i;
} Key;

static int key_cmp(const void *a, const void *b) { return strcmp(((const Key *)a)->s, ((const Key *)b)->s); }

/* the words of all sentences numbered: equal words, equal ids */
static int intern(Sent *ss, int m) {
    size_t n = 0, k = 0;
    for (int i = 0; i < m; i++) n += ss[i].n;
    Key *key = malloc((n ? n : 1) * sizeof *key);
    if (!key) return -1;
    for (int i = 0; i < m; i++) {
        if (!(ss[i].id = malloc((ss[i].n ? ss[i].n : 1) * sizeof *ss[i].id))) return free(key), -1;
        for (size_t j = 0; j < ss[i].n; j++) key[k++] = (Key){ss[i].w[j], &ss[i], j};
    }
    qsort(key, n, sizeof *key, key_cmp);
    int v = -1;
    for (size_t j = 0; j < n; j++) {
        if (j == 0 || strcmp(key[j].s, key[j - 1].s)) v++;
        key[j].sent->id[key[j].i] = v;
    }
    free(key);
    return 0;
}

typedef struct {
    int w[4];
} Gram;

static int gram_cmp(const void *a, const void *b) { return memcmp(a, b, sizeof(Gram)); }

/* the k-grams of s, sorted; their count in *m */
static Gram *grams(const Sent *s, int k, size_t *m) {
    *m = s->n >= (size_t)k ? s->n - (size_t)k + 1 : 0;
    Gram *g = calloc(*m ? *m : 1, sizeof *g);
    if (!g) return NULL;
    for (size_t i = 0; i < *m; i++)
        for (int j = 0; j < 4; j++) g[i].w[j] = j < k ? s->id[i + (size_t)j] : -1;
    qsort(g, *m, sizeof *g, gram_cmp);
    return g;
}

/* cook_test(hyp, cook_refs(refs)): correct[k] and the closest reference length */
static int segment(const char *hyp, const char *const *refs, int R, CocoBleu *acc) {
    Sent s[MAXR + 1];
    int m = 0, rc = split(hyp, &s[m++]);
    for (int r = 0; rc == 0 && r < R; r++) rc = split(refs[r], &s[m++]);
    if (rc == 0) rc = intern(s, m);
    int64_t testlen = (int64_t)s[0].n, best = -1;
    for (int r = 1; rc == 0 && r < m; r++) { /* min((abs(l - testlen), l)) */
        int64_t l = (int64_t)s[r].n, d = llabs(l - testlen), bd = llabs(best - testlen);
        if (best < 0 || d < bd || (d == bd && l < best)) best = l;
    }
    for (int k = 1; rc == 0 && k <= 4; k++) {
        size_t mh, mr;
        Gram *h = grams(&s[0], k, &mh);
        int64_t *maxc = calloc(mh ? mh : 1, sizeof *maxc);
        if (!h || !maxc) {
            free(h), free(maxc);
            rc = -1;
            break;
        }
        for (int r = 1; rc == 0 && r < m; r++) {
            Gram *g = grams(&s[r], k, &mr);
            if (!g) {
                rc = -1;
                break;
            }
            for (size_t i = 0, j = 0; i < mh;) { /* each run of equal hypothesis k-grams against the reference's */
                size_t e = i;
                while (e < mh && gram_cmp(&h[e], &h[i]) == 0) e++;
                while (j < mr && gram_cmp(&g[j], &h[i]) < 0) j++;
                int64_t c = 0;
                while (j < mr && gram_cmp(&g[j], &h[i]) == 0) c++, j++;
                if (c > maxc[i]) maxc[i] = c;
                i = e;
            }
            free(g);
        }
        for (size_t i = 0; rc == 0 && i < mh;) {
            size_t e = i;
            while (e < mh && gram_cmp(&h[e], &h[i]) == 0) e++;
            int64_t c = (int64_t)(e - i);
            acc->correct[k - 1] += c < maxc[i] ? c : maxc[i];
            i = e;
        }
        acc->guess[k - 1] += testlen - k + 1 > 0 ? testlen - k + 1 : 0;
        free(h), free(maxc);
    }
    acc->testlen += testlen;
    acc->reflen += best;
    for (int i = 0; i < m; i++) sent_free(&s[i]);
    return rc;
}

int coco_bleu_corpus(const char *const *hyps, int n, const char *const *const *refs, int R, CocoBleu *out,
                     PifiErr *err) {
    if (R < 1 || R > MAXR) return pifi_errf(err, "coco-bleu: %d reference streams (1 to %d)", R, MAXR);
    memset(out, 0, sizeof *out);
    for (int i = 0; i < n; i++) {
        const char *r[MAXR];
        for (int k = 0; k < R; k++) r[k] = refs[k][i];
        if (segment(hyps[i], r, R, out)) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    }
    const double small = 1e-9, tiny = 1e-15;
    double b = 1.0;
    for (int k = 0; k < 4; k++) {
        b *= ((double)out->correct[k] + tiny) / ((double)out->guess[k] + small);
        out->bleu[k] = pow(b, 1.0 / (k + 1));
    }
    double ratio = ((double)out->testlen + tiny) / ((double)out->reflen + small);
    if (ratio < 1)
        for (int k = 0; k < 4; k++) out->bleu[k] *= exp(1 - 1 / ratio);
    return 0;
}
