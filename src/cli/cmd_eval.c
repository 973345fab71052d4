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
#include "cli/progress.h"
#include "pifi.h"

static const char *HELP =
    "usage: pifi eval RUN_DIR [--task NAME [--split test|valid|train] | --data FILE] [options]\n"
    "\n"
    "Evaluate a trained run: accuracy, macro-F1, Matthews correlation, per-class\n"
    "precision/recall/F1 and the confusion matrix, computed over the whole split;\n"
    "a question answering run (--task xquad_en, squad): the official SQuAD v1.1\n"
    "exact match and F1 of its answers.\n"
    "Without data flags, the run's own task (or test file) is used. Another task\n"
    "with the same classes gives cross-domain evaluation (e.g. a run trained on\n"
    "sst2 evaluated with --task cr): its classes are matched to the run's by name\n"
    "(exactly, else ignoring case), or by index when the run's classes are the\n"
    "integers 0..K-1 (a note on stderr and \"label_note\" in --json say so).\n"
    "A generation run (pifi train --task multi30k, ...): its search decodes the\n"
    "split's sources; sacreBLEU's BLEU (13a, with BLEU-1..4) and chrF2 against the\n"
    "targets, and the teacher-forced loss (--data FILE: a seq2seq TSV/CSV/JSONL\n"
    "with --source-col, --target-col; --output F writes the decoded texts).\n"
    "Progress goes to stderr.\n"
    "\n"
    "options:\n"
    "  --task NAME      a named task, its --split (default test)\n"
    "  --data-dir DIR   the data root of --task (default $PIFI_DATA, else the run's\n"
    "                   data root when it has the task, else ~/.cache/pifi/data)\n"
    "  --data FILE      a TSV/CSV/JSONL file with --text-col, --text-pair-col, --label-col\n"
    "                   (a question answering run: a SQuAD v1.1 JSON or JSON Lines file,\n"
    "                   scored by the official exact match and F1)\n"
    "  --source-col C --target-col C   a generation run's --data columns\n"
    "  --output F       a generation run: write the decoded texts to F, a line each\n"
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
    int started;
} EvalProgress;

static void eval_progress(const pifi_progress *pp, void *user) {
    EvalProgress *ep = user;
    if (pp->step == 0) { /* the start: the clock of the ETA starts now */
        progress_init(&ep->p, pp->steps, 0);
        ep->p.mean_only = 1;
        ep->started = 1;
        return;
    }
    double el = pp->elapsed_s;
    progress_update(&ep->p, pp->phase, pp->step, pp->loss_mean, pp->loss_mean, el > 0 ? pp->done / el : 0.0);
    if (pp->done == pp->total) progress_flush(&ep->p); /* the last batch is always shown, once */
}

static void eval_log(const char *line, void *user) {
    (void)user;
    fprintf(stderr, "pifi: eval: %s\n", line);
}

static const char *output_path; /* --output F: a generation run's decoded texts */

/* Decoding's progress: sentences, no loss. */
static void gen_progress(const pifi_progress *pp, void *user) {
    EvalProgress *ep = user;
    if (pp->event == PIFI_PROGRESS_BEGIN) {
        progress_init(&ep->p, pp->total, 0);
        ep->p.decoding = 1;
        ep->started = 1;
    } else if (pp->event == PIFI_PROGRESS_STEP) {
        progress_update(&ep->p, "decoding", pp->done, 0, 0, pp->examples_per_s);
        if (pp->done == pp->total) progress_flush(&ep->p);
    }
}

