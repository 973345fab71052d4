/* test_bart.c: the BART family (models/seq2seq/bart_*.c) against
 * transformers' BartForConditionalGeneration on the tiny random checkpoints
 * of fixtures/seq2seq/bart_* (tools/oracle_bart.py: gelu with scaled
 * embeddings, relu without, other special ids, one head and one target
 * token with SiLU and dropout 0.1 off in eval; padded sources, -100 past
 * each target, the pad id once as a real source token and once as a
 * target, where its embedding row gets no gradient from the lookups), fp32:
 *   - decoder_input_ids = shift_tokens_right(labels) as transformers makes them;
 *   - the encoder's last_hidden_state and the logits within 1e-4;
 *   - the loss (mean cross-entropy over the labels that are not -100,
 *     computed here from the logits) within 1e-5;
 *   - the gradient of that loss of every parameter (decode_backward ->
 *     dmemory -> encode_backward) within 1e-4 of the tensor's largest |g|
 *     (floored at 1e-3 of the model's largest: the key biases' true gradient
 *     is 0, a softmax ignoring a constant per query, and only rounding
 *     noise is left of it);
 *   - 10 AdamW steps (train/optim.c on the tensor table) whose losses match
 *     torch.optim.AdamW's within 1e-4, the table's weight-decay flags those
 *     of the oracle's parameter groups;
 *   - bf16 products: logits and gradients near transformers' fp32 ones, the
 *     bf16 copy of the weights refreshed after a backward;
 *   - dropout in training: seeded, off in eval, and its masks recomputed by
 *     the backward (directional derivatives against central differences);
 *   - checkpoints with a tensor missing or of a wrong shape refused naming
 *     the file and the tensor; the tied embeddings read from lm_head.weight
 *     alone; final_logits_bias absent read as zeros; config.json refusals;
 *     ids outside the vocabulary and sources longer than the positions. */
#include <stdint.h>

#include "models/seq2seq/seq2seq_family.h"
#include "pifi/fileio.h"
#include "pifi/json.h"
#include "pifi/seq2seq.h"
#include "test.h"
#include "train/loss.h"
#include "test_cx.h"
#include "test_fixture_io.h"
#include "train/optim.h"

static const char *NAMES[] = {"bart_gelu", "bart_relu", "bart_one"};

static void fixture_dir(char *dir, size_t n, const char *name) {
    snprintf(dir, n, "%s/seq2seq/%s", test_fixtures(), name);
}

/* A batch: source ids and mask (B, Ts), labels (B, Tt) with -100. */
typedef struct {
    int B, Ts, Tt;
    int32_t *ids, *mask, *labels, *dec_ids;
} Batch;

static void batch_free(Batch *b) { free(b->ids), free(b->mask), free(b->labels), free(b->dec_ids); }

/* transformers' shift_tokens_right: start id first, the labels shifted, -100 -> pad. */
static void shift_right(const Seq2SeqConfig *c, const int32_t *labels, int B, int Tt, int32_t *out) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < Tt; t++) {
            int32_t v = t == 0 ? c->decoder_start_id : labels[b * Tt + t - 1];
            out[b * Tt + t] = v == -100 ? c->pad_id : v;
        }
}

/* Mean cross-entropy over the targets that are not -100, and its gradient
 * dlogits (N, V) (0 on ignored rows). */
static double ce_loss(const float *logits, const int32_t *labels, int N, int V, float *dlogits) {
    double *rows = malloc((size_t)N * sizeof *rows); /* train/loss.c's, checked against torch by test_loss */
    double loss = rows ? crossentropy_ignore(logits, labels, N, V, 0.0f, dlogits, rows, NULL) : NAN;
    free(rows);
    return loss;
}

/* Encode, decode (memory = the encoder output) and the loss; with grads, the
 * backward of both passes into grads (zeroed first). */
static double run_batch(Seq2Seq *m, const Batch *b, float *grads) {
    PifiErr err = {0};
    const Seq2SeqConfig *c = seq2seq_config(m);
    int rc = seq2seq_encode(m, b->ids, b->mask, b->B, b->Ts, &err);
    CHECKF(rc == 0, "encode: %s", err.msg);
    rc = rc ? rc : seq2seq_decode(m, seq2seq_encoder_output(m), b->mask, b->dec_ids, b->B, b->Ts, b->Tt, &err);
    CHECKF(rc == 0, "decode: %s", err.msg);
    if (rc) return NAN;
    int N = b->B * b->Tt;
    float *dlogits = malloc((size_t)N * c->V * sizeof *dlogits);
    double loss = ce_loss(seq2seq_logits(m), b->labels, N, c->V, dlogits);
    if (grads) {
        float *dmem = malloc((size_t)b->B * b->Ts * c->C * sizeof *dmem);
        memset(grads, 0, (size_t)seq2seq_param_count(m) * sizeof *grads);
        rc = seq2seq_decode_backward(m, grads, dlogits, dmem, &err);
        CHECKF(rc == 0, "decode_backward: %s", err.msg);
        rc = rc ? rc : seq2seq_encode_backward(m, grads, dmem, &err);
        CHECKF(rc == 0, "encode_backward: %s", err.msg);
        free(dmem);
    }
    free(dlogits);
    return loss;
}

