/* test_s2s_kvcache.c: incremental decoding (pifi/seq2seq.h
 * seq2seq_decode_start / _step / _reorder; models/seq2seq/t5_step.c,
 * bart_step.c, seq2seq_kvcache.c) against the teacher-forced pass
 * (seq2seq_decode, itself checked against transformers by test_t5.c and
 * test_bart.c) on the tiny T5 v1.0, T5 v1.1 and BART checkpoints: the 50
 * padded sources of tests/fixtures/seq2seq/generate.json, a prefix of 20
 * seeded random tokens each (past T5's exact buckets and up to its last
 * one), decoded as 1 row per source (greedy) and as 3 (beam search's
 * beams). Each step's logits [B, V] must equal the last position's logits of
 * seq2seq_decode over the prefix so far and the row's source within 1e-4
 * relative (the logits tolerance; the passes agree to 7e-6 on the
 * optimised build, 1.0e-5 on the sanitizer build, whose other contraction
 * of float products moves one ill-conditioned T5 v1.1 row, where the
 * teacher-forced pass itself differs by 6.8e-5 between batch sizes; a
 * wrong step is off by far more); with 3 rows per source the cache's rows are reordered within
 * their source every other step from step 3 (repeats, as beam search
 * does), and the teacher-forced pass is given the prefixes the rows now
 * continue. Then the refusals: a step before a start, past the cache, with
 * a token outside the vocabulary, BART past its positions, a reorder to
 * another source's row or to none, training mode. And in a bf16 context
 * the same steps within 2e-2 (bf16 rounding: up to 6e-3 seen; a wrong step
 * is off by 0.3 and more). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/compute.h"
#include "pifi/json.h"
#include "pifi/seq2seq.h"
#include "test.h"
#include "test_fixture_io.h"

#define STEPS 20

static uint64_t rng = 0x6b76636163686521ull;
static uint32_t next_u32(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 33);
}

/* The steps' logits of S sources x K rows each against seq2seq_decode's
 * last position; the worst relative difference of any step. */
