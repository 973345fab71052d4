/* test_s2s_run.c: a generation run through the public API (pifi_train on
 * --task seq2seq files, train/s2s_run.c), on the Multi30K T5 of
 * experiments/ initialised at random (--init random) and 48 sentence pairs
 * of Multi30K written as a TSV:
 *   - the run files: config.json ("seq2seq", the decoding options, the
 *     data with its source prefix, the SLM's own config), model.safetensors
 *     under T5's names with their shapes, train_log.jsonl a line a step,
 *     metrics.json (per epoch: train loss, validation loss, BLEU, chrF; the
 *     test; best_epoch), test_generations.txt a line per test source,
 *     scored again here to the metrics' BLEU;
 *   - a stop after step 3, then pifi_train_resume: the log, metrics and
 *     weights byte-identical to the uninterrupted run's, and a second
 *     resume finds it complete;
 *   - the run opened for inference (pifi_generator_open): its decoding of
 *     the test sources is test_generations.txt, line for line;
 *     pifi_run_open refuses it;
 *   - bad inputs in one line: a target column absent, --num-beams 0, a
 *     generation option on a classification task, a mismatched vocabulary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pifi.h"
#include "pifi/fileio.h"
#include "pifi/json.h"
#include "pifi/mt_metrics.h"
#include "test.h"

#define CHECK_API_MSG(e, sub) CHECKF(strstr((e).message, (sub)) != NULL, "message \"%s\" lacks \"%s\"", (e).message, (sub))

static char slm[1200], dir[1200];

/* n pairs of Multi30K's split (train, val) from line `from` as a TSV with a header. */
static int write_pairs(const char *path, const char *split, int from, int n) {
    const char *data = getenv("PIFI_DATA");
    char en[1200], de[1200];
    snprintf(en, sizeof en, "%s/multi30k/%s.en.gz", data ? data : "", split);
    snprintf(de, sizeof de, "%s/multi30k/%s.de.gz", data ? data : "", split);
    char *a, *b;
    size_t na, nb;
    PifiErr err = {0};
    if (pifi_read_file_gz(en, 1 << 26, &a, &na, &err)) return -1;
    if (pifi_read_file_gz(de, 1 << 26, &b, &nb, &err)) {
        free(a);
        return -1;
    }
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "source\ttarget\n");
    char *pa = a, *pb = b;
    for (int i = 0; i < from + n; i++) {
        char *ea = strchr(pa, '\n'), *eb = strchr(pb, '\n');
        if (!ea || !eb) break;
        *ea = *eb = 0;
        if (i >= from) fprintf(f, "%s\t%s\n", pa, pb);
        pa = ea + 1, pb = eb + 1;
    }
    fclose(f);
    free(a), free(b);
    return 0;
}

static pifi_train_options *options(const char *extra_key, const char *extra_value) {
    pifi_train_options *o = pifi_train_options_new();
    pifi_error e;
    const char *kv[][2] = {{"slm", slm},          {"method", "base"},      {"init", "random"},
                           {"batch", "8"},        {"epochs", "2"},         {"lr", "1e-3"},
                           {"max_len", "24"},     {"max_target_len", "24"}, {"num_beams", "2"},
                           {"max_new_tokens", "6"}, {"precision", "fp32"}, {"overwrite", "true"},
                           {"save_every", "2"},   {"eval_batch", "16"}};
    for (size_t i = 0; o && i < sizeof kv / sizeof kv[0]; i++)
        if (pifi_train_options_set(o, kv[i][0], kv[i][1], &e)) {
            fprintf(stderr, "%s: %s\n", kv[i][0], e.message);
            pifi_train_options_free(o);
            return NULL;
        }
    if (o && extra_key && pifi_train_options_set(o, extra_key, extra_value, &e)) {
        pifi_train_options_free(o);
        return NULL;
    }
    return o;
}

