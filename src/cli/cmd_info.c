/* cmd_info.c: `pifi info PATH`: what a model directory or checkpoint holds:
 * architecture, dtypes, parameters per component, bytes on disk. */
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/info.h"
#include "exp/plot.h"
#include "train/runio.h"
#include "pifi/encoder.h"
#include "pifi/fileio.h"
#include "pifi/json.h"
#include "pifi/safetensors.h"

static const char *HELP =
    "usage: pifi info [--json] PATH\n"
    "       pifi info [--json] --slm DIR [--llm PATH | --llm-layer DIR] [options]\n"
    "       pifi info [--json] --cpu\n"
    "       pifi info [--json] --models\n"
    "\n"
    "Describe PATH: a Hugging Face model directory (config.json + safetensors,\n"
    "an encoder, an LLM or a `pifi extract` output: its layer and source), a\n"
    ".safetensors file, a model.safetensors.index.json or a .gguf file:\n"
    "architecture, dtypes, parameters per component, size on disk. A run\n"
    "directory (pifi train): its data, method, seed, classes and scores (best\n"
    "epoch, test split, --eval-task tasks), then its PiFi table.\n"
    "\n"
    "With --slm, print the PiFi parameter table instead (the paper's appendix):\n"
    "SLM, L_in, LLM layer, L_out and head, trainable or frozen, and the forward\n"
    "FLOPs per example. Only configs are read.\n"
    "\n"
    "With --cpu, how pifi computes on this machine: the CPU, the instruction set\n"
    "oneDNN and pifi's own kernels use (capped by ONEDNN_MAX_CPU_ISA and\n"
    "PIFI_MAX_ISA), whether bf16 is native or emulated, and the threads.\n"
    "\n"
    "options:\n"
    "  --slm DIR        the small model\n"
    "  --llm PATH       the LLM whose layer is plugged in (HF dir or .gguf)\n"
    "  --llm-layer DIR  an extracted layer (pifi extract)\n"
    "  --classes K      number of classes (default 2)\n"
    "  --max-len T      tokens per example for the FLOPs (default 100)\n"
    "  --unfrozen       count the LLM layer as trainable (method pifi-unfrozen)\n"
    "  --cpu            this machine's compute: CPU, instruction sets, bf16, threads\n"
    "  --models         the small-model families and LLM-layer architectures pifi reads,\n"
    "                   and how each is checked (docs/models.md)\n"
    "  --plot PNG       a run directory: draw its learning curve (training loss per\n"
    "                   step, validation accuracy or BLEU per epoch) into PNG (gnuplot)\n"
    "  --json           machine-readable output on stdout\n"
    "  -h, --help       this text\n";

enum { COMP_EMB, COMP_LAYERS, COMP_POOLER, COMP_OTHER, COMP_N };
static const char *COMP_NAMES[COMP_N] = {"embeddings", "encoder layers", "pooler", "other"};

static int component_of(const char *name) {
    static const char *prefixes[] = {"bert.", "roberta.", "electra.", "albert.", "model."};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(name, prefixes[i], n) == 0) {
            name += n;
            break;
        }
    }
    if (strncmp(name, "embeddings", 10) == 0) return COMP_EMB;
    if (strncmp(name, "encoder.layer.", 14) == 0 || strncmp(name, "layers.", 7) == 0 ||
        strncmp(name, "encoder.albert_layer_groups.", 28) == 0) /* ALBERT's one shared layer */
        return COMP_LAYERS;
    if (strncmp(name, "encoder.embedding_hidden_mapping_in.", 36) == 0) return COMP_EMB; /* ALBERT's E -> C */
    if (strncmp(name, "pooler.", 7) == 0) return COMP_POOLER;
    return COMP_OTHER;
}

