/* test_bertscore.c: BERTScore against the bert-score package
 * (tests/fixtures/bertscore/, tools/oracle_bertscore.py) with the real
 * all-MiniLM-L6-v2 (PIFI_MODELS): every segment's precision, recall and F1
 * of 284 pairs (perturbed Multi30K references, Unicode, CJK and emoji,
 * empty hypotheses and an empty reference, a long text) within 1e-4, with
 * one and two references, idf off and on, matching batches of 64 and 16;
 * their means; `pifi score --metric bertscore` prints the same means; and
 * bad calls are refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pifi.h"
#include "pifi/bertscore.h"
#include "pifi/fileio.h"
#include "pifi/json.h"
#include "test.h"
#include "test_fixture_io.h"

static char fix[1024], model[1024];

static double worst_of(const cJSON *want, const double *got, int n) {
    double w = cJSON_GetArraySize(want) == n ? 0 : INFINITY;
    int i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, want) {
        if (i == n) break;
        double d = fabs(v->valuedouble - got[i++]);
        if (!(d <= w)) w = d; /* NaN counts as the worst */
    }
    return w;
}

static void test_cases(pifi_encoder *enc, const cJSON *fx) {
    TestLines h, r1, r2;
    test_read_lines(fix, "hyp.txt", &h);
    test_read_lines(fix, "ref1.txt", &r1);
    test_read_lines(fix, "ref2.txt", &r2);
    int n = h.n;
    REQUIRE(r1.n == n && r2.n == n && n == cJSON_GetObjectItem(fx, "segments")->valueint && n >= 200);
    const char *const *refs[2] = {(const char *const *)r1.line, (const char *const *)r2.line};
    pifi_bertscore_result *seg = malloc((size_t)n * sizeof *seg);
    double *P = malloc((size_t)n * sizeof *P), *R = malloc((size_t)n * sizeof *R), *F = malloc((size_t)n * sizeof *F);
    REQUIRE(seg && P && R && F);
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(fx, "cases")) {
        const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
        pifi_bertscore_params p = pifi_bertscore_default_params();
        p.idf = cJSON_IsTrue(cJSON_GetObjectItem(c, "idf"));
        p.batch_size = cJSON_GetObjectItem(c, "batch_size")->valueint;
        int nr = cJSON_GetObjectItem(c, "refs")->valueint;
        pifi_bertscore_result mean;
        pifi_error err;
        REQUIRE(pifi_bertscore(enc, n, (const char *const *)h.line, nr, refs, &p, seg, &mean, &err) == PIFI_OK);
        for (int i = 0; i < n; i++) P[i] = seg[i].precision, R[i] = seg[i].recall, F[i] = seg[i].f1;
        double wp = worst_of(cJSON_GetObjectItem(c, "P"), P, n), wr = worst_of(cJSON_GetObjectItem(c, "R"), R, n),
               wf = worst_of(cJSON_GetObjectItem(c, "F"), F, n);
        double m[3] = {mean.precision, mean.recall, mean.f1};
        double wm = worst_of(cJSON_GetObjectItem(c, "mean"), m, 3);
        printf("%-20s %d segments: worst |P| %.2e |R| %.2e |F1| %.2e, means %.2e (F1 %.6f)\n", name, n, wp, wr, wf,
               wm, mean.f1);
        CHECKF(wp <= 1e-4 && wr <= 1e-4 && wf <= 1e-4 && wm <= 1e-4, "%s: BERTScore differs from bert-score's", name);
    }
    free(seg), free(P), free(R), free(F);
    test_lines_free(&h), test_lines_free(&r1), test_lines_free(&r2);
}

/* `pifi score --metric bertscore` prints the two_refs_idf case's means. */
static void test_cli(const cJSON *fx) {
    const char *bin = getenv("PIFI_BIN");
    if (!bin) return;
    const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(fx, "cases"), 2);
    REQUIRE(!strcmp(cJSON_GetObjectItem(c, "name")->valuestring, "two_refs_idf"));
    char cmd[4096], line[8192] = "";
    snprintf(cmd, sizeof cmd,
             "cd '%s' && '%s' score --metric bertscore --model '%s' --idf --hyp hyp.txt --ref ref1.txt --ref ref2.txt",
             fix, bin, model);
    FILE *f = popen(cmd, "r");
    REQUIRE(f);
    if (!fgets(line, sizeof line, f)) line[0] = '\0';
    CHECKF(pclose(f) == 0, "%s failed", cmd);
    cJSON *j = cJSON_Parse(line);
    REQUIRE(j);
    double got[3] = {cJSON_GetObjectItem(j, "precision")->valuedouble, cJSON_GetObjectItem(j, "recall")->valuedouble,
                     cJSON_GetObjectItem(j, "f1")->valuedouble};
    CHECKF(worst_of(cJSON_GetObjectItem(c, "mean"), got, 3) <= 1e-4, "pifi score printed %s", line);
    cJSON_Delete(j);
}

