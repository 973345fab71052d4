/* bert_normalizer.c: HF `tokenizers`' BertNormalizer with alignment tracking,
 * and the character classes of the BERT pipeline.
 *
 * HF's Rust code takes its categories from two sources, and we mirror both:
 * Rust's std (char::is_whitespace, char::to_lowercase: current Unicode) and
 * the `unicode_categories` crate (is_other, is_punctuation,
 * is_mark_nonspacing), whose tables predate Unicode 11. utf8proc gives current
 * categories, so the few characters that gained a category since are listed
 * below (found by comparing every code point against HF `tokenizers`). */
#include "text/bert_normalizer.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/utf8.h"

/* Format characters (Cf today) that the old tables did not know: kept by
 * clean_text. Sorted ranges, inclusive. */
static const int32_t new_cf[][2] = {
    {0x0890, 0x0891}, {0x08E2, 0x08E2}, {0x110CD, 0x110CD}, {0x13430, 0x1343F},
};

/* Nonspacing marks (Mn today) unknown to the old tables: kept by
 * strip_accents. And the one char that was Mn there and is Mc today. */
static const int32_t new_mn[][2] = {
    {0x7FD, 0x7FD}, {0x898, 0x89F}, {0x8CA, 0x8E1}, {0x9FE, 0x9FE}, {0xAFA, 0xAFF},
    {0xB55, 0xB55}, {0xC04, 0xC04}, {0xC3C, 0xC3C}, {0xD00, 0xD00}, {0xD3B, 0xD3C},
    {0xD81, 0xD81}, {0xEBA, 0xEBA}, {0xECE, 0xECE}, {0x180F, 0x180F}, {0x1885, 0x1886},
    {0x1ABF, 0x1ACE}, {0x1DF6, 0x1DFB}, {0xA82C, 0xA82C}, {0xA8C5, 0xA8C5}, {0xA8FF, 0xA8FF},
    {0xA9BD, 0xA9BD}, {0x10D24, 0x10D27}, {0x10EAB, 0x10EAC}, {0x10EFD, 0x10EFF},
    {0x10F46, 0x10F50}, {0x10F82, 0x10F85}, {0x11070, 0x11070}, {0x11073, 0x11074},
    {0x110C2, 0x110C2}, {0x111C9, 0x111C9}, {0x111CF, 0x111CF}, {0x1123E, 0x1123E},
    {0x11241, 0x11241}, {0x1133B, 0x1133B}, {0x11438, 0x1143F}, {0x11442, 0x11444},
    {0x11446, 0x11446}, {0x1145E, 0x1145E}, {0x1182F, 0x11837}, {0x11839, 0x1183A},
    {0x1193B, 0x1193C}, {0x1193E, 0x1193E}, {0x11943, 0x11943}, {0x119D4, 0x119D7},
    {0x119DA, 0x119DB}, {0x119E0, 0x119E0}, {0x11A01, 0x11A0A}, {0x11A33, 0x11A38},
    {0x11A3B, 0x11A3E}, {0x11A47, 0x11A47}, {0x11A51, 0x11A56}, {0x11A59, 0x11A5B},
    {0x11A8A, 0x11A96}, {0x11A98, 0x11A99}, {0x11C30, 0x11C36}, {0x11C38, 0x11C3D},
    {0x11C3F, 0x11C3F}, {0x11C92, 0x11CA7}, {0x11CAA, 0x11CB0}, {0x11CB2, 0x11CB3},
    {0x11CB5, 0x11CB6}, {0x11D31, 0x11D36}, {0x11D3A, 0x11D3A}, {0x11D3C, 0x11D3D},
    {0x11D3F, 0x11D45}, {0x11D47, 0x11D47}, {0x11D90, 0x11D91}, {0x11D95, 0x11D95},
    {0x11D97, 0x11D97}, {0x11EF3, 0x11EF4}, {0x11F00, 0x11F01}, {0x11F36, 0x11F3A},
    {0x11F40, 0x11F40}, {0x11F42, 0x11F42}, {0x13440, 0x13440}, {0x13447, 0x13455},
    {0x16F4F, 0x16F4F}, {0x16FE4, 0x16FE4}, {0x1CF00, 0x1CF2D}, {0x1CF30, 0x1CF46},
    {0x1E000, 0x1E006}, {0x1E008, 0x1E018}, {0x1E01B, 0x1E021}, {0x1E023, 0x1E024},
    {0x1E026, 0x1E02A}, {0x1E08F, 0x1E08F}, {0x1E130, 0x1E136}, {0x1E2AE, 0x1E2AE},
    {0x1E2EC, 0x1E2EF}, {0x1E4EC, 0x1E4EF}, {0x1E944, 0x1E94A},
};
#define OLD_MN 0x1734 /* HANUNOO SIGN PAMUDPOD */

/* Punctuation (P* today) unknown to the old tables: not isolated. And the
 * two chars that were P* there and are not today: isolated. */
