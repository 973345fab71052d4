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
    "the probability of every class. An input with no tokens (empty or blank) is\n"
    "classified from the special tokens alone: a warning on stderr and a \"warning\"\n"
    "field in its JSON object say so.\n"
    "\n"
    "options:\n"
    "  --pair       inputs are pairs: TEXT arguments two by two, stdin lines split at a tab\n"
    "  --input F    read the texts from F, one per line, instead of stdin\n"
    "  --batch N    inputs per forward pass (default 32)\n"
    "  --precision P  fp32 | bf16 | auto (default: bf16 where the CPU has it natively)\n"
    "  --threads N  size of the thread pool (default: OMP_NUM_THREADS or all cores)\n"
    "  --max-memory SIZE  memory budget (2G, 512M): refuse when the estimate is over it\n"
    "  -h, --help   this text\n";

/* "" or what is empty in an input (no tokens besides the special ones), as
 * warned on stderr and in its JSON line. */
static const char *empty_what(const PifiTokenizer *tk, const char *text, const char *pair, PifiEncoding *enc,
                              PifiErr *err) {
    PifiEncodeOpts eo = pifi_encode_opts_default();
    if (tokenizer_encode(tk, text, pair, &eo, enc, err)) return NULL;
    int n[2] = {0, 0};
    for (int j = 0; j < enc->n; j++)
        if (enc->seq[j] == 0 || enc->seq[j] == 1) n[enc->seq[j]]++;
    if (!pair) return n[0] ? "" : "empty text: classified from the special tokens alone";
    if (!n[0] && !n[1]) return "empty text and text_pair: classified from the special tokens alone";
    if (!n[0]) return "empty text: classified from the text_pair alone";
    return n[1] ? "" : "empty text_pair: classified from the text alone";
}

/* Classify text[0..n) (and pair[0..n)); input i is called "<src> <num[i]>"
 * in warnings. */
static int predict_batch(RunModel *rm, char **text, char **pair, int n, const char *src, const int *num,
                         PifiErr *err) {
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
    PifiEncoding enc = {0};
    for (int i = 0; rc == 0 && i < n; i++) {
        const char *empty = empty_what(rm->tk, text[i], pair ? pair[i] : NULL, &enc, err);
        if (!empty) {
            rc = -1;
            break;
        }
        if (*empty) fprintf(stderr, "pifi: predict: %s %d: %s\n", src, num[i], empty);
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
        printf("}");
        if (*empty) {
            printf(",\"warning\":");
            cli_json_string(stdout, empty);
        }
        printf("}\n");
    }
    fflush(stdout);
    encoding_free(&enc);
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
    while ((c = cli_getopt(argc, argv, ":h", LONG, "predict")) != -1) {
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
    int *num = calloc((size_t)batch, sizeof *num); /* each input's number (argument or line) for warnings */
    if (!text || !num || (pair && !pairs)) {
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
            num[k] = (i - optind) / (pair ? 2 : 1) + 1;
            if (++k == batch || i + (pair ? 2 : 1) >= argc) {
                if (predict_batch(&rm, text, pairs, k, pair ? "pair" : "text", num, &err)) status = cli_fail(&err);
                k = 0;
            }
        }
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        int k = 0, lineno = 0;
        char where[4200];
        snprintf(where, sizeof where, "%.4096s line", input ? input : "stdin");
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
            num[k] = lineno;
            if (++k == batch) {
                if (predict_batch(&rm, text, pairs, k, where, num, &err)) status = cli_fail(&err);
                for (int i = 0; i < k; i++) free(text[i]);
                k = 0;
            }
        }
        if (!status && k > 0 && predict_batch(&rm, text, pairs, k, where, num, &err)) status = cli_fail(&err);
        for (int i = 0; i < k; i++) free(text[i]);
        free(line);
    }
out:
    if (in != stdin) fclose(in);
    free(text);
    free(pairs);
    free(num);
    runio_free_run(&rm);
    return status;
}
