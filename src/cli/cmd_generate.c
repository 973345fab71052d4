/* cmd_generate.c: `pifi generate RUN_DIR [TEXT...]`: a trained generation
 * run's decoding of each text (arguments, or lines of a file or stdin). A
 * client of the public API alone (include/pifi.h). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "pifi.h"

static const char *HELP =
    "usage: pifi generate RUN_DIR [options] [--input FILE | TEXT...]\n"
    "\n"
    "Decode each TEXT (or each line of FILE, or of standard input when neither is\n"
    "given) with a run `pifi train` wrote on a generation task (--task multi30k,\n"
    "cnn_dailymail, seq2seq): the run's source prefix is put before it, and the\n"
    "output is printed one line each (--json: one JSON object each: source,\n"
    "output). The search is the run's (its config.json) unless changed here:\n"
    "\n"
    "options:\n"
    "  --num-beams N            beams (1: greedy)\n"
    "  --length-penalty X       a finished beam's score is its log-prob sum / length^X\n"
    "  --early-stopping M       false | true | never (generate()'s)\n"
    "  --no-repeat-ngram-size N never repeat an n-gram of N tokens (0: off)\n"
    "  --min-new-tokens N       tokens before the end token is allowed\n"
    "  --max-new-tokens N       tokens decoded at most\n"
    "  --input F    read the texts from F, one per line\n"
    "  --json       JSON lines instead of plain lines\n"
    "  --batch N    texts per batch (default 32)\n"
    "  --precision P  fp32 | bf16 | auto (default: bf16 where the CPU has it natively)\n"
    "  --threads N  size of the thread pool (default: OMP_NUM_THREADS or all cores)\n"
    "  -h, --help   this text\n";

static int int_arg(const char *name, const char *s, int lo, int hi, int *v) {
    return cli_parse_int("generate", name, s, lo, hi, v);
}

/* Decode and print texts[0..n). */
static int emit(pifi_generator *g, char **texts, int n, const pifi_generate_params *p, int json, pifi_error *err) {
    char **out = calloc((size_t)n + 1, sizeof *out);
    if (!out) return fprintf(stderr, "pifi generate: out of memory\n"), -1;
    int rc = pifi_generate(g, n, (const char *const *)texts, p, out, err);
    for (int i = 0; rc == 0 && i < n; i++) {
        if (json) {
            printf("{\"source\":");
            cli_json_string(stdout, texts[i]);
            printf(",\"output\":");
            cli_json_string(stdout, out[i]);
            printf("}\n");
        } else {
            printf("%s\n", out[i]);
        }
    }
    for (int i = 0; rc == 0 && i < n; i++) pifi_text_free(out[i]);
    free(out);
    fflush(stdout);
    return rc;
}

int cmd_generate(int argc, char **argv) {
    enum { O_BEAMS = 256, O_LP, O_ES, O_NRN, O_MIN, O_MAX, O_INPUT, O_JSON, O_BATCH, O_PRECISION, O_THREADS };
    static const struct option LONG[] = {
        {"num-beams", 1, 0, O_BEAMS}, {"length-penalty", 1, 0, O_LP}, {"early-stopping", 1, 0, O_ES},
        {"no-repeat-ngram-size", 1, 0, O_NRN}, {"min-new-tokens", 1, 0, O_MIN}, {"max-new-tokens", 1, 0, O_MAX},
        {"input", 1, 0, O_INPUT}, {"json", 0, 0, O_JSON}, {"batch", 1, 0, O_BATCH},
        {"precision", 1, 0, O_PRECISION}, {"threads", 1, 0, O_THREADS}, {"help", 0, 0, 'h'}, {0, 0, 0, 0},
    };
    const char *input = NULL, *beams = NULL, *lp = NULL, *es = NULL, *nrn = NULL, *mn = NULL, *mx = NULL;
    int json = 0, batch = 32, c;
    PifiPrecision prec = pifi_precision_default();
    while ((c = cli_getopt(argc, argv, "h", LONG, "generate")) != -1) {
        switch (c) {
        case 'h': fputs(HELP, stdout); return 0;
        case O_BEAMS: beams = optarg; break;
        case O_LP: lp = optarg; break;
        case O_ES: es = optarg; break;
        case O_NRN: nrn = optarg; break;
        case O_MIN: mn = optarg; break;
        case O_MAX: mx = optarg; break;
        case O_INPUT: input = optarg; break;
        case O_JSON: json = 1; break;
        case O_BATCH:
            if (int_arg("batch", optarg, 1, 65536, &batch)) return 2;
            break;
        case O_THREADS:
            if (cli_parse_threads("generate", optarg)) return 2;
            break;
        case O_PRECISION:
            if (cli_parse_precision("generate", optarg, &prec)) return 2;
            break;
        default: return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "pifi generate: no run directory\n%s", HELP);
        return 2;
    }
    const char *run_dir = argv[optind++];
    if (input && optind < argc) {
        fprintf(stderr, "pifi generate: give texts either as arguments or with --input, not both\n");
        return 2;
    }
    pifi_run_params rp = pifi_run_default_params();
    rp.precision = cli_api_precision(prec), rp.batch = batch;
    pifi_generator *g;
    pifi_error err;
    if (pifi_generator_open(run_dir, &rp, &g, &err)) return cli_fail_api(&err);
    pifi_generate_params p = pifi_generator_params(g);
    int bad = (beams && int_arg("num-beams", beams, 1, 64, &p.num_beams)) ||
              (nrn && int_arg("no-repeat-ngram-size", nrn, 0, 64, &p.no_repeat_ngram_size)) ||
              (mn && int_arg("min-new-tokens", mn, 0, 65536, &p.min_new_tokens)) ||
              (mx && int_arg("max-new-tokens", mx, 1, 65536, &p.max_new_tokens));
    if (!bad && lp) {
        char *end;
        p.length_penalty = strtof(lp, &end);
        if (!*lp || *end || p.length_penalty < -100 || p.length_penalty > 100)
            bad = fprintf(stderr, "pifi generate: --length-penalty expects a number in [-100, 100], got '%s'\n", lp);
    }
    if (!bad && es) {
        static const char *const ES[] = {"false", "true", "never"};
        p.early_stopping = -1;
        for (int i = 0; i < 3; i++)
            if (!strcmp(es, ES[i])) p.early_stopping = i;
        if (p.early_stopping < 0)
            bad = fprintf(stderr, "pifi generate: --early-stopping expects false, true or never, got '%s'\n", es);
    }
    if (bad) {
        pifi_generator_close(g);
        return 2;
    }
    int rc = 0;
    if (optind < argc) {
        rc = emit(g, argv + optind, argc - optind, &p, json, &err);
    } else {
        FILE *f = input ? fopen(input, "r") : stdin;
        if (!f) {
            fprintf(stderr, "pifi generate: cannot open %s\n", input);
            pifi_generator_close(g);
            return 1;
        }
        char *line = NULL, *texts[64];
        size_t cap = 0;
        int n = 0;
        ssize_t len;
        while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
            while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
            if (!(texts[n] = strdup(line))) rc = -1;
            else if (++n == 64) { /* lines are decoded as they come, 64 at a time */
                rc = emit(g, texts, n, &p, json, &err);
                while (n) free(texts[--n]);
            }
        }
        if (rc == 0 && n) rc = emit(g, texts, n, &p, json, &err);
        while (n) free(texts[--n]);
        free(line);
        if (input) fclose(f);
    }
    pifi_generator_close(g);
    return rc ? cli_fail_api(&err) : 0;
}
