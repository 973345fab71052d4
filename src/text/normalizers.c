/* normalizers.c: the SentencePiece-side normalizers of tokenizer.json
 * (normalizers.h): parsing the "normalizer" object into a list of steps,
 * each step over a NormText, and HF's transform (how a new char inherits
 * its alignment) that Precompiled and the decompositions go through. */
#include "text/normalizers.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/utf8.h"
#include "pifi/json.h"

#define NZ_MAX_STEPS 64
#define NZ_MAX_TEXT 4096 /* bytes of a Replace pattern or content */

int nz_changes_push(NzChanges *c, int32_t cp, int32_t chg, PifiErr *err) {
    if (c->n == c->cap) {
        if (c->cap > (1 << 28)) return pifi_errk(err, PIFI_ERR_RUNTIME, "text too long to normalize");
        int cap = c->cap ? 2 * c->cap : 64;
        int32_t *a = realloc(c->cp, (size_t)cap * sizeof *a);
        if (a) c->cp = a;
        int32_t *b = realloc(c->chg, (size_t)cap * sizeof *b);
        if (b) c->chg = b;
        if (!a || !b) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory normalizing text");
        c->cap = cap;
    }
    c->cp[c->n] = cp, c->chg[c->n] = chg;
    c->n++;
    return 0;
}

int normtext_transform(NormText *t, const int32_t *cp, const int32_t *chg, int n, int initial,
                       int32_t base, PifiErr *err) {
    NormText out = {0};
    int used = initial; /* old chars consumed */
    for (int k = 0; k < n; k++) {
        int32_t s = base, e = base;
        if (chg[k] > 0) { /* inserted: the alignment of the last old char consumed */
            int j = used - 1 < t->n ? used - 1 : t->n - 1;
            if (used >= 1 && j >= 0) s = t->start[j], e = t->end[j];
        } else { /* replaces the next old char (HF cannot run past the end; be safe) */
            int j = used < t->n ? used : t->n - 1;
            if (j >= 0) s = t->start[j], e = t->end[j];
            used += 1 + (chg[k] < 0 ? (chg[k] < -t->n ? t->n : -chg[k]) : 0);
            if (used > t->n) used = t->n;
        }
        if (normtext_push(&out, cp[k], s, e, err)) {
            normtext_free(&out);
            return -1;
        }
    }
    normtext_free(t);
    *t = out;
    return 0;
}

/* ---- the steps ----------------------------------------------------------- */

static int decode_cps(const char *s, int32_t *out, int max) {
    size_t n = strlen(s), i = 0;
    int k = 0;
    while (i < n && k < max) out[k++] = utf8_next(s, n, &i);
    return k;
}

/* Length in chars of the match starting at char i, 0 when none. */
static int replace_match(const NzStep *st, const NormText *t, int i, const int32_t *pat, int np) {
    if (!st->pattern) return rx_match_at(&st->rx, t->cp, t->n, i);
    if (np == 0 || i + np > t->n) return 0;
    for (int k = 0; k < np; k++)
        if (t->cp[i + k] != pat[k]) return 0;
    return np;
}

/* HF's NormalizedString::replace: each match (leftmost, not overlapping)
 * becomes the content, every new char aligned with the match's last char. */
static int nz_replace(const NzStep *st, NormText *t, PifiErr *err) {
    int32_t pat[NZ_MAX_TEXT], rep[NZ_MAX_TEXT];
    int np = st->pattern ? decode_cps(st->pattern, pat, NZ_MAX_TEXT) : 0;
    int nr = decode_cps(st->content, rep, NZ_MAX_TEXT);
    NormText out = {0};
    for (int i = 0; i < t->n;) {
        int k = replace_match(st, t, i, pat, np);
        if (!k) {
            if (normtext_push(&out, t->cp[i], t->start[i], t->end[i], err)) goto fail;
            i++;
            continue;
        }
        for (int r = 0; r < nr; r++)
            if (normtext_push(&out, rep[r], t->start[i + k - 1], t->end[i + k - 1], err)) goto fail;
        i += k;
    }
    normtext_free(t);
    *t = out;
    return 0;
fail:
    normtext_free(&out);
    return -1;
}

