/* test_modernbert.c: the ModernBERT family against transformers'
 * ModernBertModel (eager attention; the oracle checks sdpa agrees at the
 * real tokens), on the tiny random checkpoints of fixtures/encoders/
 * modernbert_* (tools/oracle_encoders.py: modernbert_tiny, 4 layers, full
 * attention at layers 0 and 2, a window of 3 at 1 and 3, no biases;
 * modernbert_bias, every bias, 3 layers, head size 12, a window of 2 on a
 * padded batch of 20; 10 Adam steps in test_train_grad.c):
 *   - last_hidden_state at the real tokens within 1e-4 (fp32) and 3e-2
 *     (bf16), finite at padding; a batch of one row the same;
 *   - the gradient of every parameter of sum(last_hidden_state * dout) (the
 *     oracle's dout, zero at padding) through the family-neutral backward
 *     into a flat arena laid out as param_mem, within 1e-4 of the tensor's
 *     largest |g| (at least 1% of the model's largest); bf16 within 5e-2;
 *     grad_ready once per layer; a second backward doubles them;
 *   - dropout in training: the backward is the gradient of the forward with
 *     the same masks (finite differences on a few coordinates);
 *   - the export: the checkpoint's own names, written and loaded back to the
 *     same outputs; int8 and LoRA refused with their own errors;
 *   - config.json: both forms (transformers 4's global_attn_every_n_layers
 *     and thetas, 5's layer_types and rope_parameters), refusals. */
#include <stdint.h>

#include "kernels/activation.h"
#include "models/encoders/encoder_family.h"
#include "models/encoders/modernbert_internal.h"
#include "pifi/encoder_export.h"
#include "pifi/fileio.h"
#include "test.h"
#include "test_cx.h"
#include "test_fixture_io.h"

static const char *NAMES[] = {"modernbert_tiny", "modernbert_bias"};

/* max over real tokens of |a - b|, relative to max(max |b|, floor); b NULL: max |a| (finite check) */
static double diff_real(const float *a, const float *b, const int32_t *mask, int BT, int C, double floor) {
    double d = 0, m = floor;
    for (int i = 0; i < BT; i++) {
        if (!mask[i]) continue;
        for (int c = 0; c < C; c++) {
            double e = fabs((double)a[(size_t)i * C + c] - b[(size_t)i * C + c]);
            if (!(e <= d)) d = e;
            if (fabs(b[(size_t)i * C + c]) > m) m = fabs(b[(size_t)i * C + c]);
        }
    }
    return d / m;
}

typedef struct {
    int32_t *ids, *mask;
    int B, T;
    float *want; /* (B, T, C) */
} Batch;

static void batch_free(Batch *b) { free(b->ids), free(b->mask), free(b->want); }

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
    b->ids = malloc(sizeof(int32_t) * n), b->mask = malloc(sizeof(int32_t) * n);
    b->want = malloc(sizeof(float) * n * m->cfg.C);
    int64_t hs[3] = {b->B, b->T, m->cfg.C};
    int rc = test_read_ints(io, "input_ids", b->B, b->T, b->ids, &err) ||
             test_read_ints(io, "attention_mask", b->B, b->T, b->mask, &err) ||
             st_read_f32(io, "last_hidden_state", 3, hs, b->want, &err);
    st_close(io);
    return rc ? -1 : 0;
}

static int ready_calls;
static void count_ready(void *ctx, int layer) { (void)ctx, (void)layer, ready_calls++; }

