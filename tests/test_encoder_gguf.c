/* test_encoder_gguf.c: BERT-architecture encoders read from GGUF (llama.cpp's
 * "bert" layout, written by tools/oracle_gguf_encoder.py).
 *  - tests/fixtures/gguf_encoder/tiny_{f32,f16,q8_0}.gguf, a random 2-layer
 *    BERT: the GGUF's own tokenizer gives transformers' ids, type ids and
 *    mask on a padded batch with a pair, and the encoder gives
 *    transformers' last_hidden_state from the weights as each file stores
 *    them (dequantized) within 1e-5;
 *  - the real all-MiniLM-L6-v2 as GGUF ($PIFI_MODELS/all-MiniLM-L6-v2.gguf,
 *    made by `tools/oracle_gguf_encoder.py --convert
 *    $PIFI_MODELS/all-MiniLM-L6-v2 --out $PIFI_MODELS/all-MiniLM-L6-v2.gguf`;
 *    its part is skipped, saying so, when the file was not made): the same
 *    ids and hidden states within 1e-5 as the safetensors original on the 20
 *    sentences of tests/fixtures/minilm_real;
 *  - bad files: one-line errors naming the file and the problem. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/encoder.h"
#include "pifi/fileio.h"
#include "pifi/json.h"
#include "pifi/tokenizer.h"
#include "test.h"
#include "test_cx.h"

/* The texts (pairs) of v padded to T: ids, type ids, mask (B * T each). */
static int encode_batch(const PifiTokenizer *tk, const char *const *text, const char *const *pair, int B, int T,
                        int32_t *ids, int32_t *tt, int32_t *mask) {
    PifiEncodeOpts o = pifi_encode_opts_default();
    o.pad_to = T;
    for (int b = 0; b < B; b++) {
        PifiEncoding enc = {0};
        PifiErr err = {0};
        if (tokenizer_encode(tk, text[b], pair[b], &o, &enc, &err) || enc.n != T) {
            fprintf(stderr, "encode \"%s\": %s (n %d, T %d)\n", text[b], err.msg, enc.n, T);
            encoding_free(&enc);
            return -1;
        }
        memcpy(ids + (size_t)b * T, enc.ids, (size_t)T * sizeof *ids);
        memcpy(tt + (size_t)b * T, enc.type_ids, (size_t)T * sizeof *tt);
        memcpy(mask + (size_t)b * T, enc.attention_mask, (size_t)T * sizeof *mask);
        encoding_free(&enc);
    }
    return 0;
}

static int ints_equal(const cJSON *want, const int32_t *got, int B, int T) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            if (cJSON_GetArrayItem(cJSON_GetArrayItem(want, b), t)->valueint != got[(size_t)b * T + t]) return 0;
    return 1;
}

static double max_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m)) m = d; /* NaN sticks */
    }
    return m;
}

