/* chrf.c: sacreBLEU's corpus chrF with its defaults (pifi/mt_metrics.h):
 * character n-grams of orders 1..6 of each segment with its whitespace
 * removed (str.split() then "".join), no word n-grams, beta 2.
 *
 * Per order: [hypothesis n-grams (0 when the reference has none of that
 * order), reference n-grams, matches (each hypothesis n-gram's count
 * clipped by the reference's)]. With several references a segment keeps
 * the statistics of the reference with the best chrF (the first on a tie).
 * The corpus score is chrF of the summed statistics: precision and recall
 * averaged over the orders where both sides have n-grams, then
 * 100 (1 + b^2) P R / (b^2 P + R). */
#include <stdlib.h>
#include <string.h>

#include "core/pystr.h"
#include "pifi/mt_metrics.h"

#define ORDERS 6

/* The segment without whitespace, as code points. */
static int squeeze(const char *s, PyStr *out) {
    PyStr p = {0};
    if (pystr_decode(&p, s, strlen(s))) return -1;
    for (size_t i = 0; i < p.n; i++)
        if (!pystr_isspace(p.c[i]) && pystr_push(out, p.c[i])) {
            pystr_free(&p);
            return -1;
        }
    pystr_free(&p);
    return 0;
}

/* n-grams of order n of s as offsets, sorted by content (qsort_r: GNU) */
typedef struct {
    const PyStr *s;
    int n;
} GramCtx;

static int cmp_gram(const void *a, const void *b, void *ctx) {
    const GramCtx *g = ctx;
    const int32_t *x = g->s->c + *(const size_t *)a, *y = g->s->c + *(const size_t *)b;
    for (int k = 0; k < g->n; k++)
        if (x[k] != y[k]) return x[k] < y[k] ? -1 : 1;
    return 0;
}

static size_t *grams(const PyStr *s, int n, size_t *count) {
    *count = s->n >= (size_t)n ? s->n - (size_t)n + 1 : 0;
    size_t *g = malloc((*count ? *count : 1) * sizeof *g);
    if (!g) return NULL;
    for (size_t i = 0; i < *count; i++) g[i] = i;
    GramCtx ctx = {s, n};
    qsort_r(g, *count, sizeof *g, cmp_gram, &ctx);
    return g;
}

static int gram_cmp(const PyStr *a, size_t i, const PyStr *b, size_t j, int n) {
    for (int k = 0; k < n; k++)
        if (a->c[i + k] != b->c[j + k]) return a->c[i + k] < b->c[j + k] ? -1 : 1;
    return 0;
}

/* matches of order n: sum over distinct hypothesis n-grams of min(counts) */
static int64_t matches(const PyStr *h, const size_t *hg, size_t hn, const PyStr *r, const size_t *rg, size_t rn,
                       int n) {
    int64_t m = 0;
    size_t i = 0, j = 0;
    while (i < hn && j < rn) {
        int c = gram_cmp(h, hg[i], r, rg[j], n);
        if (c < 0) i++;
        else if (c > 0) j++;
        else {
            size_t i2 = i, j2 = j;
            while (i2 < hn && gram_cmp(h, hg[i2], h, hg[i], n) == 0) i2++;
            while (j2 < rn && gram_cmp(r, rg[j2], r, rg[j], n) == 0) j2++;
            m += (int64_t)((i2 - i) < (j2 - j) ? (i2 - i) : (j2 - j));
            i = i2, j = j2;
        }
    }
    return m;
}

/* sacreBLEU's _compute_f_score without eps smoothing */
static double f_score(const int64_t *st) {
    const double eps = 1e-16;
    const int factor = 4; /* beta ** 2 */
    double avg_prec = 0.0, avg_rec = 0.0;
    int eff = 0;
    for (int i = 0; i < ORDERS; i++) {
        int64_t nh = st[3 * i], nr = st[3 * i + 1], nm = st[3 * i + 2];
        double prec = nh > 0 ? (double)nm / (double)nh : eps, rec = nr > 0 ? (double)nm / (double)nr : eps;
        if (nh > 0 && nr > 0) avg_prec += prec, avg_rec += rec, eff++;
    }
    if (eff == 0) avg_prec = avg_rec = 0.0;
    else avg_prec /= eff, avg_rec /= eff;
    if (avg_prec + avg_rec == 0) return 0.0;
    double score = (1 + factor) * avg_prec * avg_rec;
    score /= (factor * avg_prec) + avg_rec;
    return 100 * score;
}

int chrf_corpus(const char *const *hyps, int n, const char *const *const *refs, int R, ChrfScore *out,
                PifiErr *err) {
    memset(out, 0, sizeof *out);
    if (R < 1) return pifi_errf(err, "chrf: no references");
    int rc = 0;
    for (int s = 0; s < n && rc == 0; s++) {
        PyStr h = {0};
        size_t *hg[ORDERS] = {0}, hn[ORDERS];
        rc = squeeze(hyps[s], &h);
        for (int k = 0; k < ORDERS && rc == 0; k++) rc = !(hg[k] = grams(&h, k + 1, &hn[k]));
        int64_t best[3 * ORDERS] = {0};
        double best_f = -1.0;
        for (int r = 0; r < R && rc == 0; r++) {
            PyStr t = {0};
            int64_t st[3 * ORDERS];
            rc = squeeze(refs[r][s], &t);
            for (int k = 0; k < ORDERS && rc == 0; k++) {
                size_t rn;
                size_t *rg = grams(&t, k + 1, &rn);
                if (!rg) {
                    rc = -1;
                    break;
                }
                st[3 * k] = rn ? (int64_t)hn[k] : 0;
                st[3 * k + 1] = (int64_t)rn;
                st[3 * k + 2] = matches(&h, hg[k], hn[k], &t, rg, rn, k + 1);
                free(rg);
            }
            pystr_free(&t);
            if (rc) break;
            double f = f_score(st);
            if (f > best_f) best_f = f, memcpy(best, st, sizeof best);
        }
        for (int k = 0; k < 3 * ORDERS; k++) out->stats[k] += best[k];
        for (int k = 0; k < ORDERS; k++) free(hg[k]);
        pystr_free(&h);
    }
    if (rc) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    out->score = f_score(out->stats);
    return 0;
}
