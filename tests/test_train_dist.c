/* test_train_dist.c: the pieces of data-parallel training that one process
 * can check, and the comparison tool of tests/cli/mpi_equivalence.sh.
 *
 * Without arguments (CTest): on the tiny llama fixture and synthetic token
 * data, trainer_step_global without accumulation is bit-identical to
 * trainer_step on the whole batch, and --grad-accum 2 and 5 (uneven
 * micro-batches) give the same losses and weights within 1e-5 over 6 steps
 * (but the key bias, see is_key_bias);
 * params_sumsq agrees with a plain sum; the single-process Dist is a no-op;
 * the comparison below finds a planted difference.
 *
 * As a tool:
 *   test_train_dist tensors A.safetensors B.safetensors TOL [C]
 *       every tensor of A is in B with the same shape and max |a - b| <= TOL
 *       (with C, the hidden size: leaving out the attention key bias, whose
 *       true gradient is 0: see is_key_bias)
 *   test_train_dist losses A/train_log.jsonl B/train_log.jsonl TOL
 *       the same steps, each "loss" within TOL
 * exit 0 when close, 1 when not (the worst difference is printed). */
#include <stdint.h>

#include "pifi/fileio.h"
#include "core/rng.h"
#include "pifi/safetensors.h"
#include "test.h"
#include "train/dist.h"
#include "train/trainer.h"

/* ------------------------------------------------------------------------ */
/* the tool */

static int is_key_bias(const char *name, int64_t i, int64_t C);

/* C > 0: leave out the key bias of a hidden size C encoder (is_key_bias;
 * HF names "...attention.self.key.bias" and the checkpoint's "slm.qkvb"). */
