/* test_api.c: include/pifi.h's calls that need no model: statuses, the
 * training options set by key (every row of the option table, through the
 * table's own checks), and the errors of handles given bad input. The
 * calls that train and predict are run by tests/cli/example.sh. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pifi.h"
#include "test.h"

static void test_status(void) {
    CHECK(strcmp(pifi_strerror(PIFI_OK), "success") == 0);
    CHECK(strstr(pifi_strerror(PIFI_E_INPUT), "bad input") != NULL);
    CHECK(strcmp(pifi_version(), PIFI_VERSION) == 0);
}

#define CHECK_API_MSG(e, sub) \
    CHECKF(strstr((e).message, (sub)) != NULL, "message \"%s\" lacks \"%s\"", (e).message, (sub))

static void test_train_options(void) {
    pifi_train_options *o = pifi_train_options_new();
    REQUIRE(o != NULL);
    pifi_error e;
    int n = pifi_train_option_count();
    CHECK(n > 20);
    for (int i = 0; i < n; i++) {
        const char *k = pifi_train_option_key(i);
        CHECKF(k && pifi_train_option_help(i) && *pifi_train_option_help(i), "row %d has no key or help", i);
        /* a value no row accepts: refused, naming the key */
        e.message[0] = 0;
        CHECKF(pifi_train_options_set(o, k, "1e300", &e) == PIFI_E_INPUT, "%s accepted 1e300", k);
        CHECK_API_MSG(e, k);
    }
    CHECK(pifi_train_option_key(n) == NULL && pifi_train_option_key(-1) == NULL);
    CHECK(pifi_train_options_set(o, "epochs", "2", &e) == PIFI_OK);
    CHECK(pifi_train_options_set(o, "epochs", "0", &e) == PIFI_E_INPUT);
    CHECK_API_MSG(e, "epochs");
    CHECK(pifi_train_options_set(o, "lr", "3e-5", &e) == PIFI_OK);
    CHECK(pifi_train_options_set(o, "lr", "fast", &e) == PIFI_E_INPUT);
    CHECK(pifi_train_options_set(o, "optimizer", "adamw", &e) == PIFI_OK);
    CHECK(pifi_train_options_set(o, "optimizer", "sgd", &e) == PIFI_E_INPUT);
    CHECK_API_MSG(e, "adamw");
    CHECK(pifi_train_options_set(o, "shuffle", "false", &e) == PIFI_OK);
    CHECK(pifi_train_options_set(o, "shuffle", "maybe", &e) == PIFI_E_INPUT);
    CHECK(pifi_train_options_set(o, "method", "lora", &e) == PIFI_OK);
    CHECK(pifi_train_options_set(o, "method", "magic", &e) == PIFI_E_INPUT);
    CHECK(pifi_train_options_set(o, "layer", "-2", &e) == PIFI_OK);
    CHECK(pifi_train_options_set(o, "layer", "x", &e) == PIFI_E_INPUT);
    CHECK(pifi_train_options_set(o, "no_such_option", "1", &e) == PIFI_E_INPUT);
    CHECK_API_MSG(e, "no training option \"no_such_option\"");
    /* training without an SLM or data: an error, nothing written */
    pifi_train_result r;
    pifi_data d = {0};
    CHECK(pifi_train(o, &d, "unused", NULL, &r, &e) == PIFI_E_INPUT);
    CHECK_API_MSG(e, "no SLM");
    CHECK(pifi_train_options_set(o, "slm", "/nonexistent", &e) == PIFI_OK);
    CHECK(pifi_train_options_set(o, "method", "pifi", &e) == PIFI_OK);
    CHECK(pifi_train(o, &d, "unused", NULL, &r, &e) == PIFI_E_INPUT);
    CHECK_API_MSG(e, "needs an LLM layer");
    pifi_train_options_free(o);
}

/* The first progress report of a call: where the run began. */
typedef struct {
    long long done_at_begin, steps;
} Begin;

static void on_begin(const pifi_progress *p, void *user) {
    Begin *b = user;
    if (p->event == PIFI_PROGRESS_BEGIN && b->done_at_begin < 0) b->done_at_begin = p->done, b->steps = p->total;
}

static int stop_at_third(void *user) {
    int *polls = user;
    return ++*polls >= 3;
}

/* A stop request: the run ends after the step it was asked before, its
 * checkpoint saved, and says so; pifi_train_resume continues it to the end.
 * Needs the real MiniLM and SST-2. */
