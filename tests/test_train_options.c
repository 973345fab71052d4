/* test_train_options.c: every row of the training-option table
 * (train/train_options.h) against each of its consumers: it is listed by
 * `pifi train --help`, a value other than its default goes through the
 * command line, config.json (written and read back as --resume and eval
 * read it) and a grid's [train] table, and a value outside its range is
 * refused on each path with an error that names the option. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "exp/grid.h"
#include "train/runio.h"
#include "train/train_options.h"
#include "test.h"

/* A value of row r other than its default, in range. */
static double other_value(const TrainOption *r) {
    if (r->type == TOPT_BOOL) return !r->def;
    if (r->type == TOPT_ENUM) return r->def == 0 ? 1 : 0;
    return r->def != r->hi ? r->hi : r->lo;
}

/* Options where every row is written to config.json: LoRA's rows and the
 * LLM's (bundle) apply. */
static void opts_for(const TrainOption *r, double v, TrainOpts *o) {
    train_opts_default(o);
    o->method = METHOD_LORA;
    o->slm = "m";
    o->llm = "/nowhere/l.gguf";
    o->span = 1; /* every conditional row applies: lora's, the layer's, QA's ... */
    if (r->flags & TOPT_GEN) o->span = 0, o->seq2seq = 1; /* ... or generation's */
    train_option_set(r, o, v);
}

/* The command line's spelling of the value of r in o. */
static void cli_value(const TrainOption *r, const TrainOpts *o, char *buf, size_t n) {
    double v = train_option_get(r, o);
    if (r->type == TOPT_ENUM) snprintf(buf, n, "%s", r->choices[(int)v]);
    else if (r->type == TOPT_BOOL) snprintf(buf, n, "%s", v ? "yes" : "no");
    else snprintf(buf, n, "%.17g", v);
}

static void test_table(void) {
    CHECK(N_TRAIN_OPTIONS <= TRAIN_OPTIONS_MAX);
    for (int i = 0; i < N_TRAIN_OPTIONS; i++)
        for (int j = 0; j < i; j++) {
            CHECKF(strcmp(TRAIN_OPTIONS[i].flag, TRAIN_OPTIONS[j].flag), "--%s twice", TRAIN_OPTIONS[i].flag);
            CHECKF(strcmp(TRAIN_OPTIONS[i].key, TRAIN_OPTIONS[j].key), "key %s twice", TRAIN_OPTIONS[i].key);
        }
    TrainOpts d;
    train_opts_default(&d);
    for (int i = 0; i < N_TRAIN_OPTIONS; i++) {
        const TrainOption *r = &TRAIN_OPTIONS[i];
        double def = r->type == TOPT_FLOAT ? (double)(float)r->def : r->def; /* as stored */
        CHECKF(train_option_get(r, &d) == def, "--%s: default", r->flag);
        CHECKF((r->def >= r->lo && r->def <= r->hi) || r->type == TOPT_ENUM, "--%s: default out of range", r->flag);
    }
}

static void test_help(void) {
    static char help[65536];
    size_t n = 0;
    for (int g = TOPT_G_MODEL; g <= TOPT_G_OUTPUT; g++) n += train_options_help(g, help + n, sizeof help - n);
    REQUIRE(n < sizeof help);
    for (int i = 0; i < N_TRAIN_OPTIONS; i++) {
        char want[96];
        snprintf(want, sizeof want, "  --%s", TRAIN_OPTIONS[i].flag);
        CHECKF(strstr(help, want) != NULL, "--help lacks --%s", TRAIN_OPTIONS[i].flag);
    }
    CHECK(strstr(help, "(default 5e-05)") != NULL); /* the lr's default, from the table */
}

static void test_command_line(void) {
    for (int i = 0; i < N_TRAIN_OPTIONS; i++) {
        const TrainOption *r = &TRAIN_OPTIONS[i];
        TrainOpts want, o;
        opts_for(r, other_value(r), &want);
        char arg[64];
        cli_value(r, &want, arg, sizeof arg);
        train_opts_default(&o);
        PifiErr err = {0};
        CHECKF(train_option_parse_arg(r, r->flags & TOPT_FLAG ? NULL : arg, &o, &err) == 0, "--%s %s: %s", r->flag,
               arg, err.msg);
        CHECKF(train_option_get(r, &o) == train_option_get(r, &want), "--%s %s: not set", r->flag, arg);
        if (r->flags & TOPT_FLAG) continue; /* no value to be out of range */
        char bad[64], name[96];
        if (r->type == TOPT_ENUM) snprintf(bad, sizeof bad, "bogus");
        else if (r->type == TOPT_BOOL) snprintf(bad, sizeof bad, "maybe");
        else snprintf(bad, sizeof bad, "%.17g", r->lo - 1);
        snprintf(name, sizeof name, "--%s ", r->flag);
        memset(&err, 0, sizeof err);
        CHECKF(train_option_parse_arg(r, bad, &o, &err) == -1, "--%s %s accepted", r->flag, bad);
        CHECK_MSG(err, name);
    }
}

