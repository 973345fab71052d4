/* test_squad.c: SQuAD reading and the official v1.1 evaluation against the
 * official script itself (tests/fixtures/squad/, tools/oracle_squad.py):
 * normalize_answer on 600+ strings, every question's best exact match and F1
 * and the corpus percentages on XQuAD-en (1,190 questions, 1,097 predicted)
 * and on a made-up set whose gold answers are the hard Unicode cases, and
 * `pifi score`'s stdout byte for byte; then the reader's one-line errors,
 * --skip-bad-rows, SQuAD v2.0 refused, and the JSON Lines form. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/fileio.h"
#include "pifi/json.h"
#include "pifi/squad.h"
#include "pifi/squad_features.h"
#include "pifi/tokenizer.h"
#include "test.h"

static char fix[1024];

static cJSON *load(const char *name) {
    char p[1200];
    PifiErr err = {0};
    cJSON *j = NULL;
    snprintf(p, sizeof p, "%s/%s", fix, name);
    if (pifi_json_load(p, 1 << 26, &j, &err)) fprintf(stderr, "%s\n", err.msg);
    return j;
}

static void test_normalize(void) {
    cJSON *j = load("normalize.json");
    REQUIRE(j);
    const cJSON *c;
    int n = 0, bad = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "cases")) {
        const char *s = cJSON_GetObjectItem(c, "s")->valuestring, *want = cJSON_GetObjectItem(c, "normalized")->valuestring;
        char *got = squad_normalize(s);
        REQUIRE(got);
        if (strcmp(got, want) != 0 && bad++ < 5) printf("normalize(\"%s\") = \"%s\", the script's \"%s\"\n", s, got, want);
        free(got);
        n++;
    }
    printf("normalize_answer: %d strings, %d differ from the official script\n", n, bad);
    CHECK(n >= 600);
    CHECKF(bad == 0, "%d of %d normalized strings differ", bad, n);
    cJSON_Delete(j);
}

typedef struct {
    const cJSON *pred;
    const SquadData *d;
} Preds;

static const char *pred_of(void *ctx, int i) {
    Preds *p = ctx;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(p->pred, p->d->q[i].id);
    return v ? v->valuestring : NULL;
}

/* d scored with name_pred.json against name_scores.json: every question and the corpus */
static void check_scores(const SquadData *d, const char *name) {
    char pn[256], sn[256];
    snprintf(pn, sizeof pn, "%s_pred.json", name);
    snprintf(sn, sizeof sn, "%s_scores.json", name);
    cJSON *pred = load(pn), *want = load(sn);
    REQUIRE(pred && want);
    const cJSON *qs = cJSON_GetObjectItem(want, "questions");
    REQUIRE(cJSON_GetArraySize(qs) == d->n);
    int bad = 0, answered = 0;
    Preds p = {pred, d};
    for (int i = 0; i < d->n; i++) {
        const cJSON *w = cJSON_GetArrayItem(qs, i);
        REQUIRE(strcmp(cJSON_GetObjectItem(w, "id")->valuestring, d->q[i].id) == 0);
        const char *pr = pred_of(&p, i);
        if (!pr) continue;
        answered++;
        int em = 0;
        double f1 = 0;
        for (int a = 0; a < d->q[i].n_answers; a++) {
            if (squad_exact(pr, d->q[i].answers[a])) em = 1;
            double f = squad_f1(pr, d->q[i].answers[a]);
            if (f > f1) f1 = f;
        }
        if ((em != cJSON_GetObjectItem(w, "exact")->valueint || f1 != cJSON_GetObjectItem(w, "f1")->valuedouble) &&
            bad++ < 5)
            printf("%s: question %s \"%s\": exact %d f1 %.17g, the script's %d %.17g\n", name, d->q[i].id, pr, em, f1,
                   cJSON_GetObjectItem(w, "exact")->valueint, cJSON_GetObjectItem(w, "f1")->valuedouble);
    }
    SquadScore s;
    PifiErr err = {0};
    REQUIRE(squad_evaluate(d, pred_of, &p, &s, &err) == 0);
    double we = cJSON_GetObjectItem(want, "exact_match")->valuedouble, wf = cJSON_GetObjectItem(want, "f1")->valuedouble;
    printf("%s: %d questions, %d predicted: EM %.12f F1 %.12f (script %.12f %.12f), %d questions differ\n", name, d->n,
           answered, s.exact_match, s.f1, we, wf, bad);
    CHECKF(bad == 0, "%s: %d questions score differently from the official script", name, bad);
    CHECKF(fabs(s.exact_match - we) <= 1e-9 && fabs(s.f1 - wf) <= 1e-9, "%s: corpus EM/F1 differ", name);
    CHECK(s.unanswered == d->n - answered);
    cJSON_Delete(pred);
    cJSON_Delete(want);
}

