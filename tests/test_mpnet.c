/* test_mpnet.c: the MPNet family against transformers' MPNetModel, on the
 * tiny random checkpoints of fixtures/encoders/mpnet_* (tools/
 * oracle_encoders.py; their forward is in test_encoder.c, finite
 * differences in test_encoder_grad.c):
 *   - the relative position buckets of every relative position -600..600,
 *     exactly (MPNetEncoder.relative_position_bucket);
 *   - the gradient of every parameter (the shared relative position bias
 *     included) of sum(last_hidden_state * dout) for the oracle's dout,
 *     within 1e-4 of the tensor's largest |g| (at least 1% of the model's
 *     largest: the key biases' true gradient is 0, a softmax ignores a
 *     constant per query, and both sides hold only rounding noise there);
 *   - the export under transformers' names: the checkpoint's own names,
 *     written and loaded back to the same outputs; int8 and LoRA on MPNet's
 *     names; config.json refusals. */
#include <stdint.h>

#include "models/encoders/encoder_family.h"
#include "models/encoders/mpnet_internal.h"
#include "pifi/encoder_export.h"
#include "pifi/fileio.h"
#include "test.h"
#include "test_cx.h"
#include "test_fixture_io.h"

static const char *NAMES[] = {"mpnet_tiny", "mpnet_long"};

static void test_buckets(const char *name) {
    char p[1100];
    snprintf(p, sizeof p, "%s/encoders/%s/io.safetensors", test_fixtures(), name);
    PifiErr err = {0};
    SafeTensors *io;
    REQUIRE(st_open(&io, p, &err) == 0);
    const StTensor *t;
    REQUIRE(st_get(io, "relative_position", &t, &err) == 0 && t->ndim == 1);
    int n = (int)t->shape[0];
    int32_t *rel = malloc(sizeof(int32_t) * n), *want = malloc(sizeof(int32_t) * n);
    float *tmp = malloc(sizeof(float) * n);
    int64_t shape[1] = {n};
    REQUIRE(st_read_f32(io, "relative_position", 1, shape, tmp, &err) == 0);
    for (int i = 0; i < n; i++) rel[i] = (int32_t)tmp[i];
    REQUIRE(st_read_f32(io, "relative_position_bucket", 1, shape, tmp, &err) == 0);
    for (int i = 0; i < n; i++) want[i] = (int32_t)tmp[i];
    free(tmp);
    int bad = 0;
    for (int i = 0; i < n; i++)
        if (mpnet_relative_bucket(rel[i]) != want[i]) {
            if (bad++ < 5)
                fprintf(stderr, "  relative position %d: bucket %d, transformers %d\n", rel[i],
                        mpnet_relative_bucket(rel[i]), want[i]);
        }
    CHECKF(bad == 0 && n == 1201, "%s: %d of %d buckets differ", name, bad, n);
    printf("%-12s %d relative positions: buckets identical to transformers'\n", name, n);
    free(rel), free(want);
    st_close(io);
}

static int load_batch(const char *name, Encoder *m, int32_t **ids, int32_t **mask, int *B, int *T) {
    char dir[1024], p[1100];
    snprintf(dir, sizeof dir, "%s/encoders/%s", test_fixtures(), name);
    snprintf(p, sizeof p, "%s/io.safetensors", dir);
    PifiErr err = {0};
    if (encoder_load(m, dir, test_cx_fp32(), &err)) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        return -1;
    }
    SafeTensors *io;
    if (st_open(&io, p, &err)) return -1;
    const StTensor *t;
    if (st_get(io, "input_ids", &t, &err)) return -1;
    *B = (int)t->shape[0], *T = (int)t->shape[1];
    *ids = malloc(sizeof(int32_t) * *B * *T), *mask = malloc(sizeof(int32_t) * *B * *T);
    int rc = test_read_ints(io, "input_ids", *B, *T, *ids, &err) || test_read_ints(io, "attention_mask", *B, *T, *mask, &err);
    st_close(io);
    return rc ? -1 : 0;
}

