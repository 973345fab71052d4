/* cmd_select_layer.c: `pifi select-layer`: rank every layer of an LLM for a
 * small model and a task without training a PiFi model per layer
 * (src/exp/select_layer.h, docs/select-layer.md), and say which to plug.
 * Its options are one table, read by the parser and --help. */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/compute_args.h"
#include "cli/data_args.h"
#include "cli/progress.h"
#include "exp/select_layer.h"

typedef struct {
    SelectLayerOpts o;
    DataArgs da;
    int layers[SELECT_LAYER_MAX], n_layers;
    int json;
} Args;

typedef enum {
    OPT_STR, OPT_INT, OPT_FLOAT, OPT_FLAG, OPT_SEED, OPT_FRACTION, OPT_LAYERS, OPT_POOLING, OPT_OPTIMIZER,
    OPT_METRIC, OPT_PRECISION, OPT_THREADS, OPT_MAX_MEMORY, OPT_HELP
} OptKind;

typedef struct {
    const char *group;   /* a heading printed before the row, or NULL */
    const char *name, *metavar;
    OptKind kind;
    size_t off;          /* of the field in Args (STR, INT, FLOAT, FLAG, SEED, FRACTION) */
    double lo, hi;       /* INT's and FLOAT's range */
    const char *help;
} OptRow;

#define F(field) offsetof(Args, field)
static const OptRow ROWS[] = {
    {"model:", "slm", "DIR", OPT_STR, F(o.slm), 0, 0, "the small model (as pifi train's --slm), frozen here"},
    {NULL, "llm", "PATH", OPT_STR, F(o.llm), 0, 0, "the whole LLM whose layers are ranked (HF dir or .gguf)"},
    {NULL, "layers", "N,N,...", OPT_LAYERS, 0, 0, 0, "rank only these layers (negative: from the end;\n"
                                                      "default: every layer)"},
    {NULL, "pooling", "P", OPT_POOLING, 0, 0, 0, "cls | mean | last | auto (default auto: the SLM family's)"},
    {"data (as pifi train's):", "task", "NAME", OPT_STR, F(da.task), 0, 0, "a named task (sst2, cola, ...)"},
    {NULL, "data-dir", "DIR", OPT_STR, F(da.data_dir), 0, 0, "its data root (default $PIFI_DATA or ~/.cache/pifi/data)"},
    {NULL, "train", "F", OPT_STR, F(da.train), 0, 0, "your own TSV/CSV/JSONL training file ..."},
    {NULL, "valid", "F", OPT_STR, F(da.valid), 0, 0, "... and validation file (none: 20% of train, seeded)"},
    {NULL, "text-col", "C", OPT_STR, F(da.text_col), 0, 0, "their text column"},
    {NULL, "text-pair-col", "C", OPT_STR, F(da.pair_col), 0, 0, "their second text column"},
    {NULL, "label-col", "C", OPT_STR, F(da.label_col), 0, 0, "their label column"},
    {NULL, "train-fraction", "F", OPT_FRACTION, F(da.train_fraction), 1e-6, 1, "a stratified fraction of train first"},
    {NULL, "skip-bad-rows", NULL, OPT_FLAG, F(da.skip_bad_rows), 0, 0, "leave malformed rows out instead of stopping"},
    {"the probe of each layer:", "max-examples", "N", OPT_INT, F(o.max_examples), 0, 1e9,
     "at most N training and N validation rows, stratified\nand seeded (default 2000; 0: all)"},
    {NULL, "probe-epochs", "N", OPT_INT, F(o.epochs), 1, 1000, "epochs of each probe (default 2)"},
    {NULL, "probe-seeds", "N", OPT_INT, F(o.probe_seeds), 1, 1000,
     "probes per layer, from seeds --seed, --seed + 1, ...;\ntheir scores averaged (default 3)"},
    {NULL, "batch", "N", OPT_INT, F(o.batch), 1, 65536, "examples per step (default 32)"},
    {NULL, "lr", "X", OPT_FLOAT, F(o.lr), 0, 1e6, "learning rate of L_in, L_out and the head (default 1e-3)"},
    {NULL, "optimizer", "O", OPT_OPTIMIZER, 0, 0, 0, "adam (default) | adamw"},
    {NULL, "weight-decay", "X", OPT_FLOAT, F(o.weight_decay), 0, 10, "weight decay (default 0)"},
    {NULL, "clip", "X", OPT_FLOAT, F(o.clip), 0, 1e9, "clip the gradient's norm at X (default 5; 0: never)"},
    {NULL, "label-smoothing", "X", OPT_FLOAT, F(o.label_smoothing), 0, 0.99, "of the cross-entropy (default 0.05)"},
    {NULL, "head-dropout", "X", OPT_FLOAT, F(o.head_dropout), 0, 0.99, "dropout in the head (default 0.2)"},
    {NULL, "seed", "N", OPT_SEED, F(o.seed), 0, 2147483647.0,
     "the heads' initialisation, row order, dropout and\nsubsets (default 2023)"},
    {NULL, "metric", "M", OPT_METRIC, 0, 0, 0, "accuracy | macro-f1 | mcc: what ranks the layers\n"
                                                "(default: the task's main metric; files: accuracy)"},
    {NULL, "max-len", "N", OPT_INT, F(o.max_len), 3, 65536, "tokens per example (default 100)"},
    {NULL, "eval-batch", "N", OPT_INT, F(o.eval_batch), 1, 65536, "examples per batch of the SLM's pass (default 64)"},
    {"compute:", "precision", "P", OPT_PRECISION, 0, 0, 0, "fp32 | bf16 | auto (default: bf16 where the CPU has it)"},
    {NULL, "threads", "N", OPT_THREADS, 0, 0, 0, "size of the thread pool (default: OMP_NUM_THREADS or all)"},
    {NULL, "max-memory", "SIZE", OPT_MAX_MEMORY, 0, 0, 0, "fail an allocation past SIZE (2G, 512M)"},
    {"output:", "json", NULL, OPT_FLAG, F(json), 0, 0, "one JSON object on stdout instead of the table"},
    {NULL, "help", NULL, OPT_HELP, 0, 0, 0, "this text"},
};
#undef F
#define NROWS (int)(sizeof ROWS / sizeof ROWS[0])

