/* test_quant_run.c: the int8 checkpoint `pifi quantize` writes, read back
 * without any fp32 copy of its int8 tensors (issue 19):
 *
 *   - encoders (BERT, RoBERTa, ELECTRA with its projection): quantized in
 *     memory, exported (I8 + "<name>_scale"), loaded again: int8-only, the
 *     same hidden states bit for bit, the fp32 arena without the int8
 *     tensors;
 *   - the PiFi model of every LLM family's fixture (Llama, Mistral, Qwen2
 *     with q/k/v biases, Gemma2 with its extra norms), int8 layer only and
 *     --all: the same logits bit for bit in fp32 and bf16, and the weight
 *     bytes allocated while loading exactly those of the int8 form
 *     (pifi_model_weight_bytes_allocated counts every weight arena, freed
 *     ones included: an fp32 copy made and dropped would show);
 *   - llm_config_to_json reads back into the same LlmConfig;
 *   - hostile int8 checkpoints (a missing or non-positive scale, an I8
 *     tensor among fp32 ones): one-line errors naming the tensor. */
#include <limits.h>
#include <stdint.h>

#include "models/encoders/encoder_internal.h"
#include "models/decoders/llm_layer_internal.h"
#include "pifi/encoder_export.h"
#include "pifi/fileio.h"
#include "pifi/json.h"
#include "pifi/pifi_model.h"
#include "test.h"
#include "test_cx.h"

static const char *FAMILIES[] = {"llama", "mistral", "qwen2", "gemma2"};

static void path(char *out, size_t n, const char *a, const char *b) { snprintf(out, n, "%s/%s", a, b); }

static void copy_file(const char *from, const char *to) {
    PifiErr err = {0};
    char *buf = NULL;
    size_t n;
    if (pifi_read_file(from, 1 << 24, &buf, &n, &err) || pifi_write_file_atomic(to, buf, n, &err))
        fprintf(stderr, "%s\n", err.msg);
    free(buf);
}

/* ids (B, T) in the vocabulary, the last row padded after 3 tokens. */
static void make_batch(int32_t *ids, int32_t *mask, int B, int T, int V) {
    for (int i = 0; i < B * T; i++) {
        ids[i] = (int32_t)((i * 7919 + 13) % V);
        mask[i] = !(i / T == B - 1 && i % T >= 3);
        if (!mask[i]) ids[i] = 0;
    }
}

/* ------------------------------------------------------------------------ */
/* encoders */

