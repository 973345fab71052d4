/* cmd_train.c: `pifi train`: fine-tune a classifier with one of the paper's
 * methods, or continue one with --resume, through include/pifi.h
 * (pifi_train, pifi_train_resume; under mpirun with pifi_dist). The flags
 * are the option table's rows (train/train_options.h) and the model's and
 * data's own. Lists (--seeds, --layer -1,-2) make -o a directory of runs,
 * trained and summarised by the experiment runner (src/exp/) as the grid of
 * those cells; --eval-task adds the cross-domain evaluation. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#ifdef PIFI_HAVE_MPI
#include <mpi.h>
#endif

#include "cli/cli.h"
#include "cli/compute_args.h"
#include "cli/data_args.h"
#include "cli/progress.h"
#include "cli/train_grid.h"
#include "data/tasks_desc.h"
#include "models/encoders/encoder_family.h"
#include "exp/grid.h"
#include "pifi/fileio.h"
#include "train/dist.h"
#include "cli/stopsig.h"
#include "train/train_options.h"

/* --help: these parts around the option table's groups (train/train_options.h). */
static const char *const HELP_HEAD =
    "usage: pifi train --slm DIR [--llm PATH --layer N | --llm-layer DIR] DATA -o RUN_DIR [options]\n"
    "       pifi train --resume RUN_DIR [--precision P --threads N --max-memory SIZE\n"
    "                                    --grad-accum K --keep-checkpoint yes|no]\n"
    "\n"
    "Fine-tune a classifier: the SLM (an encoder such as BERT/RoBERTa/MiniLM, or a\n"
    "decoder-only LM such as SmolLM2, pooled at its last real token), a\n"
    "frozen decoder layer of an LLM plugged between its CLS vector and its head\n"
    "(PiFi), and the head. The defaults reproduce the authors' code: Adam, lr 5e-5,\n"
    "3 epochs, batch 32, max length 100, head dropout 0.2, label smoothing 0.05,\n"
    "clipping at 5, seed 2023, best epoch by validation accuracy.\n"
    "\n"
    "model:\n"
    "  --slm DIR             the small model: a Hugging Face directory or a GGUF file whose\n"
    "                        model_type is one of ";
/* (here: the families' model types, from their registry) */
static const char *const HELP_MODEL =
    "  --llm PATH            the LLM whose layer is plugged in (HF dir or .gguf) ...\n"
    "  --layer N[,N...]      ... and which layer (default -1, the last); a list trains\n"
    "                        one run per layer (the paper's layer-position sweep)\n"
    "  --llm-layer DIR       or a layer extracted with `pifi extract`\n"
    "  --method M            base | pifi (default) | pifi-unfrozen | pifi-random | lora |\n"
    "                        llm-layer-only (no --slm: the LLM's embeddings and its layer\n"
    "                        N, frozen, feed the head; docs/methods.md)\n";
static const char *const HELP_DATA =
    "data:\n"
    "  --task NAME           a named task (sst2, cola, imdb, ...; docs/tasks.md), data from\n"
    "  --data-dir DIR        ... this directory (default $PIFI_DATA or ~/.cache/pifi/data)\n"
    "  --train F --valid F --test F   your own TSV/CSV/JSONL files, with\n"
    "  --text-col C --text-pair-col C --label-col C   column names or indices\n"
    "  --source-col C --target-col C   a generation task's columns (cnn_dailymail,\n"
    "                        seq2seq: TSV/CSV/JSONL files; docs/generation.md)\n"
    "  --source-prefix S     before each source (default the task's: \"translate English\n"
    "                        to German: \", \"summarize: \"; \"\" for none)\n"
    "  --train-fraction F    train on a seeded stratified fraction of the training set\n"
    "  --skip-bad-rows       leave malformed rows out (counted) instead of stopping\n"
    "optimisation (also the keys of a grid's [train] and of the run's config.json):\n";
static const char *const HELP_SEEDS =
    "  --seeds N,N,...       one run per seed (the paper's: 42,1004,2023,2024,2025); each\n"
    "                        also seeds its --train-fraction subsample, as --seed does\n"
    "compute:\n";
