/* test_deberta.c: the DeBERTa family against transformers' DebertaModel and
 * DebertaV2Model, on the tiny random checkpoints of fixtures/deberta/
 * (tools/oracle_deberta.py: v1 with and without embed_proj, V2 with and
 * without share_att_key, log buckets, p2c alone, V3-like short and long):
 *   - v2's log buckets of every relative position -600..600, exactly;
 *   - last_hidden_state of a padded batch (token types where the config has
 *     them) within 1e-4, fp32; bf16 within 5e-2;
 *   - the gradient of every parameter of sum(last_hidden_state * dout)
 *     within 1e-4 of the tensor's largest |g| (floored at 1% of the model's
 *     largest: v2's key biases get only rounding noise, a softmax ignoring a
 *     constant per query);
 *   - 10 Adam steps of a PiFi classifier on the V3-like SLM (base, pifi with
 *     a llama layer, LoRA on query_proj / value_proj): every step-0 gradient
 *     within 1e-4 relative and the 10 losses within 1e-4 (fixtures/deberta/train);
 *   - the export under transformers' names, written and read back to the
 *     same outputs; the padding row of the word embeddings gets no gradient;
 *     dropout in training recomputed bit-identically by the backward;
 *     config.json refusals and the errors of what the family lacks. */
#include <stdint.h>

#include "kernels/activation.h"
#include "models/encoders/deberta_internal.h"
#include "models/encoders/encoder_family.h"
#include "pifi/encoder_export.h"
#include "pifi/fileio.h"
#include "pifi/json.h"
#include "test.h"
#include "test_cx.h"
#include "test_fixture_io.h"
#include "test_train_oracle.h"

static const char *NAMES[] = {"deberta_v1_tiny", "deberta_v1_emb",  "deberta_v3_tiny",      "deberta_v2_noshare",
                              "deberta_v2_p2c",  "deberta_v3_long", "deberta_v2_conv", "deberta_v2_conv_groups"};

/* The floats of an exported tensor (1 to 3 dimensions: the conv weight has 3). */
static int64_t numel(const StWriteTensor *t) {
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

static void fixture_dir(char *dir, size_t n, const char *name) {
    snprintf(dir, n, "%s/deberta/encoders/%s", test_fixtures(), name);
}

typedef struct {
    int B, T;
    int32_t *ids, *types, *mask;
    float *want; /* (B, T, C) last_hidden_state */
} DBatch;

static int load_fixture(const char *name, Encoder *m, PifiCompute *cx, DBatch *b) {
    char dir[1024], p[1100];
    fixture_dir(dir, sizeof dir, name);
    PifiErr err = {0};
    if (encoder_load(m, dir, cx, &err)) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        return -1;
    }
    snprintf(p, sizeof p, "%s/io.safetensors", dir);
    SafeTensors *io;
    if (st_open(&io, p, &err)) return -1;
    const StTensor *t;
    if (st_get(io, "input_ids", &t, &err)) return -1;
    b->B = (int)t->shape[0], b->T = (int)t->shape[1];
    size_t n = (size_t)b->B * b->T;
    b->ids = malloc(n * sizeof(int32_t)), b->types = malloc(n * sizeof(int32_t)), b->mask = malloc(n * sizeof(int32_t));
    b->want = malloc(n * m->cfg.C * sizeof(float));
    int64_t hs[3] = {b->B, b->T, m->cfg.C};
    int rc = test_read_ints(io, "input_ids", b->B, b->T, b->ids, &err) ||
             test_read_ints(io, "token_type_ids", b->B, b->T, b->types, &err) ||
             test_read_ints(io, "attention_mask", b->B, b->T, b->mask, &err) ||
             st_read_f32(io, "last_hidden_state", 3, hs, b->want, &err);
    st_close(io);
    return rc ? -1 : 0;
}

static void dbatch_free(DBatch *b) { free(b->ids), free(b->types), free(b->mask), free(b->want); }

/* ------------------------------------------------------------------------ */

