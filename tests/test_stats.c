/* test_stats.c: experiment statistics against scipy/numpy
 * (tests/fixtures/stats/welch.json from tools/oracle_stats.py, to 1e-9), and
 * results.csv / results.md: a CSV round trip (quoting, empty values), a
 * report whose numbers are the fixture's, and the order of a table's lines
 * (base, pifi, ..., lora, then another LLM's pifi@NAME, compared with the
 * same base). */
#include <limits.h>
#include <math.h>
#include <unistd.h>

#include "exp/claims.h"
#include "exp/plot.h"
#include "exp/report.h"
#include "exp/results.h"
#include "exp/stats.h"
#include "pifi/fileio.h"
#include "pifi/json.h"
#include "test.h"

static double jnum(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsNumber(v)) return v->valuedouble;
    if (cJSON_IsString(v)) return !strcmp(v->valuestring, "inf") ? INFINITY : !strcmp(v->valuestring, "-inf") ? -INFINITY : NAN;
    return NAN;
}

static int jarr(const cJSON *o, const char *k, double *out) {
    int n = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(o, k)) out[n++] = v->valuedouble;
    return n;
}

/* Same value: both NaN, equal infinities, or within 1e-9 (relative above 1). */
static int close_to(double got, double want) {
    if (isnan(want)) return isnan(got);
    if (isinf(want)) return got == want;
    return fabs(got - want) <= 1e-9 * fmax(1.0, fabs(want));
}

static void test_fixture(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/stats/welch.json", test_fixtures());
    cJSON *doc;
    PifiErr err = {0};
    REQUIRE(pifi_json_load(path, 1 << 22, &doc, &err) == 0);
    int cases = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "cases")) {
        const char *name = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
        double a[64], b[64];
        int na = jarr(c, "a", a), nb = jarr(c, "b", b);
        StatSummary sa, sb;
        stats_summary(a, na, &sa);
        stats_summary(b, nb, &sb);
        CHECKF(close_to(sa.mean, jnum(c, "mean_a")), "%s mean_a %.17g vs %.17g", name, sa.mean, jnum(c, "mean_a"));
        CHECKF(close_to(sa.std, jnum(c, "std_a")), "%s std_a %.17g vs %.17g", name, sa.std, jnum(c, "std_a"));
        CHECKF(close_to(sb.mean, jnum(c, "mean_b")), "%s mean_b", name);
        CHECKF(close_to(sb.std, jnum(c, "std_b")), "%s std_b %.17g vs %.17g", name, sb.std, jnum(c, "std_b"));
        StatWelch w;
        stats_welch(a, na, b, nb, &w);
        CHECKF(close_to(w.t, jnum(c, "t")), "%s t %.17g vs %.17g", name, w.t, jnum(c, "t"));
        CHECKF(close_to(w.p, jnum(c, "p")), "%s p %.17g vs %.17g", name, w.p, jnum(c, "p"));
        if (!isnan(jnum(c, "p"))) /* scipy reports df = 1 where the test is undefined; pifi NaN */
            CHECKF(close_to(w.df, jnum(c, "df")), "%s df %.17g vs %.17g", name, w.df, jnum(c, "df"));
        else
            CHECK(isnan(w.p));
        cases++;
    }
    CHECK(cases >= 20);
    cJSON_Delete(doc);
}

static ExpRow row(const char *task, const char *eval, const char *method, int layer, long long seed, double acc) {
    ExpRow w;
    memset(&w, 0, sizeof w);
    snprintf(w.task, sizeof w.task, "%s", task);
    snprintf(w.eval_task, sizeof w.eval_task, "%s", eval);
    snprintf(w.method, sizeof w.method, "%s", method);
    w.has_layer = strcmp(method, "base") != 0;
    w.layer = layer;
    w.seed = seed;
    w.train_fraction = 1;
    w.accuracy = acc;
    w.macro_f1 = acc - 0.01;
    w.mcc = 2 * acc - 1;
    w.valid_accuracy = NAN;
    w.best_epoch = 1;
    w.steps = 21;
    w.seconds = NAN;
    snprintf(w.run_dir, sizeof w.run_dir, "/nonexistent/a,b \"q\"/%s/seed%lld", method, seed);
    return w;
}

