/* text.c: from raw file bytes to a stored text: strict UTF-8 check, the
 * Windows-1252 fallback for the classic sentence sets (MR, SUBJ, TREC have
 * Latin-1/cp1252 bytes), and the cleaning that stands in for the authors'
 * BeautifulSoup(text).text + ' '.join(text.split()). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/data_internal.h"

int text_utf8_valid(const char *str, size_t n, size_t *bad) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp, min;
        if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07, min = 0x10000;
        else goto fail;
        if (i + len > n) goto fail;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) goto fail;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) goto fail;
        i += len;
    }
    return 1;
fail:
    if (bad) *bad = i;
    return 0;
}

static int utf8_put(uint32_t cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Windows-1252 0x80..0x9F; the five undefined bytes map to the C1 control of
 * the same value, as the WHATWG encoding standard does. */
static const uint16_t CP1252_HIGH[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

/* Decode n bytes of cp1252 into out (room for 3n + 1). Returns the length. */
static size_t cp1252_decode(const char *s, size_t n, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = (unsigned char)s[i];
        uint32_t cp = c >= 0x80 && c < 0xA0 ? CP1252_HIGH[c - 0x80] : c;
        o += (size_t)utf8_put(cp, out + o);
    }
    out[o] = 0;
    return o;
}

/* Python's str.split() whitespace: the length of the whitespace character at
 * s[i] (valid UTF-8), or 0 if it is not one. */
static int space_len(const unsigned char *s, size_t n, size_t i) {
    unsigned c = s[i];
    if (c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F)) return 1;
    if (c == 0xC2 && i + 1 < n && (s[i + 1] == 0x85 || s[i + 1] == 0xA0)) return 2;
    if (c == 0xE1 && i + 2 < n && s[i + 1] == 0x9A && s[i + 2] == 0x80) return 3; /* U+1680 */
    if (c == 0xE2 && i + 2 < n) {
        unsigned b = s[i + 1], d = s[i + 2];
        if (b == 0x80 && (d <= 0x8A || d == 0xA8 || d == 0xA9 || d == 0xAF)) return 3;
        if (b == 0x81 && d == 0x9F) return 3; /* U+205F */
    }
    if (c == 0xE3 && i + 2 < n && s[i + 1] == 0x80 && s[i + 2] == 0x80) return 3; /* U+3000 */
    return 0;
}

/* Tags the cleaning knows, written without attributes: <name>, </name>,
 * <name/>, <name />, any case. Block tags become a space, inline ones vanish. */
static const char *const BLOCK_TAGS[] = {"br", "p", "div", "hr", "li"};
static const char *const INLINE_TAGS[] = {"i", "b", "u", "em", "strong", "span"};

/* If s[i] starts a known tag, return its length and set *block. */
static size_t tag_len(const char *s, size_t n, size_t i, int *block) {
    size_t j = i + 1;
    if (j < n && s[j] == '/') j++;
    size_t name = j;
    while (j < n && j - name < 8 && ((s[j] | 0x20) >= 'a' && (s[j] | 0x20) <= 'z')) j++;
    size_t name_len = j - name;
    if (name_len == 0) return 0;
    while (j < n && s[j] == ' ') j++;
    if (j < n && s[j] == '/') j++;
    if (j >= n || s[j] != '>') return 0;
    for (size_t t = 0; t < sizeof BLOCK_TAGS / sizeof *BLOCK_TAGS; t++)
        if (strlen(BLOCK_TAGS[t]) == name_len && strncasecmp(s + name, BLOCK_TAGS[t], name_len) == 0) {
            *block = 1;
            return j + 1 - i;
        }
    for (size_t t = 0; t < sizeof INLINE_TAGS / sizeof *INLINE_TAGS; t++)
        if (strlen(INLINE_TAGS[t]) == name_len && strncasecmp(s + name, INLINE_TAGS[t], name_len) == 0) {
            *block = 0;
            return j + 1 - i;
        }
    return 0;
}

/* If s[i] == '&' starts an entity (&amp; &lt; &gt; &quot; &apos; &nbsp;
 * &#N; &#xH;) write its UTF-8 to out and return the input length consumed. */
