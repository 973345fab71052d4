/* test_decoder.c: the decoder family (a decoder-only LM as the SLM) against
 * transformers' LlamaModel and Qwen2Model, on the tiny random checkpoints of
 * fixtures/decoders/ (tools/oracle_decoder.py; right-padded batches; 10 Adam
 * steps of base, pifi and LoRA with last-token pooling in test_train_grad.c):
 *   - last_hidden_state within 1e-4 (fp32, every position);
 *   - the gradient of every parameter (embeddings, each layer's tensors, the
 *     final norm) of sum(last_hidden_state * dout), within 1e-4 of the
 *     tensor's largest |g|;
 *   - LoRA on q_proj and v_proj (the oracle's adapters): the hidden state
 *     (training and inference forwards) and the adapters' gradients, the
 *     base frozen;
 *   - the export under transformers' names, LoRA merged, loaded back (as an
 *     HF directory) to the LoRA model's outputs;
 *   - the family's default pooling is the last real token, and a GGUF
 *     decoder (stories260K) loads through the same entry point. */
#include <stdint.h>

#include "models/decoders/llm_layer_internal.h"
#include "models/encoders/decoder_internal.h"
#include "models/encoders/encoder_family.h"
#include "pifi/encoder_export.h"
#include "pifi/fileio.h"
#include "pifi/pifi_model.h"
#include "test.h"
#include "test_cx.h"
#include "test_fixture_io.h"

static const char *NAMES[] = {"llama_tiny", "llama_wide", "qwen2_tiny"};

