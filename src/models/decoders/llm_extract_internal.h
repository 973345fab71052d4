/* llm_extract_internal.h: steps of `pifi extract` shared by the HF and GGUF paths. */
#ifndef PIFI_LLM_EXTRACT_INTERNAL_H
#define PIFI_LLM_EXTRACT_INTERNAL_H

#include <cjson/cJSON.h>

#include "pifi/llm_layer.h"

/* Refuse an existing out_dir (unless overwrite); create "<out>.tmp.<pid>". */
int llm_extract_begin(const char *out_dir, int overwrite, char **tmp_dir, PifiErr *err);
/* Move tmp_dir to out_dir (replacing it). */
int llm_extract_commit(const char *tmp_dir, const char *out_dir, PifiErr *err);
void llm_extract_rmtree(const char *dir);
/* Write tmp_dir/config.json: cfg (modified) + "pifi_extract". files: (name, sha256) pairs. */
int llm_extract_write_config(const char *tmp_dir, cJSON *cfg, const char *src, const int *layers,
                             int n, const char *files[][2], int nfiles, const char *tensors_sha,
                             PifiErr *err);

int llm_extract_gguf(const char *src, const int *layers, int n_layers, const char *out_dir,
                     int overwrite, LlmExtractReport *rep, PifiErr *err);

#endif
