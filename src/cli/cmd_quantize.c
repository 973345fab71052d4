/* cmd_quantize.c: `pifi quantize RUN_DIR -o OUT [--all]`: int8 weight-only
 * quantization of a trained run for inference (the frozen LLM layer, and the
 * SLM's linear layers with --all), with the accuracy change it costs on the
 * run's test split; and the loading of such a run by eval and predict. */
#include <dirent.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/data_args.h"
#include "pifi/fileio.h"
#include "pifi/json.h"
#include "train/runio.h"

#define QFILE "quantized.safetensors"

static const char *HELP =
    "usage: pifi quantize RUN_DIR -o OUT [--all] [options]\n"
    "\n"
    "Write OUT, a copy of the trained run whose frozen LLM layer (and with --all\n"
    "also the SLM's linear layers) has int8 weights with one fp32 scale per output\n"
    "row (OUT/" QFILE "); `pifi eval OUT` and `pifi predict OUT` use them.\n"
    "The run's test split (else its validation split) is evaluated before and\n"
    "after: the accuracy change is printed and recorded in OUT/config.json.\n"
    "\n"
    "options:\n"
    "  -o, --out OUT    the quantized run directory\n"
    "  --all            the SLM's linear layers too (not only the frozen layer)\n"
    "  --overwrite      replace an existing OUT\n"
    "  --batch N        examples per forward pass when evaluating (default 64)\n"
    "  --precision P    arithmetic of the evaluation: fp32 | bf16 | auto (default)\n"
    "  --threads N      size of the thread pool\n"
    "  --json           print the result as JSON\n"
    "  -h, --help       this text\n";

int cli_load_quantized(PifiModel *m, const char *run_dir, PifiErr *err) {
    char *p = pifi_path_join(run_dir, QFILE);
    if (!p) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    int rc = pifi_file_exists(p) ? pifi_model_load_quantized(m, p, err) : 0;
    free(p);
    return rc;
}

/* Copy the regular files of src into dst (created); a subdirectory named
 * keep_dir (the bundled layer) is copied too, others (checkpoint/) are not. */
static int copy_dir(const char *src, const char *dst, const char *keep_dir, PifiErr *err) {
    if (pifi_mkdirs(dst, err)) return -1;
    DIR *d = opendir(src);
    if (!d) return pifi_errf(err, "%s: cannot read the directory", src);
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, QFILE)) continue;
        char *s = pifi_path_join(src, e->d_name), *t = pifi_path_join(dst, e->d_name);
        if (!s || !t) {
            rc = pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        } else if (pifi_is_dir(s)) {
            if (keep_dir && !strcmp(e->d_name, keep_dir)) rc = copy_dir(s, t, NULL, err);
        } else {
            char *buf = NULL;
            size_t n;
            rc = pifi_read_file(s, (size_t)64 << 30, &buf, &n, err);
            if (rc == 0) rc = pifi_write_file_atomic(t, buf, n, err);
            free(buf);
        }
        free(s);
        free(t);
    }
    closedir(d);
    return rc;
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

