/* test_s2s_generate.c: greedy decoding (src/train/s2s_train.c s2s_greedy)
 * against transformers' generate() (tests/fixtures/seq2seq/generate.json,
 * tools/oracle_generate.py) on the tiny T5 v1.0, v1.1 and BART checkpoints:
 * all 50 padded sources of each give generate()'s tokens exactly, up to its
 * end-of-sequence token or max_new_tokens; and beam search (src/train/
 * s2s_beam.c) gives generate()'s beam-search tokens exactly for three
 * settings: 4 beams, length_penalty 1, early_stopping false; 3 beams, 0.6,
 * true, no_repeat_ngram_size 2; 5 beams, 2.0, "never", min_new_tokens 3. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/compute.h"
#include "pifi/fileio.h"
#include "pifi/json.h"
#include "pifi/seq2seq.h"
#include "test.h"
#include "test_fixture_io.h"
#include "train/s2s_beam.h"
#include "train/s2s_train.h"

static void test_model(const cJSON *mj, int max_new) {
    const char *name = cJSON_GetObjectItem(mj, "name")->valuestring;
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/seq2seq/%s", test_fixtures(), name);
    PifiCompute cx;
    compute_init(&cx, PIFI_PREC_FP32);
    Seq2Seq *m;
    PifiErr err = {0};
    REQUIRE(seq2seq_load(&m, dir, &cx, &err) == 0);
    const Seq2SeqConfig *c = seq2seq_config(m);
    const cJSON *in = cJSON_GetObjectItem(mj, "input_ids"), *gr = cJSON_GetObjectItem(mj, "greedy");
    int B = cJSON_GetArraySize(in), Ts = cJSON_GetArraySize(cJSON_GetArrayItem(in, 0));
    int W = cJSON_GetArraySize(cJSON_GetArrayItem(gr, 0));
    int32_t *ids = malloc((size_t)B * Ts * sizeof *ids), *mask = malloc((size_t)B * Ts * sizeof *mask);
    int32_t *want = malloc((size_t)B * W * sizeof *want), *out = malloc((size_t)B * max_new * sizeof *out);
    int *len = malloc((size_t)B * sizeof *len);
    REQUIRE(ids && mask && want && out && len);
    test_json_ints(in, ids, Ts);
    test_json_ints(cJSON_GetObjectItem(mj, "attention_mask"), mask, Ts);
    test_json_ints(gr, want, W);
    REQUIRE(s2s_greedy(m, NULL, ids, mask, B, Ts, max_new, out, len, &err) == 0);
    int same = 0;
    for (int i = 0; i < B; i++) {
        /* generate(): start token, the tokens, eos (unless cut by max_new_tokens), padding */
        int ok = want[i * W] == c->decoder_start_id, j = 0;
        for (; ok && j < len[i]; j++) ok = want[i * W + 1 + j] == out[i * max_new + j];
        if (ok && j + 1 < W) ok = want[i * W + 1 + j] == c->eos_id;
        if (ok && len[i] < max_new && j + 1 >= W) ok = 0; /* generate() went on where pifi stopped */
        same += ok;
        if (!ok && same + 3 > i) printf("%s: source %d: pifi writes %d tokens, generate() differs\n", name, i, len[i]);
    }
    printf("%s: %d/%d greedy outputs identical to generate() (its closest tie %.1e)\n", name, same, B,
           cJSON_GetObjectItem(mj, "min_gap")->valuedouble);
    CHECKF(same == B, "%s: greedy decoding differs from generate()", name);
    const cJSON *bj;
    cJSON_ArrayForEach(bj, cJSON_GetObjectItem(mj, "beam")) {
        S2SBeamOpts o = {0};
        o.num_beams = cJSON_GetObjectItem(bj, "num_beams")->valueint;
        o.length_penalty = (float)cJSON_GetObjectItem(bj, "length_penalty")->valuedouble;
        const cJSON *es = cJSON_GetObjectItem(bj, "early_stopping");
        o.early_stopping = cJSON_IsString(es) ? 2 : cJSON_IsTrue(es);
        o.no_repeat_ngram_size = cJSON_GetObjectItem(bj, "no_repeat_ngram_size")->valueint;
        o.min_new_tokens = cJSON_GetObjectItem(bj, "min_new_tokens")->valueint;
        o.max_new_tokens = max_new;
        const cJSON *sq = cJSON_GetObjectItem(bj, "sequences");
        int Wb = cJSON_GetArraySize(cJSON_GetArrayItem(sq, 0));
        int32_t *wb = malloc((size_t)B * Wb * sizeof *wb);
        REQUIRE(wb);
        test_json_ints(sq, wb, Wb);
        REQUIRE(s2s_beam(m, NULL, ids, mask, B, Ts, &o, out, len, &err) == 0);
        int hits = 0;
        for (int i = 0; i < B; i++) {
            const int32_t *w = wb + (size_t)i * Wb + 1; /* after the start token */
            int e = 0;
            while (e < Wb - 1 && w[e] != c->eos_id) e++;
            int ok = len[i] == e;
            for (int j = 0; ok && j < e; j++) ok = w[j] == out[i * max_new + j];
            hits += ok;
            if (!ok && hits + 3 > i) printf("%s beams %d: source %d: pifi %d tokens, generate() %d\n", name, o.num_beams, i, len[i], e);
        }
        printf("%s: beam search (%d beams, length_penalty %.1f, early_stopping %d, no_repeat %d, min_new %d): %d/%d "
               "identical to generate()\n",
               name, o.num_beams, o.length_penalty, o.early_stopping, o.no_repeat_ngram_size, o.min_new_tokens, hits, B);
        CHECKF(hits == B, "%s: beam search differs from generate()", name);
        free(wb);
    }
    free(ids), free(mask), free(want), free(out), free(len);
    seq2seq_free(m);
    compute_free(&cx);
}

static void run(void) {
    char p[1200];
    snprintf(p, sizeof p, "%s/seq2seq/generate.json", test_fixtures());
    cJSON *fx;
    PifiErr err = {0};
    REQUIRE(pifi_json_load(p, 1 << 24, &fx, &err) == 0);
    int max_new = cJSON_GetObjectItem(fx, "max_new_tokens")->valueint;
    const cJSON *mj;
    cJSON_ArrayForEach(mj, cJSON_GetObjectItem(fx, "models")) test_model(mj, max_new);
    cJSON_Delete(fx);
}

int main(void) {
    run();
    TEST_DONE();
}