/* `pifi score`'s stdout is the official script's, byte for byte */
static void check_cli(const char *data, const char *name) {
    const char *bin = getenv("PIFI_BIN");
    if (!bin) return;
    char cmd[4096], line[512] = "";
    snprintf(cmd, sizeof cmd, "'%s' score --metric squad --data '%s' --pred '%s/%s_pred.json' 2>/dev/null", bin, data, fix,
             name);
    FILE *f = popen(cmd, "r");
    REQUIRE(f);
    if (!fgets(line, sizeof line, f)) line[0] = '\0';
    CHECK(pclose(f) == 0);
    line[strcspn(line, "\n")] = '\0';
    char sn[256];
    snprintf(sn, sizeof sn, "%s_scores.json", name);
    cJSON *want = load(sn);
    REQUIRE(want);
    const char *w = cJSON_GetObjectItem(want, "stdout")->valuestring;
    CHECKF(strcmp(line, w) == 0, "pifi score printed '%s', the script '%s'", line, w);
    cJSON_Delete(want);
}

static void test_scores(void) {
    char p[1200];
    PifiErr err = {0};
    SquadData d;
    snprintf(p, sizeof p, "%s/unicode.json", fix);
    REQUIRE(squad_load(&d, p, 0, &err) == 0);
    check_scores(&d, "unicode");
    check_cli(p, "unicode");
    squad_free(&d);
    snprintf(p, sizeof p, "%s/squad_v1.1_dev_subset_xquad/xquad.en.json", test_env("PIFI_DATA", "../shared/data"));
    if (!pifi_file_exists(p)) {
        printf("XQuAD-en not at %s: its part skipped\n", p);
        return;
    }
    REQUIRE(squad_load(&d, p, 0, &err) == 0);
    CHECK(d.n == 1190 && d.n_contexts == 240);
    /* every answer is the context's text at its byte offset */
    int bad = 0;
    for (int i = 0; i < d.n; i++)
        for (int a = 0; a < d.q[i].n_answers; a++)
            bad += strncmp(d.contexts[d.q[i].context] + d.q[i].starts[a], d.q[i].answers[a], strlen(d.q[i].answers[a])) != 0;
    CHECK(bad == 0);
    check_scores(&d, "xquad");
    check_cli(p, "xquad");
    squad_free(&d);
}

/* ------------------------------------------------------------------------ */
/* bad inputs */

static int load_text(const char *name, const char *text, int skip, SquadData *d, PifiErr *err) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", test_tmp(), name);
    FILE *f = fopen(p, "w");
    if (!f) return -1;
    fputs(text, f);
    fclose(f);
    return squad_load(d, p, skip, err);
}

#define CTX "\"context\": \"Caf\\u00e9 Zeta opened in 1999 in Paris.\""

static void bad(const char *text, const char *want) {
    SquadData d;
    PifiErr err = {0};
    int rc = load_text("bad.json", text, 0, &d, &err);
    CHECKF(rc != 0 && strstr(err.msg, want) && strstr(err.msg, "bad.json") && !strchr(err.msg, '\n'),
           "want an error with '%s', got: %s", want, rc ? err.msg : "(loaded)");
}

