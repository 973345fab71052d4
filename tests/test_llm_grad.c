/* test_llm_grad.c: gradients through the LLM decoder layer.
 *
 * Each backward kernel (rmsnorm with offset 0 and 1, GLU with SiLU and
 * tanh-GELU, RoPE, GQA attention with/without causal mask, padding mask and
 * softcap) and the whole layer (pooled and sequence mode, on the fixture
 * layers of Llama, Mistral, Qwen2, Gemma2 and Gemma3's sliding and full) against central finite
 * differences of L = sum(out * r) for a random r; the layer's training-mode
 * forward against its inference forward (bit for bit); the flat parameter
 * layout; transformers-style random init. (A PyTorch cross-check of the same
 * gradients was run once by hand, see the report of the change.) */
#include <stddef.h>
#include <stdint.h>

#include "kernels/activation.h"
#include "kernels/attention_gqa.h"
#include "kernels/glu.h"
#include "kernels/rmsnorm.h"
#include "core/rng.h"
#include "kernels/rope.h"
#include "models/decoders/llm_layer_internal.h"
#include "pifi/llm_layer.h"
#include "test.h"
#include "test_cx.h"

static const char *ARCHS[] = {"llama", "mistral", "qwen2", "gemma2", "gemma3", "gemma3_full"};

static void fill_normal(float *x, size_t n, float std, uint64_t seed, uint64_t stream) {
    for (size_t i = 0; i < n; i++) x[i] = std * rng_normal(seed, stream, i);
}