/* A tensor of n integers (any shape, stored as any dtype) into out. */
static int read_ints(SafeTensors *st, const char *name, int64_t n, int32_t *out) {
    int64_t k = 0;
    float *v = test_read_tensor(st, name, &k);
    for (int64_t i = 0; v && k == n && i < n; i++) out[i] = (int32_t)v[i];
    int rc = v && k == n ? 0 : -1;
    free(v);
    return rc;
}

static int read_batch(SafeTensors *st, const Seq2SeqConfig *c, int step, Batch *b, PifiErr *err) {
    const StTensor *t;
    if (st_get(st, "labels", &t, err) || st_get(st, "input_ids", &t, err)) return -1;
    int d = step < 0 ? 0 : 1; /* train.safetensors: (S, B, T) */
    b->B = (int)t->shape[d], b->Ts = (int)t->shape[d + 1];
    st_get(st, "labels", &t, err);
    b->Tt = (int)t->shape[d + 1];
    int S = d ? (int)t->shape[0] : 1;
    int32_t *ids = malloc(sizeof(int32_t) * S * b->B * b->Ts), *mask = malloc(sizeof(int32_t) * S * b->B * b->Ts),
            *labels = malloc(sizeof(int32_t) * S * b->B * b->Tt);
    int rc = read_ints(st, "input_ids", S * b->B * b->Ts, ids) || read_ints(st, "attention_mask", S * b->B * b->Ts, mask) ||
             read_ints(st, "labels", S * b->B * b->Tt, labels);
    int k = d ? step : 0;
    b->ids = malloc(sizeof(int32_t) * b->B * b->Ts), b->mask = malloc(sizeof(int32_t) * b->B * b->Ts);
    b->labels = malloc(sizeof(int32_t) * b->B * b->Tt), b->dec_ids = malloc(sizeof(int32_t) * b->B * b->Tt);
    memcpy(b->ids, ids + (size_t)k * b->B * b->Ts, sizeof(int32_t) * b->B * b->Ts);
    memcpy(b->mask, mask + (size_t)k * b->B * b->Ts, sizeof(int32_t) * b->B * b->Ts);
    memcpy(b->labels, labels + (size_t)k * b->B * b->Tt, sizeof(int32_t) * b->B * b->Tt);
    shift_right(c, b->labels, b->B, b->Tt, b->dec_ids);
    free(ids), free(mask), free(labels);
    return rc ? -1 : 0;
}

static double max_abs_diff(const float *a, const float *b, int64_t n) {
    double d = 0;
    for (int64_t i = 0; i < n; i++) d = fmax(d, fabs((double)a[i] - b[i]));
    return d;
}

/* ------------------------------------------------------------------------ */

