/* test_kernels_grad.c: every backward kernel against finite differences.
 *
 * For a kernel y = f(x, w), the loss is L = sum(y * R) with a fixed random R,
 * so dL/dy = R is what the backward gets. Each check perturbs a few hundred
 * random coordinates of an input or weight by +-eps (eps = 1e-3, in fp32),
 * takes the central difference of L (accumulated in double) and compares with
 * the analytic gradient: |fd - g| <= 1e-2 max(|fd|, |g|) + 1e-3 gscale, gscale
 * the largest |g| of the tensor. Also checked: the accumulation (+=)
 * semantics, NULL (frozen) gradients, and that dropout masks depend only on
 * (seed, stream, index). */
#include <omp.h>
#include <stdint.h>

#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/dropout.h"
#include "kernels/gemm.h"
#include "kernels/layernorm.h"
#include "core/rng.h"
#include "test.h"

#define EPS 1e-3f
#define RTOL 1e-2
#define NCOORD 300

static float *randn(size_t n, uint64_t seed, float scale) {
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = scale * rng_normal(seed, 1, i);
    return p;
}

static float *zeros(size_t n) { return calloc(n, sizeof(float)); }

/* A kernel under test: fwd writes out (nout) from the context's arrays. */
typedef struct {
    void (*fwd)(void *ctx, float *out);
    void *ctx;
    float *out;
    size_t nout;
    const float *R;
} Fn;

static double fn_loss(Fn *f) {
    f->fwd(f->ctx, f->out);
    double s = 0.0;
    for (size_t i = 0; i < f->nout; i++) s += (double)f->out[i] * f->R[i];
    return s;
}

/* Compare g (nx) with central differences of f over x on NCOORD random
 * coordinates (all of them when nx is smaller). */
static void fd_check(const char *what, Fn *f, float *x, size_t nx, const float *g, uint64_t seed) {
    float gscale = 0.0f;
    for (size_t i = 0; i < nx; i++)
        if (fabsf(g[i]) > gscale) gscale = fabsf(g[i]);
    size_t n = nx < NCOORD ? nx : NCOORD;
    int bad = 0;
    double worst = 0.0, used_max = 0.0;
    for (size_t k = 0; k < n; k++) {
        size_t i = nx <= NCOORD ? k : rng_u64(seed, 7, k) % nx;
        float old = x[i];
        float xp = old + EPS, xm = old - EPS;
        x[i] = xp;
        double lp = fn_loss(f);
        x[i] = xm;
        double lm = fn_loss(f);
        x[i] = old;
        double fd = (lp - lm) / ((double)xp - (double)xm);
        double d = fabs(fd - g[i]);
        double lim = RTOL * fmax(fabs(fd), fabs(g[i])) + 1e-3 * gscale;
        double mx = fmax(fabs(fd), fabs(g[i]));
        if (fabs(g[i]) >= 0.1 * gscale && d / mx > worst) worst = d / mx;
        if (d / (lim + 1e-30) > used_max) used_max = d / (lim + 1e-30);
        if (!(d <= lim)) {
            if (bad < 5)
                fprintf(stderr, "  %s[%zu]: analytic %.6g, finite difference %.6g\n", what, i,
                        (double)g[i], fd);
            bad++;
        }
    }
    CHECKF(bad == 0, "%s: %d of %zu coordinates off", what, bad, n);
    printf("%-28s %4zu coords: max rel err %.1e (|g| >= 0.1 max), max err/tol %.2f\n", what, n,
           worst, used_max);
}

static float max_abs_diff(const float *a, const float *b, size_t n) {
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (!(d <= m)) m = d;
    }
    return m;
}

/* ------------------------------------------------------------------------ */
/* matmul */

typedef struct {
    float *inp, *w, *b;
    int BT, C, OC;
} MatmulCtx;

static void matmul_fn(void *ctx, float *out) {
    MatmulCtx *c = ctx;
    matmul_forward(out, c->inp, c->w, c->b, c->BT, c->C, c->OC);
}

