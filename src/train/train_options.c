/* train_options.c: the table of training options (train_options.h) and the
 * functions every consumer of it shares: defaults, the command-line value,
 * the JSON/TOML value, the value as JSON, and the --help lines. */
#include "train/train_options.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/compute.h"

static const char *const POOLING[] = {"cls", "mean", "last", "auto", NULL}; /* PifiPooling */
static const char *const OPTIMIZER[] = {"adam", "adamw", NULL};              /* OptimKind */
static const char *const SCHEDULE[] = {"constant", "linear", "cosine", NULL}; /* SchedKind */
static const char *const PRECISION[] = {"fp32", "bf16", "auto", NULL};       /* PifiPrecision; auto resolved */
static const char *const METRIC[] = {"accuracy", "macro-f1", "mcc", "f1", "bleu", NULL}; /* BestMetric */
static const char *const ATTENTION[] = {"bidirectional", "causal", NULL};     /* TrainOpts.layer_causal */
static const char *const LAYER_MASK[] = {"padding", "ones", NULL};           /* TrainOpts.layer_mask_ones */
static const char *const INIT[] = {"pretrained", "random", NULL};            /* TrainOpts.init_random */
static const char *const EARLY_STOP[] = {"false", "true", "never", NULL};    /* S2SBeamOpts.early_stopping */

static int parse_precision(const char *s, int *v) {
    PifiPrecision p;
    if (pifi_precision_parse(s, &p)) return -1;
    *v = (int)p;
    return 0;
}

#define F(field) offsetof(TrainOpts, field)