static const char *HEAD =
    "usage: pifi select-layer --slm DIR --llm PATH DATA [options]\n"
    "\n"
    "Rank the layers of an LLM for PiFi with this small model and task, without\n"
    "training a PiFi model per layer, and say which to plug (docs/select-layer.md).\n"
    "The SLM, frozen and pretrained, runs once over (a subset of) the training and\n"
    "validation rows; its pooled vectors are kept. For each layer, only L_in, L_out\n"
    "and the head are trained on them through the frozen layer (a short probe with\n"
    "pifi train's optimiser, clipping, label smoothing and head), then\n"
    "scored on the validation vectors; a layer's scores are the means of a few such\n"
    "probes from consecutive seeds. The table ranks the layers by the metric,\n"
    "ties by the validation loss; the Fisher ratio of the layer's output on the\n"
    "training vectors (between-class over within-class scatter) is a second, cheaper\n"
    "signal. The last layer (pifi train's default) is marked for comparison.\n"
    "\n";

static void print_help(void) {
    fputs(HEAD, stdout);
    for (int i = 0; i < NROWS; i++) {
        const OptRow *r = &ROWS[i];
        if (r->group) printf("%s\n", r->group);
        char flag[64];
        snprintf(flag, sizeof flag, "--%s%s%s", r->name, r->metavar ? " " : "", r->metavar ? r->metavar : "");
        printf("  %-21s ", flag);
        for (const char *p = r->help; *p; p++) { /* continuation lines under the first */
            putchar(*p);
            if (*p == '\n') printf("%24s", "");
        }
        putchar('\n');
    }
}

/* A comma-separated list of distinct layer indices. */
static int parse_layers(const char *s, Args *a) {
    a->n_layers = 0;
    for (const char *p = s;;) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < -100000 || v > 100000 || (*end && *end != ','))
            return cli_usage_error("select-layer", "--layers expects N,N,... (layer indices), got '%s'", s);
        if (a->n_layers == SELECT_LAYER_MAX) return cli_usage_error("select-layer", "--layers: too many entries");
        a->layers[a->n_layers++] = (int)v;
        if (!*end) return 0;
        p = end + 1;
    }
}