static void test_matmul(void) {
    int BT = 9, C = 21, OC = 37;
    MatmulCtx c = {randn((size_t)BT * C, 11, 1.0f), randn((size_t)OC * C, 12, 0.3f),
                   randn(OC, 13, 0.5f), BT, C, OC};
    float *R = randn((size_t)BT * OC, 14, 1.0f), *out = zeros((size_t)BT * OC);
    Fn f = {matmul_fn, &c, out, (size_t)BT * OC, R};
    /* pre-filled gradients: the backward must add, not overwrite */
    size_t ni = (size_t)BT * C, nw = (size_t)OC * C;
    float *di = randn(ni, 15, 1.0f), *dw = randn(nw, 16, 1.0f), *db = randn(OC, 17, 1.0f);
    float *di0 = malloc(ni * 4), *dw0 = malloc(nw * 4), *db0 = malloc(OC * 4);
    memcpy(di0, di, ni * 4);
    memcpy(dw0, dw, nw * 4);
    memcpy(db0, db, OC * 4);
    matmul_backward(di, dw, db, R, c.inp, c.w, BT, C, OC);
    for (size_t i = 0; i < ni; i++) di[i] -= di0[i];
    for (size_t i = 0; i < nw; i++) dw[i] -= dw0[i];
    for (int i = 0; i < OC; i++) db[i] -= db0[i];
    fd_check("matmul dinp", &f, c.inp, ni, di, 1);
    fd_check("matmul dweight", &f, c.w, nw, dw, 2);
    fd_check("matmul dbias", &f, c.b, OC, db, 3);
    /* twice = double; NULL gradients are skipped and leave dinp the same */
    float *d2 = zeros(ni), *w2 = zeros(nw), *b2 = zeros(OC), *d3 = zeros(ni);
    matmul_backward(d2, w2, b2, R, c.inp, c.w, BT, C, OC);
    matmul_backward(d2, w2, b2, R, c.inp, c.w, BT, C, OC);
    matmul_backward(d3, NULL, NULL, R, c.inp, c.w, BT, C, OC);
    int ok = 1;
    for (size_t i = 0; i < ni; i++) ok &= fabsf(d2[i] - 2 * di[i]) <= 1e-4f * (1 + fabsf(d2[i]));
    for (size_t i = 0; i < nw; i++) ok &= fabsf(w2[i] - 2 * dw[i]) <= 1e-4f * (1 + fabsf(w2[i]));
    for (int i = 0; i < OC; i++) ok &= fabsf(b2[i] - 2 * db[i]) <= 1e-4f * (1 + fabsf(b2[i]));
    CHECKF(ok, "matmul_backward twice is not twice the gradient");
    CHECK(max_abs_diff(d3, di, ni) <= 1e-5f);
    matmul_backward(NULL, w2, NULL, R, c.inp, c.w, BT, C, OC); /* no input gradient: fine */
    free(c.inp), free(c.w), free(c.b), free(R), free(out), free(di), free(dw), free(db);
    free(di0), free(dw0), free(db0), free(d2), free(w2), free(b2), free(d3);
}

/* ------------------------------------------------------------------------ */
/* layernorm */

typedef struct {
    float *inp, *w, *b, *mean, *rstd;
    int N, C;
} LnCtx;

static void ln_fn(void *ctx, float *out) {
    LnCtx *c = ctx;
    layernorm_forward(out, c->mean, c->rstd, c->inp, c->w, c->b, c->N, c->C, 1e-5f);
}

static void test_layernorm(void) {
    int N = 11, C = 37;
    size_t n = (size_t)N * C;
    LnCtx c = {randn(n, 21, 2.0f), randn(C, 22, 1.0f), randn(C, 23, 0.5f), zeros(N), zeros(N), N, C};
    for (size_t i = 0; i < n; i++) c.inp[i] += 0.7f; /* a nonzero mean */
    float *R = randn(n, 24, 1.0f), *out = zeros(n);
    Fn f = {ln_fn, &c, out, n, R};
    fn_loss(&f); /* fills mean, rstd */
    float *di = randn(n, 25, 1.0f), *dw = randn(C, 26, 1.0f), *db = randn(C, 27, 1.0f);
    float *di0 = malloc(n * 4), *dw0 = malloc(C * 4), *db0 = malloc(C * 4);
    memcpy(di0, di, n * 4);
    memcpy(dw0, dw, C * 4);
    memcpy(db0, db, C * 4);
    layernorm_backward(di, dw, db, R, c.inp, c.w, c.mean, c.rstd, N, C);
    for (size_t i = 0; i < n; i++) di[i] -= di0[i];
    for (int i = 0; i < C; i++) dw[i] -= dw0[i], db[i] -= db0[i];
    fd_check("layernorm dinp", &f, c.inp, n, di, 4);
    fd_check("layernorm dweight", &f, c.w, C, dw, 5);
    fd_check("layernorm dbias", &f, c.b, C, db, 6);
    float *d2 = zeros(n);
    layernorm_backward(d2, NULL, NULL, R, c.inp, c.w, c.mean, c.rstd, N, C);
    CHECK(max_abs_diff(d2, di, n) <= 1e-5f);
    free(c.inp), free(c.w), free(c.b), free(c.mean), free(c.rstd), free(R), free(out);
    free(di), free(dw), free(db), free(di0), free(dw0), free(db0), free(d2);
}