static void test_buckets(const char *name) {
    char dir[1024], p[1100];
    fixture_dir(dir, sizeof dir, name);
    snprintf(p, sizeof p, "%s/io.safetensors", dir);
    PifiErr err = {0};
    SafeTensors *io;
    REQUIRE(st_open(&io, p, &err) == 0);
    const StTensor *t;
    if (st_find(io, "relative_position", &t, &err) != 0) { /* not log-bucketed */
        st_close(io);
        return;
    }
    snprintf(p, sizeof p, "%s/config.json", dir);
    EncoderConfig cfg;
    REQUIRE(encoder_config_load(&cfg, p, &err) == 0);
    int n = (int)t->shape[0];
    int32_t *rel = malloc(sizeof(int32_t) * n), *want = malloc(sizeof(int32_t) * n);
    float *tmp = malloc(sizeof(float) * n);
    int64_t shape[1] = {n};
    REQUIRE(st_read_f32(io, "relative_position", 1, shape, tmp, &err) == 0);
    for (int i = 0; i < n; i++) rel[i] = (int32_t)tmp[i];
    REQUIRE(st_read_f32(io, "relative_position_bucket", 1, shape, tmp, &err) == 0);
    for (int i = 0; i < n; i++) want[i] = (int32_t)tmp[i];
    int bad = 0;
    for (int i = 0; i < n; i++)
        if (deberta_bucket(rel[i], cfg.deberta.buckets, cfg.deberta.max_rel) != want[i] && bad++ < 5)
            fprintf(stderr, "  %s: relative position %d: bucket %d, transformers %d\n", name, rel[i],
                    deberta_bucket(rel[i], cfg.deberta.buckets, cfg.deberta.max_rel), want[i]);
    CHECKF(bad == 0 && n == 1201, "%s: %d of %d buckets differ", name, bad, n);
    /* the real DeBERTa-V3's buckets: 256 over 512 positions */
    REQUIRE(st_read_f32(io, "relative_position_bucket_256_512", 1, shape, tmp, &err) == 0);
    int bad3 = 0;
    for (int i = 0; i < n; i++) bad3 += deberta_bucket(rel[i], 256, 512) != (int32_t)tmp[i];
    CHECKF(bad3 == 0, "%s: %d of %d buckets (256, 512) differ", name, bad3, n);
    printf("%-20s %d relative positions: log buckets identical to transformers' (and 256/512's)\n", name, n);
    free(rel), free(want), free(tmp);
    st_close(io);
}

static void test_forward(const char *name) {
    Encoder m;
    DBatch b;
    REQUIRE(load_fixture(name, &m, test_cx_fp32(), &b) == 0);
    CHECK(m.cfg.family == &ENCODER_FAMILY_DEBERTA);
    PifiErr err = {0};
    REQUIRE(encoder_forward(&m, b.ids, b.types, b.mask, b.B, b.T, &err) == 0);
    size_t n = (size_t)b.B * b.T * m.cfg.C;
    double d = 0;
    for (size_t i = 0; i < n; i++) d = fmax(d, fabs(encoder_output(&m)[i] - b.want[i]));
    CHECKF(d <= 1e-4, "%s: last_hidden_state differs from transformers' by %.3g", name, d);
    /* bf16 products: close, not equal */
    PifiCompute cx16;
    compute_init(&cx16, PIFI_PREC_BF16);
    m.cx = &cx16;
    encoder_precision_changed(&m);
    REQUIRE(encoder_forward(&m, b.ids, b.types, b.mask, b.B, b.T, &err) == 0);
    double d16 = 0;
    for (size_t i = 0; i < n; i++) d16 = fmax(d16, fabs(encoder_output(&m)[i] - b.want[i]));
    CHECKF(d16 <= 0.1 && d16 > 0, "%s: bf16 last_hidden_state differs by %.3g", name, d16);
    m.cx = test_cx_fp32();
    encoder_precision_changed(&m);
    compute_free(&cx16);
    /* inference mode (one layer's buffers): the same numbers */
    encoder_set_inference(&m, 1);
    REQUIRE(encoder_forward(&m, b.ids, b.types, b.mask, b.B, b.T, &err) == 0);
    double di = 0;
    for (size_t i = 0; i < n; i++) di = fmax(di, fabs(encoder_output(&m)[i] - b.want[i]));
    CHECKF(di == d, "%s: inference mode gives other numbers (%.3g vs %.3g)", name, di, d);
    printf("%-20s last_hidden_state max |diff| %.2e (bf16 %.2e)\n", name, d, d16);
    encoder_free(&m);
    dbatch_free(&b);
}