static int cmp_tensors(const char *a, const char *b, double tol, int64_t C, double *worst_out) {
    PifiErr err;
    SafeTensors *sa, *sb;
    if (st_open(&sa, a, &err)) return fprintf(stderr, "%s\n", err.msg), -1;
    if (st_open(&sb, b, &err)) {
        st_close(sa);
        return fprintf(stderr, "%s\n", err.msg), -1;
    }
    int rc = 0, n = st_count(sa);
    double worst = 0;
    const char *worst_name = "";
    if (n != st_count(sb)) {
        fprintf(stderr, "%s has %d tensors, %s has %d\n", a, n, b, st_count(sb));
        rc = -1;
    }
    for (int i = 0; i < n && rc == 0; i++) {
        const char *name = st_name(sa, i);
        const StTensor *ta, *tb;
        if (st_get(sa, name, &ta, &err) || st_get(sb, name, &tb, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            rc = -1;
            break;
        }
        if (ta->numel != tb->numel || ta->ndim != tb->ndim) {
            fprintf(stderr, "%s: shapes differ\n", name);
            rc = -1;
            break;
        }
        float *x = malloc((size_t)(ta->numel ? ta->numel : 1) * 2 * sizeof *x), *y = x + ta->numel;
        int64_t shape[ST_MAX_DIMS];
        for (int k = 0; k < ta->ndim; k++) shape[k] = ta->shape[k];
        if (!x || st_read_f32(sa, name, ta->ndim, shape, x, &err) || st_read_f32(sb, name, tb->ndim, shape, y, &err)) {
            fprintf(stderr, "%s: %s\n", name, x ? err.msg : "out of memory");
            free(x);
            rc = -1;
            break;
        }
        int whole_key_bias = C > 0 && strstr(name, "attention.self.key.bias") != NULL;
        for (int64_t k = 0; k < ta->numel && !whole_key_bias; k++) {
            double e = fabs((double)x[k] - y[k]);
            if (is_key_bias(name, k, C)) continue;
            if (!(e <= worst)) worst = e, worst_name = name; /* NaN counts as worst */
        }
        free(x);
    }
    if (rc == 0) printf("%d tensors, max |difference| %.3g (%s)\n", n, worst, worst_name);
    st_close(sa);
    st_close(sb);
    if (worst_out) *worst_out = worst;
    return rc ? -1 : !(worst <= tol);
}

/* The "loss" of each line of a train_log.jsonl, up to max. */
static int read_losses(const char *path, double *loss, int max) {
    char *buf;
    size_t len;
    PifiErr err;
    if (pifi_read_file(path, 1 << 26, &buf, &len, &err)) return fprintf(stderr, "%s\n", err.msg), -1;
    int n = 0;
    for (char *p = buf; p && *p && n < max; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        char *l = strstr(p, "\"loss\":");
        char *nl = strchr(p, '\n');
        if (!l || (nl && l > nl)) break;
        loss[n++] = strtod(l + 7, NULL);
    }
    free(buf);
    return n;
}

static int cmp_losses(const char *a, const char *b, double tol) {
    static double la[100000], lb[100000];
    int na = read_losses(a, la, 100000), nb = read_losses(b, lb, 100000);
    if (na < 0 || nb < 0) return -1;
    if (na != nb || na == 0) {
        fprintf(stderr, "%s has %d steps, %s has %d\n", a, na, b, nb);
        return -1;
    }
    double worst = 0;
    int at = 0;
    for (int i = 0; i < na; i++)
        if (!(fabs(la[i] - lb[i]) <= worst)) worst = fabs(la[i] - lb[i]), at = i + 1;
    printf("%d steps, max |loss difference| %.3g (step %d)\n", na, worst, at);
    return !(worst <= tol);
}

/* ------------------------------------------------------------------------ */
/* the self-test */

/* n examples of lengths 3..12: [CLS]=101-like id 2, random ids, [SEP] id 3 */
static void synth_data(TokData *td, int32_t *ids, int32_t *tt, int32_t *len, int64_t *off, int32_t *label, int n) {
    memset(td, 0, sizeof *td);
    int64_t used = 0;
    for (int i = 0; i < n; i++) {
        len[i] = 3 + (int)(rng_u64(7, 1, (uint64_t)i) % 10);
        off[i] = used;
        for (int k = 0; k < len[i]; k++) {
            ids[used + k] = k == 0 ? 2 : k == len[i] - 1 ? 3 : 5 + (int)(rng_u64(7, 2, (uint64_t)(used + k)) % 990);
            tt[used + k] = 0;
        }
        used += len[i];
        label[i] = (int32_t)(rng_u64(7, 3, (uint64_t)i) % 2);
    }
    td->n = n, td->len = len, td->off = off, td->ids = ids, td->type_ids = tt, td->label = label, td->pad_id = 0;
}

/* Is element i of tensor name the attention's key bias? Its true gradient is
 * exactly 0 (softmax ignores a shift shared by all keys), so what the
 * backward computes there is rounding noise, and Adam, which divides by the
 * gradient's own scale, turns noise into steps of up to lr: any change of
 * summation order (ranks, micro-batches) moves it by O(lr) per step. It does
 * not change the model's function; comparisons leave it out. */
static int is_key_bias(const char *name, int64_t i, int64_t C) {
    return C > 0 && strcmp(name, "slm.qkvb") == 0 && i % (3 * C) >= C && i % (3 * C) < 2 * C;
}

static double max_weight_diff(const Trainer *a, const Trainer *b, double *key_bias) {
    double w = 0, kb = 0;
    int64_t C = a->model.slm.cfg.C;
    for (int r = 0; r < a->pt.n; r++)
        for (int64_t i = 0; i < a->pt.refs[r].n; i++) {
            double e = fabs((double)a->pt.refs[r].w[i] - b->pt.refs[r].w[i]);
            if (is_key_bias(a->pt.refs[r].name, i, C)) kb = fmax(kb, e);
            else if (!(e <= w)) w = e;
        }
    if (key_bias) *key_bias = kb;
    return w;
}

/* dropout != 0: every dropout on (hidden and attention 0.1, the head's 0.2):
 * the masks are keyed by global row, so micro-batches draw those of the
 * whole batch and the results still agree. */
static void test_grad_accum(int dropout) {
    const char *fx = test_fixtures();
    char slm[1024], llm[1024];
    snprintf(slm, sizeof slm, "%s/pifi/llama/slm", fx);
    snprintf(llm, sizeof llm, "%s/pifi/llama/llm", fx);
    enum { N = 48, B = 12, S = 6 };
    static int32_t ids[N * 12], tt[N * 12], len[N], label[N];
    static int64_t off[N], order[N];
    TokData td;
    synth_data(&td, ids, tt, len, off, label, N);
    TrainOpts o;
    train_opts_default(&o);
    o.slm = slm;
    o.llm = llm;
    o.method = METHOD_PIFI;
    o.batch = B;
    o.lr = 1e-3f;
    o.clip = 0.5f; /* clipping active: the global norm must be the same too */
    o.head_dropout = dropout ? 0.2f : 0.0f;
    static const int ACC[] = {1, 1, 2, 5};
    Trainer t[4];
    PifiErr err;
    for (int k = 0; k < 4; k++) {
        o.grad_accum = ACC[k];
        int rc = trainer_setup(&t[k], &o, 2, &err);
        CHECKF(rc == 0, "trainer_setup: %s", err.msg);
        if (rc) {
            for (int j = 0; j < k; j++) trainer_free(&t[j]);
            return;
        }
        t[k].model.slm.cfg.hidden_dropout = t[k].model.slm.cfg.attn_dropout = dropout ? 0.1f : 0.0f;
    }
    epoch_order(order, N, 2023, 0, 1);
    double worst_loss = 0, worst_gn = 0;
    int exact = 1;
    Batch b = {0};
    for (int s = 0; s < S; s++) {
        const int64_t *idx = order + (s * B) % N;
        /* t[0]: the plain step on the whole batch */
        double l0, g0;
        REQUIRE(batch_fill(&b, &td, idx, B, &err) == 0);
        REQUIRE(trainer_step(&t[0], &b, o.lr, &l0, &g0, &err) == 0);
        for (int k = 1; k < 4; k++) {
            StepStats st = {0};
            REQUIRE(trainer_step_global(&t[k], &td, idx, B, o.lr, &st, &err) == 0);
            if (k == 1) exact &= st.loss == l0 && st.gnorm == g0;
            worst_loss = fmax(worst_loss, fabs(st.loss - l0));
            worst_gn = fmax(worst_gn, fabs(st.gnorm - g0));
        }
    }
    batch_free(&b);
    double kb1, kb2, kb5;
    CHECKF(exact && max_weight_diff(&t[0], &t[1], &kb1) == 0 && kb1 == 0,
           "without accumulation the step is not bit-identical");
    double w2 = max_weight_diff(&t[0], &t[2], &kb2), w5 = max_weight_diff(&t[0], &t[3], &kb5);
    CHECKF(worst_loss <= 1e-5, "a loss differs by %.3g with accumulation", worst_loss);
    CHECKF(worst_gn <= 1e-5, "a gradient norm differs by %.3g with accumulation", worst_gn);
    CHECKF(w2 <= 1e-5 && w5 <= 1e-5, "weights differ by %.3g (x2) / %.3g (x5)", w2, w5);
    printf("grad accumulation x2, x5 over %d steps, dropout %s: loss %.2g, grad norm %.2g, weights %.2g / %.2g "
           "(key bias, not compared: %.2g / %.2g)\n", S, dropout ? "on" : "off", worst_loss, worst_gn, w2, w5, kb2, kb5);
    for (int k = 0; k < 4; k++) trainer_free(&t[k]);
}

static void test_sumsq_and_single(void) {
    enum { N = 200003 };
    float *x = malloc(N * sizeof *x);
    REQUIRE(x);
    double plain = 0;
    for (int i = 0; i < N; i++) x[i] = rng_uniform(1, 2, (uint64_t)i) - 0.5f, plain += (double)x[i] * x[i];
    double s = params_sumsq(x, N);
    CHECKF(fabs(s - plain) <= 1e-9 * plain, "params_sumsq %.17g vs %.17g", s, plain);
    CHECK(params_sumsq(x, 0) == 0);
    /* the single-process Dist: collectives are no-ops, the sum of squares still computed */
    Dist d = {.size = 1, .timeout_s = 1, .bucket = 1 << 16};
    PifiErr err;
    double sq = -1, v[2] = {1, 2};
    int64_t iv = 3;
    CHECK(dist_allreduce_grad(&d, x, N, &sq, &err) == 0 && sq == s);
    CHECK(dist_allreduce_f64(&d, v, 2, DIST_SUM, &err) == 0 && v[0] == 1 && v[1] == 2);
    CHECK(dist_allreduce_i64(&d, &iv, 1, DIST_MAX, &err) == 0 && iv == 3);
    CHECK(dist_agree(&d, 0, &err) == 0 && dist_agree(&d, -1, &err) == -1);
    CHECK(dist_same_u64(&d, 42, "x", &err) == 0 && dist_barrier(&d, &err) == 0);
    free(x);
}

static void test_compare_tool(void) {
    const char *tmp = test_tmp();
    char a[1024], b[1024];
    snprintf(a, sizeof a, "%s/dist_a.safetensors", tmp);
    snprintf(b, sizeof b, "%s/dist_b.safetensors", tmp);
    float x[6] = {1, 2, 3, 4, 5, 6}, y[6] = {1, 2, 3, 4, 5, 6.5f};
    StWriteTensor ta = {"w", PIFI_DT_F32, 2, {2, 3}, x}, tb = {"w", PIFI_DT_F32, 2, {2, 3}, y};
    PifiErr err;
    REQUIRE(st_write(a, &ta, 1, NULL, &err) == 0 && st_write(b, &tb, 1, NULL, &err) == 0);
    double worst = -1;
    CHECK(cmp_tensors(a, a, 0, 0, &worst) == 0 && worst == 0);
    CHECK(cmp_tensors(a, b, 1e-5, 0, &worst) == 1 && fabs(worst - 0.5) < 1e-9);
    CHECK(cmp_tensors(a, b, 0.6, 0, &worst) == 0);
}

int main(int argc, char **argv) {
    if ((argc == 5 || argc == 6) && strcmp(argv[1], "tensors") == 0) {
        int r = cmp_tensors(argv[2], argv[3], atof(argv[4]), argc == 6 ? atoll(argv[5]) : 0, NULL);
        return r == 0 ? 0 : 1;
    }
    if (argc == 5 && strcmp(argv[1], "losses") == 0) return cmp_losses(argv[2], argv[3], atof(argv[4])) == 0 ? 0 : 1;
    if (argc != 1) {
        fprintf(stderr, "usage: test_train_dist [tensors A B TOL [KEY_BIAS_C] | losses A B TOL]\n");
        return 2;
    }
    test_sumsq_and_single();
    test_compare_tool();
    test_grad_accum(0);
    test_grad_accum(1);
    TEST_DONE();
}
