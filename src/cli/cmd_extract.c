/* cmd_extract.c: `pifi extract --llm PATH --layer N -o OUT`: copy one (or a
 * few) decoder layers out of an LLM checkpoint, reading only their bytes. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli/cli.h"
#include "pifi/llm_layer.h"

static const char *HELP =
    "usage: pifi extract --llm PATH --layer N -o OUT [options]\n"
    "\n"
    "Copy decoder layer N of the LLM at PATH into OUT, a small Hugging Face-style\n"
    "checkpoint (config.json with provenance + model.safetensors). PATH is a HF\n"
    "directory (single or sharded safetensors, bf16/f16/f32) or a GGUF file\n"
    "(dequantized to f32). Only that layer's bytes are read (mmap); the rest of\n"
    "the model is never loaded. OUT appears complete or not at all.\n"
    "\n"
    "options:\n"
    "  --llm PATH        the LLM (directory or .gguf)\n"
    "  --layer N         layer index; negative counts from the end (-1 = last)\n"
    "  --layers A,B,...  several layers into one OUT\n"
    "  -o, --out OUT     output directory\n"
    "  --overwrite       replace OUT if it exists\n"
    "  --json            print the report as JSON\n"
    "  -h, --help        this text\n";

static int parse_layers(const char *s, int *layers, int *n) {
    *n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < -100000 || v > 100000 || *n >= 64) return -1;
        layers[(*n)++] = (int)v;
        if (*end == ',') end++;
        else if (*end) return -1;
        p = end;
    }
    return *n ? 0 : -1;
}

int cmd_extract(int argc, char **argv) {
    static const struct option LONG[] = {
        {"llm", required_argument, 0, 'l'}, {"layer", required_argument, 0, 'n'},
        {"layers", required_argument, 0, 'n'}, {"out", required_argument, 0, 'o'},
        {"overwrite", no_argument, 0, 'w'}, {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    const char *llm = NULL, *out = NULL;
    int layers[64], n = 0, overwrite = 0, json = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = cli_getopt(argc, argv, ":ho:", LONG, "extract")) != -1) {
        switch (c) {
        case 'l': llm = optarg; break;
        case 'n':
            if (parse_layers(optarg, layers, &n))
                return cli_usage_error("extract", "--layer expects an integer or a comma-separated list, got '%s'", optarg);
            break;
        case 'o': out = optarg; break;
        case 'w': overwrite = 1; break;
        case 'j': json = 1; break;
        case 'h': fputs(HELP, stdout); return 0;
        case ':': return cli_usage_error("extract", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("extract", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("extract", "unexpected argument '%s'", argv[optind]);
    if (!llm) return cli_usage_error("extract", "--llm PATH is required");
    if (!n) return cli_usage_error("extract", "--layer N is required (-1 = last)");
    if (!out) return cli_usage_error("extract", "-o OUT is required");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    PifiErr err = {0};
    LlmExtractReport rep;
    if (llm_extract(llm, layers, n, out, overwrite, &rep, &err)) return cli_fail(&err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double rss_mb = ru.ru_maxrss / 1024.0;
    if (json) {
        printf("{\"out\":");
        cli_json_string(stdout, out);
        printf(",\"parameters\":%lld,\"bytes\":%lld,\"seconds\":%.3f,\"peak_rss_mib\":%.1f,"
               "\"tensors_sha256\":\"%s\"}\n",
               (long long)rep.params, (long long)rep.bytes, secs, rss_mb, rep.tensors_sha256);
    } else {
        printf("extracted %lld parameters (%.1f MB) into %s in %.2f s, peak RSS %.1f MiB\n",
               (long long)rep.params, rep.bytes / 1e6, out, secs, rss_mb);
        printf("tensors sha256 %s\n", rep.tensors_sha256);
    }
    return 0;
}