static void test_grads(const char *name) {
    Encoder m;
    DBatch b;
    REQUIRE(load_fixture(name, &m, test_cx_fp32(), &b) == 0);
    char dir[1024], p[1100];
    fixture_dir(dir, sizeof dir, name);
    snprintf(p, sizeof p, "%s/grads.safetensors", dir);
    PifiErr err = {0};
    SafeTensors *gs;
    REQUIRE(st_open(&gs, p, &err) == 0);
    float *dout = malloc(sizeof(float) * b.B * b.T * m.cfg.C);
    int64_t ds[3] = {b.B, b.T, m.cfg.C};
    REQUIRE(st_read_f32(gs, "dout", 3, ds, dout, &err) == 0);
    float *gm = calloc((size_t)encoder_param_count(&m), sizeof(float));
    REQUIRE(encoder_forward(&m, b.ids, b.types, b.mask, b.B, b.T, &err) == 0);
    int rc = encoder_backward_mem(&m, gm, NULL, dout, &err);
    CHECKF(rc == 0, "%s: %s", name, err.msg);
    static EncoderExport x;
    REQUIRE(deberta_export_mem(&m, gm, "", &x, &err) == 0);
    double worst = 0, gmax = 0;
    const char *worst_name = "";
    int compared = 0;
    for (int64_t i = 0; i < encoder_param_count(&m); i++) gmax = fmax(gmax, fabs(gm[i]));
    for (int i = 0; i < x.n; i++) {
        const StTensor *t;
        int found = st_find(gs, x.t[i].name, &t, &err) == 0;
        CHECKF(found, "%s: transformers has no parameter %s", name, x.t[i].name);
        if (!found) continue;
        int64_t n = numel(&x.t[i]);
        float *want = malloc(sizeof(float) * n);
        CHECK(t->numel == n && st_read_f32(gs, x.t[i].name, x.t[i].ndim, x.t[i].shape, want, &err) == 0);
        double d = test_rel_diff(x.t[i].data, want, n, 1e-2 * gmax);
        CHECKF(d <= 1e-4, "%s: gradient of %s differs by %.3g (relative to its largest)", name, x.t[i].name, d);
        if (d > worst) worst = d, worst_name = x.t[i].name;
        compared++;
        free(want);
    }
    CHECKF(compared == st_count(gs) - 1, "%s: %d of %d gradients compared", name, compared, st_count(gs) - 1);
    /* nn.Embedding(padding_idx): the pad row gets none, even where the pad id is a real token */
    b.ids[1] = m.cfg.pad_id;
    memset(gm, 0, (size_t)encoder_param_count(&m) * sizeof(float));
    REQUIRE(encoder_forward(&m, b.ids, b.types, b.mask, b.B, b.T, &err) == 0);
    REQUIRE(encoder_backward_mem(&m, gm, NULL, dout, &err) == 0);
    double pad = 0, other = 0;
    for (int e = 0; e < m.cfg.E; e++) {
        pad = fmax(pad, fabs(gm[(size_t)m.cfg.pad_id * m.cfg.E + e]));
        other = fmax(other, fabs(gm[(size_t)b.ids[2] * m.cfg.E + e]));
    }
    CHECKF(pad == 0.0 && other > 0.0, "%s: the padding row's gradient is %g", name, pad);
    printf("%-20s %d gradients, worst relative diff %.2e (%s)\n", name, compared, worst, worst_name);
    free(gm), free(dout);
    st_close(gs);
    encoder_free(&m);
    dbatch_free(&b);
}


/* ------------------------------------------------------------------------ */
/* training: step-0 gradients and 10 Adam steps against torch */

/* The DeBERTa export over an arena (the weights, or the gradients laid out
 * as param_mem), its adapters, the heads. */