static void test_train_stop(void) {
    const char *models = getenv("PIFI_MODELS"), *data = getenv("PIFI_DATA"), *tmp = test_tmp();
    char slm[1024], train[1024], out[1024], ckpt[1100], tsv[1100];
    snprintf(slm, sizeof slm, "%s/all-MiniLM-L6-v2", models ? models : "models");
    snprintf(train, sizeof train, "%s/sst2/stsa.binary.train", data ? data : "");
    FILE *in = fopen(train, "r");
    snprintf(ckpt, sizeof ckpt, "%s/model.safetensors", slm);
    FILE *m = fopen(ckpt, "r");
    if (!in || !m) {
        printf("test_train_stop SKIPPED: needs %s and %s\n", slm, train);
        if (in) fclose(in);
        if (m) fclose(m);
        return;
    }
    fclose(m);
    snprintf(out, sizeof out, "%s/api_stop", tmp);
    snprintf(tsv, sizeof tsv, "%s/api_stop.tsv", tmp);
    FILE *f = fopen(tsv, "w");
    REQUIRE(f != NULL);
    fprintf(f, "text\tlabel\n");
    char line[4096];
    for (int i = 0; i < 48 && fgets(line, sizeof line, in); i++) {
        line[strcspn(line, "\n")] = 0;
        fprintf(f, "%s\t%c\n", line + 2, line[0]);
    }
    fclose(f);
    fclose(in);
    pifi_train_options *o = pifi_train_options_new();
    pifi_error e;
    REQUIRE(o && pifi_train_options_set(o, "slm", slm, &e) == PIFI_OK);
    const char *kv[][2] = {{"method", "base"}, {"batch", "8"}, {"max_len", "16"}, {"epochs", "2"},
                           {"precision", "fp32"}, {"overwrite", "true"}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) REQUIRE(pifi_train_options_set(o, kv[i][0], kv[i][1], &e) == 0);
    pifi_data d = {0};
    d.train = tsv;
    int polls = 0;
    pifi_callbacks cb = {.stop = stop_at_third, .user = &polls};
    pifi_train_result r;
    CHECKF(pifi_train(o, &d, out, &cb, &r, &e) == PIFI_OK, "%s", e.message);
    CHECKF(r.stopped && r.steps == 3, "stopped %d after %lld steps", r.stopped, r.steps);
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint/state.safetensors", out);
    FILE *c = fopen(ckpt, "r");
    CHECKF(c != NULL, "no checkpoint %s", ckpt);
    if (c) fclose(c);
    pifi_train_options_free(o);

    /* resume: what a resume may not change is refused; then it continues
     * from step 3 to the end, and once more it is complete already */
    pifi_train_options *ch = pifi_train_options_new();
    REQUIRE(ch != NULL);
    REQUIRE(pifi_train_options_set(ch, "lr", "1e-3", &e) == PIFI_OK);
    CHECK(pifi_train_resume(out, ch, NULL, &r, &e) == PIFI_E_INPUT);
    CHECK_API_MSG(e, "\"lr\"");
    pifi_train_options_free(ch);
    ch = pifi_train_options_new();
    REQUIRE(ch && pifi_train_options_set(ch, "slm", slm, &e) == PIFI_OK);
    CHECK(pifi_train_resume(out, ch, NULL, &r, &e) == PIFI_E_INPUT);
    CHECK_API_MSG(e, "\"slm\"");
    pifi_train_options_free(ch);
    ch = pifi_train_options_new();
    REQUIRE(ch && pifi_train_options_set(ch, "keep_checkpoint", "true", &e) == PIFI_OK);
    Begin b = {-1, 0};
    pifi_callbacks cb2 = {.progress = on_begin, .user = &b};
    CHECKF(pifi_train_resume(out, ch, &cb2, &r, &e) == PIFI_OK, "%s", e.message);
    CHECKF(b.done_at_begin == 3 && b.steps == 12, "began at %lld, %lld steps told", b.done_at_begin, b.steps);
    CHECKF(!r.stopped && !r.complete_already && r.steps == 12 && strcmp(r.method, "base") == 0,
           "stopped %d, complete %d, %lld steps, method %s", r.stopped, r.complete_already, r.steps, r.method);
    CHECK(r.best_epoch >= 1 && r.best_epoch <= 2 && r.test_accuracy == -1 && r.best_valid == -1);
    pifi_train_result again;
    CHECKF(pifi_train_resume(out, NULL, NULL, &again, &e) == PIFI_OK, "%s", e.message);
    CHECK(again.complete_already && again.steps == 12 && again.best_epoch == r.best_epoch);
    pifi_train_options_free(ch);
}

/* The outputs a server needs (pifi_predict_logits, pifi_run_embed, the
 * token counts), on the run test_train_stop trained (base, max_len 16):
 * probabilities bit for bit pifi_predict's and the softmax of the logits;
 * token counts those of the SLM's own tokenizer (pifi_embed); the pooled
 * vector of a text the same alone and in a batch. */
