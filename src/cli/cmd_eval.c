/* cmd_eval.c: `pifi eval RUN_DIR`: metrics of a trained run on a split of a
 * task (its own, or another for cross-domain evaluation, the task's classes
 * matched to the run's by name in the data layer) or on a file, with progress
 * on stderr. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/compute_args.h"
#include "cli/data_args.h"
#include "train/memest.h"
#include "cli/progress.h"
#include "train/runio.h"

static const char *HELP =
    "usage: pifi eval RUN_DIR [--task NAME [--split test|valid|train] | --data FILE] [options]\n"
    "\n"
    "Evaluate a trained run: accuracy, macro-F1, Matthews correlation, per-class\n"
    "precision/recall/F1 and the confusion matrix, computed over the whole split.\n"
    "Without data flags, the run's own task (or test file) is used. Another task\n"
    "with the same classes gives cross-domain evaluation (e.g. a run trained on\n"
    "sst2 evaluated with --task cr): its classes are matched to the run's by name\n"
    "(exactly, else ignoring case), or by index when the run's classes are the\n"
    "integers 0..K-1 (a note on stderr and \"label_note\" in --json say so).\n"
    "Progress goes to stderr.\n"
    "\n"
    "options:\n"
    "  --task NAME      a named task, its --split (default test)\n"
    "  --data-dir DIR   the data root of --task (default $PIFI_DATA, else the run's\n"
    "                   data root when it has the task, else ~/.cache/pifi/data)\n"
    "  --data FILE      a TSV/CSV/JSONL file with --text-col, --text-pair-col, --label-col\n"
    "  --split S        test (default), valid or train\n"
    "  --batch N        examples per forward pass (default 64)\n"
    "  --precision P    fp32 | bf16 | auto (default: bf16 where the CPU has it natively)\n"
    "  --threads N      size of the thread pool (default: OMP_NUM_THREADS or all cores)\n"
    "  --max-memory SIZE  memory budget (2G, 512M): refuse when the estimate is over it\n"
    "  --json           print the metrics as JSON\n"
    "  -h, --help       this text\n";

/* The progress of the evaluation on stderr (cli/progress.h): one step per batch. */
typedef struct {
    Progress p;
    char phase[64];
    int batch;
} EvalProgress;

static void eval_progress(void *ctx, int64_t done, int64_t total, double loss_sum) {
    EvalProgress *ep = ctx;
    double el = progress_now() - ep->p.t_start;
    int64_t step = (done + ep->batch - 1) / ep->batch;
    double mean = done ? loss_sum / (double)done : 0.0;
    progress_update(&ep->p, ep->phase, step, mean, mean, el > 0 ? done / el : 0.0);
    if (done == total) progress_flush(&ep->p); /* the last batch is always shown, once */
}

