/* fuzz_llm_gguf.c: libFuzzer harness of an LLM layer read from GGUF
 * (src/models/decoders/llm_source_gguf.c on top of src/io/gguf.c): the input is written to
 * <tmp>/model.gguf; llm_config_from_path turns its metadata into an
 * LlmConfig, and when the layer is small llm_layer_load reads layer 0 and
 * the last layer (tensor lookup by name, shape checks against the metadata,
 * dequantization, Q/K un-permutation, Gemma's norm offset), in both pooled
 * and full mode. */
#include "fuzz_common.h"
#include "kernels/compute.h"
#include "pifi/llm_layer.h"

#define MAX_LAYER_PARAMS (1 << 20) /* the harness skips loading bigger layers */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char *dir;
    static PifiCompute cx; /* the layers' compute context, the caller's as always */
    if (!dir) dir = fz_subdir(NULL), compute_init(&cx, PIFI_PREC_FP32);
    char *path = fz_write(dir, "model.gguf", data, size);
    LlmConfig cfg;
    PifiErr err = {0};
    if (llm_config_from_path(&cfg, path, &err)) {
        fz_check_err(&err, "llm_config_from_path");
    } else {
        if (cfg.D < 1 || cfg.NH < 1 || cfg.NKV < 1 || cfg.HD < 1 || cfg.FF < 1 || cfg.num_layers < 1)
            fz_die("accepted a non-positive size");
        if (cfg.NH % cfg.NKV != 0 || cfg.HD % 2 != 0) fz_die("accepted inconsistent heads");
        int64_t np = llm_layer_param_count(&cfg);
        if (np > 0 && np <= MAX_LAYER_PARAMS) {
            for (int k = 0; k < 2; k++) {
                LlmLayer l;
                err.msg[0] = 0;
                if (llm_layer_load(&l, path, k ? -1 : 0, k, &cx, 0, &err)) {
                    fz_check_err(&err, "llm_layer_load");
                } else {
                    if (l.cfg.D != cfg.D || l.cfg.FF != cfg.FF) fz_die("layer config differs");
                    llm_layer_free(&l);
                }
            }
        }
    }
    free(path);
    return 0;
}
