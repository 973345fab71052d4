/* runio.h: the run directory of `pifi train`, readable by pifi and by people,
 * loadable by transformers:
 *
 *   config.json          the SLM's config.json plus "pifi": method, classes and
 *                        their names, pooling, the LLM layer (path, index,
 *                        hashes), every hyperparameter, the data, versions
 *   model.safetensors    the best epoch's weights: the SLM under its HF names
 *                        (LoRA merged in), "pifi.l_in.weight", "pifi.l_out.weight",
 *                        "pifi.head.{dense,out}.{weight,bias}", and "pifi.llm.*"
 *                        for a layer that trained (pifi-unfrozen)
 *   tokenizer files      copied from the SLM
 *   train_log.jsonl      one line per logged step: step, epoch, loss, lr, grad_norm, examples/s
 *   metrics.json         per epoch (train loss, valid metrics) and final (test)
 *   checkpoint/state.safetensors   the latest state for --resume: every
 *                        trainable tensor, the Adam moments, the progress;
 *                        removed when the run is complete unless
 *                        "keep_checkpoint" (--keep-checkpoint yes)
 *
 * Every file is written atomically (temp file, fsync, rename). The int8 form
 * of a run that `pifi quantize` writes is described in runio_int8.h. */
#ifndef PIFI_RUNIO_H
#define PIFI_RUNIO_H

#include <cjson/cJSON.h>

#include "train/trainer.h"

/* The "pifi" object of config.json for these options. */
cJSON *runio_opts_json(const TrainOpts *o, int K, char *const *label_names, const cJSON *data);
/* Options back from a run's config.json "pifi" object (strings point into it). */
int runio_opts_from_json(const cJSON *pifi, TrainOpts *o, const char *path, PifiErr *err);

/* A bundled layer is recorded relative to the run ("llm_layer"): make
 * o->llm a path usable from the current directory. */
void runio_resolve_llm(TrainOpts *o, const char *run_dir);
/* Copy the frozen layer of o (any source) into run_dir/llm_layer. */
int runio_bundle_layer(const TrainOpts *o, const char *run_dir, PifiErr *err);

/* Create run_dir (refusing an existing one that holds a run unless overwrite). */
int runio_prepare(const char *run_dir, int overwrite, PifiErr *err);
/* config.json = the SLM's config (encoder_config_json of slm, loaded from
 * slm_dir) + "pifi". */
int runio_write_config(const char *run_dir, const Encoder *slm, const char *slm_dir, const cJSON *pifi,
                       PifiErr *err);
/* path = text (n bytes, a JSON object without a "pifi" key) with "pifi":
 * pifi added before its closing brace, the rest as written: cJSON would
 * print 2.0 as 2, which transformers 5's typed configs refuse for a float
 * field (ModernBertConfig.initializer_cutoff_factor). 1: no closing brace
 * found (nothing written). */
int runio_write_config_text(const char *path, const char *text, size_t n, const cJSON *pifi, PifiErr *err);
int runio_copy_tokenizer(const char *slm_dir, const char *run_dir, PifiErr *err);

/* model.safetensors of the current weights. */
int runio_save_model(const Trainer *t, const char *run_dir, PifiErr *err);
/* checkpoint/state.safetensors of the current state. */
int runio_save_state(const Trainer *t, const char *run_dir, PifiErr *err);
int runio_load_state(Trainer *t, const char *run_dir, PifiErr *err);
/* Remove checkpoint/ (a complete run that does not keep it); absent is fine. */
int runio_remove_state(const char *run_dir, PifiErr *err);
/* --resume with settings that differ from config.json (o->resume_changes):
 * config.json gets the new precision and keep_checkpoint, and the change
 * with its step appended to "pifi.resumes". */
int runio_record_resume(const char *run_dir, int64_t step, const TrainOpts *o, PifiErr *err);

/* A trained run for eval/predict: the model with its weights, the
 * tokenizer, the classes. label_names are owned by *cfg (free with
 * cJSON_Delete). An int8 run (runio_int8.h) loads in its int8 form. */
typedef struct {
    PifiModel model;
    PifiTokenizer *tk;
    int K;
    const char *label_names[256];
    cJSON *cfg;          /* config.json */
    TrainOpts opts;
    unsigned int8;       /* RUN_INT8_* (runio_int8.h) of an int8 run, else 0 */
} RunModel;

int runio_load_run(RunModel *r, const char *run_dir, PifiErr *err);
void runio_free_run(RunModel *r);

/* Write a JSON value to a file atomically (pretty). */
int runio_write_json(const char *path, const cJSON *v, PifiErr *err);

#endif