/* Every parameter's gradient against transformers' autograd. */
static void test_grads(const char *name) {
    Encoder m;
    int32_t *ids, *mask;
    int B, T;
    REQUIRE(load_batch(name, &m, &ids, &mask, &B, &T) == 0);
    CHECK(m.cfg.family == &ENCODER_FAMILY_MPNET && m.cfg.arch == ENC_MPNET && m.cfg.TV == 0 && m.params.relb);
    char p[1100];
    snprintf(p, sizeof p, "%s/encoders/%s/grads.safetensors", test_fixtures(), name);
    PifiErr err = {0};
    SafeTensors *gs;
    REQUIRE(st_open(&gs, p, &err) == 0);
    int C = m.cfg.C;
    float *dout = malloc(sizeof(float) * B * T * C);
    int64_t ds[3] = {B, T, C};
    REQUIRE(st_read_f32(gs, "dout", 3, ds, dout, &err) == 0);
    float *gm = calloc((size_t)encoder_param_count(&m), sizeof(float));
    EncoderParams g;
    encoder_point_params(&m, &g, gm);
    REQUIRE(encoder_forward(&m, ids, NULL, mask, B, T, &err) == 0);
    REQUIRE(encoder_backward(&m, &g, dout, &err) == 0);
    /* the gradients under transformers' names: a shallow copy whose parameters are the gradients */
    Encoder e = m;
    e.params = g;
    static EncoderExport x;
    REQUIRE(encoder_export(&e, "", &x, &err) == 0);
    double worst = 0, gmax = 0;
    const char *worst_name = "";
    int compared = 0;
    for (int64_t i = 0; i < encoder_param_count(&m); i++) gmax = fmax(gmax, fabs(gm[i]));
    for (int i = 0; i < x.n; i++) {
        const StTensor *t;
        int found = st_find(gs, x.t[i].name, &t, &err) == 0;
        CHECKF(found, "%s: transformers has no parameter %s", name, x.t[i].name);
        if (!found) continue;
        int64_t n = x.t[i].shape[0] * (x.t[i].ndim == 2 ? x.t[i].shape[1] : 1);
        float *want = malloc(sizeof(float) * n);
        CHECK(t->numel == n && st_read_f32(gs, x.t[i].name, x.t[i].ndim, x.t[i].shape, want, &err) == 0);
        double d = test_rel_diff(x.t[i].data, want, n, 1e-2 * gmax);
        CHECKF(d <= 1e-4, "%s: gradient of %s differs by %.3g (relative to its largest)", name, x.t[i].name, d);
        if (d > worst) worst = d, worst_name = x.t[i].name;
        compared++;
        free(want);
    }
    CHECKF(compared == st_count(gs) - 1, "%s: %d of %d gradients compared", name, compared, st_count(gs) - 1);
    /* the bias gets a gradient from every layer; rows past the 32 buckets none */
    double gb = 0, rest = 0;
    for (int k = 0; k < m.cfg.rel_buckets * m.cfg.NH; k++) {
        double *mx = k < MPNET_BUCKETS * m.cfg.NH ? &gb : &rest;
        *mx = fmax(*mx, fabs(g.relb[k]));
    }
    CHECK(gb > 1e-3 && rest == 0.0);
    printf("%-12s %d gradients, worst relative diff %.2e (%s)\n", name, compared, worst, worst_name);
    free(gm), free(dout), free(ids), free(mask);
    st_close(gs);
    encoder_free(&m);
}

/* The export: the checkpoint's own names; written and loaded back, the same
 * outputs; int8 the same way; LoRA's names. */
static void test_export(const char *name) {
    Encoder m;
    int32_t *ids, *mask;
    int B, T;
    REQUIRE(load_batch(name, &m, &ids, &mask, &B, &T) == 0);
    PifiErr err = {0};
    size_t nout = (size_t)B * T * m.cfg.C;
    float *h = malloc(nout * sizeof(float));
    REQUIRE(encoder_forward(&m, ids, NULL, mask, B, T, &err) == 0);
    memcpy(h, encoder_output(&m), nout * sizeof(float));

    static EncoderExport x;
    REQUIRE(encoder_export(&m, "", &x, &err) == 0);
    char src[1100], dir[1100], path[1200], cmd[4096];
    snprintf(src, sizeof src, "%s/encoders/%s/model.safetensors", test_fixtures(), name);
    SafeTensors *orig;
    REQUIRE(st_open(&orig, src, &err) == 0);
    int same_names = x.n == st_count(orig);
    for (int i = 0; i < x.n; i++) {
        const StTensor *t;
        same_names &= st_find(orig, x.t[i].name, &t, &err) == 0;
    }
    CHECKF(same_names, "%s: exported %d tensors, the checkpoint has %d (or other names)", name, x.n, st_count(orig));
    st_close(orig);
    for (int q = 0; q < 2; q++) { /* fp32, then int8 */
        snprintf(dir, sizeof dir, "%s/mpnet_export_%s_%d", test_tmp(), name, q);
        REQUIRE(pifi_mkdirs(dir, &err) == 0);
        snprintf(cmd, sizeof cmd, "cp '%s/encoders/%s/config.json' '%s/'", test_fixtures(), name, dir);
        REQUIRE(system(cmd) == 0);
        if (q) {
            REQUIRE(encoder_quantize(&m, 1, &err) == 0);
            CHECK(encoder_int8_parts(&m) == (ENCODER_INT8_LINEAR | ENCODER_INT8_EMBEDDINGS));
            REQUIRE(encoder_forward(&m, ids, NULL, mask, B, T, &err) == 0);
            float dq = 0;
            for (size_t i = 0; i < nout; i++) dq = fmaxf(dq, fabsf(encoder_output(&m)[i] - h[i]));
            CHECKF(dq < 0.1f, "%s: int8 output differs from fp32 by %g", name, dq);
            printf("%-12s int8 vs fp32 max |diff| %.3g\n", name, dq);
            memcpy(h, encoder_output(&m), nout * sizeof(float));
            REQUIRE(encoder_export(&m, "", &x, &err) == 0);
        }
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        REQUIRE(st_write(path, x.t, x.n, NULL, &err) == 0);
        Encoder back;
        int rc = encoder_load(&back, dir, test_cx_fp32(), &err);
        CHECKF(rc == 0, "%s: %s", name, err.msg);
        if (rc) continue;
        CHECK(back.params.relb != NULL && back.int8_only == q);
        REQUIRE(encoder_forward(&back, ids, NULL, mask, B, T, &err) == 0);
        CHECKF(memcmp(encoder_output(&back), h, nout * sizeof(float)) == 0, "%s: %s export read back differs", name,
               q ? "int8" : "fp32");
        encoder_free(&back);
    }
    encoder_free(&m);
    free(ids), free(mask); /* load_batch gives new ones */

    /* LoRA on MPNet's query and value, under PEFT's names of them */
    REQUIRE(load_batch(name, &m, &ids, &mask, &B, &T) == 0);
    REQUIRE(encoder_lora_enable(&m, 4, 8.0f, 0.0f, 1, &err) == 0);
    char nm[128];
    int64_t shape[2];
    float *data;
    CHECK(encoder_lora_tensor(&m, &m.lora, 0, nm, sizeof nm, &data, shape) == 0);
    CHECKF(!strcmp(nm, "encoder.layer.0.attention.attn.q.lora_A.weight"), "%s", nm);
    CHECK(encoder_lora_tensor(&m, &m.lora, 3, nm, sizeof nm, &data, shape) == 0);
    CHECKF(!strcmp(nm, "encoder.layer.0.attention.attn.v.lora_B.weight"), "%s", nm);
    encoder_free(&m);
    free(h), free(ids), free(mask);
}