/* ------------------------------------------------------------------------ */
/* activations */

typedef struct {
    Activation a;
    float *inp;
    size_t n;
} ActCtx;

static void act_fn(void *ctx, float *out) {
    ActCtx *c = ctx;
    activation_forward(c->a, out, c->inp, c->n);
}

static void test_activations(void) {
    static const Activation all[] = {ACT_GELU, ACT_GELU_TANH, ACT_RELU, ACT_SILU, ACT_QUICK_GELU, ACT_TANH};
    size_t n = 400;
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
        ActCtx c = {all[k], randn(n, 31, 2.0f), n};
        for (size_t i = 0; i < n; i++) /* keep off ReLU's kink */
            if (fabsf(c.inp[i]) < 0.01f) c.inp[i] = 0.5f;
        float *R = randn(n, 32, 1.0f), *out = zeros(n), *d = randn(n, 33, 1.0f);
        float *d0 = malloc(n * 4);
        memcpy(d0, d, n * 4);
        Fn f = {act_fn, &c, out, n, R};
        activation_backward(c.a, d, c.inp, R, n);
        for (size_t i = 0; i < n; i++) d[i] -= d0[i];
        char what[64];
        snprintf(what, sizeof what, "activation %s", activation_name(c.a));
        fd_check(what, &f, c.inp, n, d, 8);
        free(c.inp), free(R), free(out), free(d), free(d0);
    }
    /* ReLU at 0: derivative 0, as PyTorch */
    float x = 0.0f, g = 1.0f, dx = 0.0f;
    activation_backward(ACT_RELU, &dx, &x, &g, 1);
    CHECK(dx == 0.0f);
    /* tanh against libm's, tails included */
    float xs[9] = {-40.0f, -9.0f, -1.5f, -1e-3f, 0.0f, 1e-4f, 0.7f, 3.0f, 50.0f}, ys[9];
    activation_forward(ACT_TANH, ys, xs, 9);
    double worst = 0;
    for (int i = 0; i < 9; i++) worst = fmax(worst, fabs((double)ys[i] - tanh((double)xs[i])));
    CHECKF(worst < 2e-7, "tanh differs from libm's by %g", worst);
}

/* ------------------------------------------------------------------------ */
/* attention */

typedef struct {
    float *qkv, *att, *attd;
    const int32_t *mask;
    int B, T, C, NH;
    float p;
} AttCtx;

static void att_fn(void *ctx, float *out) {
    AttCtx *c = ctx;
    attention_forward_dropout(out, c->att, c->attd, c->qkv, c->mask, c->B, c->T, c->C, c->NH, c->p,
                              42, 9, 5);
}

static void test_attention(float p) {
    int B = 2, T = 7, C = 12, NH = 3;
    int32_t mask[14] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0};
    size_t nq = (size_t)B * T * 3 * C, na = (size_t)B * NH * T * T, no = (size_t)B * T * C;
    AttCtx c = {randn(nq, 41, 1.0f), zeros(na), zeros(na), mask, B, T, C, NH, p};
    float *R = randn(no, 42, 1.0f), *out = zeros(no), *datt = zeros(na);
    Fn f = {att_fn, &c, out, no, R};
    fn_loss(&f);
    /* padded keys get no weight */
    float mw = 0.0f;
    for (int h = 0; h < NH; h++)
        for (int t = 0; t < T; t++)
            for (int t2 = 4; t2 < T; t2++)
                mw = fmaxf(mw, fabsf(c.att[(((size_t)1 * NH + h) * T + t) * T + t2]));
    CHECK(mw == 0.0f);
    float *d = randn(nq, 43, 1.0f), *d0 = malloc(nq * 4);
    memcpy(d0, d, nq * 4);
    attention_backward(d, datt, c.attd, R, c.qkv, c.att, B, T, C, NH, p, 42, 9, 5);
    for (size_t i = 0; i < nq; i++) d[i] -= d0[i];
    char what[64];
    snprintf(what, sizeof what, "attention dqkv (p=%.1f)", (double)p);
    fd_check(what, &f, c.qkv, nq, d, 9);
    /* padded keys and values get no gradient */
    float mg = 0.0f;
    for (int t = 4; t < T; t++)
        for (int i = C; i < 3 * C; i++) mg = fmaxf(mg, fabsf(d[((size_t)1 * T + t) * 3 * C + i]));
    CHECK(mg == 0.0f);
    if (p == 0.0f) { /* attention_forward is attention_forward_dropout with p = 0 */
        float *out2 = zeros(no);
        attention_forward(out2, c.att, c.qkv, mask, B, T, C, NH);
        fn_loss(&f);
        CHECK(max_abs_diff(out, out2, no) == 0.0f);
        free(out2);
    }
    free(c.qkv), free(c.att), free(c.attd), free(R), free(out), free(datt), free(d), free(d0);
}