static void test_bad_inputs(void) {
    const char *ok_q = "{\"id\": \"q1\", \"question\": \"When?\", \"answers\": [{\"text\": \"1999\", \"answer_start\": 20}]}";
    char good[1024];
    snprintf(good, sizeof good, "{\"data\": [{\"title\": \"t\", \"paragraphs\": [{" CTX ", \"qas\": [%s]}]}]}", ok_q);
    SquadData d;
    PifiErr err = {0};
    CHECKF(load_text("good.json", good, 0, &d, &err) == 0, "%s", err.msg);
    CHECK(d.n == 1 && d.q[0].starts[0] == 21); /* 20 code points, 21 bytes: é is two */
    squad_free(&d);
    bad("{\"data\": [{\"paragraphs\": [{" CTX ", \"qas\": [{\"id\": \"q2\", \"question\": \"x\", \"answers\": "
        "[{\"text\": \"1999\", \"answer_start\": 90}]}]}]}]}",
        "question q2: answer 0's answer_start 90 is outside its context");
    bad("{\"data\": [{\"paragraphs\": [{" CTX ", \"qas\": [{\"id\": \"q3\", \"question\": \"x\", \"answers\": "
        "[{\"text\": \"1998\", \"answer_start\": 20}]}]}]}]}",
        "question q3: answer 0 \"1998\" is not the context's text at answer_start 20");
    bad("{\"data\": [{\"paragraphs\": [{" CTX ", \"qas\": [{\"id\": \"q4\", \"answers\": "
        "[{\"text\": \"1999\", \"answer_start\": 20}]}]}]}]}",
        "question q4: no \"question\" string");
    bad("{\"data\": [{\"paragraphs\": [{" CTX ", \"qas\": [{\"id\": \"q5\", \"question\": \"x\", \"answers\": []}]}]}]}",
        "question q5: no answers");
    bad("{\"data\": [{\"paragraphs\": [{" CTX ", \"qas\": [{\"id\": \"q6\", \"question\": \"x\", \"answers\": [], "
        "\"is_impossible\": true}]}]}]}",
        "SQuAD v2.0");
    bad("{\"data\": [{\"paragraphs\": [{" CTX ", \"qas\": [{\"id\": \"q7\", \"question\": \"x\", \"answers\": "
        "[{\"text\": \"1999\", \"answer_start\": 20.5}]}]}]}]}",
        "question q7: answer 0 has no integer \"answer_start\"");
    bad("{\"data\": [{\"paragraphs\": [{" CTX ", \"qas\": [{\"id\": \"q10\", \"question\": \"x\", \"answers\": "
        "[{\"text\": \"1999\", \"answer_start\": 3e118}]}]}]}]}",
        "question q10: answer 0 has no integer \"answer_start\""); /* found by fuzzing: no cast of 3e118 */
    bad("{\"data\": [{\"paragraphs\": [{\"qas\": []}]}]}", "a paragraph lacks a \"context\"");
    bad("{\"version\": \"1.1\"}", "no \"data\" array");
    bad("[1, 2]", "expected a JSON object");
    char dup[2048];
    snprintf(dup, sizeof dup, "{\"data\": [{\"paragraphs\": [{" CTX ", \"qas\": [%s, %s]}]}]}", ok_q, ok_q);
    bad(dup, "question id q1 appears twice");
    bad("{\"data\": [{\"paragraphs\": [{" CTX ", \"qas\": [{\"id\": \"q8\", \"question\": \"x\", \"answers\": "
        "[{\"text\": \"1999\", \"answer_start\": 20}]}], \"qas\": []}]}]}",
        "appears twice");
    /* skip_bad: the bad question counted, the good one kept */
    char mixed[2048];
    snprintf(mixed, sizeof mixed,
             "{\"data\": [{\"paragraphs\": [{" CTX ", \"qas\": [%s, {\"id\": \"q9\", \"question\": \"x\", \"answers\": "
             "[{\"text\": \"Rome\", \"answer_start\": 3}]}]}]}]}",
             ok_q);
    CHECK(load_text("mixed.json", mixed, 0, &d, &err) != 0 && strstr(err.msg, "question q9"));
    CHECKF(load_text("mixed.json", mixed, 1, &d, &err) == 0, "%s", err.msg);
    CHECK(d.n == 1 && d.skipped == 1 && strstr(d.first_skip, "q9"));
    squad_free(&d);
    /* JSON Lines: HF datasets' form, two questions on one context */
    const char *jl =
        "{\"id\": \"a\", \"title\": \"t\", " CTX ", \"question\": \"When?\", \"answers\": {\"text\": [\"1999\", \"in "
        "1999\"], \"answer_start\": [20, 17]}}\n"
        "\n"
        "{\"id\": \"b\", \"title\": \"t\", " CTX ", \"question\": \"Where?\", \"answers\": {\"text\": [\"Paris\"], "
        "\"answer_start\": [28]}}\n";
    CHECKF(load_text("q.jsonl", jl, 0, &d, &err) == 0, "%s", err.msg);
    CHECK(d.n == 2 && d.n_contexts == 1 && d.q[0].n_answers == 2 && d.q[0].starts[1] == 18 && d.q[1].starts[0] == 29);
    squad_free(&d);
    CHECK(load_text("bad.jsonl", "{\"id\": \"a\", " CTX ", \"question\": \"q\", \"answers\": {\"text\": [\"x\"]}}\n", 0,
                    &d, &err) != 0 &&
          strstr(err.msg, "bad.jsonl:1:"));
    CHECK(load_text("bad2.jsonl", "{\"id\": \"a\"\n", 0, &d, &err) != 0 && strstr(err.msg, "bad2.jsonl"));
    /* the metric's edge cases, from the script's definitions */
    CHECK(squad_exact("", "the") == 1 && squad_f1("", "the") == 0); /* both normalize to "" */
    CHECK(squad_f1("a cat", "the cat") == 1.0 && squad_f1("a cat sat", "the cat") == 2.0 / 3.0);
    CHECK(fabs(squad_f1("cat cat dog", "cat dog dog") - 2.0 / 3.0) < 1e-15);
}