static double dot(const float *a, const float *b, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

static float max_abs(const float *a, size_t n) {
    float m = 0.0f;
    for (size_t i = 0; i < n; i++)
        if (fabsf(a[i]) > m) m = fabsf(a[i]);
    return m;
}

/* Worst |analytic - numeric| over the checked elements of one tensor,
 * relative to the tensor's largest analytic gradient. */
typedef struct {
    double worst, scale;
} FdErr;

static void fd_note(FdErr *e, double analytic, double numeric) {
    double d = fabs(analytic - numeric);
    if (d > e->worst) e->worst = d;
}

static double fd_rel(const FdErr *e) { return e->scale > 0 ? e->worst / e->scale : e->worst; }

/* ------------------------------------------------------------------------ */
/* kernels: f(params) -> out, L = out . r */

static void test_rmsnorm(float offset) {
    enum { N = 3, C = 8 };
    float x[N * C], w[C], out[N * C], rstd[N], r[N * C], dx[N * C], dw[C];
    fill_normal(x, N * C, 1.0f, 1, 0);
    fill_normal(w, C, 0.5f, 1, 1);
    fill_normal(r, N * C, 1.0f, 1, 2);
    for (int i = 0; i < N * C; i++) dx[i] = 0.5f; /* accumulates onto what is there */
    for (int i = 0; i < C; i++) dw[i] = -0.25f;
    rmsnorm_forward(out, rstd, x, w, offset, N, C, 1e-5f);
    rmsnorm_backward(dx, dw, r, x, w, offset, rstd, N, C);
    const float h = 1e-2f;
    FdErr ex = {0, 0}, ew = {0, 0};
    for (int pass = 0; pass < 2; pass++) {
        float *p = pass ? w : x, *g = pass ? dw : dx;
        float base = pass ? -0.25f : 0.5f;
        int n = pass ? C : N * C;
        FdErr *e = pass ? &ew : &ex;
        for (int i = 0; i < n; i++) {
            float keep = p[i];
            p[i] = keep + h;
            rmsnorm_forward(out, NULL, x, w, offset, N, C, 1e-5f);
            double lp = dot(out, r, N * C);
            p[i] = keep - h;
            rmsnorm_forward(out, NULL, x, w, offset, N, C, 1e-5f);
            double lm = dot(out, r, N * C);
            p[i] = keep;
            fd_note(e, g[i] - base, (lp - lm) / (2 * h));
            if (fabs(g[i] - base) > e->scale) e->scale = fabs(g[i] - base);
        }
    }
    printf("rmsnorm offset %.0f: max rel err dx %.2e dw %.2e\n", offset, fd_rel(&ex), fd_rel(&ew));
    CHECKF(fd_rel(&ex) < 1e-3 && fd_rel(&ew) < 1e-3, "rmsnorm offset %g", offset);
}

static void test_glu(Activation act) {
    enum { N = 40 };
    float gate[N], up[N], out[N], ga[N], r[N], dg[N] = {0}, du[N] = {0};
    fill_normal(gate, N, 2.0f, 2, 0);
    fill_normal(up, N, 1.0f, 2, 1);
    fill_normal(r, N, 1.0f, 2, 2);
    glu_forward(out, ga, gate, up, act, N);
    glu_backward(dg, du, r, gate, up, ga, act, N);
    const float h = 1e-2f;
    FdErr e = {0, max_abs(dg, N) > max_abs(du, N) ? max_abs(dg, N) : max_abs(du, N)};
    for (int pass = 0; pass < 2; pass++) {
        float *p = pass ? up : gate, *g = pass ? du : dg;
        for (int i = 0; i < N; i++) {
            float keep = p[i];
            p[i] = keep + h;
            glu_forward(out, NULL, gate, up, act, N);
            double lp = dot(out, r, N);
            p[i] = keep - h;
            glu_forward(out, NULL, gate, up, act, N);
            double lm = dot(out, r, N);
            p[i] = keep;
            fd_note(&e, g[i], (lp - lm) / (2 * h));
        }
    }
    printf("glu %-17s: max rel err %.2e\n", activation_name(act), fd_rel(&e));
    CHECKF(fd_rel(&e) < 1e-3, "glu %s", activation_name(act));
}

static void test_rope(void) {
    enum { B = 2, T = 5, NH = 2, HD = 8, N = B * T * NH * HD };
    float x[N], y[N], r[N], g[N], inv[HD / 2];
    RopeParams rp = {ROPE_DEFAULT, 100.0, 1.0, 0, 0, 0};
    rope_inv_freq(inv, &rp, HD);
    fill_normal(x, N, 1.0f, 3, 0);
    fill_normal(r, N, 1.0f, 3, 1);
    memcpy(g, r, sizeof g);
    rope_backward(g, NULL, inv, B, T, NH, HD);
    /* linear map: dL/dx_i = L(e_i) exactly, no step size needed */
    FdErr e = {0, max_abs(g, N)};
    for (int i = 0; i < N; i++) {
        memset(y, 0, sizeof y);
        y[i] = 1.0f;
        rope_forward(y, NULL, inv, B, T, NH, HD);
        fd_note(&e, g[i], dot(y, r, N));
    }
    /* and backward undoes forward */
    memcpy(y, x, sizeof y);
    rope_forward(y, NULL, inv, B, T, NH, HD);
    rope_backward(y, NULL, inv, B, T, NH, HD);
    float round = 0;
    for (int i = 0; i < N; i++) round = fmaxf(round, fabsf(y[i] - x[i]));
    printf("rope: max rel err %.2e, backward(forward(x)) - x %.2e\n", fd_rel(&e), round);
    CHECK(fd_rel(&e) < 1e-5 && round < 1e-5f);
}

static void test_attention(int causal, int padded, float softcap) {
    enum { B = 2, T = 5, NH = 4, NKV = 2, HD = 4, QC = NH * HD, KC = NKV * HD };
    float q[B * T * QC], k[B * T * KC], v[B * T * KC], out[B * T * QC], att[B * NH * T * T],
        datt[B * NH * T * T], r[B * T * QC];
    float dq[B * T * QC] = {0}, dk[B * T * KC] = {0}, dv[B * T * KC] = {0};
    int32_t mask[B * T];
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) mask[b * T + t] = !padded || t < (b ? 3 : T);
    fill_normal(q, B * T * QC, 1.5f, 4, 0);
    fill_normal(k, B * T * KC, 1.5f, 4, 1);
    fill_normal(v, B * T * KC, 1.0f, 4, 2);
    fill_normal(r, B * T * QC, 1.0f, 4, 3);
    GqaParams p = {NH, NKV, HD, 0.5f, softcap, causal};
    const int32_t *m = padded ? mask : NULL;
    attention_gqa_forward(out, att, q, k, v, m, B, T, &p);
    attention_gqa_backward(dq, dk, dv, datt, r, q, k, v, att, B, T, &p);
    const float h = 1e-2f;
    double rel[3];
    for (int pass = 0; pass < 3; pass++) {
        float *x = pass == 0 ? q : pass == 1 ? k : v, *g = pass == 0 ? dq : pass == 1 ? dk : dv;
        int n = pass == 0 ? B * T * QC : B * T * KC;
        FdErr e = {0, max_abs(g, n)};
        for (int i = 0; i < n; i++) {
            float keep = x[i];
            x[i] = keep + h;
            attention_gqa_forward(out, att, q, k, v, m, B, T, &p);
            double lp = dot(out, r, B * T * QC);
            x[i] = keep - h;
            attention_gqa_forward(out, att, q, k, v, m, B, T, &p);
            double lm = dot(out, r, B * T * QC);
            x[i] = keep;
            fd_note(&e, g[i], (lp - lm) / (2 * h));
        }
        rel[pass] = fd_rel(&e);
    }
    printf("attention_gqa causal %d padded %d softcap %g: max rel err dq %.2e dk %.2e dv %.2e\n", causal,
           padded, softcap, rel[0], rel[1], rel[2]);
    CHECKF(rel[0] < 2e-3 && rel[1] < 2e-3 && rel[2] < 2e-3, "attention causal %d padded %d softcap %g",
           causal, padded, softcap);
    /* a padded key gets no gradient */
    if (padded) {
        float worst = 0;
        for (int t = 3; t < T; t++)
            for (int c = 0; c < KC; c++)
                worst = fmaxf(worst, fabsf(dk[(T + t) * KC + c]) + fabsf(dv[(T + t) * KC + c]));
        CHECK(worst == 0.0f);
    }
}