static void test_config_json(void) {
    for (int i = 0; i < N_TRAIN_OPTIONS; i++) {
        const TrainOption *r = &TRAIN_OPTIONS[i];
        TrainOpts want, back;
        opts_for(r, other_value(r), &want);
        cJSON *p = runio_opts_json(&want, 2, NULL, NULL);
        PifiErr err = {0};
        CHECKF(runio_opts_from_json(p, &back, "config.json", &err) == 0, "%s: %s", r->key, err.msg);
        CHECKF(train_option_get(r, &back) == train_option_get(r, &want), "%s: not restored", r->key);
        /* out of range in config.json: refused, naming the key */
        const char *k = r->config_key ? r->config_key : r->key;
        cJSON *in = r->flags & TOPT_TOP ? p : cJSON_GetObjectItemCaseSensitive(p, "train");
        CHECKF(cJSON_GetObjectItemCaseSensitive(in, k) != NULL, "%s: not in config.json", k);
        cJSON *bad = r->type == TOPT_ENUM ? cJSON_CreateString("bogus") : cJSON_CreateNumber(r->lo - 1);
        cJSON_ReplaceItemInObjectCaseSensitive(in, k, bad);
        memset(&err, 0, sizeof err);
        CHECKF(runio_opts_from_json(p, &back, "config.json", &err) == -1, "%s out of range: accepted", k);
        CHECK_MSG(err, k);
        /* absent: an optional row takes its absent value, a required one is missing */
        cJSON_DeleteItemFromObjectCaseSensitive(in, k);
        memset(&err, 0, sizeof err);
        int rc = runio_opts_from_json(p, &back, "config.json", &err);
        if (r->flags & TOPT_OPTIONAL)
            CHECKF(rc == 0 && train_option_get(r, &back) == r->absent, "%s absent: %s", k, err.msg);
        else
            CHECKF(rc == -1 && strstr(err.msg, "missing") && strstr(err.msg, k), "%s absent: %s", k, err.msg);
        cJSON_Delete(p);
    }
}

static int parse_grid(const TrainOption *r, const cJSON *v, ExpGrid *g, PifiErr *err) {
    char *val = cJSON_PrintUnformatted(v), text[512];
    snprintf(text, sizeof text, "{\"slm\": \"m\", \"out\": \"o\", \"tasks\": [\"sst2\"], \"methods\": [\"lora\"], "
             "\"train\": {\"%s\": %s}}", r->key, val);
    cJSON_free(val);
    return grid_parse(g, text, strlen(text), "grid.json", "/base", NULL, 0, err);
}

static void test_grid(void) {
    for (int i = 0; i < N_TRAIN_OPTIONS; i++) {
        const TrainOption *r = &TRAIN_OPTIONS[i];
        TrainOpts want;
        opts_for(r, other_value(r), &want);
        cJSON *v = train_option_to_json(r, &want);
        ExpGrid g;
        PifiErr err = {0};
        int rc = parse_grid(r, v, &g, &err);
        cJSON_Delete(v);
        if (r->not_in_grid) { /* the seed, keep_checkpoint: the grid has its own keys for them */
            CHECKF(rc == -1 && strstr(err.msg, r->key) && strstr(err.msg, "not a [train] key"), "%s: %s", r->key,
                   err.msg);
            continue;
        }
        CHECKF(rc == 0, "[train] %s: %s", r->key, err.msg);
        if (rc == 0) {
            CHECKF(train_option_get(r, &g.train) == train_option_get(r, &want), "[train] %s: not set", r->key);
            grid_free(&g);
        }
        v = r->type == TOPT_ENUM ? cJSON_CreateString("bogus") : cJSON_CreateNumber(r->lo - 1);
        memset(&err, 0, sizeof err);
        rc = parse_grid(r, v, &g, &err);
        cJSON_Delete(v);
        CHECKF(rc == -1, "[train] %s out of range: accepted", r->key);
        CHECK_MSG(err, r->key);
    }
}

int main(void) {
    test_table();
    test_help();
    test_command_line();
    test_config_json();
    test_grid();
    TEST_DONE();
}
