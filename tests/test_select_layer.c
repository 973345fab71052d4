/* test_select_layer.c: `pifi select-layer`'s library (src/exp/select_layer.h).
 *
 *   1. The pooled path it trains on is PiFi's own: pifi_model_forward_pooled
 *      on pifi_model_pool's vectors gives pifi_model_forward's logits bit for
 *      bit, and pifi_model_backward_pooled the same gradients of L_in, L_out
 *      and the head as pifi_model_backward (train mode, dropout on), on the
 *      tiny BERT and the tiny Llama of fixtures/pifi/llama.
 *   2. The pick: fixtures/select_layer/llm (tools/make_select_layer_fixture.py)
 *      is a five-layer Llama whose layers drown their input in a large
 *      nonlinear vector, all but layer 3, which passes it on. On vectors
 *      whose label is a linear function of them, the probe of layer 3 must
 *      score well, every other layer clearly worse, and layer 3 must be the
 *      pick, with the highest Fisher ratio too; also among a --layers subset
 *      given with negative indices, where the last layer is found; its
 *      scores are the means of one-seed probes from seeds 2023, 2024, 2025.
 *   3. The ranking's order (metric, then loss, then layer) and the errors
 *      (a layer listed twice, one out of range). */
#include <limits.h>
#include <stdint.h>

#include "core/rng.h"
#include "exp/select_layer.h"
#include "pifi/pifi_model.h"
#include "test.h"

static char FIX[1024];

static void fixture(char *out, size_t n, const char *rel) { snprintf(out, n, "%s/%s", FIX, rel); }

/* ---- 1. the pooled path ---------------------------------------------------- */

static void test_pooled_path(void) {
    char slm[1100], llm[1100];
    fixture(slm, sizeof slm, "pifi/llama/slm");
    fixture(llm, sizeof llm, "pifi/llama/llm");
    PifiModel m;
    PifiErr err = {0};
    int rc = pifi_model_init(&m, slm, llm, -1, 3, POOL_CLS, 1, PIFI_PREC_FP32, 1, &err);
    CHECKF(rc == 0, "%s", err.msg);
    if (rc) return;
    pifi_model_init_heads(&m, 7);
    enum { B = 4, T = 6 };
    int32_t ids[B * T], tt[B * T] = {0}, mask[B * T];
    for (int i = 0; i < B * T; i++) {
        ids[i] = 1 + (int)(rng_u64(5, 0, (uint64_t)i) % 900);
        mask[i] = i % T < T - i / T; /* rows of 6, 5, 4, 3 real tokens */
    }
    size_t K = 3, C = (size_t)m.C;
    float logits[B * 3], pooled[B * 64], *g1 = calloc((size_t)m.hp_count, sizeof(float)),
                                         *g2 = calloc((size_t)m.hp_count, sizeof(float));
    float *enc = calloc((size_t)encoder_param_count(&m.slm), sizeof(float));
    REQUIRE(C <= 64 && g1 && g2 && enc);
    float dlogits[B * 3];
    for (size_t i = 0; i < B * K; i++) dlogits[i] = (float)i / 7.0f - 0.8f;
    /* train mode: the head's dropout is drawn the same way in both */
    pifi_model_set_train(&m, 1, 11, 3);
    PifiGrads ga = {.enc = enc}, gb = {0};
    pifi_model_point_heads(&m, &ga.head, g1);
    pifi_model_point_heads(&m, &gb.head, g2);
    CHECK(pifi_model_forward(&m, ids, tt, mask, B, T, &err) == 0);
    memcpy(logits, m.acts.logits, sizeof logits);
    memcpy(pooled, m.acts.pooled, B * C * sizeof(float));
    CHECK(pifi_model_backward(&m, dlogits, &ga, &err) == 0);
    CHECK(pifi_model_forward_pooled(&m, pooled, B, &err) == 0);
    CHECK(memcmp(logits, m.acts.logits, sizeof logits) == 0);
    CHECK(pifi_model_backward_pooled(&m, dlogits, &gb, &err) == 0);
    CHECKF(memcmp(g1, g2, (size_t)m.hp_count * sizeof(float)) == 0, "the heads' gradients differ");
    /* pifi_model_pool is the SLM's part of the forward (eval mode) */
    pifi_model_set_train(&m, 0, 0, 0);
    float again[B * 64];
    CHECK(pifi_model_forward(&m, ids, tt, mask, B, T, &err) == 0);
    CHECK(pifi_model_pool(&m, again, ids, tt, mask, B, T, &err) == 0);
    CHECK(memcmp(again, m.acts.pooled, B * C * sizeof(float)) == 0);
    free(g1);
    free(g2);
    free(enc);
    pifi_model_free(&m);
}

