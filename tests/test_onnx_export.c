/* test_onnx_export.c: `pifi export --format onnx` against ONNX Runtime.
 * For each case of tests/fixtures/onnx/ (tools/oracle_onnx.py): train the
 * case's run with meta.json's arguments (the real all-MiniLM-L6-v2, for PiFi
 * SmolLM2-135M-Instruct's last layer; one step at learning rate 0, so the
 * weights are the pretrained ones and the seeded initialisation on any CPU),
 * export it, check the ONNX file is byte for byte the one ONNX Runtime ran
 * (its SHA-256), and that pifi's fp32 logits for the fixture's padded batch
 * equal ONNX Runtime's within 1e-4. Also: the tokenizer files next to the
 * model, and the one-line errors of a bad export. Skips, saying so, without
 * the real models, SST-2, or a pifi built without ONNX support. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "pifi/fileio.h"
#include "pifi/hash.h"
#include "pifi/json.h"
#include "pifi/pifi_model.h"
#include "test.h"
#include "test_fixture_io.h"
#include "train/runio.h"

static const char *CASES[] = {"minilm_base", "minilm_pifi", "minilm_pifi_mean", "minilm_base_last"};

static char bin[1024], models[1024], train_tsv[1200];

/* The first 64 rows of SST-2's training file as the oracle wrote them. */
static void write_train(const char *data) {
    char src[1200];
    snprintf(src, sizeof src, "%s/sst2/stsa.binary.train", data);
    FILE *in = fopen(src, "r"), *out = fopen(train_tsv, "w");
    REQUIRE(in && out);
    fprintf(out, "text\tlabel\n");
    char line[8192];
    for (int i = 0; i < 64 && fgets(line, sizeof line, in); i++) {
        line[strcspn(line, "\n")] = '\0';
        char *sp = strchr(line, ' ');
        REQUIRE(sp);
        *sp = '\0';
        fprintf(out, "%s\t%s\n", sp + 1, line);
    }
    fclose(in);
    fclose(out);
}

/* Run a shell command, its output to log; the exit status. */
static int run(const char *cmd, const char *log) {
    char full[8192];
    snprintf(full, sizeof full, "%s > '%s' 2>&1", cmd, log);
    int rc = system(full);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static void test_case(const char *name) {
    char dir[1200], p[1400], cmd[6000], run_dir[1400], model[1400], log[1400];
    PifiErr err = {0};
    snprintf(dir, sizeof dir, "%s/onnx/%s", test_fixtures(), name);
    snprintf(p, sizeof p, "%s/meta.json", dir);
    cJSON *meta;
    REQUIRE(pifi_json_load(p, 1 << 20, &meta, &err) == 0);
    /* train the case's run */
    snprintf(run_dir, sizeof run_dir, "%s/onnx_%s_run", test_tmp(), name);
    snprintf(log, sizeof log, "%s/onnx_%s.log", test_tmp(), name);
    int n = snprintf(cmd, sizeof cmd, "rm -rf '%s' && '%s' train", run_dir, bin);
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(meta, "train_args")) {
        char arg[1400];
        const char *s = a->valuestring;
        if (strncmp(s, "{models}", 8) == 0) snprintf(arg, sizeof arg, "%s%s", models, s + 8);
        else if (strcmp(s, "{train}") == 0) snprintf(arg, sizeof arg, "%s", train_tsv);
        else snprintf(arg, sizeof arg, "%s", s);
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " '%s'", arg);
    }
    snprintf(cmd + n, sizeof cmd - (size_t)n, " -o '%s'", run_dir);
    CHECKF(run(cmd, log) == 0, "%s: pifi train failed (%s)", name, log);
    /* export, and the file ONNX Runtime ran */
    snprintf(model, sizeof model, "%s/onnx_%s/model.onnx", test_tmp(), name);
    snprintf(cmd, sizeof cmd, "rm -rf '%s/onnx_%s' && '%s' export '%s' --format onnx -o '%s'", test_tmp(), name, bin,
             run_dir, model);
    CHECKF(run(cmd, log) == 0, "%s: pifi export failed (%s)", name, log);
    char hex[65];
    REQUIRE(pifi_sha256_file(model, hex, &err) == 0);
    const char *want = cJSON_GetStringValue(cJSON_GetObjectItem(meta, "onnx_sha256"));
    CHECKF(want && strcmp(hex, want) == 0, "%s: the exported model's SHA-256 %.12s... is not the one ONNX Runtime "
           "ran (%.12s...)", name, hex, want ? want : "?");
    snprintf(p, sizeof p, "%s/onnx_%s/tokenizer.json", test_tmp(), name);
    CHECKF(pifi_file_exists(p), "%s: no tokenizer.json next to the model", name);
    /* pifi's logits for the fixture's batch */
    snprintf(p, sizeof p, "%s/ort.safetensors", dir);
    SafeTensors *st;
    REQUIRE(st_open(&st, p, &err) == 0);
    const StTensor *t, *tl;
    REQUIRE(st_get(st, "input_ids", &t, &err) == 0 && st_get(st, "logits", &tl, &err) == 0);
    int B = (int)t->shape[0], T = (int)t->shape[1], K = (int)tl->shape[1];
    int32_t *ids = malloc(sizeof(int32_t) * B * T), *mask = malloc(sizeof(int32_t) * B * T),
            *types = malloc(sizeof(int32_t) * B * T);
    float *want_logits = malloc(sizeof(float) * B * K);
    int64_t lk[2] = {B, K};
    REQUIRE(ids && mask && types && want_logits);
    REQUIRE(test_read_ints(st, "input_ids", B, T, ids, &err) == 0);
    REQUIRE(test_read_ints(st, "attention_mask", B, T, mask, &err) == 0);
    REQUIRE(test_read_ints(st, "token_type_ids", B, T, types, &err) == 0);
    REQUIRE(st_read_f32(st, "logits", 2, lk, want_logits, &err) == 0);
    st_close(st);
    int padded = 0;
    for (int i = 0; i < B * T; i++) padded += !mask[i];
    CHECKF(padded > 0, "%s: the fixture's batch has no padding", name);
    RunModel r;
    memset(&r, 0, sizeof r);
    REQUIRE(runio_load_run(&r, run_dir, &err) == 0);
    REQUIRE(r.K == K);
    REQUIRE(pifi_model_forward(&r.model, ids, types, mask, B, T, &err) == 0);
    float worst = 0;
    for (int i = 0; i < B * K; i++) {
        float d = fabsf(r.model.acts.logits[i] - want_logits[i]);
        if (!(d <= worst)) worst = d;
    }
    printf("%s: %d texts (%d padding tokens), logits max |pifi - onnxruntime| %.3g\n", name, B, padded, worst);
    CHECKF(worst <= 1e-4f, "%s: logits differ from ONNX Runtime's by %g > 1e-4", name, worst);
    runio_free_run(&r);
    free(ids), free(mask), free(types), free(want_logits);
    cJSON_Delete(meta);
}

