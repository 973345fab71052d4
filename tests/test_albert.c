/* test_albert.c: the ALBERT family against transformers' AlbertModel, on
 * the tiny random checkpoints of fixtures/encoders/albert_* (tools/
 * oracle_encoders.py: albert_tiny E 16 < C 32, 3 layers; albert_square
 * E = C = 24, 2 layers, 3 token types; their forward is in test_encoder.c,
 * finite differences with dropout and LoRA in test_encoder_grad.c, 10 Adam
 * steps in test_train_grad.c):
 *   - one layer of weights for every layer: the arena, the trainable
 *     tensors (not per layer: their gradient is final after layer 0, so the
 *     backward's grad_ready finds no per-layer slice of them to hand on)
 *     and the sizes from the config alone agree;
 *   - the gradient of every parameter of sum(last_hidden_state * dout) for
 *     the oracle's dout, through the family-neutral backward (a flat arena
 *     laid out as param_mem), within 1e-4 of the tensor's largest |g| (at
 *     least 1% of the model's largest: the key biases' true gradient is 0);
 *   - bf16: the forward within 3e-2 of transformers' fp32 and the gradients
 *     within 5e-2;
 *   - the export: the checkpoint's own names (one shared layer), written and
 *     loaded back to the same outputs, int8 the same way; LoRA on the shared
 *     query and value under PEFT's names, merged into the export;
 *   - no dropout on the feed-forward output (AlbertLayer has none);
 *   - config.json refusals and AlbertConfig's defaults. */
#include <stdint.h>

#include "kernels/activation.h"
#include "models/encoders/encoder_family.h"
#include "pifi/encoder_export.h"
#include "pifi/fileio.h"
#include "test.h"
#include "test_cx.h"
#include "test_fixture_io.h"

static const char *NAMES[] = {"albert_tiny", "albert_square"};

typedef struct {
    int32_t *ids, *tt, *mask;
    int B, T;
    float *want; /* (B, T, C) transformers' last_hidden_state */
} Batch;

static void batch_free(Batch *b) { free(b->ids), free(b->tt), free(b->mask), free(b->want); }

static int load(const char *name, PifiCompute *cx, Encoder *m, Batch *b) {
    char dir[1024], p[1100];
    snprintf(dir, sizeof dir, "%s/encoders/%s", test_fixtures(), name);
    snprintf(p, sizeof p, "%s/io.safetensors", dir);
    PifiErr err = {0};
    if (encoder_load(m, dir, cx, &err)) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        return -1;
    }
    SafeTensors *io;
    if (st_open(&io, p, &err)) return -1;
    const StTensor *t;
    if (st_get(io, "input_ids", &t, &err)) return -1;
    b->B = (int)t->shape[0], b->T = (int)t->shape[1];
    size_t n = (size_t)b->B * b->T;
    b->ids = malloc(sizeof(int32_t) * n), b->tt = malloc(sizeof(int32_t) * n), b->mask = malloc(sizeof(int32_t) * n);
    b->want = malloc(sizeof(float) * n * m->cfg.C);
    int64_t hs[3] = {b->B, b->T, m->cfg.C};
    int rc = test_read_ints(io, "input_ids", b->B, b->T, b->ids, &err) ||
             test_read_ints(io, "token_type_ids", b->B, b->T, b->tt, &err) ||
             test_read_ints(io, "attention_mask", b->B, b->T, b->mask, &err) ||
             st_read_f32(io, "last_hidden_state", 3, hs, b->want, &err);
    st_close(io);
    return rc ? -1 : 0;
}

static int ready_calls;
static void count_ready(void *ctx, int layer) { (void)ctx, (void)layer, ready_calls++; }