/* XQuAD-en's windows with the real MiniLM tokenizer: each labelled window
 * decodes back to its gold answer, every answer short enough to fit gets a
 * labelled window; a question with no room for its context, and a stride
 * as wide as a window, fail naming the question */
static void test_windows(int max_len, int stride) {
    char p[1200], m[1200];
    snprintf(p, sizeof p, "%s/squad_v1.1_dev_subset_xquad/xquad.en.json", test_env("PIFI_DATA", "../shared/data"));
    snprintf(m, sizeof m, "%s/all-MiniLM-L6-v2", test_env("PIFI_MODELS", "models"));
    if (!pifi_file_exists(p) || !pifi_is_dir(m)) {
        printf("windows: XQuAD-en or the MiniLM tokenizer missing: skipped\n");
        return;
    }
    PifiErr err = {0};
    SquadData d;
    PifiTokenizer *tk;
    REQUIRE(squad_load(&d, p, 0, &err) == 0);
    REQUIRE(tokenizer_load(&tk, m, &err) == 0);
    SquadFeatures f;
    REQUIRE(squad_features(&d, tk, max_len, stride, &f, "xquad", &err) == 0);
    int *labelled = calloc((size_t)d.n, sizeof *labelled), exact = 0, wrong = 0, missing = 0, windows_max = 0;
    for (int w = 0; w < f.n; w++) {
        int q = f.question[w];
        int32_t *of = f.offsets + (size_t)w * f.T * 2;
        if (f.start[w] == 0) continue;
        labelled[q]++;
        const char *ctx = d.contexts[d.q[q].context];
        int b0 = of[2 * f.start[w]], b1 = of[2 * f.end[w] + 1];
        const char *gold = d.q[q].answers[0];
        int same = b1 - b0 == (int)strlen(gold) && memcmp(ctx + b0, gold, strlen(gold)) == 0;
        /* a gold answer cut inside a word: the span is the whole words around it */
        if (same) exact++;
        else if (!(b0 <= d.q[q].starts[0] && b1 >= d.q[q].starts[0] + (int64_t)strlen(gold)) && wrong++ < 5)
            printf("window %d of question %s: span \"%.*s\" does not hold \"%s\"\n", w, d.q[q].id, b1 - b0, ctx + b0, gold);
    }
    int in_window = 0;
    for (int q = 0; q < d.n; q++) {
        int n = 0;
        for (int w = 0; w < f.n; w++) n += f.question[w] == q;
        if (n > windows_max) windows_max = n;
        /* a gold answer that fits: some window holds it whole */
        PifiEncoding e = {0};
        PifiEncodeOpts o = pifi_encode_opts_default();
        o.add_special_tokens = 0;
        REQUIRE(tokenizer_encode(tk, d.q[q].answers[0], NULL, &o, &e, &err) == 0);
        if (e.n <= max_len / 2) {
            in_window++;
            if (!labelled[q] && missing++ < 5) printf("question %s: its answer is in no window\n", d.q[q].id);
        }
        encoding_free(&e);
    }
    printf("windows (max_len %d, stride %d): %d windows for %d questions (up to %d each); %d labelled spans, %d "
           "exactly the gold text, %d wrong; %d answers that fit, %d in no window\n",
           max_len, stride, f.n, d.n, windows_max, exact + wrong, exact, wrong, in_window, missing);
    CHECK(wrong == 0 && missing == 0);
    CHECK(f.n > d.n);
    /* logits peaked at the gold labels give back every gold answer; a
     * better-scoring pair that ends before it starts, or is too long, loses */
    size_t nt = (size_t)f.n * f.T;
    float *st = malloc(nt * sizeof *st), *en = malloc(nt * sizeof *en), *sc = malloc(d.n * sizeof *sc);
    char **texts = calloc((size_t)d.n, sizeof *texts);
    for (size_t i = 0; i < nt; i++) st[i] = en[i] = -100;
    for (int w = 0; w < f.n; w++) {
        float *s = st + (size_t)w * f.T, *e = en + (size_t)w * f.T;
        if (f.start[w] == 0) continue;
        s[f.start[w]] = 10, e[f.end[w]] = 10;
        e[1] = 50, s[0] = 60;                              /* question tokens: never an answer */
        if (f.end[w] + 40 < f.T && f.mask[(size_t)w * f.T + f.end[w] + 40])
            e[f.end[w] + 40] = 30;                         /* 41+ tokens from the gold start: too long at 30 */
        if (f.start[w] > 1) e[f.start[w] - 1] = 40;        /* ends before the gold start */
    }
    REQUIRE(squad_answers(&d, &f, st, en, 20, 30, texts, sc, &err) == 0);
    int right = 0;
    for (int q = 0; q < d.n; q++) {
        /* what the gold labels decode to: the gold text, or the whole tokens around one cut inside a word */
        int w = 0;
        while (w < f.n && !(f.question[w] == q && f.start[w] > 0)) w++;
        if (w == f.n) continue;
        const int32_t *of = f.offsets + (size_t)w * f.T * 2;
        int b0 = of[2 * f.start[w]], b1 = of[2 * f.end[w] + 1];
        int ok = (int)strlen(texts[q]) == b1 - b0 && memcmp(texts[q], d.contexts[d.q[q].context] + b0, (size_t)(b1 - b0)) == 0;
        if (!ok) printf("question %s: answer \"%s\", gold \"%s\"\n", d.q[q].id, texts[q], d.q[q].answers[0]);
        right += ok;
    }
    int answered = 0;
    for (int q = 0; q < d.n; q++) answered += labelled[q] > 0;
    printf("answers from peaked logits: %d of %d labelled questions give their labelled span\n", right, answered);
    CHECK(right == answered);
    for (int q = 0; q < d.n; q++) free(texts[q]);
    free(texts), free(st), free(en), free(sc);
    free(labelled);
    squad_features_free(&f);
    CHECK(squad_features(&d, tk, 12, 2, &f, "xquad", &err) != 0 && strstr(err.msg, "xquad: question ") &&
          strstr(err.msg, "no room for its context"));
    CHECK(squad_features(&d, tk, max_len, max_len, &f, "xquad", &err) != 0 && strstr(err.msg, "--doc-stride"));
    tokenizer_free(tk);
    squad_free(&d);
}

int main(void) {
    snprintf(fix, sizeof fix, "%s/squad", test_fixtures());
    test_normalize();
    test_scores();
    test_bad_inputs();
    test_windows(100, 32);
    test_windows(384, 128);
    TEST_DONE();
}
