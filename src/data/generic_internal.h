/* generic_internal.h: the TSV/CSV record splitter used by generic.c. */
#ifndef PIFI_GENERIC_INTERNAL_H
#define PIFI_GENERIC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

enum {
    RECORD_UNTERMINATED = -1, /* a quoted field runs to the end of the file */
    RECORD_AFTER_QUOTE = -2,  /* text between a closing quote and the next comma */
    RECORD_NOMEM = -3,
};

typedef struct {
    const char *p, *end;
    int csv;
    int64_t line, next_line; /* line where the current record starts; where the next starts */
    const char *raw;         /* the current record's bytes in the file */
    size_t raw_n;
    char *buf;               /* unescaped fields, each NUL-terminated */
    size_t buf_n, buf_cap;
    size_t *off, *len;       /* [nf] field i is buf[off[i], off[i] + len[i]) */
    int nf, f_cap;
} RecordReader;

void records_init(RecordReader *r, const char *data, size_t size, int csv);
/* 1: a record is ready (empty lines are skipped); 0: end; < 0: RECORD_* error
 * at r->line (fatal: the reader cannot resynchronise). */
int records_next(RecordReader *r);
void records_free(RecordReader *r);

#endif
