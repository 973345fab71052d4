/* test_encoder_grad.c: encoder_backward against finite differences of the
 * whole model, on the tiny random checkpoints of fixtures/encoders/ (BERT
 * gelu and gelu_new, RoBERTa, ELECTRA, MiniLM-shaped BERT, MPNet: its
 * shared relative position bias too; ALBERT: its one layer of weights run
 * by every layer).
 *
 * The loss is L = sum(encoder_output * D) with a fixed random D, so D is the
 * dout the backward gets. For every parameter tensor, some random coordinates
 * are perturbed by +-1e-3 in fp32 and the central difference of L (summed in
 * double) is compared with the gradient: |fd - g| <= 1e-2 max(|fd|, |g|) +
 * 2e-3 gscale, gscale the tensor's largest |g|. Checked in eval, in training
 * with dropout (the masks are fixed by (seed, step), so L is a smooth
 * function), and with LoRA adapters; plus accumulation, frozen tensors,
 * padding_idx rows, the untouched pooler, and LoRA merge. */
#include <stdint.h>

#include "core/rng.h"
#include "pifi/encoder.h"
#include "pifi/safetensors.h"
#include "test.h"
#include "test_cx.h"
#include "test_fixture_io.h"

#define EPS 1e-3f
#define RTOL 1e-2
#define ATOL 2e-3

static const char *NAMES[] = {"bert_tiny", "bert_gelu_new", "roberta_tiny", "electra_tiny",
                              "minilm_tiny", "mpnet_tiny", "albert_tiny"}; /* mpnet_long: against autograd,
                                                                              test_mpnet.c */

/* The tensors of EncoderParams, by name, for walking two structs in step. */
#define PARAM_FIELDS(X)                                                                        \
    X(wte) X(wpe) X(wtt) X(emb_lnw) X(emb_lnb) X(projw) X(projb) X(qkvw) X(qkvb) X(attprojw)   \
    X(attprojb) X(ln1w) X(ln1b) X(fcw) X(fcb) X(fcprojw) X(fcprojb) X(ln2w) X(ln2b) X(relb)    \
    X(poolw) X(poolb)

typedef struct {
    const char *name;
    size_t off; /* offset of the field in EncoderParams */
} Field;

#define FIELD(f) {#f, offsetof(EncoderParams, f)},
static const Field FIELDS[] = {PARAM_FIELDS(FIELD)};
#define NFIELDS (sizeof FIELDS / sizeof FIELDS[0])

static float *field(const EncoderParams *p, size_t i) {
    return *(float *const *)((const char *)p + FIELDS[i].off);
}

/* Float count of field i: the distance to the next non-NULL field's start. */
static size_t field_len(const Encoder *m, size_t i) {
    const float *s = field(&m->params, i);
    if (!s) return 0;
    for (size_t j = i + 1; j < NFIELDS; j++)
        if (field(&m->params, j)) return (size_t)(field(&m->params, j) - s);
    return (size_t)(m->param_mem + m->num_params - s);
}

typedef struct {
    Encoder *m;
    const int32_t *ids, *tt, *mask;
    int B, T;
    const float *D; /* (B, T, C) */
} Probe;

static double probe_loss(Probe *p) {
    PifiErr err;
    if (encoder_forward(p->m, p->ids, p->tt, p->mask, p->B, p->T, &err)) {
        fprintf(stderr, "forward: %s\n", err.msg);
        return NAN;
    }
    const float *h = encoder_output(p->m);
    double s = 0.0;
    for (size_t i = 0; i < (size_t)p->B * p->T * p->m->cfg.C; i++) s += (double)h[i] * p->D[i];
    return s;
}

/* Central difference of the loss in coordinate i with step eps. */
static double fd_at(Probe *pr, float *x, size_t i, float eps) {
    float old = x[i], xp = old + eps, xm = old - eps;
    x[i] = xp;
    double lp = probe_loss(pr);
    x[i] = xm;
    double lm = probe_loss(pr);
    x[i] = old;
    return (lp - lm) / ((double)xp - (double)xm);
}

static int fd_ok(double fd, float g, float gscale) {
    return fabs(fd - g) <= RTOL * fmax(fabs(fd), fabs(g)) + ATOL * gscale;
}