static void test_tiny(void) {
    char path[1200];
    PifiErr err = {0};
    snprintf(path, sizeof path, "%s/gguf_encoder/ref.json", test_fixtures());
    cJSON *ref;
    REQUIRE(pifi_json_load(path, 0, &ref, &err) == 0);
    int B = cJSON_GetObjectItem(ref, "B")->valueint, T = cJSON_GetObjectItem(ref, "T")->valueint;
    int C = cJSON_GetObjectItem(ref, "C")->valueint;
    const char *text[8], *pair[8];
    const cJSON *texts = cJSON_GetObjectItem(ref, "texts");
    REQUIRE(B <= 8 && cJSON_GetArraySize(texts) == B);
    for (int b = 0; b < B; b++) {
        const cJSON *tp = cJSON_GetArrayItem(texts, b);
        text[b] = cJSON_GetArrayItem(tp, 0)->valuestring;
        pair[b] = cJSON_IsString(cJSON_GetArrayItem(tp, 1)) ? cJSON_GetArrayItem(tp, 1)->valuestring : NULL;
    }
    int32_t *ids = calloc((size_t)B * T, sizeof *ids), *tt = calloc((size_t)B * T, sizeof *tt);
    int32_t *mask = calloc((size_t)B * T, sizeof *mask);
    float *want = malloc((size_t)B * T * C * sizeof *want);
    static const char *FT[] = {"f32", "f16", "q8_0"};
    for (int f = 0; f < 3; f++) {
        char gguf[1200], hid[1200];
        snprintf(gguf, sizeof gguf, "%s/gguf_encoder/tiny_%s.gguf", test_fixtures(), FT[f]);
        snprintf(hid, sizeof hid, "%s/gguf_encoder/tiny_%s.f32", test_fixtures(), FT[f]);
        PifiTokenizer *tk;
        REQUIRE(tokenizer_load(&tk, gguf, &err) == 0);
        CHECK(encode_batch(tk, text, pair, B, T, ids, tt, mask) == 0);
        tokenizer_free(tk);
        CHECKF(ints_equal(cJSON_GetObjectItem(ref, "input_ids"), ids, B, T), "%s: input ids differ", FT[f]);
        CHECKF(ints_equal(cJSON_GetObjectItem(ref, "token_type_ids"), tt, B, T), "%s: type ids differ", FT[f]);
        CHECKF(ints_equal(cJSON_GetObjectItem(ref, "attention_mask"), mask, B, T), "%s: masks differ", FT[f]);
        char *raw;
        size_t n;
        REQUIRE(pifi_read_file(hid, 0, &raw, &n, &err) == 0);
        REQUIRE(n == (size_t)B * T * C * sizeof(float));
        memcpy(want, raw, n);
        free(raw);
        Encoder m;
        int rc = encoder_load(&m, gguf, test_cx_fp32(), &err);
        CHECKF(rc == 0, "%s", err.msg);
        if (rc) continue;
        CHECK(m.cfg.C == C && m.cfg.L == 2 && m.cfg.V == 1200 && m.cfg.TV == 2 && m.cfg.maxT == 64 && !m.has_pooler);
        REQUIRE(encoder_forward(&m, ids, tt, mask, B, T, &err) == 0);
        double d = max_diff(encoder_output(&m), want, (size_t)B * T * C);
        printf("tiny %s: max |pifi - transformers| = %.3g\n", FT[f], d);
        CHECKF(d <= 1e-5, "tiny %s: hidden states differ by %g", FT[f], d);
        EncoderConfig cfg;
        CHECK(encoder_config_load(&cfg, gguf, &err) == 0 && cfg.L == 2 && cfg.FF == 64 && cfg.NH == 4);
        encoder_free(&m);
    }
    free(ids), free(tt), free(mask), free(want);
    cJSON_Delete(ref);
}

static void test_minilm(void) {
    const char *models = test_env("PIFI_MODELS", "models");
    char dir[1100], gguf[1200], sp[1200];
    snprintf(dir, sizeof dir, "%s/all-MiniLM-L6-v2", models);
    snprintf(gguf, sizeof gguf, "%s/all-MiniLM-L6-v2.gguf", models);
    if (!pifi_file_exists(gguf) || !pifi_is_dir(dir)) {
        printf("MiniLM: %s not made (tools/oracle_gguf_encoder.py --convert %s --out %s): skipped\n", gguf, dir, gguf);
        return;
    }
    PifiErr err = {0};
    cJSON *sent;
    snprintf(sp, sizeof sp, "%s/minilm_real/sentences.json", test_fixtures());
    REQUIRE(pifi_json_load(sp, 0, &sent, &err) == 0);
    int B = cJSON_GetArraySize(sent), T = 0;
    const char *text[64], *pair[64] = {0};
    REQUIRE(B <= 64);
    PifiTokenizer *ta, *tb;
    REQUIRE(tokenizer_load(&ta, dir, &err) == 0);
    REQUIRE(tokenizer_load(&tb, gguf, &err) == 0);
    for (int b = 0; b < B; b++) {
        text[b] = cJSON_GetArrayItem(sent, b)->valuestring;
        PifiEncoding e = {0};
        REQUIRE(tokenizer_encode(ta, text[b], NULL, NULL, &e, &err) == 0);
        if (e.n > T) T = e.n;
        encoding_free(&e);
    }
    size_t BT = (size_t)B * T;
    int32_t *ids[2], *tt[2], *mask[2];
    for (int k = 0; k < 2; k++) {
        ids[k] = calloc(BT, sizeof(int32_t)), tt[k] = calloc(BT, sizeof(int32_t)), mask[k] = calloc(BT, sizeof(int32_t));
        CHECK(encode_batch(k ? tb : ta, text, pair, B, T, ids[k], tt[k], mask[k]) == 0);
    }
    CHECK(memcmp(ids[0], ids[1], BT * sizeof(int32_t)) == 0 && memcmp(mask[0], mask[1], BT * sizeof(int32_t)) == 0);
    Encoder a, b;
    REQUIRE(encoder_load(&a, dir, test_cx_fp32(), &err) == 0);
    int rc = encoder_load(&b, gguf, test_cx_fp32(), &err);
    CHECKF(rc == 0, "%s", err.msg);
    if (rc == 0) {
        REQUIRE(encoder_forward(&a, ids[0], tt[0], mask[0], B, T, &err) == 0);
        REQUIRE(encoder_forward(&b, ids[0], tt[0], mask[0], B, T, &err) == 0);
        double d = max_diff(encoder_output(&a), encoder_output(&b), BT * 384);
        printf("MiniLM: %d sentences, max |gguf - safetensors| over all hidden states = %.3g\n", B, d);
        CHECKF(d <= 1e-5, "MiniLM GGUF differs by %g", d);
        encoder_free(&b);
    }
    encoder_free(&a);
    for (int k = 0; k < 2; k++) free(ids[k]), free(tt[k]), free(mask[k]);
    tokenizer_free(ta), tokenizer_free(tb);
    cJSON_Delete(sent);
}