static float *read_all(SafeTensors *io, const char *name, int64_t *n) {
    const StTensor *t;
    PifiErr err = {0};
    if (st_get(io, name, &t, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return NULL;
    }
    int64_t k = 1;
    for (int i = 0; i < t->ndim; i++) k *= t->shape[i];
    float *v = malloc((size_t)k * sizeof *v);
    if (st_read_f32(io, name, t->ndim, t->shape, v, &err)) {
        free(v);
        return NULL;
    }
    *n = k;
    return v;
}

typedef struct {
    Encoder m;
    SafeTensors *io;
    int32_t *ids, *mask;
    int B, T;
} Case;

static int open_case(Case *k, const char *dir) {
    char p[1100];
    PifiErr err = {0};
    memset(k, 0, sizeof *k);
    if (encoder_load(&k->m, dir, test_cx_fp32(), &err)) {
        fprintf(stderr, "%s: %s\n", dir, err.msg);
        return -1;
    }
    snprintf(p, sizeof p, "%s/io.safetensors", dir);
    const StTensor *t;
    if (st_open(&k->io, p, &err) || st_get(k->io, "input_ids", &t, &err)) return -1;
    k->B = (int)t->shape[0], k->T = (int)t->shape[1];
    k->ids = malloc(sizeof(int32_t) * k->B * k->T);
    k->mask = malloc(sizeof(int32_t) * k->B * k->T);
    return test_read_ints(k->io, "input_ids", k->B, k->T, k->ids, &err) ||
                   test_read_ints(k->io, "attention_mask", k->B, k->T, k->mask, &err)
               ? -1
               : 0;
}

static void close_case(Case *k) {
    encoder_free(&k->m);
    st_close(k->io);
    free(k->ids), free(k->mask);
}

/* The forward's output against a reference tensor of io. */
static double out_diff(Case *k, const char *ref) {
    PifiErr err = {0};
    if (encoder_forward(&k->m, k->ids, NULL, k->mask, k->B, k->T, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1e9;
    }
    int64_t n;
    float *want = read_all(k->io, ref, &n);
    double d = want ? test_rel_diff(encoder_output(&k->m), want, n, 1.0) : 1e9;
    free(want);
    return d;
}

static void test_forward_grads(const char *name) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/decoders/%s", test_fixtures(), name);
    Case k;
    REQUIRE(open_case(&k, dir) == 0);
    Encoder *m = &k.m;
    double d = out_diff(&k, "last_hidden_state");
    CHECKF(d < 1e-4, "%s: last_hidden_state differs by %g", name, d);
    printf("%-11s B=%d T=%d: last_hidden_state within %.2g of transformers\n", name, k.B, k.T, d);

    /* every parameter's gradient */
    int64_t nd;
    float *dout = read_all(k.io, "dout", &nd);
    float *g = calloc((size_t)m->num_params, sizeof(float));
    PifiErr err = {0};
    REQUIRE(encoder_backward_mem(m, g, NULL, dout, &err) == 0);
    const Decoder *dec = decoder_of(m);
    int checked = 0;
    double worst = 0;
    char worst_name[192] = "";
    for (int j = -1; j <= m->cfg.L; j++) {
        LlmTensorSpec specs[16];
        LlmLayerParams p = dec->layers[j < 0 || j == m->cfg.L ? 0 : j].p;
        int ns = j < 0 || j == m->cfg.L ? 1 : llm_layer_specs(&m->cfg.dec, &p, 0, specs, 16);
        for (int i = 0; i < ns; i++) {
            char hf[192];
            const float *w;
            if (j < 0) {
                snprintf(hf, sizeof hf, "grad.embed_tokens.weight");
                w = dec->wte;
            } else if (j == m->cfg.L) {
                snprintf(hf, sizeof hf, "grad.norm.weight");
                w = dec->norm;
            } else {
                snprintf(hf, sizeof hf, "grad.layers.%d.%s", j, specs[i].name);
                w = *specs[i].dst;
            }
            int64_t n;
            float *want = read_all(k.io, hf, &n);
            REQUIRE(want != NULL);
            double e = test_rel_diff(g + (w - m->param_mem), want, n, 1e-3);
            if (e > worst) worst = e, snprintf(worst_name, sizeof worst_name, "%s", hf);
            CHECKF(e < 1e-4, "%s: %s differs by %g (relative)", name, hf, e);
            free(want);
            checked++;
        }
    }
    printf("%-11s gradients of %d tensors within %.2g relative (worst %s)\n", name, checked, worst, worst_name);

    /* LoRA: the oracle's adapters, the base frozen */
    REQUIRE(encoder_lora_enable(m, 4, 8.0f, 0.0f, 1, &err) == 0);
    const char *proj[2] = {"q_proj", "v_proj"};
    for (int j = 0; j < m->cfg.L; j++) {
        const LlmLora *lo = &dec->lora[j];
        const float *dst[4] = {lo->qa, lo->qb, lo->va, lo->vb};
        for (int t = 0; t < 4; t++) {
            char nm[192];
            snprintf(nm, sizeof nm, "lora.layers.%d.self_attn.%s.lora_%c.weight", j, proj[t / 2], t % 2 ? 'B' : 'A');
            int64_t n;
            float *v = read_all(k.io, nm, &n);
            REQUIRE(v != NULL);
            memcpy((float *)dst[t], v, (size_t)n * sizeof(float));
            free(v);
        }
    }
    encoder_set_inference(m, 1); /* the inference forward (no activations kept) adds the adapters too */
    d = out_diff(&k, "lora_hidden");
    CHECKF(d < 1e-4, "%s: LoRA last_hidden_state (inference) differs by %g", name, d);
    encoder_set_inference(m, 0);
    d = out_diff(&k, "lora_hidden");
    CHECKF(d < 1e-4, "%s: LoRA last_hidden_state differs by %g", name, d);
    float *lg = calloc((size_t)m->num_lora_params, sizeof(float));
    REQUIRE(encoder_backward_mem(m, NULL, lg, dout, &err) == 0);
    worst = 0;
    for (int j = 0; j < m->cfg.L; j++) {
        const LlmLora *lo = &dec->lora[j];
        const float *src[4] = {lo->qa, lo->qb, lo->va, lo->vb};
        for (int t = 0; t < 4; t++) {
            char nm[192];
            snprintf(nm, sizeof nm, "lora_grad.layers.%d.self_attn.%s.lora_%c.weight", j, proj[t / 2],
                     t % 2 ? 'B' : 'A');
            int64_t n;
            float *want = read_all(k.io, nm, &n);
            REQUIRE(want != NULL);
            double e = test_rel_diff(lg + (src[t] - m->lora_mem), want, n, 1e-3);
            if (e > worst) worst = e;
            CHECKF(e < 1e-4, "%s: %s differs by %g (relative)", name, nm, e);
            free(want);
        }
    }
    printf("%-11s LoRA (q_proj, v_proj): hidden state and %d adapter gradients within 1e-4 (worst %.2g)\n", name,
           4 * m->cfg.L, worst);

    /* the export, LoRA merged, read back as an HF directory */
    char out[1100], path[1200];
    snprintf(out, sizeof out, "%s/decoder_export_%s", test_tmp(), name);
    REQUIRE(pifi_mkdirs(out, &err) == 0);
    EncoderExport *x = malloc(sizeof *x);
    float *keep = NULL;
    REQUIRE(encoder_export_merged(m, "", x, &keep, &err) == 0);
    snprintf(path, sizeof path, "%s/model.safetensors", out);
    REQUIRE(st_write(path, x->t, x->n, NULL, &err) == 0);
    free(keep), free(x);
    char *cfg;
    size_t cn;
    snprintf(path, sizeof path, "%s/config.json", dir);
    REQUIRE(pifi_read_file(path, 1 << 20, &cfg, &cn, &err) == 0);
    snprintf(path, sizeof path, "%s/config.json", out);
    REQUIRE(pifi_write_file_atomic(path, cfg, cn, &err) == 0);
    free(cfg);
    Case r;
    REQUIRE(open_case(&r, dir) == 0);
    encoder_free(&r.m);
    REQUIRE(encoder_load(&r.m, out, test_cx_fp32(), &err) == 0);
    d = out_diff(&r, "lora_hidden");
    CHECKF(d < 1e-5, "%s: the merged export gives outputs %g away", name, d);
    printf("%-11s export (model.embed_tokens.weight, model.layers.N.*, model.norm.weight), LoRA merged: "
           "reloaded within %.2g\n", name, d);
    close_case(&r);
    free(dout), free(g), free(lg);
    close_case(&k);
}

/* A GGUF decoder (llama.cpp's llama layout) loads through encoder_load; the
 * family pools at the last real token when a run names no pooling. */
static void test_gguf_and_pooling(void) {
    CHECK(ENCODER_FAMILY_DECODER.default_pooling == POOL_LAST);
    CHECK(ENCODER_FAMILY_BERT.default_pooling == POOL_CLS);
    char p[1024];
    snprintf(p, sizeof p, "%s/models/stories260K/stories260K.gguf", test_env("PIFI_SHARED", "../shared"));
    if (!pifi_file_exists(p)) {
        printf("stories260K.gguf not found: its part skipped\n");
        return;
    }
    Encoder m;
    PifiErr err = {0};
    REQUIRE(encoder_load(&m, p, test_cx_fp32(), &err) == 0);
    CHECK(m.cfg.family == &ENCODER_FAMILY_DECODER && m.cfg.L == 5 && m.cfg.C == 64 && m.cfg.V == 512);
    int32_t ids[6] = {1, 40, 300, 7, 0, 0}, mask[6] = {1, 1, 1, 1, 0, 0};
    REQUIRE(encoder_forward(&m, ids, NULL, mask, 1, 6, &err) == 0);
    printf("stories260K.gguf: a decoder SLM of %d layers, C %d, V %d\n", m.cfg.L, m.cfg.C, m.cfg.V);
    encoder_free(&m);
}

int main(void) {
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) test_forward_grads(NAMES[i]);
    test_gguf_and_pooling();
    TEST_DONE();
}