/* FD check of n coordinates of x (len nx) against g; rows (of width rw) for
 * which skip_row says so are left out. worst[0]: the largest relative error
 * among coordinates with |g| >= 0.1 gscale; worst[1]: the largest share of
 * the tolerance used (1 = at the limit). The fp32 forward's own rounding
 * (~1e-6, as it matches transformers to) makes the loss noisy at the 1e-5
 * level, which a 2e-3 step turns into ~1e-2 noise in the difference: a
 * coordinate off at eps = 1e-3 is double-checked at eps = 1e-2 (10 times
 * less noise, still negligible truncation error) and fails only if both are
 * off. Returns the number of failures; *rechecked counts the second looks. */
static int fd_tensor(const char *what, Probe *pr, float *x, const float *g, size_t nx, int n,
                     uint64_t seed, int (*skip_row)(Probe *, size_t), size_t rw, double worst[2],
                     int *rechecked) {
    float gscale = 0.0f;
    for (size_t i = 0; i < nx; i++) gscale = fmaxf(gscale, fabsf(g[i]));
    int bad = 0;
    for (int k = 0, tries = 0; k < n && tries < 50 * n; tries++) {
        size_t i = rng_u64(seed, 5, (uint64_t)tries) % nx;
        if (skip_row && skip_row(pr, i / rw)) continue;
        k++;
        double fd = fd_at(pr, x, i, EPS);
        if (!fd_ok(fd, g[i], gscale)) {
            (*rechecked)++;
            fd = fd_at(pr, x, i, 10 * EPS);
        }
        double d = fabs(fd - g[i]), mx = fmax(fabs(fd), fabs(g[i]));
        if (fabs(g[i]) >= 0.1 * gscale && d / mx > worst[0]) worst[0] = d / mx;
        double used = d / (RTOL * mx + ATOL * gscale + 1e-30); /* share of the tolerance */
        if (used > worst[1]) worst[1] = used;
        if (!fd_ok(fd, g[i], gscale)) {
            if (bad < 3)
                fprintf(stderr, "  %s[%zu]: analytic %.6g, finite difference %.6g\n", what, i,
                        (double)g[i], fd);
            bad++;
        }
    }
    return bad;
}

/* Embedding rows that are never looked up have zero gradient and no FD
 * signal: sample the used rows only. The padding_idx row is looked up but
 * gets no gradient (nn.Embedding), so it is skipped too (checked apart). */
static int row_unused_wte(Probe *p, size_t row) {
    if ((int)row == p->m->cfg.pad_id) return 1;
    for (int i = 0; i < p->B * p->T; i++)
        if ((size_t)p->ids[i] == row) return 0;
    return 1;
}

static int row_unused_wpe(Probe *p, size_t row) {
    const Encoder *m = p->m;
    if ((m->cfg.arch == ENC_ROBERTA || m->cfg.arch == ENC_MPNET) && (int)row == m->cfg.pad_id) return 1;
    for (int i = 0; i < p->B * p->T; i++)
        if ((size_t)m->pos_ids[i] == row) return 0;
    return 1;
}

/* FD-check every tensor of the base model (n coordinates each) against grads. */
static void fd_model(const char *tag, Probe *pr, const EncoderParams *grads, int n) {
    Encoder *m = pr->m;
    int bad = 0, total = 0, re = 0;
    double worst[2] = {0.0, 0.0};
    for (size_t f = 0; f < NFIELDS; f++) {
        float *x = field(&m->params, f);
        const float *g = field(grads, f);
        if (!x || !g || strncmp(FIELDS[f].name, "pool", 4) == 0) continue;
        size_t nx = field_len(m, f);
        int (*skip)(Probe *, size_t) = NULL;
        if (strcmp(FIELDS[f].name, "wte") == 0) skip = row_unused_wte;
        if (strcmp(FIELDS[f].name, "wpe") == 0) skip = row_unused_wpe;
        char what[96];
        snprintf(what, sizeof what, "%s %s", tag, FIELDS[f].name);
        bad += fd_tensor(what, pr, x, g, nx, n, 100 + f, skip, (size_t)m->cfg.E, worst, &re);
        total += n;
    }
    CHECKF(bad == 0, "%s: %d of %d coordinates off", tag, bad, total);
    printf("%-28s %4d coords: max rel err %.1e (|g| >= 0.1 max), max err/tol %.2f, %d "
           "double-checked\n", tag, total, worst[0], worst[1], re);
}

