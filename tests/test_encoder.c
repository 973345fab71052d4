/* test_encoder.c: the fp32 encoder forward against transformers.
 *
 * For each tiny random checkpoint in fixtures/encoders/ (made by
 * tools/oracle_encoders.py with transformers), run the committed inputs and
 * compare last_hidden_state and pooler_output: max |diff| <= 1e-4. */
#include <stdint.h>

#include "pifi/encoder.h"
#include "pifi/fileio.h"
#include "test.h"
#include "test_cx.h"
#include "test_fixture_io.h"

static const char *NAMES[] = {"bert_tiny", "bert_gelu_new", "roberta_tiny", "electra_tiny",
                              "minilm_tiny", "mpnet_tiny", "mpnet_long", "albert_tiny", "albert_square"};

static float max_abs_diff(const float *a, const float *b, size_t n) {
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (!(d <= m)) m = d; /* NaN propagates */
    }
    return m;
}

/* Read an integer tensor (any dtype) of shape (B, T) as int32. */
static void test_one(const char *name) {
    char dir[1024], io_path[1100];
    snprintf(dir, sizeof dir, "%s/encoders/%s", test_fixtures(), name);
    snprintf(io_path, sizeof io_path, "%s/io.safetensors", dir);
    PifiErr err = {0};
    Encoder m;
    int rc = encoder_load(&m, dir, test_cx_fp32(), &err);
    CHECKF(rc == 0, "%s: %s", name, err.msg);
    if (rc) return;
    SafeTensors *io;
    rc = st_open(&io, io_path, &err);
    CHECKF(rc == 0, "%s: %s", name, err.msg);
    if (rc) {
        encoder_free(&m);
        return;
    }
    const StTensor *ids_t;
    REQUIRE(st_get(io, "input_ids", &ids_t, &err) == 0 && ids_t->ndim == 2);
    int B = (int)ids_t->shape[0], T = (int)ids_t->shape[1], C = m.cfg.C;
    int32_t *ids = malloc(sizeof(int32_t) * B * T), *tt = malloc(sizeof(int32_t) * B * T),
            *mask = malloc(sizeof(int32_t) * B * T);
    float *want = malloc(sizeof(float) * B * T * C), *pool = malloc(sizeof(float) * B * C);
    CHECK(test_read_ints(io, "input_ids", B, T, ids, &err) == 0);
    CHECK(test_read_ints(io, "attention_mask", B, T, mask, &err) == 0);
    CHECK(test_read_ints(io, "token_type_ids", B, T, tt, &err) == 0);
    int64_t hs[3] = {B, T, C};
    CHECK(st_read_f32(io, "last_hidden_state", 3, hs, want, &err) == 0);
    rc = encoder_forward(&m, ids, tt, mask, B, T, &err);
    CHECKF(rc == 0, "%s: %s", name, err.msg);
    if (rc == 0) {
        float d = max_abs_diff(encoder_output(&m), want, (size_t)B * T * C);
        CHECKF(d <= 1e-4f, "%s: last_hidden_state max |diff| %g > 1e-4", name, d);
        printf("%-14s last_hidden_state max |diff| %.3g\n", name, d);
        const StTensor *pt;
        if (st_find(io, "pooler_output", &pt, &err) == 0) {
            int64_t ps[2] = {B, C};
            CHECK(st_read_f32(io, "pooler_output", 2, ps, pool, &err) == 0);
            CHECKF(m.acts.pooled != NULL, "%s: checkpoint has a pooler but the model did not load it", name);
            if (m.acts.pooled) {
                float dp = max_abs_diff(m.acts.pooled, pool, (size_t)B * C);
                CHECKF(dp <= 1e-4f, "%s: pooler_output max |diff| %g > 1e-4", name, dp);
                printf("%-14s pooler_output     max |diff| %.3g\n", name, dp);
            }
        }
        /* A second forward with a different shape reuses the model correctly. */
        rc = encoder_forward(&m, ids, tt, mask, 1, T, &err);
        CHECK(rc == 0);
        if (rc == 0) {
            float d1 = max_abs_diff(encoder_output(&m), want, (size_t)T * C);
            CHECKF(d1 <= 1e-4f, "%s: batch of 1: max |diff| %g", name, d1);
        }
    }
    /* Bad ids fail cleanly. */
    int32_t bad = m.cfg.V;
    CHECK(encoder_forward(&m, &bad, NULL, NULL, 1, 1, &err) == -1);
    CHECK_MSG(err, "out of range");
    free(ids), free(tt), free(mask), free(want), free(pool);
    st_close(io);
    encoder_free(&m);
}

