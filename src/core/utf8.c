/* utf8.c: strict UTF-8 validation, decoding and encoding. */
#include "core/utf8.h"

/* Length of the valid sequence starting at s[i], or 0 when it is invalid. */
static size_t seq_len(const unsigned char *s, size_t n, size_t i) {
    unsigned c = s[i];
    if (c < 0x80) return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0) len = 3, lo = 0xA0;
    else if (c == 0xED) len = 3, hi = 0x9F; /* no surrogates */
    else if (c >= 0xE1 && c <= 0xEF) len = 3;
    else if (c == 0xF0) len = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    else if (c == 0xF4) len = 4, hi = 0x8F; /* <= U+10FFFF */
    else return 0;
    if (n - i < len) return 0;
    if (s[i + 1] < lo || s[i + 1] > hi) return 0;
    for (size_t k = 2; k < len; k++)
        if ((s[i + k] & 0xC0) != 0x80) return 0;
    return len;
}

int utf8_valid(const char *s, size_t n, size_t *bad) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t len = seq_len(u, n, i);
        if (!len) {
            if (bad) *bad = i;
            return 0;
        }
        i += len;
    }
    return 1;
}

int32_t utf8_next(const char *s, size_t n, size_t *i) {
    const unsigned char *u = (const unsigned char *)s + *i;
    size_t left = n - *i;
    unsigned c = u[0];
    if (c < 0x80 || left < 2) {
        *i += 1;
        return (int32_t)c;
    }
    if (c < 0xE0) {
        *i += 2;
        return (int32_t)(((c & 0x1Fu) << 6) | (u[1] & 0x3Fu));
    }
    if (c < 0xF0 && left >= 3) {
        *i += 3;
        return (int32_t)(((c & 0x0Fu) << 12) | ((u[1] & 0x3Fu) << 6) | (u[2] & 0x3Fu));
    }
    if (left >= 4) {
        *i += 4;
        return (int32_t)(((c & 0x07u) << 18) | ((u[1] & 0x3Fu) << 12) | ((u[2] & 0x3Fu) << 6) |
                         (u[3] & 0x3Fu));
    }
    *i += 1; /* truncated: only reachable on invalid input */
    return 0xFFFD;
}

int utf8_len(int32_t cp) {
    return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

int utf8_put(int32_t cp, char *out) {
    unsigned c = (unsigned)cp;
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}
