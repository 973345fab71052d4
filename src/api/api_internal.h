/* api_internal.h: what the files of src/api/ share: turning the library's
 * errors and settings into include/pifi.h's. */
#ifndef PIFI_API_INTERNAL_H
#define PIFI_API_INTERNAL_H

#include "pifi.h"
#include "pifi/compute.h"
#include "pifi/err.h"
#include "train/dist.h"
#include "train/runio.h"
#include "train/train_options.h"

/* A trained run opened for inference (pifi_run_open). */
struct pifi_run {
    RunModel rm;
    int batch; /* texts per forward pass in pifi_predict */
};

/* The processes of a job (pifi_dist_open). */
struct pifi_dist {
    Dist d;
};

/* A training run's settings (api_train.c): the table's rows in o, what was
 * set (for pifi_train_resume, which takes only the resumable ones). */
struct pifi_train_options {
    TrainOpts o;          /* slm and llm point at the copies below at the call */
    char *slm, *llm;      /* owned */
    char *max_memory;     /* owned; NULL: not set */
    int threads;          /* 0: not set */
    unsigned char given[TRAIN_OPTIONS_MAX]; /* the table's rows set */
    const char *model_key; /* the first of slm, llm, llm_layer, layer, method, overwrite set, or NULL */
    pifi_dist *dist;      /* NULL: one process */
};

/* Copy e into err (when not NULL) and return its status. */
pifi_status api_fail(const PifiErr *e, pifi_error *err);
/* The public precision as the library's: AUTO resolved here, the one place. */
int api_precision(pifi_precision p, PifiPrecision *out, PifiErr *err);

#endif