static float *randn(size_t n, uint64_t seed, float scale) {
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = scale * rng_normal(seed, 2, i);
    return p;
}

static float max_abs_diff(const float *a, const float *b, size_t n) {
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (!(d <= m)) m = d;
    }
    return m;
}

/* Gradient of the whole model into a fresh zeroed arena (caller frees *mem). */
static int grads_of(Probe *pr, EncoderParams *g, float **mem, PifiErr *err) {
    Encoder *m = pr->m;
    *mem = calloc((size_t)encoder_param_count(m), sizeof(float));
    encoder_point_params(m, g, *mem);
    if (encoder_forward(m, pr->ids, pr->tt, pr->mask, pr->B, pr->T, err)) return -1;
    return encoder_backward(m, g, pr->D, err);
}

static void test_model(const char *name) {
    char dir[1024], io_path[1100];
    snprintf(dir, sizeof dir, "%s/encoders/%s", test_fixtures(), name);
    snprintf(io_path, sizeof io_path, "%s/io.safetensors", dir);
    PifiErr err = {0};
    Encoder m;
    int rc = encoder_load(&m, dir, test_cx_fp32(), &err);
    CHECKF(rc == 0, "%s: %s", name, err.msg);
    if (rc) return;
    SafeTensors *io;
    rc = st_open(&io, io_path, &err);
    CHECKF(rc == 0, "%s: %s", name, err.msg);
    if (rc) {
        encoder_free(&m);
        return;
    }
    const StTensor *ids_t;
    REQUIRE(st_get(io, "input_ids", &ids_t, &err) == 0 && ids_t->ndim == 2);
    int B = (int)ids_t->shape[0], T = (int)ids_t->shape[1], C = m.cfg.C;
    size_t nout = (size_t)B * T * C;
    int32_t *ids = malloc(sizeof(int32_t) * B * T), *tt = malloc(sizeof(int32_t) * B * T),
            *mask = malloc(sizeof(int32_t) * B * T);
    CHECK(test_read_ints(io, "input_ids", B, T, ids, &err) == 0);
    CHECK(test_read_ints(io, "attention_mask", B, T, mask, &err) == 0);
    CHECK(test_read_ints(io, "token_type_ids", B, T, tt, &err) == 0);
    st_close(io);
    for (int i = 0; i < T && m.cfg.TV > 1; i++) /* both token types in use */
        if (i >= T / 2) tt[i] = 1;
    float *D = randn(nout, 77, 1.0f);
    Probe pr = {&m, ids, tt, mask, B, T, D};
    char tag[96];

    /* no forward yet: the backward refuses */
    EncoderParams g;
    float *gm = calloc((size_t)encoder_param_count(&m), sizeof(float));
    encoder_point_params(&m, &g, gm);
    CHECK(encoder_backward(&m, &g, D, &err) == -1);
    CHECK_MSG(err, "no forward pass");

    /* encoder_point_params: the same layout as param_mem, element by element */
    CHECK(encoder_param_count(&m) == m.num_params);
    int same_layout = 1;
    for (size_t f = 0; f < NFIELDS; f++) {
        const float *pf = field(&m.params, f), *gf = field(&g, f);
        same_layout &= (pf == NULL) == (gf == NULL);
        if (pf && gf) same_layout &= pf - m.param_mem == gf - gm;
    }
    CHECK(same_layout);
    free(gm);

    /* eval */
    REQUIRE(grads_of(&pr, &g, &gm, &err) == 0);
    snprintf(tag, sizeof tag, "%s eval", name);
    fd_model(tag, &pr, &g, 20);
    /* the pooler is left alone; padding_idx rows get nothing */
    if (g.poolw) {
        float mx = 0.0f;
        for (int i = 0; i < C * C; i++) mx = fmaxf(mx, fabsf(g.poolw[i]));
        CHECK(mx == 0.0f);
    }
    float pad_mx = 0.0f;
    for (int e = 0; e < m.cfg.E; e++) pad_mx = fmaxf(pad_mx, fabsf(g.wte[(size_t)m.cfg.pad_id * m.cfg.E + e]));
    CHECK(pad_mx == 0.0f);

    /* accumulation: a second backward doubles every gradient (the FD left
     * the activations of a perturbed model: run the forward again) */
    REQUIRE(encoder_forward(&m, ids, tt, mask, B, T, &err) == 0);
    int64_t np = encoder_param_count(&m);
    float *g1 = malloc((size_t)np * sizeof(float));
    memcpy(g1, gm, (size_t)np * sizeof(float));
    REQUIRE(encoder_backward(&m, &g, D, &err) == 0);
    int dbl = 1;
    for (int64_t i = 0; i < np; i++) dbl &= fabsf(gm[i] - 2 * g1[i]) <= 1e-5f * (1 + fabsf(gm[i]));
    CHECKF(dbl, "%s: a second backward does not double the gradients", name);

    /* frozen: only some tensors get gradients, and the same ones */
    memset(gm, 0, (size_t)np * sizeof(float));
    EncoderParams part = {0};
    part.ln2w = g.ln2w;
    part.fcw = g.fcw;
    part.wtt = g.wtt;   /* NULL without token types (MPNet) */
    part.relb = g.relb; /* NULL but for MPNet */
    REQUIRE(encoder_backward(&m, &part, D, &err) == 0);
    size_t L = m.cfg.arch == ENC_ALBERT ? 1 : m.cfg.L, FF = m.cfg.FF; /* layers of weights: ALBERT's one, shared */
    struct {
        const float *g;
        size_t n;
    } kept[] = {{g.ln2w, L * C}, {g.fcw, L * FF * C}, {g.wtt, (size_t)m.cfg.TV * m.cfg.E},
                {g.relb, (size_t)m.cfg.rel_buckets * m.cfg.NH}};
    double rest = 0.0;
    for (int64_t i = 0; i < np; i++) rest += fabsf(gm[i]);
    for (size_t k = 0; k < sizeof kept / sizeof kept[0]; k++) {
        if (!kept[k].g) continue;
        size_t o = (size_t)(kept[k].g - gm);
        CHECK(max_abs_diff(gm + o, g1 + o, kept[k].n) <= 1e-6f);
        for (size_t i = 0; i < kept[k].n; i++) rest -= fabsf(gm[o + i]);
    }
    CHECKF(fabs(rest) < 1e-3, "%s: frozen tensors got gradients (%g)", name, rest);
    CHECK(encoder_backward(&m, NULL, D, &err) == 0); /* all frozen: nothing to do */
    free(g1);
    free(gm);

    /* training with zero dropout is eval, bit for bit */
    float *h_eval = malloc(nout * sizeof(float)), *h = malloc(nout * sizeof(float));
    REQUIRE(encoder_forward(&m, ids, tt, mask, B, T, &err) == 0);
    memcpy(h_eval, encoder_output(&m), nout * sizeof(float));
    float hd = m.cfg.hidden_dropout, ad = m.cfg.attn_dropout;
    m.cfg.hidden_dropout = m.cfg.attn_dropout = 0.0f;
    encoder_set_train(&m, 1, 5, 0);
    REQUIRE(encoder_forward(&m, ids, tt, mask, B, T, &err) == 0);
    CHECK(memcmp(h_eval, encoder_output(&m), nout * sizeof(float)) == 0);

    /* training with dropout: masks fixed by (seed, step) */
    m.cfg.hidden_dropout = 0.1f;
    m.cfg.attn_dropout = 0.15f;
    encoder_set_train(&m, 1, 5, 3);
    REQUIRE(encoder_forward(&m, ids, tt, mask, B, T, &err) == 0);
    memcpy(h, encoder_output(&m), nout * sizeof(float));
    CHECK(max_abs_diff(h, h_eval, nout) > 1e-3f);
    REQUIRE(encoder_forward(&m, ids, tt, mask, B, T, &err) == 0);
    CHECK(memcmp(h, encoder_output(&m), nout * sizeof(float)) == 0);
    encoder_set_train(&m, 1, 5, 4);
    REQUIRE(encoder_forward(&m, ids, tt, mask, B, T, &err) == 0);
    CHECK(max_abs_diff(h, encoder_output(&m), nout) > 1e-3f);
    encoder_set_train(&m, 1, 5, 3);
    REQUIRE(grads_of(&pr, &g, &gm, &err) == 0);
    snprintf(tag, sizeof tag, "%s dropout", name);
    fd_model(tag, &pr, &g, 10);
    free(gm);
    encoder_set_train(&m, 0, 0, 0);
    REQUIRE(encoder_forward(&m, ids, tt, mask, B, T, &err) == 0);
    CHECK(memcmp(h_eval, encoder_output(&m), nout * sizeof(float)) == 0);
    m.cfg.hidden_dropout = hd;
    m.cfg.attn_dropout = ad;

    free(h_eval), free(h), free(ids), free(tt), free(mask), free(D);
    encoder_free(&m);
}