static const int32_t new_punct[][2] = {
    {0x61D, 0x61D}, {0x9FD, 0x9FD}, {0xA76, 0xA76}, {0xC77, 0xC77}, {0xC84, 0xC84},
    {0x1B7D, 0x1B7E}, {0x2E43, 0x2E4F}, {0x2E52, 0x2E5D}, {0x10EAD, 0x10EAD},
    {0x10F55, 0x10F59}, {0x10F86, 0x10F89}, {0x1144B, 0x1144F}, {0x1145A, 0x1145B},
    {0x1145D, 0x1145D}, {0x11660, 0x1166C}, {0x116B9, 0x116B9}, {0x1183B, 0x1183B},
    {0x11944, 0x11946}, {0x119E2, 0x119E2}, {0x11A3F, 0x11A46}, {0x11A9A, 0x11A9C},
    {0x11A9E, 0x11AA2}, {0x11B00, 0x11B09}, {0x11C41, 0x11C45}, {0x11C70, 0x11C71},
    {0x11EF7, 0x11EF8}, {0x11F43, 0x11F4F}, {0x11FFF, 0x11FFF}, {0x12FF1, 0x12FF2},
    {0x16E97, 0x16E9A}, {0x16FE2, 0x16FE2}, {0x1E95E, 0x1E95F},
};
#define OLD_PUNCT_A 0x166D  /* CANADIAN SYLLABICS CHI SIGN */
#define OLD_PUNCT_B 0x111C9 /* SHARADA SANDHI MARK */

/* Lowercase mappings of Unicode 16 that utf8proc (Unicode 15) lacks; Rust's
 * std has them. {from, to, count}: from + i maps to to + i. */
static const int32_t new_lower[][3] = {
    {0x1C89, 0x1C8A, 1}, {0xA7CB, 0x0264, 1}, {0xA7CC, 0xA7CD, 1}, {0xA7CE, 0xA7CF, 1},
    {0xA7D2, 0xA7D3, 1}, {0xA7D4, 0xA7D5, 1}, {0xA7DA, 0xA7DB, 1}, {0xA7DC, 0x019B, 1},
    {0x10D50, 0x10D70, 22}, {0x16EA0, 0x16EBB, 25},
};

/* Compositions newer than the NFD tables HF uses: left whole. */
#define NO_NFD 0x11938 /* DIVES AKURU VOWEL SIGN O */

static int in_ranges(int32_t c, const int32_t (*r)[2], size_t n) {
    for (size_t i = 0; i < n; i++)
        if (c >= r[i][0] && c <= r[i][1]) return 1;
    return 0;
}

static int category(int32_t c) { return utf8proc_get_property(c)->category; }

int uc_is_whitespace(int32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

/* BertNormalizer's is_control: Cc, Cf, Co (unassigned code points are kept),
 * except \t \n \r which count as whitespace. */
static int is_control(int32_t c) {
    if (c == '\t' || c == '\n' || c == '\r') return 0;
    int cat = category(c);
    if (cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CO) return 1;
    if (cat == UTF8PROC_CATEGORY_CF)
        return !in_ranges(c, new_cf, sizeof new_cf / sizeof new_cf[0]);
    return 0;
}

int uc_is_bert_punct(int32_t c) {
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
        (c >= 123 && c <= 126))
        return 1;
    if (c == OLD_PUNCT_A || c == OLD_PUNCT_B) return 1;
    int cat = category(c);
    return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO &&
           !in_ranges(c, new_punct, sizeof new_punct / sizeof new_punct[0]);
}

int uc_is_chinese(int32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

int uc_is_word(int32_t c) {
    if (c == 0x200C || c == 0x200D) return 1;
    int cat = category(c);
    return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_ME) ||
           cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL ||
           cat == UTF8PROC_CATEGORY_PC;
}

static int is_mark_nonspacing(int32_t c) {
    if (c == OLD_MN) return 1;
    return category(c) == UTF8PROC_CATEGORY_MN &&
           !in_ranges(c, new_mn, sizeof new_mn / sizeof new_mn[0]);
}

int normtext_push(NormText *t, int32_t cp, int32_t start, int32_t end, PifiErr *err) {
    if (t->n == t->cap) {
        if (t->cap > (1 << 28)) return pifi_errk(err, PIFI_ERR_RUNTIME, "text too long to normalize");
        int cap = t->cap ? 2 * t->cap : 64;
        int32_t *a = realloc(t->cp, (size_t)cap * sizeof *a);
        if (a) t->cp = a;
        int32_t *s = realloc(t->start, (size_t)cap * sizeof *s);
        if (s) t->start = s;
        int32_t *e = realloc(t->end, (size_t)cap * sizeof *e);
        if (e) t->end = e;
        if (!a || !s || !e) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory normalizing text");
        t->cap = cap;
    }
    t->cp[t->n] = cp;
    t->start[t->n] = start;
    t->end[t->n] = end;
    t->n++;
    return 0;
}

