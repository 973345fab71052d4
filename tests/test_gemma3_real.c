/* test_gemma3_real.c: the real Gemma-3-270M (Q4_K_M GGUF, opt-in:
 * scripts/get-models.sh --gemma3) read by pifi against transformers.
 *
 * fixtures/pifi/gemma3_real/real.safetensors (tools/oracle_gemma3.py --real):
 * layers 0 (sliding attention) and 17 (the last, full attention), their
 * Q4_K / Q5_0 / Q6_K / Q8_0 tensors dequantized by gguf-py and the stored
 * (1 + w) norms turned back into w, run by transformers' Gemma3DecoderLayer
 * on token embeddings of the file (times sqrt(640)): pooled mode and
 * sequence mode (bidirectional and causal, padded). pifi's layer read from
 * the GGUF (and from a `pifi extract` of it) must match within 1e-3 per value
 * relative to the output's largest value, which is hundreds to thousands
 * here: fp32 rounding of those alone is ~1e-4 absolute. Skips (77) only when
 * the file is absent. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "pifi/fileio.h"
#include "pifi/llm_layer.h"
#include "test.h"
#include "test_cx.h"
#include "test_fixture_io.h"

#define GEMMA3_FILE "gemma-3-270m-Q4_K_M.gguf"

typedef struct {
    SafeTensors *st;
    int B, T, D;
    float *x;
    int32_t *mask;
} Ref;

static double diff(Ref *r, const char *name, const float *got, size_t n, double *abs_out) {
    const StTensor *t;
    PifiErr err = {0};
    float *want = malloc(n * sizeof *want);
    double worst = INFINITY, scale = 0;
    if (st_get(r->st, name, &t, &err) == 0 && st_read_f32(r->st, name, t->ndim, t->shape, want, &err) == 0) {
        worst = 0;
        for (size_t i = 0; i < n; i++) {
            worst = fmax(worst, fabs((double)got[i] - want[i]));
            scale = fmax(scale, fabs(want[i]));
        }
    } else {
        fprintf(stderr, "%s\n", err.msg);
    }
    free(want);
    *abs_out = worst;
    return scale > 0 ? worst / scale : worst;
}

static void check_layer(Ref *r, const char *path, int layer, int want_layer, const char *what) {
    PifiErr err = {0};
    LlmLayer l;
    int rc = llm_layer_load(&l, path, layer, 0, test_cx_fp32(), 0, &err);
    CHECKF(rc == 0, "%s: %s", what, err.msg);
    if (rc) return;
    CHECK(l.layer == want_layer && l.cfg.D == r->D && l.cfg.HD == 256 && l.cfg.NH == 4 && l.cfg.NKV == 1);
    size_t n = (size_t)r->B * r->T * r->D;
    float *out = malloc(n * sizeof *out), *x1 = malloc((size_t)r->B * r->D * sizeof *x1);
    char name[64];
    double a, rel;
    for (int b = 0; b < r->B; b++) memcpy(x1 + (size_t)b * r->D, r->x + (size_t)b * r->T * r->D, r->D * sizeof *x1);
    rc = llm_layer_forward_pooled(&l, out, x1, r->B, &err);
    CHECKF(rc == 0, "%s: %s", what, err.msg);
    snprintf(name, sizeof name, "l%d_pooled", want_layer);
    rel = diff(r, name, out, (size_t)r->B * r->D, &a);
    printf("%-22s layer %2d pooled       max |diff| %.3g (rel %.2e)\n", what, want_layer, a, rel);
    CHECKF(rel <= 1e-3, "%s layer %d pooled: %g", what, want_layer, rel);
    for (int causal = 0; causal < 2; causal++) {
        rc = llm_layer_forward_seq(&l, out, r->x, r->mask, r->B, r->T, causal, &err);
        CHECKF(rc == 0, "%s: %s", what, err.msg);
        snprintf(name, sizeof name, "l%d_seq_%s", want_layer, causal ? "causal" : "bidir");
        rel = diff(r, name, out, n, &a);
        printf("%-22s layer %2d seq %-7s max |diff| %.3g (rel %.2e)\n", what, want_layer,
               causal ? "causal" : "bidir", a, rel);
        CHECKF(rel <= 1e-3, "%s layer %d %s: %g", what, want_layer, name, rel);
    }
    free(out), free(x1);
    llm_layer_free(&l);
}

static void run(const char *path) {
    char fix[1200];
    snprintf(fix, sizeof fix, "%s/pifi/gemma3_real/real.safetensors", test_fixtures());
    PifiErr err = {0};
    Ref r = {0};
    REQUIRE(st_open(&r.st, fix, &err) == 0);
    const StTensor *t;
    REQUIRE(st_get(r.st, "x", &t, &err) == 0);
    r.B = (int)t->shape[0], r.T = (int)t->shape[1], r.D = (int)t->shape[2];
    r.x = malloc((size_t)r.B * r.T * r.D * sizeof *r.x);
    r.mask = malloc((size_t)r.B * r.T * sizeof *r.mask);
    REQUIRE(st_read_f32(r.st, "x", 3, t->shape, r.x, &err) == 0);
    REQUIRE(test_read_ints(r.st, "mask", r.B, r.T, r.mask, &err) == 0);

    LlmConfig c;
    REQUIRE(llm_config_from_path(&c, path, &err) == 0);
    CHECK(c.arch == LLM_GEMMA3 && c.num_layers == 18 && c.sliding_window == 512);
    CHECK(llm_config_layer_window(&c, 0) == 512 && llm_config_layer_window(&c, 17) == 0);

    check_layer(&r, path, 0, 0, "GGUF");
    check_layer(&r, path, -1, 17, "GGUF");
    /* pifi extract of the last layer, plugged from its directory */
    char out[1200];
    snprintf(out, sizeof out, "%s/extract_gemma3_real", test_tmp());
    int layers[1] = {-1};
    LlmExtractReport rep;
    int rc = llm_extract(path, layers, 1, out, 1, &rep, &err);
    CHECKF(rc == 0, "extract: %s", err.msg);
    if (rc == 0) check_layer(&r, out, INT_MIN, 17, "GGUF -> pifi extract");
    free(r.x), free(r.mask);
    st_close(r.st);
}

int main(void) {
    char path[1200];
    snprintf(path, sizeof path, "%s/" GEMMA3_FILE, test_env("PIFI_MODELS", "models"));
    if (access(path, R_OK) != 0)
        TEST_SKIP("%s is absent (opt-in: scripts/get-models.sh --gemma3)", path);
    run(path);
    TEST_DONE();
}