static void test_oracle(const char *name) {
    char dir[1024], p[1100];
    fixture_dir(dir, sizeof dir, name);
    PifiErr err = {0};
    Seq2Seq *m;
    int rc = seq2seq_load(&m, dir, test_cx_fp32(), &err);
    CHECKF(rc == 0, "%s: %s", name, err.msg);
    if (rc) return;
    const Seq2SeqConfig *c = seq2seq_config(m);
    CHECK(!strcmp(c->family->name, "bart") && !strcmp(c->model_type, "bart"));
    snprintf(p, sizeof p, "%s/io.safetensors", dir);
    SafeTensors *io;
    REQUIRE(st_open(&io, p, &err) == 0);
    Batch b;
    REQUIRE(read_batch(io, c, -1, &b, &err) == 0);
    int64_t n = 0;
    float *want_dec = test_read_tensor(io, "decoder_input_ids", &n);
    REQUIRE(want_dec && n == (int64_t)b.B * b.Tt);
    int same = 1;
    for (int64_t i = 0; i < n; i++) same &= b.dec_ids[i] == (int32_t)want_dec[i];
    CHECKF(same, "%s: shift_tokens_right differs from transformers'", name);
    float *want_enc = test_read_tensor(io, "encoder_last_hidden_state", &n), *want_logits = NULL, *want_loss = NULL;
    int64_t nl = 0, one = 0;
    want_logits = test_read_tensor(io, "logits", &nl);
    want_loss = test_read_tensor(io, "loss", &one);
    REQUIRE(want_enc && want_logits && want_loss);

    float *grads = malloc((size_t)seq2seq_param_count(m) * sizeof *grads);
    double loss = run_batch(m, &b, grads);
    REQUIRE(n == (int64_t)b.B * b.Ts * c->C && nl == (int64_t)b.B * b.Tt * c->V);
    double de = max_abs_diff(seq2seq_encoder_output(m), want_enc, n);
    double dl = max_abs_diff(seq2seq_logits(m), want_logits, nl);
    CHECKF(de <= 1e-4, "%s: encoder last_hidden_state differs from transformers' by %.3g", name, de);
    CHECKF(dl <= 1e-4, "%s: logits differ from transformers' by %.3g", name, dl);
    CHECKF(fabs(loss - want_loss[0]) <= 1e-5, "%s: loss %.7f, transformers %.7f", name, loss, want_loss[0]);

    /* every parameter's gradient, under its HF name */
    snprintf(p, sizeof p, "%s/grads.safetensors", dir);
    SafeTensors *gs;
    REQUIRE(st_open(&gs, p, &err) == 0);
    Seq2SeqTensor rows[SEQ2SEQ_TENSORS_MAX];
    int nr = seq2seq_tensors(m, rows, SEQ2SEQ_TENSORS_MAX);
    CHECKF(nr == st_count(gs), "%s: %d tensors, transformers has %d parameters", name, nr, st_count(gs));
    double gmax = 0;
    for (int i = 0; i < st_count(gs); i++) {
        int64_t k = 0;
        float *g = test_read_tensor(gs, st_name(gs, i), &k);
        for (int64_t j = 0; g && j < k; j++) gmax = fmax(gmax, fabs(g[j]));
        free(g);
    }
    double worst = 0;
    const char *worst_name = "";
    int64_t covered = 0;
    float *params = seq2seq_params(m);
    for (int i = 0; i < nr; i++) {
        int64_t k = 0;
        float *want = test_read_tensor(gs, rows[i].name, &k);
        CHECKF(want && k == rows[i].n, "%s: %s: transformers has no such parameter of %lld floats", name, rows[i].name,
               (long long)rows[i].n);
        CHECKF(rows[i].w == params + covered, "%s: %s is not next in the arena", name, rows[i].name);
        covered += rows[i].n;
        if (want && k == rows[i].n) {
            double d = test_rel_diff(grads + (rows[i].w - params), want, k, 1e-3 * gmax);
            CHECKF(d <= 1e-4, "%s: gradient of %s differs by %.3g (relative)", name, rows[i].name, d);
            if (d > worst) worst = d, worst_name = rows[i].name;
        }
        free(want);
    }
    CHECKF(covered == seq2seq_param_count(m), "%s: the tensors cover %lld of %lld floats", name, (long long)covered,
           (long long)seq2seq_param_count(m));
    printf("%-10s encoder output %.2e, logits %.2e, loss %.2e; %d gradients, worst %.2e (%s)\n", name, de, dl,
           fabs(loss - want_loss[0]), nr, worst, worst_name);
    st_close(gs);
    st_close(io);
    free(want_dec), free(want_enc), free(want_logits), free(want_loss), free(grads);
    batch_free(&b);
    seq2seq_free(m);
}