/* One layer of weights: the arena, the rows, the sizes. */
static void test_shared(const char *name) {
    Encoder m;
    Batch b;
    REQUIRE(load(name, test_cx_fp32(), &m, &b) == 0);
    const EncoderConfig *c = &m.cfg;
    CHECK(c->family == &ENCODER_FAMILY_ALBERT && c->arch == ENC_ALBERT && c->L >= 2);
    int64_t C = c->C, E = c->E, FF = c->FF;
    int64_t layer = 4 * C * C + 4 * C + 2 * C * FF + FF + C + 4 * C;
    int64_t emb = ((int64_t)c->V + c->maxT + c->TV) * E + 2 * E + C * E + C;
    CHECKF(m.num_params == emb + layer + C * C + C, "%s: %lld parameters", name, (long long)m.num_params);
    CHECK(encoder_config_params(c) + encoder_config_pooler_params(c) == m.num_params);
    CHECK(m.params.projw && m.params.poolw && m.params.wtt);
    EncoderTensor rows[ENCODER_TENSORS_MAX];
    int n = encoder_tensors(&m, rows, ENCODER_TENSORS_MAX);
    int64_t total = 0, per_layer = 0;
    for (int i = 0; i < n; i++) total += rows[i].n, per_layer += rows[i].per_layer;
    CHECKF(total == m.num_params && per_layer == 0, "%s: rows cover %lld of %lld, %lld per layer", name,
           (long long)total, (long long)m.num_params, (long long)per_layer);
    printf("%-14s %lld parameters: one layer of weights for %d layers, no tensor per layer\n", name,
           (long long)m.num_params, c->L);
    batch_free(&b);
    encoder_free(&m);
}

/* Every parameter's gradient against transformers' autograd, through the
 * flat-arena backward; precision: fp32 (1e-4) or bf16 (forward 3e-2,
 * gradients 5e-2). */
static void test_grads(const char *name, int bf16) {
    PifiCompute cx16;
    if (bf16) compute_init(&cx16, PIFI_PREC_BF16);
    Encoder m;
    Batch b;
    REQUIRE(load(name, bf16 ? &cx16 : test_cx_fp32(), &m, &b) == 0);
    char p[1100];
    snprintf(p, sizeof p, "%s/encoders/%s/grads.safetensors", test_fixtures(), name);
    PifiErr err = {0};
    SafeTensors *gs;
    REQUIRE(st_open(&gs, p, &err) == 0);
    int C = m.cfg.C, B = b.B, T = b.T;
    float *dout = malloc(sizeof(float) * B * T * C);
    int64_t ds[3] = {B, T, C};
    REQUIRE(st_read_f32(gs, "dout", 3, ds, dout, &err) == 0);
    float *gm = calloc((size_t)encoder_param_count(&m), sizeof(float));
    REQUIRE(encoder_forward(&m, b.ids, b.tt, b.mask, B, T, &err) == 0);
    double dh = test_rel_diff(encoder_output(&m), b.want, (int64_t)B * T * C, 0);
    CHECKF(dh <= (bf16 ? 3e-2 : 1e-4), "%s: %s forward differs by %.3g", name, bf16 ? "bf16" : "fp32", dh);
    m.grad_ready = count_ready;
    ready_calls = 0;
    REQUIRE(encoder_backward_mem(&m, gm, NULL, dout, &err) == 0);
    CHECK(ready_calls == m.cfg.L);
    /* under transformers' names: each exported view's offset in param_mem is its gradient's in gm */
    static EncoderExport x;
    REQUIRE(encoder_export(&m, "", &x, &err) == 0);
    double worst = 0, gmax = 0, tol = bf16 ? 5e-2 : 1e-4;
    const char *worst_name = "";
    int compared = 0;
    for (int64_t i = 0; i < encoder_param_count(&m); i++) gmax = fmax(gmax, fabs(gm[i]));
    for (int i = 0; i < x.n; i++) {
        const float *w = x.t[i].data;
        int64_t n = x.t[i].shape[0] * (x.t[i].ndim == 2 ? x.t[i].shape[1] : 1);
        REQUIRE(w >= m.param_mem && w + n <= m.param_mem + m.num_params);
        const float *g = gm + (w - m.param_mem);
        const StTensor *t;
        int found = st_find(gs, x.t[i].name, &t, &err) == 0;
        CHECKF(found, "%s: transformers has no parameter %s", name, x.t[i].name);
        if (!found) continue;
        float *want = malloc(sizeof(float) * n);
        CHECK(t->numel == n && st_read_f32(gs, x.t[i].name, x.t[i].ndim, x.t[i].shape, want, &err) == 0);
        double d = test_rel_diff(g, want, n, 1e-2 * gmax);
        CHECKF(d <= tol, "%s: gradient of %s differs by %.3g (relative to its largest)", name, x.t[i].name, d);
        if (d > worst) worst = d, worst_name = x.t[i].name;
        compared++;
        free(want);
    }
    CHECKF(compared == st_count(gs) - 1, "%s: %d of %d gradients compared", name, compared, st_count(gs) - 1);
    printf("%-14s %s: forward %.2e, %d gradients, worst relative diff %.2e (%s)\n", name, bf16 ? "bf16" : "fp32",
           dh, compared, worst, worst_name);
    free(gm), free(dout);
    batch_free(&b);
    st_close(gs);
    encoder_free(&m);
    if (bf16) compute_free(&cx16);
}