/* The forward at the real tokens; finite everywhere; one row alone the same. */
static void test_forward(const char *name, int bf16) {
    PifiCompute cx16;
    if (bf16) compute_init(&cx16, PIFI_PREC_BF16);
    Encoder m;
    Batch b;
    REQUIRE(load(name, bf16 ? &cx16 : test_cx_fp32(), &m, &b) == 0);
    CHECK(m.cfg.family == &ENCODER_FAMILY_MODERNBERT && m.priv && !m.has_pooler);
    PifiErr err = {0};
    int C = m.cfg.C, BT = b.B * b.T;
    REQUIRE(encoder_forward(&m, b.ids, NULL, b.mask, b.B, b.T, &err) == 0);
    double d = diff_real(encoder_output(&m), b.want, b.mask, BT, C, 0), tol = bf16 ? 3e-2 : 1e-4;
    CHECKF(d <= tol, "%s: %s last_hidden_state at real tokens differs by %.3g", name, bf16 ? "bf16" : "fp32", d);
    int finite = 1;
    for (size_t i = 0; i < (size_t)BT * C; i++) finite &= isfinite(encoder_output(&m)[i]);
    CHECKF(finite, "%s: an output is not finite", name);
    /* the last row alone (it has padding) */
    int last = b.B - 1;
    size_t off = (size_t)last * b.T;
    REQUIRE(encoder_forward(&m, b.ids + off, NULL, b.mask + off, 1, b.T, &err) == 0);
    double d1 = diff_real(encoder_output(&m), b.want + off * C, b.mask + off, b.T, C, 0);
    CHECKF(d1 <= tol, "%s: a batch of one row differs by %.3g", name, d1);
    printf("%-16s %s last_hidden_state at real tokens: relative diff %.2e (one row %.2e)\n", name,
           bf16 ? "bf16" : "fp32", d, d1);
    int32_t bad = m.cfg.V;
    CHECK(encoder_forward(&m, &bad, NULL, NULL, 1, 1, &err) == -1);
    CHECK_MSG(err, "out of range");
    batch_free(&b);
    encoder_free(&m);
    if (bf16) compute_free(&cx16);
}

/* Every parameter's gradient against transformers' autograd. */
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
    int64_t np = encoder_param_count(&m);
    float *gm = calloc((size_t)np, sizeof(float));
    /* the rows tile the arena */
    EncoderTensor rows[ENCODER_TENSORS_MAX];
    int nr = encoder_tensors(&m, rows, ENCODER_TENSORS_MAX);
    int64_t tiled = 0;
    for (int r = 0; r < nr; r++) tiled += rows[r].w == m.param_mem + tiled ? rows[r].n : 0;
    CHECK(nr > 0 && tiled == np && encoder_config_params(&m.cfg) == np);
    REQUIRE(encoder_forward(&m, b.ids, NULL, b.mask, B, T, &err) == 0);
    m.grad_ready = count_ready;
    ready_calls = 0;
    REQUIRE(encoder_backward_mem(&m, gm, NULL, dout, &err) == 0);
    CHECK(ready_calls == m.cfg.L);
    static EncoderExport x;
    REQUIRE(encoder_export(&m, "", &x, &err) == 0);
    double worst = 0, gmax = 0, tol = bf16 ? 5e-2 : 1e-4;
    const char *worst_name = "";
    int compared = 0;
    for (int64_t i = 0; i < np; i++) gmax = fmax(gmax, fabs(gm[i]));
    for (int i = 0; i < x.n; i++) {
        const float *w = x.t[i].data;
        int64_t n = x.t[i].shape[0] * (x.t[i].ndim == 2 ? x.t[i].shape[1] : 1);
        REQUIRE(w >= m.param_mem && w + n <= m.param_mem + np);
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
    if (!bf16) { /* accumulation: a second backward doubles every gradient */
        float *g1 = malloc(sizeof(float) * np);
        memcpy(g1, gm, sizeof(float) * np);
        REQUIRE(encoder_backward_mem(&m, gm, NULL, dout, &err) == 0);
        double dd = 0;
        for (int64_t i = 0; i < np; i++) dd = fmax(dd, fabs(gm[i] - 2 * g1[i]));
        CHECKF(dd <= 1e-5 * gmax, "%s: a second backward does not double the gradients (%g)", name, dd);
        free(g1);
    }
    printf("%-16s %s: %d gradients, worst relative diff %.2e (%s)\n", name, bf16 ? "bf16" : "fp32", compared, worst,
           worst_name);
    free(gm), free(dout);
    batch_free(&b);
    st_close(gs);
    encoder_free(&m);
    if (bf16) compute_free(&cx16);
}

