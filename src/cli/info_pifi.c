/* info_pifi.c: the paper's parameter table for a PiFi composition (SLM,
 * L_in, LLM layer, L_out, head; trainable vs frozen) with forward FLOPs per
 * example, computed from the configs alone (nothing big is loaded). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/info.h"
#include "pifi/fileio.h"

int info_pifi_table(const InfoPifiArgs *a, int json) {
    PifiErr err = {0};
    EncoderConfig ec;
    char *cp = pifi_path_join(a->slm, "config.json");
    int rc = cp ? encoder_config_load(&ec, cp, &err) : -1;
    free(cp);
    if (rc) return cli_fail(&err);
    LlmConfig lc;
    int has_llm = a->llm != NULL;
    if (has_llm && llm_config_from_path(&lc, a->llm, &err)) return cli_fail(&err);
    int64_t C = ec.C, D = has_llm ? lc.D : 0, K = a->classes;
    int64_t lora = a->lora_r > 0 ? encoder_config_lora_params(&ec, a->lora_r) : 0;
    struct {
        const char *name;
        int64_t params;
        int trainable;
        int64_t flops;
    } rows[] = {
        {"SLM", encoder_config_params(&ec), a->lora_r <= 0, encoder_config_flops(&ec, a->max_len)},
        {"LoRA", lora, 1, 2 * lora * a->max_len},
        {"L_in", has_llm ? D * C : 0, 1, has_llm ? 2 * D * C : 0},
        {"LLM layer", has_llm ? llm_layer_param_count(&lc) : 0, a->unfrozen, has_llm ? llm_layer_pooled_flops(&lc) : 0},
        {"L_out", has_llm ? C * D : 0, 1, has_llm ? 2 * C * D : 0},
        {"head", C * C + C + K * C + K, 1, 2 * (C * C + C * K)},
    };
    int n = sizeof rows / sizeof rows[0];
    int64_t total = 0, trainable = 0, flops = 0, base_flops = rows[0].flops + rows[n - 1].flops;
    for (int i = 0; i < n; i++) {
        total += rows[i].params;
        if (rows[i].trainable) trainable += rows[i].params;
        flops += rows[i].flops;
    }
    if (json) {
        printf("{\"slm\":");
        cli_json_string(stdout, a->slm);
        printf(",\"llm\":");
        if (has_llm) cli_json_string(stdout, a->llm);
        else printf("null");
        printf(",\"components\":[");
        for (int i = 0; i < n; i++)
            printf("%s{\"name\":\"%s\",\"parameters\":%lld,\"trainable\":%s,\"flops\":%lld}", i ? "," : "",
                   rows[i].name, (long long)rows[i].params, rows[i].trainable ? "true" : "false",
                   (long long)rows[i].flops);
        printf("],\"total\":%lld,\"trainable\":%lld,\"frozen\":%lld,\"flops_per_example\":%lld,"
               "\"flops_vs_base\":%.4f",
               (long long)total, (long long)trainable, (long long)(total - trainable), (long long)flops,
               (double)flops / base_flops);
        char *run = a->run ? cJSON_PrintUnformatted(a->run) : NULL;
        if (run) printf(",\"run\":%s", run);
        free(run);
        printf("}\n");
        return 0;
    }
    printf("%s model: SLM %s (%s, hidden %d)", a->method ? a->method : "PiFi", a->slm, ec.model_type, ec.C);
    if (has_llm) printf(" + %s layer from %s (hidden %d)", lc.model_type, a->llm, lc.D);
    printf(", %d classes\n\n", a->classes);
    printf("%-10s %16s %10s %18s\n", "component", "parameters", "status", "forward FLOPs");
    for (int i = 0; i < n; i++) {
        if (!rows[i].params) continue;
        printf("%-10s %16lld %10s %18lld\n", rows[i].name, (long long)rows[i].params,
               rows[i].trainable ? "trainable" : "frozen", (long long)rows[i].flops);
    }
    printf("%-10s %16lld\n", "total", (long long)total);
    printf("trainable  %16lld (%.2f%%)\nfrozen     %16lld\n", (long long)trainable,
           total ? 100.0 * trainable / total : 0.0, (long long)(total - trainable));
    printf("\nforward FLOPs per example at %d tokens: %.3g (%.2f%% more than the SLM + head alone)\n",
           a->max_len, (double)flops, 100.0 * (flops - base_flops) / base_flops);
    return 0;
}