/* 10 AdamW steps on the tensor table from the checkpoint's weights. */
static void test_adamw(const char *name) {
    char dir[1024], p[1100];
    fixture_dir(dir, sizeof dir, name);
    PifiErr err = {0};
    Seq2Seq *m;
    REQUIRE(seq2seq_load(&m, dir, test_cx_fp32(), &err) == 0);
    snprintf(p, sizeof p, "%s/meta.json", dir);
    cJSON *meta;
    REQUIRE(pifi_json_load(p, 0, &meta, &err) == 0);
    const cJSON *opt = cJSON_GetObjectItem(meta, "optimizer"), *losses = cJSON_GetObjectItem(meta, "loss");
    OptimConfig oc = {OPT_ADAMW, 0.9f, 0.999f, 1e-8f, (float)cJSON_GetObjectItem(opt, "weight_decay")->valuedouble};
    float lr = (float)cJSON_GetObjectItem(opt, "lr")->valuedouble;
    ParamTable pt = {0};
    Seq2SeqTensor rows[SEQ2SEQ_TENSORS_MAX];
    int nr = seq2seq_tensors(m, rows, SEQ2SEQ_TENSORS_MAX);
    /* the table's decay flags are the oracle's parameter groups */
    const cJSON *decayed = cJSON_GetObjectItem(opt, "decay");
    REQUIRE(cJSON_IsArray(decayed));
    int flags_ok = 1;
    for (int i = 0; i < nr; i++) {
        int want = 0;
        for (int j = 0; j < cJSON_GetArraySize(decayed) && !want; j++)
            want = !strcmp(cJSON_GetArrayItem(decayed, j)->valuestring, rows[i].name);
        if (rows[i].decay != want && flags_ok) fprintf(stderr, "  %s: decay %d, AdamW's group %d\n", rows[i].name, rows[i].decay, want);
        flags_ok &= rows[i].decay == want;
    }
    CHECKF(flags_ok, "%s: the tensor table's weight-decay flags differ from the oracle's groups", name);
    for (int i = 0; i < nr; i++) REQUIRE(params_add(&pt, rows[i].name, rows[i].w, 1, rows[i].n, 0, rows[i].decay, &err) == 0);
    REQUIRE(params_alloc(&pt, &err) == 0);
    REQUIRE(pt.total == seq2seq_param_count(m)); /* the gradient arena is laid out as the parameters */
    snprintf(p, sizeof p, "%s/train.safetensors", dir);
    SafeTensors *ts;
    REQUIRE(st_open(&ts, p, &err) == 0);
    int S = cJSON_GetArraySize(losses);
    double worst = 0;
    for (int s = 0; s < S; s++) {
        Batch b;
        REQUIRE(read_batch(ts, seq2seq_config(m), s, &b, &err) == 0);
        double loss = run_batch(m, &b, pt.grad);
        optim_step(&pt, &oc, lr, s + 1);
        worst = fmax(worst, fabs(loss - cJSON_GetArrayItem(losses, s)->valuedouble));
        batch_free(&b);
    }
    CHECKF(S == 10 && worst <= 1e-4, "%s: a loss of the %d AdamW steps differs by %.3g", name, S, worst);
    printf("%-10s %d AdamW steps: loss max |diff| %.2e\n", name, S, worst);
    st_close(ts);
    params_free(&pt);
    cJSON_Delete(meta);
    seq2seq_free(m);
}

/* ------------------------------------------------------------------------ */
/* bf16 */

/* In a bf16 context the products take bf16 operands (fp32 accumulation):
 * the logits and gradients near the oracle's, not equal; and the bf16 copy
 * of the weights follows them after a backward (the update that follows). */
static void test_bf16(const char *name) {
    char dir[1024], p[1100];
    fixture_dir(dir, sizeof dir, name);
    PifiErr err = {0};
    PifiCompute cx16;
    compute_init(&cx16, PIFI_PREC_BF16);
    Seq2Seq *m, *m32;
    REQUIRE(seq2seq_load(&m, dir, &cx16, &err) == 0 && seq2seq_load(&m32, dir, test_cx_fp32(), &err) == 0);
    snprintf(p, sizeof p, "%s/io.safetensors", dir);
    SafeTensors *io, *gs;
    REQUIRE(st_open(&io, p, &err) == 0);
    snprintf(p, sizeof p, "%s/grads.safetensors", dir);
    REQUIRE(st_open(&gs, p, &err) == 0);
    Batch b;
    REQUIRE(read_batch(io, seq2seq_config(m), -1, &b, &err) == 0);
    int64_t nl = 0, np = seq2seq_param_count(m);
    float *want = test_read_tensor(io, "logits", &nl), *grads = malloc((size_t)np * sizeof *grads);
    REQUIRE(want);
    run_batch(m, &b, grads);
    double dl = max_abs_diff(seq2seq_logits(m), want, nl);
    CHECKF(dl > 1e-3 && dl <= 0.1, "%s: bf16 logits differ from transformers' fp32 by %.3g", name, dl);
    Seq2SeqTensor rows[SEQ2SEQ_TENSORS_MAX];
    int nr = seq2seq_tensors(m, rows, SEQ2SEQ_TENSORS_MAX);
    /* the whole gradient's L2 error relative to its norm (one tensor's can be larger: a ReLU
     * input near 0 that bf16 rounds to the other side moves a unit's whole gradient) */
    double e2 = 0, n2 = 0, worst = 0;
    const char *worst_name = "";
    float *params = seq2seq_params(m);
    for (int i = 0; i < nr; i++) {
        int64_t k = 0;
        float *g = test_read_tensor(gs, rows[i].name, &k);
        REQUIRE(g && k == rows[i].n);
        const float *mine = grads + (rows[i].w - params);
        for (int64_t j = 0; j < k; j++) e2 += ((double)mine[j] - g[j]) * (mine[j] - g[j]), n2 += (double)g[j] * g[j];
        double d = test_rel_diff(mine, g, k, 1e-2);
        if (d > worst) worst = d, worst_name = rows[i].name;
        free(g);
    }
    double rel = sqrt(e2 / n2);
    CHECKF(rel > 1e-4 && rel <= 3e-2, "%s: the bf16 gradient differs from transformers' fp32 one by %.3g of its norm", name,
           rel);
    /* the weights change after the backward (as an optimizer step would): the next pass sees them */
    float *w16 = seq2seq_params(m), *w32 = seq2seq_params(m32);
    for (int64_t i = 0; i < np; i++) w16[i] *= 1.25f, w32[i] *= 1.25f;
    run_batch(m, &b, NULL);
    run_batch(m32, &b, NULL);
    double dn = max_abs_diff(seq2seq_logits(m), seq2seq_logits(m32), nl);
    CHECKF(dn <= 0.15, "%s: after the weights changed, bf16 logits are %.3g from fp32's (stale bf16 copies?)", name, dn);
    printf("%-10s bf16: logits %.2e from transformers' fp32, gradient %.2e of its norm (worst tensor %.2e, %s), after "
           "an update %.2e\n", name, dl, rel, worst, worst_name, dn);
    free(want), free(grads);
    batch_free(&b);
    st_close(io), st_close(gs);
    seq2seq_free(m), seq2seq_free(m32);
    compute_free(&cx16);
}

