/* api_internal.h: what the files of src/api/ share: turning the library's
 * errors and settings into include/pifi.h's. */
#ifndef PIFI_API_INTERNAL_H
#define PIFI_API_INTERNAL_H

#include "pifi.h"
#include "pifi/compute.h"
#include "pifi/err.h"
#include "train/runio.h"

/* A trained run opened for inference (pifi_run_open). */
struct pifi_run {
    RunModel rm;
    int batch; /* texts per forward pass in pifi_predict */
};

/* Copy e into err (when not NULL) and return its status. */
pifi_status api_fail(const PifiErr *e, pifi_error *err);
/* The public precision as the library's: AUTO resolved here, the one place. */
int api_precision(pifi_precision p, PifiPrecision *out, PifiErr *err);

#endif