static const char *const HELP_COMPUTE =
    "  --threads N           size of the thread pool (default: OMP_NUM_THREADS or all\n"
    "                        cores; bf16 runs resume bit-identically on the same count)\n"
    CLI_MAX_MEMORY_HELP
    "output:\n"
    "  -o, --out RUN_DIR     the run directory (config.json, model.safetensors,\n"
    "                        train_log.jsonl, metrics.json, checkpoint/)\n"
    "  --overwrite           replace an existing run\n";
static const char *const HELP_TAIL =
    "  --resume RUN_DIR      continue a run after a crash or Ctrl-C, bit-identically; a\n"
    "                        complete run (also one that stopped early) prints its results\n"
    "                        (nothing is trained again)\n"
    "  --eval-task T[,T...]  after training, also test the best model on these tasks'\n"
    "                        test splits (cross-domain: imdb -> tweet_sentiment_binary, cr;\n"
    "                        sst2 -> cr); reported and kept in metrics.json \"eval_tasks\"\n"
    "  --json                print the final result as JSON on stdout\n"
    "  -h, --help            this text\n"
    "\n"
    "Several seeds or layers: RUN_DIR holds one run per (layer, seed) in\n"
    "RUN_DIR/runs/<task>/<method>[-L<layer>]/seed<seed>/ and the summary as `pifi\n"
    "experiment` writes it: results.csv, results.md (mean +- std over seeds per layer)\n"
    "and plots/. Run the same command again to continue after Ctrl-C or a crash: finished\n"
    "runs are kept, interrupted ones resumed (docs/experiments.md).\n"
    "\n"
    "Several processes or machines (data parallel, docs/distributed.md):\n"
    "  mpirun -np 2 pifi train ...   each rank takes its share of every --batch;\n"
    "  the result is the same run (rank 0 writes the run directory).\n";

/* The option table's lines of group g. */
static void put_options(TrainOptGroup g) {
    char buf[16384];
    train_options_help(g, buf, sizeof buf);
    fputs(buf, stdout);
}

/* The model types the family registry reads, wrapped under --slm's line. */
static void put_model_types(void) {
    char list[1024];
    encoder_family_supported(list, sizeof list);
    int col = 24 + (int)strlen("model_type is one of ");
    for (char *w = strtok(list, " "); w; w = strtok(NULL, " ")) {
        int n = (int)strlen(w);
        if (col + 1 + n > 88) printf("\n%24s", ""), col = 24;
        else if (w != list) putchar(' '), col++;
        fputs(w, stdout);
        col += n;
    }
    putchar('\n');
}

static void print_help(void) {
    fputs(HELP_HEAD, stdout);
    put_model_types();
    fputs(HELP_MODEL, stdout);
    put_options(TOPT_G_MODEL);
    fputs(HELP_DATA, stdout);
    put_options(TOPT_G_OPTIM);
    fputs(HELP_SEEDS, stdout);
    put_options(TOPT_G_COMPUTE);
    fputs(HELP_COMPUTE, stdout);
    put_options(TOPT_G_OUTPUT);
    fputs(HELP_TAIL, stdout);
}

enum { /* the options that are not rows of the table; a row's is O_ROW + its index */
    O_SLM = 256, O_LLM, O_LAYER, O_LLM_LAYER, O_METHOD, O_TASK, O_DATA_DIR, O_TRAIN, O_VALID, O_TEST, O_TEXT_COL, O_SOURCE_COL, O_TARGET_COL, O_SOURCE_PREFIX,
    O_PAIR_COL, O_LABEL_COL, O_FRACTION, O_SKIP_BAD, O_OVERWRITE, O_RESUME, O_JSON, O_THREADS, O_SEEDS, O_EVAL_TASK,
    O_MAX_MEMORY, O_ROW = 1024,
};

static int parse_float(const char *flag, const char *s, double lo, double hi, float *out) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi)) {
        cli_usage_error("train", "%s expects a number in [%g, %g], got '%s'", flag, lo, hi, s);
        return -1;
    }
    *out = (float)v;
    return 0;
}

/* A comma-separated list of distinct integers in [lo, hi] ("42,1004,2023");
 * 2 after a usage error. */
