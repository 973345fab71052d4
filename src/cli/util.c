/* util.c: error printing, option and number parsing and JSON output for the
 * commands. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int cli_fail(const PifiErr *err) {
    fprintf(stderr, "pifi: %s\n", err->msg);
    return err->kind == PIFI_ERR_RUNTIME ? 1 : 2;
}

int cli_fail_api(const pifi_error *err) {
    fprintf(stderr, "pifi: %s\n", err->message);
    return err->code == PIFI_E_RUNTIME ? 1 : 2;
}

pifi_precision cli_api_precision(PifiPrecision p) {
    return p == PIFI_PREC_BF16 ? PIFI_PRECISION_BF16 : PIFI_PRECISION_FP32;
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

/* Refuse the long option argv[i] (an abbreviation, or a prefix of several
 * names) when its name begins some of longopts' names: the usage error naming
 * them, exit 2. Returns when no name begins with it. */
static void refuse_prefix(char **argv, int i, const struct option *longopts, const char *cmd) {
    const char *name = argv[i] + 2;
    size_t len = strcspn(name, "=");
    char cands[512] = "";
    int n = 0, shown = 0;
    for (const struct option *o = longopts; o->name; o++)
        if (len > 0 && strncmp(o->name, name, len) == 0) n++;
    if (n == 0) return;
    for (const struct option *o = longopts; o->name; o++) {
        if (len == 0 || strncmp(o->name, name, len) != 0) continue;
        size_t used = strlen(cands);
        const char *sep = shown == 0 ? "" : shown == n - 1 ? " or " : ", ";
        if (shown == 6) {
            snprintf(cands + used, sizeof cands - used, ", ...");
            break;
        }
        snprintf(cands + used, sizeof cands - used, "%s--%s", sep, o->name);
        shown++;
    }
    cli_usage_error(cmd, "unknown option '--%.*s' (did you mean %s?)", (int)(len < 100 ? len : 100), name, cands);
    exit(2);
}

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts, const char *cmd) {
    int c = getopt_long(argc, argv, shortopts, longopts, NULL);
    if (c == -1) return c;
    /* the element the option was in: before its separate argument, if it took one */
    int i = c != '?' && c != ':' && optarg && optind >= 2 && argv[optind - 1] == optarg ? optind - 2 : optind - 1;
    if (i < 1 || i >= argc || strncmp(argv[i], "--", 2) != 0 || argv[i][2] == 0) return c; /* a short option */
    const char *name = argv[i] + 2;
    size_t len = strcspn(name, "=");
    for (const struct option *o = longopts; o->name; o++)
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0) return c; /* spelt in full */
    refuse_prefix(argv, i, longopts, cmd);
    return c;
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