const TrainOption TRAIN_OPTIONS[] = {
    /* ---- model */
    {.flag = "pooling", .key = "pooling", .type = TOPT_ENUM, .off = F(pooling), .choices = POOLING, .def = POOL_AUTO,
     .help = "how the SLM's tokens become one vector (auto: the\nfamily's: cls, a decoder's last real token)",
     .group = TOPT_G_MODEL, .flags = TOPT_TOP | TOPT_CLS},
    {.flag = "lora-r", .key = "lora_r", .type = TOPT_INT, .off = F(lora_r), .lo = 1, .hi = 4096, .def = 8,
     .metavar = "R", .help = "LoRA's rank (--method lora)", .group = TOPT_G_MODEL, .flags = TOPT_LORA},
    {.flag = "lora-alpha", .key = "lora_alpha", .type = TOPT_FLOAT, .off = F(lora_alpha), .lo = 1e-6, .hi = 1e6,
     .def = 16, .metavar = "A", .help = "LoRA's scale (the update is alpha / r B A)", .group = TOPT_G_MODEL,
     .flags = TOPT_LORA},
    {.flag = "lora-dropout", .key = "lora_dropout", .type = TOPT_FLOAT, .off = F(lora_dropout), .lo = 0, .hi = 0.99,
     .def = 0.1, .metavar = "P", .help = "dropout on LoRA's input", .group = TOPT_G_MODEL, .flags = TOPT_LORA},
    /* ---- extractive question answering (a QA task: --task xquad_en, squad) */
    {.flag = "doc-stride", .key = "doc_stride", .type = TOPT_INT, .off = F(doc_stride), .lo = 1, .hi = 65536,
     .def = 128, .metavar = "N", .help = "QA: context tokens consecutive windows share", .group = TOPT_G_MODEL,
     .flags = TOPT_QA},
    {.flag = "max-answer-length", .key = "max_answer_length", .type = TOPT_INT, .off = F(max_answer_len), .lo = 1,
     .hi = 65536, .def = 30, .metavar = "N", .help = "QA: the longest answer predicted, in tokens",
     .group = TOPT_G_MODEL, .flags = TOPT_QA},
    {.flag = "layer-attention", .key = "layer_attention", .type = TOPT_ENUM, .off = F(layer_causal),
     .choices = ATTENTION, .help = "QA, generation: the plugged layer's attention over\nthe sequence (bidirectional: the "
     "authors')", .group = TOPT_G_MODEL, .flags = TOPT_SEQ | TOPT_LLM},
    {.flag = "layer-mask", .key = "layer_mask", .type = TOPT_ENUM, .off = F(layer_mask_ones), .choices = LAYER_MASK,
     .help = "QA, generation: the plugged layer's key mask:\npadding, or ones (the authors' code attends to padding;\n"
     "for comparison)", .group = TOPT_G_MODEL, .flags = TOPT_SEQ | TOPT_LLM},
    /* ---- generation (a generation task: --task multi30k, cnn_dailymail, seq2seq) */
    {.flag = "init", .key = "init", .type = TOPT_ENUM, .off = F(init_random), .choices = INIT,
     .help = "generation: the SLM's weights, or its config.json\nwith random ones (trained from scratch)",
     .group = TOPT_G_MODEL, .flags = TOPT_GEN | TOPT_TOP},
    {.flag = "max-target-len", .key = "max_target_len", .type = TOPT_INT, .off = F(max_target_len), .lo = 2,
     .hi = 65536, .def = 100, .metavar = "N",
     .help = "generation: target tokens (longer ones truncated;\n--max-len is the source's)", .group = TOPT_G_MODEL,
     .flags = TOPT_GEN},
    {.flag = "num-beams", .key = "num_beams", .type = TOPT_INT, .off = F(num_beams), .lo = 1, .hi = 64, .def = 5,
     .metavar = "N", .help = "generation: beams of the search that decodes the\nvalidation and test splits (1: greedy)",
     .group = TOPT_G_MODEL, .flags = TOPT_GEN | TOPT_RESUME},
    {.flag = "length-penalty", .key = "length_penalty", .type = TOPT_FLOAT, .off = F(length_penalty), .lo = -100,
     .hi = 100, .def = 1, .metavar = "X",
     .help = "generation: a finished beam scores its log-prob sum\n/ length^X", .group = TOPT_G_MODEL,
     .flags = TOPT_GEN | TOPT_RESUME},
    {.flag = "early-stopping", .key = "early_stopping", .type = TOPT_ENUM, .off = F(early_stopping),
     .choices = EARLY_STOP,
     .help = "generation: when beam search ends (generate()'s:\nfalse: no beam can improve, true: num_beams done)",
     .group = TOPT_G_MODEL, .flags = TOPT_GEN | TOPT_RESUME},
    {.flag = "no-repeat-ngram-size", .key = "no_repeat_ngram_size", .type = TOPT_INT, .off = F(no_repeat_ngram),
     .lo = 0, .hi = 64, .metavar = "N", .help = "generation: never repeat an n-gram of N tokens (0: off)",
     .group = TOPT_G_MODEL, .flags = TOPT_GEN | TOPT_RESUME},
    {.flag = "min-new-tokens", .key = "min_new_tokens", .type = TOPT_INT, .off = F(min_new_tokens), .lo = 0,
     .hi = 65536, .metavar = "N", .help = "generation: tokens before the end token is allowed",
     .group = TOPT_G_MODEL, .flags = TOPT_GEN | TOPT_RESUME},
    {.flag = "max-new-tokens", .key = "max_new_tokens", .type = TOPT_INT, .off = F(max_new_tokens), .lo = 1,
     .hi = 65536, .def = 100, .metavar = "N", .help = "generation: tokens decoded at most",
     .group = TOPT_G_MODEL, .flags = TOPT_GEN | TOPT_RESUME},
    /* ---- optimisation */
    {.flag = "epochs", .key = "epochs", .type = TOPT_INT, .off = F(epochs), .lo = 1, .hi = 100000, .def = 3,
     .metavar = "N", .help = "passes over the training set", .group = TOPT_G_OPTIM},
    {.flag = "batch", .key = "batch", .type = TOPT_INT, .off = F(batch), .lo = 1, .hi = 65536, .def = 32,
     .metavar = "N", .help = "examples per optimizer step (over all ranks)", .group = TOPT_G_OPTIM},
    {.flag = "eval-batch", .key = "eval_batch", .type = TOPT_INT, .off = F(eval_batch), .lo = 1, .hi = 65536,
     .def = 64, .metavar = "N", .help = "examples per evaluation batch", .group = TOPT_G_OPTIM},
    {.flag = "max-len", .key = "max_len", .type = TOPT_INT, .off = F(max_len), .lo = 3, .hi = 65536, .def = 100,
     .metavar = "N", .help = "tokens per example (longer ones truncated)", .group = TOPT_G_OPTIM},
    {.flag = "lr", .key = "lr", .type = TOPT_FLOAT, .off = F(lr), .lo = 0, .hi = 1e6, .def = 5e-5, .metavar = "X",
     .help = "learning rate (after the warmup, before a decay)", .group = TOPT_G_OPTIM},
    {.flag = "optimizer", .key = "optimizer", .type = TOPT_ENUM, .off = F(optim), .choices = OPTIMIZER,
     .help = "Adam (weight decay added to the gradient) or\nAdamW (decoupled)",
     .group = TOPT_G_OPTIM},
    {.flag = "weight-decay", .key = "weight_decay", .type = TOPT_FLOAT, .off = F(weight_decay), .lo = 0, .hi = 10,
     .metavar = "X", .help = "decay of the weight matrices (not biases or norms)", .group = TOPT_G_OPTIM},
    {.flag = "schedule", .key = "schedule", .type = TOPT_ENUM, .off = F(sched), .choices = SCHEDULE,
     .help = "the learning rate after the warmup: constant, or\na decay to 0", .group = TOPT_G_OPTIM},
    {.flag = "warmup-ratio", .key = "warmup_ratio", .type = TOPT_FLOAT, .off = F(warmup_ratio), .lo = 0, .hi = 1,
     .metavar = "X", .help = "the fraction of the steps with a linear warmup", .group = TOPT_G_OPTIM},
    {.flag = "clip", .key = "clip", .type = TOPT_FLOAT, .off = F(clip), .lo = 0, .hi = 1e9, .def = 5, .metavar = "X",
     .help = "clip the gradient's global norm at X (0: never)", .group = TOPT_G_OPTIM},
    {.flag = "label-smoothing", .key = "label_smoothing", .type = TOPT_FLOAT, .off = F(label_smoothing), .lo = 0,
     .hi = 0.99, .def = 0.05, .metavar = "X", .help = "label smoothing of the cross-entropy", .group = TOPT_G_OPTIM},
    {.flag = "head-dropout", .key = "head_dropout", .type = TOPT_FLOAT, .off = F(head_dropout), .lo = 0, .hi = 0.99,
     .def = 0.2, .metavar = "X", .help = "dropout in the classification head", .group = TOPT_G_OPTIM,
     .flags = TOPT_CLS},
    {.flag = "seed", .key = "seed", .type = TOPT_SEED, .off = F(seed), .lo = 0, .hi = INT_MAX, .def = 2023,
     .metavar = "N",
     .help = "seeds the initialisation, the data order, dropout\nand the --train-fraction subsample",
     .group = TOPT_G_OPTIM, .not_in_grid = "a grid's cells take their seeds from \"seeds\""},
    {.flag = "max-steps", .key = "max_steps", .type = TOPT_INT64, .off = F(max_steps), .lo = 0, .hi = INT_MAX,
     .metavar = "N",
     .help = "stop after N optimizer steps (0: no limit; an epoch\nit cuts short is validated as a partial "
             "epoch and\ncan be the best)",
     .group = TOPT_G_OPTIM},
    {.flag = "save-every", .key = "save_every", .type = TOPT_INT64, .off = F(save_every), .lo = 0, .hi = INT_MAX,
     .metavar = "N", .help = "also checkpoint every N steps (0: at epoch ends)", .group = TOPT_G_OPTIM},
    {.flag = "no-shuffle", .key = "shuffle", .type = TOPT_BOOL, .off = F(shuffle), .lo = 0, .hi = 1, .def = 1,
     .help = "keep the file order (config.json and grids:\nshuffle = false)", .group = TOPT_G_OPTIM,
     .flags = TOPT_FLAG | TOPT_OPTIONAL, .absent = 1},
    {.flag = "drop-last", .key = "drop_last", .type = TOPT_BOOL, .off = F(drop_last), .lo = 0, .hi = 1, .def = 1,
     .metavar = "yes|no",
     .help = "leave out the last partial batch of each epoch (yes:\nthe authors' DataLoader, and the committed "
             "results)\nor train on it as a smaller batch (no: every row each\nepoch)",
     .group = TOPT_G_OPTIM, .flags = TOPT_OPTIONAL, .absent = 1 /* runs from before it dropped it */},
    {.flag = "grad-accum", .key = "grad_accum", .type = TOPT_INT, .off = F(grad_accum), .lo = 1, .hi = 65536,
     .def = 1, .metavar = "K",
     .help = "cut each batch into K micro-batches whose gradients\nadd up to the batch's (less memory, the same "
             "step;\nalso allowed with --resume)",
     .group = TOPT_G_OPTIM, .flags = TOPT_RESUME | TOPT_OPTIONAL, .absent = 1},
    {.flag = "metric-for-best", .key = "metric_for_best", .type = TOPT_ENUM, .off = F(metric_for_best),
     .choices = METRIC,
     .help = "the validation metric that picks the best epoch (its\nweights are kept) and that "
             "--early-stopping-patience\nwatches",
     .group = TOPT_G_OPTIM, .flags = TOPT_OPTIONAL, .absent = BEST_ACCURACY},
    {.flag = "early-stopping-patience", .key = "early_stopping_patience", .type = TOPT_INT,
     .off = F(early_stopping_patience), .lo = 0, .hi = 100000, .metavar = "N",
     .help = "end the run when N validations in a row have not\nimproved on the best (0: off); the best epoch is "
             "kept\nand tested",
     .group = TOPT_G_OPTIM, .flags = TOPT_OPTIONAL, .absent = 0},
    /* ---- compute */
    {.flag = "precision", .key = "precision", .type = TOPT_ENUM, .off = F(precision), .choices = PRECISION,
     .parse = parse_precision,
     .help = "bf16: bf16 products, fp32 master weights; with\n--resume it switches the rest of the run "
             "(recorded;\nno longer bit-identical to an uninterrupted run)",
     .def_help = "auto: bf16 where the CPU has native bf16, else fp32", .group = TOPT_G_COMPUTE,
     .flags = TOPT_RESUME | TOPT_OPTIONAL | TOPT_WAS, .absent = PIFI_PREC_FP32 /* runs from before bf16 */},
    /* ---- output */
    {.flag = "bundle", .key = "bundle", .config_key = "llm_bundled", .type = TOPT_BOOL, .off = F(bundle), .lo = 0,
     .hi = 1,
     .help = "copy the frozen layer into RUN_DIR/llm_layer (else it\nis referenced by path and checked by "
             "hash when loaded)",
     .group = TOPT_G_OUTPUT, .flags = TOPT_FLAG | TOPT_TOP | TOPT_LLM | TOPT_OPTIONAL, .absent = 0},
    {.flag = "keep-checkpoint", .key = "keep_checkpoint", .type = TOPT_BOOL, .off = F(keep_checkpoint), .lo = 0,
     .hi = 1, .metavar = "yes|no",
     .help = "keep checkpoint/ (weights + Adam moments, about 3x\nthe model) once the run is complete; no: "
             "removed,\nas a complete run has nothing to resume\n(model.safetensors stays)",
     .group = TOPT_G_OUTPUT, .flags = TOPT_RESUME | TOPT_TOP | TOPT_OPTIONAL,
     .absent = 1 /* runs from before it: they kept it */,
     .not_in_grid = "a grid's cells keep what its \"keep\" says"},
};
#undef F

