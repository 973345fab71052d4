/* util.c: error printing, number parsing and JSON output for the commands. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>

#include "cli/cli.h"

int cli_fail(const PifiErr *err) {
    fprintf(stderr, "pifi: %s\n", err->msg);
    return err->kind == PIFI_ERR_RUNTIME ? 1 : 2;
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "pifi: %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nhint: 'pifi %s --help' shows the options\n", cmd);
    va_end(ap);
    return 2;
}

int cli_parse_int(const char *cmd, const char *flag, const char *s, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        cli_usage_error(cmd, "%s expects an integer in %d..%d, got '%s'", flag, lo, hi, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

void cli_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20) fprintf(f, "\\u%04x", *p);
            else fputc(*p, f);
        }
    }
    fputc('"', f);
}