/* The names of a safetensors file equal those of x. */
static int same_names(const char *path, const EncoderExport *x) {
    PifiErr err = {0};
    SafeTensors *st;
    if (st_open(&st, path, &err)) return 0;
    int same = x->n == st_count(st);
    for (int i = 0; i < x->n; i++) {
        const StTensor *t;
        same &= st_find(st, x->t[i].name, &t, &err) == 0;
    }
    st_close(st);
    return same;
}

/* Write x with name's config.json into dir/, load it back, run b: the
 * output equals h bit for bit. */
static void check_read_back(const char *name, const char *dir, const EncoderExport *x, const Batch *b,
                            const float *h, int int8) {
    PifiErr err = {0};
    char path[1200], cmd[4096];
    REQUIRE(pifi_mkdirs(dir, &err) == 0);
    snprintf(cmd, sizeof cmd, "cp '%s/encoders/%s/config.json' '%s/'", test_fixtures(), name, dir);
    REQUIRE(system(cmd) == 0);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    REQUIRE(st_write(path, x->t, x->n, NULL, &err) == 0);
    Encoder back;
    int rc = encoder_load(&back, dir, test_cx_fp32(), &err);
    CHECKF(rc == 0, "%s: %s", name, err.msg);
    if (rc) return;
    CHECK(back.int8_only == int8 && back.cfg.arch == ENC_ALBERT);
    REQUIRE(encoder_forward(&back, b->ids, b->tt, b->mask, b->B, b->T, &err) == 0);
    CHECKF(memcmp(encoder_output(&back), h, (size_t)b->B * b->T * back.cfg.C * sizeof(float)) == 0,
           "%s: %s read back differs", name, dir);
    encoder_free(&back);
}

/* The export: the checkpoint's own names; written and loaded back, the same
 * outputs; int8 the same way; LoRA's names and its merge. */