const int N_TRAIN_OPTIONS = (int)(sizeof TRAIN_OPTIONS / sizeof TRAIN_OPTIONS[0]);

void train_opts_default(TrainOpts *o) {
    memset(o, 0, sizeof *o);
    o->layer = -1;
    o->method = METHOD_PIFI;
    for (int i = 0; i < N_TRAIN_OPTIONS; i++) train_option_set(&TRAIN_OPTIONS[i], o, TRAIN_OPTIONS[i].def);
}

const TrainOption *train_option_by_flag(const char *flag) {
    for (int i = 0; i < N_TRAIN_OPTIONS; i++)
        if (!strcmp(TRAIN_OPTIONS[i].flag, flag)) return &TRAIN_OPTIONS[i];
    return NULL;
}

const TrainOption *train_option_by_key(const char *key) {
    for (int i = 0; i < N_TRAIN_OPTIONS; i++)
        if (!strcmp(TRAIN_OPTIONS[i].key, key)) return &TRAIN_OPTIONS[i];
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* the field */

double train_option_get(const TrainOption *r, const TrainOpts *o) {
    const char *p = (const char *)o + r->off;
    switch (r->type) {
    case TOPT_INT:
    case TOPT_ENUM:
    case TOPT_BOOL: return *(const int *)p;
    case TOPT_INT64: return (double)*(const int64_t *)p;
    case TOPT_SEED: return (double)*(const uint64_t *)p;
    case TOPT_FLOAT: return *(const float *)p;
    }
    return 0;
}

void train_option_set(const TrainOption *r, TrainOpts *o, double v) {
    char *p = (char *)o + r->off;
    switch (r->type) {
    case TOPT_INT:
    case TOPT_ENUM:
    case TOPT_BOOL: *(int *)p = (int)v; break;
    case TOPT_INT64: *(int64_t *)p = (int64_t)v; break;
    case TOPT_SEED: *(uint64_t *)p = (uint64_t)v; break;
    case TOPT_FLOAT: *(float *)p = (float)v; break;
    }
}

void train_option_format(const TrainOption *r, const TrainOpts *o, char *buf, size_t n) {
    double v = train_option_get(r, o);
    if (r->type == TOPT_ENUM) snprintf(buf, n, "%s", r->choices[(int)v]);
    else if (r->type == TOPT_BOOL) snprintf(buf, n, "%s", v ? "yes" : "no");
    else snprintf(buf, n, "%g", v);
}

int train_option_applies(const TrainOption *r, const TrainOpts *o) {
    if ((r->flags & TOPT_LORA) && o->method != METHOD_LORA) return 0;
    if ((r->flags & TOPT_LLM) && !o->llm) return 0;
    if ((r->flags & TOPT_QA) && !o->span) return 0;
    if ((r->flags & TOPT_SEQ) && !o->span && !o->seq2seq) return 0;
    if ((r->flags & TOPT_GEN) && !o->seq2seq) return 0;
    if ((r->flags & TOPT_CLS) && o->seq2seq) return 0;
    return 1;
}

/* Is x in r's range? A float option is compared as the float it is stored
 * in: config.json holds 0.99000000953674316 for --label-smoothing 0.99, and
 * that must read back (and rerun, scripts/rerun-cell.sh). */
static int in_range(const TrainOption *r, double x) {
    if (r->type == TOPT_FLOAT) return (float)x >= (float)r->lo && (float)x <= (float)r->hi;
    return x >= r->lo && x <= r->hi && x == floor(x);
}

/* "a, b or c" of the choices, each between q and q. */
static void choice_list(const TrainOption *r, const char *q, char *buf, size_t n) {
    int k = 0;
    while (r->choices[k]) k++;
    buf[0] = 0;
    for (int i = 0; i < k; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, n - used, "%s%s%s%s", i == 0 ? "" : i == k - 1 ? " or " : ", ", q, r->choices[i], q);
    }
}