static void test_csv_and_report(void) {
    /* the fixture's acc5 case: pifi (a) against base (b) */
    static const double A[5] = {0.8123, 0.8207, 0.8151, 0.8189, 0.8098}, B[5] = {0.8011, 0.7987, 0.8052, 0.8033, 0.7969};
    static const long long SEEDS[5] = {42, 1004, 2023, 2024, 2025};
    ExpResults r = {0};
    PifiErr err = {0};
    for (int i = 0; i < 5; i++) {
        ExpRow w = row("sst2", "sst2", "base", 0, SEEDS[i], B[i]);
        REQUIRE(results_add(&r, &w, &err) == 0);
    }
    for (int i = 0; i < 5; i++) {
        ExpRow w = row("sst2", "sst2", "pifi", -1, SEEDS[i], A[i]);
        w.valid_accuracy = 0.9;
        w.seconds = 12.25; /* written to 0.01 s */
        REQUIRE(results_add(&r, &w, &err) == 0);
    }
    ExpRow x = row("sst2", "cr", "pifi", INT_MIN, 42, 0.7);
    REQUIRE(results_add(&r, &x, &err) == 0);
    char dir[1024], csv[1100], md[1100];
    snprintf(dir, sizeof dir, "%s/stats_report", test_tmp());
    REQUIRE(pifi_mkdirs(dir, &err) == 0);
    snprintf(csv, sizeof csv, "%s/results.csv", dir);
    REQUIRE(results_write_csv(&r, csv, &err) == 0);
    ExpResults back;
    REQUIRE(results_read_csv(&back, csv, &err) == 0);
    REQUIRE(back.n == r.n);
    int same = 1;
    for (int i = 0; i < r.n; i++) {
        const ExpRow *p = &r.rows[i], *q = &back.rows[i];
        same &= !strcmp(p->task, q->task) && !strcmp(p->eval_task, q->eval_task) && !strcmp(p->method, q->method);
        same &= p->has_layer == q->has_layer && (!p->has_layer || p->layer == q->layer) && p->seed == q->seed;
        same &= p->accuracy == q->accuracy && p->macro_f1 == q->macro_f1 && p->mcc == q->mcc;
        same &= (isnan(p->valid_accuracy) && isnan(q->valid_accuracy)) || p->valid_accuracy == q->valid_accuracy;
        same &= (isnan(p->seconds) && isnan(q->seconds)) || p->seconds == q->seconds;
        same &= !strcmp(p->run_dir, q->run_dir) && p->steps == q->steps && p->best_epoch == q->best_epoch;
    }
    CHECK(same);
    CHECK(back.rows[10].layer == INT_MIN);

    /* the report: pifi's line carries mean +- std, the difference and the fixture's p-value (0.0006089...) */
    int rc = report_write(&back, dir, REPORT_CURVES_ALL, NULL, NULL, &err);
    snprintf(md, sizeof md, "%s/results.md", dir);
    char *text = NULL;
    size_t n;
    REQUIRE(pifi_read_file(md, 1 << 20, &text, &n, &err) == 0);
    CHECK(strstr(text, "| base | 5 | 0.8010 ± 0.0034 |") != NULL);
    CHECKF(strstr(text, "| pifi | 5 | 0.8154 ± 0.0045 |") != NULL, "%s", text);
    CHECK(strstr(text, "| +0.0143 | 0.0006 |") != NULL);
    CHECK(strstr(text, "## sst2 → cr") != NULL);
    free(text);
    if (plot_available(&err) == 0) {
        CHECKF(rc == 0, "%s", err.msg);
        char png[1200];
        snprintf(png, sizeof png, "%s/plots/bars_sst2.png", dir);
        CHECK(plot_is_png(png));
        snprintf(png, sizeof png, "%s/plots/bars_sst2_on_cr.png", dir);
        CHECK(plot_is_png(png));
    } else {
        printf("(no gnuplot: plots not checked)\n");
        CHECK(rc != 0);
    }
    results_free(&back);
    results_free(&r);

    /* bad files */
    FILE *f = fopen(csv, "w");
    fputs("task,eval_task\nsst2,sst2\n", f);
    fclose(f);
    CHECK(results_read_csv(&back, csv, &err) == -1);
    CHECK_MSG(err, "not a results.csv header");
    f = fopen(csv, "w");
    fputs("task,eval_task,method,layer,seed,train_fraction,accuracy,macro_f1,mcc,valid_accuracy,best_epoch,steps,"
          "seconds,run_dir\nsst2,sst2,base,,x42,1,0.5,0.5,0,,1,2,,d\n", f);
    fclose(f);
    CHECK(results_read_csv(&back, csv, &err) == -1);
    CHECK_MSG(err, "results.csv:2: a field is malformed");
    f = fopen(csv, "w");
    fputs("task,eval_task,method,layer,seed,train_fraction,accuracy,macro_f1,mcc,valid_accuracy,best_epoch,steps,"
          "seconds,run_dir\nsst2,sst2,base,,42,1,0.5,0.5,0,,1,2,,\"unterminated\n", f);
    fclose(f);
    CHECK(results_read_csv(&back, csv, &err) == -1);
}

