/* cmd_export.c: `pifi export RUN_DIR --format onnx -o model.onnx`: a trained
 * run's whole classifier as one ONNX graph (onnx/onnx_export.h) with its
 * tokenizer files next to it, for ONNX Runtime and the like. Built when
 * protobuf-c and Debian's onnx.proto were found (PIFI_HAVE_ONNX). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#ifdef PIFI_HAVE_ONNX
#include "onnx/onnx_export.h"
#include "onnx/onnx_graph.h"
#endif

static const char *HELP =
    "usage: pifi export RUN_DIR --format onnx -o OUT.onnx [--json]\n"
    "\n"
    "Write a trained run's whole classifier (the encoder, pooling, L_in, the frozen\n"
    "layer in pooled mode, L_out and the head) as one ONNX graph: inputs input_ids,\n"
    "attention_mask (and token_type_ids when the encoder has token types), int64\n"
    "(batch, sequence), both axes dynamic; output logits, float (batch, classes);\n"
    "fp32 weights, opset 17. The metadata names the classes in order. The run's\n"
    "tokenizer files (tokenizer.json, ...) are copied next to OUT. Encoders of the\n"
    "BERT family (bert, roberta, electra) are exportable; an int8 run is not.\n"
    "\n"
    "options:\n"
    "  --format onnx    the format (onnx, the only one)\n"
    "  -o, --out OUT    the model file (written atomically)\n"
    "  --json           print what was written as JSON\n"
    "  -h, --help       this text\n";

int cmd_export(int argc, char **argv) {
    enum { O_FORMAT = 256, O_JSON };
    static const struct option LONG[] = {
        {"format", 1, 0, O_FORMAT}, {"out", 1, 0, 'o'}, {"json", 0, 0, O_JSON}, {"help", 0, 0, 'h'}, {0, 0, 0, 0},
    };
    const char *out = NULL, *format = NULL;
    int json = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = cli_getopt(argc, argv, ":ho:", LONG, "export")) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case O_FORMAT: format = optarg; break;
        case O_JSON: json = 1; break;
        case 'h': fputs(HELP, stdout); return 0;
        case ':': return cli_usage_error("export", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("export", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return cli_usage_error("export", "expects exactly one RUN_DIR");
    if (!format) return cli_usage_error("export", "--format is required (onnx)");
    if (strcmp(format, "onnx") != 0) return cli_usage_error("export", "unknown --format '%s' (onnx)", format);
    if (!out) return cli_usage_error("export", "-o OUT is required");
#ifdef PIFI_HAVE_ONNX
    const char *run = argv[optind];
    OnnxExportInfo info;
    PifiErr err = {0};
    if (onnx_export_run(run, out, &info, &err)) {
        fprintf(stderr, "pifi: export: %s\n", err.msg);
        return err.kind == PIFI_ERR_RUNTIME ? 1 : 2;
    }
    if (json) {
        printf("{\"model\":");
        cli_json_string(stdout, out);
        printf(",\"format\":\"onnx\",\"classes\":%d,\"token_type_ids\":%s,\"nodes\":%lld,\"initializers\":%lld,"
               "\"megabytes\":%.2f}\n",
               info.classes, info.has_types ? "true" : "false", info.nodes, info.initializers, info.megabytes);
    } else {
        printf("%s: ONNX (opset %d), %d classes, %lld nodes, %lld initializers, %.1f MB; tokenizer files next to it\n",
               out, ONNX_OPSET, info.classes, info.nodes, info.initializers, info.megabytes);
    }
    return 0;
#else
    (void)json;
    fprintf(stderr, "pifi: export: this pifi was built without ONNX support (protobuf-c and onnx.proto: "
                    "scripts/deps.sh installs them)\n");
    return 1;
#endif
}
