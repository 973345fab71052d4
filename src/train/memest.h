/* memest.h: what a training, evaluation or prediction run will allocate,
 * estimated from the models' config files before anything is loaded, for
 * --max-memory (pifi/memlimit.h). The formulas follow the arenas of
 * encoder.c (activations, backward scratch), pifi_model.c, llm_layer.c and
 * optim.c (gradients, Adam moments); they err on the high side by a few
 * percent. */
#ifndef PIFI_MEMEST_H
#define PIFI_MEMEST_H

#include "pifi/memlimit.h"
#include "train/trainer.h"

/* Training with o (micro-batches of o->batch / o->grad_accum, o->max_len
 * tokens), K classes, n_examples tokenized examples in all splits. */
int memest_train(const TrainOpts *o, int K, int64_t n_examples, MemEstimate *e, PifiErr *err);

/* Inference of a trained run (its config.json options o, slm = the run
 * directory) on batches of `batch` examples. */
int memest_infer(const TrainOpts *o, int K, int batch, int64_t n_examples, MemEstimate *e, PifiErr *err);

/* The same for the run in run_dir, read from its config.json: the check of
 * `pifi eval` and `pifi predict` before loading it. */
int memest_run_infer(const char *run_dir, int batch, MemEstimate *e, PifiErr *err);

#endif