/* Bytes of the layer's matrices held now. */
static double layer_mb(const PifiModel *m) {
    if (!m->has_llm) return 0;
    const LlmLayer *l = &m->llm;
    double n = (double)llm_layer_trainable_count(l), rows = (double)l->cfg.D * 2 + l->cfg.FF * 2 +
                                                             (double)l->cfg.NKV * l->cfg.HD * (l->pooled_only ? 1 : 2) +
                                                             (l->pooled_only ? 0 : (double)l->cfg.NH * l->cfg.HD);
    if (l->q8_only) return (n + rows * 4) / 1e6;
    return n * (l->bf16_only ? 2 : 4) / 1e6;
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
    PifiErr err = {0};
    char *qin = pifi_path_join(run, QFILE), *ocfg = pifi_path_join(out, "config.json");
    int qexists = qin && pifi_file_exists(qin), oexists = ocfg && pifi_file_exists(ocfg);
    free(qin);
    free(ocfg);
    if (qexists) return cli_usage_error("quantize", "%s is already quantized", run);
    if (oexists && !overwrite) return cli_usage_error("quantize", "%s exists (pass --overwrite to replace it)", out);

    RunModel rm;
    if (runio_load_run(&rm, run, &err)) return cli_fail(&err);
    int status = 1;
    LoadedData ld;
    memset(&ld, 0, sizeof ld);
    TokData td;
    memset(&td, 0, sizeof td);
    cJSON *cfg = NULL;
    const cJSON *desc = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(rm.cfg, "pifi"), "data");
    int split = -1;
    double acc0 = -1, acc1 = -1, mb0, mb1;
    if (pifi_model_set_precision(&rm.model, prec, 1, &err)) goto fail;
    if (desc) { /* the run's own test split, else its validation split */
        if (data_load(desc, PIFI_SPLIT_BIT(PIFI_SPLIT_TEST) | PIFI_SPLIT_BIT(PIFI_SPLIT_VALID), rm.label_names, rm.K,
                      &ld, &err))
            goto fail;
        split = ld.have[PIFI_SPLIT_TEST] ? PIFI_SPLIT_TEST : ld.have[PIFI_SPLIT_VALID] ? PIFI_SPLIT_VALID : -1;
    }
    if (split >= 0 && (tokdata_build(&td, rm.tk, &ld.split[split], rm.opts.max_len, &err) ||
                       accuracy(&rm, &td, batch, &acc0, &err)))
        goto fail;
    mb0 = layer_mb(&rm.model);
    if (pifi_model_quantize(&rm.model, all, &err)) goto fail;
    mb1 = layer_mb(&rm.model);
    if (split >= 0 && accuracy(&rm, &td, batch, &acc1, &err)) goto fail;

    /* OUT: the run's files, the int8 tensors, the record in config.json */
    char *q = NULL, *cp = NULL;
    int rc = copy_dir(run, out, "llm_layer", &err);
    if (rc == 0) {
        q = pifi_path_join(out, QFILE);
        cp = pifi_path_join(out, "config.json");
        rc = q && cp ? pifi_model_save_quantized(&rm.model, q, &err) : pifi_errk(&err, PIFI_ERR_RUNTIME, "out of memory");
    }
    if (rc == 0) rc = pifi_json_load(cp, 1 << 22, &cfg, &err);
    if (rc == 0) {
        cJSON *p = cJSON_GetObjectItemCaseSensitive(cfg, "pifi");
        cJSON_DeleteItemFromObjectCaseSensitive(p, "quantized");
        cJSON *qj = cJSON_AddObjectToObject(p, "quantized");
        cJSON_AddStringToObject(qj, "file", QFILE);
        cJSON_AddStringToObject(qj, "scheme", "int8 weights, one fp32 scale per output row (absmax / 127)");
        cJSON_AddStringToObject(qj, "what", all ? "LLM layer and SLM linear layers" : "LLM layer");
        cJSON_AddStringToObject(qj, "from", run);
        if (split >= 0) {
            cJSON_AddStringToObject(qj, "split", split_name((PifiSplit)split));
            cJSON_AddStringToObject(qj, "eval_precision", pifi_precision_name(prec));
            cJSON_AddNumberToObject(qj, "accuracy_before", acc0);
            cJSON_AddNumberToObject(qj, "accuracy_after", acc1);
        }
        rc = runio_write_json(cp, cfg, &err);
    }
    free(q);
    free(cp);
    if (rc) goto fail;
    if (json) {
        printf("{\"run\":");
        cli_json_string(stdout, out);
        printf(",\"all\":%s,\"layer_mb_before\":%.2f,\"layer_mb_after\":%.2f", all ? "true" : "false", mb0, mb1);
        if (split >= 0)
            printf(",\"split\":\"%s\",\"n\":%lld,\"accuracy_before\":%.6f,\"accuracy_after\":%.6f,\"accuracy_change\":%.6f",
                   split_name((PifiSplit)split), (long long)td.n, acc0, acc1, acc1 - acc0);
        printf("}\n");
    } else {
        printf("%s: int8 %s; the LLM layer's matrices %.1f MB (%s) -> %.1f MB (int8 + scales)\n", out,
               all ? "LLM layer and SLM linear layers" : "LLM layer", mb0, pifi_precision_name(prec), mb1);
        if (split >= 0)
            printf("accuracy on %s (%lld examples, %s): %.4f -> %.4f (%+.2f points)\n", split_name((PifiSplit)split),
                   (long long)td.n, pifi_precision_name(prec), acc0, acc1, 100 * (acc1 - acc0));
        else
            printf("the run records no data with a test or validation split: accuracy not measured\n");
    }
    status = 0;
fail:
    if (status) status = cli_fail(&err);
    cJSON_Delete(cfg);
    tokdata_free(&td);
    data_free(&ld);
    runio_free_run(&rm);
    return status;
}