/* sum(out * D) at the real tokens, in double */
static double loss_of(Encoder *m, const Batch *b, const float *D) {
    PifiErr err;
    if (encoder_forward(m, b->ids, NULL, b->mask, b->B, b->T, &err)) return NAN;
    double s = 0;
    for (size_t i = 0; i < (size_t)b->B * b->T * m->cfg.C; i++) s += (double)encoder_output(m)[i] * D[i];
    return s;
}

/* Dropout everywhere (embeddings, probabilities, attention output, MLP):
 * the backward is the gradient of the forward with the same masks. */
static void test_dropout(const char *name) {
    Encoder m;
    Batch b;
    REQUIRE(load(name, test_cx_fp32(), &m, &b) == 0);
    m.cfg.modernbert.emb_dropout = 0.1f, m.cfg.attn_dropout = 0.1f, m.cfg.hidden_dropout = 0.1f;
    encoder_set_train(&m, 1, 7, 3);
    int C = m.cfg.C;
    size_t nout = (size_t)b.B * b.T * C;
    float *D = malloc(nout * sizeof(float));
    for (size_t i = 0; i < nout; i++) D[i] = b.mask[i / C] ? (float)((int)(i * 7919 % 23) - 11) / 11.0f : 0.0f;
    PifiErr err = {0};
    int64_t np = encoder_param_count(&m);
    float *gm = calloc((size_t)np, sizeof(float));
    double l0 = loss_of(&m, &b, D);
    encoder_set_train(&m, 0, 0, 0);
    double le = loss_of(&m, &b, D);
    CHECKF(fabs(l0 - le) > 1e-3, "%s: dropout changed nothing (%g vs %g)", name, l0, le);
    encoder_set_train(&m, 1, 7, 3);
    REQUIRE(!isnan(loss_of(&m, &b, D)));
    REQUIRE(encoder_backward_mem(&m, gm, NULL, D, &err) == 0);
    /* a few coordinates of every tensor: the largest |g| and a fixed one */
    EncoderTensor rows[ENCODER_TENSORS_MAX];
    int nr = encoder_tensors(&m, rows, ENCODER_TENSORS_MAX), bad = 0, total = 0;
    for (int r = 0; r < nr; r++) {
        int64_t off = rows[r].w - m.param_mem, best = 0;
        for (int64_t i = 1; i < rows[r].n; i++)
            if (fabsf(gm[off + i]) > fabsf(gm[off + best])) best = i;
        int64_t picks[2] = {best, (rows[r].n * 5) / 7};
        for (int k = 0; k < 2; k++) {
            float *w = rows[r].w + picks[k], old = *w, eps = 1e-2f;
            *w = old + eps;
            double lp = loss_of(&m, &b, D);
            *w = old - eps;
            double lm = loss_of(&m, &b, D);
            *w = old;
            double fd = (lp - lm) / (2.0 * eps), g = gm[off + picks[k]];
            if (fabs(fd - g) > 2e-2 * fmax(fabs(fd), fabs(g)) + 1e-3) {
                if (bad++ < 3) fprintf(stderr, "  %s[%lld]: analytic %.6g, finite difference %.6g\n", rows[r].name,
                                       (long long)picks[k], g, fd);
            }
            total++;
        }
    }
    CHECKF(bad == 0, "%s dropout: %d of %d coordinates off", name, bad, total);
    printf("%-16s dropout in training: %d coordinates match finite differences\n", name, total);
    free(D), free(gm);
    batch_free(&b);
    encoder_free(&m);
}

