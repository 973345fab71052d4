/* test_s2s_train.c: the encoder-decoder trainer's core (src/train/s2s_data.c,
 * s2s_train.c) on the tiny T5 and BART checkpoints of
 * tests/fixtures/seq2seq/ (whose numbers test_t5 and test_bart check
 * against transformers):
 *   - a teacher-forcing batch: decoder input = the target shifted right
 *     from decoder_start_id, labels -1 at padding, sources padded;
 *   - training: 60 Adam steps on four source -> target pairs (reverse the
 *     source) bring the loss from ~log V to under a tenth of it, and greedy
 *     decoding then writes every target exactly;
 *   - greedy decoding is consistent with teacher forcing: each greedy token
 *     is the argmax of the teacher-forced logits over the greedy prefix;
 *   - the validation loss is the token-weighted mean;
 *   - method pifi (src/train/s2s_plug.c): T5 -> L_in -> the tiny Llama's last
 *     layer over the whole source with its padding mask -> L_out -> the
 *     decoder, against the same composition in torch
 *     (tests/fixtures/seq2seq/pifi_t5.safetensors, tools/oracle_s2s_pifi.py):
 *     the loss, the logits, and the gradients of L_in, L_out and every T5
 *     tensor, the LLM layer frozen;
 *   - random initialisation (seq2seq_init) as transformers' _init_weights
 *     sets each T5 and BART tensor: the spread of every matrix within 10% of
 *     its rule's standard deviation, norms, biases and BART's padding row
 *     exact, the same seed the same weights; and a T5 initialised so learns
 *     the pairs too. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/compute.h"
#include "pifi/seq2seq.h"
#include "pifi/safetensors.h"
#include "test.h"
#include "test_fixture_io.h"
#include "train/loss.h"
#include "train/s2s_train.h"

#define N_EX 4

/* S2SData of the pairs src[i] -> tgt[i] (each ending in eos), ids as given */
static void make_data(S2SData *d, int eos) {
    static const int32_t S[N_EX][6] = {{5, 6, 7, 8, 9, 0}, {10, 11, 12, 0}, {13, 14, 15, 16, 17, 18}, {19, 20, 0}};
    static const int SL[N_EX] = {5, 3, 6, 2};
    memset(d, 0, sizeof *d);
    d->n = N_EX;
    d->src_len = malloc(N_EX * sizeof *d->src_len), d->tgt_len = malloc(N_EX * sizeof *d->tgt_len);
    d->src_off = malloc(N_EX * sizeof *d->src_off), d->tgt_off = malloc(N_EX * sizeof *d->tgt_off);
    d->src = malloc(64 * sizeof *d->src), d->tgt = malloc(64 * sizeof *d->tgt);
    int64_t us = 0, ut = 0;
    for (int i = 0; i < N_EX; i++) {
        d->src_off[i] = us, d->tgt_off[i] = ut;
        for (int j = 0; j < SL[i]; j++) d->src[us++] = S[i][j];
        d->src[us++] = eos;
        for (int j = SL[i] - 1; j >= 0; j--) d->tgt[ut++] = S[i][j] + 20; /* reversed, shifted */
        d->tgt[ut++] = eos;
        d->src_len[i] = SL[i] + 1, d->tgt_len[i] = SL[i] + 1;
    }
}

static void test_batch(const S2SData *d) {
    S2SBatch b = {0};
    PifiErr err = {0};
    int64_t idx[2] = {1, 2};
    REQUIRE(s2s_batch_fill(&b, d, idx, 2, 0, 7, &err) == 0);
    CHECK(b.B == 2 && b.Ts == 7 && b.Tt == 7);
    /* row 0: source 10 11 12 eos, target 32 31 30 eos */
    CHECK(b.src[0] == 10 && b.src_mask[3] == 1 && b.src_mask[4] == 0 && b.src[4] == 0);
    CHECK(b.dec_in[0] == 7 && b.dec_in[1] == 32 && b.dec_in[4] == d->tgt[d->tgt_off[1] + 3] && b.dec_in[5] == 0);
    CHECK(b.labels[0] == 32 && b.labels[3] == d->tgt[d->tgt_off[1] + 3] && b.labels[4] == -1 && b.labels[6] == -1);
    s2s_batch_free(&b);
}