/* Keep chars [a, b) of t. */
static void keep_range(NormText *t, int a, int b) {
    int m = 0;
    for (int i = a; i < b; i++, m++) t->cp[m] = t->cp[i], t->start[m] = t->start[i], t->end[m] = t->end[i];
    t->n = m;
}

static void nz_strip(const NzStep *st, NormText *t) {
    int a = 0, b = t->n;
    if (st->left)
        while (a < b && uc_is_whitespace(t->cp[a])) a++;
    if (st->right)
        while (b > a && uc_is_whitespace(t->cp[b - 1])) b--;
    keep_range(t, a, b);
}

static int nz_lowercase(NormText *t, PifiErr *err) {
    NormText out = {0};
    for (int i = 0; i < t->n; i++) {
        int32_t low[3];
        int nl = uc_lower_full(t->cp[i], low);
        for (int k = 0; k < nl; k++)
            if (normtext_push(&out, low[k], t->start[i], t->end[i], err)) {
                normtext_free(&out);
                return -1;
            }
    }
    normtext_free(t);
    *t = out;
    return 0;
}

/* StripAccents: drop combining marks (Mn, Mc, Me). */
static void nz_strip_accents(NormText *t) {
    int m = 0;
    for (int i = 0; i < t->n; i++) {
        int cat = utf8proc_get_property(t->cp[i])->category;
        if (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC || cat == UTF8PROC_CATEGORY_ME)
            continue;
        t->cp[m] = t->cp[i], t->start[m] = t->start[i], t->end[m] = t->end[i];
        m++;
    }
    t->n = m;
}

/* The first char that a and b compose into (canonical composition, Hangul
 * included), or -1. */
static int32_t compose_pair(int32_t a, int32_t b) {
    utf8proc_int32_t buf[2] = {a, b};
    utf8proc_ssize_t r = utf8proc_normalize_utf32(buf, 2, UTF8PROC_COMPOSE);
    return r == 1 ? buf[0] : -1;
}

/* The canonical recomposition of d (decomposed, ordered) into out, the
 * changes combined as unicode-normalization-alignments' Recompositions
 * does: a composed char carries k + change - 1. */
static int recompose(const NzChanges *d, NzChanges *out, PifiErr *err) {
    NzChanges blocked = {0}; /* marks held back behind the starter */
    int32_t k = 0, kchg = 0;
    int has_k = 0, last_ccc = -1, rc = -1;
    for (int i = 0; i < d->n; i++) {
        int32_t ch = d->cp[i], chg = d->chg[i], r;
        int ccc = uc_combining_class(ch);
        if (!has_k) {
            if (ccc != 0) {
                if (nz_changes_push(out, ch, chg, err)) goto done;
            } else {
                k = ch, kchg = chg, has_k = 1;
            }
            continue;
        }
        if (last_ccc >= 0 && last_ccc >= ccc) { /* blocked from the starter */
            if (ccc == 0) {
                if (nz_changes_push(out, k, kchg, err)) goto done;
                for (int b = 0; b < blocked.n; b++)
                    if (nz_changes_push(out, blocked.cp[b], blocked.chg[b], err)) goto done;
                blocked.n = 0, last_ccc = -1;
                k = ch, kchg = chg;
                continue;
            }
        } else if ((r = compose_pair(k, ch)) >= 0) {
            k = r, kchg = kchg + chg - 1;
            continue;
        } else if (last_ccc < 0 && ccc == 0) {
            if (nz_changes_push(out, k, kchg, err)) goto done;
            k = ch, kchg = chg;
            continue;
        }
        if (nz_changes_push(&blocked, ch, chg, err)) goto done;
        last_ccc = ccc;
    }
    if (has_k && nz_changes_push(out, k, kchg, err)) goto done;
    for (int b = 0; b < blocked.n; b++)
        if (nz_changes_push(out, blocked.cp[b], blocked.chg[b], err)) goto done;
    rc = 0;
done:
    free(blocked.cp);
    free(blocked.chg);
    return rc;
}

