/* cmd_train.c: `pifi train`: fine-tune a classifier with one of the paper's
 * methods, or continue one with --resume. Lists (--seeds, --layer -1,-2)
 * make -o a directory of runs, trained and summarised by the experiment
 * runner (src/exp/) as the grid of those cells; --eval-task adds the grid's
 * cross-domain evaluation. */
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
#include "exp/grid.h"
#include "exp/runner.h"
#include "pifi/llm_layer.h"
#include "pifi/fileio.h"
#include "pifi/json.h"
#include "train/dist.h"
#include "train/early_stop.h"
#include "train/runio.h"
#include "train/runio_int8.h"
#include "cli/stopsig.h"
#include "train/train_options.h"
#include "train/train_run.h"

/* --help: these parts around the option table's groups (train/train_options.h). */
static const char *const HELP_HEAD =
    "usage: pifi train --slm DIR [--llm PATH --layer N | --llm-layer DIR] DATA -o RUN_DIR [options]\n"
    "       pifi train --resume RUN_DIR [--precision P --threads N --max-memory SIZE\n"
    "                                    --grad-accum K --keep-checkpoint yes|no]\n"
    "\n"
    "Fine-tune a classifier: the SLM (a BERT/RoBERTa/ELECTRA/MiniLM directory), a\n"
    "frozen decoder layer of an LLM plugged between its CLS vector and its head\n"
    "(PiFi), and the head. The defaults reproduce the authors' code: Adam, lr 5e-5,\n"
    "3 epochs, batch 32, max length 100, head dropout 0.2, label smoothing 0.05,\n"
    "clipping at 5, seed 2023, best epoch by validation accuracy.\n"
    "\n"
    "model:\n"
    "  --slm DIR             the small model (a Hugging Face directory, or a BERT GGUF file)\n"
    "  --llm PATH            the LLM whose layer is plugged in (HF dir or .gguf) ...\n"
    "  --layer N[,N...]      ... and which layer (default -1, the last); a list trains\n"
    "                        one run per layer (the paper's layer-position sweep)\n"
    "  --llm-layer DIR       or a layer extracted with `pifi extract`\n"
    "  --method M            base | pifi (default) | pifi-unfrozen | pifi-random | lora\n";
static const char *const HELP_DATA =
    "data:\n"
    "  --task NAME           a named task (sst2, cola, imdb, ...; docs/tasks.md), data from\n"
    "  --data-dir DIR        ... this directory (default $PIFI_DATA or ~/.cache/pifi/data)\n"
    "  --train F --valid F --test F   your own TSV/CSV/JSONL files, with\n"
    "  --text-col C --text-pair-col C --label-col C   column names or indices\n"
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