/* The export: the checkpoint's names; read back, the same outputs; int8 and LoRA refused. */
static void test_export(const char *name) {
    Encoder m;
    Batch b;
    REQUIRE(load(name, test_cx_fp32(), &m, &b) == 0);
    PifiErr err = {0};
    size_t nout = (size_t)b.B * b.T * m.cfg.C;
    float *h = malloc(nout * sizeof(float));
    REQUIRE(encoder_forward(&m, b.ids, NULL, b.mask, b.B, b.T, &err) == 0);
    memcpy(h, encoder_output(&m), nout * sizeof(float));
    static EncoderExport x;
    REQUIRE(encoder_export(&m, "", &x, &err) == 0);
    char src[1100], dir[1100], path[1200], cmd[4096];
    snprintf(src, sizeof src, "%s/encoders/%s/model.safetensors", test_fixtures(), name);
    SafeTensors *orig;
    REQUIRE(st_open(&orig, src, &err) == 0);
    int same = x.n == st_count(orig);
    for (int i = 0; i < x.n; i++) {
        const StTensor *t;
        same &= st_find(orig, x.t[i].name, &t, &err) == 0;
    }
    st_close(orig);
    CHECKF(same, "%s: exported %d tensors, not the checkpoint's names", name, x.n);
    snprintf(dir, sizeof dir, "%s/modernbert_export_%s", test_tmp(), name);
    REQUIRE(pifi_mkdirs(dir, &err) == 0);
    snprintf(cmd, sizeof cmd, "cp '%s/encoders/%s/config.json' '%s/'", test_fixtures(), name, dir);
    REQUIRE(system(cmd) == 0);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    REQUIRE(st_write(path, x.t, x.n, NULL, &err) == 0);
    Encoder back;
    REQUIRE(encoder_load(&back, dir, test_cx_fp32(), &err) == 0);
    REQUIRE(encoder_forward(&back, b.ids, NULL, b.mask, b.B, b.T, &err) == 0);
    CHECKF(memcmp(encoder_output(&back), h, nout * sizeof(float)) == 0, "%s: export read back differs", name);
    encoder_free(&back);
    CHECK(encoder_quantize(&m, 1, &err) == -1);
    CHECK_MSG(err, "int8: not supported by the modernbert family");
    CHECK(encoder_int8_parts(&m) == 0);
    CHECK(encoder_lora_enable(&m, 4, 8.0f, 0.0f, 1, &err) == -1);
    CHECK_MSG(err, "lora: not supported by the modernbert family");
    CHECK(encoder_config_lora_params(&m.cfg, 4) == 0);
    printf("%-16s export read back identical\n", name);
    free(h);
    batch_free(&b);
    encoder_free(&m);
}