/* `pifi eval` of a generation run: its scores on a split, the texts to --output. */
static int eval_generation(const char *run_path, const DataArgs *da, int split, int batch, PifiPrecision prec,
                           int json) {
    if (da->text_col || da->pair_col || da->label_col)
        return cli_usage_error("eval", "a generation run's file names its columns with --source-col and --target-col");
    pifi_run_params rp = pifi_run_default_params();
    rp.precision = cli_api_precision(prec), rp.batch = batch;
    pifi_generator *g;
    pifi_error err;
    if (pifi_generator_open(run_path, &rp, &g, &err)) return cli_fail_api(&err);
    pifi_data data = {0};
    data.task = da->task, data.data_dir = da->data_dir, data.test = da->test;
    data.source_col = da->source_col, data.target_col = da->target_col;
    EvalProgress ep = {0};
    pifi_callbacks cb = {.progress = gen_progress, .log = eval_log, .user = &ep};
    pifi_generation_scores sc;
    char **texts = NULL;
    pifi_status st = pifi_generator_evaluate(g, &data, (pifi_split)split, NULL, &cb, &sc, output_path ? &texts : NULL,
                                             &err);
    if (ep.started) progress_finish(&ep.p);
    pifi_generator_close(g);
    if (st) return cli_fail_api(&err);
    int rc = 0;
    if (texts) {
        FILE *f = fopen(output_path, "w");
        for (long long i = 0; f && i < sc.n; i++) fprintf(f, "%s\n", texts[i]);
        if (!f || fclose(f)) rc = fprintf(stderr, "pifi: eval: cannot write %s\n", output_path) > 0;
        for (long long i = 0; i < sc.n; i++) pifi_text_free(texts[i]);
        free(texts);
    }
    const char *sname = split == PIFI_SPLIT_TEST ? "test" : split == PIFI_SPLIT_VALID ? "valid" : "train";
    const char *what = da->task ? da->task : da->test ? da->test : "its own task";
    if (json) {
        printf("{\"run\":");
        cli_json_string(stdout, run_path);
        printf(",\"data\":");
        cli_json_string(stdout, what);
        printf(",\"split\":\"%s\",\"n\":%lld,\"loss\":%.6f,\"bleu\":%.6f,\"chrf\":%.6f,\"bleu_1\":%.6f,"
               "\"bleu_2\":%.6f,\"bleu_3\":%.6f,\"bleu_4\":%.6f,\"bleu_bp\":%.6f}\n",
               sname, sc.n, sc.loss, sc.bleu, sc.chrf, sc.bleu_precisions[0], sc.bleu_precisions[1],
               sc.bleu_precisions[2], sc.bleu_precisions[3], sc.bleu_bp);
    } else {
        printf("%s on %s, %s split (%lld sentences)\n", run_path, what, sname, sc.n);
        printf("BLEU %.2f (sacreBLEU 13a; 1-4 gram precisions %.1f/%.1f/%.1f/%.1f, BP %.3f)  chrF2 %.2f  loss %.4f\n",
               sc.bleu, sc.bleu_precisions[0], sc.bleu_precisions[1], sc.bleu_precisions[2], sc.bleu_precisions[3],
               sc.bleu_bp, sc.chrf, sc.loss);
    }
    return rc;
}