/* ------------------------------------------------------------------------ */
/* the whole layer */

typedef struct {
    LlmLayer *l;
    int seq, B, T, causal;
    const int32_t *mask;
    const float *x, *r;
    float *out;
} Probe;

static double probe_loss(Probe *p) {
    PifiErr err = {0};
    int rc = p->seq ? llm_layer_forward_seq(p->l, p->out, p->x, p->mask, p->B, p->T, p->causal, &err)
                    : llm_layer_forward_pooled(p->l, p->out, p->x, p->B, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    return dot(p->out, p->r, (size_t)p->B * p->T * p->l->cfg.D);
}

static double fd_at(Probe *p, float *w, size_t i, float h) {
    float keep = w[i];
    w[i] = keep + h;
    double lp = probe_loss(p);
    w[i] = keep - h;
    double lm = probe_loss(p);
    w[i] = keep;
    return (lp - lm) / (2 * h);
}

static void test_layer_mode(const char *arch, LlmLayer *l, int seq, int causal) {
    int B = seq ? 2 : 3, T = seq ? 6 : 1, D = l->cfg.D;
    size_t n = (size_t)B * T * D;
    float *x = malloc(n * sizeof *x), *r = malloc(n * sizeof *r), *out = malloc(n * sizeof *out),
          *ref = malloc(n * sizeof *ref), *dx = malloc(n * sizeof *dx), *dx0 = malloc(n * sizeof *dx0);
    int32_t mask[12];
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) mask[b * T + t] = t < (b ? 4 : T);
    fill_normal(x, n, 1.0f, 5, (uint64_t)seq * 2 + causal);
    fill_normal(r, n, 1.0f, 6, (uint64_t)seq * 2 + causal);
    PifiErr err = {0};
    int64_t np = llm_layer_trainable_count(l);
    float *gmem = calloc((size_t)np, sizeof *gmem);
    LlmLayerParams g;
    llm_layer_point_params(l, &g, gmem);
    Probe p = {l, seq, B, T, causal, seq ? mask : NULL, x, r, out};

    /* inference forward, then training forward: the same numbers */
    llm_layer_set_train(l, 0);
    probe_loss(&p);
    memcpy(ref, out, n * sizeof *ref);
    llm_layer_set_train(l, 1);
    probe_loss(&p);
    CHECKF(memcmp(ref, out, n * sizeof *ref) == 0, "%s: training forward differs from inference", arch);

    /* frozen (input gradient only), then unfrozen: the same dx */
    int rc = seq ? llm_layer_backward_seq(l, dx0, r, NULL, &err) : llm_layer_backward_pooled(l, dx0, r, NULL, &err);
    CHECKF(rc == 0, "%s: %s", arch, err.msg);
    rc = seq ? llm_layer_backward_seq(l, dx, r, &g, &err) : llm_layer_backward_pooled(l, dx, r, &g, &err);
    CHECKF(rc == 0, "%s: %s", arch, err.msg);
    CHECKF(memcmp(dx, dx0, n * sizeof *dx) == 0, "%s: frozen and unfrozen dx differ", arch);

    const float h = 1e-2f;
    char what[64];
    snprintf(what, sizeof what, "%s %s", seq ? (causal ? "seq causal" : "seq bidir") : "pooled", arch);
    /* dx at 24 sampled elements */
    FdErr ex = {0, max_abs(dx, n)};
    for (int s = 0; s < 24; s++) {
        size_t i = rng_u64(7, 0, (uint64_t)s) % n;
        fd_note(&ex, dx[i], fd_at(&p, (float *)x, i, h));
    }
    double worst_w = 0;
    const char *worst_name = "";
    LlmTensorSpec specs[16];
    int ns = llm_layer_specs(&l->cfg, &l->p, l->pooled_only, specs, 16);
    for (int t = 0; t < ns; t++) {
        size_t off = (size_t)((char *)specs[t].dst - (char *)&l->p);
        float *w = *specs[t].dst, *gw = *(float **)((char *)&g + off);
        size_t cnt = (size_t)specs[t].shape[0] * (specs[t].ndim == 2 ? (size_t)specs[t].shape[1] : 1);
        int pooled_zero = !seq && (w == l->p.wq || w == l->p.wk || w == l->p.bq || w == l->p.bk ||
                                   w == l->p.q_norm || w == l->p.k_norm);
        if (pooled_zero) { /* left untouched */
            CHECKF(max_abs(gw, cnt) == 0.0f, "%s: pooled mode wrote %s's gradient", what, specs[t].name);
            continue;
        }
        FdErr e = {0, max_abs(gw, cnt)};
        for (int s = 0; s < 6; s++) {
            size_t i = rng_u64(8, (uint64_t)t, (uint64_t)s) % cnt;
            fd_note(&e, gw[i], fd_at(&p, w, i, h));
        }
        if (fd_rel(&e) > worst_w) worst_w = fd_rel(&e), worst_name = specs[t].name;
    }
    printf("%-18s: max rel err dx %.2e, weights %.2e (%s)\n", what, fd_rel(&ex), worst_w, worst_name);
    CHECKF(fd_rel(&ex) < 1e-3, "%s dx: %g", what, fd_rel(&ex));
    CHECKF(worst_w < 1e-3, "%s %s: %g", what, worst_name, worst_w);

    /* gradients accumulate: a second backward (of a fresh forward) doubles them */
    float *g1 = malloc((size_t)np * sizeof *g1);
    memcpy(g1, gmem, (size_t)np * sizeof *g1);
    probe_loss(&p);
    rc = seq ? llm_layer_backward_seq(l, dx, r, &g, &err) : llm_layer_backward_pooled(l, dx, r, &g, &err);
    double dev = 0;
    for (int64_t i = 0; i < np; i++) dev = fmax(dev, fabs(gmem[i] - 2 * g1[i]));
    CHECKF(rc == 0 && dev <= 1e-5 * max_abs(g1, (size_t)np), "%s: accumulation %g", what, dev);
    free(g1);
    free(gmem);
    free(x), free(r), free(out), free(ref), free(dx), free(dx0);
}

