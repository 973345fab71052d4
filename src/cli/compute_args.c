/* compute_args.c: --precision and --threads, the same in every command. */
#include <string.h>

#include "cli/cli.h"

int cli_parse_precision(const char *cmd, const char *s, PifiPrecision *out) {
    if (pifi_precision_parse(s, out) == 0) return 0;
    cli_usage_error(cmd, "--precision must be fp32, bf16 or auto, not '%s'", s);
    return -1;
}

int cli_parse_threads(const char *cmd, const char *s) {
    int n;
    if (cli_parse_int(cmd, "--threads", s, 1, 4096, &n)) return -1;
    pifi_set_threads(n);
    return 0;
}