/* LoRA: gradients of the adapters and of the base through them, in training
 * with every dropout on; then merge. */
static void test_lora(const char *name) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/encoders/%s", test_fixtures(), name);
    PifiErr err = {0};
    Encoder m;
    REQUIRE(encoder_load(&m, dir, test_cx_fp32(), &err) == 0);
    int B = 2, T = 9, C = m.cfg.C, r = 4;
    int L = m.cfg.arch == ENC_ALBERT ? 1 : m.cfg.L; /* layers of adapters: ALBERT's one shared layer's */
    size_t nout = (size_t)B * T * C;
    int32_t ids[18], mask[18];
    for (int i = 0; i < B * T; i++) {
        ids[i] = 5 + (int)(rng_u64(3, 3, i) % 900);
        mask[i] = !(i / T == 1 && i % T >= 6);
        if (!mask[i]) ids[i] = m.cfg.pad_id;
    }
    float *D = randn(nout, 78, 1.0f);
    Probe pr = {&m, ids, NULL, mask, B, T, D};

    REQUIRE(encoder_forward(&m, ids, NULL, mask, B, T, &err) == 0);
    float *h0 = malloc(nout * sizeof(float));
    memcpy(h0, encoder_output(&m), nout * sizeof(float));
    CHECK(encoder_lora_enable(&m, 0, 8.0f, 0.1f, 1, &err) == -1);
    CHECK(encoder_lora_enable(&m, r, 8.0f, 1.5f, 1, &err) == -1);
    REQUIRE(encoder_lora_enable(&m, r, 8.0f, 0.1f, 1, &err) == 0);
    CHECK(encoder_lora_enable(&m, r, 8.0f, 0.1f, 1, &err) == -1);
    CHECK(encoder_lora_param_count(&m) == 4LL * L * r * C);
    /* the forward of an earlier LoRA state cannot be differentiated */
    CHECK(encoder_backward(&m, NULL, D, &err) == -1);
    /* A in the PEFT bound, B zero: the model is unchanged at first */
    float bound = 1.0f / sqrtf((float)C), amax = 0.0f, bmax = 0.0f;
    for (size_t i = 0; i < (size_t)L * r * C; i++) {
        amax = fmaxf(amax, fmaxf(fabsf(m.lora.qa[i]), fabsf(m.lora.va[i])));
        bmax = fmaxf(bmax, fmaxf(fabsf(m.lora.qb[i]), fabsf(m.lora.vb[i])));
    }
    CHECK(amax <= bound && amax > 0.5f * bound && bmax == 0.0f);
    REQUIRE(encoder_forward(&m, ids, NULL, mask, B, T, &err) == 0);
    CHECK(max_abs_diff(h0, encoder_output(&m), nout) == 0.0f);
    /* names */
    char nm[128];
    float *data;
    int64_t shape[2];
    int mpnet = m.cfg.arch == ENC_MPNET, albert = m.cfg.arch == ENC_ALBERT;
    CHECK(encoder_lora_tensor(&m, &m.lora, 1, nm, sizeof nm, &data, shape) == 0);
    CHECKF(strcmp(nm, mpnet    ? "encoder.layer.0.attention.attn.q.lora_B.weight"
                      : albert ? "encoder.albert_layer_groups.0.albert_layers.0.attention.query.lora_B.weight"
                               : "encoder.layer.0.attention.self.query.lora_B.weight") == 0, "%s", nm);
    CHECK(shape[0] == C && shape[1] == r && data == m.lora.qb);
    CHECK(encoder_lora_tensor(&m, &m.lora, 4 * L - 2, nm, sizeof nm, &data, shape) == 0);
    CHECKF(strstr(nm, mpnet ? "attn.v.lora_A" : "value.lora_A") != NULL, "%s", nm);
    CHECK(shape[0] == r && shape[1] == C && data == m.lora.va + (size_t)(L - 1) * r * C);
    CHECK(encoder_lora_tensor(&m, &m.lora, 4 * L, nm, sizeof nm, &data, shape) == -1);

    /* B nonzero, so that A has a gradient */
    for (size_t i = 0; i < (size_t)L * r * C; i++) {
        m.lora.qb[i] = 0.3f * rng_normal(9, 1, i);
        m.lora.vb[i] = 0.3f * rng_normal(9, 2, i);
    }
    m.cfg.hidden_dropout = 0.1f;
    m.cfg.attn_dropout = 0.1f;
    encoder_set_train(&m, 1, 11, 2);
    int64_t nl = encoder_lora_param_count(&m);
    float *lm = calloc((size_t)nl, sizeof(float)), *gm;
    EncoderLora lg;
    encoder_lora_point(&m, &lg, lm);
    EncoderParams g;
    gm = calloc((size_t)encoder_param_count(&m), sizeof(float));
    encoder_point_params(&m, &g, gm);
    REQUIRE(encoder_forward(&m, ids, NULL, mask, B, T, &err) == 0);
    REQUIRE(encoder_backward_lora(&m, &g, &lg, D, &err) == 0);
    int bad = 0, re = 0;
    double worst[2] = {0.0, 0.0};
    for (int i = 0; i < 4 * L; i++) {
        float *x, *gx;
        int64_t sh[2];
        encoder_lora_tensor(&m, &m.lora, i, nm, sizeof nm, &x, sh);
        encoder_lora_tensor(&m, &lg, i, NULL, 0, &gx, NULL);
        bad += fd_tensor(nm, &pr, x, gx, (size_t)(sh[0] * sh[1]), 12, 200 + i, NULL, 1, worst, &re);
    }
    CHECKF(bad == 0, "%s lora: %d coordinates off", name, bad);
    snprintf(nm, sizeof nm, "%s lora adapters", name);
    printf("%-28s %4d coords: max rel err %.1e (|g| >= 0.1 max), max err/tol %.2f, %d "
           "double-checked\n", nm, 4 * L * 12, worst[0], worst[1], re);
    char tag[96];
    snprintf(tag, sizeof tag, "%s lora base", name);
    fd_model(tag, &pr, &g, 6);

    /* frozen base: adapters only, the same adapter gradients */
    float *lm2 = calloc((size_t)nl, sizeof(float));
    EncoderLora lg2;
    encoder_lora_point(&m, &lg2, lm2);
    REQUIRE(encoder_forward(&m, ids, NULL, mask, B, T, &err) == 0);
    REQUIRE(encoder_backward_lora(&m, NULL, &lg2, D, &err) == 0);
    CHECK(max_abs_diff(lm, lm2, (size_t)nl) <= 1e-5f);

    /* merge: eval output unchanged, adapters gone */
    encoder_set_train(&m, 0, 0, 0);
    REQUIRE(encoder_forward(&m, ids, NULL, mask, B, T, &err) == 0);
    memcpy(h0, encoder_output(&m), nout * sizeof(float));
    encoder_lora_merge(&m);
    CHECK(m.lora_r == 0 && m.lora_mem == NULL && encoder_lora_param_count(&m) == 0);
    REQUIRE(encoder_forward(&m, ids, NULL, mask, B, T, &err) == 0);
    float dm = max_abs_diff(h0, encoder_output(&m), nout);
    CHECKF(dm <= 1e-4f, "%s: merged output differs by %g", name, dm);
    printf("%-28s merged vs adapters max |diff| %.2g\n", name, dm);

    free(h0), free(D), free(lm), free(lm2), free(gm);
    encoder_free(&m);
}

int main(void) {
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) test_model(NAMES[i]);
    test_lora("bert_tiny");
    test_lora("electra_tiny");
    test_lora("mpnet_tiny");
    test_lora("albert_tiny");
    TEST_DONE();
}