static size_t entity(const char *s, size_t n, size_t i, char *out, int *out_len) {
    static const struct { const char *name; uint32_t cp; } NAMED[] = {
        {"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}, {"nbsp;", 0xA0}};
    for (size_t t = 0; t < sizeof NAMED / sizeof *NAMED; t++) {
        size_t l = strlen(NAMED[t].name);
        if (i + 1 + l <= n && memcmp(s + i + 1, NAMED[t].name, l) == 0) {
            *out_len = utf8_put(NAMED[t].cp, out);
            return 1 + l;
        }
    }
    if (i + 2 >= n || s[i + 1] != '#') return 0;
    size_t j = i + 2;
    int hex = j < n && (s[j] == 'x' || s[j] == 'X');
    if (hex) j++;
    uint32_t cp = 0;
    size_t digits = 0;
    for (; j < n && digits < 8; j++, digits++) {
        char c = s[j];
        int d = c >= '0' && c <= '9' ? c - '0'
              : hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
        if (d < 0) break;
        cp = cp * (hex ? 16 : 10) + (uint32_t)d;
    }
    if (digits == 0 || digits == 8 || j >= n || s[j] != ';') return 0;
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    *out_len = utf8_put(cp, out);
    return j + 1 - i;
}

char *dataset_clean_text(const char *s, size_t n) {
    /* pass 1: tags and entities (never longer than the input) */
    char *a = malloc(n + 1);
    if (!a) return NULL;
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        int block, len;
        size_t used;
        if (s[i] == '<' && (used = tag_len(s, n, i, &block)) > 0) {
            if (block) a[m++] = ' ';
            i += used;
        } else if (s[i] == '&' && (used = entity(s, n, i, a + m, &len)) > 0) {
            m += (size_t)len;
            i += used;
        } else {
            a[m++] = s[i++];
        }
    }
    /* pass 2: whitespace runs -> one space, trimmed, in place */
    const unsigned char *u = (const unsigned char *)a;
    size_t o = 0;
    int pending = 0;
    for (size_t i = 0; i < m;) {
        int w = space_len(u, m, i);
        if (w) {
            pending = o > 0;
            i += (size_t)w;
            continue;
        }
        if (pending) a[o++] = ' ';
        pending = 0;
        a[o++] = a[i++];
    }
    a[o] = 0;
    return a;
}

int text_make(const char *s, size_t n, unsigned flags, char **out, size_t *bad, int *recoded) {
    *out = NULL;
    const char *nul = memchr(s, 0, n);
    size_t bad_at = 0;
    char *dec = NULL;
    if (nul) {
        *bad = (size_t)(nul - s);
        return TEXT_NUL;
    }
    if (!text_utf8_valid(s, n, &bad_at)) {
        if (!(flags & TEXT_CP1252)) {
            *bad = bad_at;
            return TEXT_BAD_UTF8;
        }
        dec = malloc(3 * n + 1);
        if (!dec) return TEXT_NOMEM;
        n = cp1252_decode(s, n, dec);
        s = dec;
        if (recoded) *recoded = 1;
    }
    char *t;
    if (flags & TEXT_CLEAN) {
        t = dataset_clean_text(s, n);
    } else {
        t = malloc(n + 1);
        if (t) {
            memcpy(t, s, n);
            t[n] = 0;
        }
    }
    free(dec);
    if (!t) return TEXT_NOMEM;
    if (!t[0]) {
        free(t);
        return TEXT_EMPTY;
    }
    *out = t;
    return TEXT_OK;
}

const char *text_problem(int code) {
    switch (code) {
    case TEXT_BAD_UTF8: return "invalid UTF-8";
    case TEXT_EMPTY: return "empty text";
    case TEXT_NOMEM: return "out of memory";
    case TEXT_NUL: return "NUL byte";
    }
    return "ok";
}

int text_fail(PifiErr *err, const char *path, int64_t line, int code, size_t bad) {
    char where[64] = "";
    if (line > 0) snprintf(where, sizeof where, ":%lld", (long long)line);
    PifiErrKind kind = code == TEXT_NOMEM ? PIFI_ERR_RUNTIME : PIFI_ERR_INPUT;
    if (code == TEXT_BAD_UTF8 || code == TEXT_NUL)
        return pifi_errk(err, kind, "%s%s: %s at byte %zu of the %s", path, where, text_problem(code),
                         bad, line > 0 ? "line" : "file");
    return pifi_errk(err, kind, "%s%s: %s", path, where, text_problem(code));
}