/* ------------------------------------------------------------------------ */
/* dropout in training */

/* The loss of batch b with every parameter moved by step * dir. */
static double loss_along(Seq2Seq *m, const Batch *b, const float *w0, const float *dir, double step) {
    float *w = seq2seq_params(m);
    for (int64_t i = 0; i < seq2seq_param_count(m); i++) w[i] = (float)(w0[i] + step * dir[i]);
    double loss = run_batch(m, b, NULL);
    memcpy(w, w0, (size_t)seq2seq_param_count(m) * sizeof *w);
    return loss;
}

/* dropout, attention_dropout and activation_dropout on: the passes are the
 * seed's (the same seed the same logits, another seed others), eval and
 * training with p = 0 are the oracle's, and the backward recomputes the
 * masks: the gradient's directional derivatives (along itself and along a
 * fixed pseudo-random direction) match central differences of the loss
 * under the same masks. */
static void test_dropout(const char *name) {
    char dir[1024], p[1100];
    fixture_dir(dir, sizeof dir, name);
    PifiErr err = {0};
    Seq2Seq *m;
    REQUIRE(seq2seq_load(&m, dir, test_cx_fp32(), &err) == 0);
    snprintf(p, sizeof p, "%s/io.safetensors", dir);
    SafeTensors *io;
    REQUIRE(st_open(&io, p, &err) == 0);
    Batch b;
    REQUIRE(read_batch(io, seq2seq_config(m), -1, &b, &err) == 0);
    int64_t nl = 0, np = seq2seq_param_count(m);
    float *want = test_read_tensor(io, "logits", &nl);
    REQUIRE(want);
    float *l1 = malloc((size_t)nl * sizeof *l1);

    /* training with every p 0: the eval numbers */
    m->cfg.dropout = m->cfg.bart.attn_dropout = m->cfg.bart.act_dropout = 0.0f;
    seq2seq_set_train(m, 1, 7);
    run_batch(m, &b, NULL);
    CHECKF(max_abs_diff(seq2seq_logits(m), want, nl) <= 1e-4, "%s: training without dropout differs from eval", name);
    m->cfg.dropout = 0.2f, m->cfg.bart.attn_dropout = 0.15f, m->cfg.bart.act_dropout = 0.1f;
    double loss7 = run_batch(m, &b, NULL);
    memcpy(l1, seq2seq_logits(m), (size_t)nl * sizeof *l1);
    double d_eval = max_abs_diff(l1, want, nl);
    run_batch(m, &b, NULL);
    CHECKF(max_abs_diff(seq2seq_logits(m), l1, nl) == 0, "%s: the same seed gives other logits", name);
    seq2seq_set_train(m, 1, 8);
    double loss8 = run_batch(m, &b, NULL);
    double d_seed = max_abs_diff(seq2seq_logits(m), l1, nl);
    CHECKF(d_eval > 0.05 && d_seed > 0.05, "%s: dropout changed the logits by %.3g (seed 7 vs eval), %.3g (7 vs 8)", name,
           d_eval, d_seed);
    seq2seq_set_train(m, 0, 7);
    run_batch(m, &b, NULL);
    CHECKF(max_abs_diff(seq2seq_logits(m), want, nl) <= 1e-4, "%s: eval after training differs", name);

    /* the gradient under seed 7's masks against central differences */
    seq2seq_set_train(m, 1, 7);
    float *g = malloc((size_t)np * sizeof *g), *w0 = malloc((size_t)np * sizeof *w0);
    float *dirs = malloc((size_t)np * sizeof *dirs);
    run_batch(m, &b, g);
    memcpy(w0, seq2seq_params(m), (size_t)np * sizeof *w0);
    double gn = 0;
    for (int64_t i = 0; i < np; i++) gn += (double)g[i] * g[i];
    gn = sqrt(gn);
    double worst = 0;
    for (int k = 0; k < 2; k++) {
        uint64_t x = 0x9E3779B97F4A7C15ull;
        double dn = 0, gd = 0;
        for (int64_t i = 0; i < np; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            dirs[i] = k == 0 ? g[i] : (float)((double)(x >> 11) / 9007199254740992.0 - 0.5);
            dn += (double)dirs[i] * dirs[i];
        }
        dn = sqrt(dn);
        for (int64_t i = 0; i < np; i++) dirs[i] = (float)(dirs[i] / dn), gd += (double)g[i] * dirs[i];
        const double h = 1e-3; /* ReLU's kinks: 1e-2 is off by 1% on bart_relu, 1e-3 by 0.1% */
        double fd = (loss_along(m, &b, w0, dirs, h) - loss_along(m, &b, w0, dirs, -h)) / (2 * h);
        double rel = fabs(fd - gd) / gn;
        worst = fmax(worst, rel);
        CHECKF(rel <= 3e-3, "%s: %s: directional derivative %.6g, central difference %.6g (|g| %.4g)", name,
               k ? "random direction" : "along g", gd, fd, gn);
    }
    printf("%-10s dropout 0.2/0.15/0.1: loss %.4f (seed 7), %.4f (seed 8); directional derivatives vs central "
           "differences: worst %.2e of |g|\n", name, loss7, loss8, worst);
    free(g), free(w0), free(dirs), free(l1), free(want);
    batch_free(&b);
    st_close(io);
    seq2seq_free(m);
}