static void test_config(void) {
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/modernbert_bad", test_tmp());
    PifiErr err = {0};
    REQUIRE(pifi_mkdirs(dir, &err) == 0);
    snprintf(path, sizeof path, "%s/config.json", dir);
#define MB_BASE                                                                                                  \
    "{\"model_type\": \"modernbert\", \"vocab_size\": 10, \"hidden_size\": 8, \"num_hidden_layers\": 4,"         \
    "\"num_attention_heads\": 2, \"intermediate_size\": 4, \"pad_token_id\": 0"
    static const struct {
        const char *json, *msg;
    } CASES[] = {
        {MB_BASE ", \"layer_types\": [\"full_attention\", \"full_attention\", \"sliding_attention\", "
                 "\"full_attention\"]}",
         "config.json: \"layer_types\" is not full attention at every n-th layer from layer 0"},
        {MB_BASE ", \"layer_types\": [\"full_attention\", \"sliding_attention\"]}",
         "\"layer_types\" must be a list of num_hidden_layers (4) strings"},
        {MB_BASE ", \"layer_types\": [\"full_attention\", 3, \"full_attention\", \"sliding_attention\"]}",
         "\"layer_types\"[1] must be"},
        {MB_BASE ", \"rope_parameters\": {\"full_attention\": {\"rope_type\": \"yarn\", \"rope_theta\": 10}}}",
         "\"rope_parameters.full_attention.rope_type\" is \"yarn\""},
        {MB_BASE ", \"rope_parameters\": {\"sliding_attention\": {\"rope_theta\": -1}}}",
         "\"rope_parameters.sliding_attention.rope_theta\" is -1, expected a positive number"},
        {MB_BASE ", \"rope_scaling\": {\"type\": \"linear\"}}", "\"rope_scaling\" is not supported"},
        {MB_BASE ", \"global_rope_theta\": 0}", "\"global_rope_theta\" is 0"},
        {MB_BASE ", \"global_attn_every_n_layers\": 0}", "\"global_attn_every_n_layers\" is 0, expected 1.."},
        {MB_BASE ", \"local_attention\": -2}", "\"local_attention\" is -2"},
        {MB_BASE ", \"mlp_dropout\": 1.5}", "\"mlp_dropout\" is 1.5, expected [0, 1)"},
        {MB_BASE ", \"norm_bias\": \"no\"}", "norm_bias"},
        {MB_BASE ", \"hidden_activation\": \"mish\"}", "unsupported hidden_activation \"mish\""},
        {"{\"model_type\": \"modernbert\", \"vocab_size\": 10, \"hidden_size\": 6, \"num_hidden_layers\": 1,"
         "\"num_attention_heads\": 2, \"intermediate_size\": 4, \"pad_token_id\": 0}",
         "is not an even head size"},
        {"{\"model_type\": \"modernbert\", \"vocab_size\": 10, \"hidden_size\": 8, \"num_hidden_layers\": 1,"
         "\"num_attention_heads\": 2, \"intermediate_size\": 4}",
         "\"pad_token_id\" is 50283, expected 0..9"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        REQUIRE(pifi_write_file_atomic(path, CASES[i].json, strlen(CASES[i].json), &err) == 0);
        EncoderConfig cfg;
        CHECK(encoder_config_load(&cfg, path, &err) == -1);
        CHECK_MSG(err, CASES[i].msg);
        CHECKF(!strchr(err.msg, '\n'), "%s", err.msg);
    }
    /* transformers 4's form and ModernBertConfig's defaults */
    const char *v4 = MB_BASE ", \"global_attn_every_n_layers\": 2, \"global_rope_theta\": 1000.0,"
                             "\"local_rope_theta\": 50.0, \"local_attention\": 6}";
    REQUIRE(pifi_write_file_atomic(path, v4, strlen(v4), &err) == 0);
    EncoderConfig cfg;
    REQUIRE(encoder_config_load(&cfg, path, &err) == 0);
    CHECK(cfg.modernbert.global_every == 2 && cfg.modernbert.window == 3 && cfg.modernbert.rope_global == 1000.0f &&
          cfg.modernbert.rope_local == 50.0f && cfg.modernbert.bias == 0 && cfg.act == ACT_GELU && cfg.ln_eps == 1e-5f &&
          cfg.maxT == 8192 && cfg.TV == 0);
    CHECK(mb_sliding(&cfg, 1) && !mb_sliding(&cfg, 2) && mb_sliding(&cfg, 3));
    /* transformers 5's form wins over the older fields */
    const char *v5 = MB_BASE ", \"global_attn_every_n_layers\": 2, \"layer_types\": [\"full_attention\","
                             "\"sliding_attention\", \"sliding_attention\", \"full_attention\"],"
                             "\"rope_parameters\": {\"full_attention\": {\"rope_type\": \"default\", \"rope_theta\": 7},"
                             "\"sliding_attention\": {\"rope_type\": \"default\", \"rope_theta\": 3}},"
                             "\"attention_bias\": true, \"norm_bias\": true}";
    REQUIRE(pifi_write_file_atomic(path, v5, strlen(v5), &err) == 0);
    REQUIRE(encoder_config_load(&cfg, path, &err) == 0);
    CHECK(cfg.modernbert.global_every == 3 && cfg.modernbert.rope_global == 7.0f && cfg.modernbert.rope_local == 3.0f &&
          cfg.modernbert.bias == (MB_BIAS_ATTN | MB_BIAS_NORM) && cfg.modernbert.window == 64 && cfg.modernbert.rope_local == 3.0f);
    /* parameters: tok, norms (layer 0 without attn_norm), Wqkv and Wo with biases, mlp without */
    int64_t C = 8, FF = 4, L = 4;
    CHECK(encoder_config_params(&cfg) == 10 * C + 2 * C + 2 * (L - 1) * C + L * (3 * C * C + 3 * C + C * C + C) +
                                            L * 2 * C + L * (2 * FF * C + C * FF) + 2 * C);
#undef MB_BASE
}

int main(void) {
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
        test_forward(NAMES[i], 0);
        test_forward(NAMES[i], 1);
        test_grads(NAMES[i], 0);
        test_grads(NAMES[i], 1);
        test_dropout(NAMES[i]);
        test_export(NAMES[i]);
    }
    test_config();
    TEST_DONE();
}