/* ------------------------------------------------------------------------ */
/* dropout */

static void test_dropout(void) {
    size_t n = 200000;
    float p = 0.25f;
    float *x = randn(n, 51, 1.0f), *y1 = zeros(n), *y2 = zeros(n), *g = zeros(n);
    omp_set_num_threads(1);
    dropout_forward(y1, x, n, p, 7, 3);
    omp_set_num_threads(omp_get_num_procs() > 1 ? omp_get_num_procs() : 2);
    dropout_forward(y2, x, n, p, 7, 3);
    CHECKF(memcmp(y1, y2, n * 4) == 0, "dropout mask depends on the thread count");
    size_t kept = 0;
    int scaled = 1, as_rng = 1;
    for (size_t i = 0; i < n; i++) { /* the documented mask: rng_uniform(seed, stream, i) >= p */
        if (x[i] != 0.0f) as_rng &= (y1[i] != 0.0f) == (rng_uniform(7, 3, i) >= p);
        if (y1[i] != 0.0f) {
            kept++;
            scaled &= fabsf(y1[i] - x[i] / (1.0f - p)) <= 1e-6f * fabsf(x[i]) + 1e-30f;
        }
    }
    double frac = (double)kept / n;
    CHECKF(fabs(frac - 0.75) < 0.005, "kept fraction %.4f, expected 0.75", frac);
    CHECK(scaled);
    CHECKF(as_rng, "dropout mask is not rng_uniform(seed, stream, i) >= p");
    /* thresholds that are not multiples of 2^-24 and odd p agree too */
    float ps[3] = {0.1f, 0.33333f, 0.9f};
    for (int k = 0; k < 3; k++) {
        dropout_forward(y2, x, n, ps[k], 9, 1);
        int ok = 1;
        for (size_t i = 0; i < n; i++)
            if (x[i] != 0.0f) ok &= (y2[i] != 0.0f) == (rng_uniform(9, 1, i) >= ps[k]);
        CHECKF(ok, "dropout p=%g mask differs from rng_uniform >= p", (double)ps[k]);
    }
    /* another stream or seed: another mask */
    dropout_forward(y2, x, n, p, 7, 4);
    CHECK(memcmp(y1, y2, n * 4) != 0);
    dropout_forward(y2, x, n, p, 8, 3);
    CHECK(memcmp(y1, y2, n * 4) != 0);
    /* backward = the same mask and scale on the gradient; in place works */
    for (size_t i = 0; i < n; i++) g[i] = 1.0f;
    dropout_backward(g, g, n, p, 7, 3);
    int same = 1;
    for (size_t i = 0; i < n; i++) same &= (g[i] != 0.0f) == (y1[i] != 0.0f || x[i] == 0.0f);
    CHECK(same);
    memcpy(y2, x, n * 4);
    dropout_forward(y2, y2, n, p, 7, 3);
    CHECK(memcmp(y1, y2, n * 4) == 0);
    /* p = 0: identity; p = 1: zeros */
    dropout_forward(y2, x, n, 0.0f, 7, 3);
    CHECK(memcmp(y2, x, n * 4) == 0);
    dropout_forward(y2, x, n, 1.0f, 7, 3);
    float mx = 0.0f;
    for (size_t i = 0; i < n; i++) mx = fmaxf(mx, fabsf(y2[i]));
    CHECK(mx == 0.0f);
    free(x), free(y1), free(y2), free(g);
}

int main(void) {
    test_matmul();
    test_layernorm();
    test_activations();
    test_attention(0.0f);
    test_attention(0.3f);
    test_dropout();
    TEST_DONE();
}