static void test_encoder_roundtrip(const char *name) {
    char dir[1024], out[1100], p[1200];
    snprintf(dir, sizeof dir, "%s/encoders/%s", test_fixtures(), name);
    snprintf(out, sizeof out, "%s/quant_enc_%s", test_tmp(), name);
    PifiErr err = {0};
    REQUIRE(pifi_mkdirs(out, &err) == 0);
    Encoder a, b;
    PifiCompute cxa, cxb; /* each encoder's own: the bf16 part below changes their precision */
    compute_init(&cxa, PIFI_PREC_FP32);
    compute_init(&cxb, PIFI_PREC_FP32);
    REQUIRE(encoder_load(&a, dir, &cxa, &err) == 0);
    int64_t fp32_params = a.num_params;
    REQUIRE(encoder_quantize(&a, 1, &err) == 0);
    enum { B = 2, T = 6 };
    int32_t ids[B * T], mask[B * T];
    make_batch(ids, mask, B, T, a.cfg.V);
    REQUIRE(encoder_forward(&a, ids, NULL, mask, B, T, &err) == 0);
    size_t n = (size_t)B * T * a.cfg.C;
    float *ha = malloc(n * sizeof(float));
    memcpy(ha, encoder_output(&a), n * sizeof(float));
    EncoderExport *x = malloc(sizeof *x);
    REQUIRE(encoder_export(&a, "", x, &err) == 0);
    path(p, sizeof p, out, "model.safetensors");
    REQUIRE(st_write(p, x->t, x->n, NULL, &err) == 0);
    char src[1200], dst[1200];
    path(src, sizeof src, dir, "config.json");
    path(dst, sizeof dst, out, "config.json");
    copy_file(src, dst);
    REQUIRE(encoder_load(&b, out, &cxb, &err) == 0);
    const EncoderConfig *c = &b.cfg;
    int64_t q = (int64_t)c->L * (4 * c->C * c->C + 2 * c->C * c->FF) + (int64_t)c->V * c->E;
    int64_t rows = (int64_t)c->L * (5 * c->C + c->FF) + c->V;
    CHECK(b.int8_only && b.q8.qkvw && b.q8.wte && !b.params.qkvw && !b.params.fcw && !b.params.wte);
    CHECKF(b.num_params == fp32_params - q, "%s: fp32 arena %lld floats, expected %lld", name, (long long)b.num_params,
           (long long)(fp32_params - q));
    CHECKF(b.weight_bytes_allocated == (uint64_t)(b.num_params * 4 + q + rows * 4),
           "%s: %llu weight bytes allocated, the int8 form is %lld", name,
           (unsigned long long)b.weight_bytes_allocated, (long long)(b.num_params * 4 + q + rows * 4));
    REQUIRE(encoder_forward(&b, ids, NULL, mask, B, T, &err) == 0);
    CHECKF(memcmp(ha, encoder_output(&b), n * sizeof(float)) == 0, "%s: hidden states differ", name);
    /* bf16 arithmetic (native, or emulated on a CPU without it): no bf16 copies of the int8 matrices, the
     * same bits as the in-memory int8 model */
    {
        compute_set_precision(&cxa, PIFI_PREC_BF16);
        encoder_precision_changed(&a);
        compute_set_precision(&cxb, PIFI_PREC_BF16);
        encoder_precision_changed(&b);
        REQUIRE(encoder_forward(&a, ids, NULL, mask, B, T, &err) == 0);
        memcpy(ha, encoder_output(&a), n * sizeof(float));
        REQUIRE(encoder_forward(&b, ids, NULL, mask, B, T, &err) == 0);
        CHECKF(memcmp(ha, encoder_output(&b), n * sizeof(float)) == 0, "%s: bf16 hidden states differ", name);
        CHECK(!b.w16.qkvw && !a.w16.qkvw && (c->E == c->C) == !b.w16.projw);
    }
    /* an int8 encoder does not train */
    float *dout = calloc(n, sizeof(float));
    encoder_set_inference(&b, 0);
    REQUIRE(encoder_forward(&b, ids, NULL, mask, B, T, &err) == 0);
    CHECK(encoder_backward(&b, NULL, dout, &err) == 0); /* everything frozen: nothing to do */
    EncoderParams g = {0};
    g.ln1w = dout;
    CHECK(encoder_backward(&b, &g, dout, &err) == -1);
    CHECK_MSG(err, "int8 encoder is for inference only");
    CHECK(encoder_lora_enable(&b, 2, 4, 0, 1, &err) == -1);
    free(dout);
    /* hostile: a scale missing, a scale of 0, an I8 tensor among fp32 ones */
    for (int k = 0; k < 3; k++) {
        StWriteTensor *t = malloc(sizeof(StWriteTensor) * x->n);
        float zero[4096] = {0};
        int m = 0;
        for (int i = 0; i < x->n; i++) {
            const char *nm = x->t[i].name;
            if (k == 0 && !strcmp(nm, "encoder.layer.1.output.dense.weight_scale")) continue;
            t[m] = x->t[i];
            if (k == 1 && !strcmp(nm, "encoder.layer.0.intermediate.dense.weight_scale")) t[m].data = zero;
            m++;
        }
        Encoder e;
        if (k == 2) { /* the fp32 fixture with one tensor I8 */
            REQUIRE(encoder_load(&e, dir, test_cx_fp32(), &err) == 0);
            EncoderExport *y = malloc(sizeof *y);
            REQUIRE(encoder_export(&e, "", y, &err) == 0);
            int8_t q8[4096] = {0};
            for (int i = 0; i < y->n; i++)
                if (!strcmp(y->t[i].name, "encoder.layer.1.attention.output.dense.weight"))
                    y->t[i].dtype = PIFI_DT_I8, y->t[i].data = q8;
            REQUIRE(st_write(p, y->t, y->n, NULL, &err) == 0);
            encoder_free(&e);
            free(y);
        } else {
            REQUIRE(st_write(p, t, m, NULL, &err) == 0);
        }
        CHECK(encoder_load(&e, out, test_cx_fp32(), &err) == -1);
        static const char *WANT[3] = {"missing tensor 'encoder.layer.1.output.dense.weight_scale'",
                                      "'encoder.layer.0.intermediate.dense.weight_scale' holds 0 at row 0",
                                      "'encoder.layer.1.attention.output.dense.weight' has dtype I8"};
        CHECK_MSG(err, WANT[k]);
        CHECK(strchr(err.msg, '\n') == NULL);
        free(t);
    }
    free(x);
    free(ha);
    encoder_free(&a);
    encoder_free(&b);
    compute_free(&cxa);
    compute_free(&cxb);
}