void normtext_free(NormText *t) {
    free(t->cp);
    free(t->start);
    free(t->end);
    memset(t, 0, sizeof *t);
}

int normtext_from_utf8(NormText *t, const char *s, size_t n, int32_t base, PifiErr *err) {
    t->n = 0;
    size_t i = 0;
    while (i < n) {
        size_t at = i;
        int32_t c = utf8_next(s, n, &i);
        if (normtext_push(t, c, base + (int32_t)at, base + (int32_t)i, err)) return -1;
    }
    return 0;
}

int uc_lower_full(int32_t c, int32_t out[3]) {
    if (c == 0x130) { /* LATIN CAPITAL LETTER I WITH DOT ABOVE -> i + COMBINING DOT ABOVE */
        out[0] = 'i';
        out[1] = 0x307;
        return 2;
    }
    for (size_t i = 0; i < sizeof new_lower / sizeof new_lower[0]; i++)
        if (c >= new_lower[i][0] && c < new_lower[i][0] + new_lower[i][2]) {
            out[0] = new_lower[i][1] + (c - new_lower[i][0]);
            return 1;
        }
    out[0] = utf8proc_tolower(c);
    return 1;
}

int uc_decompose(int32_t c, int compat, int32_t out[UC_MAX_DECOMP]) {
    out[0] = c;
    if (c == NO_NFD) return 1;
    int last = 0;
    utf8proc_int32_t dec[UC_MAX_DECOMP];
    utf8proc_ssize_t r = utf8proc_decompose_char(
        c, dec, UC_MAX_DECOMP, UTF8PROC_DECOMPOSE | (compat ? UTF8PROC_COMPAT : 0), &last);
    if (r <= 0 || r > UC_MAX_DECOMP) return 1;
    for (int k = 0; k < (int)r; k++) out[k] = dec[k];
    return (int)r;
}

int uc_combining_class(int32_t c) { return utf8proc_get_property(c)->combining_class; }

/* Canonical ordering of combining marks (the reordering step of NFD) over
 * t, carrying each mark's alignment along: a stable insertion sort of each
 * run of non-starters by combining class. */
static void canonical_order(NormText *t) {
    for (int i = 1; i < t->n; i++) {
        int ccc = utf8proc_get_property(t->cp[i])->combining_class;
        if (!ccc) continue;
        int j = i;
        while (j > 0) {
            int prev = utf8proc_get_property(t->cp[j - 1])->combining_class;
            if (!prev || prev <= ccc) break;
            int32_t c = t->cp[j], s = t->start[j], e = t->end[j];
            t->cp[j] = t->cp[j - 1], t->start[j] = t->start[j - 1], t->end[j] = t->end[j - 1];
            t->cp[j - 1] = c, t->start[j - 1] = s, t->end[j - 1] = e;
            j--;
        }
    }
}

int bert_normalize(const BertNormOpts *o, NormText *t, PifiErr *err) {
    NormText out = {0};
    int rc = -1;
    /* One pass does clean_text, CJK padding, NFD + accent stripping and
     * lowercasing per char; only the NFD reordering needs its own pass. Doing
     * them together is equivalent because each step maps one char to chars
     * the later steps treat independently. */
    for (int i = 0; i < t->n; i++) {
        int32_t c = t->cp[i], s = t->start[i], e = t->end[i];
        if (o->clean_text) {
            if (c == 0 || c == 0xFFFD || is_control(c)) continue;
            if (uc_is_whitespace(c)) c = ' ';
        }
        int cjk = o->handle_chinese_chars && uc_is_chinese(c);
        if (cjk && normtext_push(&out, ' ', s, e, err)) goto done;
        int32_t dec[UC_MAX_DECOMP];
        int nd = 1;
        dec[0] = c;
        if (o->strip_accents) nd = uc_decompose(c, 0, dec);
        for (int k = 0; k < nd; k++) {
            if (normtext_push(&out, dec[k], s, e, err)) goto done;
        }
        if (cjk && normtext_push(&out, ' ', s, e, err)) goto done;
    }
    if (o->strip_accents) {
        canonical_order(&out);
        int m = 0;
        for (int i = 0; i < out.n; i++) {
            if (is_mark_nonspacing(out.cp[i])) continue;
            out.cp[m] = out.cp[i], out.start[m] = out.start[i], out.end[m] = out.end[i];
            m++;
        }
        out.n = m;
    }
    if (o->lowercase) {
        t->n = 0;
        for (int i = 0; i < out.n; i++) {
            int32_t low[3];
            int nl = uc_lower_full(out.cp[i], low);
            for (int k = 0; k < nl; k++)
                if (normtext_push(t, low[k], out.start[i], out.end[i], err)) goto done;
        }
        rc = 0;
        goto done;
    }
    /* Hand out's arrays over to t. */
    normtext_free(t);
    *t = out;
    return 0;
done:
    normtext_free(&out);
    return rc;
}
