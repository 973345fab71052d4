/* bleu.c: sacreBLEU's corpus BLEU with its defaults (pifi/mt_metrics.h).
 *
 * Each segment: rstrip, the 13a tokenizer (drop "<skipped>", join "-\n",
 * unescape &quot; &amp; &lt; &gt; when there is an "&", then the four
 * regular expressions of tokenizer_re.py applied as re.sub applies them:
 * non-overlapping, left to right; then str.split() and " ".join), word
 * n-grams 1..4, each clipped by its largest count in any reference, the
 * reference length closest to the hypothesis' (the shorter on a tie).
 * Corpus: brevity penalty exp(1 - r/c) when c < r, precisions 100 m / t
 * with exp smoothing (the k-th order without a match counts 100 / (2^k t)),
 * score bp exp(mean log p) with log 0 floored at -9999999999; 0 when no
 * n-gram matches at all. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/pystr.h"
#include "pifi/mt_metrics.h"

/* ------------------------------------------------------------------------ */
/* the 13a tokenizer */

/* tokenizer_re's first class: [\{-\~\[-\` -\&\(-\+\:-\@\/] */
static int punct_13a(int32_t c) {
    return (c >= 0x7B && c <= 0x7E) || (c >= 0x5B && c <= 0x60) || (c >= 0x20 && c <= 0x26) ||
           (c >= 0x28 && c <= 0x2B) || (c >= 0x3A && c <= 0x40) || c == 0x2F;
}

static int digit(int32_t c) { return c >= '0' && c <= '9'; }
static int dot_comma(int32_t c) { return c == '.' || c == ','; }

/* Replace every "from" in s by "to" (str.replace). */
static int replace(PyStr *s, const char *from, const char *to) {
    size_t fl = strlen(from), tl = strlen(to);
    PyStr o = {0};
    for (size_t i = 0; i < s->n;) {
        size_t k = 0;
        while (k < fl && i + k < s->n && s->c[i + k] == (unsigned char)from[k]) k++;
        if (k == fl) {
            for (size_t j = 0; j < tl; j++)
                if (pystr_push(&o, (unsigned char)to[j])) goto oom;
            i += fl;
        } else if (pystr_push(&o, s->c[i++])) {
            goto oom;
        }
    }
    pystr_free(s);
    *s = o;
    return 0;
oom:
    pystr_free(&o);
    return -1;
}

/* One re.sub of a two-character pattern (a)(b) -> pre a mid b post, where
 * pre/mid/post are spaces or nothing; rule 1 is the one-character class. */
static int sub_rule(PyStr *s, int rule) {
    PyStr o = {0};
    int rc = 0;
    for (size_t i = 0; i < s->n && rc == 0;) {
        int32_t a = s->c[i], b = i + 1 < s->n ? s->c[i + 1] : -1;
        if (rule == 1 && punct_13a(a)) { /* ' \1 ' */
            rc = pystr_push(&o, ' ') || pystr_push(&o, a) || pystr_push(&o, ' ');
            i++;
        } else if (rule == 2 && b >= 0 && !digit(a) && dot_comma(b)) { /* '\1 \2 ' */
            rc = pystr_push(&o, a) || pystr_push(&o, ' ') || pystr_push(&o, b) || pystr_push(&o, ' ');
            i += 2;
        } else if (rule == 3 && b >= 0 && dot_comma(a) && !digit(b)) { /* ' \1 \2' */
            rc = pystr_push(&o, ' ') || pystr_push(&o, a) || pystr_push(&o, ' ') || pystr_push(&o, b);
            i += 2;
        } else if (rule == 4 && b >= 0 && digit(a) && b == '-') { /* '\1 \2 ' */
            rc = pystr_push(&o, a) || pystr_push(&o, ' ') || pystr_push(&o, b) || pystr_push(&o, ' ');
            i += 2;
        } else {
            rc = pystr_push(&o, a);
            i++;
        }
    }
    pystr_free(s);
    *s = o;
    return rc;
}

/* " ".join(s.split()) */
static char *join_split(const PyStr *s) {
    PyStr o = {0};
    int pending = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (pystr_isspace(s->c[i])) {
            pending = o.n > 0;
            continue;
        }
        if ((pending && pystr_push(&o, ' ')) || pystr_push(&o, s->c[i])) {
            pystr_free(&o);
            return NULL;
        }
        pending = 0;
    }
    char *r = pystr_encode(&o, 0, o.n);
    pystr_free(&o);
    return r;
}

char *bleu_tokenize_13a(const char *line) {
    PyStr s = {0};
    char *out = NULL;
    if (pystr_decode(&s, line, strlen(line))) goto done;
    if (replace(&s, "<skipped>", "") || replace(&s, "-\n", "") || replace(&s, "\n", " ")) goto done;
    int amp = 0;
    for (size_t i = 0; i < s.n; i++) amp |= s.c[i] == '&';
    if (amp && (replace(&s, "&quot;", "\"") || replace(&s, "&amp;", "&") || replace(&s, "&lt;", "<") ||
                replace(&s, "&gt;", ">")))
        goto done;
    /* f' {line} ' */
    PyStr p = {0};
    int rc = pystr_push(&p, ' ');
    for (size_t i = 0; rc == 0 && i < s.n; i++) rc = pystr_push(&p, s.c[i]);
    if (rc == 0) rc = pystr_push(&p, ' ');
    for (int r = 1; rc == 0 && r <= 4; r++) rc = sub_rule(&p, r);
    if (rc == 0) out = join_split(&p);
    pystr_free(&p);
done:
    pystr_free(&s);
    return out;
}

