/* cmd_quantize.c: `pifi quantize RUN_DIR -o OUT [--all]`: int8 weight-only
 * quantization of a trained run for inference (the frozen LLM layer, and
 * the SLM's linear layers and word embeddings with --all), with the
 * accuracy change it costs on the run's test split. OUT is a run of its own
 * in int8 form (train/runio_int8.h): no fp32 copy of what is int8, the layer
 * bundled; eval, predict and info load it as any run. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "pifi.h"

static const char *HELP =
    "usage: pifi quantize RUN_DIR -o OUT [--all] [options]\n"
    "\n"
    "Write OUT, the trained run in int8 form for inference: the frozen LLM layer\n"
    "(and with --all also the SLM's linear layers and word embeddings) as int8\n"
    "weights with one fp32 scale per row; everything else (norms, biases, the\n"
    "other embeddings, the heads) stays fp32. OUT keeps no fp32 copy of the int8\n"
    "weights and needs neither RUN_DIR nor the LLM layer's file: the layer is\n"
    "bundled in OUT/llm_layer. `pifi eval OUT`, `pifi predict OUT` and `pifi info\n"
    "OUT` use it; it cannot be trained or resumed (RUN_DIR can). The run's test\n"
    "split (else its validation split) is evaluated before and after: the\n"
    "accuracy change is printed and recorded in OUT/config.json.\n"
    "\n"
    "options:\n"
    "  -o, --out OUT    the int8 run directory (must not hold a run, unless --overwrite)\n"
    "  --all            the SLM's linear layers and word embeddings too (a base run\n"
    "                   has no LLM layer: it needs --all)\n"
    "  --overwrite      replace the run at OUT\n"
    "  --batch N        examples per forward pass when evaluating (default 64)\n"
    "  --precision P    arithmetic of the evaluation: fp32 | bf16 | auto (default)\n"
    "  --threads N      size of the thread pool\n"
    "  --json           print the result as JSON\n"
    "  -h, --help       this text\n";

int cmd_quantize(int argc, char **argv) {
    enum { O_ALL = 256, O_OVERWRITE, O_BATCH, O_PRECISION, O_THREADS, O_JSON };
    static const struct option LONG[] = {
        {"out", 1, 0, 'o'},           {"all", 0, 0, O_ALL},       {"overwrite", 0, 0, O_OVERWRITE},
        {"batch", 1, 0, O_BATCH},     {"precision", 1, 0, O_PRECISION}, {"threads", 1, 0, O_THREADS},
        {"json", 0, 0, O_JSON},       {"help", 0, 0, 'h'},        {0, 0, 0, 0},
    };
    const char *out = NULL;
    int all = 0, overwrite = 0, batch = 64, json = 0, c;
    PifiPrecision prec = pifi_precision_default();
    opterr = 0;
    optind = 1;
    while ((c = cli_getopt(argc, argv, ":ho:", LONG, "quantize")) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case O_ALL: all = 1; break;
        case O_OVERWRITE: overwrite = 1; break;
        case O_BATCH: if (cli_parse_int("quantize", "--batch", optarg, 1, 1 << 16, &batch)) return 2; break;
        case O_PRECISION: if (cli_parse_precision("quantize", optarg, &prec)) return 2; break;
        case O_THREADS: if (cli_parse_threads("quantize", optarg)) return 2; break;
        case O_JSON: json = 1; break;
        case 'h': fputs(HELP, stdout); return 0;
        case ':': return cli_usage_error("quantize", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("quantize", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return cli_usage_error("quantize", "expects exactly one RUN_DIR");
    if (!out) return cli_usage_error("quantize", "-o OUT is required");
    const char *run = argv[optind];
    pifi_quantize_params qp = pifi_quantize_default_params();
    qp.all = all, qp.overwrite = overwrite, qp.batch = batch;
    qp.precision = cli_api_precision(prec);
    pifi_quantize_result r;
    pifi_error err;
    pifi_status st = pifi_quantize(run, out, &qp, &r, &err);
    if (st) {
        fprintf(stderr, "pifi: quantize: %s\n", err.message);
        return st == PIFI_E_RUNTIME ? 1 : 2;
    }
    if (json) {
        printf("{\"run\":");
        cli_json_string(stdout, out);
        printf(",\"all\":%s,\"int8\":\"%s\",\"weights_mb_fp32\":%.2f,\"weight_files_mb\":%.2f",
               all ? "true" : "false", r.what, r.weights_mb_fp32, r.weight_files_mb);
        if (r.split)
            printf(",\"split\":\"%s\",\"n\":%lld,\"accuracy_before\":%.6f,\"accuracy_after\":%.6f,\"accuracy_change\":%.6f",
                   r.split, r.n, r.accuracy_before, r.accuracy_after, r.accuracy_after - r.accuracy_before);
        printf("}\n");
    } else {
        printf("%s: int8 %s (one fp32 scale per row); weights %.1f MB in fp32 -> %.1f MB in OUT's files\n", out,
               r.what, r.weights_mb_fp32, r.weight_files_mb);
        if (r.split)
            printf("accuracy on %s (%lld examples, %s): %.4f -> %.4f (%+.2f points)\n", r.split, r.n, r.precision,
                   r.accuracy_before, r.accuracy_after, 100 * (r.accuracy_after - r.accuracy_before));
        else
            printf("the run records no data with a test or validation split: accuracy not measured\n");
    }
    return 0;
}