static void print_help(void) {
    fputs(HELP_HEAD, stdout);
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
    O_SLM = 256, O_LLM, O_LAYER, O_LLM_LAYER, O_METHOD, O_TASK, O_DATA_DIR, O_TRAIN, O_VALID, O_TEST, O_TEXT_COL,
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

/* Each --eval-task must have the training data's classes (names, in order) and its data. */
static int check_eval_tasks(const DataArgs *da, const PifiDataset *train) {
    for (int i = 0; i < da->n_eval_tasks; i++) {
        const PifiTaskInfo *ti = task_find(da->eval_tasks[i]);
        if (da->task && !strcmp(da->task, ti->name))
            return cli_usage_error("train", "--eval-task %s: the run is tested on its own task anyway", ti->name);
        /* the task's classes are matched to the run's by name (data/task_labels.c), as at evaluation */
        int to_run[256];
        char note[512];
        PifiErr e = {0};
        if (task_labels_match(ti, (const char *const *)train->label_names, train->num_classes, to_run, note,
                              sizeof note, &e))
            return cli_usage_error("train", "--eval-task %s", e.msg);
        if (note[0]) fprintf(stderr, "pifi: train: --eval-task: note: %s\n", note);
        char root[4096];
        char *dir = pifi_path_join(task_data_dir(da->data_dir, root, sizeof root), ti->data_subdir);
        int ok = dir && pifi_is_dir(dir);
        if (!ok) cli_usage_error("train", "--eval-task %s: no data folder %s (set --data-dir or PIFI_DATA)", ti->name, dir ? dir : "?");
        free(dir);
        if (!ok) return 2;
    }
    return 0;
}

/* The run's --eval-task results (data "eval_tasks") into *ev and metrics.json. */
static int eval_tasks_after(const TrainOpts *o, const cJSON *data, cJSON **ev, PifiErr *err) {
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(data, "eval_tasks"), *it;
    const char *names[GRID_MAX_LIST];
    int n = 0;
    cJSON_ArrayForEach(it, list) if (cJSON_IsString(it) && n < GRID_MAX_LIST) names[n++] = it->valuestring;
    *ev = NULL;
    if (n == 0) return 0;
    const cJSON *dd = cJSON_GetObjectItemCaseSensitive(data, "data_dir");
    if (exp_eval_run(o->out, names, n, cJSON_IsString(dd) ? dd->valuestring : NULL, o->eval_batch, ev, err)) return -1;
    char *p = pifi_path_join(o->out, "metrics.json");
    cJSON *m = NULL;
    int rc = p ? pifi_json_load(p, 1 << 26, &m, err) : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    if (rc == 0) {
        cJSON_DeleteItemFromObjectCaseSensitive(m, "eval_tasks");
        cJSON_AddItemReferenceToObject(m, "eval_tasks", *ev);
        rc = runio_write_json(p, m, err);
    }
    cJSON_Delete(m);
    free(p);
    return rc;
}

/* The run's result: one line (and the test metrics), or --json. The best
 * epoch may be the partial one --max-steps stopped in (train_run.h). */
static void print_result(const TrainResult *r, const TrainOpts *o, const cJSON *ev, int json) {
    const cJSON *e;
    if (json) {
        printf("{\"run\":");
        cli_json_string(stdout, o->out);
        printf(",\"method\":\"%s\",\"steps\":%lld,\"best_epoch\":%lld,\"best_epoch_partial\":%s",
               method_name(o->method), (long long)r->steps, (long long)r->best_epoch, r->best_partial ? "true" : "false");
        if (r->best_partial)
            printf(",\"best_epoch_steps\":%lld,\"steps_per_epoch\":%lld", (long long)r->partial_steps,
                   (long long)r->steps_per_epoch);
        printf(",\"valid_%s\":%.6f,\"test_accuracy\":%.6f,\"test_macro_f1\":%.6f,\"test_mcc\":%.6f,"
               "\"seconds\":%.1f,\"complete_already\":%s", best_metric_key(o->metric_for_best), r->best_valid,
               r->test_accuracy, r->test_macro_f1, r->test_mcc, r->seconds, r->complete_already ? "true" : "false");
        if (r->stopped_early) printf(",\"stopped_early_after_epoch\":%lld", (long long)r->stopped_early);
        char *s = ev ? cJSON_PrintUnformatted(ev) : NULL;
        if (s) printf(",\"eval_tasks\":%s", s);
        free(s);
        printf("}\n");
        return;
    }
    printf("%s: method %s, %lld steps", o->out, method_name(o->method), (long long)r->steps);
    if (r->complete_already) printf(" (complete already: nothing trained or evaluated now)");
    else printf(" in %.1f s", r->seconds);
    if (r->best_partial) {
        printf(", stopped at step %lld of epoch %lld (--max-steps; %lld steps an epoch)", (long long)r->partial_steps,
               (long long)r->best_epoch, (long long)r->steps_per_epoch);
        if (r->best_valid >= 0) printf("; valid %s %.4f", best_metric_words(o->metric_for_best), r->best_valid);
    } else {
        printf(", best epoch %lld", (long long)r->best_epoch);
        if (r->best_valid >= 0) printf(" (valid %s %.4f)", best_metric_words(o->metric_for_best), r->best_valid);
        if (r->stopped_early)
            printf("; stopped early after epoch %lld (--early-stopping-patience %d: no better valid %s since)",
                   (long long)r->stopped_early, o->early_stopping_patience, best_metric_words(o->metric_for_best));
        if (r->partial_epoch > 0)
            printf("; stopped at step %lld of epoch %lld (--max-steps)", (long long)r->partial_steps,
                   (long long)r->partial_epoch);
    }
    printf("\n");
    if (r->test_accuracy >= 0)
        printf("test accuracy %.4f  macro-F1 %.4f  MCC %.4f\n", r->test_accuracy, r->test_macro_f1, r->test_mcc);
    cJSON_ArrayForEach(e, ev) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, "accuracy"), *f = cJSON_GetObjectItemCaseSensitive(e, "macro_f1"),
                    *c = cJSON_GetObjectItemCaseSensitive(e, "mcc");
        printf("on %s (test): accuracy %.4f  macro-F1 %.4f  MCC %.4f\n", e->string, cJSON_GetNumberValue(a),
               cJSON_GetNumberValue(f), cJSON_GetNumberValue(c));
    }
}

