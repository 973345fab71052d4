/* runio_int8.h: the int8 form of a run directory, which `pifi quantize`
 * writes and `pifi eval`, `predict` and `info` read as any run:
 *
 *   config.json          the run's, with the frozen layer bundled ("pifi.llm"
 *                        "llm_layer") and "pifi.quantized": layout 2, which
 *                        tensors are int8, the scheme, the source run and
 *                        layer, the accuracy before and after
 *   model.safetensors    the SLM under its HF names, the int8 tensors I8 with
 *                        an F32 "<name>_scale" (one scale per row), the rest
 *                        F32; the heads ("pifi.*") F32
 *   llm_layer/           config.json (the layer's config and index) and
 *                        model.safetensors: its matrices int8 (+ scales), its
 *                        norms and biases F32
 *   tokenizer files, metrics.json, train_log.jsonl   copied from the source
 *
 * No fp32 copy of an int8 tensor is kept anywhere, and loading never makes
 * one (encoder_load, llm_layer_load read the int8 form directly). There is
 * no checkpoint/: an int8 run is for inference, not for training. Layout 1
 * (pifi before this form) kept quantized.safetensors beside the fp32 weights
 * and referenced the layer; it is refused with a message. */
#ifndef PIFI_RUNIO_INT8_H
#define PIFI_RUNIO_INT8_H

#include <cjson/cJSON.h>

#include "pifi/err.h"
#include "train/runio.h"

/* Which tensors are int8 ("pifi.quantized.int8" of config.json). */
enum { RUN_INT8_LLM = 1u, RUN_INT8_SLM_LINEAR = 2u, RUN_INT8_SLM_EMBEDDINGS = 4u };

/* The "pifi.quantized" record of a run's config.json (pifi: the "pifi"
 * object; path names the file in messages): *what = 0 for an fp32 run, else
 * the RUN_INT8_* it holds. A malformed record, or one of layout 1, is an
 * error. */
int runio_int8_record(const cJSON *pifi, const char *path, unsigned *what, PifiErr *err);

/* After loading an int8 run: the model holds in int8 what the record says. */
int runio_int8_verify(const PifiModel *m, unsigned what, const char *run_dir, PifiErr *err);

/* An int8 run cannot be trained or resumed: a one-line error naming the run
 * it came from (0 for any other run). */
int runio_int8_refuse_training(const cJSON *pifi, const char *run_dir, PifiErr *err);

/* Write out_dir as the int8 form of the run r loaded from src_dir, whose
 * model has been quantized (pifi_model_quantize): built in a temporary
 * directory beside it and renamed into place. An existing out_dir is
 * replaced only when it is a pifi run and overwrite is set, or empty.
 * record: the "pifi.quantized" object without the fields this adds (layout,
 * int8, source_*), copied. */
int runio_write_int8(const RunModel *r, const char *src_dir, const char *out_dir, int overwrite, const cJSON *record,
                     PifiErr *err);

#endif