/* The four pairs of make_data as one batch, and a base trainer (Adam) of m. */
static void setup_pairs(Seq2Seq *m, S2SData *d, S2STrainer *t, S2SBatch *b) {
    const Seq2SeqConfig *c = seq2seq_config(m);
    PifiErr err = {0};
    make_data(d, c->eos_id);
    OptimConfig oc = {OPT_ADAM, 0.9f, 0.999f, 1e-8f, 0.0f};
    REQUIRE(s2s_trainer_init(t, m, NULL, 0, &oc, &err) == 0);
    int64_t idx[N_EX] = {0, 1, 2, 3};
    REQUIRE(s2s_batch_fill(b, d, idx, N_EX, c->pad_id, c->decoder_start_id, &err) == 0);
}

/* steps Adam steps at lr 1e-2 (clip 5): the first and the last loss. */
static void train_pairs(S2STrainer *t, const S2SBatch *b, int steps, double *first, double *last) {
    PifiErr err = {0};
    double norm;
    for (int s = 0; s < steps; s++) {
        REQUIRE(s2s_train_step(t, b, 1e-2f, 0.0f, 5.0f, last, &norm, &err) == 0);
        if (s == 0) *first = *last;
    }
}

static void run_family(const char *name) {
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/seq2seq/%s", test_fixtures(), name);
    PifiCompute cx;
    compute_init(&cx, PIFI_PREC_FP32);
    Seq2Seq *m;
    PifiErr err = {0};
    REQUIRE(seq2seq_load(&m, dir, &cx, &err) == 0);
    const Seq2SeqConfig *c = seq2seq_config(m);
    S2SData d;
    S2STrainer t;
    S2SBatch b = {0};
    setup_pairs(m, &d, &t, &b);
    if (!strcmp(name, "t5_v10")) test_batch(&d);
    double first = 0, loss = 0;
    train_pairs(&t, &b, 60, &first, &loss);
    double ev;
    REQUIRE(s2s_eval_loss(m, NULL, &d, 3, &ev, &err) == 0);
    printf("%s: loss %.4f -> %.4f after 60 steps (validation loss %.4f)\n", name, first, loss, ev);
    CHECKF(first > 0.5 * log(c->V) && loss < 0.1 * first, "%s: training did not learn the pairs", name);
    CHECKF(fabs(ev - loss) < 0.05 + 0.5 * loss, "%s: the validation loss %g is far from the step's %g", name, ev,
           loss);
    /* greedy decoding writes the targets */
    int32_t out[N_EX * 12];
    int len[N_EX], exact = 0;
    REQUIRE(s2s_greedy(m, NULL, b.src, b.src_mask, N_EX, b.Ts, 12, out, len, &err) == 0);
    for (int i = 0; i < N_EX; i++) {
        int ok = len[i] == d.tgt_len[i] - 1;
        for (int j = 0; ok && j < len[i]; j++) ok = out[i * 12 + j] == d.tgt[d.tgt_off[i] + j];
        exact += ok;
    }
    printf("%s: greedy decoding writes %d of %d targets exactly\n", name, exact, N_EX);
    CHECK(exact == N_EX);
    /* consistency: teacher forcing on [start, greedy tokens] argmaxes to the greedy tokens */
    int Tt = 0;
    for (int i = 0; i < N_EX; i++)
        if (len[i] + 1 > Tt) Tt = len[i] + 1;
    int32_t *dec = calloc((size_t)N_EX * Tt, sizeof *dec);
    REQUIRE(dec);
    for (int i = 0; i < N_EX; i++) {
        dec[i * Tt] = c->decoder_start_id;
        for (int j = 0; j < Tt - 1; j++) dec[i * Tt + j + 1] = j < len[i] ? out[i * 12 + j] : c->pad_id;
    }
    REQUIRE(seq2seq_encode(m, b.src, b.src_mask, N_EX, b.Ts, &err) == 0);
    REQUIRE(seq2seq_decode(m, seq2seq_encoder_output(m), b.src_mask, dec, N_EX, b.Ts, Tt, &err) == 0);
    int agree = 1;
    for (int i = 0; i < N_EX; i++)
        for (int j = 0; j <= len[i] && j < Tt; j++) {
            const float *z = seq2seq_logits(m) + ((size_t)i * Tt + j) * c->V;
            int best = 0;
            for (int k = 1; k < c->V; k++)
                if (z[k] > z[best]) best = k;
            int want = j < len[i] ? out[i * 12 + j] : c->eos_id;
            if (best != want) agree = 0;
        }
    CHECKF(agree, "%s: greedy tokens differ from the teacher-forced argmax", name);
    free(dec);
    s2s_batch_free(&b);
    s2s_trainer_free(&t);
    s2s_data_free(&d);
    seq2seq_free(m);
    compute_free(&cx);
}

