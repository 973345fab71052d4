/* info.h: the parts of `pifi info`. */
#ifndef PIFI_CLI_INFO_H
#define PIFI_CLI_INFO_H

#include <cjson/cJSON.h>

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
    const cJSON *run; /* a run's summary (info_run_summary), added as "run" to the JSON; or NULL */
} InfoPifiArgs;

int info_pifi_table(const InfoPifiArgs *a, int json);
int info_gguf(const char *path, int json);
/* --models: the encoder families and LLM architectures pifi reads (info_models.c). */
int info_models(int json);

/* A run directory's data, method, seed, classes (from its config.json's
 * "pifi" object) and scores (its metrics.json) as a JSON object (NULL when
 * out of memory), and as text lines. */
cJSON *info_run_summary(const char *dir, const cJSON *pifi);
void info_run_print(const char *dir, const cJSON *summary);

#endif