/* ------------------------------------------------------------------------ */
/* refusals */

/* A copy of fixture dir's config.json and model.safetensors in tmp/sub, the
 * tensors passed through edit (which may rename, reshape or drop: returns 0
 * to drop). */
typedef int (*EditFn)(StWriteTensor *t);

static void copy_checkpoint(const char *name, const char *sub, EditFn edit, char *out, size_t n) {
    char dir[1024], p[1300], cmd[2600];
    fixture_dir(dir, sizeof dir, name);
    snprintf(out, n, "%s/bart_%s", test_tmp(), sub);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && cp '%s/config.json' '%s/'", out, out, dir, out);
    REQUIRE(system(cmd) == 0);
    PifiErr err = {0};
    SafeTensors *st;
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    REQUIRE(st_open(&st, p, &err) == 0);
    int nt = st_count(st), k = 0;
    StWriteTensor *w = calloc((size_t)nt, sizeof *w);
    for (int i = 0; i < nt; i++) {
        const StTensor *t;
        REQUIRE(st_get(st, st_name(st, i), &t, &err) == 0);
        StWriteTensor x = {t->name, t->dtype, t->ndim, {0}, t->data};
        for (int d = 0; d < t->ndim; d++) x.shape[d] = t->shape[d];
        if (!edit || edit(&x)) w[k++] = x;
    }
    snprintf(p, sizeof p, "%s/model.safetensors", out);
    REQUIRE(st_write(p, w, k, NULL, &err) == 0);
    free(w);
    st_close(st);
}

static int drop_fc1(StWriteTensor *t) { return strcmp(t->name, "model.decoder.layers.1.fc1.weight") != 0; }
static int transpose_fc1(StWriteTensor *t) {
    if (!strcmp(t->name, "model.encoder.layers.0.fc1.weight")) {
        int64_t d = t->shape[0];
        t->shape[0] = t->shape[1], t->shape[1] = d;
    }
    return 1;
}
static int shared_as_lm_head(StWriteTensor *t) {
    if (!strcmp(t->name, "model.shared.weight")) t->name = "lm_head.weight";
    return 1;
}
static int drop_shared(StWriteTensor *t) { return strcmp(t->name, "model.shared.weight") != 0; }
static int drop_flb(StWriteTensor *t) { return strcmp(t->name, "final_logits_bias") != 0; }
static int bare_model(StWriteTensor *t) {
    if (!strncmp(t->name, "model.", 6)) t->name += 6;
    return 1;
}

