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

#include "models/encoders/deberta_internal.h"
#include "models/encoders/encoder_family.h"
#include "pifi/encoder_export.h"
#include "pifi/fileio.h"
#include "pifi/json.h"
#include "test.h"
#include "test_cx.h"
#include "test_fixture_io.h"
#include "train/loss.h"
#include "train/trainer.h"

static const char *NAMES[] = {"deberta_v1_tiny",    "deberta_v1_emb", "deberta_v3_tiny",
                              "deberta_v2_noshare", "deberta_v2_p2c", "deberta_v3_long"};

static void fixture_dir(char *dir, size_t n, const char *name) {
    snprintf(dir, n, "%s/deberta/encoders/%s", test_fixtures(), name);
}

/* max |a - b| / max(max |b|, floor) */
static double rel_diff(const float *a, const float *b, int64_t n, double floor) {
    double d = 0, m = floor;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (!(e <= d)) d = e;
        if (fabs(b[i]) > m) m = fabs(b[i]);
    }
    return d / m;
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
        int64_t n = x.t[i].shape[0] * (x.t[i].ndim == 2 ? x.t[i].shape[1] : 1);
        float *want = malloc(sizeof(float) * n);
        CHECK(t->numel == n && st_read_f32(gs, x.t[i].name, x.t[i].ndim, x.t[i].shape, want, &err) == 0);
        double d = rel_diff(x.t[i].data, want, n, 1e-2 * gmax);
        CHECKF(d <= 1e-4, "%s: gradient of %s differs by %.3g (relative to its largest)", name, x.t[i].name, d);
        if (d > worst) worst = d, worst_name = x.t[i].name;
        compared++;
        free(want);
    }
    CHECKF(compared == st_count(gs) - 1, "%s: %d of %d gradients compared", name, compared, st_count(gs) - 1);
    /* nn.Embedding(padding_idx): the pad row has none */
    double pad = 0;
    for (int e = 0; e < m.cfg.E; e++) pad = fmax(pad, fabs(gm[(size_t)m.cfg.pad_id * m.cfg.E + e]));
    CHECK(pad == 0.0);
    printf("%-20s %d gradients, worst relative diff %.2e (%s)\n", name, compared, worst, worst_name);
    free(gm), free(dout);
    st_close(gs);
    encoder_free(&m);
    dbatch_free(&b);
}


/* ------------------------------------------------------------------------ */
/* training: step-0 gradients and 10 Adam steps against torch */

static int read_i32(SafeTensors *st, const char *name, int64_t n, int32_t *out) {
    const StTensor *t;
    PifiErr err;
    if (st_get(st, name, &t, &err) || t->numel != n) return -1;
    float *tmp = malloc((size_t)n * sizeof *tmp);
    int64_t shape[3] = {t->shape[0], t->shape[1], t->shape[2]};
    int rc = st_read_f32(st, name, t->ndim, shape, tmp, &err);
    for (int64_t i = 0; rc == 0 && i < n; i++) out[i] = (int32_t)tmp[i];
    free(tmp);
    return rc;
}

/* The gradient (or, from the weights, the value) of a trainable tensor named
 * as the oracle names it; NULL if pifi has no such tensor. */
static const float *find_view(Trainer *t, const float *enc, float *lora, const char *name, int64_t *n) {
    static EncoderExport x;
    PifiErr err;
    if (enc && deberta_export_mem(&t->model.slm, enc, "", &x, &err) == 0)
        for (int i = 0; i < x.n; i++)
            if (!strcmp(x.t[i].name, name)) {
                *n = x.t[i].shape[0] * (x.t[i].ndim == 2 ? x.t[i].shape[1] : 1);
                return x.t[i].data;
            }
    char tn[192];
    float *data;
    int64_t shape[2];
    for (int i = 0; lora && deberta_lora_tensor(&t->model.slm, lora, i, tn, sizeof tn, &data, shape) == 0; i++)
        if (!strcmp(tn, name)) {
            *n = shape[0] * shape[1];
            return data;
        }
    for (int i = 0; i < t->pt.n; i++) /* pifi.l_in.weight -> l_in.weight */
        if (!strncmp(t->pt.refs[i].name, "pifi.", 5) && !strcmp(t->pt.refs[i].name + 5, name)) {
            *n = t->pt.refs[i].n;
            return enc == t->model.slm.param_mem ? t->pt.refs[i].w : t->pt.refs[i].g;
        }
    return NULL;
}