static void test_pifi(void) {
    char dir[1200], llm[1200], fx[1200];
    snprintf(dir, sizeof dir, "%s/seq2seq/t5_v10", test_fixtures());
    snprintf(llm, sizeof llm, "%s/pifi/llama/llm", test_fixtures());
    snprintf(fx, sizeof fx, "%s/seq2seq/pifi_t5.safetensors", test_fixtures());
    PifiCompute cx;
    compute_init(&cx, PIFI_PREC_FP32);
    Seq2Seq *m;
    PifiErr err = {0};
    REQUIRE(seq2seq_load(&m, dir, &cx, &err) == 0);
    const Seq2SeqConfig *c = seq2seq_config(m);
    S2SPlug plug;
    REQUIRE(s2s_plug_init(&plug, llm, -1, c->C, &cx, &err) == 0);
    OptimConfig oc = {OPT_ADAM, 0.9f, 0.999f, 1e-8f, 0.0f};
    S2STrainer t;
    REQUIRE(s2s_trainer_init(&t, m, &plug, 1, &oc, &err) == 0);
    SafeTensors *st;
    REQUIRE(st_open(&st, fx, &err) == 0);
    int B = 3, Ts = 7, Tt = 5, D = plug.D, C = c->C;
    int64_t sin[2] = {D, C}, sout[2] = {C, D};
    REQUIRE(st_read_f32(st, "l_in", 2, sin, plug.l_in, &err) == 0);
    REQUIRE(st_read_f32(st, "l_out", 2, sout, plug.l_out, &err) == 0);
    S2SBatch b = {0};
    b.B = B, b.Ts = Ts, b.Tt = Tt;
    b.src = malloc(B * Ts * sizeof *b.src), b.src_mask = malloc(B * Ts * sizeof *b.src_mask);
    b.labels = malloc(B * Tt * sizeof *b.labels), b.dec_in = malloc(B * Tt * sizeof *b.dec_in);
    REQUIRE(b.src && b.src_mask && b.labels && b.dec_in);
    REQUIRE(test_read_ints(st, "input_ids", B, Ts, b.src, &err) == 0);
    REQUIRE(test_read_ints(st, "attention_mask", B, Ts, b.src_mask, &err) == 0);
    REQUIRE(test_read_ints(st, "labels", B, Tt, b.labels, &err) == 0);
    for (int r = 0; r < B; r++) /* transformers' shift_tokens_right, -100 as pad */
        for (int j = 0; j < Tt; j++) {
            int32_t prev = j ? b.labels[r * Tt + j - 1] : c->decoder_start_id;
            b.dec_in[r * Tt + j] = prev < 0 ? c->pad_id : prev;
            if (b.labels[r * Tt + j] < 0) b.labels[r * Tt + j] = -1;
        }
    double loss, norm, want;
    float one;
    int64_t s1[1] = {1};
    REQUIRE(st_read_f32(st, "loss", 1, s1, &one, &err) == 0);
    want = one;
    /* lr 0: the step's gradients without moving the weights */
    REQUIRE(s2s_train_step(&t, &b, 0.0f, 0.0f, 0.0f, &loss, &norm, &err) == 0);
    int64_t sl[3] = {B, Tt, c->V};
    float *lw = malloc((size_t)B * Tt * c->V * sizeof *lw);
    REQUIRE(lw && st_read_f32(st, "logits", 3, sl, lw, &err) == 0);
    double dl = test_rel_diff(seq2seq_logits(m), lw, (int64_t)B * Tt * c->V, 1e-3);
    double worst = 0;
    const char *worst_name = "";
    int n = 0;
    for (int i = 0; i < t.pt.n; i++) {
        const ParamRef *r = &t.pt.refs[i];
        char name[200];
        snprintf(name, sizeof name, "grad.%s", r->name);
        float *g = malloc((size_t)r->n * sizeof *g);
        REQUIRE(g);
        const StTensor *tt;
        if (st_find(st, name, &tt, &err) != 0) { /* a tensor torch gives no gradient (none unused here) */
            printf("pifi_t5: no %s in the fixture\n", name);
            CHECK(0);
            free(g);
            continue;
        }
        int64_t shp[ST_MAX_DIMS];
        for (int k = 0; k < tt->ndim; k++) shp[k] = tt->shape[k];
        REQUIRE(st_read_f32(st, name, tt->ndim, shp, g, &err) == 0);
        double d = test_rel_diff(r->g, g, r->n, 1e-3);
        if (d > worst) worst = d, worst_name = r->name;
        n++;
        free(g);
    }
    printf("pifi (T5 + Llama layer): loss %.7f (torch %.7f), logits %.1e, worst of %d gradients %.1e (%s)\n", loss,
           want, dl, n, worst, worst_name);
    CHECK(fabs(loss - want) < 1e-5 && dl < 1e-4 && worst < 1e-4 && n == t.pt.n);
    free(lw);
    st_close(st);
    s2s_batch_free(&b);
    s2s_trainer_free(&t);
    s2s_plug_free(&plug);
    seq2seq_free(m);
    compute_free(&cx);
}