static int enum_parse(const TrainOption *r, const char *s, int *v) {
    if (r->parse) return r->parse(s, v);
    for (int i = 0; r->choices[i]; i++)
        if (!strcmp(r->choices[i], s)) return *v = i, 0;
    return -1;
}

/* ------------------------------------------------------------------------ */
/* the command line */

int train_option_parse_arg(const TrainOption *r, const char *arg, TrainOpts *o, PifiErr *err) {
    if (r->flags & TOPT_FLAG) {
        train_option_set(r, o, !r->def);
        return 0;
    }
    char list[128];
    int iv;
    switch (r->type) {
    case TOPT_ENUM:
        if (enum_parse(r, arg, &iv)) {
            choice_list(r, "", list, sizeof list);
            return pifi_errf(err, "--%s must be %s, not '%s'", r->flag, list, arg);
        }
        train_option_set(r, o, iv);
        return 0;
    case TOPT_BOOL: /* yes | no (also true/false, 1/0) */
        if (!strcmp(arg, "yes") || !strcmp(arg, "true") || !strcmp(arg, "1")) iv = 1;
        else if (!strcmp(arg, "no") || !strcmp(arg, "false") || !strcmp(arg, "0")) iv = 0;
        else return pifi_errf(err, "--%s must be yes or no, not '%s'", r->flag, arg);
        train_option_set(r, o, iv);
        return 0;
    case TOPT_FLOAT: {
        char *end;
        double v = strtod(arg, &end);
        if (end == arg || *end || !in_range(r, v))
            return pifi_errf(err, "--%s expects a number in [%g, %g], got '%s'", r->flag, r->lo, r->hi, arg);
        train_option_set(r, o, v);
        return 0;
    }
    default: { /* the integers: every range fits a long */
        char *end;
        errno = 0;
        long v = strtol(arg, &end, 10);
        if (errno || end == arg || *end || v < (long)r->lo || v > (long)r->hi)
            return pifi_errf(err, "--%s expects an integer in %ld..%ld, got '%s'", r->flag, (long)r->lo, (long)r->hi,
                             arg);
        train_option_set(r, o, (double)v);
        return 0;
    }
    }
}

