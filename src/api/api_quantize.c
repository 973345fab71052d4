/* api_quantize.c: include/pifi.h's int8 quantization of a trained run: the
 * run loaded, its accuracy measured on its own test (else validation) split,
 * the model quantized (pifi_model_quantize), measured again, and written in
 * int8 form (train/runio_int8.h). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/api_internal.h"
#include "data/data_spec.h"
#include "pifi/fileio.h"
#include "pifi/metrics.h"
#include "train/runio_int8.h"
#include "train/tokdata.h"

pifi_quantize_params pifi_quantize_default_params(void) {
    pifi_quantize_params p = {0, 0, PIFI_PRECISION_AUTO, 64};
    return p;
}

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

/* The output directory may be written: not the run itself, not a run
 * unless overwrite, else absent or an empty directory. */
static int check_out(const char *run_dir, const char *out_dir, int overwrite, PifiErr *err) {
    char rp[4096], op[4096];
    if (realpath(run_dir, rp) && realpath(out_dir, op) && !strcmp(rp, op))
        return pifi_errf(err, "%s: the output must differ from the run", out_dir);
    char *ocfg = pifi_path_join(out_dir, "config.json");
    int oexists = ocfg && pifi_file_exists(ocfg);
    free(ocfg);
    if (oexists && !overwrite) return pifi_errf(err, "%s exists (pass --overwrite to replace it)", out_dir);
    struct stat ost;
    if (!oexists && stat(out_dir, &ost) == 0 && !(S_ISDIR(ost.st_mode) && pifi_dir_is_empty(out_dir)))
        return pifi_errf(err, "%s exists and is not a run or an empty directory", out_dir);
    return 0;
}

pifi_status pifi_quantize(const char *run_dir, const char *out_dir, const pifi_quantize_params *params,
                          pifi_quantize_result *res, pifi_error *err) {
    pifi_quantize_params p = params ? *params : pifi_quantize_default_params();
    PifiErr e = {0};
    PifiPrecision prec;
    memset(res, 0, sizeof *res);
    if (p.batch <= 0) p.batch = 64;
    if (api_precision(p.precision, &prec, &e) || check_out(run_dir, out_dir, p.overwrite, &e)) return api_fail(&e, err);
    RunModel rm;
    if (runio_load_run(&rm, run_dir, &e)) return api_fail(&e, err);
    if (rm.opts.span) {
        runio_free_run(&rm);
        pifi_errf(&e, "%s: a question answering run cannot be quantized yet (its check is a classifier's)", run_dir);
        return api_fail(&e, err);
    }
    LoadedData ld;
    memset(&ld, 0, sizeof ld);
    TokData td;
    memset(&td, 0, sizeof td);
    cJSON *rec = NULL;
    int rc = -1, split = -1;
    if (rm.int8) {
        pifi_errf(&e, "%s is already an int8 run", run_dir);
        goto out;
    }
    if (!rm.model.has_llm && !p.all) {
        pifi_errf(&e, "%s (method %s) has no LLM layer: pass --all to quantize the SLM", run_dir,
                  method_name(rm.opts.method));
        goto out;
    }
    const cJSON *desc = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(rm.cfg, "pifi"), "data");
    double acc0 = -1, acc1 = -1;
    res->weights_mb_fp32 = fp32_mb(&rm.model);
    if (pifi_model_set_precision(&rm.model, prec, 1, &e)) goto out;
    if (desc) { /* the run's own test split, else its validation split */
        if (data_load(desc, PIFI_SPLIT_BIT(PIFI_SPLIT_TEST) | PIFI_SPLIT_BIT(PIFI_SPLIT_VALID), rm.label_names, rm.K,
                      &ld, &e))
            goto out;
        split = ld.have[PIFI_SPLIT_TEST] ? PIFI_SPLIT_TEST : ld.have[PIFI_SPLIT_VALID] ? PIFI_SPLIT_VALID : -1;
    }
    if (split >= 0 && (tokdata_build(&td, rm.tk, &ld.split[split], rm.opts.max_len, &e) ||
                       accuracy(&rm, &td, p.batch, &acc0, &e)))
        goto out;
    if (pifi_model_quantize(&rm.model, p.all, &e)) goto out;
    if (split >= 0 && accuracy(&rm, &td, p.batch, &acc1, &e)) goto out;

    rec = cJSON_CreateObject();
    if (!rec) {
        pifi_errk(&e, PIFI_ERR_RUNTIME, "out of memory");
        goto out;
    }
    cJSON_AddStringToObject(rec, "scheme", "int8 weights, one fp32 scale per row (absmax / 127)");
    if (split >= 0) {
        cJSON_AddStringToObject(rec, "split", split_name((PifiSplit)split));
        cJSON_AddStringToObject(rec, "eval_precision", pifi_precision_name(prec));
        cJSON_AddNumberToObject(rec, "accuracy_before", acc0);
        cJSON_AddNumberToObject(rec, "accuracy_after", acc1);
    }
    if (runio_write_int8(&rm, run_dir, out_dir, p.overwrite, rec, &e)) goto out;
    res->weight_files_mb = file_mb(out_dir, "model.safetensors") + file_mb(out_dir, "llm_layer/model.safetensors");
    res->what = p.all ? (rm.model.has_llm ? "LLM layer, SLM linear layers and word embeddings"
                                          : "SLM linear layers and word embeddings")
                      : "LLM layer";
    res->precision = pifi_precision_name(prec);
    if (split >= 0) {
        res->split = split_name((PifiSplit)split);
        res->n = (long long)td.n;
        res->accuracy_before = acc0, res->accuracy_after = acc1;
    }
    rc = 0;
out:
    cJSON_Delete(rec);
    tokdata_free(&td);
    data_free(&ld);
    runio_free_run(&rm);
    return rc ? api_fail(&e, err) : PIFI_OK;
}
