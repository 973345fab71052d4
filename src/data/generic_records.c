/* generic_records.c: splitting a TSV or CSV file into records of fields.
 * TSV: one record per line, fields split on tabs, no quoting (as GLUE).
 * CSV: RFC 4180: fields split on commas; a field that starts with a double
 * quote runs to the matching closing quote, "" inside stands for one quote,
 * and commas and newlines inside are data. CRLF or LF line ends. */
#include <stdlib.h>
#include <string.h>

#include "data/generic_internal.h"

void records_init(RecordReader *r, const char *data, size_t size, int csv) {
    memset(r, 0, sizeof *r);
    r->p = data;
    r->end = size ? data + size : data; /* an empty file maps to NULL: no NULL + 0 */
    r->csv = csv;
    r->next_line = 1;
    if (size >= 3 && (unsigned char)data[0] == 0xEF && (unsigned char)data[1] == 0xBB &&
        (unsigned char)data[2] == 0xBF)
        r->p += 3;
}

void records_free(RecordReader *r) {
    free(r->buf);
    free(r->off);
    free(r->len);
    r->buf = NULL;
    r->off = r->len = NULL;
}

static int put_byte(RecordReader *r, char c) {
    if (r->buf_n == r->buf_cap) {
        size_t cap = r->buf_cap ? 2 * r->buf_cap : 4096;
        char *nb = realloc(r->buf, cap);
        if (!nb) return -1;
        r->buf = nb;
        r->buf_cap = cap;
    }
    r->buf[r->buf_n++] = c;
    return 0;
}

/* Close the current field: it is buf[start, buf_n). */
static int end_field(RecordReader *r, size_t start) {
    if (r->nf == r->f_cap) {
        int cap = r->f_cap ? 2 * r->f_cap : 16;
        size_t *no = realloc(r->off, (size_t)cap * sizeof *no);
        if (!no) return -1;
        r->off = no;
        size_t *nl = realloc(r->len, (size_t)cap * sizeof *nl);
        if (!nl) return -1;
        r->len = nl;
        r->f_cap = cap;
    }
    r->off[r->nf] = start;
    r->len[r->nf] = r->buf_n - start;
    r->nf++;
    return put_byte(r, 0); /* each field NUL-terminated in buf */
}

int records_next(RecordReader *r) {
    for (;;) {
        if (r->p >= r->end) return 0;
        r->nf = 0;
        r->buf_n = 0;
        r->line = r->next_line;
        r->raw = r->p;
        const char *p = r->p;
        /* an empty line (LF or CRLF) is no record */
        if (*p == '\n' || (*p == '\r' && p + 1 < r->end && p[1] == '\n')) {
            r->p = p + (*p == '\r' ? 2 : 1);
            r->next_line++;
            continue;
        }
        size_t start = 0;
        int quoted = 0, after_quote = 0;
        if (r->csv && p < r->end && *p == '"') quoted = 1, p++;
        for (;;) {
            if (quoted) {
                if (p >= r->end) return RECORD_UNTERMINATED;
                char c = *p++;
                if (c == '"') {
                    if (p < r->end && *p == '"') {
                        if (put_byte(r, '"') != 0) return RECORD_NOMEM;
                        p++;
                    } else {
                        quoted = 0;
                        after_quote = 1;
                    }
                    continue;
                }
                if (c == '\n') r->next_line++;
                if (put_byte(r, c) != 0) return RECORD_NOMEM;
                continue;
            }
            int eol = p >= r->end || *p == '\n' || (*p == '\r' && (p + 1 >= r->end || p[1] == '\n'));
            char sep = r->csv ? ',' : '\t';
            if (eol || *p == sep) {
                if (end_field(r, start) != 0) return RECORD_NOMEM;
                start = r->buf_n;
                after_quote = 0;
                if (eol) {
                    r->raw_n = (size_t)(p - r->raw);
                    if (p < r->end) p += *p == '\r' ? 2 : 1;
                    if (p > r->end) p = r->end;
                    r->p = p;
                    r->next_line++;
                    return 1;
                }
                p++;
                if (r->csv && p < r->end && *p == '"') quoted = 1, p++;
                continue;
            }
            if (after_quote) return RECORD_AFTER_QUOTE;
            if (put_byte(r, *p++) != 0) return RECORD_NOMEM;
        }
    }
}
