/* pystr.c: Python-style code point strings (pystr.h). */
#include "core/pystr.h"

#include <stdlib.h>
#include <utf8proc.h>

int pystr_push(PyStr *s, int32_t c) {
    if (s->n == s->cap) {
        size_t nc = s->cap ? 2 * s->cap : 64;
        int32_t *p = realloc(s->c, nc * sizeof *p);
        if (!p) return -1;
        s->c = p, s->cap = nc;
    }
    s->c[s->n++] = c;
    return 0;
}

int pystr_decode(PyStr *s, const char *t, size_t n) {
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)t;
    utf8proc_ssize_t len = (utf8proc_ssize_t)n;
    while (len > 0) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(p, len, &c);
        if (k <= 0) c = 0xFFFD, k = 1;
        if (pystr_push(s, c)) return -1;
        p += k, len -= k;
    }
    return 0;
}

char *pystr_encode(const PyStr *s, size_t from, size_t to) {
    char *out = malloc((to > from ? to - from : 0) * 4 + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = from; i < to; i++) o += (size_t)utf8proc_encode_char(s->c[i], (utf8proc_uint8_t *)out + o);
    out[o] = '\0';
    return out;
}

void pystr_free(PyStr *s) {
    free(s->c);
    s->c = NULL, s->n = s->cap = 0;
}

int pystr_isspace(int32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

/* ------------------------------------------------------------------------ */
/* str.lower() */

/* Unicode's Cased and Case_Ignorable (for Final_Sigma): by category, with
 * the apostrophes and word-internal punctuation Word_Break gives. */
static int cased(int32_t c) {
    int k = utf8proc_get_property(c)->category;
    return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT ||
           c == 0xAA || c == 0xBA || (c >= 0x2B0 && c <= 0x2B8) || (c >= 0x2C0 && c <= 0x2C1) ||
           (c >= 0x2E0 && c <= 0x2E4) || c == 0x345 || c == 0x37A || (c >= 0x1D2C && c <= 0x1D6A) ||
           c == 0x1D78 || (c >= 0x1D9B && c <= 0x1DBF) || c == 0x2071 || c == 0x207F ||
           (c >= 0x2090 && c <= 0x209C) || (c >= 0x2160 && c <= 0x217F) || (c >= 0x24B6 && c <= 0x24E9);
}

static int case_ignorable(int32_t c) {
    int k = utf8proc_get_property(c)->category;
    return k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_ME || k == UTF8PROC_CATEGORY_CF ||
           k == UTF8PROC_CATEGORY_LM || k == UTF8PROC_CATEGORY_SK || c == '\'' || c == '.' || c == ':' ||
           c == 0xB7 || c == 0x387 || c == 0x5F4 || c == 0x2018 || c == 0x2019 || c == 0x2024 ||
           c == 0x2027 || c == 0xFE13 || c == 0xFE52 || c == 0xFE55 || c == 0xFF07 || c == 0xFF0E ||
           c == 0xFF1A;
}

/* CPython's handle_capital_sigma: final when a cased letter precedes (case
 * ignorables skipped) and none follows. */
static int final_sigma(const int32_t *c, size_t n, size_t i) {
    size_t j = i;
    while (j > 0 && case_ignorable(c[j - 1])) j--;
    if (j == 0 || !cased(c[j - 1])) return 0;
    j = i + 1;
    while (j < n && case_ignorable(c[j])) j++;
    return j == n || !cased(c[j]);
}

int pystr_lower(const PyStr *s, PyStr *out) {
    for (size_t i = 0; i < s->n; i++) {
        int32_t c = s->c[i];
        if (c == 0x130) { /* the full mapping: i + combining dot above */
            if (pystr_push(out, 'i') || pystr_push(out, 0x307)) return -1;
            continue;
        }
        if (pystr_push(out, c == 0x3A3 ? (final_sigma(s->c, s->n, i) ? 0x3C2 : 0x3C3) : utf8proc_tolower(c)))
            return -1;
    }
    return 0;
}
