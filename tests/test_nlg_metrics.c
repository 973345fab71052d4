/* test_nlg_metrics.c: NLTK's Porter stemmer, ROUGE and METEOR against
 * their reference implementations (tests/fixtures/nlg/,
 * tools/oracle_nlg.py): the stem of every one of 17k words (Multi30K's
 * English and German words, words made for every rule) equals NLTK's;
 * ROUGE-1/2/L/Lsum precision, recall and F, with and without the stemmer,
 * of 318 cases (perturbed Multi30K references, Unicode, empty
 * hypotheses, multi-line texts, one to three references) within 1e-6 of
 * rouge-score; METEOR of every case within 1e-4 of NLTK's on the same
 * WordNet 3.0 files; the corpus means; pycocoevalcap's corpus BLEU-1..4
 * (nlg-eval's) with its counts; and `pifi score --metric
 * rouge|meteor|coco-bleu` prints the same numbers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pystr.h"
#include "data/porter.h"
#include "data/wordnet.h"
#include "pifi/fileio.h"
#include "pifi/json.h"
#include "pifi/nlg_metrics.h"
#include "test.h"
#include "test_fixture_io.h"

static char fix[1024];

static const char *wordnet_dir(void) {
    const char *d = getenv("PIFI_WORDNET");
    return d ? d : "/usr/share/wordnet";
}

static void test_porter(void) {
    char p[1200], *buf;
    size_t len;
    PifiErr err = {0};
    snprintf(p, sizeof p, "%s/porter.tsv", fix);
    REQUIRE(pifi_read_file(p, 1 << 24, &buf, &len, &err) == 0);
    int n = 0, bad = 0;
    for (char *s = buf; *s;) {
        char *tab = strchr(s, '\t'), *nl = strchr(s, '\n');
        REQUIRE(tab && nl && tab < nl);
        *tab = *nl = '\0';
        PyStr w = {0};
        REQUIRE(pystr_decode(&w, s, strlen(s)) == 0 && porter_stem(&w) == 0);
        char *got = pystr_encode(&w, 0, w.n);
        REQUIRE(got);
        if (strcmp(got, tab + 1) && bad++ < 5) printf("stem(\"%s\") = \"%s\", NLTK \"%s\"\n", s, got, tab + 1);
        free(got), pystr_free(&w);
        n++;
        s = nl + 1;
    }
    printf("Porter: %d words, %d differ from NLTK's PorterStemmer\n", n, bad);
    CHECK(n >= 10000 && bad == 0);
    free(buf);
}

/* refs of a case as an array */
static int case_refs(const cJSON *c, const char **refs) {
    int R = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(c, "refs")) refs[R++] = r->valuestring;
    return R;
}

static double worst_prf(const RougePRF *got, const cJSON *want) {
    double worst = 0;
    for (int t = 0; t < ROUGE_TYPES; t++) {
        const cJSON *w = cJSON_GetObjectItem(want, ROUGE_NAMES[t]);
        double g[3] = {got[t].precision, got[t].recall, got[t].fmeasure};
        for (int k = 0; k < 3; k++) worst = fmax(worst, fabs(g[k] - cJSON_GetArrayItem(w, k)->valuedouble));
    }
    return worst;
}

static void test_rouge(const cJSON *fx) {
    PifiErr err = {0};
    const cJSON *c;
    int n = 0, bad = 0;
    double worst = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(fx, "cases")) {
        const char *refs[8];
        int R = case_refs(c, refs);
        for (int stem = 0; stem < 2; stem++) {
            RougePRF s[ROUGE_TYPES];
            REQUIRE(rouge_segment(cJSON_GetObjectItem(c, "hyp")->valuestring, refs, R, stem, s, &err) == 0);
            double d = worst_prf(s, cJSON_GetObjectItem(c, stem ? "rouge_stem" : "rouge"));
            worst = fmax(worst, d);
            if (d > 1e-6 && bad++ < 5)
                printf("ROUGE%s differs by %g on hyp \"%s\"\n", stem ? " (stemmed)" : "", d,
                       cJSON_GetObjectItem(c, "hyp")->valuestring);
        }
        n++;
    }
    printf("ROUGE: %d cases x {plain, stemmed}, %d differ from rouge-score by more than 1e-6 (largest %g)\n", n, bad,
           worst);
    CHECK(n >= 200 && bad == 0);
}