static void test_config_refused(void) {
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/mpnet_bad", test_tmp());
    PifiErr err = {0};
    REQUIRE(pifi_mkdirs(dir, &err) == 0);
    snprintf(path, sizeof path, "%s/config.json", dir);
    static const struct {
        const char *json, *msg;
    } CASES[] = {
        {"{\"model_type\": \"mpnet\", \"vocab_size\": 10, \"hidden_size\": 8, \"num_hidden_layers\": 1,"
         "\"num_attention_heads\": 2, \"intermediate_size\": 4, \"max_position_embeddings\": 8,"
         "\"relative_attention_num_buckets\": 16}",
         "\"relative_attention_num_buckets\" is 16, expected 32..4096"},
        {"{\"model_type\": \"mpnet\", \"vocab_size\": 10, \"hidden_size\": 8, \"num_hidden_layers\": 1,"
         "\"num_attention_heads\": 2, \"intermediate_size\": 4, \"max_position_embeddings\": 8,"
         "\"pad_token_id\": 0}",
         "\"pad_token_id\" is 0; MPNet's embeddings number positions from padding_idx 1"},
        {"{\"model_type\": \"mpnet\", \"vocab_size\": 10, \"hidden_size\": 8, \"num_hidden_layers\": 1,"
         "\"num_attention_heads\": 2, \"intermediate_size\": 4, \"max_position_embeddings\": 2}",
         "max_position_embeddings 2 leaves no room after padding_idx 1"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        REQUIRE(pifi_write_file_atomic(path, CASES[i].json, strlen(CASES[i].json), &err) == 0);
        EncoderConfig cfg;
        CHECK(encoder_config_load(&cfg, path, &err) == -1);
        CHECK_MSG(err, CASES[i].msg);
    }
    /* defaults: 32 buckets, padding_idx 1, no token types */
    const char *ok = "{\"model_type\": \"mpnet\", \"vocab_size\": 10, \"hidden_size\": 8, \"num_hidden_layers\": 1,"
                     "\"num_attention_heads\": 2, \"intermediate_size\": 4, \"max_position_embeddings\": 8,"
                     "\"type_vocab_size\": 2}";
    REQUIRE(pifi_write_file_atomic(path, ok, strlen(ok), &err) == 0);
    EncoderConfig cfg;
    REQUIRE(encoder_config_load(&cfg, path, &err) == 0);
    CHECK(cfg.rel_buckets == 32 && cfg.pad_id == 1 && cfg.TV == 0 && cfg.arch == ENC_MPNET);
    CHECK(encoder_config_params(&cfg) == (10 + 8) * 8 + 2 * 8 + (4 * 64 + 4 * 8 + 2 * 8 * 4 + 4 + 8 + 4 * 8) + 32 * 2);
}

int main(void) {
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
        test_buckets(NAMES[i]);
        test_grads(NAMES[i]);
        test_export(NAMES[i]);
    }
    test_config_refused();
    TEST_DONE();
}
