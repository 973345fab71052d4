/* serve_options.c: `pifi serve`'s options as one table: each row is a flag,
 * where its value goes, its range, default and help line; the getopt table
 * and --help are built from the rows. */
#include "cli/serve/serve_options.h"

#include <getopt.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/compute_args.h"

typedef enum { OPT_INT, OPT_STR, OPT_FLAG, OPT_PRECISION, OPT_THREADS, OPT_MAX_MEMORY, OPT_HELP } OptKind;

typedef struct {
    const char *name, *metavar;
    OptKind kind;
    size_t off;   /* of the field in ServeOptions (OPT_INT, OPT_STR, OPT_FLAG) */
    int lo, hi;   /* OPT_INT's range */
    const char *help;
} OptRow;

#define F(field) offsetof(ServeOptions, field)
static const OptRow ROWS[] = {
    {"host", "ADDR", OPT_STR, F(host), 0, 0, "address to listen on (default 127.0.0.1; 0.0.0.0 or :: for all)"},
    {"port", "N", OPT_INT, F(port), 0, 65535, "port (default 8080; 0: a free one, printed on stdout)"},
    {"max-batch-tokens", "N", OPT_INT, F(max_batch_tokens), 1, 1 << 24,
     "tokens per forward pass, summed over its inputs (default 16384)"},
    {"max-batch-size", "N", OPT_INT, F(max_batch_size), 1, 4096, "inputs per forward pass (default 32)"},
    {"max-wait-ms", "MS", OPT_INT, F(max_wait_ms), 0, 10000,
     "how long a batch that is not full waits for more requests (default 2)"},
    {"max-queue", "N", OPT_INT, F(max_queue), 1, 1 << 20,
     "requests waiting for the model; when full: 503 + Retry-After (default 512)"},
    {"max-body-bytes", "N", OPT_INT, F(max_body_bytes), 16, 1 << 30, "largest request body; larger: 413 (default 2000000)"},
    {"max-input-length", "N", OPT_INT, F(max_input_length), 1, 1 << 30,
     "bytes of one text; longer: 413 (default 100000)"},
    {"max-client-batch-size", "N", OPT_INT, F(max_client_batch_size), 1, 1 << 20,
     "inputs of one request; more: 413 (default 64)"},
    {"max-connections", "N", OPT_INT, F(max_connections), 1, 100000, "open connections at once (default 256)"},
    {"timeout", "S", OPT_INT, F(timeout_s), 1, 3600,
     "close a connection idle or trickling for S seconds (default 30)"},
    {"auto-truncate", NULL, OPT_FLAG, F(auto_truncate), 0, 0,
     "truncate inputs over the run's max length even when a request says \"truncate\": false"},
    {"api-key-file", "F", OPT_STR, F(api_key_file), 0, 0,
     "require `Authorization: Bearer KEY`, KEY the first line of F (401 otherwise)"},
    {"precision", "P", OPT_PRECISION, 0, 0, 0, "fp32 | bf16 | auto (default: bf16 where the CPU has it natively)"},
    {"threads", "N", OPT_THREADS, 0, 0, 0, "threads of the model's computation (default: OMP_NUM_THREADS or all cores)"},
    {"max-memory", "SIZE", OPT_MAX_MEMORY, 0, 0, 0, "memory budget (2G, 512M): refuse when the estimate is over it"},
    {"help", NULL, OPT_HELP, 0, 0, 0, "this text"},
};
#define NROWS (int)(sizeof ROWS / sizeof ROWS[0])

static const char *HEAD =
    "usage: pifi serve RUN_DIR [options]\n"
    "\n"
    "Serve a trained run over HTTP, with the request and response shapes of Hugging\n"
    "Face text-embeddings-inference (docs/serving.md):\n"
    "  POST /predict  {\"inputs\": TEXT | [TEXT, PAIR] | [[TEXT], [TEXT, PAIR], ...],\n"
    "                  \"raw_scores\": false, \"truncate\": false}  -> [{\"score\", \"label\"}, ...]\n"
    "  POST /embed    {\"inputs\": TEXT | [TEXT, ...], \"normalize\": true, \"truncate\": false}\n"
    "                 -> the fine-tuned SLM's pooled vector of each input\n"
    "  GET /health, GET /info, GET /metrics (Prometheus)\n"
    "Concurrent requests are batched into one forward pass by one compute thread.\n"
    "Logs: one JSON line per request on stderr. SIGTERM or SIGINT: requests in\n"
    "flight finish, new ones get 503, then exit 0.\n"
    "\n"
    "options:\n";

static void print_help(void) {
    fputs(HEAD, stdout);
    for (int i = 0; i < NROWS; i++) {
        char flag[64];
        snprintf(flag, sizeof flag, "--%s%s%s", ROWS[i].name, ROWS[i].metavar ? " " : "",
                 ROWS[i].metavar ? ROWS[i].metavar : "");
        printf("  %-26s %s\n", flag, ROWS[i].help);
    }
}

static void defaults(ServeOptions *o) {
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 8080;
    o->max_batch_tokens = 16384;
    o->max_batch_size = 32;
    o->max_wait_ms = 2;
    o->max_queue = 512;
    o->max_body_bytes = 2000000;
    o->max_input_length = 100000;
    o->max_client_batch_size = 64;
    o->max_connections = 256;
    o->timeout_s = 30;
    o->precision = pifi_precision_default();
}

int serve_options_parse(ServeOptions *o, int argc, char **argv) {
    defaults(o);
    struct option longopts[NROWS + 1];
    for (int i = 0; i < NROWS; i++)
        longopts[i] = (struct option){ROWS[i].name, ROWS[i].metavar ? 1 : 0, 0, 256 + i};
    longopts[NROWS] = (struct option){0, 0, 0, 0};
    opterr = 0;
    optind = 1;
    int c;
    while ((c = cli_getopt(argc, argv, ":h", longopts, "serve")) != -1) {
        if (c == 'h') c = 256 + NROWS - 1;
        if (c == ':') return cli_usage_error("serve", "option '%s' needs a value", argv[optind - 1]);
        if (c < 256 || c >= 256 + NROWS) return cli_usage_error("serve", "unknown option '%s'", argv[optind - 1]);
        const OptRow *r = &ROWS[c - 256];
        char *field = (char *)o + r->off;
        char flag[64];
        snprintf(flag, sizeof flag, "--%s", r->name);
        switch (r->kind) {
        case OPT_INT: if (cli_parse_int("serve", flag, optarg, r->lo, r->hi, (int *)(void *)field)) return 2; break;
        case OPT_STR: *(const char **)(void *)field = optarg; break;
        case OPT_FLAG: *(int *)(void *)field = 1; break;
        case OPT_PRECISION: if (cli_parse_precision("serve", optarg, &o->precision)) return 2; break;
        case OPT_THREADS: if (cli_parse_threads("serve", optarg)) return 2; break;
        case OPT_MAX_MEMORY: if (cli_parse_max_memory("serve", optarg)) return 2; break;
        case OPT_HELP: print_help(); return 0;
        }
    }
    if (optind >= argc) return cli_usage_error("serve", "expects RUN_DIR");
    o->run_dir = argv[optind++];
    if (optind < argc) return cli_usage_error("serve", "unexpected argument '%s' after RUN_DIR", argv[optind]);
    if (!*o->host) return cli_usage_error("serve", "--host must not be empty");
    return -1;
}