static void test_layer(const char *arch) {
    char llm[1200];
    snprintf(llm, sizeof llm, "%s/pifi/%s/llm", test_fixtures(), arch);
    PifiErr err = {0};
    LlmLayer l;
    int rc = llm_layer_load(&l, llm, -1, 0, test_cx_fp32(), 0, &err);
    CHECKF(rc == 0, "%s: %s", arch, err.msg);
    if (rc) return;
    CHECK(llm_layer_trainable_count(&l) == l.num_params);
    /* point_params reproduces l->p over l->mem */
    LlmLayerParams same;
    llm_layer_point_params(&l, &same, l.mem);
    CHECK(memcmp(&same, &l.p, sizeof same) == 0);
    test_layer_mode(arch, &l, 0, 0);
    test_layer_mode(arch, &l, 1, 0);
    test_layer_mode(arch, &l, 1, 1);
    llm_layer_free(&l);

    /* a pooled-only layer: fewer parameters, the same pooled gradients path */
    rc = llm_layer_load(&l, llm, -1, 1, test_cx_fp32(), 0, &err);
    CHECKF(rc == 0, "%s: %s", arch, err.msg);
    if (rc) return;
    int64_t QC = (int64_t)l.cfg.NH * l.cfg.HD, KC = (int64_t)l.cfg.NKV * l.cfg.HD;
    CHECK(llm_layer_trainable_count(&l) ==
          l.num_params - (QC + KC) * l.cfg.D - (l.cfg.qkv_bias ? QC + KC : 0) -
              (l.cfg.arch == LLM_GEMMA3 ? 2 * l.cfg.HD : 0));
    test_layer_mode(arch, &l, 0, 0);
    llm_layer_free(&l);
}