static int parse_int_list(const char *flag, const char *s, int lo, int hi, int *out, int *n) {
    *n = 0;
    for (const char *p = s;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char item[32], *end;
        if (len == 0) return cli_usage_error("train", "%s: empty entry in '%s' (a list is N,N,...)", flag, s);
        snprintf(item, sizeof item, "%.*s", (int)(len < sizeof item ? len : sizeof item - 1), p);
        errno = 0;
        long v = strtol(item, &end, 10);
        if (len >= sizeof item || errno || *end || v < lo || v > hi)
            return cli_usage_error("train", "%s: '%.*s' is not an integer in %d..%d", flag, (int)len, p, lo, hi);
        for (int i = 0; i < *n; i++)
            if (out[i] == v) return cli_usage_error("train", "%s: %ld is listed twice in '%s'", flag, v, s);
        if (*n == GRID_MAX_LIST) return cli_usage_error("train", "%s: more than %d entries", flag, GRID_MAX_LIST);
        out[(*n)++] = (int)v;
        if (!e) return 0;
        p = e + 1;
    }
}

/* --eval-task T[,T...] (repeatable): registry names into out (static). */
static int parse_task_list(const char *s, const char **out, int *n) {
    for (const char *p = s;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char item[64];
        if (len == 0) return cli_usage_error("train", "--eval-task: empty entry in '%s'", s);
        snprintf(item, sizeof item, "%.*s", (int)(len < sizeof item ? len : sizeof item - 1), p);
        const PifiTaskInfo *ti = len < sizeof item ? task_find(item) : NULL;
        if (!ti)
            return cli_usage_error("train", "--eval-task: unknown task '%.*s' (`pifi data list` lists them)", (int)len, p);
        for (int i = 0; i < *n; i++)
            if (out[i] == ti->name) return cli_usage_error("train", "--eval-task: %s is listed twice", ti->name);
        if (*n == GRID_MAX_LIST) return cli_usage_error("train", "--eval-task: more than %d tasks", GRID_MAX_LIST);
        out[(*n)++] = ti->name;
        if (!e) return 0;
        p = e + 1;
    }
}

/* A grid's --eval-task tasks: each can test a run on the training data's classes. */
static int check_eval_tasks(const DataArgs *da, const PifiDataset *train) {
    PifiErr e = {0};
    if (task_eval_tasks_check(da->eval_tasks, da->n_eval_tasks, da->task, da->data_dir,
                              (const char *const *)train->label_names, train->num_classes, cli_log, NULL, &e))
        return cli_usage_error("train", "%s", e.msg);
    return 0;
}

/* The run's result: one line (and the test metrics), or --json. The best
 * epoch may be the partial one --max-steps stopped in. */