static const float *deberta_view(Trainer *t, int weights, const char *name, int64_t *n) {
    static EncoderExport x;
    PifiErr err;
    const float *enc = weights ? t->model.slm.param_mem : t->grads.enc;
    if (t->grads.enc && deberta_export_mem(&t->model.slm, enc, "", &x, &err) == 0)
        for (int i = 0; i < x.n; i++)
            if (!strcmp(x.t[i].name, name)) {
                *n = numel(&x.t[i]);
                return x.t[i].data;
            }
    char tn[192];
    float *data;
    int64_t shape[2];
    float *lora = weights ? NULL : t->grads.lora; /* NULL: the model's own adapters */
    for (int i = 0; t->grads.lora && deberta_lora_tensor(&t->model.slm, lora, i, tn, sizeof tn, &data, shape) == 0;
         i++)
        if (!strcmp(tn, name)) {
            *n = shape[0] * shape[1];
            return data;
        }
    return train_oracle_head_view(t, weights, name, n);
}

/* ------------------------------------------------------------------------ */
/* export, dropout, LoRA, refusals */

/* Write x with the fixture's config.json into a new directory; load it back. */
static int write_back(const char *name, const char *tag, EncoderExport *x, Encoder *back) {
    char dir[1100], path[1200], cmd[4096];
    snprintf(dir, sizeof dir, "%s/deberta_export_%s_%s", test_tmp(), name, tag);
    PifiErr err = {0};
    if (pifi_mkdirs(dir, &err)) return -1;
    snprintf(cmd, sizeof cmd, "cp '%s/deberta/encoders/%s/config.json' '%s/'", test_fixtures(), name, dir);
    if (system(cmd) != 0) return -1;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (st_write(path, x->t, x->n, NULL, &err)) return -1;
    if (encoder_load(back, dir, test_cx_fp32(), &err)) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        return -1;
    }
    return 0;
}

static void test_export(const char *name) {
    Encoder m, back;
    DBatch b;
    REQUIRE(load_fixture(name, &m, test_cx_fp32(), &b) == 0);
    PifiErr err = {0};
    size_t nout = (size_t)b.B * b.T * m.cfg.C;
    float *h = malloc(nout * sizeof(float));
    REQUIRE(encoder_forward(&m, b.ids, b.types, b.mask, b.B, b.T, &err) == 0);
    memcpy(h, encoder_output(&m), nout * sizeof(float));
    static EncoderExport x;
    REQUIRE(encoder_export(&m, "", &x, &err) == 0);
    char src[1100];
    snprintf(src, sizeof src, "%s/deberta/encoders/%s/model.safetensors", test_fixtures(), name);
    SafeTensors *orig;
    REQUIRE(st_open(&orig, src, &err) == 0);
    int same = x.n == st_count(orig);
    for (int i = 0; i < x.n; i++) {
        const StTensor *t;
        same &= st_find(orig, x.t[i].name, &t, &err) == 0;
    }
    CHECKF(same, "%s: exported %d tensors, the checkpoint has %d (or other names)", name, x.n, st_count(orig));
    st_close(orig);
    REQUIRE(write_back(name, "fp32", &x, &back) == 0);
    REQUIRE(encoder_forward(&back, b.ids, b.types, b.mask, b.B, b.T, &err) == 0);
    CHECKF(memcmp(encoder_output(&back), h, nout * sizeof(float)) == 0, "%s: export read back differs", name);
    encoder_free(&back);
    /* a task model's "deberta." prefix is read too */
    REQUIRE(encoder_export(&m, "deberta.", &x, &err) == 0);
    REQUIRE(write_back(name, "prefixed", &x, &back) == 0);
    REQUIRE(encoder_forward(&back, b.ids, b.types, b.mask, b.B, b.T, &err) == 0);
    CHECKF(memcmp(encoder_output(&back), h, nout * sizeof(float)) == 0, "%s: prefixed export differs", name);
    encoder_free(&back);
    /* what the family lacks, each in its own words */
    CHECK(encoder_quantize(&m, 1, &err) == -1);
    CHECK_MSG(err, "int8 quantization is not supported by the deberta family");
    CHECK(encoder_int8_parts(&m) == 0);
    if (m.cfg.deberta.version == 1) {
        CHECK(encoder_lora_enable(&m, 4, 8.0f, 0.0f, 1, &err) == -1);
        CHECK_MSG(err, "lora: not supported for model_type \"deberta\" (v1)");
    } else { /* LoRA folded into query_proj / value_proj: a plain checkpoint, the same outputs */
        REQUIRE(encoder_lora_enable(&m, 4, 8.0f, 0.0f, 1, &err) == 0);
        for (int64_t i = 0; i < encoder_lora_param_count(&m); i++) /* B nonzero too */
            m.lora_mem[i] = 0.05f * (float)((i * 7919) % 13 - 6);
        REQUIRE(encoder_forward(&m, b.ids, b.types, b.mask, b.B, b.T, &err) == 0);
        memcpy(h, encoder_output(&m), nout * sizeof(float));
        float *keep;
        REQUIRE(encoder_export_merged(&m, "", &x, &keep, &err) == 0 && keep);
        REQUIRE(write_back(name, "lora", &x, &back) == 0);
        free(keep);
        REQUIRE(encoder_forward(&back, b.ids, b.types, b.mask, b.B, b.T, &err) == 0);
        double d = 0;
        for (size_t i = 0; i < nout; i++) d = fmax(d, fabs(encoder_output(&back)[i] - h[i]));
        CHECKF(d < 1e-4 && d > 0, "%s: LoRA merged export differs by %g", name, d);
        char nm[192];
        CHECK(deberta_lora_tensor(&m, NULL, 3, nm, sizeof nm, NULL, NULL) == 0);
        CHECKF(!strcmp(nm, "encoder.layer.0.attention.self.value_proj.lora_B.weight"), "%s", nm);
        encoder_free(&back);
    }
    printf("%-20s export: transformers' names, read back to the same outputs\n", name);
    free(h);
    encoder_free(&m);
    dbatch_free(&b);
}