static void test_run_outputs(void) {
    const char *models = getenv("PIFI_MODELS");
    char dir[1024], slm[1024];
    snprintf(dir, sizeof dir, "%s/api_stop/metrics.json", test_tmp());
    snprintf(slm, sizeof slm, "%s/all-MiniLM-L6-v2", models ? models : "models");
    FILE *f = fopen(dir, "r");
    if (!f) {
        printf("test_run_outputs SKIPPED: no run from test_train_stop\n");
        return;
    }
    fclose(f);
    snprintf(dir, sizeof dir, "%s/api_stop", test_tmp());
    pifi_run_params p = pifi_run_default_params();
    p.precision = PIFI_PRECISION_FP32;
    p.batch = 3; /* chunks of 3: both calls cut the inputs the same way */
    pifi_run *run;
    pifi_error e;
    REQUIRE(pifi_run_open(dir, &p, &run, &e) == PIFI_OK);
    const char *texts[] = {"a gripping, funny film", "dull", "", "one of the worst films of the year , and a long one at that : two hours and a half",
                           "fine"};
    enum { N = 5 };
    const int K = pifi_run_num_classes(run);
    REQUIRE(K == 2);
    float probs[N * 2], probs2[N * 2], logits[N * 2];
    CHECK(pifi_predict(run, N, texts, NULL, probs, NULL, NULL, &e) == PIFI_OK);
    CHECK(pifi_predict_logits(run, N, texts, NULL, probs2, logits, &e) == PIFI_OK);
    CHECK(memcmp(probs, probs2, sizeof probs) == 0);
    for (int i = 0; i < N; i++) {
        double m = fmax(logits[2 * i], logits[2 * i + 1]);
        double s = exp(logits[2 * i] - m) + exp(logits[2 * i + 1] - m);
        for (int k = 0; k < 2; k++)
            CHECKF(fabs(exp(logits[2 * i + k] - m) / s - probs[2 * i + k]) < 1e-6, "input %d class %d", i, k);
    }
    CHECK(pifi_predict_logits(run, N, texts, NULL, NULL, logits, &e) == PIFI_OK);
    /* token counts: the SLM's tokenizer's, with the specials, before truncation */
    CHECK(pifi_run_max_length(run) == 16);
    pifi_encoder *enc;
    REQUIRE(pifi_encoder_open(slm, NULL, &enc, &e) == PIFI_OK);
    pifi_embeddings *em;
    REQUIRE(pifi_embed(enc, N - 1, texts, NULL, &em, &e) == PIFI_OK);
    for (int i = 0; i < N - 1; i++) {
        int n = -1;
        CHECK(pifi_run_count_tokens(run, texts[i], NULL, &n, &e) == PIFI_OK);
        CHECKF(n == pifi_embeddings_len(em, i), "input %d: %d tokens, the encoder has %d", i, n,
               pifi_embeddings_len(em, i));
    }
    int n;
    CHECK(pifi_run_count_tokens(run, texts[3], NULL, &n, &e) == PIFI_OK && n > 16);
    CHECK(pifi_run_count_tokens(run, texts[0], texts[1], &n, &e) == PIFI_OK && n == 9);
    CHECK(pifi_run_count_tokens(run, NULL, NULL, &n, &e) == PIFI_E_INPUT);
    /* pooled vectors: the SLM's width, the same alone as in a batch */
    const int C = pifi_run_embed_dim(run);
    CHECK(C == pifi_encoder_dim(enc));
    pifi_embeddings_free(em);
    pifi_encoder_close(enc);
    float *all = malloc(sizeof(float) * N * C), *one = malloc(sizeof(float) * C);
    REQUIRE(all && one);
    CHECK(pifi_run_embed(run, N, texts, NULL, all, &e) == PIFI_OK);
    for (int i = 0; i < N; i++) {
        CHECK(pifi_run_embed(run, 1, texts + i, NULL, one, &e) == PIFI_OK);
        double diff = 0, apart = 0;
        for (int c = 0; c < C; c++) {
            diff = fmax(diff, fabs(all[i * C + c] - one[c]));
            apart = fmax(apart, fabs(all[((i + 1) % N) * C + c] - one[c]));
        }
        CHECKF(diff < 1e-5 && apart > 1e-3, "input %d: alone vs in a batch %g, another text %g", i, diff, apart);
    }
    CHECK(pifi_run_embed(run, 1, texts, NULL, NULL, &e) == PIFI_E_INPUT);
    CHECK_API_MSG(e, "pifi_run_embed");
    free(all);
    free(one);
    pifi_run_close(run);
}

static void test_bad_handles(void) {
    pifi_error e;
    pifi_run *run = (pifi_run *)&e;
    CHECK(pifi_run_open("/nonexistent/run", NULL, &run, &e) == PIFI_E_INPUT && run == NULL);
    CHECK_API_MSG(e, "/nonexistent/run");
    pifi_run_params p = pifi_run_default_params();
    p.batch = 0;
    CHECK(pifi_run_open("/nonexistent/run", &p, &run, &e) == PIFI_E_INPUT);
    CHECK_API_MSG(e, "batch 0");
    pifi_encoder *enc;
    CHECK(pifi_encoder_open("/nonexistent/model", NULL, &enc, &e) != PIFI_OK && enc == NULL);
    pifi_quantize_result q;
    CHECK(pifi_quantize("/nonexistent/run", "/nonexistent/run", NULL, &q, &e) == PIFI_E_INPUT);
}

int main(void) {
    test_status();
    test_train_options();
    test_bad_handles();
    test_train_stop();
    test_run_outputs();
    TEST_DONE();
}