static void print_result(const pifi_train_result *r, const char *run, int json) {
    if (json) {
        printf("{\"run\":");
        cli_json_string(stdout, run);
        printf(",\"method\":\"%s\",\"steps\":%lld,\"best_epoch\":%lld,\"best_epoch_partial\":%s", r->method, r->steps,
               r->best_epoch, r->best_partial ? "true" : "false");
        if (r->best_partial) printf(",\"best_epoch_steps\":%lld,\"steps_per_epoch\":%lld", r->partial_steps, r->steps_per_epoch);
        printf(",\"valid_%s\":%.6f,\"test_accuracy\":%.6f,\"test_macro_f1\":%.6f,\"test_mcc\":%.6f,"
               "\"seconds\":%.1f,\"complete_already\":%s", r->metric_for_best, r->best_valid, r->test_accuracy,
               r->test_macro_f1, r->test_mcc, r->seconds, r->complete_already ? "true" : "false");
        if (r->test_f1 >= 0) printf(",\"test_exact_match\":%.6f,\"test_f1\":%.6f", r->test_exact_match, r->test_f1);
        if (r->test_bleu >= 0) printf(",\"test_bleu\":%.6f,\"test_chrf\":%.6f", r->test_bleu, r->test_chrf);
        if (r->stopped_early) printf(",\"stopped_early_after_epoch\":%lld", r->stopped_early);
        if (r->n_eval_tasks) {
            printf(",\"eval_tasks\":{");
            for (int i = 0; i < r->n_eval_tasks; i++) {
                const pifi_task_scores *t = &r->eval_tasks[i];
                printf("%s\"%s\":{\"task\":\"%s\",\"split\":\"test\",\"n\":%lld,\"loss\":%.17g,\"accuracy\":%.17g,"
                       "\"macro_f1\":%.17g,\"mcc\":%.17g,\"seconds\":%.3f}", i ? "," : "", t->task, t->task, t->n,
                       t->loss, t->accuracy, t->macro_f1, t->mcc, t->seconds);
            }
            printf("}");
        }
        printf("}\n");
        return;
    }
    printf("%s: method %s, %lld steps", run, r->method, r->steps);
    if (r->complete_already) printf(" (complete already: nothing trained or evaluated now)");
    else printf(" in %.1f s", r->seconds);
    if (r->best_partial) {
        printf(", stopped at step %lld of epoch %lld (--max-steps; %lld steps an epoch)", r->partial_steps,
               r->best_epoch, r->steps_per_epoch);
        if (r->best_valid >= 0) printf("; valid %s %.4f", r->metric_for_best_name, r->best_valid);
    } else {
        printf(", best epoch %lld", r->best_epoch);
        if (r->best_valid >= 0) printf(" (valid %s %.4f)", r->metric_for_best_name, r->best_valid);
        if (r->stopped_early)
            printf("; stopped early after epoch %lld (--early-stopping-patience %d: no better valid %s since)",
                   r->stopped_early, r->early_stopping_patience, r->metric_for_best_name);
        if (r->partial_epoch > 0)
            printf("; stopped at step %lld of epoch %lld (--max-steps)", r->partial_steps, r->partial_epoch);
    }
    printf("\n");
    if (r->test_f1 >= 0) printf("test exact match %.2f  F1 %.2f (SQuAD v1.1, %%)\n", r->test_exact_match, r->test_f1);
    if (r->test_bleu >= 0) printf("test BLEU %.2f  chrF2 %.2f (sacreBLEU, 13a)\n", r->test_bleu, r->test_chrf);
    if (r->test_accuracy >= 0)
        printf("test accuracy %.4f  macro-F1 %.4f  MCC %.4f\n", r->test_accuracy, r->test_macro_f1, r->test_mcc);
    for (int i = 0; i < r->n_eval_tasks; i++) {
        const pifi_task_scores *t = &r->eval_tasks[i];
        printf("on %s (test): accuracy %.4f  macro-F1 %.4f  MCC %.4f\n", t->task, t->accuracy, t->macro_f1, t->mcc);
    }
}

/* Stop every rank of the job (a failure only this rank knows about: the
 * others may be waiting for it); the exit status where MPI_Abort returns. */
static int abort_job(int status) {
    fflush(stderr);
#ifdef PIFI_HAVE_MPI
    int up = 0, down = 0;
    MPI_Initialized(&up);
    MPI_Finalized(&down);
    if (up && !down) MPI_Abort(MPI_COMM_WORLD, status ? status : 1);
#endif
    return status;
}

/* Print a failure once (pifi_dist_reports), and stop the whole job when
 * only this rank knows about it. */
static int report_failure(const pifi_dist *d, const pifi_error *err) {
    int st = err->code == PIFI_E_RUNTIME ? 1 : 2; /* as cli_fail_api */
    if (!d || pifi_dist_reports(d)) cli_fail_api(err);
    return d && pifi_dist_broken(d) ? abort_job(st) : st;
}

/* What the command line set, as the API's options: the table's rows given
 * (their text as given; a flag's and a yes/no's as true/false), and unless
 * resume the model and the rest; --threads and --max-memory. */
typedef struct {
    const unsigned char *given;
    const char *const *arg;
    const TrainOpts *o;
    const char *llm_layer, *threads, *max_memory;
} CliSet;

