/* serve_buf.c: the text buffer of serve_buf.h. */
#include "cli/serve/serve_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

static int reserve(ServeBuf *b, size_t more) {
    if (b->oom) return -1;
    if (b->len + more + 1 <= b->cap) return 0;
    size_t cap = 2 * b->cap + more + 64;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = 1;
        return -1;
    }
    b->s = s, b->cap = cap;
    return 0;
}

void serve_buf_printf(ServeBuf *b, const char *fmt, ...) {
    if (reserve(b, 64)) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        if (reserve(b, (size_t)n)) return;
    }
}

void serve_buf_json(ServeBuf *b, const char *s, size_t max) {
    size_t n = strlen(s);
    if (max && n > max) n = max;
    if (reserve(b, 6 * n + 2)) return;
    char *o = b->s + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t bad;
        if (c >= 0x80) { /* one whole UTF-8 sequence, or U+FFFD for a bad byte */
            size_t k = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            if (i + k <= n && utf8_valid(s + i, k, &bad)) {
                memcpy(o, s + i, k), o += k, i += k;
            } else {
                memcpy(o, "\xEF\xBF\xBD", 3), o += 3, i++;
            }
            continue;
        }
        i++;
        switch (c) {
        case '"': *o++ = '\\', *o++ = '"'; break;
        case '\\': *o++ = '\\', *o++ = '\\'; break;
        case '\n': *o++ = '\\', *o++ = 'n'; break;
        case '\r': *o++ = '\\', *o++ = 'r'; break;
        case '\t': *o++ = '\\', *o++ = 't'; break;
        default:
            if (c < 0x20 || c == 0x7F) o += sprintf(o, "\\u%04x", c);
            else *o++ = (char)c;
        }
    }
    *o++ = '"';
    *o = 0;
    b->len = (size_t)(o - b->s);
}

void serve_buf_free(ServeBuf *b) {
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}