/* The matching alone on vectors made by hand: the padding quirk and the
 * empty side. C = 2; ids 1 and 2 are [CLS] and [SEP] (weight 0). */
static void test_matching(void) {
    int32_t xi[3] = {1, 5, 2}, yi[3] = {1, 6, 2}, wi[4] = {1, 7, 8, 2}, zi[2] = {1, 2};
    float xv[6] = {1, 0, 0, 1, 1, 0};       /* x: [CLS] a [SEP], a = (0, 1) */
    float yv[6] = {0, -1, 0, -1, 0, -1};    /* y: every token (0, -1): similarity -1 with a */
    float wv[8] = {1, 0, 1, 0, 1, 0, 1, 0}; /* w: four tokens, longer than y */
    float zv[4] = {1, 0, 1, 0};             /* z: the empty text */
    BertScoreSent s[4] = {{3, xi, xv}, {3, yi, yv}, {4, wi, wv}, {2, zi, zv}};
    BertScoreOpts o = {0, 64, 1, 2};
    int hyps[2] = {0, 0}, r0[2] = {1, 2};
    const int *refs[1] = {r0};
    BertScorePRF seg[2], mean;
    PifiErr err = {0};
    /* one batch: y is padded to w's length, and a padded position's 0 is
     * in a's max: P = 0 (bert-score's quirk); alone, P = -1 */
    REQUIRE(bertscore_corpus(s, 2, hyps, 2, refs, 1, &o, seg, &mean, &err) == 0);
    CHECKF(seg[0].P == 0, "P %g in a batch with a longer reference (bert-score: 0)", seg[0].P);
    o.batch_size = 1;
    REQUIRE(bertscore_corpus(s, 2, hyps, 2, refs, 1, &o, seg, &mean, &err) == 0);
    CHECKF(fabs(seg[0].P + 1) < 1e-6 && seg[0].F == 0, "P %g F %g alone (bert-score: -1, 0)", seg[0].P, seg[0].F);
    hyps[1] = 3; /* an empty candidate */
    REQUIRE(bertscore_corpus(s, 2, hyps, 2, refs, 1, &o, seg, &mean, &err) == 0);
    CHECK(seg[1].P == 0 && seg[1].R == 0 && seg[1].F == 0);
    o.batch_size = 0;
    CHECK(bertscore_corpus(s, 2, hyps, 2, refs, 1, &o, seg, &mean, &err) == -1);
    CHECK_MSG(err, "batch");
}

static void test_model(void) {
    cJSON *fx;
    PifiErr e = {0};
    char p[1200];
    snprintf(p, sizeof p, "%s/scores.json", fix);
    REQUIRE(pifi_json_load(p, 1 << 24, &fx, &e) == 0);
    pifi_encoder_params ep = pifi_encoder_default_params();
    ep.precision = PIFI_PRECISION_FP32;
    pifi_encoder *enc;
    pifi_error err;
    REQUIRE(pifi_encoder_open(model, &ep, &enc, &err) == PIFI_OK);
    test_cases(enc, fx);
    test_cli(fx);
    const char *one[1] = {"x"}, *const *refs[1] = {one};
    pifi_bertscore_result mean;
    CHECK(pifi_bertscore(enc, 0, one, 1, refs, NULL, NULL, &mean, &err) == PIFI_E_INPUT);
    CHECK(strstr(err.message, "no candidates") != NULL);
    const char *null_ref[1] = {NULL}, *const *nrefs[1] = {null_ref};
    CHECK(pifi_bertscore(enc, 1, one, 1, nrefs, NULL, NULL, &mean, &err) == PIFI_E_INPUT);
    CHECK(strstr(err.message, "reference 1 is NULL") != NULL);
    pifi_encoder_close(enc);
    cJSON_Delete(fx);
}

int main(void) {
    test_matching();
    snprintf(fix, sizeof fix, "%s/bertscore", test_fixtures());
    snprintf(model, sizeof model, "%s/all-MiniLM-L6-v2", test_env("PIFI_MODELS", "models"));
    if (!pifi_is_dir(model)) TEST_SKIP("no %s (scripts/get-models.sh)", model);
    test_model();
    TEST_DONE();
}
