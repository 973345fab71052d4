/* serve_buf.h: a growing text buffer for what `pifi serve` writes (response
 * bodies, log lines, the metrics text), with printf and JSON strings. */
#ifndef PIFI_SERVE_BUF_H
#define PIFI_SERVE_BUF_H

#include <stddef.h>

typedef struct {
    char *s;     /* NUL-terminated when len > 0 or after any put */
    size_t len, cap;
    int oom;     /* an allocation failed: the text is incomplete */
} ServeBuf;

void serve_buf_printf(ServeBuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s as a JSON string, quoted; bytes of invalid UTF-8 become U+FFFD. At most
 * max bytes of s (0: all). */
void serve_buf_json(ServeBuf *b, const char *s, size_t max);
void serve_buf_free(ServeBuf *b);

#endif