/* ---- 2. the pick --------------------------------------------------------- */

/* n vectors of C normal values; label 1 when w . h > 0 (w fixed). */
static void synthetic(SelectLayerVectors *v, int64_t n, int C, uint64_t stream) {
    v->n = n, v->C = C;
    v->h = malloc((size_t)n * C * sizeof(float));
    v->y = malloc((size_t)n * sizeof(int32_t));
    for (int64_t i = 0; i < n; i++) {
        double dot = 0;
        for (int c = 0; c < C; c++) {
            /* Box-Muller from two uniforms */
            double u1 = rng_uniform(9, stream, (uint64_t)(i * C + c) * 2) + 1e-12;
            double u2 = rng_uniform(9, stream, (uint64_t)(i * C + c) * 2 + 1);
            float x = (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
            v->h[i * C + c] = x;
            dot += x * (c % 3 == 0 ? 1.0 : c % 3 == 1 ? -0.5 : 0.25);
        }
        v->y[i] = dot > 0;
    }
}

static int model_for_pick(PifiModel *m, int first, PifiErr *err) {
    char slm[1100], llm[1100];
    fixture(slm, sizeof slm, "pifi/llama/slm");
    fixture(llm, sizeof llm, "select_layer/llm");
    return pifi_model_init(m, slm, llm, first, 2, POOL_CLS, 1, PIFI_PREC_FP32, 1, err);
}

static void test_pick(void) {
    char llm[1100];
    fixture(llm, sizeof llm, "select_layer/llm");
    PifiModel m;
    PifiErr err = {0};
    int rc = model_for_pick(&m, 0, &err);
    CHECKF(rc == 0, "%s", err.msg);
    if (rc) return;
    SelectLayerVectors tr, va;
    synthetic(&tr, 2000, m.C, 1);
    synthetic(&va, 300, m.C, 2);
    SelectLayerOpts o;
    select_layer_opts_default(&o);
    o.llm = llm;
    SelectLayerResult r = {0};
    rc = select_layer_probe_all(&m, &o, &tr, &va, NULL, &r, &err);
    CHECKF(rc == 0, "%s", err.msg);
    if (rc == 0) {
        REQUIRE(r.n == 5 && r.num_layers == 5 && r.last == 4 && r.K == 2);
        CHECK(r.steps == 2 * (2000 / 32));
        for (int i = 0; i < r.n; i++)
            printf("layer %d: rank %d accuracy %.4f loss %.4f fisher %.4g train loss %.4f\n", r.rows[i].layer,
                   r.rows[i].rank, r.rows[i].metric, r.rows[i].loss, r.rows[i].fisher, r.rows[i].train_loss);
        const SelectLayerScore *p = &r.rows[r.pick];
        CHECKF(p->layer == 3 && p->rank == 1, "the pick is layer %d, not the informative layer 3", p->layer);
        CHECKF(r.rows[3].metric >= 0.85, "layer 3's accuracy %.4f", r.rows[3].metric);
        for (int i = 0; i < r.n; i++) {
            CHECK(r.rows[i].layer == i);
            if (i == 3) continue;
            CHECKF(r.rows[i].metric < r.rows[3].metric - 0.1, "layer %d: accuracy %.4f, layer 3's %.4f", i,
                   r.rows[i].metric, r.rows[3].metric);
            CHECKF(r.rows[i].fisher < r.rows[3].fisher, "layer %d: Fisher %.4g >= layer 3's %.4g", i,
                   r.rows[i].fisher, r.rows[3].fisher);
            CHECK(r.rows[i].loss > r.rows[3].loss);
        }
    }
    /* a subset with negative indices: the same probe of layer 3 (same seed), the last layer found */
    int subset[3] = {-1, 3, 0};
    o.layers = subset, o.n_layers = 3;
    SelectLayerResult s = {0};
    rc = select_layer_probe_all(&m, &o, &tr, &va, NULL, &s, &err);
    CHECKF(rc == 0, "%s", err.msg);
    if (rc == 0 && r.n == 5) {
        REQUIRE(s.n == 3);
        CHECK(s.rows[0].layer == 4 && s.rows[1].layer == 3 && s.rows[2].layer == 0);
        CHECK(s.last == 0 && s.pick == 1);
        CHECK(s.rows[1].metric == r.rows[3].metric && s.rows[1].loss == r.rows[3].loss);
        CHECK(s.rows[0].loss == r.rows[4].loss);
    }
    /* the default three probe seeds: the mean (and sd) of single probes from seeds 2023, 2024, 2025 */
    int three[1] = {3};
    double sum = 0, sq = 0;
    o.layers = three, o.n_layers = 1, o.probe_seeds = 1;
    for (int k = 0; k < 3 && r.n == 5; k++) {
        SelectLayerResult one = {0};
        o.seed = 2023 + (uint64_t)k;
        CHECK(select_layer_probe_all(&m, &o, &tr, &va, NULL, &one, &err) == 0);
        if (one.n == 1) {
            CHECK(one.rows[0].metric_sd == 0.0);
            sum += one.rows[0].metric, sq += one.rows[0].metric * one.rows[0].metric;
        }
        select_layer_result_free(&one);
    }
    if (r.n == 5) {
        double mean = sum / 3, sd = sqrt((sq - 3 * mean * mean) / 2);
        CHECKF(fabs(r.rows[3].metric - mean) < 1e-12, "%.6f vs the mean of three probes %.6f", r.rows[3].metric, mean);
        CHECKF(fabs(r.rows[3].metric_sd - sd) < 1e-9, "sd %.6g vs %.6g", r.rows[3].metric_sd, sd);
    }
    o.seed = 2023, o.probe_seeds = 3;
    /* errors */
    int twice[2] = {4, -1}, out[1] = {5};
    o.layers = twice, o.n_layers = 2;
    CHECK(select_layer_probe_all(&m, &o, &tr, &va, NULL, &s, &err) == -1);
    CHECK_MSG(err, "layer 4 is listed twice");
    o.layers = out, o.n_layers = 1;
    CHECK(select_layer_probe_all(&m, &o, &tr, &va, NULL, &s, &err) == -1);
    CHECK_MSG(err, "layer 5 is out of range");
    select_layer_result_free(&r);
    select_layer_result_free(&s);
    select_layer_vectors_free(&tr);
    select_layer_vectors_free(&va);
    pifi_model_free(&m);
}

/* ---- 3. the ranking ------------------------------------------------------- */

static void test_rank(void) {
    SelectLayerScore s[4] = {
        {.layer = 0, .metric = 0.7, .loss = 0.5},
        {.layer = 1, .metric = 0.8, .loss = 0.6},
        {.layer = 2, .metric = 0.8, .loss = 0.4}, /* the tie goes to the lower loss */
        {.layer = 3, .metric = 0.7, .loss = 0.5}, /* then to the lower layer */
    };
    CHECK(select_layer_rank(s, 4) == 2);
    CHECK(s[2].rank == 1 && s[1].rank == 2 && s[0].rank == 3 && s[3].rank == 4);
}

int main(void) {
    const char *f = getenv("PIFI_FIXTURES");
    snprintf(FIX, sizeof FIX, "%s", f ? f : "tests/fixtures");
    test_pooled_path();
    test_pick();
    test_rank();
    TEST_DONE();
}
