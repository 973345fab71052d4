/* compute_args.h: the resource flags every command that computes shares,
 * beside --precision and --threads (cli.h): --max-memory SIZE. */
#ifndef PIFI_COMPUTE_ARGS_H
#define PIFI_COMPUTE_ARGS_H

#include "pifi/compute.h"

/* The help line of --max-memory, for the commands' HELP texts. */
#define CLI_MAX_MEMORY_HELP                                                                                   \
    "  --max-memory SIZE     memory budget of the run (2G, 512M): refuse at once when the\n"                  \
    "                        estimate is over it, and fail an allocation past it (RLIMIT_DATA)\n"

/* One stderr line, once per process, when p is bf16 and this CPU has no
 * native bf16 (the products are emulated: pifi/compute.h). */
void cli_note_precision(PifiPrecision p);

/* --max-memory SIZE: sets the budget and the hard limit (pifi/memlimit.h)
 * at once; -1 after printing a usage error. */
int cli_parse_max_memory(const char *cmd, const char *s);

#endif
