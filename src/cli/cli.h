/* cli.h: the pifi command line: one function per command, shared helpers. */
#ifndef PIFI_CLI_H
#define PIFI_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "pifi.h"
#include "pifi/compute.h"
#include "pifi/err.h"
#include "exp/runner.h"
#include "pifi/pifi_model.h"

/* Each command: argv[0] is the command name. Returns the exit status. */
int cmd_info(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_extract(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_experiment(int argc, char **argv);
int cmd_select_layer(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_serve(int argc, char **argv); /* src/serve/serve.c */

/* Print "pifi: <msg>" and return the exit status for err's kind. */
int cli_fail(const PifiErr *err);
/* The same for an error of the public API (include/pifi.h). */
int cli_fail_api(const pifi_error *err);
/* A precision the command line parsed, as the public API's. */
pifi_precision cli_api_precision(PifiPrecision p);
/* Print "pifi: <cmd>: <msg>\n(usage hint)" and return 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* getopt_long without its prefix matching: a long option must be spelt in
 * full. An abbreviation ("--epoch" for --epochs) or an ambiguous or unknown
 * option that begins some of longopts' names is refused here: "pifi: CMD:
 * unknown option '--epoch' (did you mean --epochs?)" and exit 2 (options are
 * parsed before a command holds anything). Otherwise as getopt_long, whose
 * '?' and ':' the caller reports. */
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts, const char *cmd);

/* Parse a whole decimal int in [lo, hi]; -1 on failure (message printed). */
int cli_parse_int(const char *cmd, const char *flag, const char *s, int lo, int hi, int *out);

/* --precision fp32|bf16|auto and --threads N (which sizes the thread pool
 * at once); -1 after printing a usage error. */
int cli_parse_precision(const char *cmd, const char *s, PifiPrecision *out);
int cli_parse_threads(const char *cmd, const char *s);

/* How an experiment's cells run in processes of their own (cells.c). */
const ExpProcess *cli_cell_processes(void);

/* JSON string escaping to a stream. */
void cli_json_string(FILE *f, const char *s);

#endif