/* `pifi score --metric M [flags]` of the line files: its first line as JSON */
static cJSON *run_cli(const char *metric, const char *flags) {
    const char *bin = getenv("PIFI_BIN");
    if (!bin) return NULL;
    char cmd[4096], line[8192] = "";
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' score --metric %s --pred hyp.txt --data ref1.txt --data ref2.txt %s",
             fix, bin, metric, flags);
    FILE *f = popen(cmd, "r");
    if (!f) return NULL;
    if (!fgets(line, sizeof line, f)) line[0] = '\0';
    int rc = pclose(f);
    CHECKF(rc == 0, "%s exited with %d", cmd, rc);
    return cJSON_Parse(line);
}

static void test_corpus(const cJSON *fx, const WordNet *wn) {
    TestLines h, r1, r2;
    PifiErr err = {0};
    test_read_lines(fix, "hyp.txt", &h);
    test_read_lines(fix, "ref1.txt", &r1);
    test_read_lines(fix, "ref2.txt", &r2);
    const cJSON *want = cJSON_GetObjectItem(fx, "corpus_lines");
    REQUIRE(h.n == r1.n && h.n == r2.n && h.n == cJSON_GetObjectItem(fx, "lines")->valueint);
    const char *const *refs[2] = {(const char *const *)r1.line, (const char *const *)r2.line};
    for (int stem = 0; stem < 2; stem++) {
        RougePRF s[ROUGE_TYPES];
        REQUIRE(rouge_corpus((const char *const *)h.line, h.n, refs, 2, stem, s, &err) == 0);
        const cJSON *w = cJSON_GetObjectItem(want, stem ? "rouge_stem" : "rouge");
        double d = worst_prf(s, w);
        printf("ROUGE corpus%s over %d lines: rougeL F %.12f (rouge-score %.12f), largest difference %g\n",
               stem ? " (stemmed)" : "", h.n, s[ROUGE_L].fmeasure,
               cJSON_GetArrayItem(cJSON_GetObjectItem(w, "rougeL"), 2)->valuedouble, d);
        CHECK(d <= 1e-9);
        cJSON *cli = run_cli("rouge", stem ? "--rouge-stem" : "");
        if (cli) {
            RougePRF c[ROUGE_TYPES];
            for (int t = 0; t < ROUGE_TYPES; t++) {
                const cJSON *o = cJSON_GetObjectItem(cli, ROUGE_NAMES[t]);
                c[t].precision = cJSON_GetObjectItem(o, "precision") ? cJSON_GetObjectItem(o, "precision")->valuedouble : -1;
                c[t].recall = cJSON_GetObjectItem(o, "recall") ? cJSON_GetObjectItem(o, "recall")->valuedouble : -1;
                c[t].fmeasure = cJSON_GetObjectItem(o, "fmeasure") ? cJSON_GetObjectItem(o, "fmeasure")->valuedouble : -1;
            }
            CHECKF(worst_prf(c, w) <= 1e-9, "pifi score --metric rouge%s printed other numbers",
                   stem ? " --rouge-stem" : "");
            cJSON_Delete(cli);
        }
    }
    if (wn) {
        double m, wm = cJSON_GetObjectItem(want, "meteor")->valuedouble;
        REQUIRE(meteor_corpus(wn, (const char *const *)h.line, h.n, refs, 2, &m, &err) == 0);
        printf("METEOR corpus over %d lines: %.12f (NLTK %.12f)\n", h.n, m, wm);
        CHECK(fabs(m - wm) <= 1e-4);
        cJSON *cli = run_cli("meteor", "");
        if (cli) {
            const cJSON *v = cJSON_GetObjectItem(cli, "meteor");
            CHECKF(cJSON_IsNumber(v) && fabs(v->valuedouble - wm) <= 1e-4, "pifi score --metric meteor printed %g",
                   cJSON_IsNumber(v) ? v->valuedouble : -1.0);
            cJSON_Delete(cli);
        }
    }
    test_lines_free(&h), test_lines_free(&r1), test_lines_free(&r2);
}

