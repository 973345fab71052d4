/* cmd_info.c: `pifi info PATH`: what a model directory or checkpoint holds:
 * architecture, dtypes, parameters per component, bytes on disk. */
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "pifi/encoder.h"
#include "pifi/fileio.h"
#include "pifi/json.h"
#include "pifi/safetensors.h"

static const char *HELP =
    "usage: pifi info [--json] PATH\n"
    "\n"
    "Describe PATH: a Hugging Face model directory (config.json + safetensors),\n"
    "a .safetensors file or a model.safetensors.index.json. Prints the\n"
    "architecture, the dtypes, the parameter count of each component and the\n"
    "size on disk.\n"
    "\n"
    "options:\n"
    "  --json       machine-readable output on stdout\n"
    "  -h, --help   this text\n";

enum { COMP_EMB, COMP_LAYERS, COMP_POOLER, COMP_OTHER, COMP_N };
static const char *COMP_NAMES[COMP_N] = {"embeddings", "encoder layers", "pooler", "other"};

static int component_of(const char *name) {
    static const char *prefixes[] = {"bert.", "roberta.", "electra.", "model."};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(name, prefixes[i], n) == 0) {
            name += n;
            break;
        }
    }
    if (strncmp(name, "embeddings", 10) == 0) return COMP_EMB;
    if (strncmp(name, "encoder.layer.", 14) == 0 || strncmp(name, "layers.", 7) == 0) return COMP_LAYERS;
    if (strncmp(name, "pooler.", 7) == 0) return COMP_POOLER;
    return COMP_OTHER;
}

static int64_t file_bytes(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

/* Bytes of the safetensors files of a directory or file path. */
static int64_t checkpoint_bytes(SafeTensors *st, PifiErr *err) {
    /* Sum each distinct file once. */
    int64_t total = 0;
    const char *seen[256];
    int nseen = 0;
    for (int i = 0; i < st_count(st); i++) {
        const StTensor *t;
        if (st_get(st, st_name(st, i), &t, err)) return -1;
        int dup = 0;
        for (int k = 0; k < nseen && !dup; k++) dup = strcmp(seen[k], t->file) == 0;
        if (!dup) {
            if (nseen < 256) seen[nseen++] = t->file;
            total += file_bytes(t->file);
        }
    }
    return total;
}

int cmd_info(int argc, char **argv) {
    static const struct option LONG[] = {
        {"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int json = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", LONG, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'h': fputs(HELP, stdout); return 0;
        default: return cli_usage_error("info", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return cli_usage_error("info", "expects exactly one PATH");
    const char *path = argv[optind];
    PifiErr err = {0};

    EncoderConfig cfg;
    int have_cfg = 0;
    if (pifi_is_dir(path)) {
        char *cp = pifi_path_join(path, "config.json");
        if (cp && pifi_file_exists(cp)) {
            if (encoder_config_load(&cfg, cp, &err)) {
                free(cp);
                return cli_fail(&err);
            }
            have_cfg = 1;
        }
        free(cp);
    }
    SafeTensors *st;
    if (st_open(&st, path, &err)) return cli_fail(&err);
    int64_t params[COMP_N] = {0}, total = 0;
    int dtype_seen[PIFI_DT_COUNT] = {0};
    for (int i = 0; i < st_count(st); i++) {
        const StTensor *t;
        if (st_get(st, st_name(st, i), &t, &err)) {
            st_close(st);
            return cli_fail(&err);
        }
        if (strstr(t->name, "position_ids")) continue; /* a buffer, not a parameter */
        params[component_of(t->name)] += t->numel;
        total += t->numel;
        dtype_seen[t->dtype] = 1;
    }
    int64_t bytes = checkpoint_bytes(st, &err);
    int ntensors = st_count(st);
    st_close(st);
    if (bytes < 0) return cli_fail(&err);

    char dtypes[128] = "";
    for (int d = 0; d < PIFI_DT_COUNT; d++) {
        if (!dtype_seen[d]) continue;
        if (dtypes[0]) strncat(dtypes, ",", sizeof dtypes - strlen(dtypes) - 1);
        strncat(dtypes, pifi_dtype_name((PifiDType)d), sizeof dtypes - strlen(dtypes) - 1);
    }
    if (json) {
        printf("{\"path\":");
        cli_json_string(stdout, path);
        if (have_cfg)
            printf(",\"model_type\":\"%s\",\"hidden_size\":%d,\"num_layers\":%d,\"num_heads\":%d,"
                   "\"intermediate_size\":%d,\"vocab_size\":%d,\"max_position\":%d",
                   cfg.model_type, cfg.C, cfg.L, cfg.NH, cfg.FF, cfg.V, cfg.maxT);
        printf(",\"dtypes\":\"%s\",\"tensors\":%d,\"bytes\":%lld,\"parameters\":{", dtypes, ntensors,
               (long long)bytes);
        for (int k = 0; k < COMP_N; k++)
            printf("%s\"%s\":%lld", k ? "," : "", COMP_NAMES[k], (long long)params[k]);
        printf(",\"total\":%lld}}\n", (long long)total);
        return 0;
    }
    printf("path          %s\n", path);
    if (have_cfg) {
        printf("architecture  %s encoder: %d layers, hidden %d, %d heads, intermediate %d", cfg.model_type,
               cfg.L, cfg.C, cfg.NH, cfg.FF);
        if (cfg.E != cfg.C) printf(", embedding %d", cfg.E);
        printf("\nvocabulary    %d tokens, %d positions\n", cfg.V, cfg.maxT);
    }
    printf("dtype         %s\n", dtypes);
    printf("tensors       %d\n", ntensors);
    printf("on disk       %.1f MB (%lld bytes)\n", bytes / 1e6, (long long)bytes);
    printf("\n%-16s %14s %8s\n", "component", "parameters", "share");
    for (int k = 0; k < COMP_N; k++) {
        if (!params[k]) continue;
        printf("%-16s %14lld %7.1f%%\n", COMP_NAMES[k], (long long)params[k],
               total ? 100.0 * params[k] / total : 0.0);
    }
    printf("%-16s %14lld\n", "total", (long long)total);
    return 0;
}