/* Lines of a table in method order whatever the rows' order; a second LLM's
 * cells (method "pifi@stories260K") after them, with Δ and p against base. */
static void test_report_order(void) {
    static const char *M[] = {"pifi@stories260K", "lora", "pifi-L-2", "base", "pifi"};
    static const double ACC[] = {0.70, 0.79, 0.81, 0.78, 0.82};
    ExpResults r = {0};
    PifiErr err = {0};
    for (int m = 0; m < 5; m++)
        for (int s = 0; s < 3; s++) {
            char name[32];
            snprintf(name, sizeof name, "%s", M[m]);
            int layer = -1;
            if (!strcmp(name, "pifi-L-2")) {
                snprintf(name, sizeof name, "pifi");
                layer = -2;
            }
            ExpRow w = row("sst2", "sst2", name, layer, 42 + s, ACC[m] + 0.01 * s);
            w.has_layer = strcmp(name, "base") && strcmp(name, "lora");
            REQUIRE(results_add(&r, &w, &err) == 0);
        }
    char dir[1024], csv[1100], md[1100];
    snprintf(dir, sizeof dir, "%s/stats_order", test_tmp());
    REQUIRE(pifi_mkdirs(dir, &err) == 0);
    snprintf(csv, sizeof csv, "%s/results.csv", dir);
    REQUIRE(results_write_csv(&r, csv, &err) == 0);
    ExpResults back;
    REQUIRE(results_read_csv(&back, csv, &err) == 0);
    REQUIRE(back.n == 15);
    CHECK(!strcmp(back.rows[0].method, "pifi@stories260K") && back.rows[0].layer == -1 && back.rows[0].has_layer);
    char lb[64];
    results_label(&back.rows[6], lb, sizeof lb);
    CHECK(!strcmp(lb, "pifi-L-2"));
    report_write(&back, dir, REPORT_CURVES_NONE, NULL, NULL, &err); /* plots may fail without gnuplot */
    snprintf(md, sizeof md, "%s/results.md", dir);
    char *text = NULL;
    size_t n;
    REQUIRE(pifi_read_file(md, 1 << 20, &text, &n, &err) == 0);
    /* layers of one method stay in their order of appearance (the grid's) */
    const char *order[] = {"| base | 3 |", "| pifi-L-2 | 3 |", "| pifi | 3 |", "| lora | 3 |", "| pifi@stories260K | 3 |"};
    const char *prev = text;
    for (int i = 0; i < 5; i++) {
        const char *at = strstr(text, order[i]);
        CHECKF(at && at > prev - (i == 0), "%s missing or out of order:\n%s", order[i], text);
        if (at) prev = at;
    }
    CHECKF(strstr(text, "| pifi@stories260K | 3 | 0.7100 ± 0.0100 | ") != NULL, "%s", text);
    CHECK(strstr(text, "| -0.0800 | ") != NULL); /* 0.71 - 0.79, and a p-value after it */
    const char *alt = strstr(text, "| pifi@stories260K | 3 |");
    CHECK(alt && strstr(alt, "| -0.0800 | —") == NULL);
    free(text);
    results_free(&back);
    results_free(&r);
}

/* The claims table: one row per (claim, group) where both methods have
 * runs, the verdicts by direction and significance, CoLA on MCC, nothing
 * without a comparison. */
