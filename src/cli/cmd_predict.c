/* cmd_predict.c: `pifi predict RUN_DIR [TEXT...]`: the label and class
 * probabilities of each text (arguments, or lines of stdin), as JSON lines. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/compute_args.h"
#include "train/memest.h"
#include "train/runio.h"

static const char *HELP =
    "usage: pifi predict RUN_DIR [--pair] [--input FILE | TEXT...]\n"
    "\n"
    "Classify each TEXT (or each line of standard input when none is given) with\n"
    "a trained run; one JSON object per input on stdout: text, label, label_id and\n"
    "the probability of every class.\n"
    "\n"
    "options:\n"
    "  --pair       inputs are pairs: TEXT arguments two by two, stdin lines split at a tab\n"
    "  --input F    read the texts from F, one per line, instead of stdin\n"
    "  --batch N    inputs per forward pass (default 32)\n"
    "  --precision P  fp32 | bf16 | auto (default: bf16 where the CPU has it natively)\n"
    "  --threads N  size of the thread pool (default: OMP_NUM_THREADS or all cores)\n"
    "  --max-memory SIZE  memory budget (2G, 512M): refuse when the estimate is over it\n"
    "  -h, --help   this text\n";

static int predict_batch(RunModel *rm, char **text, char **pair, int n, PifiErr *err) {
    PifiDataset ds = {0};
    ds.n = n;
    ds.text = text;
    ds.text_pair = pair;
    TokData td;
    if (tokdata_build(&td, rm->tk, &ds, rm->opts.max_len, err)) return -1;
    float *probs = malloc((size_t)n * rm->K * sizeof *probs);
    PifiConfusion cm;
    int rc = probs ? confusion_init(&cm, rm->K, err) : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    if (rc == 0) {
        rc = trainer_evaluate(&rm->model, &td, n, &cm, probs, NULL, 0.0f, err);
        confusion_free(&cm);
    }
    for (int i = 0; rc == 0 && i < n; i++) {
        const float *p = probs + (size_t)i * rm->K;
        int best = 0;
        for (int k = 1; k < rm->K; k++)
            if (p[k] > p[best]) best = k;
        printf("{\"text\":");
        cli_json_string(stdout, text[i]);
        if (pair) {
            printf(",\"text_pair\":");
            cli_json_string(stdout, pair[i]);
        }
        printf(",\"label\":");
        cli_json_string(stdout, rm->label_names[best]);
        printf(",\"label_id\":%d,\"probs\":{", best);
        for (int k = 0; k < rm->K; k++) {
            printf("%s", k ? "," : "");
            cli_json_string(stdout, rm->label_names[k]);
            printf(":%.6f", p[k]);
        }
        printf("}}\n");
    }
    fflush(stdout);
    free(probs);
    tokdata_free(&td);
    return rc;
}

int cmd_predict(int argc, char **argv) {
    static const struct option LONG[] = {
        {"pair", 0, 0, 'p'}, {"batch", 1, 0, 'b'}, {"input", 1, 0, 'i'}, {"precision", 1, 0, 'P'},
        {"threads", 1, 0, 'T'}, {"max-memory", 1, 0, 'M'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    PifiPrecision prec = pifi_precision_default();
    int pair = 0, batch = 32, c;
    const char *input = NULL;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", LONG, NULL)) != -1) {
        switch (c) {
        case 'p': pair = 1; break;
        case 'i': input = optarg; break;
        case 'b': if (cli_parse_int("predict", "--batch", optarg, 1, 1 << 16, &batch)) return 2; break;
        case 'P': if (cli_parse_precision("predict", optarg, &prec)) return 2; break;
        case 'T': if (cli_parse_threads("predict", optarg)) return 2; break;
        case 'M': if (cli_parse_max_memory("predict", optarg)) return 2; break;
        case 'h': fputs(HELP, stdout); return 0;
        case ':': return cli_usage_error("predict", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("predict", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) return cli_usage_error("predict", "expects RUN_DIR");
    const char *run = argv[optind++];
    if (input && optind < argc) return cli_usage_error("predict", "give --input FILE or TEXT arguments, not both");
    FILE *in = stdin;
    if (input && !(in = fopen(input, "r"))) {
        fprintf(stderr, "pifi: %s: cannot open\n", input);
        return 2;
    }
    PifiErr err = {0};
    RunModel rm;
    MemEstimate est;
    if (pifi_memlimit_get() && (memest_run_infer(run, batch, &est, &err) || memlimit_check(&est, &err))) {
        if (in != stdin) fclose(in);
        return cli_fail(&err);
    }
    if (runio_load_run(&rm, run, &err) || pifi_model_set_precision(&rm.model, prec, 1, &err)) {
        if (rm.cfg) runio_free_run(&rm);
        if (in != stdin) fclose(in);
        return cli_fail(&err);
    }
    pifi_model_set_packing(&rm.model, 1);
    int status = 0;
    char **text = calloc((size_t)batch, sizeof *text), **pairs = pair ? calloc((size_t)batch, sizeof *pairs) : NULL;
    if (!text || (pair && !pairs)) {
        fprintf(stderr, "pifi: predict: out of memory\n");
        status = 1;
        goto out;
    }
    if (optind < argc) {
        int n = argc - optind;
        if (pair && n % 2) {
            status = cli_usage_error("predict", "--pair needs an even number of texts, got %d", n);
            goto out;
        }
        int k = 0;
        for (int i = optind; i < argc && !status; i += pair ? 2 : 1) {
            text[k] = argv[i];
            if (pair) pairs[k] = argv[i + 1];
            if (++k == batch || i + (pair ? 2 : 1) >= argc) {
                if (predict_batch(&rm, text, pairs, k, &err)) status = cli_fail(&err);
                k = 0;
            }
        }
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        int k = 0, lineno = 0;
        while (!status && (len = getline(&line, &cap, in)) >= 0) {
            lineno++;
            while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
            char *t = strdup(line), *second = NULL;
            if (pair && t) {
                char *tab = strchr(t, '\t');
                if (!tab) {
                    fprintf(stderr, "pifi: %s:%d: --pair expects two tab-separated texts\n", input ? input : "stdin",
                            lineno);
                    free(t);
                    status = 2;
                    break;
                }
                *tab = 0;
                second = tab + 1;
            }
            text[k] = t;
            if (pair) pairs[k] = second;
            if (++k == batch) {
                if (predict_batch(&rm, text, pairs, k, &err)) status = cli_fail(&err);
                for (int i = 0; i < k; i++) free(text[i]);
                k = 0;
            }
        }
        if (!status && k > 0 && predict_batch(&rm, text, pairs, k, &err)) status = cli_fail(&err);
        for (int i = 0; i < k; i++) free(text[i]);
        free(line);
    }
out:
    if (in != stdin) fclose(in);
    free(text);
    free(pairs);
    runio_free_run(&rm);
    return status;
}