static void test_export(const char *name) {
    Encoder m;
    Batch b;
    REQUIRE(load(name, test_cx_fp32(), &m, &b) == 0);
    PifiErr err = {0};
    size_t nout = (size_t)b.B * b.T * m.cfg.C;
    float *h = malloc(nout * sizeof(float));
    REQUIRE(encoder_forward(&m, b.ids, b.tt, b.mask, b.B, b.T, &err) == 0);
    memcpy(h, encoder_output(&m), nout * sizeof(float));

    static EncoderExport x;
    REQUIRE(encoder_export(&m, "", &x, &err) == 0);
    char src[1100], dir[1100];
    snprintf(src, sizeof src, "%s/encoders/%s/model.safetensors", test_fixtures(), name);
    CHECKF(same_names(src, &x), "%s: exported %d tensors, not the checkpoint's names", name, x.n);
    snprintf(dir, sizeof dir, "%s/albert_export_%s_fp32", test_tmp(), name);
    check_read_back(name, dir, &x, &b, h, 0);

    REQUIRE(encoder_quantize(&m, 1, &err) == 0);
    CHECK(encoder_int8_parts(&m) == (ENCODER_INT8_LINEAR | ENCODER_INT8_EMBEDDINGS));
    REQUIRE(encoder_forward(&m, b.ids, b.tt, b.mask, b.B, b.T, &err) == 0);
    float dq = 0;
    for (size_t i = 0; i < nout; i++) dq = fmaxf(dq, fabsf(encoder_output(&m)[i] - h[i]));
    CHECKF(dq < 0.1f, "%s: int8 output differs from fp32 by %g", name, dq);
    printf("%-14s export read back identical; int8 vs fp32 max |diff| %.3g\n", name, dq);
    memcpy(h, encoder_output(&m), nout * sizeof(float));
    REQUIRE(encoder_export(&m, "", &x, &err) == 0);
    snprintf(dir, sizeof dir, "%s/albert_export_%s_int8", test_tmp(), name);
    check_read_back(name, dir, &x, &b, h, 1);
    encoder_free(&m);
    batch_free(&b);

    /* LoRA: one pair on the shared query and value, PEFT's names; merged, the export runs the same */
    REQUIRE(load(name, test_cx_fp32(), &m, &b) == 0);
    REQUIRE(encoder_lora_enable(&m, 4, 8.0f, 0.0f, 1, &err) == 0);
    CHECK(encoder_lora_param_count(&m) == 4 * 4 * m.cfg.C &&
          encoder_config_lora_params(&m.cfg, 4) == encoder_lora_param_count(&m));
    char nm[160];
    int64_t shape[2];
    float *data;
    CHECK(encoder_lora_tensor(&m, &m.lora, 0, nm, sizeof nm, &data, shape) == 0);
    CHECKF(!strcmp(nm, "encoder.albert_layer_groups.0.albert_layers.0.attention.query.lora_A.weight"), "%s", nm);
    CHECK(encoder_lora_tensor(&m, &m.lora, 3, nm, sizeof nm, &data, shape) == 0);
    CHECKF(!strcmp(nm, "encoder.albert_layer_groups.0.albert_layers.0.attention.value.lora_B.weight"), "%s", nm);
    CHECK(encoder_lora_tensor(&m, &m.lora, 4, nm, sizeof nm, &data, shape) == -1);
    for (int64_t i = 0; i < 4 * m.cfg.C; i++) m.lora.qb[i] = m.lora.vb[i] = 0.05f * (float)((i % 7) - 3);
    REQUIRE(encoder_forward(&m, b.ids, b.tt, b.mask, b.B, b.T, &err) == 0);
    memcpy(h, encoder_output(&m), nout * sizeof(float));
    float *keep;
    REQUIRE(encoder_export_merged(&m, "", &x, &keep, &err) == 0);
    CHECK(same_names(src, &x));
    snprintf(dir, sizeof dir, "%s/albert_export_%s_lora", test_tmp(), name);
    Encoder back;
    char path[1200], cmd[4096];
    REQUIRE(pifi_mkdirs(dir, &err) == 0);
    snprintf(cmd, sizeof cmd, "cp '%s/encoders/%s/config.json' '%s/'", test_fixtures(), name, dir);
    REQUIRE(system(cmd) == 0);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    REQUIRE(st_write(path, x.t, x.n, NULL, &err) == 0);
    free(keep);
    REQUIRE(encoder_load(&back, dir, test_cx_fp32(), &err) == 0);
    REQUIRE(encoder_forward(&back, b.ids, b.tt, b.mask, b.B, b.T, &err) == 0);
    double d = test_rel_diff(encoder_output(&back), h, (int64_t)nout, 1.0);
    CHECKF(d <= 1e-5, "%s: LoRA merged into the export differs by %.3g", name, d);
    encoder_free(&back);
    encoder_free(&m);
    batch_free(&b);
    free(h);
}

/* AlbertLayer has no dropout on its feed-forward output (ff_chunk goes
 * straight into full_layer_layer_norm), BertOutput has. With the
 * embeddings all zero (the embeddings' dropout then drops zeros) and the
 * attention's output projection zero (its dropout too), the feed-forward
 * output is the only place hidden_dropout could act: training mode must
 * give the eval output bit for bit. */