static void check_coco(const CocoBleu *b, const cJSON *w, const char *what) {
    int same = b->testlen == (int64_t)cJSON_GetObjectItem(w, "testlen")->valuedouble &&
               b->reflen == (int64_t)cJSON_GetObjectItem(w, "reflen")->valuedouble;
    double worst = 0;
    for (int k = 0; k < 4; k++) {
        same = same && b->correct[k] == (int64_t)cJSON_GetArrayItem(cJSON_GetObjectItem(w, "correct"), k)->valuedouble &&
               b->guess[k] == (int64_t)cJSON_GetArrayItem(cJSON_GetObjectItem(w, "guess"), k)->valuedouble;
        worst = fmax(worst, fabs(b->bleu[k] - cJSON_GetArrayItem(cJSON_GetObjectItem(w, "bleu"), k)->valuedouble));
    }
    printf("COCO BLEU %s: BLEU-4 %.17g (pycocoevalcap %.17g), counts %s, largest difference %g\n", what, b->bleu[3],
           cJSON_GetArrayItem(cJSON_GetObjectItem(w, "bleu"), 3)->valuedouble, same ? "identical" : "DIFFER", worst);
    CHECKF(same && worst <= 1e-12, "COCO BLEU %s differs from pycocoevalcap's", what);
}

static void test_coco_bleu(const cJSON *fx) {
    TestLines h, r1, r2;
    PifiErr err = {0};
    test_read_lines(fix, "hyp.txt", &h);
    test_read_lines(fix, "ref1.txt", &r1);
    test_read_lines(fix, "ref2.txt", &r2);
    const cJSON *w = cJSON_GetObjectItem(fx, "coco_bleu");
    const char *const *refs[2] = {(const char *const *)r1.line, (const char *const *)r2.line};
    const char *const *refs2[1] = {(const char *const *)r2.line};
    CocoBleu b;
    REQUIRE(coco_bleu_corpus((const char *const *)h.line, h.n, refs, 1, &b, &err) == 0);
    check_coco(&b, cJSON_GetObjectItem(w, "ref1"), "one reference");
    REQUIRE(coco_bleu_corpus((const char *const *)h.line, h.n, refs, 2, &b, &err) == 0);
    check_coco(&b, cJSON_GetObjectItem(w, "ref12"), "two references");
    REQUIRE(coco_bleu_corpus((const char *const *)h.line, 50, refs2, 1, &b, &err) == 0);
    check_coco(&b, cJSON_GetObjectItem(w, "first50_ref2"), "50 segments, the second reference");
    char *dbl[40];
    for (int i = 0; i < 40; i++) {
        size_t n = strlen(h.line[i]);
        dbl[i] = malloc(2 * n + 2);
        memcpy(dbl[i], h.line[i], n), dbl[i][n] = ' ', memcpy(dbl[i] + n + 1, h.line[i], n + 1);
    }
    REQUIRE(coco_bleu_corpus((const char *const *)dbl, 40, refs, 2, &b, &err) == 0);
    check_coco(&b, cJSON_GetObjectItem(w, "long_hyps"), "hypotheses doubled");
    for (int i = 0; i < 40; i++) free(dbl[i]);
    cJSON *cli = run_cli("coco-bleu", "");
    if (cli) {
        double worst = 0;
        for (int k = 0; k < 4; k++) {
            char key[16];
            snprintf(key, sizeof key, "Bleu_%d", k + 1);
            const cJSON *v = cJSON_GetObjectItem(cli, key);
            worst = fmax(worst, v ? fabs(v->valuedouble - cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(w, "ref12"), "bleu"), k)->valuedouble) : 1);
        }
        CHECKF(worst <= 1e-12, "pifi score --metric coco-bleu printed other numbers (difference %g)", worst);
        cJSON_Delete(cli);
    }
    test_lines_free(&h), test_lines_free(&r1), test_lines_free(&r2);
}

static void test_meteor(const cJSON *fx, const WordNet *wn) {
    PifiErr err = {0};
    const cJSON *c;
    int n = 0, bad = 0;
    double worst = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(fx, "cases")) {
        const char *refs[8];
        int R = case_refs(c, refs);
        double m, want = cJSON_GetObjectItem(c, "meteor")->valuedouble;
        REQUIRE(meteor_segment(wn, cJSON_GetObjectItem(c, "hyp")->valuestring, refs, R, &m, &err) == 0);
        double d = fabs(m - want);
        worst = fmax(worst, d);
        if (d > 1e-4 && bad++ < 5)
            printf("METEOR %.6f, NLTK %.6f on hyp \"%s\" ref \"%s\"\n", m, want,
                   cJSON_GetObjectItem(c, "hyp")->valuestring, refs[0]);
        n++;
    }
    printf("METEOR: %d cases, %d differ from NLTK by more than 1e-4 (largest %g)\n", n, bad, worst);
    CHECK(n >= 200 && bad == 0);
}