/* NFD / NFKD / NFC / NFKC as HF's unicode-normalization-alignments: each
 * char's decomposition (its first char replaces it, the rest are
 * insertions), the canonical reordering (the changes move with their
 * chars), then for NFC / NFKC the recomposition. */
static int nz_normalize(NormText *t, int compat, int compose, int32_t base, PifiErr *err) {
    NzChanges c = {0}, r = {0};
    int rc = -1;
    for (int i = 0; i < t->n; i++) {
        int32_t dec[UC_MAX_DECOMP];
        int nd = uc_decompose(t->cp[i], compat, dec);
        for (int k = 0; k < nd; k++)
            if (nz_changes_push(&c, dec[k], k > 0, err)) goto done;
    }
    for (int i = 1; i < c.n; i++) { /* stable insertion sort of each run of non-starters */
        int ccc = uc_combining_class(c.cp[i]);
        if (!ccc) continue;
        for (int j = i; j > 0; j--) {
            int prev = uc_combining_class(c.cp[j - 1]);
            if (!prev || prev <= ccc) break;
            int32_t cp = c.cp[j], chg = c.chg[j];
            c.cp[j] = c.cp[j - 1], c.chg[j] = c.chg[j - 1];
            c.cp[j - 1] = cp, c.chg[j - 1] = chg;
        }
    }
    if (compose && recompose(&c, &r, err)) goto done;
    const NzChanges *o = compose ? &r : &c;
    rc = normtext_transform(t, o->cp, o->chg, o->n, 0, base, err);
done:
    free(c.cp);
    free(c.chg);
    free(r.cp);
    free(r.chg);
    return rc;
}

int nz_apply(const NzList *l, NormText *t, int32_t base, PifiErr *err) {
    for (int k = 0; k < l->n; k++) {
        const NzStep *st = &l->steps[k];
        int rc = 0;
        switch (st->kind) {
        case NZ_PRECOMPILED: rc = pc_normalize(st->pc, t, base, err); break;
        case NZ_REPLACE: rc = nz_replace(st, t, err); break;
        case NZ_STRIP: nz_strip(st, t); break;
        case NZ_LOWERCASE: rc = nz_lowercase(t, err); break;
        case NZ_NFD: rc = nz_normalize(t, 0, 0, base, err); break;
        case NZ_NFKD: rc = nz_normalize(t, 1, 0, base, err); break;
        case NZ_STRIP_ACCENTS: nz_strip_accents(t); break;
        case NZ_NFC: rc = nz_normalize(t, 0, 1, base, err); break;
        case NZ_NFKC: rc = nz_normalize(t, 1, 1, base, err); break;
        }
        if (rc) return -1;
    }
    return 0;
}

/* ---- tokenizer.json ------------------------------------------------------ */

void nz_free(NzList *l) {
    for (int k = 0; k < l->n; k++) {
        free(l->steps[k].pattern);
        free(l->steps[k].content);
        pc_free(l->steps[k].pc);
    }
    free(l->steps);
    memset(l, 0, sizeof *l);
}

static char *dup_text(const char *s, const char *file, const char *what, PifiErr *err) {
    size_t n = strlen(s);
    if (n >= NZ_MAX_TEXT) {
        pifi_errf(err, "%s: normalizer Replace: %s is longer than %d bytes", file, what, NZ_MAX_TEXT - 1);
        return NULL;
    }
    char *d = pifi_malloc(n + 1, err);
    if (d) memcpy(d, s, n + 1);
    return d;
}

static int parse_step(NzList *l, const cJSON *nz, const char *file, int depth, PifiErr *err);