/* Stop every rank of the job (a failure only this rank knows about: the
 * others may be waiting for it); the exit status where MPI_Abort returns. */
static int abort_job(const Dist *d, int status) {
    fflush(stderr);
#ifdef PIFI_HAVE_MPI
    if (d->mpi) MPI_Abort(MPI_COMM_WORLD, status ? status : 1);
#else
    (void)d;
#endif
    return status;
}

/* Print a failure once: where it happened, or on rank 0 when every rank
 * failed the same way. A failure the other ranks do not know about stops the
 * whole job (they may be waiting for this rank). */
static int report_failure(Dist *d, const PifiErr *err) {
    int st = err->kind == PIFI_ERR_RUNTIME ? 1 : 2; /* as cli_fail */
    if (d->size > 1 && d->broken) {
        cli_fail(err);
        return abort_job(d, st);
    }
    if (d->size == 1 || (d->own_fail && (d->rank == 0 || d->fail_count < d->size)) || (!d->own_fail && d->rank == 0))
        return cli_fail(err);
    return st;
}

/* What --resume was given besides the run: the table's TOPT_RESUME rows
 * (given[i] for TRAIN_OPTIONS[i], their values in cli) and --threads,
 * --max-memory (NULL when not). */
typedef struct {
    const TrainOpts *cli;
    const unsigned char *given;
    const char *threads, *max_memory;
} ResumeArgs;

/* Apply the settings given with --resume to o (read from config.json) and
 * list those that differ from it, for train_run to record (config.json
 * "resumes", train_log.jsonl); NULL when nothing differs. A change of a
 * TOPT_WAS row (the precision) is announced: the continuation is no longer
 * bit-identical. */
static cJSON *resume_apply(TrainOpts *o, const ResumeArgs *a, int rank0) {
    cJSON *c = cJSON_CreateObject();
    if (!c) return NULL;
    for (int i = 0; i < N_TRAIN_OPTIONS; i++) {
        const TrainOption *r = &TRAIN_OPTIONS[i];
        if (!a->given[i] || !(r->flags & TOPT_RESUME) || train_option_get(r, a->cli) == train_option_get(r, o))
            continue;
        cJSON_AddItemToObject(c, r->key, train_option_to_json(r, a->cli));
        if (r->flags & TOPT_WAS) {
            char now[64], was[64], key[96];
            train_option_format(r, a->cli, now, sizeof now);
            train_option_format(r, o, was, sizeof was);
            if (rank0)
                fprintf(stderr, "pifi: --%s %s: %s was trained in %s so far; it continues in %s, so it is no longer "
                        "bit-identical to an uninterrupted run (recorded in its config.json \"resumes\")\n",
                        r->flag, now, o->out, was, now);
            snprintf(key, sizeof key, "%s_was", r->key);
            cJSON_AddItemToObject(c, key, train_option_to_json(r, o));
        }
        train_option_set(r, o, train_option_get(r, a->cli));
    }
    if (a->threads) cJSON_AddNumberToObject(c, "threads", atoi(a->threads));
    if (a->max_memory) cJSON_AddStringToObject(c, "max_memory", a->max_memory);
    if (!c->child) {
        cJSON_Delete(c);
        return NULL;
    }
    return c;
}