static pifi_train_options *api_options(const CliSet *c, int resume, pifi_error *err) {
    pifi_train_options *t = pifi_train_options_new();
    if (!t) {
        err->code = PIFI_E_RUNTIME;
        snprintf(err->message, sizeof err->message, "out of memory");
        return NULL;
    }
    const TrainOpts *o = c->o;
    char buf[32];
    const char *k[16], *v[16];
    int n = 0;
    if (!resume) {
        if (o->slm) k[n] = "slm", v[n++] = o->slm; /* none: llm-layer-only */
        k[n] = "method", v[n++] = method_name(o->method);
        if (o->llm && !c->llm_layer) k[n] = "llm", v[n++] = o->llm;
        if (c->llm_layer) k[n] = "llm_layer", v[n++] = c->llm_layer;
        else snprintf(buf, sizeof buf, "%d", o->layer), k[n] = "layer", v[n++] = buf;
        if (o->overwrite) k[n] = "overwrite", v[n++] = "true";
    }
    if (c->threads) k[n] = "threads", v[n++] = c->threads;
    if (c->max_memory) k[n] = "max_memory", v[n++] = c->max_memory;
    for (int i = 0; i < n; i++)
        if (pifi_train_options_set(t, k[i], v[i], err)) goto fail;
    for (int i = 0; i < N_TRAIN_OPTIONS; i++) {
        const TrainOption *r = &TRAIN_OPTIONS[i];
        if (!c->given[i]) continue;
        const char *val = r->type == TOPT_BOOL ? (train_option_get(r, o) ? "true" : "false") : c->arg[i];
        if (pifi_train_options_set(t, r->key, val, err)) goto fail;
    }
    return t;
fail:
    pifi_train_options_free(t);
    return NULL;
}

/* Several seeds or layers: the data checked here, the runs trained by the
 * experiment runner (train_grid.c). */
static int train_grid(const TrainOpts *o, const DataArgs *da, int llm_layer, const int *seeds, int n_seeds,
                      const int *layers, int n_layers, int json) {
    cJSON *data = data_args_json(da, "train");
    if (!data) return 2; /* the message is printed */
    LoadedData ld;
    memset(&ld, 0, sizeof ld);
    PifiErr err = {0};
    int status = 0;
    stop_begin(0); /* blocked before any thread starts, taken between steps (stopsig.h) */
    if (data_load(data, PIFI_SPLITS_ALL, NULL, 0, &ld, &err)) status = cli_fail(&err);
    else if (!ld.have[0]) status = cli_usage_error("train", "the data has no training split");
    else if (da->n_eval_tasks && check_eval_tasks(da, &ld.split[0])) status = 2;
    else if (!ld.have[2])
        status = cli_usage_error("train", "several seeds or layers are compared on the test split: the data has "
                                          "none (give --test FILE)");
    data_free(&ld); /* the data is good: the runner loads it again in each run's process */
    stop_end(); /* this process forwards SIGINT/SIGTERM to each run's (exp_run), which takes them itself */
    if (!status) status = train_grid_run(o, da, data, llm_layer, seeds, n_seeds, layers, n_layers, json);
    cJSON_Delete(data);
    return status;
}

/* Everything the command line says. */
typedef struct {
    TrainOpts o;
    DataArgs da;
    const char *resume, *llm_layer, *threads, *max_memory;
    int json, seed_set, other_flags;
    unsigned char given[TRAIN_OPTIONS_MAX]; /* the table's rows given ... */
    const char *arg[TRAIN_OPTIONS_MAX];     /* ... and their values */
    int seeds[GRID_MAX_LIST], layers[GRID_MAX_LIST], n_seeds, n_layers, n_eval;
    const char *eval_tasks[GRID_MAX_LIST];
} TrainArgs;