int cmd_eval(int argc, char **argv) {
    enum { O_TASK = 256, O_DATA_DIR, O_DATA, O_SPLIT, O_BATCH, O_JSON, O_TEXT, O_PAIR, O_LABEL, O_PRECISION, O_THREADS,
           O_MAX_MEMORY, O_SOURCE_COL, O_TARGET_COL, O_OUTPUT };
    static const struct option LONG[] = {
        {"task", 1, 0, O_TASK},   {"data-dir", 1, 0, O_DATA_DIR}, {"data", 1, 0, O_DATA},
        {"split", 1, 0, O_SPLIT}, {"batch", 1, 0, O_BATCH},       {"json", 0, 0, O_JSON},
        {"text-col", 1, 0, O_TEXT}, {"text-pair-col", 1, 0, O_PAIR}, {"label-col", 1, 0, O_LABEL},
        {"precision", 1, 0, O_PRECISION}, {"threads", 1, 0, O_THREADS},
        {"max-memory", 1, 0, O_MAX_MEMORY}, {"source-col", 1, 0, O_SOURCE_COL}, {"target-col", 1, 0, O_TARGET_COL},
        {"output", 1, 0, O_OUTPUT},
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
        case O_SOURCE_COL: da.source_col = optarg; break;
        case O_TARGET_COL: da.target_col = optarg; break;
        case O_OUTPUT: output_path = optarg; break;
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
    const char *run_path = argv[optind];
    if (!da.task && da.test && split != PIFI_SPLIT_TEST)
        return cli_usage_error("eval", "--split applies to --task, not --data");
    if (pifi_is_generation_run(run_path)) return eval_generation(run_path, &da, split, batch, prec, json);
    pifi_error err;
    pifi_run *run;
    pifi_run_params rp = pifi_run_default_params();
    rp.precision = cli_api_precision(prec);
    rp.batch = batch;
    if (pifi_run_open(run_path, &rp, &run, &err)) return cli_fail_api(&err);
    pifi_data data = {0};
    data.task = da.task;
    data.data_dir = da.data_dir;
    data.test = da.test;
    data.text_col = da.text_col, data.pair_col = da.pair_col, data.label_col = da.label_col;
    EvalProgress ep = {0};
    pifi_eval *ev;
    pifi_callbacks cb = {.progress = eval_progress, .log = eval_log, .user = &ep};
    pifi_status st = pifi_evaluate(run, &data, (pifi_split)split, batch, &cb, &ev, &err);
    if (ep.started) progress_finish(&ep.p);
    if (st) {
        pifi_run_close(run);
        fprintf(stderr, "pifi: eval: %s\n", err.message);
        return st == PIFI_E_RUNTIME ? 1 : 2;
    }
    const int K = pifi_run_num_classes(run);
    const char *task = pifi_eval_task(ev), *what = pifi_eval_source(ev), *note = pifi_eval_note(ev);
    const char *sname = split_name((PifiSplit)split);
    if (pifi_eval_f1(ev) >= 0) { /* a QA run: the official SQuAD v1.1 metrics */
        if (json) {
            printf("{\"run\":");
            cli_json_string(stdout, run_path);
            printf(",\"source\":");
            cli_json_string(stdout, what);
            printf(",\"split\":\"%s\",\"n\":%lld,\"loss\":%.6f,\"exact_match\":%.6f,\"f1\":%.6f}\n", sname,
                   pifi_eval_count(ev), pifi_eval_loss(ev), pifi_eval_exact_match(ev), pifi_eval_f1(ev));
        } else {
            printf("%s on %s%s%s: %lld questions\n", run_path, what, task ? " " : "", task ? sname : "",
                   pifi_eval_count(ev));
            printf("exact match %.2f  F1 %.2f (SQuAD v1.1, %%)  loss %.4f\n", pifi_eval_exact_match(ev),
                   pifi_eval_f1(ev), pifi_eval_loss(ev));
        }
        pifi_eval_free(ev);
        pifi_run_close(run);
        return 0;
    }
    if (json) {
        printf("{\"run\":");
        cli_json_string(stdout, run_path);
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
               sname, pifi_eval_count(ev), pifi_eval_loss(ev), pifi_eval_accuracy(ev), pifi_eval_macro_f1(ev),
               pifi_eval_mcc(ev));
        for (int k = 0; k < K; k++) {
            pifi_class_scores s = pifi_eval_class(ev, k);
            printf("%s{\"label\":", k ? "," : "");
            cli_json_string(stdout, pifi_run_label(run, k));
            printf(",\"precision\":%.6f,\"recall\":%.6f,\"f1\":%.6f,\"support\":%lld}", s.precision, s.recall, s.f1,
                   s.support);
        }
        printf("],\"confusion\":[");
        for (int i = 0; i < K; i++) {
            printf("%s[", i ? "," : "");
            for (int j = 0; j < K; j++) printf("%s%lld", j ? "," : "", pifi_eval_confusion(ev, i, j));
            printf("]");
        }
        printf("]}\n");
    } else {
        if (task) printf("%s on task %s, %s split (%lld examples)\n", run_path, task, sname, pifi_eval_count(ev));
        else printf("%s on file %s (%lld examples)\n", run_path, what, pifi_eval_count(ev));
        if (note[0]) printf("note: %s\n", note);
        printf("accuracy %.4f  macro-F1 %.4f  MCC %.4f  loss %.4f\n\n", pifi_eval_accuracy(ev), pifi_eval_macro_f1(ev),
               pifi_eval_mcc(ev), pifi_eval_loss(ev));
        printf("%-16s %9s %9s %9s %9s\n", "class", "precision", "recall", "f1", "support");
        for (int k = 0; k < K; k++) {
            pifi_class_scores s = pifi_eval_class(ev, k);
            printf("%-16.16s %9.4f %9.4f %9.4f %9lld\n", pifi_run_label(run, k), s.precision, s.recall, s.f1,
                   s.support);
        }
        printf("\nconfusion (rows: true, columns: predicted)\n");
        for (int i = 0; i < K; i++) {
            printf("%-16.16s", pifi_run_label(run, i));
            for (int j = 0; j < K; j++) printf(" %7lld", pifi_eval_confusion(ev, i, j));
            printf("\n");
        }
    }
    pifi_eval_free(ev);
    pifi_run_close(run);
    return 0;
}
