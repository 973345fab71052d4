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
