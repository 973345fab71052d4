/* compute_args.c: --precision, --threads and --max-memory, the same in every
 * command. */
#include "cli/compute_args.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "pifi/memlimit.h"

void cli_note_precision(PifiPrecision p) {
    static int said;
    if (p != PIFI_PREC_BF16 || pifi_cpu_has_bf16() || said) return;
    said = 1;
    fprintf(stderr, "pifi: note: this CPU has no native bf16 (oneDNN ISA %s): bf16 products are emulated, the same "
                    "numbers to rounding but slower than fp32 (--precision fp32 or auto is faster here)\n",
            pifi_cpu_isa_name());
}

int cli_parse_precision(const char *cmd, const char *s, PifiPrecision *out) {
    if (pifi_precision_parse(s, out) == 0) {
        cli_note_precision(*out);
        return 0;
    }
    cli_usage_error(cmd, "--precision must be fp32, bf16 or auto, not '%s'", s);
    return -1;
}

int cli_parse_threads(const char *cmd, const char *s) {
    int n;
    if (cli_parse_int(cmd, "--threads", s, 1, 4096, &n)) return -1;
    pifi_set_threads(n);
    return 0;
}

int cli_parse_max_memory(const char *cmd, const char *s) {
    uint64_t bytes;
    if (pifi_parse_size(s, &bytes)) {
        cli_usage_error(cmd, "--max-memory expects a size of at least 1M such as 2G or 512M, not '%s'", s);
        return -1;
    }
    PifiErr err = {0};
    if (pifi_memlimit_set(bytes, s, &err)) {
        cli_fail(&err);
        return -1;
    }
    return 0;
}