static void test_errors(void) {
    char llm[1200];
    snprintf(llm, sizeof llm, "%s/pifi/llama/llm", test_fixtures());
    PifiErr err = {0};
    LlmLayer l;
    REQUIRE(llm_layer_load(&l, llm, -1, 0, test_cx_fp32(), 0, &err) == 0);
    int D = l.cfg.D;
    float *x = calloc((size_t)4 * D, sizeof *x), *y = calloc((size_t)4 * D, sizeof *y);
    CHECK(llm_layer_backward_pooled(&l, y, x, NULL, &err) == -1);
    CHECK_MSG(err, "training mode");
    llm_layer_set_train(&l, 1);
    CHECK(llm_layer_backward_pooled(&l, y, x, NULL, &err) == -1);
    CHECK_MSG(err, "without a training-mode forward");
    CHECK(llm_layer_forward_seq(&l, y, x, NULL, 2, 2, 0, &err) == 0);
    CHECK(llm_layer_backward_pooled(&l, y, x, NULL, &err) == -1);
    CHECK_MSG(err, "pooled backward after a sequence forward");
    CHECK(llm_layer_backward_seq(&l, y, x, NULL, &err) == 0);
    llm_layer_set_train(&l, 0); /* forgets */
    llm_layer_set_train(&l, 1);
    CHECK(llm_layer_backward_seq(&l, y, x, NULL, &err) == -1);
    CHECK(llm_layer_forward_pooled(&l, y, x, 0, &err) == -1);
    CHECK_MSG(err, "empty batch");
    free(x), free(y);
    llm_layer_free(&l);
}