/* ------------------------------------------------------------------------ */
/* n-grams of a tokenized segment, sorted, with counts */

typedef struct {
    char **g;   /* "w1 w2 ..." */
    int *order; /* n - 1 */
    int n;
} Ngrams;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void ngrams_free(Ngrams *x) {
    for (int i = 0; i < x->n; i++) free(x->g[i]);
    free(x->g), free(x->order);
    memset(x, 0, sizeof *x);
}

/* The tokens of tok (split in place at spaces) -> every n-gram, n = 1..4, sorted; *len the token count. */
static int ngrams_of(char *tok, Ngrams *x, int64_t *len) {
    memset(x, 0, sizeof *x);
    int nt = 0;
    char **t = malloc((strlen(tok) / 2 + 2) * sizeof *t);
    if (!t) return -1;
    for (char *p = tok; *p;) {
        t[nt++] = p;
        char *sp = strchr(p, ' ');
        if (!sp) break;
        *sp = '\0';
        p = sp + 1;
    }
    *len = nt;
    int cap = 4 * (nt > 0 ? nt : 1);
    x->g = malloc((size_t)cap * sizeof *x->g);
    if (!x->g) {
        free(t);
        return -1;
    }
    for (int n = 1; n <= 4; n++)
        for (int i = 0; i + n <= nt; i++) {
            size_t L = 2; /* the order as a prefix byte keeps orders apart in one sorted list */
            for (int k = 0; k < n; k++) L += strlen(t[i + k]) + 1;
            char *g = malloc(L);
            if (!g) {
                free(t);
                return -1;
            }
            g[0] = (char)('0' + n), g[1] = '\0';
            for (int k = 0; k < n; k++) strcat(strcat(g, k ? " " : "|"), t[i + k]);
            x->g[x->n++] = g;
        }
    free(t);
    qsort(x->g, (size_t)x->n, sizeof *x->g, cmp_str);
    return 0;
}

/* how often g occurs in sorted x */
static int64_t count_in(const Ngrams *x, const char *g) {
    size_t lo = 0, hi = (size_t)x->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(x->g[mid], g) < 0) lo = mid + 1;
        else hi = mid;
    }
    int64_t c = 0;
    while (lo + (size_t)c < (size_t)x->n && strcmp(x->g[lo + c], g) == 0) c++;
    return c;
}

/* the tokenized, rstripped segment */
static char *prepare(const char *s) {
    PyStr p = {0};
    if (pystr_decode(&p, s, strlen(s))) return NULL;
    while (p.n && pystr_isspace(p.c[p.n - 1])) p.n--;
    char *r = pystr_encode(&p, 0, p.n);
    pystr_free(&p);
    if (!r) return NULL;
    char *t = bleu_tokenize_13a(r);
    free(r);
    return t;
}

static double my_log(double x) { return x == 0.0 ? -9999999999.0 : log(x); }

int bleu_corpus(const char *const *hyps, int n, const char *const *const *refs, int R, BleuScore *out,
                PifiErr *err) {
    memset(out, 0, sizeof *out);
    if (R < 1) return pifi_errf(err, "bleu: no references");
    Ngrams h = {0}, *rg = calloc((size_t)R, sizeof *rg);
    if (!rg) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    int rc = 0;
    for (int s = 0; s < n && rc == 0; s++) {
        char *ht = prepare(hyps[s]);
        int64_t hl = 0, best_diff = -1, best_len = -1;
        rc = !ht || ngrams_of(ht, &h, &hl);
        for (int r = 0; r < R && rc == 0; r++) {
            char *rt = prepare(refs[r][s]);
            int64_t rl = 0;
            rc = !rt || ngrams_of(rt, &rg[r], &rl);
            free(rt);
            int64_t diff = hl > rl ? hl - rl : rl - hl;
            if (best_diff == -1 || diff < best_diff) best_diff = diff, best_len = rl;
            else if (diff == best_diff && rl < best_len) best_len = rl;
        }
        if (rc == 0) {
            out->sys_len += hl;
            out->ref_len += best_len;
            for (int i = 0; i < h.n;) { /* each distinct hypothesis n-gram once, with its count */
                int j = i;
                while (j < h.n && strcmp(h.g[j], h.g[i]) == 0) j++;
                int64_t c = j - i, most = 0;
                for (int r = 0; r < R; r++) {
                    int64_t k = count_in(&rg[r], h.g[i]);
                    if (k > most) most = k;
                }
                int order = h.g[i][0] - '1';
                out->totals[order] += c;
                out->counts[order] += c < most ? c : most;
                i = j;
            }
        }
        free(ht);
        ngrams_free(&h);
        for (int r = 0; r < R; r++) ngrams_free(&rg[r]);
    }
    free(rg);
    if (rc) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    out->bp = 1.0;
    if (out->sys_len < out->ref_len)
        out->bp = out->sys_len > 0 ? exp(1 - (double)out->ref_len / (double)out->sys_len) : 0.0;
    int any = 0;
    for (int k = 0; k < 4; k++) any |= out->counts[k] != 0;
    if (!any) return 0; /* score 0, precisions 0 */
    double smooth = 1.0;
    for (int k = 0; k < 4; k++) {
        if (out->totals[k] == 0) break;
        if (out->counts[k] == 0) {
            smooth *= 2;
            out->precisions[k] = 100. / (smooth * (double)out->totals[k]);
        } else {
            out->precisions[k] = 100. * (double)out->counts[k] / (double)out->totals[k];
        }
    }
    double sum = 0;
    for (int k = 0; k < 4; k++) sum += my_log(out->precisions[k]);
    out->score = out->bp * exp(sum / 4);
    return 0;
}