static int parse_row(const OptRow *r, const char *arg, Args *a) {
    char *field = (char *)a + r->off, *end;
    double v = 0;
    if (r->kind == OPT_INT || r->kind == OPT_FLOAT || r->kind == OPT_SEED || r->kind == OPT_FRACTION) {
        errno = 0;
        v = strtod(arg, &end);
        int whole = r->kind != OPT_FLOAT && r->kind != OPT_FRACTION;
        if (end == arg || *end || errno || !(v >= r->lo && v <= r->hi) || (whole && v != (double)(long long)v))
            return cli_usage_error("select-layer", "--%s expects %s in [%g, %g], got '%s'", r->name,
                                   whole ? "an integer" : "a number", r->lo, r->hi, arg);
    }
    PifiPooling pool;
    PifiMetric metric;
    switch (r->kind) {
    case OPT_STR: *(const char **)field = arg; return 0;
    case OPT_INT: *(int *)field = (int)v; return 0;
    case OPT_FLOAT: *(float *)field = (float)v; return 0;
    case OPT_FRACTION: *(double *)field = v; return 0;
    case OPT_SEED: *(uint64_t *)field = (uint64_t)v, a->da.seed = (long long)v; return 0;
    case OPT_FLAG: *(int *)field = 1; return 0;
    case OPT_LAYERS: return parse_layers(arg, a);
    case OPT_POOLING:
        if (pifi_pooling_parse(arg, &pool))
            return cli_usage_error("select-layer", "--pooling must be cls, mean, last or auto, not '%s'", arg);
        a->o.pooling = pool;
        return 0;
    case OPT_OPTIMIZER:
        if (strcmp(arg, "adam") && strcmp(arg, "adamw"))
            return cli_usage_error("select-layer", "--optimizer must be adam or adamw, not '%s'", arg);
        a->o.optim = strcmp(arg, "adam") ? OPT_ADAMW : OPT_ADAM;
        return 0;
    case OPT_METRIC:
        if (!strcmp(arg, "accuracy")) metric = PIFI_METRIC_ACCURACY;
        else if (!strcmp(arg, "macro-f1")) metric = PIFI_METRIC_MACRO_F1;
        else if (!strcmp(arg, "mcc")) metric = PIFI_METRIC_MCC;
        else return cli_usage_error("select-layer", "--metric must be accuracy, macro-f1 or mcc, not '%s'", arg);
        a->o.metric = (int)metric;
        return 0;
    case OPT_PRECISION: return cli_parse_precision("select-layer", arg, &a->o.precision) ? 2 : 0;
    case OPT_THREADS: return cli_parse_threads("select-layer", arg) ? 2 : 0;
    case OPT_MAX_MEMORY: return cli_parse_max_memory("select-layer", arg) ? 2 : 0;
    case OPT_HELP: print_help(); return -1;
    }
    return 0;
}

/* argv into *a: -1 to go on, else the exit status (--help, a usage error). */
static int parse_args(int argc, char **argv, Args *a) {
    struct option LONG[NROWS + 1];
    for (int i = 0; i < NROWS; i++)
        LONG[i] = (struct option){ROWS[i].name, ROWS[i].metavar ? 1 : 0, 0, 256 + i};
    LONG[NROWS] = (struct option){0, 0, 0, 0};
    memset(a, 0, sizeof *a);
    select_layer_opts_default(&a->o);
    a->o.precision = pifi_precision_default();
    a->da.seed = (long long)a->o.seed;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = cli_getopt(argc, argv, ":h", LONG, "select-layer")) != -1) {
        if (c == 'h') c = 256 + NROWS - 1; /* the help row */
        if (c == ':') return cli_usage_error("select-layer", "option '%s' needs a value", argv[optind - 1]);
        if (c < 256 || c >= 256 + NROWS) return cli_usage_error("select-layer", "unknown option '%s'", argv[optind - 1]);
        int st = parse_row(&ROWS[c - 256], optarg, a);
        if (st) return st < 0 ? 0 : st;
    }
    if (optind < argc) return cli_usage_error("select-layer", "unexpected argument '%s'", argv[optind]);
    if (!a->o.slm) return cli_usage_error("select-layer", "--slm DIR is required");
    if (!a->o.llm) return cli_usage_error("select-layer", "--llm PATH is required (the whole LLM, HF dir or .gguf)");
    if (a->n_layers) a->o.layers = a->layers, a->o.n_layers = a->n_layers;
    return -1;
}

/* ------------------------------------------------------------------------ */
/* progress and output */

typedef struct {
    double t0, last;
    PifiMetric metric;
} Tell;

static void on_features(int64_t done, int64_t total, void *user) {
    Tell *t = user;
    double now = pifi_now();
    if (done < total && now - t->last < 5.0) return;
    t->last = now;
    fprintf(stderr, "pifi: select-layer: SLM pass %lld/%lld rows (%.0f s)\n", (long long)done, (long long)total,
            now - t->t0);
}

static void on_layer(const SelectLayerScore *s, int done, int total, void *user) {
    Tell *t = user;
    fprintf(stderr, "pifi: select-layer: layer %d (%d/%d): valid %s %.4f, loss %.4f, Fisher %.4g (%.1f s)\n", s->layer,
            done, total, metric_name(t->metric), s->metric, s->loss, s->fisher, s->seconds);
}