/* sum(out * dout) in double */
static double dot_out(Encoder *m, const DBatch *b, const float *dout) {
    PifiErr err;
    if (encoder_forward(m, b->ids, b->types, b->mask, b->B, b->T, &err)) return NAN;
    double s = 0;
    for (size_t i = 0; i < (size_t)b->B * b->T * m->cfg.C; i++) s += (double)encoder_output(m)[i] * dout[i];
    return s;
}

/* Training mode, every dropout on (hidden, attention, relative embeddings,
 * LoRA): the forward is a pure function of (seed, step), and the backward
 * differentiates the same masks: central differences of sum(out * dout) on
 * the largest gradients of a few tensors. */
static void test_dropout(const char *name) {
    Encoder m;
    DBatch b;
    REQUIRE(load_fixture(name, &m, test_cx_fp32(), &b) == 0);
    PifiErr err = {0};
    m.cfg.hidden_dropout = 0.2f, m.cfg.attn_dropout = 0.2f;
    int lora = m.cfg.deberta.version == 2;
    if (lora) {
        REQUIRE(encoder_lora_enable(&m, 4, 8.0f, 0.3f, 7, &err) == 0);
        for (int64_t i = 0; i < encoder_lora_param_count(&m); i++) m.lora_mem[i] = 0.05f * (float)((i * 31) % 11 - 5);
    }
    encoder_set_train(&m, 1, 1234, 5);
    size_t nout = (size_t)b.B * b.T * m.cfg.C;
    float *dout = malloc(nout * sizeof(float)), *h = malloc(nout * sizeof(float));
    for (size_t i = 0; i < nout; i++) dout[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    REQUIRE(encoder_forward(&m, b.ids, b.types, b.mask, b.B, b.T, &err) == 0);
    memcpy(h, encoder_output(&m), nout * sizeof(float));
    float *gm = calloc((size_t)m.num_params, sizeof(float));
    float *gl = lora ? calloc((size_t)m.num_lora_params, sizeof(float)) : NULL;
    REQUIRE(encoder_backward_mem(&m, gm, gl, dout, &err) == 0);
    REQUIRE(encoder_forward(&m, b.ids, b.types, b.mask, b.B, b.T, &err) == 0);
    CHECKF(memcmp(h, encoder_output(&m), nout * sizeof(float)) == 0, "%s: training forward not repeatable", name);
    encoder_set_train(&m, 1, 1234, 6);
    REQUIRE(encoder_forward(&m, b.ids, b.types, b.mask, b.B, b.T, &err) == 0);
    CHECKF(memcmp(h, encoder_output(&m), nout * sizeof(float)) != 0, "%s: step 6 draws step 5's masks", name);
    encoder_set_train(&m, 1, 1234, 5);
    EncoderTensor rows[ENCODER_TENSORS_MAX];
    int nr = encoder_tensors(&m, rows, ENCODER_TENSORS_MAX);
    double worst = 0;
    int checked = 0;
    for (int r = -1; r < nr; r++) {
        float *w, *g;
        int64_t n;
        if (r < 0) { /* the adapters */
            if (!lora) continue;
            w = m.lora_mem, g = gl, n = m.num_lora_params;
        } else {
            if (strcmp(rows[r].name, "rel") && strcmp(rows[r].name, "qkvw") && strcmp(rows[r].name, "wte") &&
                strcmp(rows[r].name, "pkw") && strcmp(rows[r].name, "emb_lnw"))
                continue;
            w = rows[r].w, g = gm + (rows[r].w - m.param_mem), n = rows[r].n;
        }
        int64_t k = 0;
        for (int64_t i = 1; i < n; i++)
            if (fabs(g[i]) > fabs(g[k])) k = i;
        float old = w[k], eps = 1e-2f * fmaxf(1.0f, fabsf(old));
        w[k] = old + eps;
        m.w16_fresh = 0;
        double lp = dot_out(&m, &b, dout);
        w[k] = old - eps;
        double lm = dot_out(&m, &b, dout);
        w[k] = old;
        double fd = (lp - lm) / (2.0 * eps), e = fabs(fd - g[k]) / fmax(fabs(g[k]), 1e-3);
        CHECKF(e < 2e-2, "%s: %s[%lld]: backward %g, central difference %g", name, r < 0 ? "lora" : rows[r].name,
               (long long)k, g[k], fd);
        worst = fmax(worst, e);
        checked++;
    }
    CHECK(checked >= 3);
    printf("%-20s dropout on: %d largest gradients vs central differences, worst %.2e\n", name, checked, worst);
    free(dout), free(h), free(gm), free(gl);
    encoder_free(&m);
    dbatch_free(&b);
}

static void test_config_refused(void) {
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/deberta_bad", test_tmp());
    PifiErr err = {0};
    REQUIRE(pifi_mkdirs(dir, &err) == 0);
    snprintf(path, sizeof path, "%s/config.json", dir);
#define BASE "\"vocab_size\": 10, \"hidden_size\": 8, \"num_hidden_layers\": 1, \"num_attention_heads\": 2, " \
             "\"intermediate_size\": 4, \"max_position_embeddings\": 8, \"relative_attention\": true"
    static const struct {
        const char *json, *msg;
    } CASES[] = {
        {"{\"model_type\": \"deberta-v2\", " BASE ", \"conv_kernel_size\": 4}", "\"conv_kernel_size\" is 4; an even"},
        {"{\"model_type\": \"deberta-v2\", " BASE ", \"conv_kernel_size\": 3, \"conv_groups\": 3}",
         "\"conv_groups\" 3 does not divide \"hidden_size\" 8"},
        {"{\"model_type\": \"deberta-v2\", " BASE ", \"conv_kernel_size\": 3, \"conv_act\": \"elu\"}",
         "unsupported \"conv_act\" \"elu\""},
        {"{\"model_type\": \"deberta-v2\", " BASE ", \"conv_kernel_size\": 300}", "\"conv_kernel_size\" is 300"},
        {"{\"model_type\": \"deberta\", " BASE ", \"talking_head\": true}", "\"talking_head\" is true"},
        {"{\"model_type\": \"deberta-v2\", " BASE ", \"pos_att_type\": \"c2p|p2p\"}",
         "\"pos_att_type\" holds \"p2p\""},
        {"{\"model_type\": \"deberta-v2\", " BASE ", \"pos_att_type\": [\"c2p\", \"c2p\"]}", "names \"c2p\" twice"},
        {"{\"model_type\": \"deberta-v2\", " BASE ", \"pos_att_type\": 3}", "\"pos_att_type\" must be a string"},
        {"{\"model_type\": \"deberta-v2\", " BASE ", \"norm_rel_ebd\": \"batch_norm\"}",
         "\"norm_rel_ebd\" holds \"batch_norm\""},
        {"{\"model_type\": \"deberta-v2\", " BASE ", \"position_buckets\": 1}", "\"position_buckets\" 1 needs"},
        {"{\"model_type\": \"deberta-v2\", " BASE ", \"position_buckets\": 16, \"max_relative_positions\": 9}",
         "\"position_buckets\" 16 needs"},
        {"{\"model_type\": \"deberta-v2\", " BASE ", \"attention_head_size\": 3}", "\"attention_head_size\" is 3"},
        {"{\"model_type\": \"deberta\", \"hidden_size\": 8}", "\"vocab_size\""},
        {"{\"model_type\": \"deberta\", " BASE ", \"relative_attention\": 1}", "relative_attention"},
        {"{\"model_type\": \"deberta\", " BASE ", \"max_relative_positions\": 100000000}", "max_relative_positions"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        REQUIRE(pifi_write_file_atomic(path, CASES[i].json, strlen(CASES[i].json), &err) == 0);
        EncoderConfig cfg;
        CHECKF(encoder_config_load(&cfg, path, &err) == -1, "case %zu accepted", i);
        CHECK_MSG(err, CASES[i].msg);
        CHECKF(strstr(err.msg, path) != NULL && !strchr(err.msg, '\n'), "case %zu: %s", i, err.msg);
    }
    /* transformers' defaults: no token types, eps 1e-7, absolute positions, span max_position_embeddings */
    const char *ok = "{\"model_type\": \"deberta-v2\", " BASE ", \"pos_att_type\": \"p2c|c2p\"}";
    REQUIRE(pifi_write_file_atomic(path, ok, strlen(ok), &err) == 0);
    EncoderConfig cfg;
    REQUIRE(encoder_config_load(&cfg, path, &err) == 0);
    CHECK(cfg.TV == 0 && fabsf(cfg.ln_eps - 1e-7f) < 1e-12f && cfg.deberta.pos_input && cfg.deberta.max_rel == 8 &&
          cfg.deberta.c2p && cfg.deberta.p2c && !cfg.deberta.buckets && cfg.deberta.version == 2 && cfg.E == 8);
    CHECK(encoder_config_params(&cfg) == (10 + 8) * 8 + 2 * 8 + 3 * 64 + 3 * 8 + 2 * (64 + 8) + 64 + 8 + 2 * 8 +
                                             2 * 32 + 4 + 8 + 2 * 8 + 16 * 8);
    /* ConvLayer: kernel 3, 2 groups: a (8, 4, 3) weight, its bias and LayerNorm; tanh by default */
    const char *cv = "{\"model_type\": \"deberta-v2\", " BASE ", \"pos_att_type\": \"p2c|c2p\", "
                     "\"conv_kernel_size\": 3, \"conv_groups\": 2}";
    REQUIRE(pifi_write_file_atomic(path, cv, strlen(cv), &err) == 0);
    EncoderConfig cc;
    REQUIRE(encoder_config_load(&cc, path, &err) == 0);
    CHECK(cc.deberta.conv_k == 3 && cc.deberta.conv_groups == 2 && cc.deberta.conv_act == ACT_TANH);
    CHECK(encoder_config_params(&cc) == encoder_config_params(&cfg) + 8 * 4 * 3 + 3 * 8);
#undef BASE
}

int main(void) {
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
        test_buckets(NAMES[i]);
        test_forward(NAMES[i]);
        test_grads(NAMES[i]);
        test_export(NAMES[i]);
        test_dropout(NAMES[i]);
    }
    test_config_refused();
    static const char *CASES[] = {"base", "pifi_llama", "lora", "pifi_llama_conv"};
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/deberta/train/%s", test_fixtures(), CASES[i]);
        train_oracle_case(dir, CASES[i], &ENCODER_FAMILY_DEBERTA, deberta_view);
    }
    TEST_DONE();
}