/* The logits of the io batch of bart_gelu from the checkpoint in dir. */
static int logits_of(const char *dir, float **out, int64_t *n, PifiErr *err) {
    char fx[1024], p[1100];
    fixture_dir(fx, sizeof fx, "bart_gelu");
    Seq2Seq *m;
    if (seq2seq_load(&m, dir, test_cx_fp32(), err)) return -1;
    snprintf(p, sizeof p, "%s/io.safetensors", fx);
    SafeTensors *io;
    Batch b;
    if (st_open(&io, p, err)) {
        seq2seq_free(m);
        return -1;
    }
    if (read_batch(io, seq2seq_config(m), -1, &b, err)) {
        st_close(io);
        seq2seq_free(m);
        return -1;
    }
    run_batch(m, &b, NULL);
    *n = (int64_t)b.B * b.Tt * seq2seq_config(m)->V;
    *out = malloc((size_t)*n * sizeof **out);
    memcpy(*out, seq2seq_logits(m), (size_t)*n * sizeof **out);
    batch_free(&b);
    st_close(io);
    seq2seq_free(m);
    return 0;
}

static void test_checkpoint_errors(void) {
    char d[1200];
    PifiErr err = {0};
    Seq2Seq *m;
    copy_checkpoint("bart_gelu", "missing", drop_fc1, d, sizeof d);
    CHECK(seq2seq_load(&m, d, test_cx_fp32(), &err) == -1);
    CHECK_MSG(err, "model.safetensors: missing tensor 'model.decoder.layers.1.fc1.weight'");
    CHECKF(!strchr(err.msg, '\n'), "not one line: %s", err.msg);

    copy_checkpoint("bart_gelu", "shape", transpose_fc1, d, sizeof d);
    CHECK(seq2seq_load(&m, d, test_cx_fp32(), &err) == -1);
    CHECK_MSG(err, "model.safetensors: tensor 'model.encoder.layers.0.fc1.weight' has shape [16, 32]");
    CHECK_MSG(err, "[32, 16] was expected");

    copy_checkpoint("bart_gelu", "noshared", drop_shared, d, sizeof d);
    CHECK(seq2seq_load(&m, d, test_cx_fp32(), &err) == -1);
    CHECK_MSG(err, "missing tensor 'model.shared.weight'");

    /* the same logits from the tied copy alone, and from a bare BartModel's names */
    float *want, *got;
    int64_t n, n2;
    char fx[1024];
    fixture_dir(fx, sizeof fx, "bart_gelu");
    REQUIRE(logits_of(fx, &want, &n, &err) == 0);
    copy_checkpoint("bart_gelu", "lm_head", shared_as_lm_head, d, sizeof d);
    int rc = logits_of(d, &got, &n2, &err);
    CHECKF(rc == 0 && n2 == n && max_abs_diff(got, want, n) == 0, "lm_head.weight alone: %s", rc ? err.msg : "logits differ");
    if (rc == 0) free(got);
    copy_checkpoint("bart_gelu", "bare", bare_model, d, sizeof d);
    rc = logits_of(d, &got, &n2, &err);
    CHECKF(rc == 0 && n2 == n && max_abs_diff(got, want, n) == 0, "BartModel names: %s", rc ? err.msg : "logits differ");
    if (rc == 0) free(got);

    /* no final_logits_bias: zeros, so the logits move by exactly that row */
    copy_checkpoint("bart_gelu", "noflb", drop_flb, d, sizeof d);
    rc = logits_of(d, &got, &n2, &err);
    CHECKF(rc == 0, "no final_logits_bias: %s", err.msg);
    if (rc == 0) {
        char p[1100];
        snprintf(p, sizeof p, "%s/model.safetensors", fx);
        SafeTensors *st;
        REQUIRE(st_open(&st, p, &err) == 0);
        int64_t V = 0;
        float *flb = test_read_tensor(st, "final_logits_bias", &V);
        double dd = 0;
        for (int64_t i = 0; i < n; i++) dd = fmax(dd, fabs(got[i] + flb[i % V] - want[i]));
        CHECKF(dd <= 1e-6, "without final_logits_bias the logits are off by %.3g beyond the bias", dd);
        free(flb), free(got);
        st_close(st);
    }
    free(want);
}

/* config.json of bart_gelu with key set to the JSON value text; the load
 * must fail with a one-line message holding want (want NULL: must succeed). */
