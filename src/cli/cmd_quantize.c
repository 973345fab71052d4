/* cmd_quantize.c: `pifi quantize RUN_DIR -o OUT [--all]`: int8 weight-only
 * quantization of a trained run for inference (the frozen LLM layer, and
 * the SLM's linear layers and word embeddings with --all), with the
 * accuracy change it costs on the run's test split. OUT is a run of its own
 * in int8 form (train/runio_int8.h): no fp32 copy of what is int8, the layer
 * bundled; eval, predict and info load it as any run. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/data_args.h"
#include "pifi/fileio.h"
#include "pifi/json.h"
#include "train/runio.h"
#include "train/runio_int8.h"

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

/* Megabytes of a file, 0 when absent. */
static double file_mb(const char *dir, const char *name) {
    char *p = pifi_path_join(dir, name);
    struct stat st;
    double mb = p && stat(p, &st) == 0 ? (double)st.st_size / 1e6 : 0;
    free(p);
    return mb;
}

/* Megabytes of the model's weights in fp32 (before quantizing). */
static double fp32_mb(const PifiModel *m) {
    double n = (double)m->slm.num_params + (double)m->hp_count;
    if (m->has_llm) n += (double)llm_layer_trainable_count(&m->llm);
    return n * 4 / 1e6;
}

/* Accuracy of the model on td. */
static int accuracy(RunModel *rm, const TokData *td, int batch, double *acc, PifiErr *err) {
    PifiConfusion cm;
    if (confusion_init(&cm, rm->K, err)) return -1;
    double loss;
    int rc = trainer_evaluate(&rm->model, td, batch, &cm, NULL, &loss, rm->opts.label_smoothing, err);
    if (rc == 0) *acc = metric_accuracy(&cm);
    confusion_free(&cm);
    return rc;
}

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
    char rp[4096], op[4096];
    if (realpath(run, rp) && realpath(out, op) && !strcmp(rp, op))
        return cli_usage_error("quantize", "OUT must differ from RUN_DIR");
    char *ocfg = pifi_path_join(out, "config.json");
    int oexists = ocfg && pifi_file_exists(ocfg);
    free(ocfg);
    if (oexists && !overwrite) return cli_usage_error("quantize", "%s exists (pass --overwrite to replace it)", out);
    struct stat ost;
    if (!oexists && stat(out, &ost) == 0 && !(S_ISDIR(ost.st_mode) && pifi_dir_is_empty(out)))
        return cli_usage_error("quantize", "%s exists and is not a run or an empty directory", out);

    PifiErr err = {0};
    RunModel rm;
    if (runio_load_run(&rm, run, &err)) return cli_fail(&err);
    int status = 1;
    LoadedData ld;
    memset(&ld, 0, sizeof ld);
    TokData td;
    memset(&td, 0, sizeof td);
    cJSON *rec = NULL;
    if (rm.int8) {
        status = cli_usage_error("quantize", "%s is already an int8 run", run);
        goto out;
    }
    if (!rm.model.has_llm && !all) {
        status = cli_usage_error("quantize", "%s (method %s) has no LLM layer: pass --all to quantize the SLM", run,
                                 method_name(rm.opts.method));
        goto out;
    }
    const cJSON *desc = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(rm.cfg, "pifi"), "data");
    int split = -1;
    double acc0 = -1, acc1 = -1, mb0 = fp32_mb(&rm.model);
    if (pifi_model_set_precision(&rm.model, prec, 1, &err)) goto out;
    if (desc) { /* the run's own test split, else its validation split */
        if (data_load(desc, PIFI_SPLIT_BIT(PIFI_SPLIT_TEST) | PIFI_SPLIT_BIT(PIFI_SPLIT_VALID), rm.label_names, rm.K,
                      &ld, &err))
            goto out;
        split = ld.have[PIFI_SPLIT_TEST] ? PIFI_SPLIT_TEST : ld.have[PIFI_SPLIT_VALID] ? PIFI_SPLIT_VALID : -1;
    }
    if (split >= 0 && (tokdata_build(&td, rm.tk, &ld.split[split], rm.opts.max_len, &err) ||
                       accuracy(&rm, &td, batch, &acc0, &err)))
        goto out;
    if (pifi_model_quantize(&rm.model, all, &err)) goto out;
    if (split >= 0 && accuracy(&rm, &td, batch, &acc1, &err)) goto out;

    rec = cJSON_CreateObject();
    cJSON_AddStringToObject(rec, "scheme", "int8 weights, one fp32 scale per row (absmax / 127)");
    if (split >= 0) {
        cJSON_AddStringToObject(rec, "split", split_name((PifiSplit)split));
        cJSON_AddStringToObject(rec, "eval_precision", pifi_precision_name(prec));
        cJSON_AddNumberToObject(rec, "accuracy_before", acc0);
        cJSON_AddNumberToObject(rec, "accuracy_after", acc1);
    }
    if (runio_write_int8(&rm, run, out, overwrite, rec, &err)) goto out;
    double mb1 = file_mb(out, "model.safetensors") + file_mb(out, "llm_layer/model.safetensors");
    const char *what = all ? (rm.model.has_llm ? "LLM layer, SLM linear layers and word embeddings"
                                               : "SLM linear layers and word embeddings")
                           : "LLM layer";
    if (json) {
        printf("{\"run\":");
        cli_json_string(stdout, out);
        printf(",\"all\":%s,\"int8\":\"%s\",\"weights_mb_fp32\":%.2f,\"weight_files_mb\":%.2f",
               all ? "true" : "false", what, mb0, mb1);
        if (split >= 0)
            printf(",\"split\":\"%s\",\"n\":%lld,\"accuracy_before\":%.6f,\"accuracy_after\":%.6f,\"accuracy_change\":%.6f",
                   split_name((PifiSplit)split), (long long)td.n, acc0, acc1, acc1 - acc0);
        printf("}\n");
    } else {
        printf("%s: int8 %s (one fp32 scale per row); weights %.1f MB in fp32 -> %.1f MB in OUT's files\n", out,
               what, mb0, mb1);
        if (split >= 0)
            printf("accuracy on %s (%lld examples, %s): %.4f -> %.4f (%+.2f points)\n", split_name((PifiSplit)split),
                   (long long)td.n, pifi_precision_name(prec), acc0, acc1, 100 * (acc1 - acc0));
        else
            printf("the run records no data with a test or validation split: accuracy not measured\n");
    }
    status = 0;
out:
    if (status == 1) status = cli_fail(&err);
    cJSON_Delete(rec);
    tokdata_free(&td);
    data_free(&ld);
    runio_free_run(&rm);
    return status;
}