/* `--rouge-newline "<n>"`: the multi-line cases written one per line with
 * "<n>" for their line breaks score as the library scores the texts */
static void test_cli_newline(const cJSON *fx) {
    const char *bin = getenv("PIFI_BIN"), *tmp = getenv("PIFI_TESTS_TMP");
    if (!bin) return;
    char dir[1100], cmd[4096], line[8192] = "";
    snprintf(dir, sizeof dir, "%s/nlg_newline", tmp ? tmp : "/tmp");
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    REQUIRE(system(cmd) == 0);
    const char *hyps[64], *refs[64];
    int n = 0, skip = cJSON_GetObjectItem(fx, "lines")->valueint, i = 0;
    char hp[1200], rp[1200];
    snprintf(hp, sizeof hp, "%s/hyp.txt", dir), snprintf(rp, sizeof rp, "%s/ref.txt", dir);
    FILE *fh = fopen(hp, "w"), *fr = fopen(rp, "w");
    REQUIRE(fh && fr);
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(fx, "cases")) {
        if (i++ < skip || n == 64) continue;
        hyps[n] = cJSON_GetObjectItem(c, "hyp")->valuestring;
        refs[n] = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "refs"), 0)->valuestring;
        for (const char *p = hyps[n]; *p; p++) *p == '\n' ? fputs("<n>", fh) : fputc(*p, fh);
        for (const char *p = refs[n]; *p; p++) *p == '\n' ? fputs("<n>", fr) : fputc(*p, fr);
        fputc('\n', fh), fputc('\n', fr);
        n++;
    }
    fclose(fh), fclose(fr);
    REQUIRE(n >= 30);
    RougePRF want[ROUGE_TYPES];
    PifiErr err = {0};
    const char *const *rs[1] = {refs};
    REQUIRE(rouge_corpus(hyps, n, rs, 1, 1, want, &err) == 0);
    snprintf(cmd, sizeof cmd, "'%s' score --metric rouge --rouge-stem --rouge-newline '<n>' --pred '%s' --data '%s'", bin,
             hp, rp);
    FILE *f = popen(cmd, "r");
    REQUIRE(f);
    if (!fgets(line, sizeof line, f)) line[0] = '\0';
    CHECK(pclose(f) == 0);
    cJSON *j = cJSON_Parse(line);
    const cJSON *lsum = cJSON_GetObjectItem(j, "rougeLsum"), *l = cJSON_GetObjectItem(j, "rougeL");
    const cJSON *f1 = cJSON_GetObjectItem(lsum, "fmeasure"), *f2 = cJSON_GetObjectItem(l, "fmeasure");
    printf("--rouge-newline: %d multi-line cases, rougeLsum F %.12f (library %.12f), rougeL F %.12f\n", n,
           f1 ? f1->valuedouble : -1, want[ROUGE_LSUM].fmeasure, want[ROUGE_L].fmeasure);
    CHECK(f1 && f1->valuedouble == want[ROUGE_LSUM].fmeasure && f2 && f2->valuedouble == want[ROUGE_L].fmeasure);
    CHECK(want[ROUGE_LSUM].fmeasure != want[ROUGE_L].fmeasure); /* the lines mattered */
    cJSON_Delete(j);
}

/* A two-synset WordNet in memory, then broken line by line: each break is
 * one line "<file>: line N: <what>". */
static int collect(void *ctx, const char *name) {
    char *acc = ctx;
    strcat(acc, name), strcat(acc, ",");
    return 0;
}

static int tiny_wordnet(const char *data_noun, const char *index_noun, const char *noun_exc, WordNet **wn,
                        PifiErr *err) {
    char *buf[WORDNET_FILES];
    size_t len[WORDNET_FILES];
    for (int i = 0; i < WORDNET_FILES; i++) {
        const char *t = i == 0 ? data_noun : i == 1 ? index_noun : i == 2 ? noun_exc : "";
        len[i] = strlen(t);
        buf[i] = malloc(len[i] + 1);
        memcpy(buf[i], t, len[i] + 1);
    }
    return wordnet_from_buffers(buf, len, wn, err);
}