/* argv into *a: -1 to go on, else the exit status (--help, a usage error). */
static int parse_args(int argc, char **argv, TrainArgs *a) {
    static const struct option FIXED[] = {
        {"slm", 1, 0, O_SLM}, {"llm", 1, 0, O_LLM}, {"layer", 1, 0, O_LAYER}, {"llm-layer", 1, 0, O_LLM_LAYER},
        {"method", 1, 0, O_METHOD}, {"task", 1, 0, O_TASK}, {"data-dir", 1, 0, O_DATA_DIR}, {"train", 1, 0, O_TRAIN},
        {"valid", 1, 0, O_VALID}, {"test", 1, 0, O_TEST}, {"text-col", 1, 0, O_TEXT_COL},
        {"text-pair-col", 1, 0, O_PAIR_COL}, {"label-col", 1, 0, O_LABEL_COL}, {"train-fraction", 1, 0, O_FRACTION},
        {"source-col", 1, 0, O_SOURCE_COL}, {"target-col", 1, 0, O_TARGET_COL},
        {"source-prefix", 1, 0, O_SOURCE_PREFIX},
        {"skip-bad-rows", 0, 0, O_SKIP_BAD}, {"threads", 1, 0, O_THREADS}, {"out", 1, 0, 'o'},
        {"overwrite", 0, 0, O_OVERWRITE}, {"resume", 1, 0, O_RESUME}, {"json", 0, 0, O_JSON},
        {"seeds", 1, 0, O_SEEDS}, {"eval-task", 1, 0, O_EVAL_TASK}, {"max-memory", 1, 0, O_MAX_MEMORY},
        {"help", 0, 0, 'h'}, {0, 0, 0, 0},
    };
    enum { N_FIXED = sizeof FIXED / sizeof FIXED[0] };
    struct option LONG[TRAIN_OPTIONS_MAX + N_FIXED]; /* the table's rows first (their order names them in "did you mean") */
    int nl = 0;
    for (int i = 0; i < N_TRAIN_OPTIONS && i < TRAIN_OPTIONS_MAX; i++)
        LONG[nl++] = (struct option){TRAIN_OPTIONS[i].flag, TRAIN_OPTIONS[i].flags & TOPT_FLAG ? 0 : 1, 0, O_ROW + i};
    for (int i = 0; i < (int)N_FIXED; i++) LONG[nl++] = FIXED[i];
    const TrainOption *SEED = train_option_by_flag("seed"), *PRECISION = train_option_by_flag("precision");
    TrainOpts *o = &a->o;
    DataArgs *da = &a->da;
    memset(a, 0, sizeof *a);
    train_opts_default(o);
    o->precision = pifi_precision_default();
    da->seed = 2023;
    a->n_layers = 1;
    a->layers[0] = o->layer;
    int c;
    float fv;
    opterr = 0;
    optind = 1;
    while ((c = cli_getopt(argc, argv, ":ho:", LONG, "train")) != -1) {
        if (c >= O_ROW && c < O_ROW + N_TRAIN_OPTIONS) { /* a row of the option table */
            const TrainOption *r = &TRAIN_OPTIONS[c - O_ROW];
            PifiErr perr = {0};
            if (train_option_parse_arg(r, optarg, o, &perr)) return cli_usage_error("train", "%s", perr.msg);
            a->given[c - O_ROW] = 1, a->arg[c - O_ROW] = optarg;
            if (!(r->flags & TOPT_RESUME)) a->other_flags++;
            if (r == SEED) da->seed = (int)o->seed, a->seed_set = 1; /* also the --train-fraction subsample's */
            if (r == PRECISION) cli_note_precision(o->precision);
            continue;
        }
        if (c != O_RESUME && c != O_JSON && c != O_THREADS && c != O_MAX_MEMORY && c != 'h' && c != ':' && c != '?')
            a->other_flags++;
        switch (c) {
        case O_SLM: o->slm = optarg; break;
        case O_LLM: o->llm = optarg; break;
        case O_LLM_LAYER: a->llm_layer = optarg; break;
        case O_LAYER:
            if (!strchr(optarg, ',')) {
                if (cli_parse_int("train", "--layer", optarg, -100000, 100000, &o->layer)) return 2;
                a->layers[0] = o->layer, a->n_layers = 1;
            } else {
                if (parse_int_list("--layer", optarg, -100000, 100000, a->layers, &a->n_layers)) return 2;
                o->layer = a->layers[0];
            }
            break;
        case O_SEEDS: if (parse_int_list("--seeds", optarg, 0, INT_MAX, a->seeds, &a->n_seeds)) return 2; break;
        case O_EVAL_TASK: if (parse_task_list(optarg, a->eval_tasks, &a->n_eval)) return 2; break;
        case O_METHOD:
            if (method_parse(optarg, &o->method))
                return cli_usage_error("train", "--method must be base, pifi, pifi-unfrozen, pifi-random or lora, not '%s'", optarg);
            break;
        case O_TASK: da->task = optarg; break;
        case O_DATA_DIR: da->data_dir = optarg; break;
        case O_TRAIN: da->train = optarg; break;
        case O_VALID: da->valid = optarg; break;
        case O_TEST: da->test = optarg; break;
        case O_TEXT_COL: da->text_col = optarg; break;
        case O_SOURCE_COL: da->source_col = optarg; break;
        case O_TARGET_COL: da->target_col = optarg; break;
        case O_SOURCE_PREFIX: da->source_prefix = optarg; break;
        case O_PAIR_COL: da->pair_col = optarg; break;
        case O_LABEL_COL: da->label_col = optarg; break;
        case O_FRACTION:
            if (parse_float("--train-fraction", optarg, 1e-6, 1, &fv)) return 2;
            da->train_fraction = fv;
            break;
        case O_SKIP_BAD: da->skip_bad_rows = 1; break;
        case O_THREADS: if (cli_parse_threads("train", optarg)) return 2; a->threads = optarg; break;
        case O_MAX_MEMORY: if (cli_parse_max_memory("train", optarg)) return 2; a->max_memory = optarg; break;
        case 'o': o->out = optarg; break;
        case O_OVERWRITE: o->overwrite = 1; break;
        case O_RESUME: a->resume = optarg; break;
        case O_JSON: a->json = 1; break;
        case 'h': print_help(); return 0;
        case ':': return cli_usage_error("train", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("train", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
    return -1;
}

/* The command line's settings checked together, and completed (the seed of
 * a one-seed list, the layer of --llm-layer): -1 to go on, else the exit
 * status of a usage error. */
static int check_args(TrainArgs *a) {
    TrainOpts *o = &a->o;
    const TrainOption *SEED = train_option_by_flag("seed");
    int n_layers = a->n_layers;
    if (a->seed_set && a->n_seeds) return cli_usage_error("train", "give --seed N or --seeds N,N,..., not both");
    if (a->n_seeds == 1) {
        static char one[16];
        snprintf(one, sizeof one, "%d", a->seeds[0]);
        o->seed = (uint64_t)a->seeds[0], a->da.seed = a->seeds[0];
        a->given[SEED - TRAIN_OPTIONS] = 1, a->arg[SEED - TRAIN_OPTIONS] = one;
    }
    if (a->n_seeds == 0) a->seeds[0] = (int)o->seed, a->n_seeds = 1;
    a->da.eval_tasks = a->eval_tasks, a->da.n_eval_tasks = a->n_eval;
    int multi = a->n_seeds > 1 || n_layers > 1; /* -o is a directory of runs */
    if (a->resume && a->other_flags)
        return cli_usage_error("train", "--resume takes every setting from the run's config.json; give no other flags "
                               "(--precision, --threads, --max-memory, --grad-accum and --keep-checkpoint excepted)");
    if (a->resume) {
        char *cp = pifi_path_join(a->resume, "config.json"), *rp = pifi_path_join(a->resume, "runs");
        int grid_dir = cp && rp && !pifi_file_exists(cp) && pifi_is_dir(rp);
        free(cp);
        free(rp);
        if (grid_dir)
            return cli_usage_error("train", "%s holds several runs (--seeds or a --layer list): run the same "
                                            "`pifi train` command again to continue them", a->resume);
        return -1;
    }
    if (!o->slm && !method_llm_as_slm(o->method)) return cli_usage_error("train", "--slm DIR is required");
    if (!o->out) return cli_usage_error("train", "-o RUN_DIR is required");
    if (a->llm_layer && o->llm) return cli_usage_error("train", "give --llm or --llm-layer, not both");
    if (a->llm_layer) {
        o->llm = a->llm_layer;
        o->layer = INT_MIN;
    }
    if (method_has_llm(o->method) && !o->llm)
        return cli_usage_error("train", "--method %s needs --llm PATH (--layer N) or --llm-layer DIR",
                               method_name(o->method));
    if (!method_has_llm(o->method)) o->llm = NULL;
    if (n_layers > 1 && !o->llm)
        return cli_usage_error("train", "--method %s plugs no LLM layer: --layer takes one value", method_name(o->method));
    if (n_layers > 1 && a->llm_layer)
        return cli_usage_error("train", "--layer with several values needs --llm PATH (--llm-layer holds one layer)");
    if (multi && o->overwrite)
        return cli_usage_error("train", "--overwrite: with several seeds or layers the same command continues the "
                                        "runs in %s; remove it to start again", o->out);
    if (multi && dist_launched())
        return cli_usage_error("train", "several seeds or layers train one run after another in one process; "
                                        "start one mpirun per --seed instead");
    int st = n_layers > 1 ? train_grid_check_layers(o->llm, a->layers, n_layers) : 0;
    return st ? st : -1;
}

/* The data flags as the API's. */
static pifi_data api_data(const DataArgs *da) {
    pifi_data d = {0};
    d.task = da->task, d.data_dir = da->data_dir;
    d.train = da->train, d.valid = da->valid, d.test = da->test;
    d.text_col = da->text_col, d.pair_col = da->pair_col, d.label_col = da->label_col;
    d.skip_bad_rows = da->skip_bad_rows;
    d.train_fraction = da->train_fraction;
    d.eval_tasks = da->eval_tasks, d.n_eval_tasks = da->n_eval_tasks;
    d.source_col = da->source_col, d.target_col = da->target_col, d.source_prefix = da->source_prefix;
    return d;
}

int cmd_train(int argc, char **argv) {
    static TrainArgs a; /* large: off the stack */
    int st = parse_args(argc, argv, &a);
    if (st < 0) st = check_args(&a);
    if (st >= 0) return st;
    if (a.n_seeds > 1 || a.n_layers > 1)
        return train_grid(&a.o, &a.da, a.llm_layer != NULL, a.seeds, a.n_seeds, a.layers, a.n_layers, a.json);
    const char *run = a.resume ? a.resume : a.o.out;
    pifi_error err = {0};
    pifi_dist *dist = NULL;
    stop_begin(0); /* blocked before any thread starts, taken between steps (stopsig.h) */
    if (pifi_dist_open(&dist, &err)) { /* every rank says it */
        st = cli_fail_api(&err);
        if (dist && pifi_dist_broken(dist)) st = abort_job(st);
        stop_end();
        pifi_dist_close(dist);
        return st;
    }
    CliSet set = {a.given, a.arg, &a.o, a.llm_layer, a.threads, a.max_memory};
    pifi_train_options *opts = api_options(&set, a.resume != NULL, &err);
    if (!opts) {
        stop_end();
        pifi_dist_close(dist);
        return cli_fail_api(&err);
    }
    pifi_train_options_set_dist(opts, dist);
    Progress progress;
    pifi_callbacks cb = cli_api_train_callbacks(&progress); /* the bar, the notes, the stop signals */
    pifi_train_result res;
    pifi_status rc;
    if (a.resume) {
        rc = pifi_train_resume(a.resume, opts, &cb, &res, &err);
    } else {
        pifi_data data = api_data(&a.da);
        rc = pifi_train(opts, &data, a.o.out, &cb, &res, &err);
    }
    int rank0 = pifi_dist_rank(dist) == 0;
    if (rc) st = report_failure(dist, &err);
    else if (res.stopped) {
        if (rank0)
            fprintf(stderr, "pifi: interrupted at step %lld; state saved. Continue with: pifi train --resume %s\n",
                    res.steps, run);
        st = 128 + res.stopped;
    } else {
        if (rank0 && res.complete_already)
            fprintf(stderr, "pifi: %s is complete: nothing to resume (its results below)\n", run);
        if (rank0) print_result(&res, run, a.json);
        st = 0;
    }
    stop_end(); /* the signals stay blocked: one that comes now is dropped, the status is the run's (stopsig.h) */
    pifi_train_options_free(opts);
    pifi_dist_close(dist);
    return st;
}
