/* info_gguf.c: `pifi info FILE.gguf`: architecture, shapes, tensor types. */
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cli/info.h"
#include "pifi/gguf.h"

int info_gguf(const char *path, int json) {
    PifiErr err = {0};
    GgufFile *g;
    if (gguf_open(&g, path, &err)) return cli_fail(&err);
    LlmConfig c;
    int have_cfg = llm_config_from_path(&c, path, &err) == 0;
    int64_t by_type[GGML_TYPE_COUNT] = {0}, params = 0;
    for (int64_t i = 0; i < gguf_tensor_count(g); i++) {
        const GgufTensor *t = gguf_tensor_at(g, i);
        if ((unsigned)t->type < GGML_TYPE_COUNT) by_type[t->type] += t->numel;
        params += t->numel;
    }
    const char *arch = "?";
    if (gguf_find_key(g, "general.architecture") >= 0) gguf_get_str(g, "general.architecture", &arch, NULL, &err);
    struct stat st;
    long long bytes = stat(path, &st) == 0 ? (long long)st.st_size : 0;
    if (json) {
        printf("{\"path\":");
        cli_json_string(stdout, path);
        printf(",\"format\":\"gguf\",\"version\":%u,\"architecture\":", gguf_version(g));
        cli_json_string(stdout, arch);
        if (have_cfg)
            printf(",\"hidden_size\":%d,\"num_layers\":%d,\"num_heads\":%d,\"num_kv_heads\":%d,"
                   "\"intermediate_size\":%d,\"layer_parameters\":%lld",
                   c.D, c.num_layers, c.NH, c.NKV, c.FF, (long long)llm_layer_param_count(&c));
        printf(",\"tensors\":%lld,\"parameters\":%lld,\"bytes\":%lld,\"types\":{", (long long)gguf_tensor_count(g),
               (long long)params, bytes);
        int first = 1;
        for (int t = 0; t < GGML_TYPE_COUNT; t++) {
            if (!by_type[t]) continue;
            printf("%s\"%s\":%lld", first ? "" : ",", gguf_type_name((GgmlType)t), (long long)by_type[t]);
            first = 0;
        }
        printf("}}\n");
    } else {
        printf("path          %s\nformat        GGUF v%u\narchitecture  %s\n", path, gguf_version(g), arch);
        if (have_cfg)
            printf("shape         %d layers, hidden %d, %d heads (%d kv, head size %d), intermediate %d\n"
                   "one layer     %lld parameters\n",
                   c.num_layers, c.D, c.NH, c.NKV, c.HD, c.FF, (long long)llm_layer_param_count(&c));
        printf("tensors       %lld\nparameters    %lld\non disk       %.1f MB\ntypes        ",
               (long long)gguf_tensor_count(g), (long long)params, bytes / 1e6);
        for (int t = 0; t < GGML_TYPE_COUNT; t++)
            if (by_type[t]) printf(" %s (%.1f%%)", gguf_type_name((GgmlType)t), 100.0 * by_type[t] / params);
        printf("\n");
    }
    gguf_close(g);
    return 0;
}
