/* cmd_score.c: `pifi score --metric M ...`: score any system's predictions
 * file with one of the metrics of one table (today the official SQuAD v1.1
 * evaluation), printed as the metric's reference implementation prints it. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "pifi/json.h"
#include "pifi/squad.h"

/* What a metric reads: the gold data and the predictions. */
typedef struct {
    const char *data, *pred;
    int skip_bad;
} ScoreArgs;

/* Python's repr of a float (the shortest text that reads back the same
 * double), which json.dumps prints. */
static void py_float(FILE *f, double v) {
    char buf[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, v);
        if (strtod(buf, NULL) == v) break;
    }
    if (!isfinite(v)) snprintf(buf, sizeof buf, "%s", isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
    else if (!strpbrk(buf, ".eEn")) strcat(buf, ".0"); /* 100 -> 100.0 */
    fputs(buf, f);
}

/* ------------------------------------------------------------------------ */
/* squad */

typedef struct {
    const cJSON *pred;
    const SquadData *d;
} SquadPreds;

static const char *squad_pred_of(void *ctx, int i) {
    SquadPreds *p = ctx;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(p->pred, p->d->q[i].id);
    return v ? v->valuestring : NULL; /* strings only: checked on loading */
}

static int score_squad(const ScoreArgs *a) {
    SquadData d;
    PifiErr err = {0};
    if (squad_load(&d, a->data, a->skip_bad, &err)) {
        fprintf(stderr, "pifi: score: %s\n", err.msg);
        return err.kind == PIFI_ERR_RUNTIME ? 1 : 2;
    }
    if (d.skipped)
        fprintf(stderr, "pifi: score: %s: %lld bad questions left out (--skip-bad-rows); the first: %s\n", a->data,
                (long long)d.skipped, d.first_skip);
    cJSON *pred = NULL;
    int rc = 2;
    if (pifi_json_load(a->pred, 1024u << 20, &pred, &err) || pifi_json_unique_keys(pred, a->pred, &err)) {
        fprintf(stderr, "pifi: score: %s\n", err.msg);
        goto done;
    }
    if (!cJSON_IsObject(pred)) {
        fprintf(stderr, "pifi: score: %s: expected a JSON object {question id: answer text}\n", a->pred);
        goto done;
    }
    const cJSON *v;
    cJSON_ArrayForEach(v, pred) if (!cJSON_IsString(v)) {
        fprintf(stderr, "pifi: score: %s: the answer to question %s is not a string\n", a->pred, v->string);
        goto done;
    }
    SquadPreds sp = {pred, &d};
    for (int i = 0; i < d.n; i++)
        if (!squad_pred_of(&sp, i)) fprintf(stderr, "Unanswered question %s will receive score 0.\n", d.q[i].id);
    SquadScore s;
    if (squad_evaluate(&d, squad_pred_of, &sp, &s, &err)) {
        fprintf(stderr, "pifi: score: %s\n", err.msg);
        goto done;
    }
    printf("{\"exact_match\": ");
    py_float(stdout, s.exact_match);
    printf(", \"f1\": ");
    py_float(stdout, s.f1);
    printf("}\n");
    rc = 0;
done:
    cJSON_Delete(pred);
    squad_free(&d);
    return rc;
}

/* ------------------------------------------------------------------------ */

static const struct {
    const char *name;
    int (*fn)(const ScoreArgs *a);
    const char *help;
} METRICS[] = {
    {"squad", score_squad,
     "the official SQuAD v1.1 evaluation: --data a SQuAD v1.1 JSON file (or the\n"
     "                   HF datasets JSON Lines form), --pred {question id: answer text}; prints\n"
     "                   {\"exact_match\": EM, \"f1\": F1} in percent, as the official script does"},
};
#define N_METRICS (sizeof METRICS / sizeof METRICS[0])

static void help(void) {
    printf("usage: pifi score --metric M --data GOLD --pred PREDICTIONS\n"
           "\n"
           "Score any system's predictions with a metric's reference definition.\n"
           "\n"
           "metrics:\n");
    for (size_t i = 0; i < N_METRICS; i++) printf("  %-16s %s\n", METRICS[i].name, METRICS[i].help);
    printf("\noptions:\n"
           "  --metric M       the metric (above)\n"
           "  --data F         the gold file\n"
           "  --pred F         the predictions file\n"
           "  --skip-bad-rows  leave malformed gold questions out (counted) instead of stopping\n"
           "  -h, --help       this text\n");
}

int cmd_score(int argc, char **argv) {
    enum { O_METRIC = 256, O_DATA, O_PRED, O_SKIP };
    static const struct option LONG[] = {
        {"metric", 1, 0, O_METRIC}, {"data", 1, 0, O_DATA},          {"pred", 1, 0, O_PRED},
        {"skip-bad-rows", 0, 0, O_SKIP}, {"help", 0, 0, 'h'},       {0, 0, 0, 0},
    };
    const char *metric = NULL;
    ScoreArgs a = {0};
    int c;
    opterr = 0;
    optind = 1;
    while ((c = cli_getopt(argc, argv, ":h", LONG, "score")) != -1) {
        switch (c) {
        case O_METRIC: metric = optarg; break;
        case O_DATA: a.data = optarg; break;
        case O_PRED: a.pred = optarg; break;
        case O_SKIP: a.skip_bad = 1; break;
        case 'h': help(); return 0;
        case ':': return cli_usage_error("score", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("score", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc) return cli_usage_error("score", "unexpected argument '%s'", argv[optind]);
    if (!metric || !a.data || !a.pred) return cli_usage_error("score", "--metric, --data and --pred are required");
    for (size_t i = 0; i < N_METRICS; i++)
        if (strcmp(metric, METRICS[i].name) == 0) return METRICS[i].fn(&a);
    return cli_usage_error("score", "unknown metric '%s' (squad)", metric);
}