/* --cpu: what the compute paths will use here, as the benchmarks' tables say it. */
static int info_cpu(int json) {
    char cpu[256];
    pifi_cpu_name(cpu, sizeof cpu);
    if (json) {
        printf("{\"cpu\":");
        cli_json_string(stdout, cpu);
        printf(",\"onednn_isa\":\"%s\",\"kernel_isa\":\"%s\",\"kernel_isa_cpu\":\"%s\",\"bf16\":\"%s\","
               "\"precision_auto\":\"%s\",\"threads\":%d}\n",
               pifi_cpu_isa_name(), pifi_kernel_isa_name(), pifi_isa_name(pifi_kernel_isa_cpu()), pifi_bf16_mode(),
               pifi_precision_name(pifi_precision_default()), pifi_threads());
    } else {
        printf("CPU %s: oneDNN ISA %s, pifi kernels %s (the CPU's best: %s), bf16 %s, --precision auto = %s, "
               "%d threads\n",
               cpu, pifi_cpu_isa_name(), pifi_kernel_isa_name(), pifi_isa_name(pifi_kernel_isa_cpu()),
               pifi_bf16_mode(), pifi_precision_name(pifi_precision_default()), pifi_threads());
    }
    return 0;
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

/* The layers a `pifi extract` output holds (its config.json's
 * "pifi_extract"): how many (0 for any other model), listed "4" or "10, 11"
 * into list, with the source path. */
static int extracted_layers(const char *config_path, char *list, size_t ln, char *source, size_t n) {
    cJSON *cfg = NULL;
    PifiErr err = {0};
    list[0] = 0;
    if (pifi_json_load(config_path, 1 << 22, &cfg, &err)) return 0;
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(cfg, "pifi_extract");
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(x, "layers"), *src = cJSON_GetObjectItemCaseSensitive(x, "source"), *l;
    int k = 0;
    cJSON_ArrayForEach(l, layers) {
        if (!cJSON_IsNumber(l) || strlen(list) + 16 > ln) continue;
        snprintf(list + strlen(list), ln - strlen(list), "%s%d", k ? ", " : "", (int)l->valuedouble);
        k++;
    }
    snprintf(source, n, "%s", cJSON_IsString(src) ? src->valuestring : "?");
    cJSON_Delete(cfg);
    return k;
}

int cmd_info(int argc, char **argv) {
    static const struct option LONG[] = {
        {"json", no_argument, 0, 'j'},          {"slm", required_argument, 0, 's'},
        {"llm", required_argument, 0, 'l'},     {"llm-layer", required_argument, 0, 'L'},
        {"layer", required_argument, 0, 'n'},   {"classes", required_argument, 0, 'k'},
        {"max-len", required_argument, 0, 't'}, {"unfrozen", no_argument, 0, 'u'},
        {"cpu", no_argument, 0, 'c'},           {"models", no_argument, 0, 'm'},
        {"plot", required_argument, 0, 'p'},    {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int json = 0, c, layer = -1, cpu = 0, models = 0;
    const char *plot = NULL;
    InfoPifiArgs pa = {NULL, NULL, 2, 100, 0, 0, NULL, NULL};
    opterr = 0;
    optind = 1;
    while ((c = cli_getopt(argc, argv, ":h", LONG, "info")) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 's': pa.slm = optarg; break;
        case 'l':
        case 'L': pa.llm = optarg; break;
        case 'n': if (cli_parse_int("info", "--layer", optarg, -100000, 100000, &layer)) return 2; break;
        case 'k': if (cli_parse_int("info", "--classes", optarg, 2, 100000, &pa.classes)) return 2; break;
        case 't': if (cli_parse_int("info", "--max-len", optarg, 1, 1 << 20, &pa.max_len)) return 2; break;
        case 'u': pa.unfrozen = 1; break;
        case 'c': cpu = 1; break;
        case 'm': models = 1; break;
        case 'p': plot = optarg; break;
        case 'h': fputs(HELP, stdout); return 0;
        case ':': return cli_usage_error("info", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("info", "unknown option '%s'", argv[optind - 1]);
        }
    }
    (void)layer; /* every layer of a model has the same shape */
    if (models) {
        if (optind != argc || pa.slm || cpu) return cli_usage_error("info", "--models takes no PATH or model");
        return info_models(json);
    }
    if (cpu) {
        if (optind != argc || pa.slm) return cli_usage_error("info", "--cpu takes no PATH or model");
        return info_cpu(json);
    }
    if (pa.slm) {
        if (optind != argc) return cli_usage_error("info", "--slm takes no PATH");
        return info_pifi_table(&pa, json);
    }
    if (optind != argc - 1) return cli_usage_error("info", "expects exactly one PATH");
    if (plot && !pifi_is_dir(argv[optind])) return cli_usage_error("info", "--plot draws a run directory's curve");
    const char *path = argv[optind];
    size_t plen = strlen(path);
    if (pifi_is_dir(path)) { /* a trained run: the PiFi table */
        char *cp = pifi_path_join(path, "config.json");
        cJSON *cfg = NULL;
        PifiErr e2 = {0};
        if (cp && pifi_file_exists(cp) && pifi_json_load(cp, 1 << 22, &cfg, &e2) == 0 &&
            cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(cfg, "pifi"))) {
            TrainOpts o;
            int rc = runio_opts_from_json(cJSON_GetObjectItemCaseSensitive(cfg, "pifi"), &o, cp, &e2);
            if (rc == 0 && plot) { /* the run's learning curve */
                PifiErr pe = {0};
                rc = plot_available(&pe) || plot_curve(path, plot, path, &pe) ? cli_fail(&pe) : 0;
                if (rc == 0) printf("%s: wrote %s\n", path, plot);
            } else if (rc == 0 && o.seq2seq) { /* a generation run: its summary (no classifier table) */
                cJSON *sum = info_run_summary(path, cJSON_GetObjectItemCaseSensitive(cfg, "pifi"));
                if (json && sum) {
                    char *t = cJSON_PrintUnformatted(sum);
                    printf("%s\n", t ? t : "{}");
                    free(t);
                } else if (sum) {
                    info_run_print(path, sum);
                }
                cJSON_Delete(sum);
            } else if (rc == 0) {
                runio_resolve_llm(&o, path);
                const cJSON *nc = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cfg, "pifi"),
                                                                   "num_classes");
                cJSON *sum = info_run_summary(path, cJSON_GetObjectItemCaseSensitive(cfg, "pifi"));
                InfoPifiArgs ra = {path, method_has_llm(o.method) ? o.llm : NULL,
                                   cJSON_IsNumber(nc) ? nc->valueint : 2, o.max_len,
                                   o.method == METHOD_PIFI_UNFROZEN, o.method == METHOD_LORA ? o.lora_r : 0,
                                   method_name(o.method), sum};
                if (!json && sum) {
                    info_run_print(path, sum);
                    printf("\n");
                }
                rc = info_pifi_table(&ra, json);
                cJSON_Delete(sum);
            } else {
                rc = cli_fail(&e2);
            }
            cJSON_Delete(cfg);
            free(cp);
            return rc;
        }
        cJSON_Delete(cfg);
        free(cp);
    }
    if (plen > 5 && strcmp(path + plen - 5, ".gguf") == 0 && !pifi_is_dir(path)) return info_gguf(path, json);
    PifiErr err = {0};

    EncoderConfig cfg;
    LlmConfig llm;
    int have_cfg = 0, have_llm = 0, extracted = 0; /* extracted: how many layers `pifi extract` took */
    char source[4096] = "", layers[256] = "";
    if (pifi_is_dir(path)) {
        char *cp = pifi_path_join(path, "config.json");
        if (cp && pifi_file_exists(cp)) {
            LlmConfig lc;
            if (llm_config_load(&lc, cp, &err) == 0) {
                have_llm = 1;
                llm = lc;
                extracted = extracted_layers(cp, layers, sizeof layers, source, sizeof source);
            } else if (encoder_config_load(&cfg, cp, &err)) {
                free(cp);
                return cli_fail(&err);
            } else {
                have_cfg = 1;
            }
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
        if (have_llm && !strncmp(t->name, "lm_head.", 8)) { /* the LLM's head: not a layer */
            params[COMP_OTHER] += t->numel;
            total += t->numel;
            dtype_seen[t->dtype] = 1;
            continue;
        }
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
    /* the name of the layers' row: an encoder's, an LLM's, or the one layer `pifi extract` took */
    char layers_name[48];
    if (extracted) snprintf(layers_name, sizeof layers_name, "decoder layer%s %.30s", extracted > 1 ? "s" : "", layers);
    else snprintf(layers_name, sizeof layers_name, "%s", have_llm ? "decoder layers" : "encoder layers");
    const char *comp_names[COMP_N] = {COMP_NAMES[0], layers_name, COMP_NAMES[2], COMP_NAMES[3]};
    if (json) {
        printf("{\"path\":");
        cli_json_string(stdout, path);
        if (have_llm)
            printf(",\"model_type\":\"%s\",\"hidden_size\":%d,\"num_layers\":%d,\"layer_parameters\":%lld",
                   llm.model_type, llm.D, llm.num_layers, (long long)llm_layer_param_count(&llm));
        if (extracted) {
            printf(",\"extracted_layers\":[%s],\"source\":", layers);
            cli_json_string(stdout, source);
        }
        if (have_cfg)
            printf(",\"model_type\":\"%s\",\"hidden_size\":%d,\"num_layers\":%d,\"num_heads\":%d,"
                   "\"intermediate_size\":%d,\"vocab_size\":%d,\"max_position\":%d",
                   cfg.model_type, cfg.C, cfg.L, cfg.NH, cfg.FF, cfg.V, cfg.maxT);
        printf(",\"dtypes\":\"%s\",\"tensors\":%d,\"bytes\":%lld,\"parameters\":{", dtypes, ntensors,
               (long long)bytes);
        for (int k = 0; k < COMP_N; k++)
            printf("%s\"%s\":%lld", k ? "," : "", k == COMP_LAYERS && have_llm ? "decoder layers" : COMP_NAMES[k],
                   (long long)params[k]);
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
    if (have_llm && extracted)
        printf("architecture  %d %s decoder layer%s (layer%s %s, 0-based, of the source's %d): hidden %d, %d heads "
               "(%d kv, head size %d), intermediate %d\n"
               "source        %s (pifi extract)\n"
               "one layer     %lld parameters\n",
               extracted, llm.model_type, extracted > 1 ? "s" : "", extracted > 1 ? "s" : "", layers, llm.num_layers,
               llm.D, llm.NH, llm.NKV, llm.HD, llm.FF, source, (long long)llm_layer_param_count(&llm));
    else if (have_llm)
        printf("architecture  %s LLM: %d layers, hidden %d, %d heads (%d kv, head size %d), intermediate %d\n"
               "one layer     %lld parameters\n",
               llm.model_type, llm.num_layers, llm.D, llm.NH, llm.NKV, llm.HD, llm.FF,
               (long long)llm_layer_param_count(&llm));
    printf("dtype         %s\n", dtypes);
    printf("tensors       %d\n", ntensors);
    printf("on disk       %.1f MB (%lld bytes)\n", bytes / 1e6, (long long)bytes);
    printf("\n%-16s %14s %8s\n", "component", "parameters", "share");
    for (int k = 0; k < COMP_N; k++) {
        if (!params[k]) continue;
        printf("%-16s %14lld %7.1f%%\n", comp_names[k], (long long)params[k],
               total ? 100.0 * params[k] / total : 0.0);
    }
    printf("%-16s %14lld\n", "total", (long long)total);
    return 0;
}
