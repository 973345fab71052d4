/* test_pifi.c: the PiFi composition against transformers modules.
 *
 * fixtures/pifi/<arch>/ (tools/oracle_pifi.py): a tiny random causal LM whose
 * last decoder layer is plugged, by transformers' own layer class, between a
 * tiny BERT and the head. C logits (pooled mode: cls, mean, last pooling) and
 * sequence-mode outputs (bidirectional and causal, padding masked) must match
 * within 1e-4; so must the layer read from GGUF (F32 and Q8_0), from a
 * `pifi extract` directory of the HF checkpoint and of the GGUF file. */
#include <limits.h>
#include <stdint.h>

#include "pifi/fileio.h"
#include "pifi/pifi_model.h"
#include "test.h"
#include "test_cx.h"
#include "test_fixture_io.h"

static const char *ARCHS[] = {"llama", "mistral", "qwen2", "gemma2", "gemma3", "gemma3_full"};

typedef struct {
    int B, T, K, C;
    int32_t *ids, *tt, *mask;
    SafeTensors *io;
} Io;

static int io_load(Io *io, const char *dir, PifiErr *err) {
    char p[1200];
    snprintf(p, sizeof p, "%s/io.safetensors", dir);
    if (st_open(&io->io, p, err)) return -1;
    const StTensor *t, *l;
    if (st_get(io->io, "input_ids", &t, err) || st_get(io->io, "logits_cls", &l, err)) return -1;
    io->B = (int)t->shape[0];
    io->T = (int)t->shape[1];
    io->K = (int)l->shape[1];
    size_t n = (size_t)io->B * io->T;
    io->ids = malloc(n * 4), io->tt = malloc(n * 4), io->mask = malloc(n * 4);
    return test_read_ints(io->io, "input_ids", io->B, io->T, io->ids, err) ||
           test_read_ints(io->io, "token_type_ids", io->B, io->T, io->tt, err) ||
           test_read_ints(io->io, "attention_mask", io->B, io->T, io->mask, err);
}

static void io_free(Io *io) {
    free(io->ids), free(io->tt), free(io->mask);
    st_close(io->io);
}

static float compare(SafeTensors *st, const char *name, const float *got, int ndim, int64_t *shape) {
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)shape[i];
    float *want = malloc(n * sizeof *want);
    PifiErr err = {0};
    float worst = INFINITY;
    if (st_read_f32(st, name, ndim, shape, want, &err) == 0) {
        worst = 0;
        for (size_t i = 0; i < n; i++) {
            float d = fabsf(got[i] - want[i]);
            if (!(d <= worst)) worst = d;
        }
    } else {
        fprintf(stderr, "%s\n", err.msg);
    }
    free(want);
    return worst;
}

/* Pooled logits with the layer from llm_path (layer index as given). */
static float pooled_diff(const char *dir, Io *io, const char *llm_path, int layer, PifiPooling pool,
                         const char *want_name) {
    char slm[1200], heads[1200];
    snprintf(slm, sizeof slm, "%s/slm", dir);
    snprintf(heads, sizeof heads, "%s/heads.safetensors", dir);
    PifiErr err = {0};
    PifiModel m;
    if (pifi_model_init(&m, slm, llm_path, layer, io->K, pool, 1, PIFI_PREC_FP32, 0, &err)) {
        fprintf(stderr, "%s: %s\n", dir, err.msg);
        return INFINITY;
    }
    SafeTensors *hs;
    float d = INFINITY;
    if (st_open(&hs, heads, &err) == 0 && pifi_model_load_heads(&m, hs, "", &err) == 0 &&
        pifi_model_forward(&m, io->ids, io->tt, io->mask, io->B, io->T, &err) == 0) {
        int64_t shape[2] = {io->B, io->K};
        d = compare(io->io, want_name, m.acts.logits, 2, shape);
    } else {
        fprintf(stderr, "%s: %s\n", dir, err.msg);
    }
    if (hs) st_close(hs);
    pifi_model_free(&m);
    return d;
}