/* The standard deviation transformers' _init_weights gives tensor name (-1: a
 * constant, *value). */
static double want_std(const Seq2SeqConfig *c, const char *name, double *value) {
    size_t n = strlen(name);
#define ENDS(s) (n >= strlen(s) && !strcmp(name + n - strlen(s), s))
    if (c->t5.d_kv) { /* T5, initializer_factor 1 */
        if (strstr(name, "layer_norm")) return *value = 1.0, -1;
        if (ENDS(".q.weight")) return 1.0 / sqrt((double)c->C * c->t5.d_kv);
        if (ENDS(".o.weight")) return 1.0 / sqrt((double)c->NH * c->t5.d_kv);
        if (ENDS(".wo.weight")) return 1.0 / sqrt((double)c->t5.d_ff);
        if (ENDS("shared.weight") || ENDS("lm_head.weight")) return 1.0;
        return 1.0 / sqrt((double)c->C); /* k, v, relative bias, wi */
    }
    if (ENDS(".bias")) return *value = 0.0, -1;
    if (strstr(name, "layer_norm") || strstr(name, "layernorm_embedding")) return *value = 1.0, -1;
    return 0.02;
#undef ENDS
}

static void test_init(const char *name) {
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/seq2seq/%s", test_fixtures(), name);
    PifiCompute cx;
    compute_init(&cx, PIFI_PREC_FP32);
    Seq2Seq *m, *m2;
    PifiErr err = {0};
    REQUIRE(seq2seq_init(&m, dir, 7, &cx, &err) == 0);
    REQUIRE(seq2seq_init(&m2, dir, 7, &cx, &err) == 0);
    const Seq2SeqConfig *c = seq2seq_config(m);
    CHECK(!memcmp(seq2seq_params(m), seq2seq_params(m2), (size_t)seq2seq_param_count(m) * sizeof(float)));
    Seq2SeqTensor rows[SEQ2SEQ_TENSORS_MAX];
    int n = seq2seq_tensors(m, rows, SEQ2SEQ_TENSORS_MAX), checked = 0, bad = 0;
    for (int i = 0; i < n; i++) {
        double value = 0, want = want_std(c, rows[i].name, &value), s = 0, s2 = 0;
        if (i == 0 && !c->t5.d_kv) /* BART's shared: its padding row is 0 */
            for (int64_t k = (int64_t)c->pad_id * c->C; k < (int64_t)(c->pad_id + 1) * c->C; k++) bad += rows[i].w[k] != 0;
        for (int64_t k = 0; k < rows[i].n; k++) {
            if (want < 0) {
                bad += rows[i].w[k] != (float)value;
                continue;
            }
            if (i == 0 && !c->t5.d_kv && k >= (int64_t)c->pad_id * c->C && k < (int64_t)(c->pad_id + 1) * c->C) continue;
            s += rows[i].w[k], s2 += (double)rows[i].w[k] * rows[i].w[k];
        }
        if (want < 0 || rows[i].n < 400) continue;
        double cnt = (double)rows[i].n, sd = sqrt(s2 / cnt - (s / cnt) * (s / cnt));
        if (fabs(sd / want - 1) > 0.1) {
            bad++;
            printf("%s: %s std %.4f, transformers' rule %.4f\n", name, rows[i].name, sd, want);
        }
        checked++;
    }
    printf("%s: random init: %d tensors' spread checked, %d off\n", name, checked, bad);
    CHECK(checked > 4 && bad == 0);
    if (!strcmp(name, "t5_v10")) { /* from scratch, it learns */
        S2SData d;
        S2STrainer t;
        S2SBatch b = {0};
        setup_pairs(m, &d, &t, &b);
        double first = 0, loss = 0;
        train_pairs(&t, &b, 80, &first, &loss);
        printf("%s from scratch: loss %.4f -> %.4f after 80 steps\n", name, first, loss);
        CHECK(loss < 0.1 * first);
        s2s_batch_free(&b);
        s2s_trainer_free(&t);
        s2s_data_free(&d);
    }
    seq2seq_free(m), seq2seq_free(m2);
    compute_free(&cx);
}

int main(void) {
    test_init("t5_v10");
    test_init("t5_v11");
    test_init("bart_gelu");
    test_pifi();
    run_family("t5_v10");
    run_family("t5_v11");
    run_family("bart_gelu");
    TEST_DONE();
}