static double compare_steps(Seq2Seq *m, const int32_t *ids, const int32_t *mask, int S, int Ts, int K,
                            const char *name) {
    const Seq2SeqConfig *c = seq2seq_config(m);
    int C = c->C, V = c->V, B = S * K;
    PifiErr err = {0};
    float *memory = malloc((size_t)S * Ts * C * sizeof *memory), *mem_r = malloc((size_t)B * Ts * C * sizeof *mem_r);
    int32_t *mask_r = malloc((size_t)B * Ts * sizeof *mask_r), *pre = malloc((size_t)B * STEPS * sizeof *pre);
    int32_t *pre_r = malloc((size_t)B * STEPS * sizeof *pre_r), *tok = malloc((size_t)B * sizeof *tok);
    int *from = malloc((size_t)B * sizeof *from);
    float *got = malloc((size_t)B * V * sizeof *got);
    double worst = 0;
    int reorders = 0, moved = 0;
    if (!memory || !mem_r || !mask_r || !pre || !pre_r || !tok || !from || !got) {
        CHECK(0);
        goto done;
    }
    if (seq2seq_encode(m, ids, mask, S, Ts, &err)) {
        CHECKF(0, "%s", err.msg);
        goto done;
    }
    memcpy(memory, seq2seq_encoder_output(m), (size_t)S * Ts * C * sizeof *memory);
    /* the teacher-forced pass's rows: row r over source r / K's memory and mask */
    for (int r = 0; r < B; r++) {
        memcpy(mem_r + (size_t)r * Ts * C, memory + (size_t)(r / K) * Ts * C, (size_t)Ts * C * sizeof *mem_r);
        memcpy(mask_r + (size_t)r * Ts, mask + (size_t)(r / K) * Ts, (size_t)Ts * sizeof *mask_r);
    }
    /* pre (B, STEPS): row r's tokens, the decoder start first */
    for (int r = 0; r < B; r++) {
        pre[r * STEPS] = c->decoder_start_id;
        for (int t = 1; t < STEPS; t++) pre[r * STEPS + t] = (int32_t)(next_u32() % (uint32_t)V);
    }
    if (seq2seq_decode_start(m, memory, mask, S, Ts, K, STEPS, &err)) {
        CHECKF(0, "%s", err.msg);
        goto done;
    }
    for (int t = 0; t < STEPS; t++) {
        if (K > 1 && t >= 3 && t % 2 == 1) { /* row r continues row from[r] of its source: its prefix so far */
            for (int r = 0; r < B; r++) from[r] = r / K * K + (int)(next_u32() % (uint32_t)K);
            if (seq2seq_decode_reorder(m, from, &err)) {
                CHECKF(0, "%s", err.msg);
                goto done;
            }
            memcpy(pre_r, pre, (size_t)B * STEPS * sizeof *pre);
            for (int r = 0; r < B; r++) {
                memcpy(pre + r * STEPS, pre_r + from[r] * STEPS, (size_t)t * sizeof *pre); /* the rest stays r's */
                moved += from[r] != r;
            }
            reorders++;
        }
        for (int r = 0; r < B; r++) tok[r] = pre[r * STEPS + t];
        const float *lg;
        if (seq2seq_decode_step(m, tok, &lg, &err)) {
            CHECKF(0, "%s: step %d: %s", name, t, err.msg);
            goto done;
        }
        memcpy(got, lg, (size_t)B * V * sizeof *got); /* m's until the next step or pass */
        for (int r = 0; r < B; r++)
            memcpy(pre_r + (size_t)r * (t + 1), pre + r * STEPS, (size_t)(t + 1) * sizeof *pre_r);
        if (seq2seq_decode(m, mem_r, mask_r, pre_r, B, Ts, t + 1, &err)) {
            CHECKF(0, "%s", err.msg);
            goto done;
        }
        const float *ref = seq2seq_logits(m);
        double d = 0, mx = 1e-6;
        for (int r = 0; r < B; r++) {
            const float *w = ref + ((size_t)r * (t + 1) + t) * V, *a = got + (size_t)r * V;
            for (int v = 0; v < V; v++) {
                double e = fabs((double)a[v] - w[v]);
                if (!(e <= d)) d = e;
                if (fabs(w[v]) > mx) mx = fabs(w[v]);
            }
        }
        if (!(d / mx <= worst)) worst = d / mx; /* NaN too */
    }
    printf("%s: %d sources x %d rows, %d steps, %d reorders (%d rows moved): logits within %.2e of "
           "seq2seq_decode's last position\n",
           name, S, K, STEPS, reorders, moved, worst);
    CHECKF(K == 1 || moved > 0, "%s: no row moved", name);
done:
    free(memory), free(mem_r), free(mask_r), free(pre), free(pre_r), free(tok), free(from), free(got);
    return worst;
}

/* The refusals, each with its message. */
static void check_refusals(Seq2Seq *m, const int32_t *ids, const int32_t *mask, int Ts, const char *name) {
    const Seq2SeqConfig *c = seq2seq_config(m);
    PifiErr err = {0};
    const float *lg;
    int32_t tok[4] = {(int32_t)c->decoder_start_id, (int32_t)c->decoder_start_id, (int32_t)c->decoder_start_id,
                      (int32_t)c->decoder_start_id};
    int from[4] = {1, 0, 1, 3};
    REQUIRE(seq2seq_encode(m, ids, mask, 2, Ts, &err) == 0);
    const float *mem = seq2seq_encoder_output(m);
    /* a failed start leaves nothing to step */
    CHECK(seq2seq_decode_start(m, mem, mask, 2, Ts, 1, 0, &err) == -1);
    CHECK_MSG(err, "room for 0 positions");
    CHECK(seq2seq_decode_step(m, tok, &lg, &err) == -1 && lg == NULL);
    CHECK_MSG(err, "no decoding started");
    /* training mode */
    seq2seq_set_train(m, 1, 1);
    CHECK(seq2seq_decode_start(m, mem, mask, 2, Ts, 1, 4, &err) == -1);
    CHECK_MSG(err, "eval mode");
    seq2seq_set_train(m, 0, 0);
    /* a reorder across sources, past the cache, an unknown token */
    REQUIRE(seq2seq_decode_start(m, mem, mask, 2, Ts, 2, 2, &err) == 0);
    CHECK(seq2seq_decode_reorder(m, from, &err) == -1);
    CHECK_MSG(err, "row 2 takes row 1, not a row of its source (2 .. 3)");
    from[2] = 4;
    CHECK(seq2seq_decode_reorder(m, from, &err) == -1);
    CHECK_MSG(err, "row 2 takes row 4");
    from[2] = 3;
    CHECK(seq2seq_decode_reorder(m, from, &err) == 0);
    tok[1] = c->V;
    CHECK(seq2seq_decode_step(m, tok, &lg, &err) == -1);
    CHECK_MSG(err, "outside the vocabulary");
    tok[1] = c->decoder_start_id;
    CHECK(seq2seq_decode_step(m, tok, &lg, &err) == 0);
    CHECK(seq2seq_decode_step(m, tok, &lg, &err) == 0);
    CHECK(seq2seq_decode_step(m, tok, &lg, &err) == -1);
    CHECK_MSG(err, "the cache holds 2 positions");
    if (c->max_pos > 0) { /* BART: position max_pos has no learned embedding */
        REQUIRE(seq2seq_decode_start(m, mem, mask, 2, Ts, 1, c->max_pos + 1, &err) == 0);
        int ok = 1;
        for (int t = 0; ok && t < c->max_pos; t++) ok = seq2seq_decode_step(m, tok, &lg, &err) == 0;
        CHECK(ok);
        CHECK(seq2seq_decode_step(m, tok, &lg, &err) == -1);
        CHECK_MSG(err, "past max_position_embeddings");
        CHECK(seq2seq_decode_step(m, tok, &lg, &err) == -1); /* a failed step ends the decoding */
        CHECK_MSG(err, "no decoding started");
    }
    printf("%s: refusals checked\n", name);
}