static pifi_data data_of(const char *train, const char *valid, const char *test) {
    pifi_data d = {0};
    d.task = "seq2seq", d.train = train, d.valid = valid, d.test = test;
    return d;
}

static int stop_after_three(void *user) { return ++*(int *)user > 3; }

static char *slurp(const char *run, const char *name, size_t *n) {
    char p[1400];
    snprintf(p, sizeof p, "%s/%s", run, name);
    char *buf = NULL;
    PifiErr err = {0};
    *n = 0;
    if (pifi_read_file(p, 1 << 28, &buf, n, &err)) return NULL;
    return buf;
}

/* The text without each line's "examples_per_s" (a timing), in place. */
static size_t drop_timing(char *s, size_t n) {
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        if (n - i > 17 && memcmp(s + i, ",\"examples_per_s\":", 18) == 0) {
            while (i < n && s[i] != '}') i++;
            continue;
        }
        s[w++] = s[i++];
    }
    return w;
}

/* The file name in both runs, byte for byte (a log: but for its timings). */
static void check_same(const char *a, const char *b, const char *name) {
    size_t na, nb;
    char *x = slurp(a, name, &na), *y = slurp(b, name, &nb);
    if (x && y && strstr(name, ".jsonl")) na = drop_timing(x, na), nb = drop_timing(y, nb);
    CHECKF(x && y && na == nb && memcmp(x, y, na) == 0, "%s differs between %s and %s", name, a, b);
    free(x), free(y);
}