static void test_wordnet_files(void) {
    static const char *DATA = "  1 license\n"
                              "00000012 05 n 02 dog 0 domestic_dog 0 000 | a dog\n"
                              "00000062 05 n 02 hound(p) 0 dog 1 000 | a hunting dog\n";
    static const char *INDEX = "  1 license\ndog n 2 0 2 0 00000012 00000062\nhound n 1 0 1 0 00000062\n";
    WordNet *wn;
    PifiErr err = {0};
    REQUIRE(tiny_wordnet(DATA, INDEX, "dogs dog\n", &wn, &err) == 0);
    char acc[256] = "";
    REQUIRE(wordnet_synonyms(wn, "dogs", collect, acc) == 0); /* the exception list, then the synsets */
    printf("tiny WordNet: synonyms of \"dogs\": %s\n", acc);
    CHECK(strcmp(acc, "dog,domestic_dog,hound,dog,") == 0);
    wordnet_free(wn);
    static const struct {
        const char *data, *index, *exc, *msg;
    } BAD[] = {
        {"  1 license\n00000013 05 n 02 dog 0 domestic_dog 0 000 | x\n", "", "",
         "data.noun: line 2: the line names offset 13 but starts at byte 12"},
        {"  1 license\n00000012 05 n 03 dog 0 domestic_dog 0 000 | x\n", "", "", "data.noun: line 2: word 3 of 3"},
        {"  1 license\n00000012 05 n 02 dog 0 domestic_dog\n", "", "", "data.noun: line 2: word 2 of 2"},
        {"  1 license\n0000001x 05 n 01 dog 0 000\n", "", "", "data.noun: line 2: the synset offset is not 8 digits"},
        {NULL, "dog n 2 0 1 0 00000012\n", "", "index.noun: line 1: the sense count is not the synset count 2"},
        {NULL, "dog n 1 0 1 0 00000099\n", "", "index.noun: line 1: synset offset 00000099 is not a line of data.noun"},
        {NULL, "dog n 1 5 @ 1 0 00000012\n", "", "index.noun: line 1: ends within its 5 pointer symbols"},
        {NULL, "dog v 1 0 1 0 00000012\n", "", "index.noun: line 1: the part of speech is not n"},
        {NULL, "dog n 0 0 0 0\n", "", "index.noun: line 1: the synset count is not a positive number"},
        {NULL, "dog n 99999999999 0 1 0 00000012\n", "", "index.noun: line 1: the synset count"},
        {NULL, "", "dogs dog\n\ncats cat\n", "noun.exc: line 2: empty line"},
        {NULL, "", "dogs\0dog\n", "noun.exc: holds a NUL byte"},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        err = (PifiErr){0};
        char *buf[WORDNET_FILES];
        size_t len[WORDNET_FILES];
        for (int k = 0; k < WORDNET_FILES; k++) {
            const char *t = k == 0 ? (BAD[i].data ? BAD[i].data : DATA) : k == 1 ? BAD[i].index : k == 2 ? BAD[i].exc : "";
            len[k] = k == 2 && strcmp(BAD[i].msg, "noun.exc: holds a NUL byte") == 0 ? 9 : strlen(t);
            buf[k] = malloc(len[k] + 1);
            memcpy(buf[k], t, len[k] + 1);
        }
        CHECKF(wordnet_from_buffers(buf, len, &wn, &err) == -1 && wn == NULL, "bad WordNet %zu accepted", i);
        CHECK_MSG(err, BAD[i].msg);
        CHECKF(!strchr(err.msg, '\n'), "not one line: %s", err.msg);
    }
    /* a folder without the files: the path in the message */
    CHECK(wordnet_open("/nonexistent-wordnet", &wn, &err) == -1);
    CHECK_MSG(err, "/nonexistent-wordnet/data.noun");
}

int main(void) {
    snprintf(fix, sizeof fix, "%s/nlg", test_fixtures());
    char p[1200];
    PifiErr err = {0};
    cJSON *fx;
    snprintf(p, sizeof p, "%s/cases.json", fix);
    if (pifi_json_load(p, 1 << 24, &fx, &err)) {
        printf("%s\n", err.msg);
        return 1;
    }
    test_porter();
    test_rouge(fx);
    test_wordnet_files();
    test_coco_bleu(fx);
    WordNet *wn = NULL;
    if (wordnet_open(wordnet_dir(), &wn, &err)) {
        /* not a skip: METEOR is part of what this test checks */
        fprintf(stderr, "%s (Debian's wordnet-base; scripts/deps.sh installs it; PIFI_WORDNET names another dir)\n",
                err.msg);
        CHECK(wn != NULL);
    } else {
        test_meteor(fx, wn);
    }
    test_corpus(fx, wn);
    test_cli_newline(fx);
    wordnet_free(wn);
    cJSON_Delete(fx);
    TEST_DONE();
}