static void train_case(const char *name) {
    char dir[1024], p[1200];
    snprintf(dir, sizeof dir, "%s/deberta/train/%s", test_fixtures(), name);
    PifiErr err = {0};
    cJSON *meta;
    snprintf(p, sizeof p, "%s/meta.json", dir);
    REQUIRE(pifi_json_load(p, 0, &meta, &err) == 0);
    char slm[1200], llm[1200];
    snprintf(slm, sizeof slm, "%s/%s", dir, cJSON_GetObjectItem(meta, "slm")->valuestring);
    const cJSON *lj = cJSON_GetObjectItem(meta, "llm");
    if (cJSON_IsString(lj)) snprintf(llm, sizeof llm, "%s/%s", dir, lj->valuestring);
    TrainOpts o;
    train_opts_default(&o);
    REQUIRE(method_parse(cJSON_GetObjectItem(meta, "method")->valuestring, &o.method) == 0);
    o.slm = slm;
    o.llm = cJSON_IsString(lj) ? llm : NULL;
    o.layer = -1;
    o.batch = cJSON_GetObjectItem(meta, "batch")->valueint;
    o.lr = (float)cJSON_GetObjectItem(cJSON_GetObjectItem(meta, "optimizer"), "lr")->valuedouble;
    o.optim = OPT_ADAM;
    o.weight_decay = 0.0f;
    o.clip = (float)cJSON_GetObjectItem(meta, "clip_grad_norm")->valuedouble;
    o.label_smoothing = (float)cJSON_GetObjectItem(meta, "label_smoothing")->valuedouble;
    o.head_dropout = 0.0f;
    o.lora_dropout = 0.0f;
    int K = cJSON_GetObjectItem(meta, "classes")->valueint;
    Trainer t;
    int rc = trainer_setup(&t, &o, K, &err);
    CHECKF(rc == 0, "%s: %s", name, err.msg);
    if (rc) return;
    CHECK(t.model.slm.cfg.family == &ENCODER_FAMILY_DEBERTA);
    SafeTensors *init;
    snprintf(p, sizeof p, "%s/init.safetensors", dir);
    REQUIRE(st_open(&init, p, &err) == 0);
    CHECKF(pifi_model_load_heads(&t.model, init, "", &err) == 0, "%s: %s", name, err.msg);
    char tn[192];
    float *data;
    int64_t shape[2];
    for (int i = 0; t.model.slm.lora_mem && deberta_lora_tensor(&t.model.slm, NULL, i, tn, sizeof tn, &data, shape) == 0; i++)
        CHECKF(st_read_f32(init, tn, 2, shape, data, &err) == 0, "%s: %s", name, err.msg);
    st_close(init);

    SafeTensors *bs;
    snprintf(p, sizeof p, "%s/batches.safetensors", dir);
    REQUIRE(st_open(&bs, p, &err) == 0);
    const StTensor *it;
    REQUIRE(st_get(bs, "input_ids", &it, &err) == 0);
    int S = (int)it->shape[0], B = (int)it->shape[1], T = (int)it->shape[2];
    int32_t *ids = malloc(sizeof(int32_t) * S * B * T), *tt = malloc(sizeof(int32_t) * S * B * T),
            *mask = malloc(sizeof(int32_t) * S * B * T), *labels = malloc(sizeof(int32_t) * S * B);
    REQUIRE(read_i32(bs, "input_ids", (int64_t)S * B * T, ids) == 0 &&
            read_i32(bs, "token_type_ids", (int64_t)S * B * T, tt) == 0 &&
            read_i32(bs, "attention_mask", (int64_t)S * B * T, mask) == 0 &&
            read_i32(bs, "labels", (int64_t)S * B, labels) == 0);
    st_close(bs);

    /* step 0: every trainable tensor's gradient */
    PifiModel *m = &t.model;
    pifi_model_set_train(m, 1, o.seed, 0);
    REQUIRE(pifi_model_forward(m, ids, tt, mask, B, T, &err) == 0);
    crossentropy_forward_backward(m->acts.logits, labels, B, K, o.label_smoothing, NULL, t.dlogits);
    params_zero_grad(&t.pt);
    REQUIRE(pifi_model_backward(m, t.dlogits, &t.grads, &err) == 0);
    SafeTensors *gs;
    snprintf(p, sizeof p, "%s/grads.safetensors", dir);
    REQUIRE(st_open(&gs, p, &err) == 0);
    const cJSON *tr = cJSON_GetObjectItem(meta, "trainable");
    double worst = 0;
    const char *worst_name = "";
    int compared = 0;
    for (int i = 0; i < cJSON_GetArraySize(tr); i++) {
        const char *gn = cJSON_GetObjectItem(cJSON_GetArrayItem(tr, i), "name")->valuestring;
        int64_t n = 0;
        const float *g = find_view(&t, t.grads.enc, t.grads.lora, gn, &n);
        const StTensor *want_t;
        REQUIRE(st_get(gs, gn, &want_t, &err) == 0);
        float *want = malloc((size_t)want_t->numel * sizeof *want);
        int64_t ws[2] = {want_t->shape[0], want_t->ndim == 2 ? want_t->shape[1] : 0};
        CHECK(st_read_f32(gs, gn, want_t->ndim, ws, want, &err) == 0);
        if (!g) { /* pifi does not train it: the q/k of a layer fed one token have none */
            double mx = 0;
            for (int64_t k = 0; k < want_t->numel; k++) mx = fmax(mx, fabs(want[k]));
            CHECKF(mx <= 1e-9, "%s: %s is not trained by pifi but has a gradient (max %g)", name, gn, mx);
        } else {
            CHECKF(n == want_t->numel, "%s: %s has %lld values, the oracle %lld", name, gn, (long long)n,
                   (long long)want_t->numel);
            double d = rel_diff(g, want, n, 1e-2);
            CHECKF(d <= 1e-4, "%s: gradient of %s differs by %.3g (relative)", name, gn, d);
            if (d > worst) worst = d, worst_name = gn;
            compared++;
        }
        free(want);
    }
    printf("%-20s %2d gradients, worst relative diff %.2e (%s)\n", name, compared, worst, worst_name);
    st_close(gs);

    /* 10 optimizer steps from the same start */
    const cJSON *L = cJSON_GetObjectItem(meta, "loss"), *GN = cJSON_GetObjectItem(meta, "grad_norm");
    double worst_loss = 0, worst_gn = 0;
    Batch b = {0};
    for (int s = 0; s < S; s++) {
        b.B = B, b.T = T;
        b.ids = ids + (size_t)s * B * T, b.type_ids = tt + (size_t)s * B * T, b.mask = mask + (size_t)s * B * T;
        b.labels = labels + (size_t)s * B;
        double loss, gnorm;
        REQUIRE(trainer_step(&t, &b, o.lr, &loss, &gnorm, &err) == 0);
        worst_loss = fmax(worst_loss, fabs(loss - cJSON_GetArrayItem(L, s)->valuedouble));
        worst_gn = fmax(worst_gn, fabs(gnorm - cJSON_GetArrayItem(GN, s)->valuedouble));
    }
    CHECKF(worst_loss <= 1e-4, "%s: a loss of the 10 steps differs by %.3g", name, worst_loss);
    CHECKF(worst_gn <= 1e-3, "%s: a gradient norm differs by %.3g", name, worst_gn);
    printf("%-20s 10 Adam steps: loss max |diff| %.2e, grad norm %.2e\n", name, worst_loss, worst_gn);
    free(ids), free(tt), free(mask), free(labels);
    cJSON_Delete(meta);
    trainer_free(&t);
}

int main(void) {
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
        test_buckets(NAMES[i]);
        test_forward(NAMES[i]);
        test_grads(NAMES[i]);
    }
    static const char *CASES[] = {"base", "pifi_llama", "lora"};
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) train_case(CASES[i]);
    TEST_DONE();
}