/* A copy of tiny_f32.gguf with the bytes `from` replaced by `to` (same length). */
static void write_mutant(const char *out, const char *from, const char *to, size_t n) {
    char src[1200];
    snprintf(src, sizeof src, "%s/gguf_encoder/tiny_f32.gguf", test_fixtures());
    char *buf;
    size_t len;
    PifiErr err = {0};
    if (pifi_read_file(src, 0, &buf, &len, &err)) abort();
    char *p = memmem(buf, len, from, n);
    if (!p) abort();
    memcpy(p, to, n);
    if (pifi_write_file_atomic(out, buf, len, &err)) abort();
    free(buf);
}

static void expect_error(const char *path, const char *what) {
    Encoder m;
    PifiErr err = {0};
    CHECKF(encoder_load(&m, path, test_cx_fp32(), &err) == -1, "%s loaded", path);
    CHECK_MSG(err, what);
    CHECK_MSG(err, path);
    CHECK(strchr(err.msg, '\n') == NULL);
}

static void test_bad(void) {
    char p[1200];
    static const char ARCH[] = "general.architecture\010\000\000\000\004\000\000\000\000\000\000\000bert";
    snprintf(p, sizeof p, "%s/bad_arch.gguf", test_tmp());
    write_mutant(p, ARCH, "general.architecture\010\000\000\000\004\000\000\000\000\000\000\000bart", sizeof ARCH - 1);
    expect_error(p, "general.architecture \"bart\" is not a small model pifi reads from GGUF (supported: bert; decoders: llama, qwen2)");
    snprintf(p, sizeof p, "%s/bad_tensor.gguf", test_tmp());
    write_mutant(p, "blk.1.ffn_up.weight", "blk.1.ffn_uq.weight", 19);
    expect_error(p, "missing tensor 'blk.1.ffn_up.weight'");
    snprintf(p, sizeof p, "%s/bad_dim.gguf", test_tmp());
    write_mutant(p, "bert.feed_forward_length\004\000\000\000\100", "bert.feed_forward_length\004\000\000\000\101", 29);
    expect_error(p, "tensor 'blk.0.ffn_up.weight' has shape [64, 32], expected [65, 32]");
    snprintf(p, sizeof p, "%s/bad_heads.gguf", test_tmp());
    write_mutant(p, "bert.attention.head_count\004\000\000\000\004", "bert.attention.head_count\004\000\000\000\005", 30);
    expect_error(p, "bert.embedding_length 32 is not divisible by bert.attention.head_count 5");
    snprintf(p, sizeof p, "%s/no_such.gguf", test_tmp());
    expect_error(p, "no_such.gguf");
}

int main(void) {
    test_tiny();
    test_bad();
    test_minilm();
    TEST_DONE();
}