/* ------------------------------------------------------------------------ */
/* random init */

static void test_init(const char *arch) {
    char llm[1200];
    snprintf(llm, sizeof llm, "%s/pifi/%s/llm", test_fixtures(), arch);
    PifiErr err = {0};
    LlmLayer a, b;
    REQUIRE(llm_layer_load(&a, llm, -1, 0, test_cx_fp32(), 0, &err) == 0);
    REQUIRE(llm_layer_load(&b, llm, -1, 1, test_cx_fp32(), 0, &err) == 0);
    CHECK(fabsf(a.cfg.initializer_range - 0.02f) < 1e-9f);
    REQUIRE(llm_layer_init_random(&a, 42, &err) == 0);
    REQUIRE(llm_layer_init_random(&b, 42, &err) == 0);
    int D = a.cfg.D;
    float norm = a.cfg.norm_offset != 0.0f ? 0.0f : 1.0f; /* Gemma's (1 + w) */
    int norms_ok = 1;
    for (int i = 0; i < D; i++) {
        norms_ok &= a.p.norm_attn[i] == norm && a.p.norm_ffn[i] == norm;
        if (a.p.norm_attn_post) norms_ok &= a.p.norm_attn_post[i] == norm && a.p.norm_ffn_post[i] == norm;
    }
    for (int i = 0; a.p.q_norm && i < a.cfg.HD; i++) norms_ok &= a.p.q_norm[i] == norm && a.p.k_norm[i] == norm;
    CHECKF(norms_ok, "%s: norm weights are not %g", arch, norm);
    if (a.p.bv) CHECK(max_abs(a.p.bq, (size_t)a.cfg.NH * a.cfg.HD) == 0.0f && max_abs(a.p.bv, (size_t)a.cfg.NKV * a.cfg.HD) == 0.0f);
    size_t nw = (size_t)a.cfg.FF * D;
    double s1 = 0, s2 = 0;
    for (size_t i = 0; i < nw; i++) s1 += a.p.wgate[i], s2 += (double)a.p.wgate[i] * a.p.wgate[i];
    double mean = s1 / nw, sd = sqrt(s2 / nw - mean * mean);
    printf("init %-8s: gate_proj mean %.2e std %.4f (want 0, 0.02)\n", arch, mean, sd);
    CHECK(fabs(mean) < 0.002 && fabs(sd - 0.02) < 0.001);
    /* the same streams in a pooled-only layer; other tensors and seeds differ */
    size_t nv = (size_t)a.cfg.NKV * a.cfg.HD * D;
    CHECK(memcmp(a.p.wv, b.p.wv, nv * sizeof(float)) == 0);
    CHECK(memcmp(a.p.wdown, b.p.wdown, nw * sizeof(float)) == 0);
    CHECK(memcmp(a.p.wgate, a.p.wup, nw * sizeof(float)) != 0);
    REQUIRE(llm_layer_init_random(&b, 43, &err) == 0);
    CHECK(memcmp(a.p.wv, b.p.wv, nv * sizeof(float)) != 0);
    llm_layer_free(&a);
    llm_layer_free(&b);
}

int main(void) {
    test_rmsnorm(0.0f);
    test_rmsnorm(1.0f);
    test_glu(ACT_SILU);
    test_glu(ACT_GELU_TANH);
    test_rope();
    test_attention(0, 0, 0.0f);
    test_attention(1, 0, 0.0f);
    test_attention(0, 1, 0.0f);
    test_attention(1, 1, 0.0f);
    test_attention(1, 1, 2.0f);
    test_attention(0, 1, 2.0f);
    for (size_t i = 0; i < sizeof ARCHS / sizeof ARCHS[0]; i++) test_layer(ARCHS[i]);
    test_errors();
    for (size_t i = 0; i < sizeof ARCHS / sizeof ARCHS[0]; i++) test_init(ARCHS[i]);
    TEST_DONE();
}