static int parse_sequence(NzList *l, const cJSON *nz, const char *file, int depth, PifiErr *err) {
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(nz, "normalizers");
    if (!cJSON_IsArray(list)) return pifi_errf(err, "%s: normalizer Sequence: \"normalizers\" must be an array", file);
    for (const cJSON *it = list->child; it; it = it->next)
        if (parse_step(l, it, file, depth + 1, err)) return -1;
    return 0;
}

static int parse_step(NzList *l, const cJSON *nz, const char *file, int depth, PifiErr *err) {
    const char *type;
    if (depth > 8) return pifi_errf(err, "%s: normalizer Sequences nested too deep", file);
    if (!cJSON_IsObject(nz)) return pifi_errf(err, "%s: a normalizer must be an object", file);
    if (pifi_json_string(nz, "type", 1, &type, file, err)) return -1;
    if (!strcmp(type, "Sequence")) return parse_sequence(l, nz, file, depth, err);
    if (l->n >= NZ_MAX_STEPS) return pifi_errf(err, "%s: more than %d normalizers", file, NZ_MAX_STEPS);
    NzStep *st = &l->steps[l->n];
    memset(st, 0, sizeof *st);
    if (!strcmp(type, "Precompiled")) {
        const char *b64;
        st->kind = NZ_PRECOMPILED;
        if (pifi_json_string(nz, "precompiled_charsmap", 1, &b64, file, err) ||
            pc_from_base64(&st->pc, b64, file, err))
            return -1;
    } else if (!strcmp(type, "Replace")) {
        const cJSON *pat = cJSON_GetObjectItemCaseSensitive(nz, "pattern");
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(pat, "String");
        const cJSON *re = cJSON_GetObjectItemCaseSensitive(pat, "Regex");
        const char *content;
        st->kind = NZ_REPLACE;
        if (pifi_json_string(nz, "content", 1, &content, file, err)) return -1;
        if (cJSON_IsString(s)) {
            if (!(st->pattern = dup_text(s->valuestring, file, "pattern", err))) return -1;
        } else if (cJSON_IsString(re)) {
            if (rx_parse(&st->rx, re->valuestring, file, err)) return -1;
        } else {
            return pifi_errf(err, "%s: normalizer Replace: \"pattern\" must be {\"String\": ...} or {\"Regex\": ...}", file);
        }
        if (!(st->content = dup_text(content, file, "content", err))) {
            free(st->pattern);
            return -1;
        }
    } else if (!strcmp(type, "Strip")) {
        st->kind = NZ_STRIP;
        st->left = st->right = 1;
        if (pifi_json_bool(nz, "strip_left", 0, &st->left, file, err) < 0 ||
            pifi_json_bool(nz, "strip_right", 0, &st->right, file, err) < 0)
            return -1;
    } else if (!strcmp(type, "Lowercase")) {
        st->kind = NZ_LOWERCASE;
    } else if (!strcmp(type, "NFD")) {
        st->kind = NZ_NFD;
    } else if (!strcmp(type, "NFKD")) {
        st->kind = NZ_NFKD;
    } else if (!strcmp(type, "StripAccents")) {
        st->kind = NZ_STRIP_ACCENTS;
    } else if (!strcmp(type, "NFC")) {
        st->kind = NZ_NFC;
    } else if (!strcmp(type, "NFKC")) {
        st->kind = NZ_NFKC;
    } else {
        return pifi_errf(err,
                         "%s: unsupported normalizer \"%.64s\" for a Unigram model (supported: Sequence, "
                         "Precompiled, Replace, Strip, Lowercase, NFD, NFKD, NFC, NFKC, StripAccents)",
                         file, type);
    }
    l->n++;
    return 0;
}

int nz_from_json(NzList *l, const cJSON *nz, const char *file, PifiErr *err) {
    memset(l, 0, sizeof *l);
    if (!nz || cJSON_IsNull(nz)) return 0;
    l->steps = pifi_calloc(NZ_MAX_STEPS, sizeof *l->steps, err);
    if (!l->steps) return -1;
    if (parse_step(l, nz, file, 0, err)) {
        nz_free(l);
        return -1;
    }
    return 0;
}