/* ------------------------------------------------------------------------ */
/* JSON and TOML values */

static int msgf(char *msg, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int msgf(char *msg, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, n, fmt, ap);
    va_end(ap);
    return -1;
}

int train_option_from_json(const TrainOption *r, const cJSON *v, const char *k, int grid, TrainOpts *o, char *msg,
                           size_t n) {
    char list[128];
    int iv;
    if (r->type == TOPT_BOOL) {
        if (!cJSON_IsBool(v))
            return grid ? msgf(msg, n, "\"%s\" must be true or false", k)
                        : msgf(msg, n, "field \"%s\" must be true or false", k);
        train_option_set(r, o, cJSON_IsTrue(v));
        return 0;
    }
    if (r->type == TOPT_ENUM) {
        const char *s = cJSON_IsString(v) ? v->valuestring : NULL;
        if (s && enum_parse(r, s, &iv) == 0) {
            train_option_set(r, o, iv);
            return 0;
        }
        choice_list(r, "\"", list, sizeof list);
        if (grid) return msgf(msg, n, "\"%s\" must be %s", k, list);
        if (!s) return msgf(msg, n, "field \"%s\" must be a string", k);
        return msgf(msg, n, "\"%s\" is \"%s\", expected %s", k, s, list);
    }
    int integer = r->type != TOPT_FLOAT;
    const char *what = integer ? "an integer" : "a number";
    if (!cJSON_IsNumber(v) && !grid) return msgf(msg, n, "\"%s\" is not a number", k);
    double x = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    int ok = in_range(r, x);
    if (!ok && grid) return msgf(msg, n, "\"%s\" must be %s in [%g, %g]", k, what, r->lo, r->hi);
    if (!ok && integer)
        return msgf(msg, n, "\"%s\" is %.17g, expected an integer in %.17g..%.17g", k, x, r->lo, r->hi);
    if (!ok) return msgf(msg, n, "\"%s\" is %.17g, expected a number in [%g, %g]", k, x, r->lo, r->hi);
    train_option_set(r, o, x);
    return 0;
}

