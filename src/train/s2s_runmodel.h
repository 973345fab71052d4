/* s2s_runmodel.h: a trained generation run (s2s_runio.h) loaded for
 * inference: its encoder-decoder with the kept weights, the plugged layer
 * with L_in and L_out for a pifi run, the tokenizer, the options it was
 * trained with (the decoding defaults) and its source prefix; and its
 * decoding of texts. */
#ifndef PIFI_S2S_RUNMODEL_H
#define PIFI_S2S_RUNMODEL_H

#include <cjson/cJSON.h>

#include "kernels/compute.h"
#include "train/s2s_generate.h"
#include "train/trainer.h"

typedef struct {
    TrainOpts o;          /* strings point into cfg */
    cJSON *cfg;           /* config.json */
    const char *prefix;   /* before each source ("" none); into cfg */
    PifiCompute cx;
    PifiTokenizer *tk;
    Seq2Seq *m;
    S2SPlug plug;
    int has_plug;
    float *plug_mem;      /* L_in (D, C) then L_out (C, D) */
} S2SRunModel;

/* 1 when run_dir's config.json is a generation run's ("pifi.seq2seq"), 0 when
 * it is another run, -1 when it cannot be read. */
int s2s_run_is(const char *run_dir, PifiErr *err);

int s2s_runmodel_open(S2SRunModel *r, const char *run_dir, PifiPrecision prec, PifiErr *err);
void s2s_runmodel_close(S2SRunModel *r);

/* The run's decoding options (its config.json's). */
S2SBeamOpts s2s_runmodel_beam_opts(const S2SRunModel *r);

/* texts[0..n) (the prefix put before each) decoded with o, batch at a time:
 * out[i] a new string each (s2s_texts_free). */
int s2s_runmodel_generate(S2SRunModel *r, int n, const char *const *texts, const S2SBeamOpts *o, int batch,
                          char ***out, PifiErr *err);

/* Split `split` (PIFI_SPLIT_*) of the generation data desc (a data
 * description, data/data_spec.h; NULL: the run's own, config.json
 * "pifi.data") decoded with o and scored against its targets: *loss the
 * mean teacher-forced loss over target tokens, sc BLEU and chrF, *n the
 * examples; *hyps (NULL: not wanted) the texts (s2s_texts_free with *n). */
int s2s_runmodel_evaluate(S2SRunModel *r, const cJSON *desc, int split, const S2SBeamOpts *o, int batch,
                          S2SGenProgress progress, void *user, int64_t *n, double *loss, S2SScores *sc, char ***hyps,
                          PifiErr *err);

#endif