int cmd_eval(int argc, char **argv) {
    enum { O_TASK = 256, O_DATA_DIR, O_DATA, O_SPLIT, O_BATCH, O_JSON, O_TEXT, O_PAIR, O_LABEL, O_PRECISION, O_THREADS,
           O_MAX_MEMORY };
    static const struct option LONG[] = {
        {"task", 1, 0, O_TASK},   {"data-dir", 1, 0, O_DATA_DIR}, {"data", 1, 0, O_DATA},
        {"split", 1, 0, O_SPLIT}, {"batch", 1, 0, O_BATCH},       {"json", 0, 0, O_JSON},
        {"text-col", 1, 0, O_TEXT}, {"text-pair-col", 1, 0, O_PAIR}, {"label-col", 1, 0, O_LABEL},
        {"precision", 1, 0, O_PRECISION}, {"threads", 1, 0, O_THREADS},
        {"max-memory", 1, 0, O_MAX_MEMORY},
        {"help", 0, 0, 'h'},      {0, 0, 0, 0},
    };
    PifiPrecision prec = pifi_precision_default();
    DataArgs da = {0};
    int split = PIFI_SPLIT_TEST, batch = 64, json = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = cli_getopt(argc, argv, ":h", LONG, "eval")) != -1) {
        switch (c) {
        case O_TASK: da.task = optarg; break;
        case O_DATA_DIR: da.data_dir = optarg; break;
        case O_DATA: da.test = optarg; break;
        case O_TEXT: da.text_col = optarg; break;
        case O_PAIR: da.pair_col = optarg; break;
        case O_LABEL: da.label_col = optarg; break;
        case O_SPLIT:
            if (!strcmp(optarg, "test")) split = PIFI_SPLIT_TEST;
            else if (!strcmp(optarg, "valid")) split = PIFI_SPLIT_VALID;
            else if (!strcmp(optarg, "train")) split = PIFI_SPLIT_TRAIN;
            else return cli_usage_error("eval", "--split must be test, valid or train, not '%s'", optarg);
            break;
        case O_BATCH: if (cli_parse_int("eval", "--batch", optarg, 1, 1 << 16, &batch)) return 2; break;
        case O_JSON: json = 1; break;
        case O_PRECISION: if (cli_parse_precision("eval", optarg, &prec)) return 2; break;
        case O_THREADS: if (cli_parse_threads("eval", optarg)) return 2; break;
        case O_MAX_MEMORY: if (cli_parse_max_memory("eval", optarg)) return 2; break;
        case 'h': fputs(HELP, stdout); return 0;
        case ':': return cli_usage_error("eval", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("eval", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return cli_usage_error("eval", "expects exactly one RUN_DIR");
    const char *run = argv[optind];
    PifiErr err = {0};
    RunModel rm;
    MemEstimate est;
    if (pifi_memlimit_get() && (memest_run_infer(run, batch, &est, &err) || memlimit_check(&est, &err)))
        return cli_fail(&err);
    if (runio_load_run(&rm, run, &err)) return cli_fail(&err);
    if (pifi_model_set_precision(&rm.model, prec, 1, &err)) {
        runio_free_run(&rm);
        return cli_fail(&err);
    }
    pifi_model_set_packing(&rm.model, 1);
    cJSON *desc = NULL;
    if (da.task || da.test) {
        if (da.test && split != PIFI_SPLIT_TEST) {
            runio_free_run(&rm);
            return cli_usage_error("eval", "--split applies to --task, not --data");
        }
        const cJSON *own = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(rm.cfg, "pifi"), "data"), "data_dir");
        da.run_data_dir = cJSON_IsString(own) ? own->valuestring : NULL;
        desc = data_args_json(&da, "eval");
        if (!desc) {
            runio_free_run(&rm);
            return 2;
        }
    } else {
        desc = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(rm.cfg, "pifi"), "data"), 1);
        if (!desc) {
            runio_free_run(&rm);
            return cli_usage_error("eval", "%s records no data; give --task or --data", run);
        }
    }
    LoadedData ld;
    int status = 0;
    if (data_load(desc, PIFI_SPLIT_BIT(split), rm.label_names, rm.K, &ld, &err)) {
        status = cli_fail(&err);
        goto out_desc;
    }
    if (!ld.have[split]) {
        fprintf(stderr, "pifi: eval: the data has no %s split%s%s\n", split_name((PifiSplit)split),
                ld.is_task ? ": " : "", ld.is_task ? ld.ts.why_missing[split] : "");
        status = 2;
        goto out_data;
    }
    PifiDataset *ds = &ld.split[split];
    if (ds->num_classes != rm.K) {
        fprintf(stderr, "pifi: eval: the data has %d classes but the run was trained on %d\n", ds->num_classes, rm.K);
        status = 2;
        goto out_data;
    }
    /* what is evaluated: a task (its name) or a file (its path) */
    const char *task = ld.is_task ? ld.ts.info->name : NULL;
    const cJSON *file = task ? NULL : cJSON_GetObjectItemCaseSensitive(desc, split_name((PifiSplit)split));
    const char *what = task ? task : cJSON_IsString(file) ? file->valuestring : "?";
    const char *note = ld.is_task ? ld.ts.label_note : "";
    if (note[0]) fprintf(stderr, "pifi: eval: note: %s\n", note);
    TokData td;
    PifiConfusion cm;
    if (tokdata_build(&td, rm.tk, ds, rm.opts.max_len, &err)) {
        status = cli_fail(&err);
        goto out_data;
    }
    double loss = 0;
    EvalProgress ep;
    const char *base = strrchr(what, '/');
    if (task) snprintf(ep.phase, sizeof ep.phase, "eval %.40s %s", task, split_name((PifiSplit)split));
    else snprintf(ep.phase, sizeof ep.phase, "eval %.40s", base ? base + 1 : what);
    ep.batch = batch;
    progress_init(&ep.p, (td.n + batch - 1) / batch, 0);
    ep.p.mean_only = 1;
    if (confusion_init(&cm, rm.K, &err) ||
        trainer_evaluate_progress(&rm.model, &td, batch, &cm, NULL, &loss, rm.opts.label_smoothing, eval_progress,
                                  &ep, &err)) {
        progress_finish(&ep.p);
        status = cli_fail(&err);
        tokdata_free(&td);
        goto out_data;
    }
    progress_finish(&ep.p);
    tokdata_free(&td);
    if (json) {
        printf("{\"run\":");
        cli_json_string(stdout, run);
        printf(",\"task\":");
        if (task) cli_json_string(stdout, task);
        else printf("null");
        printf(",\"data\":");
        if (task) printf("null");
        else cli_json_string(stdout, what);
        if (note[0]) {
            printf(",\"label_note\":");
            cli_json_string(stdout, note);
        }
        printf(",\"split\":\"%s\",\"n\":%lld,\"loss\":%.6f,\"accuracy\":%.6f,\"macro_f1\":%.6f,\"mcc\":%.6f,\"classes\":[",
               split_name((PifiSplit)split), (long long)cm.n, loss, metric_accuracy(&cm), metric_macro_f1(&cm),
               metric_mcc(&cm));
        for (int k = 0; k < rm.K; k++) {
            PifiClassScores s = metric_class(&cm, k);
            printf("%s{\"label\":", k ? "," : "");
            cli_json_string(stdout, rm.label_names[k]);
            printf(",\"precision\":%.6f,\"recall\":%.6f,\"f1\":%.6f,\"support\":%lld}", s.precision, s.recall, s.f1,
                   (long long)s.support);
        }
        printf("],\"confusion\":[");
        for (int i = 0; i < rm.K; i++) {
            printf("%s[", i ? "," : "");
            for (int j = 0; j < rm.K; j++) printf("%s%lld", j ? "," : "", (long long)cm.counts[i * rm.K + j]);
            printf("]");
        }
        printf("]}\n");
    } else {
        if (task) printf("%s on task %s, %s split (%lld examples)\n", run, task, split_name((PifiSplit)split), (long long)cm.n);
        else printf("%s on file %s (%lld examples)\n", run, what, (long long)cm.n);
        if (note[0]) printf("note: %s\n", note);
        printf("accuracy %.4f  macro-F1 %.4f  MCC %.4f  loss %.4f\n\n", metric_accuracy(&cm), metric_macro_f1(&cm),
               metric_mcc(&cm), loss);
        printf("%-16s %9s %9s %9s %9s\n", "class", "precision", "recall", "f1", "support");
        for (int k = 0; k < rm.K; k++) {
            PifiClassScores s = metric_class(&cm, k);
            printf("%-16.16s %9.4f %9.4f %9.4f %9lld\n", rm.label_names[k], s.precision, s.recall, s.f1,
                   (long long)s.support);
        }
        printf("\nconfusion (rows: true, columns: predicted)\n");
        for (int i = 0; i < rm.K; i++) {
            printf("%-16.16s", rm.label_names[i]);
            for (int j = 0; j < rm.K; j++) printf(" %7lld", (long long)cm.counts[i * rm.K + j]);
            printf("\n");
        }
    }
    confusion_free(&cm);
out_data:
    data_free(&ld);
out_desc:
    cJSON_Delete(desc);
    runio_free_run(&rm);
    return status;
}