static void test_claims(void) {
    CHECK(!strcmp(claims_verdict(0.01, 0.001), "**holds**"));
    CHECK(!strcmp(claims_verdict(-0.01, 0.001), "**reversed**"));
    CHECK(!strcmp(claims_verdict(0.01, 0.3), "not shown (higher, not significant)"));
    CHECK(!strcmp(claims_verdict(-0.01, 0.3), "not shown (lower, not significant)"));
    CHECK(!strcmp(claims_verdict(0.0, 1.0), "not shown (equal)"));
    CHECK(!strcmp(claims_verdict(0.01, NAN), "untested (fewer than 2 seeds)"));
    /* sst2: pifi > base clearly; pifi-random = pifi (shifted seeds); lora > pifi
     * clearly; pifi@stories260K one seed; cross-domain on cr; 10% rows; cola */
    static const struct {
        const char *task, *eval, *method;
        double fraction, acc[3];
        int n;
    } R[] = {
        {"sst2", "sst2", "base", 1, {0.780, 0.790, 0.800}, 3},
        {"sst2", "sst2", "pifi", 1, {0.820, 0.830, 0.840}, 3},
        {"sst2", "sst2", "pifi-random", 1, {0.840, 0.830, 0.820}, 3},
        {"sst2", "sst2", "lora", 1, {0.900, 0.910, 0.920}, 3},
        {"sst2", "sst2", "pifi@stories260K", 1, {0.700}, 1},
        {"sst2", "cr", "base", 1, {0.70, 0.72, 0.74}, 3},
        {"sst2", "cr", "pifi", 1, {0.71, 0.73, 0.72}, 3},
        {"sst2", "sst2", "base", 0.1, {0.70, 0.71, 0.72}, 3},
        {"sst2", "sst2", "pifi", 0.1, {0.65, 0.66, 0.67}, 3},
        {"cola", "cola", "base", 1, {0.70, 0.71, 0.72}, 3},
        {"cola", "cola", "pifi", 1, {0.80, 0.81, 0.82}, 3},
        {"cola", "cola", "pifi-unfrozen", 1, {0.60, 0.61, 0.62}, 3},
    };
    ExpResults r = {0};
    PifiErr err = {0};
    for (size_t i = 0; i < sizeof R / sizeof R[0]; i++)
        for (int s = 0; s < R[i].n; s++) {
            ExpRow w = row(R[i].task, R[i].eval, R[i].method, -1, 42 + s, R[i].acc[s]);
            w.has_layer = strcmp(R[i].method, "base") && strcmp(R[i].method, "lora");
            w.train_fraction = R[i].fraction;
            REQUIRE(results_add(&r, &w, &err) == 0);
        }
    char *text = NULL;
    size_t len = 0;
    FILE *md = open_memstream(&text, &len);
    REQUIRE(md != NULL);
    int rows = claims_write(&r, md);
    fclose(md);
    CHECKF(rows == 8, "%d rows:\n%s", rows, text);
    const char *want[] = {
        "| PiFi beats plain fine-tuning | sst2 | accuracy | pifi: 0.8300 ± 0.0100 (3) | base: 0.7900 ± 0.0100 (3) | +0.0400 | ",
        "| PiFi beats plain fine-tuning | cola | MCC | pifi: 0.6200 ± 0.0200 (3) | base: 0.4200 ± 0.0200 (3) | +0.2000 | ",
        "| PiFi beats plain fine-tuning on less training data | sst2 (fraction 0.1) | accuracy | pifi: 0.6600 ± 0.0100 (3) | base: 0.7100 ± 0.0100 (3) | -0.0500 | ",
        "| PiFi transfers better across domains | sst2 → cr | accuracy | pifi: 0.7200 ± 0.0100 (3) | base: 0.7200 ± 0.0200 (3) | +0.0000 | ",
        "| the LLM's weights matter: a random layer of the same shape does less | sst2 | accuracy | pifi: 0.8300 ± 0.0100 (3) | pifi-random: 0.8300 ± 0.0100 (3) | +0.0000 | ",
        "| frozen beats unfrozen | cola | MCC | ",
        "| PiFi beats LoRA | sst2 | accuracy | pifi: 0.8300 ± 0.0100 (3) | lora: 0.9100 ± 0.0100 (3) | -0.0800 | ",
        "| the grid's LLM beats the other LLM's layer | sst2 | accuracy | pifi: 0.8300 ± 0.0100 (3) | pifi@stories260K: 0.7000 (1) | +0.1300 | n/a | untested (fewer than 2 seeds) |",
    };
    const char *prev = text;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *at = strstr(text, want[i]);
        CHECKF(at && at >= prev, "missing or out of order: %s\n%s", want[i], text);
        if (at) prev = at;
    }
    const char *line = strstr(text, "| PiFi beats plain fine-tuning | sst2 |");
    CHECK(line && strstr(line, "**holds** |\n") && strstr(line, "**holds** |\n") < strchr(line, '\n') + 1);
    line = strstr(text, "| PiFi beats LoRA |");
    CHECK(line && strstr(line, "**reversed** |\n") == strchr(line, '\n') - strlen("**reversed** |"));
    line = strstr(text, "| PiFi transfers better");
    CHECK(line && strstr(line, "not shown (equal) |\n") == strchr(line, '\n') - strlen("not shown (equal) |"));
    free(text);
    /* only base runs: no section */
    ExpResults b = {0};
    ExpRow w = row("sst2", "sst2", "base", -1, 1, 0.8);
    REQUIRE(results_add(&b, &w, &err) == 0);
    text = NULL;
    md = open_memstream(&text, &len);
    CHECK(claims_write(&b, md) == 0);
    fclose(md);
    CHECK(len == 0);
    free(text);
    results_free(&b);
    results_free(&r);
}

int main(void) {
    test_claims();
    test_fixture();
    test_csv_and_report();
    test_report_order();
    TEST_DONE();
}