static void test_run_files(const char *whole, const char *test_tsv) {
    size_t n;
    char *cfg = slurp(whole, "config.json", &n);
    cJSON *c = NULL;
    PifiErr err = {0};
    REQUIRE(cfg && pifi_json_parse(cfg, n, "config.json", &c, &err) == 0);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(c, "pifi");
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "seq2seq")));
    CHECK(cJSON_GetObjectItemCaseSensitive(c, "d_model") != NULL); /* the SLM's own config */
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "train");
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(t, "num_beams")) == 2);
    CHECK(cJSON_GetObjectItemCaseSensitive(t, "head_dropout") == NULL); /* a classification option */
    CHECK(strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "metric_for_best")), "bleu") == 0);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(p, "data");
    CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(d, "source_prefix")));
    cJSON_Delete(c);
    free(cfg);

    char *log = slurp(whole, "train_log.jsonl", &n);
    int lines = 0;
    for (size_t i = 0; log && i < n; i++) lines += log[i] == '\n';
    CHECKF(lines == 12, "train_log.jsonl has %d lines, want 12 (2 epochs x 6 steps)", lines);
    free(log);

    char *met = slurp(whole, "metrics.json", &n);
    cJSON *m = NULL;
    REQUIRE(met && pifi_json_parse(met, n, "metrics.json", &m, &err) == 0);
    const cJSON *ep = cJSON_GetObjectItemCaseSensitive(m, "epochs");
    CHECK(cJSON_GetArraySize(ep) == 2);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ep, 1), "valid");
    CHECK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(v, "bleu")) &&
          cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(v, "chrf")) &&
          cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(v, "loss")));
    const cJSON *te = cJSON_GetObjectItemCaseSensitive(m, "test");
    double bleu = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(te, "bleu"));
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(m, "best_epoch")) >= 1);

    /* test_generations.txt scored against the test targets gives the metrics' BLEU */
    char *gen = slurp(whole, "test_generations.txt", &n), *ref = NULL;
    size_t nr;
    REQUIRE(gen && pifi_read_file(test_tsv, 1 << 20, &ref, &nr, &err) == 0);
    const char *hyps[64], *refs[64];
    int nh = 0, nref = 0;
    for (char *s = gen; nh < 64 && *s;) {
        char *e = strchr(s, '\n');
        if (!e) break;
        *e = 0, hyps[nh++] = s, s = e + 1;
    }
    char *s = strchr(ref, '\n') + 1; /* past the header */
    while (nref < 64 && *s) {
        char *e = strchr(s, '\n'), *tab = strchr(s, '\t');
        if (!e || !tab) break;
        *e = 0, refs[nref++] = tab + 1, s = e + 1;
    }
    CHECKF(nh == 8 && nref == 8, "%d generations, %d references", nh, nref);
    const char *const *rs[1] = {refs};
    BleuScore sc;
    REQUIRE(bleu_corpus(hyps, nh, rs, 1, &sc, &err) == 0);
    CHECKF(sc.score == bleu, "test_generations.txt scores BLEU %.17g, metrics.json says %.17g", sc.score, bleu);

    /* the run for inference: the same decoding of the same sources */
    const char *srcs[64];
    char *ref2 = NULL;
    REQUIRE(pifi_read_file(test_tsv, 1 << 20, &ref2, &nr, &err) == 0);
    int ns = 0;
    for (char *q = strchr(ref2, '\n') + 1; ns < 64 && *q;) {
        char *e = strchr(q, '\n'), *tab = strchr(q, '\t');
        if (!e || !tab) break;
        *tab = 0, srcs[ns++] = q, q = e + 1;
    }
    pifi_generator *g = NULL;
    pifi_error pe;
    pifi_run_params rp = pifi_run_default_params();
    rp.precision = PIFI_PRECISION_FP32, rp.batch = 3; /* other batches than training's: padding must not matter */
    CHECKF(pifi_generator_open(whole, &rp, &g, &pe) == PIFI_OK, "%s", pe.message);
    if (g) {
        char *outs[64];
        CHECKF(pifi_generate(g, ns, srcs, NULL, outs, &pe) == PIFI_OK, "%s", pe.message);
        int same = 0;
        for (int i = 0; i < ns && i < nh; i++) same += !strcmp(outs[i], hyps[i]), pifi_text_free(outs[i]);
        CHECKF(same == nh, "pifi_generate gives %d of the %d test generations", same, nh);
        pifi_generate_params gp = pifi_generator_params(g);
        CHECK(gp.num_beams == 2 && gp.max_new_tokens == 6 && strcmp(pifi_generator_method(g), "base") == 0);
        gp.num_beams = 0;
        CHECK(pifi_generate(g, 1, srcs, &gp, outs, &pe) == PIFI_E_INPUT);
        CHECK_API_MSG(pe, "num_beams 0");
        pifi_generator_close(g);
    }
    pifi_run *run = NULL;
    CHECK(pifi_run_open(whole, NULL, &run, &pe) != PIFI_OK && !run);
    CHECK_API_MSG(pe, "pifi_generator_open");
    free(ref2);
    free(gen), free(ref), free(met);
    cJSON_Delete(m);
}

static void test_stop_resume(const char *train, const char *valid, const char *test) {
    char whole[1300], cut[1300];
    snprintf(whole, sizeof whole, "%s/whole", dir);
    snprintf(cut, sizeof cut, "%s/cut", dir);
    pifi_train_options *o = options(NULL, NULL);
    REQUIRE(o);
    pifi_data d = data_of(train, valid, test);
    pifi_train_result r;
    pifi_error e;
    CHECKF(pifi_train(o, &d, whole, NULL, &r, &e) == PIFI_OK, "%s", e.message);
    CHECKF(r.steps == 12 && r.test_bleu >= 0 && r.test_chrf > 0 && strcmp(r.metric_for_best, "bleu") == 0,
           "steps %lld, test BLEU %g chrF %g, metric %s", r.steps, r.test_bleu, r.test_chrf, r.metric_for_best);
    int polls = 0;
    pifi_callbacks cb = {.stop = stop_after_three, .user = &polls};
    CHECKF(pifi_train(o, &d, cut, &cb, &r, &e) == PIFI_OK, "%s", e.message);
    CHECKF(r.stopped && r.steps == 3, "stopped %d after %lld steps", r.stopped, r.steps);
    CHECKF(pifi_train_resume(cut, NULL, NULL, &r, &e) == PIFI_OK, "%s", e.message);
    CHECKF(!r.stopped && r.steps == 12, "resumed: stopped %d, %lld steps", r.stopped, r.steps);
    check_same(whole, cut, "train_log.jsonl");
    check_same(whole, cut, "model.safetensors");
    check_same(whole, cut, "test_generations.txt");
    pifi_train_result again;
    CHECKF(pifi_train_resume(cut, NULL, NULL, &again, &e) == PIFI_OK, "%s", e.message);
    CHECK(again.complete_already && again.steps == 12 && again.test_bleu == r.test_bleu);
    pifi_train_options_free(o);
    test_run_files(whole, test);
}