/* One-line errors: not a run, an unknown format, a missing -o. */
static void test_errors(void) {
    char cmd[3000], log[1200];
    snprintf(log, sizeof log, "%s/onnx_err.log", test_tmp());
    snprintf(cmd, sizeof cmd, "'%s' export '%s/nope' --format onnx -o '%s/x.onnx'", bin, test_tmp(), test_tmp());
    CHECK(run(cmd, log) == 2);
    char *s;
    size_t len;
    PifiErr err;
    REQUIRE(pifi_read_file(log, 1 << 16, &s, &len, &err) == 0);
    CHECKF(len > 0 && strchr(s, '\n') == s + len - 1 && strncmp(s, "pifi: export: ", 14) == 0,
           "not one 'pifi: export:' line: %s", s);
    free(s);
    snprintf(cmd, sizeof cmd, "'%s' export '%s' --format tflite -o x", bin, test_tmp());
    CHECK(run(cmd, log) == 2);
    snprintf(cmd, sizeof cmd, "'%s' export '%s' --format onnx", bin, test_tmp());
    CHECK(run(cmd, log) == 2);
}

int main(void) {
    snprintf(bin, sizeof bin, "%s", test_env("PIFI_BIN", ""));
    snprintf(models, sizeof models, "%s", test_env("PIFI_MODELS", "models"));
    const char *data = test_env("PIFI_DATA", "../shared/data");
    char p[1200], q[1200], r[1200];
    snprintf(p, sizeof p, "%s/all-MiniLM-L6-v2/model.safetensors", models);
    snprintf(q, sizeof q, "%s/SmolLM2-135M-Instruct.Q4_1.gguf", models);
    snprintf(r, sizeof r, "%s/sst2/stsa.binary.train", data);
    if (!bin[0]) TEST_SKIP("PIFI_BIN is not set");
    if (!pifi_file_exists(p) || !pifi_file_exists(q) || !pifi_file_exists(r))
        TEST_SKIP("needs %s, %s (scripts/get-models.sh) and %s", p, q, r);
    char cmd[2400], log[1200], *s;
    size_t len;
    PifiErr err;
    snprintf(log, sizeof log, "%s/onnx_probe.log", test_tmp());
    snprintf(cmd, sizeof cmd, "'%s' export '%s/nope' --format onnx -o '%s/x.onnx'", bin, test_tmp(), test_tmp());
    run(cmd, log);
    if (pifi_read_file(log, 1 << 16, &s, &len, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    int without = strstr(s, "without ONNX") != NULL;
    free(s);
    if (without) TEST_SKIP("this pifi was built without ONNX support (scripts/deps.sh)");
    snprintf(train_tsv, sizeof train_tsv, "%s/onnx_train.tsv", test_tmp());
    write_train(data);
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) test_case(CASES[i]);
    test_errors();
    TEST_DONE();
}