/* The model name of mj in precision prec: the steps against the teacher-forced
 * pass within tol (1 and 3 rows per source), and in fp32 the refusals. */
static void test_model(const cJSON *mj, PifiPrecision prec, double tol) {
    const char *name = cJSON_GetObjectItem(mj, "name")->valuestring;
    char dir[1200], what[1300];
    snprintf(dir, sizeof dir, "%s/seq2seq/%s", test_fixtures(), name);
    snprintf(what, sizeof what, "%s%s", name, prec == PIFI_PREC_BF16 ? " (bf16)" : "");
    PifiCompute cx;
    compute_init(&cx, prec);
    Seq2Seq *m;
    PifiErr err = {0};
    REQUIRE(seq2seq_load(&m, dir, &cx, &err) == 0);
    const cJSON *in = cJSON_GetObjectItem(mj, "input_ids");
    int B = cJSON_GetArraySize(in), Ts = cJSON_GetArraySize(cJSON_GetArrayItem(in, 0));
    int32_t *ids = malloc((size_t)B * Ts * sizeof *ids), *mask = malloc((size_t)B * Ts * sizeof *mask);
    REQUIRE(ids && mask);
    test_json_ints(in, ids, Ts);
    test_json_ints(cJSON_GetObjectItem(mj, "attention_mask"), mask, Ts);
    int padded = 0;
    for (int i = 0; i < B * Ts; i++) padded += mask[i] == 0;
    CHECKF(padded > 0, "%s: the sources should include padding", name);
    for (int K = 1; K <= 3; K += 2) {
        double d = compare_steps(m, ids, mask, B, Ts, K, what);
        CHECKF(d < tol, "%s: %d rows per source: incremental logits differ from the teacher-forced pass by %.2e",
               what, K, d);
    }
    if (prec == PIFI_PREC_FP32) check_refusals(m, ids, mask, Ts, name);
    free(ids), free(mask);
    seq2seq_free(m);
    compute_free(&cx);
}

int main(void) {
    char p[1200];
    snprintf(p, sizeof p, "%s/seq2seq/generate.json", test_fixtures());
    cJSON *fx;
    PifiErr err = {0};
    if (pifi_json_load(p, 1 << 24, &fx, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const cJSON *mj;
    cJSON_ArrayForEach(mj, cJSON_GetObjectItem(fx, "models")) test_model(mj, PIFI_PREC_FP32, 1e-4);
    /* bf16: both passes round each product's operands to bf16 (2^-9 relative), the incremental one on
       other row counts, so only near */
    cJSON_ArrayForEach(mj, cJSON_GetObjectItem(fx, "models")) test_model(mj, PIFI_PREC_BF16, 2e-2);
    cJSON_Delete(fx);
    TEST_DONE();
}