static void test_no_ffn_dropout(const char *name) {
    Encoder m;
    Batch b;
    REQUIRE(load(name, test_cx_fp32(), &m, &b) == 0);
    EncoderParams *p = &m.params;
    const EncoderConfig *c = &m.cfg;
    memset(p->wte, 0, sizeof(float) * c->V * c->E);
    memset(p->wpe, 0, sizeof(float) * c->maxT * c->E);
    memset(p->wtt, 0, sizeof(float) * c->TV * c->E);
    memset(p->emb_lnb, 0, sizeof(float) * c->E);
    memset(p->attprojw, 0, sizeof(float) * c->C * c->C);
    memset(p->attprojb, 0, sizeof(float) * c->C);
    m.cfg.hidden_dropout = 0.5f, m.cfg.attn_dropout = 0.0f;
    PifiErr err = {0};
    size_t nout = (size_t)b.B * b.T * c->C;
    float *h = malloc(nout * sizeof(float));
    REQUIRE(encoder_forward(&m, b.ids, b.tt, b.mask, b.B, b.T, &err) == 0);
    memcpy(h, encoder_output(&m), nout * sizeof(float));
    encoder_set_train(&m, 1, 5, 1);
    REQUIRE(encoder_forward(&m, b.ids, b.tt, b.mask, b.B, b.T, &err) == 0);
    CHECKF(memcmp(h, encoder_output(&m), nout * sizeof(float)) == 0,
           "%s: hidden_dropout acts on the feed-forward output (AlbertLayer has none there)", name);
    printf("%-14s no dropout on the feed-forward output\n", name);
    free(h);
    batch_free(&b);
    encoder_free(&m);
}

static void test_config(void) {
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/albert_bad", test_tmp());
    PifiErr err = {0};
    REQUIRE(pifi_mkdirs(dir, &err) == 0);
    snprintf(path, sizeof path, "%s/config.json", dir);
#define ALBERT_BASE                                                                                              \
    "{\"model_type\": \"albert\", \"vocab_size\": 10, \"hidden_size\": 8, \"num_hidden_layers\": 3,"             \
    "\"num_attention_heads\": 2, \"intermediate_size\": 4, \"max_position_embeddings\": 8"
    static const struct {
        const char *json, *msg;
    } CASES[] = {
        {ALBERT_BASE ", \"num_hidden_groups\": 3}", "config.json: \"num_hidden_groups\" is 3; pifi runs ALBERT"},
        {ALBERT_BASE ", \"inner_group_num\": 2}", "config.json: \"inner_group_num\" is 2; pifi runs ALBERT"},
        {ALBERT_BASE ", \"embedding_size\": 0}", "config.json: \"embedding_size\" is 0, expected 1..65536"},
        {ALBERT_BASE ", \"hidden_dropout_prob\": 1.0}", "config.json: \"hidden_dropout_prob\" is 1, expected [0, 1)"},
        {ALBERT_BASE ", \"attention_probs_dropout_prob\": -0.5}", "\"attention_probs_dropout_prob\" is -0.5"},
        {ALBERT_BASE ", \"num_hidden_groups\": \"one\"}", "num_hidden_groups"},
        {ALBERT_BASE ", \"hidden_act\": \"mish\"}", "unsupported hidden_act \"mish\""},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        REQUIRE(pifi_write_file_atomic(path, CASES[i].json, strlen(CASES[i].json), &err) == 0);
        EncoderConfig cfg;
        CHECK(encoder_config_load(&cfg, path, &err) == -1);
        CHECK_MSG(err, CASES[i].msg);
        CHECKF(!strchr(err.msg, '\n'), "%s", err.msg);
    }
    /* AlbertConfig's defaults: embedding_size 128, gelu_new, no dropout, 2 token types, pad 0 */
    const char *ok = ALBERT_BASE "}";
    REQUIRE(pifi_write_file_atomic(path, ok, strlen(ok), &err) == 0);
    EncoderConfig cfg;
    REQUIRE(encoder_config_load(&cfg, path, &err) == 0);
    CHECK(cfg.arch == ENC_ALBERT && cfg.E == 128 && cfg.act == ACT_GELU_TANH && cfg.hidden_dropout == 0.0f &&
          cfg.attn_dropout == 0.0f && cfg.TV == 2 && cfg.pad_id == 0);
    int64_t layer = 4 * 64 + 4 * 8 + 2 * 8 * 4 + 4 + 8 + 4 * 8; /* once, for 3 layers */
    CHECK(encoder_config_params(&cfg) == (10 + 8 + 2) * 128 + 2 * 128 + 8 * 128 + 8 + layer);
    CHECK(encoder_config_lora_params(&cfg, 2) == 2 * 2 * 2 * 8);
#undef ALBERT_BASE
}

int main(void) {
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
        test_shared(NAMES[i]);
        test_grads(NAMES[i], 0);
        test_grads(NAMES[i], 1);
        test_export(NAMES[i]);
        test_no_ffn_dropout(NAMES[i]);
    }
    test_config();
    TEST_DONE();
}
