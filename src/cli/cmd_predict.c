/* cmd_predict.c: `pifi predict RUN_DIR [TEXT...]`: the label and class
 * probabilities of each text (arguments, or lines of stdin), as JSON lines.
 * A client of the public API alone (include/pifi.h). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/compute_args.h"
#include "pifi.h"

static const char *HELP =
    "usage: pifi predict RUN_DIR [--pair] [--input FILE | TEXT...]\n"
    "       pifi predict RUN_DIR --squad FILE [--official]   (a question answering run)\n"
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
    "  --squad F    a question answering run: answer the questions of F (SQuAD v1.1\n"
    "               JSON or JSON Lines); one JSON object per question: id, question,\n"
    "               answer, score (its start + end logit)\n"
    "  --official   with --squad: one object {id: answer} as the official SQuAD script\n"
    "               reads it (pifi score --metric squad)\n"
    "  --batch N    inputs per forward pass (default 32)\n"
    "  --precision P  fp32 | bf16 | auto (default: bf16 where the CPU has it natively)\n"
    "  --threads N  size of the thread pool (default: OMP_NUM_THREADS or all cores)\n"
    "  --max-memory SIZE  memory budget (2G, 512M): refuse when the estimate is over it\n"
    "  -h, --help   this text\n";

/* Classify text[0..n) (and pair[0..n)) and print one JSON line each; input
 * i is called "<src> <num[i]>" in warnings. */
static int predict_batch(pifi_run *run, char **text, char **pair, int n, const char *src, const int *num,
                         float *probs, int *labels, const char **notes, pifi_error *err) {
    if (pifi_predict(run, n, (const char *const *)text, (const char *const *)pair, probs, labels, notes, err))
        return -1;
    const int K = pifi_run_num_classes(run);
    for (int i = 0; i < n; i++) {
        if (*notes[i]) fprintf(stderr, "pifi: predict: %s %d: %s\n", src, num[i], notes[i]);
        const float *p = probs + (size_t)i * K;
        printf("{\"text\":");
        cli_json_string(stdout, text[i]);
        if (pair) {
            printf(",\"text_pair\":");
            cli_json_string(stdout, pair[i]);
        }
        printf(",\"label\":");
        cli_json_string(stdout, pifi_run_label(run, labels[i]));
        printf(",\"label_id\":%d,\"probs\":{", labels[i]);
        for (int k = 0; k < K; k++) {
            printf("%s", k ? "," : "");
            cli_json_string(stdout, pifi_run_label(run, k));
            printf(":%.6f", p[k]);
        }
        printf("}");
        if (*notes[i]) {
            printf(",\"warning\":");
            cli_json_string(stdout, notes[i]);
        }
        printf("}\n");
    }
    fflush(stdout);
    return 0;
}

/* --squad FILE: the run's answers, as JSON lines or the official {id: answer}. */
static int predict_squad(pifi_run *run, const char *path, int official, int batch) {
    pifi_error err;
    pifi_answers *a;
    if (pifi_answer(run, path, 0, batch, &a, &err)) return cli_fail_api(&err);
    long long n = pifi_answers_count(a);
    if (official) printf("{");
    for (long long i = 0; i < n; i++) {
        if (official) {
            printf("%s", i ? ", " : "");
            cli_json_string(stdout, pifi_answers_id(a, i));
            printf(": ");
            cli_json_string(stdout, pifi_answers_text(a, i));
            continue;
        }
        printf("{\"id\":");
        cli_json_string(stdout, pifi_answers_id(a, i));
        printf(",\"question\":");
        cli_json_string(stdout, pifi_answers_question(a, i));
        printf(",\"answer\":");
        cli_json_string(stdout, pifi_answers_text(a, i));
        printf(",\"score\":%.6f}\n", pifi_answers_score(a, i));
    }
    if (official) printf("}\n");
    pifi_answers_free(a);
    return 0;
}

int cmd_predict(int argc, char **argv) {
    static const struct option LONG[] = {
        {"pair", 0, 0, 'p'}, {"batch", 1, 0, 'b'}, {"input", 1, 0, 'i'}, {"precision", 1, 0, 'P'},
        {"threads", 1, 0, 'T'}, {"max-memory", 1, 0, 'M'}, {"squad", 1, 0, 'S'}, {"official", 0, 0, 'O'},
        {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    PifiPrecision prec = pifi_precision_default();
    int pair = 0, batch = 32, official = 0, c;
    const char *input = NULL, *squad = NULL;
    opterr = 0;
    optind = 1;
    while ((c = cli_getopt(argc, argv, ":h", LONG, "predict")) != -1) {
        switch (c) {
        case 'p': pair = 1; break;
        case 'i': input = optarg; break;
        case 'S': squad = optarg; break;
        case 'O': official = 1; break;
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
    const char *run_path = argv[optind++];
    if (input && optind < argc) return cli_usage_error("predict", "give --input FILE or TEXT arguments, not both");
    if (squad && (input || pair || optind < argc))
        return cli_usage_error("predict", "--squad FILE takes no texts, --input or --pair");
    if (official && !squad) return cli_usage_error("predict", "--official goes with --squad FILE");
    FILE *in = stdin;
    if (input && !(in = fopen(input, "r"))) {
        fprintf(stderr, "pifi: %s: cannot open\n", input);
        return 2;
    }
    pifi_error err;
    pifi_run *run;
    pifi_run_params rp = pifi_run_default_params();
    rp.precision = cli_api_precision(prec);
    rp.batch = batch;
    if (pifi_run_open(run_path, &rp, &run, &err)) {
        if (in != stdin) fclose(in);
        return cli_fail_api(&err);
    }
    if (squad || pifi_run_is_qa(run)) {
        int st = squad ? predict_squad(run, squad, official, batch)
                       : cli_usage_error("predict", "%s answers questions: give --squad FILE", run_path);
        pifi_run_close(run);
        return st;
    }
    int status = 0;
    char **text = calloc((size_t)batch, sizeof *text), **pairs = pair ? calloc((size_t)batch, sizeof *pairs) : NULL;
    int *num = calloc((size_t)batch, sizeof *num); /* each input's number (argument or line) for warnings */
    int *labels = calloc((size_t)batch, sizeof *labels);
    const char **notes = calloc((size_t)batch, sizeof *notes);
    float *probs = calloc((size_t)batch * pifi_run_num_classes(run), sizeof *probs);
    if (!text || !num || (pair && !pairs) || !labels || !notes || !probs) {
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
                if (predict_batch(run, text, pairs, k, pair ? "pair" : "text", num, probs, labels, notes, &err))
                    status = cli_fail_api(&err);
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
                if (predict_batch(run, text, pairs, k, where, num, probs, labels, notes, &err)) status = cli_fail_api(&err);
                for (int i = 0; i < k; i++) free(text[i]);
                k = 0;
            }
        }
        if (!status && k > 0 && predict_batch(run, text, pairs, k, where, num, probs, labels, notes, &err))
            status = cli_fail_api(&err);
        for (int i = 0; i < k; i++) free(text[i]);
        free(line);
    }
out:
    if (in != stdin) fclose(in);
    free(text);
    free(pairs);
    free(num);
    free(labels);
    free(notes);
    free(probs);
    pifi_run_close(run);
    return status;
}
