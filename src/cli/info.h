/* info.h: the parts of `pifi info`. */
#ifndef PIFI_CLI_INFO_H
#define PIFI_CLI_INFO_H

#include "cli/cli.h"
#include "pifi/encoder.h"
#include "pifi/llm_layer.h"

typedef struct {
    const char *slm;
    const char *llm; /* NULL: base */
    int classes;
    int max_len;
    int unfrozen;
    int lora_r;      /* > 0: method lora (SLM frozen, adapters train) */
    const char *method;
} InfoPifiArgs;

int info_pifi_table(const InfoPifiArgs *a, int json);
int info_gguf(const char *path, int json);

#endif
