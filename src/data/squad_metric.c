/* squad_metric.c: the official SQuAD v1.1 evaluation (pifi/squad.h), with
 * Python's string semantics reproduced where the script leans on them:
 *
 *   normalize_answer(s) = white_space_fix(remove_articles(remove_punc(lower(s))))
 *   lower: str.lower(), the full lowercase mapping: U+0130 -> "i\u0307",
 *          capital sigma -> final sigma at the end of a word (Final_Sigma),
 *          every other code point by its simple mapping (utf8proc);
 *   remove_punc: drops string.punctuation, the 32 ASCII punctuation marks;
 *   remove_articles: re.sub(r"\b(a|an|the)\b", " ", text), where \b is a
 *          boundary between a word character (str.isalnum(): letters and
 *          numbers, or "_") and anything else;
 *   white_space_fix: " ".join(text.split()), str.isspace()'s whitespace.
 *
 * f1 = 2 p r / (p + r) over the multiset of tokens (0 when none is shared),
 * exact = normalised strings equal; both computed in the script's order so
 * the corpus percentages are the same doubles. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/pystr.h"
#include "pifi/squad.h"

/* ------------------------------------------------------------------------ */
/* code points */

static int category(int32_t c) { return utf8proc_get_property(c)->category; }

/* Python re's \w for str patterns: str.isalnum() or "_" */
static int py_word(int32_t c) {
    if (c == '_') return 1;
    switch (category(c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        return 1;
    default:
        return 0;
    }
}

/* string.punctuation: !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~ */
static int ascii_punct(int32_t c) {
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

/* ------------------------------------------------------------------------ */
/* normalize_answer */

/* lower() and remove_punc() of s into out */
static int lower_nopunct(const PyStr *s, PyStr *out) {
    PyStr l = {0};
    int rc = pystr_lower(s, &l);
    for (size_t i = 0; rc == 0 && i < l.n; i++)
        if (!ascii_punct(l.c[i])) rc = pystr_push(out, l.c[i]);
    pystr_free(&l);
    return rc;
}

/* re.sub(r"\b(a|an|the)\b", " ", t): at each position, the alternatives in
 * order, the first whose end is a boundary; matches never overlap. */
static int remove_articles(const PyStr *t, PyStr *out) {
    static const char *const ART[3] = {"a", "an", "the"};
    size_t n = t->n;
    for (size_t i = 0; i < n;) {
        int k = 0;
        if (py_word(t->c[i]) && (i == 0 || !py_word(t->c[i - 1]))) /* a boundary before a word character */
            for (int a = 0; a < 3 && !k; a++) {
                size_t len = strlen(ART[a]), j = 0;
                while (j < len && i + j < n && t->c[i + j] == ART[a][j]) j++;
                if (j == len && (i + len == n || !py_word(t->c[i + len]))) k = (int)len;
            }
        if (k) {
            if (pystr_push(out, ' ')) return -1;
            i += (size_t)k;
        } else {
            if (pystr_push(out, t->c[i])) return -1;
            i++;
        }
    }
    return 0;
}

/* " ".join(t.split()) as UTF-8 */
static char *join_words(const PyStr *t) {
    char *out = malloc(t->n * 4 + 1);
    if (!out) return NULL;
    size_t o = 0;
    int pending = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (pystr_isspace(t->c[i])) {
            pending = o > 0;
            continue;
        }
        if (pending) out[o++] = ' ', pending = 0;
        o += (size_t)utf8proc_encode_char(t->c[i], (utf8proc_uint8_t *)out + o);
    }
    out[o] = '\0';
    return out;
}

char *squad_normalize(const char *s) {
    PyStr a = {0}, b = {0}, c = {0};
    char *out = NULL;
    if (pystr_decode(&a, s, strlen(s)) == 0 && lower_nopunct(&a, &b) == 0 && remove_articles(&b, &c) == 0)
        out = join_words(&c);
    pystr_free(&a), pystr_free(&b), pystr_free(&c);
    return out;
}

/* ------------------------------------------------------------------------ */
/* scores */

int squad_exact(const char *pred, const char *gold) {
    char *p = squad_normalize(pred), *g = squad_normalize(gold);
    int same = p && g && strcmp(p, g) == 0;
    free(p), free(g);
    return same;
}

/* The tokens of a normalised string (split in place at its single spaces),
 * sorted; their count. */
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static char **tokens(char *s, size_t *n) {
    size_t k = *s ? 1 : 0;
    for (char *p = s; *p; p++) k += *p == ' ';
    char **t = malloc((k ? k : 1) * sizeof *t);
    if (!t) return NULL;
    size_t i = 0;
    for (char *p = s; *p;) {
        t[i++] = p;
        char *sp = strchr(p, ' ');
        if (!sp) break;
        *sp = '\0';
        p = sp + 1;
    }
    qsort(t, i, sizeof *t, cmp_str);
    *n = i;
    return t;
}

double squad_f1(const char *pred, const char *gold) {
    char *p = squad_normalize(pred), *g = squad_normalize(gold);
    size_t np = 0, ng = 0;
    char **tp = p ? tokens(p, &np) : NULL, **tg = g ? tokens(g, &ng) : NULL;
    double f1 = 0;
    if (tp && tg) {
        /* Counter(pred) & Counter(gold): the shared tokens with multiplicity */
        size_t same = 0;
        for (size_t i = 0, j = 0; i < np && j < ng;) {
            int c = strcmp(tp[i], tg[j]);
            if (c == 0) same++, i++, j++;
            else if (c < 0) i++;
            else j++;
        }
        if (same) {
            double precision = 1.0 * (double)same / (double)np, recall = 1.0 * (double)same / (double)ng;
            f1 = (2 * precision * recall) / (precision + recall);
        }
    }
    free(tp), free(tg), free(p), free(g);
    return f1;
}

int squad_evaluate(const SquadData *d, const char *(*pred_of)(void *ctx, int i), void *ctx, SquadScore *out,
                   PifiErr *err) {
    memset(out, 0, sizeof *out);
    double em = 0, f1 = 0;
    for (int i = 0; i < d->n; i++) {
        const SquadQuestion *q = &d->q[i];
        out->total++;
        const char *p = pred_of(ctx, i);
        if (!p) {
            out->unanswered++;
            continue;
        }
        int best_em = 0;
        double best_f1 = 0;
        for (int a = 0; a < q->n_answers; a++) {
            int e = squad_exact(p, q->answers[a]);
            double f = squad_f1(p, q->answers[a]);
            if (e > best_em) best_em = e;
            if (a == 0 || f > best_f1) best_f1 = f;
        }
        em += best_em;
        f1 += best_f1;
    }
    if (out->total == 0) return pifi_errf(err, "squad: no questions to score");
    out->exact_match = 100.0 * em / (double)out->total;
    out->f1 = 100.0 * f1 / (double)out->total;
    return 0;
}