/* ------------------------------------------------------------------------ */
/* the PiFi model: the int8 checkpoint of pifi quantize */

/* Floats of the layer's pooled-mode tensors: vectors, matrices and their rows. */
static void layer_counts(const LlmLayer *l, int64_t *vec, int64_t *mat, int64_t *rows) {
    LlmTensorSpec specs[16];
    LlmLayerParams dummy;
    int n = llm_layer_specs(&l->cfg, &dummy, l->pooled_only, specs, 16);
    *vec = *mat = *rows = 0;
    for (int i = 0; i < n; i++) {
        if (specs[i].ndim == 1) *vec += specs[i].shape[0];
        else *mat += specs[i].shape[0] * specs[i].shape[1], *rows += specs[i].shape[0];
    }
}

static int logits(PifiModel *m, PifiPrecision prec, const int32_t *ids, const int32_t *mask, int B, int T, float *out) {
    PifiErr err = {0};
    if (pifi_model_set_precision(m, prec, 1, &err) || pifi_model_forward(m, ids, NULL, mask, B, T, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    memcpy(out, m->acts.logits, sizeof(float) * B * m->K);
    return 0;
}

static void test_model_roundtrip(const char *fam, int all) {
    char base[1024], slm[1100], llm[1100], out[1100], oslm[1200], ollm[1200], p[1300];
    snprintf(base, sizeof base, "%s/pifi/%s", test_fixtures(), fam);
    path(slm, sizeof slm, base, "slm");
    path(llm, sizeof llm, base, "llm");
    snprintf(out, sizeof out, "%s/quant_%s_%d", test_tmp(), fam, all);
    path(oslm, sizeof oslm, out, "slm");
    path(ollm, sizeof ollm, out, "llm");
    PifiErr err = {0};
    REQUIRE(pifi_mkdirs(oslm, &err) == 0);
    enum { K = 3, B = 3, T = 7 };
    PifiModel a, b;
    REQUIRE(pifi_model_init(&a, slm, llm, -1, K, POOL_CLS, 1, PIFI_PREC_FP32, 0, &err) == 0);
    pifi_model_init_heads(&a, 11);
    pifi_model_set_train(&a, 0, 0, 0);
    uint64_t fp32_bytes = pifi_model_weight_bytes_allocated(&a);
    int32_t ids[B * T], mask[B * T];
    make_batch(ids, mask, B, T, a.slm.cfg.V);
    float want32[B * K], want16[B * K], got[B * K];
    REQUIRE(pifi_model_quantize(&a, all, &err) == 0);
    REQUIRE(logits(&a, PIFI_PREC_FP32, ids, mask, B, T, want32) == 0);
    int bf16 = 1; /* native or emulated (compute.h) */
    if (bf16) REQUIRE(logits(&a, PIFI_PREC_BF16, ids, mask, B, T, want16) == 0);
    path(p, sizeof p, oslm, "model.safetensors");
    REQUIRE(pifi_model_save_int8(&a, p, ollm, llm, &err) == 0);
    char src[1200], dst[1300];
    path(src, sizeof src, slm, "config.json");
    path(dst, sizeof dst, oslm, "config.json");
    copy_file(src, dst);

    REQUIRE(pifi_model_init(&b, oslm, ollm, INT_MIN, K, POOL_CLS, 1, PIFI_PREC_FP32, 0, &err) == 0);
    SafeTensors *st;
    REQUIRE(st_open(&st, p, &err) == 0);
    CHECK(pifi_model_load_heads(&b, st, "pifi.", &err) == 0);
    st_close(st);
    pifi_model_set_train(&b, 0, 0, 0);
    CHECK(b.llm.q8_only && !b.llm.p.wv && !b.llm.p.wdown && !b.llm.mem16 && b.llm.q8.wdown);
    CHECK(b.llm.layer == a.llm.layer);
    CHECK(all ? b.slm.int8_only && !b.slm.params.qkvw && !b.slm.params.wte : !b.slm.int8_only && b.slm.params.qkvw);
    /* the weight bytes loading allocated: exactly the int8 form */
    const EncoderConfig *c = &a.slm.cfg;
    int64_t q = all ? (int64_t)c->L * (4 * c->C * c->C + 2 * c->C * c->FF) + (int64_t)c->V * c->E : 0;
    int64_t qrows = all ? (int64_t)c->L * (5 * c->C + c->FF) + c->V : 0;
    int64_t vec, mat, mrows;
    layer_counts(&b.llm, &vec, &mat, &mrows);
    uint64_t want = (uint64_t)((a.slm.num_params - q) * 4 + q + qrows * 4) + (uint64_t)(vec * 4 + mat + mrows * 4) +
                    (uint64_t)a.hp_count * 4;
    uint64_t got_bytes = pifi_model_weight_bytes_allocated(&b);
    CHECKF(got_bytes == want, "%s all=%d: loading allocated %llu weight bytes, the int8 form is %llu", fam, all,
           (unsigned long long)got_bytes, (unsigned long long)want);
    /* well below the fp32 model's (an fp32 copy of the int8 tensors would add 4 bytes each) */
    CHECKF(got_bytes + 2 * (uint64_t)(q + mat) < fp32_bytes, "%s all=%d: %llu bytes vs %llu in fp32", fam, all,
           (unsigned long long)got_bytes, (unsigned long long)fp32_bytes);
    /* the same logits, bit for bit */
    REQUIRE(logits(&b, PIFI_PREC_FP32, ids, mask, B, T, got) == 0);
    CHECKF(memcmp(got, want32, sizeof got) == 0, "%s all=%d: fp32 logits differ (%g vs %g)", fam, all,
           (double)got[0], (double)want32[0]);
    if (bf16) {
        REQUIRE(logits(&b, PIFI_PREC_BF16, ids, mask, B, T, got) == 0);
        CHECKF(memcmp(got, want16, sizeof got) == 0, "%s all=%d: bf16 logits differ", fam, all);
    }
    /* the int8 layer's hash is of what was read: loading it again gives the same */
    PifiModel c2;
    REQUIRE(pifi_model_init(&c2, oslm, ollm, INT_MIN, K, POOL_CLS, 1, PIFI_PREC_FP32, 0, &err) == 0);
    char h1[65], h2[65];
    llm_layer_weights_sha256(&b.llm, h1);
    llm_layer_weights_sha256(&c2.llm, h2);
    CHECK(strlen(h1) == 64 && strcmp(h1, h2) == 0);
    pifi_model_free(&c2);
    /* sequence mode needs q/k, which a pooled int8 layer does not have */
    LlmLayer seq;
    CHECK(llm_layer_load(&seq, ollm, INT_MIN, 0, test_cx_fp32(), 0, &err) == -1);
    CHECK_MSG(err, "q_proj.weight");
    pifi_model_free(&a);
    pifi_model_free(&b);
}

static void test_layer_hostile(void) {
    char llm[1100], out[1100], p[1200];
    snprintf(llm, sizeof llm, "%s/pifi/qwen2/llm", test_fixtures());
    snprintf(out, sizeof out, "%s/quant_hostile_llm", test_tmp());
    PifiErr err = {0};
    LlmLayer l;
    REQUIRE(llm_layer_load(&l, llm, -1, 1, test_cx_fp32(), 0, &err) == 0);
    REQUIRE(llm_layer_quantize(&l, &err) == 0);
    /* a checkpoint of the layer alone, written as pifi_model_save_int8 does */
    StWriteTensor t[32];
    char names[32][192];
    int n = llm_layer_int8_tensors(&l, t, names, 32);
    CHECK(n == 2 * 5 + 3); /* 5 matrices with scales, 2 norms, the v bias */
    REQUIRE(pifi_mkdirs(out, &err) == 0);
    char src[1200];
    path(src, sizeof src, llm, "config.json");
    path(p, sizeof p, out, "config.json");
    copy_file(src, p);
    path(p, sizeof p, out, "model.safetensors");
    for (int k = 0; k < 3; k++) {
        StWriteTensor u[32];
        int8_t bad[1 << 16];
        memset(bad, 1, sizeof bad);
        float nan = NAN;
        int m2 = 0;
        for (int i = 0; i < n; i++) {
            u[m2] = t[i];
            if (k == 0 && strstr(t[i].name, "mlp.up_proj.weight_scale")) continue;
            if (k == 1 && strstr(t[i].name, "self_attn.o_proj.weight_scale")) {
                static float s[4096];
                for (int j = 0; j < 4096; j++) s[j] = j == 5 ? nan : 0.01f;
                u[m2].data = s;
            }
            if (k == 2 && strstr(t[i].name, "mlp.gate_proj.weight") && !strstr(t[i].name, "scale"))
                u[m2].dtype = PIFI_DT_F16, u[m2].shape[1] /= 2, u[m2].data = bad; /* same bytes, not I8 */
            m2++;
        }
        REQUIRE(st_write(p, u, m2, NULL, &err) == 0);
        LlmLayer e;
        CHECK(llm_layer_load(&e, out, -1, 1, test_cx_fp32(), 0, &err) == -1);
        static const char *WANT[3] = {"missing tensor 'model.layers.2.mlp.up_proj.weight_scale'",
                                      "o_proj.weight_scale' holds nan at row 5",
                                      "mlp.gate_proj.weight' has shape"};
        CHECK_MSG(err, WANT[k]);
    }
    llm_layer_free(&l);
}

static void test_config_json(void) {
    for (size_t f = 0; f < sizeof FAMILIES / sizeof FAMILIES[0]; f++) {
        char p[1200], out[1200];
        snprintf(p, sizeof p, "%s/pifi/%s/llm/config.json", test_fixtures(), FAMILIES[f]);
        snprintf(out, sizeof out, "%s/quant_config_%s.json", test_tmp(), FAMILIES[f]);
        PifiErr err = {0};
        LlmConfig a, b;
        REQUIRE(llm_config_load(&a, p, &err) == 0);
        cJSON *j = llm_config_to_json(&a);
        char *text = cJSON_Print(j);
        REQUIRE(pifi_write_file_atomic(out, text, strlen(text), &err) == 0);
        REQUIRE(llm_config_load(&b, out, &err) == 0);
        CHECKF(memcmp(&a, &b, sizeof a) == 0, "%s: the config read back differs", FAMILIES[f]);
        free(text);
        cJSON_Delete(j);
    }
}

int main(void) {
    printf("oneDNN ISA %s: the int8 forms are compared in fp32 and bf16 (%s)\n", pifi_cpu_isa_name(),
           pifi_bf16_mode());
    static const char *ENC[] = {"bert_tiny", "roberta_tiny", "electra_tiny"};
    for (size_t i = 0; i < sizeof ENC / sizeof ENC[0]; i++) test_encoder_roundtrip(ENC[i]);
    for (size_t f = 0; f < sizeof FAMILIES / sizeof FAMILIES[0]; f++) {
        test_model_roundtrip(FAMILIES[f], 0);
        test_model_roundtrip(FAMILIES[f], 1);
    }
    test_layer_hostile();
    test_config_json();
    TEST_DONE();
}