cJSON *train_option_to_json(const TrainOption *r, const TrainOpts *o) {
    double v = train_option_get(r, o);
    if (r->type == TOPT_BOOL) return cJSON_CreateBool(v != 0);
    if (r->type == TOPT_ENUM) return cJSON_CreateString(r->choices[(int)v]);
    return cJSON_CreateNumber(v);
}

/* ------------------------------------------------------------------------ */
/* --help */

size_t train_options_help(TrainOptGroup g, char *buf, size_t n) {
    size_t len = 0;
#define PUT(...)                                                                                  \
    do {                                                                                          \
        int w_ = snprintf(len < n ? buf + len : NULL, len < n ? n - len : 0, __VA_ARGS__);       \
        if (w_ > 0) len += (size_t)w_;                                                            \
    } while (0)
    if (n) buf[0] = 0;
    TrainOpts d;
    train_opts_default(&d);
    for (int i = 0; i < N_TRAIN_OPTIONS; i++) {
        const TrainOption *r = &TRAIN_OPTIONS[i];
        if (r->group != g) continue;
        char head[128], value[96], def[96];
        if (r->type == TOPT_ENUM) { /* the choices are the value's name: "adam|adamw" */
            value[0] = 0;
            for (int c = 0; r->choices[c]; c++)
                snprintf(value + strlen(value), sizeof value - strlen(value), "%s%s", c ? "|" : "", r->choices[c]);
        } else {
            snprintf(value, sizeof value, "%s", r->metavar ? r->metavar : "");
        }
        snprintf(head, sizeof head, "--%s%s%s", r->flag, value[0] ? " " : "", value);
        if (strlen(head) <= 20) PUT("  %-22s", head);
        else PUT("  %s\n%24s", head, "");
        size_t col = 24;
        for (const char *h = r->help; *h;) { /* the help's lines, each continuation indented */
            size_t k = strcspn(h, "\n");
            PUT("%.*s", (int)k, h);
            col = 24 + k;
            h += k;
            if (*h == '\n') {
                h++;
                PUT("\n%24s", "");
            }
        }
        if (r->flags & TOPT_FLAG) {
            PUT("\n");
            continue;
        }
        if (r->def_help) snprintf(def, sizeof def, "%s", r->def_help);
        else train_option_format(r, &d, def, sizeof def);
        if (col + strlen(def) + 11 > 80) PUT("\n%24s(default %s)\n", "", def);
        else PUT(" (default %s)\n", def);
    }
#undef PUT
    return len;
}