static void json_row(const SelectLayerScore *s) {
    printf("{\"layer\":%d,\"rank\":%d,\"metric\":%.6f,\"metric_sd\":%.6f,\"accuracy\":%.6f,\"loss\":%.6f,"
           "\"train_loss\":%.6f,\"fisher\":%.6g,\"seconds\":%.3f}",
           s->layer, s->rank, s->metric, s->metric_sd, s->accuracy, s->loss, s->train_loss, s->fisher, s->seconds);
}

static void print_json(const Args *a, const SelectLayerResult *r) {
    printf("{\"slm\":");
    cli_json_string(stdout, a->o.slm);
    printf(",\"llm\":");
    cli_json_string(stdout, a->o.llm);
    printf(",\"task\":");
    if (a->da.task) cli_json_string(stdout, a->da.task);
    else printf("null");
    printf(",\"metric\":\"%s\",\"num_layers\":%d,\"classes\":%d,\"n_train\":%lld,\"n_valid\":%lld,"
           "\"probe_steps\":%lld,\"probe_epochs\":%d,\"probe_seeds\":%d,\"lr\":%g,\"seed\":%llu,\"features_seconds\":%.3f,"
           "\"seconds\":%.3f,\"pick\":",
           metric_name(r->metric), r->num_layers, r->K, (long long)r->n_train, (long long)r->n_valid,
           (long long)r->steps, a->o.epochs, a->o.probe_seeds, a->o.lr, (unsigned long long)a->o.seed, r->features_seconds, r->seconds);
    json_row(&r->rows[r->pick]);
    printf(",\"last\":");
    if (r->last >= 0) json_row(&r->rows[r->last]);
    else printf("null");
    printf(",\"layers\":[");
    for (int i = 0; i < r->n; i++) {
        if (i) putchar(',');
        json_row(&r->rows[i]);
    }
    printf("]}\n");
}

static void print_table(const SelectLayerResult *r, int probes) {
    const char *m = metric_name(r->metric);
    printf("%4s  %5s  %9s  %7s  %9s  %10s  %7s\n", "rank", "layer", m, "sd", "loss", "Fisher", "seconds");
    for (int rank = 1; rank <= r->n; rank++)
        for (int i = 0; i < r->n; i++) {
            const SelectLayerScore *s = &r->rows[i];
            if (s->rank != rank) continue;
            printf("%4d  %5d  %9.4f  %7.4f  %9.4f  %10.4g  %7.1f%s\n", s->rank, s->layer, s->metric, s->metric_sd,
                   s->loss, s->fisher,
                   s->seconds, i == r->pick ? "  <- pick" : i == r->last ? "  <- last layer" : "");
        }
    const SelectLayerScore *p = &r->rows[r->pick];
    printf("pick: layer %d (valid %s %.4f, loss %.4f)", p->layer, m, p->metric, p->loss);
    if (r->last >= 0 && r->last != r->pick) {
        const SelectLayerScore *l = &r->rows[r->last];
        printf("; the last layer %d: %s %.4f, rank %d of %d", l->layer, m, l->metric, l->rank, r->n);
    } else if (r->last == r->pick) {
        printf("; it is the last layer");
    }
    printf("\n%lld training and %lld validation vectors, %lld steps a probe, %d probe(s) a layer; SLM pass %.1f s, "
           "in all %.1f s\n", (long long)r->n_train, (long long)r->n_valid, (long long)r->steps, probes,
           r->features_seconds, r->seconds);
}

int cmd_select_layer(int argc, char **argv) {
    static Args a; /* the layer list is large: off the stack */
    int st = parse_args(argc, argv, &a);
    if (st >= 0) return st;
    cJSON *desc = data_args_json(&a.da, "select-layer");
    if (!desc) return 2; /* the message is printed */
    Tell tell = {.t0 = pifi_now(), .last = pifi_now(), .metric = PIFI_METRIC_ACCURACY};
    SelectLayerCallbacks cb = {.on_features = on_features, .on_layer = on_layer, .on_log = cli_log, .user = &tell};
    if (a.o.metric >= 0) tell.metric = (PifiMetric)a.o.metric;
    else if (a.da.task && task_find(a.da.task)) tell.metric = task_find(a.da.task)->metrics[0];
    SelectLayerResult res;
    PifiErr err = {0};
    int rc = select_layer_run(&a.o, desc, &cb, &res, &err);
    cJSON_Delete(desc);
    if (rc) return cli_fail(&err);
    if (a.json) print_json(&a, &res);
    else print_table(&res, a.o.probe_seeds);
    select_layer_result_free(&res);
    return 0;
}