static void test_errors(const char *train, const char *valid) {
    char out[1300];
    snprintf(out, sizeof out, "%s/bad", dir);
    pifi_train_result r;
    pifi_error e;
    /* --num-beams 0: refused where it is set */
    pifi_train_options *o = options(NULL, NULL);
    REQUIRE(o);
    CHECK(pifi_train_options_set(o, "num_beams", "0", &e) == PIFI_E_INPUT);
    CHECK_API_MSG(e, "num_beams");
    /* a target column the file lacks */
    pifi_data d = data_of(train, valid, NULL);
    d.target_col = "german";
    CHECK(pifi_train(o, &d, out, NULL, &r, &e) != PIFI_OK);
    CHECK_API_MSG(e, "german");
    CHECK(strchr(e.message, '\n') == NULL);
    pifi_train_options_free(o);
    /* a generation option on a classification task */
    o = options(NULL, NULL);
    REQUIRE(o);
    pifi_data cls = {0};
    cls.train = train;
    CHECK(pifi_train(o, &cls, out, NULL, &r, &e) == PIFI_E_INPUT);
    CHECK_API_MSG(e, "generation task");
    pifi_train_options_free(o);
    /* a model whose vocabulary is smaller than its tokenizer's */
    char small[1300], cfg[8192];
    snprintf(small, sizeof small, "%s/small_vocab", dir);
    snprintf(cfg, sizeof cfg, "mkdir -p '%s' && cp '%s/tokenizer.json' '%s/' && sed 's/\"vocab_size\": 8000/\"vocab_size\": 100/' "
             "'%s/config.json' > '%s/config.json'", small, slm, small, slm, small);
    REQUIRE(system(cfg) == 0);
    o = options("slm", small);
    REQUIRE(o);
    d = data_of(train, valid, NULL);
    CHECK(pifi_train(o, &d, out, NULL, &r, &e) != PIFI_OK);
    CHECK_API_MSG(e, "mismatched vocabularies");
    pifi_train_options_free(o);
}

static void run_all(void) {
    char cmd[4096], train[1300], valid[1300], test[1300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    REQUIRE(system(cmd) == 0);
    snprintf(train, sizeof train, "%s/train.tsv", dir);
    snprintf(valid, sizeof valid, "%s/valid.tsv", dir);
    snprintf(test, sizeof test, "%s/test.tsv", dir);
    REQUIRE(write_pairs(train, "train", 0, 48) == 0);
    REQUIRE(write_pairs(valid, "val", 0, 8) == 0);
    REQUIRE(write_pairs(test, "val", 8, 8) == 0);
    test_stop_resume(train, valid, test);
    test_errors(train, valid);
}

int main(void) {
    const char *data = getenv("PIFI_DATA");
    char probe[1200];
    snprintf(probe, sizeof probe, "%s/multi30k/train.en.gz", data ? data : "");
    if (!data || !pifi_file_exists(probe)) TEST_SKIP("needs PIFI_DATA with multi30k/");
    snprintf(slm, sizeof slm, "%s/../../experiments/multi30k-t5", test_fixtures());
    snprintf(dir, sizeof dir, "%s/s2s_run", test_tmp());
    run_all();
    TEST_DONE();
}
