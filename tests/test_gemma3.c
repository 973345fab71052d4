/* test_gemma3.c: Gemma3 decoder layers against transformers' Gemma3DecoderLayer.
 *
 * fixtures/pifi/gemma3{,_full}/grads.safetensors (tools/oracle_gemma3.py):
 * the last layer of a tiny random Gemma3 (sliding / full attention, head_dim
 * 24 != 64 / 4, GQA) on random x with L = sum(out * r): the output within
 * 1e-4 and, from pifi's backward, dL/dx and every weight's gradient (q/k
 * norms included) within 1e-4 of PyTorch's autograd relative to the
 * tensor's largest value, in sequence mode (bidirectional and causal, padded)
 * and pooled mode. Also the older config.json form (rope_theta,
 * rope_local_base_freq, rope_scaling, sliding_window_pattern): the layer
 * types, windows and RoPE bases it implies. */
#include <stdint.h>
#include <stdio.h>

#include "models/decoders/llm_layer_internal.h"
#include "pifi/fileio.h"
#include "pifi/llm_layer.h"
#include "test.h"
#include "test_cx.h"
#include "test_fixture_io.h"

/* Tensor `name` of st, n floats in all, into dst (its own shape). */
static int read_flat(SafeTensors *st, const char *name, float *dst, size_t n) {
    const StTensor *t;
    PifiErr err = {0};
    if (st_get(st, name, &t, &err) == 0) {
        size_t cnt = 1;
        for (int i = 0; i < t->ndim; i++) cnt *= (size_t)t->shape[i];
        if (cnt == n && st_read_f32(st, name, t->ndim, t->shape, dst, &err) == 0) return 0;
        if (cnt != n) fprintf(stderr, "%s: %zu values, expected %zu\n", name, cnt, n);
    }
    if (err.msg[0]) fprintf(stderr, "%s\n", err.msg);
    return -1;
}

/* max |got - want| / max |want| over n values (want read from st) */
static double rel_diff(SafeTensors *st, const char *name, const float *got, size_t n, double *abs_out) {
    float *want = malloc(n * sizeof *want);
    double worst = INFINITY, scale = 0;
    if (read_flat(st, name, want, n) == 0) {
        worst = 0;
        for (size_t i = 0; i < n; i++) {
            worst = fmax(worst, fabs((double)got[i] - want[i]));
            scale = fmax(scale, fabs(want[i]));
        }
    }
    free(want);
    if (abs_out) *abs_out = worst;
    return scale > 0 ? worst / scale : worst;
}


static void test_grads(const char *arch, const char *kind) {
    char dir[1200], p[1300];
    snprintf(dir, sizeof dir, "%s/pifi/%s", test_fixtures(), arch);
    snprintf(p, sizeof p, "%s/llm", dir);
    PifiErr err = {0};
    LlmLayer l;
    REQUIRE(llm_layer_load(&l, p, -1, 0, test_cx_fp32(), 0, &err) == 0);
    snprintf(p, sizeof p, "%s/grads.safetensors", dir);
    SafeTensors *st;
    REQUIRE(st_open(&st, p, &err) == 0);
    int pooled = strcmp(kind, "pooled") == 0, causal = strcmp(kind, "causal") == 0;
    const StTensor *t;
    char name[256];
    snprintf(name, sizeof name, "%s_x", kind);
    REQUIRE(st_get(st, name, &t, &err) == 0);
    int B = (int)t->shape[0], T = (int)t->shape[1], D = l.cfg.D;
    size_t n = (size_t)B * T * D;
    float *x = malloc(n * sizeof *x), *r = malloc(n * sizeof *r), *out = malloc(n * sizeof *out),
          *dx = malloc(n * sizeof *dx);
    int32_t *mask = malloc((size_t)B * T * sizeof *mask);
    snprintf(name, sizeof name, "%s_x", kind);
    REQUIRE(read_flat(st, name, x, n) == 0);
    snprintf(name, sizeof name, "%s_r", kind);
    REQUIRE(read_flat(st, name, r, n) == 0);
    if (!pooled) REQUIRE(test_read_ints(st, "mask", B, T, mask, &err) == 0);
    int64_t np = llm_layer_trainable_count(&l);
    float *gmem = calloc((size_t)np, sizeof *gmem);
    LlmLayerParams g;
    llm_layer_point_params(&l, &g, gmem);
    llm_layer_set_train(&l, 1);
    int rc = pooled ? llm_layer_forward_pooled(&l, out, x, B, &err)
                    : llm_layer_forward_seq(&l, out, x, mask, B, T, causal, &err);
    CHECKF(rc == 0, "%s %s: %s", arch, kind, err.msg);
    rc = rc ? rc : pooled ? llm_layer_backward_pooled(&l, dx, r, &g, &err) : llm_layer_backward_seq(&l, dx, r, &g, &err);
    CHECKF(rc == 0, "%s %s: %s", arch, kind, err.msg);
    double a_out, a_dx;
    snprintf(name, sizeof name, "%s_out", kind);
    rel_diff(st, name, out, n, &a_out);
    snprintf(name, sizeof name, "%s_dx", kind);
    double r_dx = rel_diff(st, name, dx, n, &a_dx);
    printf("%-11s %-6s out max |diff| %.2e; dx rel %.2e", arch, kind, a_out, r_dx);
    CHECKF(a_out <= 1e-4, "%s %s out: %g", arch, kind, a_out);
    CHECKF(r_dx <= 1e-4, "%s %s dx: %g", arch, kind, r_dx);
    /* every weight: torch's gradient, or none (zero) where torch has none */
    LlmTensorSpec specs[LLM_LAYER_MAX_SPECS];
    int ns = llm_layer_specs(&l.cfg, &l.p, 0, specs, LLM_LAYER_MAX_SPECS), seen = 0;
    double worst = 0;
    const char *worst_name = "";
    for (int i = 0; i < ns; i++) {
        size_t off = (size_t)((char *)specs[i].dst - (char *)&l.p);
        const float *gw = *(float **)((char *)&g + off);
        size_t cnt = (size_t)specs[i].shape[0] * (specs[i].ndim == 2 ? (size_t)specs[i].shape[1] : 1);
        snprintf(name, sizeof name, "%s.%s", kind, specs[i].name);
        if (st_get(st, name, &t, &err) != 0) {
            float m = 0;
            for (size_t j = 0; j < cnt; j++) m = fmaxf(m, fabsf(gw[j]));
            CHECKF(m == 0, "%s %s: %s has a gradient, torch has none", arch, kind, specs[i].name);
            continue;
        }
        seen++;
        double e = rel_diff(st, name, gw, cnt, NULL);
        if (e > worst) worst = e, worst_name = specs[i].name;
    }
    printf("; %d weights, worst rel %.2e (%s)\n", seen, worst, worst_name);
    CHECKF(worst <= 1e-4, "%s %s %s: %g", arch, kind, worst_name, worst);
    CHECK(seen == (pooled ? 9 : 13));
    free(gmem), free(x), free(r), free(out), free(dx), free(mask);
    st_close(st);
    llm_layer_free(&l);
}

