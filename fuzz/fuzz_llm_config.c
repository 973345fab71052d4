/* fuzz_llm_config.c: libFuzzer harness of a causal LM's config.json
 * (src/models/llm_config.c): the input is written to <tmp>/llm/config.json
 * and read both with llm_config_load and through llm_config_from_path on the
 * directory. An accepted config must satisfy the invariants the layer code
 * relies on, and its parameter / FLOP counts must not overflow (UBSan). */
#include "fuzz_common.h"
#include "pifi/llm_layer.h"

static void check(const LlmConfig *c) {
    if (c->D < 1 || c->NH < 1 || c->NKV < 1 || c->HD < 1 || c->FF < 1 || c->num_layers < 1)
        fz_die("accepted a non-positive size");
    if (c->NH % c->NKV != 0) fz_die("accepted heads not a multiple of kv heads");
    if (c->HD % 2 != 0) fz_die("accepted an odd head_dim");
    if (!(c->rms_eps > 0) || !(c->rope_theta > 0) || !(c->rope_factor > 0)) fz_die("accepted bad eps / rope");
    if (c->sliding_window < 0) fz_die("accepted a negative sliding window");
    if (memchr(c->model_type, 0, sizeof c->model_type) == NULL) fz_die("model_type not terminated");
    if (llm_layer_param_count(c) <= 0 || llm_layer_pooled_flops(c) <= 0) fz_die("non-positive counts");
    (void)llm_arch_name(c->arch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char *dir;
    if (!dir) dir = fz_subdir("llm");
    char *path = fz_write(dir, "config.json", data, size);
    LlmConfig a, b;
    PifiErr err = {0};
    int ra = llm_config_load(&a, path, &err);
    if (ra) fz_check_err(&err, "llm_config_load");
    else check(&a);
    err.msg[0] = 0;
    int rb = llm_config_from_path(&b, dir, &err);
    if (rb) fz_check_err(&err, "llm_config_from_path");
    if (ra != rb) fz_die("llm_config_load and llm_config_from_path disagree");
    free(path);
    return 0;
}
