/* test_decoder_real.c: the decoder family on real weights kept as quantized
 * GGUF files: SmolLM2-135M-Instruct (Q4_1, scripts/get-models.sh) and
 * Qwen2.5-Coder-0.5B-Instruct (Q4_K_M, scripts/get-models.sh --qwen, opt-in):
 * the last hidden state of a right-padded batch within 1e-3 (of the largest
 * |h|, and absolute at least where |h| < 1) of torch's LlamaModel /
 * Qwen2Model on the same weights dequantized by the gguf package
 * (tools/oracle_decoder_real.py, fixtures/decoders/real_*). A model whose
 * file is absent is skipped, saying so; the test skips when both are. */
#include <stdint.h>

#include "pifi/encoder.h"
#include "pifi/fileio.h"
#include "test.h"
#include "test_cx.h"
#include "test_fixture_io.h"

static void check_one(const char *name, const char *file, int *ran) {
    char gguf[1024], io_path[1024];
    snprintf(gguf, sizeof gguf, "%s/%s", test_env("PIFI_MODELS", "models"), file);
    if (!pifi_file_exists(gguf)) {
        printf("%s: %s not found: skipped\n", name, gguf);
        return;
    }
    snprintf(io_path, sizeof io_path, "%s/decoders/real_%s/io.safetensors", test_fixtures(), name);
    PifiErr err = {0};
    Encoder m;
    SafeTensors *io;
    REQUIRE(encoder_load(&m, gguf, test_cx_fp32(), &err) == 0 || (fprintf(stderr, "%s\n", err.msg), 0));
    REQUIRE(st_open(&io, io_path, &err) == 0);
    const StTensor *t;
    REQUIRE(st_get(io, "input_ids", &t, &err) == 0);
    int B = (int)t->shape[0], T = (int)t->shape[1], C = m.cfg.C;
    int32_t *ids = malloc(sizeof(int32_t) * B * T), *mask = malloc(sizeof(int32_t) * B * T);
    REQUIRE(test_read_ints(io, "input_ids", B, T, ids, &err) == 0);
    REQUIRE(test_read_ints(io, "attention_mask", B, T, mask, &err) == 0);
    size_t n = (size_t)B * T * C;
    float *want = malloc(n * sizeof(float));
    int64_t shape[3] = {B, T, C};
    REQUIRE(st_read_f32(io, "last_hidden_state", 3, shape, want, &err) == 0);
    REQUIRE(encoder_forward(&m, ids, NULL, mask, B, T, &err) == 0);
    const float *h = encoder_output(&m);
    double d = 0, top = 1;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)h[i] - want[i]);
        if (!(e <= d)) d = e;
        if (fabs(want[i]) > top) top = fabs(want[i]);
    }
    CHECKF(d / top < 1e-3, "%s: last_hidden_state differs by %g (max |h| %g)", name, d, top);
    printf("%s: %s, %d layers, C %d: last_hidden_state (B=%d, T=%d, padded) within %.2g of torch "
           "(%.2g of max |h| %.1f)\n", name, m.cfg.model_type, m.cfg.L, C, B, T, d, d / top, top);
    free(ids), free(mask), free(want);
    st_close(io);
    encoder_free(&m);
    (*ran)++;
}

int main(void) {
    int ran = 0;
    check_one("smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", &ran);
    check_one("qwen25", "Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf", &ran);
    if (!ran) TEST_SKIP("no decoder GGUF in PIFI_MODELS (scripts/get-models.sh [--qwen])");
    TEST_DONE();
}