static void test_old_config(void) {
    char p[1200];
    snprintf(p, sizeof p, "%s/gemma3_config.json", test_tmp());
    const char *json = "{\"model_type\": \"gemma3_text\", \"hidden_size\": 64, \"intermediate_size\": 96,"
                       " \"num_hidden_layers\": 7, \"num_attention_heads\": 4, \"num_key_value_heads\": 1,"
                       " \"head_dim\": 32, \"rope_theta\": 500000.0, \"rope_local_base_freq\": 20000.0,"
                       " \"rope_scaling\": {\"rope_type\": \"linear\", \"factor\": 8.0},"
                       " \"sliding_window\": 16, \"sliding_window_pattern\": 3,"
                       " \"attn_logit_softcapping\": null, \"query_pre_attn_scalar\": 16}";
    PifiErr err = {0};
    REQUIRE(pifi_write_file_atomic(p, json, strlen(json), &err) == 0);
    LlmConfig c;
    REQUIRE(llm_config_load(&c, p, &err) == 0);
    CHECK(c.arch == LLM_GEMMA3 && c.norm_offset == 1.0f && c.softcap == 0.0f);
    CHECK(fabsf(c.attn_scale - 0.25f) < 1e-7f);
    /* pattern 3: layers 2 and 5 full, the rest sliding */
    static const int want[7] = {16, 16, 0, 16, 16, 0, 16};
    int ok = 1;
    for (int i = 0; i < 7; i++) ok &= llm_config_layer_window(&c, i) == want[i];
    CHECK(ok);
    float f[16];
    llm_config_layer_inv_freq(&c, 0, f); /* sliding: base 20000, no scaling */
    CHECKF(fabs(f[1] - pow(20000.0, -2.0 / 32)) < 1e-7, "sliding inv_freq[1] %g", f[1]);
    llm_config_layer_inv_freq(&c, 2, f); /* full: base 500000, linear / 8 */
    CHECKF(fabs(f[1] - pow(500000.0, -2.0 / 32) / 8) < 1e-8, "full inv_freq[1] %g", f[1]);
    /* a bad layer type is named */
    const char *bad = "{\"model_type\": \"gemma3_text\", \"hidden_size\": 64, \"intermediate_size\": 96,"
                      " \"num_hidden_layers\": 2, \"num_attention_heads\": 4,"
                      " \"layer_types\": [\"full_attention\", \"chunked_attention\"]}";
    REQUIRE(pifi_write_file_atomic(p, bad, strlen(bad), &err) == 0);
    CHECK(llm_config_load(&c, p, &err) == -1);
    CHECK_MSG(err, "layer_types[1]");
}

int main(void) {
    static const char *ARCHS[] = {"gemma3", "gemma3_full"}, *KINDS[] = {"bidir", "causal", "pooled"};
    for (int a = 0; a < 2; a++)
        for (int k = 0; k < 3; k++) test_grads(ARCHS[a], KINDS[k]);
    test_old_config();
    TEST_DONE();
}
