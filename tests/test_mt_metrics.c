/* test_mt_metrics.c: corpus BLEU, chrF and the 13a tokenizer against
 * sacreBLEU 2.6 itself (tests/fixtures/mt/, tools/oracle_mt.py): 160+
 * segments through the tokenizer, then 658 hypotheses (perturbed Multi30K
 * German references and segments made to reach every tokenizer rule)
 * against one and two reference streams: every n-gram count, the
 * precisions, the brevity penalty and both scores equal sacreBLEU's; and
 * `pifi score --metric bleu|chrf` prints the same numbers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/fileio.h"
#include "pifi/json.h"
#include "pifi/mt_metrics.h"
#include "test.h"
#include "test_fixture_io.h"

static char fix[1024];

static void test_tokenizer(cJSON *tok) {
    const cJSON *c;
    int n = 0, bad = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(tok, "cases")) {
        const char *s = cJSON_GetObjectItem(c, "s")->valuestring, *want = cJSON_GetObjectItem(c, "tok")->valuestring;
        char *got = bleu_tokenize_13a(s);
        REQUIRE(got);
        if (strcmp(got, want) && bad++ < 5) printf("13a(\"%s\") = \"%s\", sacreBLEU \"%s\"\n", s, got, want);
        free(got);
        n++;
    }
    printf("13a tokenizer: %d segments, %d differ from sacreBLEU\n", n, bad);
    CHECK(n >= 150 && bad == 0);
}

static void check_bleu(const BleuScore *b, const cJSON *w, const char *what) {
    double ws = cJSON_GetObjectItem(w, "score")->valuedouble;
    int same = b->sys_len == (int64_t)cJSON_GetObjectItem(w, "sys_len")->valuedouble &&
               b->ref_len == (int64_t)cJSON_GetObjectItem(w, "ref_len")->valuedouble &&
               b->bp == cJSON_GetObjectItem(w, "bp")->valuedouble;
    for (int k = 0; k < 4; k++)
        same = same && b->counts[k] == (int64_t)cJSON_GetArrayItem(cJSON_GetObjectItem(w, "counts"), k)->valuedouble &&
               b->totals[k] == (int64_t)cJSON_GetArrayItem(cJSON_GetObjectItem(w, "totals"), k)->valuedouble &&
               b->precisions[k] == cJSON_GetArrayItem(cJSON_GetObjectItem(w, "precisions"), k)->valuedouble;
    printf("BLEU %s: %.17g (sacreBLEU %.17g), counts/totals/precisions/bp %s\n", what, b->score, ws,
           same ? "identical" : "DIFFER");
    CHECKF(same && b->score == ws, "BLEU %s differs from sacreBLEU's", what);
}

/* `pifi score` prints what the library computes, in Python's float repr */
static void check_cli(const char *metric, int refs, double want_score) {
    const char *bin = getenv("PIFI_BIN");
    if (!bin) return;
    char cmd[4096], line[4096] = "";
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' score --metric %s --pred hyp.txt --data ref1.txt%s", fix, bin, metric,
             refs == 2 ? " --data ref2.txt" : "");
    FILE *f = popen(cmd, "r");
    REQUIRE(f);
    if (!fgets(line, sizeof line, f)) line[0] = '\0';
    CHECK(pclose(f) == 0);
    cJSON *j = cJSON_Parse(line);
    const cJSON *sc = cJSON_GetObjectItem(j, "score");
    /* cJSON reads the shortest repr back to the very double */
    CHECKF(cJSON_IsNumber(sc) && sc->valuedouble == want_score, "pifi score --metric %s printed %s, wanted %.17g",
           metric, line, want_score);
    cJSON_Delete(j);
}

static void test_corpus(void) {
    char p[1200];
    PifiErr err = {0};
    cJSON *tok, *scores;
    snprintf(p, sizeof p, "%s/tok13a.json", fix);
    REQUIRE(pifi_json_load(p, 1 << 22, &tok, &err) == 0);
    snprintf(p, sizeof p, "%s/scores.json", fix);
    REQUIRE(pifi_json_load(p, 1 << 22, &scores, &err) == 0);
    test_tokenizer(tok);
    TestLines h, r1, r2;
    test_read_lines(fix, "hyp.txt", &h);
    test_read_lines(fix, "ref1.txt", &r1);
    test_read_lines(fix, "ref2.txt", &r2);
    REQUIRE(h.n == r1.n && h.n == r2.n && h.n == cJSON_GetObjectItem(scores, "segments")->valueint);
    const char *const *refs[2] = {(const char *const *)r1.line, (const char *const *)r2.line};
    BleuScore b;
    REQUIRE(bleu_corpus((const char *const *)h.line, h.n, refs, 1, &b, &err) == 0);
    check_bleu(&b, cJSON_GetObjectItem(scores, "bleu_ref1"), "one reference");
    REQUIRE(bleu_corpus((const char *const *)h.line, h.n, refs, 2, &b, &err) == 0);
    check_bleu(&b, cJSON_GetObjectItem(scores, "bleu_ref12"), "two references");
    ChrfScore c;
    double w1 = cJSON_GetObjectItem(scores, "chrf_ref1")->valuedouble;
    double w2 = cJSON_GetObjectItem(scores, "chrf_ref12")->valuedouble;
    REQUIRE(chrf_corpus((const char *const *)h.line, h.n, refs, 1, &c, &err) == 0);
    printf("chrF one reference: %.17g (sacreBLEU %.17g)\n", c.score, w1);
    CHECK(c.score == w1);
    REQUIRE(chrf_corpus((const char *const *)h.line, h.n, refs, 2, &c, &err) == 0);
    printf("chrF two references: %.17g (sacreBLEU %.17g)\n", c.score, w2);
    CHECK(c.score == w2);
    /* the command line, with the scores as Python prints them */
    check_cli("bleu", 1, cJSON_GetObjectItem(cJSON_GetObjectItem(scores, "bleu_ref1"), "score")->valuedouble);
    check_cli("chrf", 2, w2);
    /* edge cases from sacreBLEU's definitions: nothing matches -> 0; an empty corpus -> 0 */
    const char *hx[1] = {"völlig anders"}, *rx[1] = {"ganz und gar nicht"};
    const char *const *rr[1] = {rx};
    REQUIRE(bleu_corpus(hx, 1, rr, 1, &b, &err) == 0);
    CHECK(b.score == 0 && b.counts[0] == 0);
    REQUIRE(bleu_corpus(hx, 0, rr, 1, &b, &err) == 0);
    CHECK(b.score == 0 && b.sys_len == 0);
    test_lines_free(&h), test_lines_free(&r1), test_lines_free(&r2);
    cJSON_Delete(tok);
    cJSON_Delete(scores);
}

int main(void) {
    snprintf(fix, sizeof fix, "%s/mt", test_fixtures());
    test_corpus();
    TEST_DONE();
}
