/* train_options.h: the training options of `pifi train`, declared once.
 *
 * Each option is one row of TRAIN_OPTIONS (train_options.c): its command-line
 * spelling, its type, its TrainOpts field, its range, its default, its help
 * line, its key in the run's config.json and in a grid's [train] table, and
 * whether `--resume` may change it. Every consumer loops over the table: the
 * command line of `pifi train` and its --help (src/cli/cmd_train.c), the run's
 * config.json writer and reader (runio.c), the grid file's [train] table
 * (src/exp/grid.c) and the defaults (train_opts_default). Adding a
 * hyperparameter is one row here and one TrainOpts field.
 *
 * The model's own settings (--slm, --llm, --layer, --method), the data
 * flags and the output directory are not rows: they are not hyperparameters
 * of a run and have their own places in config.json. */
#ifndef PIFI_TRAIN_OPTIONS_H
#define PIFI_TRAIN_OPTIONS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "train/trainer.h"

typedef enum {
    TOPT_INT,    /* int */
    TOPT_INT64,  /* int64_t */
    TOPT_SEED,   /* uint64_t */
    TOPT_FLOAT,  /* float */
    TOPT_ENUM,   /* an enum (int-sized) named by one of choices */
    TOPT_BOOL,   /* int 0/1: yes|no on the command line (or a flag: TOPT_FLAG), true/false in JSON and TOML */
} TrainOptType;

/* TrainOption.flags */
enum {
    TOPT_RESUME = 1 << 0,   /* `--resume RUN` may change it (recorded in config.json "resumes") */
    TOPT_FLAG = 1 << 1,     /* command line: a flag without a value that sets the opposite of the default */
    TOPT_TOP = 1 << 2,      /* config.json: in "pifi", not "pifi.train" */
    TOPT_LORA = 1 << 3,     /* config.json: written and read only for --method lora */
    TOPT_LLM = 1 << 4,      /* config.json: written and read only for a run that plugs an LLM layer */
    TOPT_OPTIONAL = 1 << 5, /* config.json may lack it (runs older than the option): then `absent` */
    TOPT_WAS = 1 << 6,      /* --resume records the old value too ("<key>_was") and says so */
    TOPT_QA = 1 << 7,       /* config.json: written and read only for an extractive QA run (TrainOpts.span) */
    TOPT_GEN = 1 << 8,      /* config.json: written and read only for a generation run (TrainOpts.seq2seq);
                               given for another run: an error */
    TOPT_SEQ = 1 << 10,     /* config.json: only for a run whose plugged layer reads the whole sequence (QA,
                               generation) */
    TOPT_CLS = 1 << 9,      /* config.json: written and read only for a run that is not a generation run */
};

/* Which part of `pifi train --help` lists the option. */
typedef enum { TOPT_G_MODEL, TOPT_G_OPTIM, TOPT_G_COMPUTE, TOPT_G_OUTPUT } TrainOptGroup;

typedef struct {
    const char *flag;            /* the command line's spelling, without "--" */
    const char *key;             /* the grid's [train] key, and config.json's unless config_key */
    const char *config_key;      /* config.json's key where it differs (NULL: key) */
    TrainOptType type;
    size_t off;                  /* offsetof(TrainOpts, field) */
    double lo, hi;               /* numbers: the range everywhere (command line, config.json, grid) */
    double def;                  /* the default (enum: its value; bool: 0 or 1) */
    const char *const *choices;  /* enum: its spellings, NULL-terminated; value i is choices[i] */
    int (*parse)(const char *s, int *v); /* enum: spelling -> value where not simply its index (NULL) */
    const char *metavar;         /* --help: the value's name ("N", "X"); NULL for a flag and an enum (its choices) */
    const char *help;            /* --help: what it does ("\n" starts a continuation line) */
    const char *def_help;        /* --help: the default in words where it is not def (NULL: def) */
    TrainOptGroup group;
    unsigned flags;              /* TOPT_* */
    double absent;               /* TOPT_OPTIONAL: the value of a config.json without the key */
    const char *not_in_grid;     /* NULL: a grid's [train] key; else why a grid does not take it */
} TrainOption;

#define TRAIN_OPTIONS_MAX 64 /* rows at most (command-line arrays are sized by it) */
extern const TrainOption TRAIN_OPTIONS[];
extern const int N_TRAIN_OPTIONS;

/* The row of a command-line spelling / a config.json or grid key; NULL if none. */
const TrainOption *train_option_by_flag(const char *flag);
const TrainOption *train_option_by_key(const char *key);

/* The field's value as a double (enum: its value; bool 0/1), and setting it. */
double train_option_get(const TrainOption *r, const TrainOpts *o);
void train_option_set(const TrainOption *r, TrainOpts *o, double v);
/* "5e-05", "adamw", "yes": the value as --help and messages show it. */
void train_option_format(const TrainOption *r, const TrainOpts *o, char *buf, size_t n);

/* A command-line value (arg NULL for a TOPT_FLAG) into o; -1 with
 * "--lr expects a number in [0, 1e+06], got 'abc'" (the option named). */
int train_option_parse_arg(const TrainOption *r, const char *arg, TrainOpts *o, PifiErr *err);
/* A JSON or TOML value (config.json, a grid) into o; -1 with "<where>"
 * followed by what is wrong, e.g. "\"pifi.train.lr\" is inf, expected a
 * number in [0, 1e+06]" (config.json, what_key "pifi.train.lr") or
 * "\"lr\" must be a number in [0, 1e+06]" (a grid, grid = 1). */
int train_option_from_json(const TrainOption *r, const cJSON *v, const char *what_key, int grid, TrainOpts *o,
                           char *msg, size_t n);
/* The value as JSON (config.json). */
cJSON *train_option_to_json(const TrainOption *r, const TrainOpts *o);
/* Does config.json hold this option for o (TOPT_LORA, TOPT_LLM)? */
int train_option_applies(const TrainOption *r, const TrainOpts *o);

/* The options of a --help group, one "  --flag VALUE   help (default D)" line
 * (and continuation lines) each, into buf (NUL-terminated, cut at n);
 * returns the length the whole text needs, as snprintf. */
size_t train_options_help(TrainOptGroup g, char *buf, size_t n);

#endif