static float seq_diff(const char *dir, Io *io, int causal) {
    char slm[1200], llm[1200], heads[1200];
    snprintf(slm, sizeof slm, "%s/slm", dir);
    snprintf(llm, sizeof llm, "%s/llm", dir);
    snprintf(heads, sizeof heads, "%s/heads.safetensors", dir);
    PifiErr err = {0};
    PifiModel m;
    float d = INFINITY;
    if (pifi_model_init(&m, slm, llm, -1, io->K, POOL_CLS, 0, PIFI_PREC_FP32, 0, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return d;
    }
    SafeTensors *hs = NULL;
    float *out = malloc(sizeof(float) * io->B * io->T * m.C);
    if (st_open(&hs, heads, &err) == 0 && pifi_model_load_heads(&m, hs, "", &err) == 0 &&
        pifi_model_forward_seq(&m, out, io->ids, io->tt, io->mask, io->B, io->T, causal, &err) == 0) {
        int64_t shape[3] = {io->B, io->T, m.C};
        d = compare(io->io, causal ? "seq_causal" : "seq_bidir", out, 3, shape);
    } else {
        fprintf(stderr, "%s\n", err.msg);
    }
    free(out);
    if (hs) st_close(hs);
    pifi_model_free(&m);
    return d;
}

static void test_arch(const char *arch) {
    char dir[1024], llm[1100];
    snprintf(dir, sizeof dir, "%s/pifi/%s", test_fixtures(), arch);
    snprintf(llm, sizeof llm, "%s/llm", dir);
    Io io = {0};
    PifiErr err = {0};
    int rc = io_load(&io, dir, &err);
    CHECKF(rc == 0, "%s: %s", arch, err.msg);
    if (rc) return;
    static const struct {
        PifiPooling pool;
        const char *name;
    } P[] = {{POOL_CLS, "logits_cls"}, {POOL_MEAN, "logits_mean"}, {POOL_LAST, "logits_last"}};
    for (int i = 0; i < 3; i++) {
        float d = pooled_diff(dir, &io, llm, -1, P[i].pool, P[i].name);
        printf("%-8s pooled %-12s max |diff| %.3g\n", arch, P[i].name, d);
        CHECKF(d <= 1e-4f, "%s %s: %g", arch, P[i].name, d);
    }
    for (int causal = 0; causal < 2; causal++) {
        float d = seq_diff(dir, &io, causal);
        printf("%-8s sequence %-10s max |diff| %.3g\n", arch, causal ? "causal" : "bidir", d);
        CHECKF(d <= 1e-4f, "%s sequence %s: %g", arch, causal ? "causal" : "bidirectional", d);
    }
    /* extract the last layer, then plug the extracted directory in */
    char out[1200];
    snprintf(out, sizeof out, "%s/extract_%s", test_tmp(), arch);
    int layers[1] = {-1};
    LlmExtractReport rep;
    rc = llm_extract(llm, layers, 1, out, 1, &rep, &err);
    CHECKF(rc == 0, "%s extract: %s", arch, err.msg);
    if (rc == 0) {
        float d = pooled_diff(dir, &io, out, INT_MIN, POOL_CLS, "logits_cls");
        CHECKF(d <= 1e-4f, "%s from extracted dir: %g", arch, d);
        /* refuses to overwrite without the flag */
        CHECK(llm_extract(llm, layers, 1, out, 0, &rep, &err) == -1);
        CHECK_MSG(err, "already exists");
    }
    if (strcmp(arch, "llama") == 0) {
        char g[1200];
        snprintf(g, sizeof g, "%s/llm.f32.gguf", dir);
        float d = pooled_diff(dir, &io, g, -1, POOL_CLS, "logits_cls");
        printf("%-8s GGUF F32  pooled max |diff| %.3g\n", arch, d);
        CHECKF(d <= 1e-4f, "llama GGUF F32: %g", d);
        snprintf(g, sizeof g, "%s/llm.q8_0.gguf", dir);
        d = pooled_diff(dir, &io, g, -1, POOL_CLS, "logits_cls_q8_0");
        printf("%-8s GGUF Q8_0 pooled max |diff| %.3g\n", arch, d);
        CHECKF(d <= 1e-4f, "llama GGUF Q8_0: %g", d);
        snprintf(out, sizeof out, "%s/extract_gguf_%s", test_tmp(), arch);
        rc = llm_extract(g, layers, 1, out, 1, &rep, &err);
        CHECKF(rc == 0, "GGUF extract: %s", err.msg);
        if (rc == 0) {
            d = pooled_diff(dir, &io, out, INT_MIN, POOL_CLS, "logits_cls_q8_0");
            CHECKF(d <= 1e-4f, "llama from GGUF-extracted dir: %g", d);
        }
    }
    io_free(&io);
}

static void test_bad(void) {
    char dir[1024], llm[1100], out[1100];
    snprintf(dir, sizeof dir, "%s/pifi/llama", test_fixtures());
    snprintf(llm, sizeof llm, "%s/llm", dir);
    snprintf(out, sizeof out, "%s/extract_bad", test_tmp());
    PifiErr err = {0};
    LlmExtractReport rep;
    int bad_layer[1] = {7};
    CHECK(llm_extract(llm, bad_layer, 1, out, 1, &rep, &err) == -1);
    CHECK_MSG(err, "layer 7 is out of range");
    CHECK(!pifi_is_dir(out));
    LlmLayer l;
    CHECK(llm_layer_load(&l, llm, -4, 1, test_cx_fp32(), 0, &err) == -1);
    CHECK_MSG(err, "out of range");
    /* an SLM dir is not an LLM */
    char slm[1100];
    snprintf(slm, sizeof slm, "%s/slm", dir);
    CHECK(llm_layer_load(&l, slm, -1, 1, test_cx_fp32(), 0, &err) == -1);
    CHECK_MSG(err, "unsupported LLM model_type \"bert\"");
}

int main(void) {
    for (size_t i = 0; i < sizeof ARCHS / sizeof ARCHS[0]; i++) test_arch(ARCHS[i]);
    test_bad();
    TEST_DONE();
}