static void config_refused(const char *key, const char *value, const char *want) {
    char fx[1024], p[2600], d[1200];
    fixture_dir(fx, sizeof fx, "bart_gelu");
    snprintf(d, sizeof d, "%s/bart_cfg", test_tmp());
    snprintf(p, sizeof p, "rm -rf '%s' && mkdir -p '%s'", d, d);
    REQUIRE(system(p) == 0);
    PifiErr err = {0};
    cJSON *root;
    snprintf(p, sizeof p, "%s/config.json", fx);
    REQUIRE(pifi_json_load(p, 0, &root, &err) == 0);
    cJSON_DeleteItemFromObject(root, key);
    cJSON_AddItemToObject(root, key, cJSON_Parse(value));
    char *text = cJSON_Print(root);
    snprintf(p, sizeof p, "%s/config.json", d);
    FILE *f = fopen(p, "wb");
    REQUIRE(f);
    fputs(text, f);
    fclose(f);
    free(text);
    cJSON_Delete(root);
    Seq2SeqConfig cfg;
    int rc = seq2seq_config_load(&cfg, d, &err);
    if (!want) {
        CHECKF(rc == 0, "%s = %s refused: %s", key, value, err.msg);
        return;
    }
    CHECKF(rc == -1, "%s = %s accepted", key, value);
    CHECK_MSG(err, want);
    CHECK_MSG(err, "config.json: ");
    CHECKF(!strchr(err.msg, '\n'), "not one line: %s", err.msg);
}

static void test_config_errors(void) {
    config_refused("decoder_attention_heads", "2", "\"decoder_attention_heads\" (2) differs");
    config_refused("d_model", "18", "\"d_model\" (18) is not a multiple of the attention heads (4)");
    config_refused("activation_function", "\"swiglu\"", "\"activation_function\" \"swiglu\" is not one pifi has");
    config_refused("vocab_size", "0", "\"vocab_size\" is 0, expected 1..");
    config_refused("tie_word_embeddings", "false", "\"tie_word_embeddings\" is false");
    config_refused("dropout", "1.5", "\"dropout\" is 1.5, expected [0, 1)");
    config_refused("pad_token_id", "96", "\"pad_token_id\" is 96, expected 0..95");
    config_refused("encoder_layers", "\"two\"", "encoder_layers");
    /* 7 + 16 per encoder layer + 26 per decoder layer rows: 2 + 18 fit, 2 + 19 and 30 + 2 do not */
    config_refused("decoder_layers", "18", NULL);
    config_refused("decoder_layers", "19", "2 + 19 layers make 533 tensors, more than the 512");
    config_refused("encoder_layers", "30", "30 + 2 layers make 539 tensors, more than the 512");
}

static void test_input_errors(void) {
    char fx[1024];
    fixture_dir(fx, sizeof fx, "bart_gelu");
    PifiErr err = {0};
    Seq2Seq *m;
    REQUIRE(seq2seq_load(&m, fx, test_cx_fp32(), &err) == 0);
    int32_t ids[40] = {0}, mask[40];
    for (int i = 0; i < 40; i++) mask[i] = 1;
    ids[3] = 96;
    CHECK(seq2seq_encode(m, ids, mask, 1, 5, &err) == -1);
    CHECK_MSG(err, "token id 96 at row 0, position 3 is outside the vocabulary (96)");
    ids[3] = 5;
    CHECK(seq2seq_encode(m, ids, mask, 1, 33, &err) == -1);
    CHECK_MSG(err, "33 tokens, more than max_position_embeddings (32)");
    /* no backward of a pass that failed, nor of one that never ran */
    float *grads = calloc((size_t)seq2seq_param_count(m), sizeof *grads), denc[40 * 16] = {0};
    CHECK(seq2seq_encode_backward(m, grads, denc, &err) == -1);
    CHECK_MSG(err, "encode_backward without a successful encode");
    CHECK(seq2seq_decode_backward(m, grads, denc, denc, &err) == -1);
    CHECK_MSG(err, "decode_backward without a successful decode");
    CHECK(seq2seq_encode(m, ids, mask, 1, 32, &err) == 0);
    CHECK(seq2seq_encode_backward(m, grads, denc, &err) == 0);
    free(grads);
    seq2seq_free(m);
}

int main(void) {
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
        test_oracle(NAMES[i]);
        test_adamw(NAMES[i]);
        test_dropout(NAMES[i]);
        test_bf16(NAMES[i]);
    }
    test_checkpoint_errors();
    test_config_errors();
    test_input_errors();
    TEST_DONE();
}