int cmd_train(int argc, char **argv) {
    static const struct option FIXED[] = {
        {"slm", 1, 0, O_SLM}, {"llm", 1, 0, O_LLM}, {"layer", 1, 0, O_LAYER}, {"llm-layer", 1, 0, O_LLM_LAYER},
        {"method", 1, 0, O_METHOD}, {"task", 1, 0, O_TASK}, {"data-dir", 1, 0, O_DATA_DIR}, {"train", 1, 0, O_TRAIN},
        {"valid", 1, 0, O_VALID}, {"test", 1, 0, O_TEST}, {"text-col", 1, 0, O_TEXT_COL},
        {"text-pair-col", 1, 0, O_PAIR_COL}, {"label-col", 1, 0, O_LABEL_COL}, {"train-fraction", 1, 0, O_FRACTION},
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
    unsigned char given[TRAIN_OPTIONS_MAX] = {0}; /* the rows given on the command line */
    const TrainOption *SEED = train_option_by_flag("seed"), *PRECISION = train_option_by_flag("precision");
    TrainOpts o;
    train_opts_default(&o);
    o.precision = pifi_precision_default();
    DataArgs da = {0};
    da.seed = 2023;
    const char *resume = NULL, *llm_layer = NULL;
    int json = 0, c, seed_set = 0, other_flags = 0;
    ResumeArgs ra = {NULL, given, NULL, NULL}; /* what --resume may be given */
    float fv;
    int seeds[GRID_MAX_LIST], layers[GRID_MAX_LIST], n_seeds = 0, n_layers = 1, n_eval = 0;
    const char *eval_tasks[GRID_MAX_LIST];
    layers[0] = o.layer;
    opterr = 0;
    optind = 1;
    while ((c = cli_getopt(argc, argv, ":ho:", LONG, "train")) != -1) {
        if (c >= O_ROW && c < O_ROW + N_TRAIN_OPTIONS) { /* a row of the option table */
            const TrainOption *r = &TRAIN_OPTIONS[c - O_ROW];
            PifiErr perr = {0};
            if (train_option_parse_arg(r, optarg, &o, &perr)) return cli_usage_error("train", "%s", perr.msg);
            given[c - O_ROW] = 1;
            if (!(r->flags & TOPT_RESUME)) other_flags++;
            if (r == SEED) da.seed = (int)o.seed, seed_set = 1; /* also the --train-fraction subsample's */
            if (r == PRECISION) cli_note_precision(o.precision);
            continue;
        }
        if (c != O_RESUME && c != O_JSON && c != O_THREADS && c != O_MAX_MEMORY && c != 'h' && c != ':' && c != '?')
            other_flags++;
        switch (c) {
        case O_SLM: o.slm = optarg; break;
        case O_LLM: o.llm = optarg; break;
        case O_LLM_LAYER: llm_layer = optarg; break;
        case O_LAYER:
            if (!strchr(optarg, ',')) {
                if (cli_parse_int("train", "--layer", optarg, -100000, 100000, &o.layer)) return 2;
                layers[0] = o.layer, n_layers = 1;
            } else {
                if (parse_int_list("--layer", optarg, -100000, 100000, layers, &n_layers)) return 2;
                o.layer = layers[0];
            }
            break;
        case O_SEEDS: if (parse_int_list("--seeds", optarg, 0, INT_MAX, seeds, &n_seeds)) return 2; break;
        case O_EVAL_TASK: if (parse_task_list(optarg, eval_tasks, &n_eval)) return 2; break;
        case O_METHOD:
            if (method_parse(optarg, &o.method))
                return cli_usage_error("train", "--method must be base, pifi, pifi-unfrozen, pifi-random or lora, not '%s'", optarg);
            break;
        case O_TASK: da.task = optarg; break;
        case O_DATA_DIR: da.data_dir = optarg; break;
        case O_TRAIN: da.train = optarg; break;
        case O_VALID: da.valid = optarg; break;
        case O_TEST: da.test = optarg; break;
        case O_TEXT_COL: da.text_col = optarg; break;
        case O_PAIR_COL: da.pair_col = optarg; break;
        case O_LABEL_COL: da.label_col = optarg; break;
        case O_FRACTION:
            if (parse_float("--train-fraction", optarg, 1e-6, 1, &fv)) return 2;
            da.train_fraction = fv;
            break;
        case O_SKIP_BAD: da.skip_bad_rows = 1; break;
        case O_THREADS: if (cli_parse_threads("train", optarg)) return 2; ra.threads = optarg; break;
        case O_MAX_MEMORY: if (cli_parse_max_memory("train", optarg)) return 2; ra.max_memory = optarg; break;
        case 'o': o.out = optarg; break;
        case O_OVERWRITE: o.overwrite = 1; break;
        case O_RESUME: resume = optarg; break;
        case O_JSON: json = 1; break;
        case 'h': print_help(); return 0;
        case ':': return cli_usage_error("train", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("train", "unknown option '%s'", argv[optind - 1]);
        }
    }
    TrainOpts cli = o; /* --resume: the values given, for resume_apply */
    ra.cli = &cli;
    if (seed_set && n_seeds) return cli_usage_error("train", "give --seed N or --seeds N,N,..., not both");
    if (n_seeds == 1) o.seed = (uint64_t)seeds[0], da.seed = seeds[0];
    if (n_seeds == 0) seeds[0] = (int)o.seed, n_seeds = 1;
    da.eval_tasks = eval_tasks, da.n_eval_tasks = n_eval;
    int multi = n_seeds > 1 || n_layers > 1; /* -o is a directory of runs */
    if (optind < argc) return cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
    if (resume && other_flags)
        return cli_usage_error("train", "--resume takes every setting from the run's config.json; give no other flags "
                               "(--precision, --threads, --max-memory, --grad-accum and --keep-checkpoint excepted)");
    if (!resume) {
        if (!o.slm) return cli_usage_error("train", "--slm DIR is required");
        if (!o.out) return cli_usage_error("train", "-o RUN_DIR is required");
        if (llm_layer && o.llm) return cli_usage_error("train", "give --llm or --llm-layer, not both");
        if (llm_layer) {
            o.llm = llm_layer;
            o.layer = INT_MIN;
        }
        if (method_has_llm(o.method) && !o.llm)
            return cli_usage_error("train", "--method %s needs --llm PATH (--layer N) or --llm-layer DIR",
                                   method_name(o.method));
        if (!method_has_llm(o.method)) o.llm = NULL;
        if (n_layers > 1 && !o.llm)
            return cli_usage_error("train", "--method %s plugs no LLM layer: --layer takes one value", method_name(o.method));
        if (n_layers > 1 && llm_layer)
            return cli_usage_error("train", "--layer with several values needs --llm PATH (--llm-layer holds one layer)");
        if (multi && o.overwrite)
            return cli_usage_error("train", "--overwrite: with several seeds or layers the same command continues the "
                                            "runs in %s; remove it to start again", o.out);
        if (multi && dist_launched())
            return cli_usage_error("train", "several seeds or layers train one run after another in one process; "
                                            "start one mpirun per --seed instead");
        int st = n_layers > 1 ? train_grid_check_layers(o.llm, layers, n_layers) : 0;
        if (st) return st;
    } else {
        char *cp = pifi_path_join(resume, "config.json"), *rp = pifi_path_join(resume, "runs");
        int grid_dir = cp && rp && !pifi_file_exists(cp) && pifi_is_dir(rp);
        free(cp);
        free(rp);
        if (grid_dir)
            return cli_usage_error("train", "%s holds several runs (--seeds or a --layer list): run the same "
                                            "`pifi train` command again to continue them", resume);
    }
    PifiErr err = {0};
    Dist dist;
    stop_begin(0); /* blocked before any thread starts, taken between steps (stopsig.h) */
    if (dist_init(&dist, &err)) {
        int st = cli_fail(&err);
        return dist.broken ? abort_job(&dist, st) : st;
    }
    cJSON *cfg = NULL, *data = NULL, *ev = NULL, *changes = NULL;
    TrainResult res;
    LoadedData ld;
    memset(&ld, 0, sizeof ld);
    int status = 2, rc = 0;
    if (resume) {
        char *cp = pifi_path_join(resume, "config.json");
        const cJSON *p = NULL;
        rc = pifi_json_load(cp, 1 << 22, &cfg, &err);
        if (!rc) {
            p = cJSON_GetObjectItemCaseSensitive(cfg, "pifi");
            if (!cJSON_IsObject(p)) rc = pifi_errf(&err, "%s: not a pifi run", cp);
            else rc = runio_int8_refuse_training(p, resume, &err) || runio_opts_from_json(p, &o, cp, &err) ? -1 : 0;
        }
        free(cp);
        if (!rc) {
            o.out = resume;
            runio_resolve_llm(&o, resume);
            data = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(p, "data"), 1);
            if (!data) rc = pifi_errf(&err, "train: %s/config.json has no \"pifi.data\"", resume);
        }
        if (!rc) { /* a complete run: its results again, nothing to train or evaluate */
            int complete = 0, e = 0;
            if (dist.rank == 0) {
                TrainOpts oc = o; /* --keep-checkpoint no now removes a complete run's checkpoint */
                const TrainOption *keep = train_option_by_flag("keep-checkpoint");
                if (given[keep - TRAIN_OPTIONS]) oc.keep_checkpoint = ra.cli->keep_checkpoint;
                complete = train_run_complete(&oc, &res, &ev, &err);
                if (complete < 0) e = -1;
                if (complete > 0 && oc.keep_checkpoint != o.keep_checkpoint) {
                    changes = cJSON_CreateObject();
                    cJSON_AddBoolToObject(changes, "keep_checkpoint", oc.keep_checkpoint);
                    oc.resume_changes = changes;
                    e = runio_record_resume(o.out, res.steps, &oc, &err);
                }
            }
            if (dist_agree(&dist, e, &err) || dist_bcast(&dist, &complete, sizeof complete, &err)) {
                status = report_failure(&dist, &err);
                goto out;
            }
            if (complete) {
                const cJSON *want = cJSON_GetObjectItemCaseSensitive(data, "eval_tasks");
                status = 0;
                if (dist.rank == 0) {
                    fprintf(stderr, "pifi: %s is complete: nothing to resume (its results below)\n", o.out);
                    if (!ev && cJSON_GetArraySize(want) > 0 && eval_tasks_after(&o, data, &ev, &err))
                        status = cli_fail(&err); /* --eval-task results an interruption left out */
                    else
                        print_result(&res, &o, ev, json);
                }
                goto out;
            }
            changes = resume_apply(&o, &ra, dist.rank == 0);
            o.resume_changes = changes;
        }
    } else {
        data = data_args_json(&da, "train");
        if (!data) { /* the message is printed */
            status = 2;
            goto out;
        }
    }
    if (!rc) rc = data_load(data, PIFI_SPLITS_ALL, NULL, 0, &ld, &err);
    if (!rc && !ld.have[0]) rc = pifi_errf(&err, "train: the data has no training split");
    if (dist_agree(&dist, rc, &err)) {
        status = report_failure(&dist, &err);
        goto out;
    }
    if (!resume && da.n_eval_tasks && check_eval_tasks(&da, &ld.split[0])) {
        status = 2;
        goto out;
    }
    if (multi && !ld.have[2]) {
        status = cli_usage_error("train", "several seeds or layers are compared on the test split: the data has "
                                          "none (give --test FILE)");
        goto out;
    }
    if (multi) { /* the data is good: the runner loads it again in each run's process */
        data_free(&ld);
        stop_end(); /* this process forwards SIGINT/SIGTERM to each run's (exp_run), which takes them itself */
        status = train_grid_run(&o, &da, data, llm_layer != NULL, seeds, n_seeds, layers, n_layers, json);
        goto out;
    }
    PifiDataset *splits[3] = {&ld.split[0], ld.have[1] ? &ld.split[1] : NULL, ld.have[2] ? &ld.split[2] : NULL};
    if (!splits[1] && dist.rank == 0) fprintf(stderr, "pifi: train: no validation split: the last epoch is kept\n");
    if (!splits[1] && o.early_stopping_patience > 0) {
        status = cli_usage_error("train", "--early-stopping-patience watches the validation split: the data has "
                                          "none (give --valid FILE)");
        goto out;
    }
    stop_begin(0); /* a second call does nothing */
    Progress progress;
    TrainCallbacks cb = cli_train_callbacks(&progress); /* the bar and the notes on stderr */
    if (train_run(&o, splits, data, resume != NULL, &dist, &cb, &res, &err)) {
        status = report_failure(&dist, &err);
        goto out;
    }
    if (res.interrupted) {
        if (dist.rank == 0)
            fprintf(stderr, "pifi: interrupted at step %lld; state saved. Continue with: pifi train --resume %s\n",
                    (long long)res.steps, o.out);
        status = 128 + res.interrupted;
        goto out;
    }
    if (dist.rank == 0 && eval_tasks_after(&o, data, &ev, &err)) { /* the run itself is complete */
        status = cli_fail(&err);
        goto out;
    }
    if (dist.rank == 0) print_result(&res, &o, ev, json);
    status = 0;
out:
    stop_end(); /* the signals stay blocked: one that comes now is dropped, the status is the run's (stopsig.h) */
    data_free(&ld);
    cJSON_Delete(ev);
    cJSON_Delete(changes);
    cJSON_Delete(data);
    cJSON_Delete(cfg);
    dist_finalize(&dist);
    return status;
}