static void test_bad_config(void) {
    const char *tmp = test_tmp();
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/enc_bad", tmp);
    PifiErr err = {0};
    REQUIRE(pifi_mkdirs(dir, &err) == 0);
    snprintf(path, sizeof path, "%s/config.json", dir);
    EncoderConfig cfg;

    const char *unknown = "{\"model_type\": \"gpt2\", \"vocab_size\": 10}";
    REQUIRE(pifi_write_file_atomic(path, unknown, strlen(unknown), &err) == 0);
    CHECK(encoder_config_load(&cfg, path, &err) == -1);
    CHECK_MSG(err, "unsupported model_type \"gpt2\"");
    CHECK_MSG(err, "config.json");

    const char *missing = "{\"model_type\": \"bert\", \"vocab_size\": 10, \"hidden_size\": 8}";
    REQUIRE(pifi_write_file_atomic(path, missing, strlen(missing), &err) == 0);
    CHECK(encoder_config_load(&cfg, path, &err) == -1);
    CHECK_MSG(err, "missing field \"num_hidden_layers\"");

    const char *invalid = "{\"model_type\": \"bert\",\n \"vocab_size\": }";
    REQUIRE(pifi_write_file_atomic(path, invalid, strlen(invalid), &err) == 0);
    CHECK(encoder_config_load(&cfg, path, &err) == -1);
    CHECK_MSG(err, "invalid JSON at line 2");

    const char *heads = "{\"model_type\": \"bert\", \"vocab_size\": 10, \"hidden_size\": 10,"
                        "\"num_hidden_layers\": 1, \"num_attention_heads\": 3, \"intermediate_size\": 4,"
                        "\"max_position_embeddings\": 8}";
    REQUIRE(pifi_write_file_atomic(path, heads, strlen(heads), &err) == 0);
    CHECK(encoder_config_load(&cfg, path, &err) == -1);
    CHECK_MSG(err, "not divisible");

    const char *act = "{\"model_type\": \"bert\", \"vocab_size\": 10, \"hidden_size\": 8,"
                      "\"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"intermediate_size\": 4,"
                      "\"max_position_embeddings\": 8, \"hidden_act\": \"mish\"}";
    REQUIRE(pifi_write_file_atomic(path, act, strlen(act), &err) == 0);
    CHECK(encoder_config_load(&cfg, path, &err) == -1);
    CHECK_MSG(err, "unsupported hidden_act \"mish\"");
}

/* A checkpoint whose tensors disagree with its config. */
static void test_shape_mismatch(void) {
    char src[1024], dir[1024], path[1100];
    snprintf(src, sizeof src, "%s/encoders/bert_tiny/model.safetensors", test_fixtures());
    snprintf(dir, sizeof dir, "%s/enc_mismatch", test_tmp());
    PifiErr err = {0};
    REQUIRE(pifi_mkdirs(dir, &err) == 0);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/' && sed 's/\"intermediate_size\": [0-9]*/\"intermediate_size\": 48/' "
             "'%s/encoders/bert_tiny/config.json' > '%s/config.json'", src, dir, test_fixtures(), dir);
    REQUIRE(system(cmd) == 0);
    Encoder m;
    CHECK(encoder_load(&m, dir, test_cx_fp32(), &err) == -1);
    CHECK_MSG(err, "intermediate.dense.weight");
    (void)path;
}

int main(void) {
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) test_one(NAMES[i]);
    test_bad_config();
    test_shape_mismatch();
    TEST_DONE();
}
