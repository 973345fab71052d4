/* metrics.h: corpus-level classification metrics from a confusion matrix.
 *
 * The authors averaged accuracy and F1 over batches; pifi accumulates one
 * confusion matrix over the whole split and computes every metric from it,
 * with scikit-learn's definitions (checked against sklearn 1.9 fixtures):
 *   accuracy   = trace / n
 *   macro_f1   = mean over the classes present in y_true or y_pred of
 *                2 tp / (2 tp + fp + fn)      (f1_score(average='macro'))
 *   precision, recall, f1 per class: 0 when undefined (zero_division=0)
 *   mcc        = multi-class Matthews correlation (matthews_corrcoef):
 *                (c s - t.p) / sqrt((s^2 - p.p)(s^2 - t.t)), 0 if undefined
 * Every metric of an empty matrix (n = 0) is 0. */
#ifndef PIFI_METRICS_H
#define PIFI_METRICS_H

#include <stdint.h>

#include "pifi/err.h"

typedef enum {
    PIFI_METRIC_ACCURACY = 0,
    PIFI_METRIC_MACRO_F1 = 1,
    PIFI_METRIC_MCC = 2,
} PifiMetric;
#define PIFI_METRIC_COUNT 3

const char *metric_name(PifiMetric m); /* "accuracy" / "macro_f1" / "mcc" */
/* -1 if unknown. */
int metric_parse(const char *name, PifiMetric *out);

typedef struct {
    int num_classes;     /* C */
    int64_t n;           /* examples added */
    int64_t *counts;     /* [C][C] row = true label, column = predicted label */
} PifiConfusion;

int confusion_init(PifiConfusion *cm, int num_classes, PifiErr *err);
void confusion_free(PifiConfusion *cm);
void confusion_reset(PifiConfusion *cm);
/* Add n (true, predicted) pairs; every label must be in 0..C-1. */
int confusion_add(PifiConfusion *cm, const int32_t *y_true, const int32_t *y_pred, int64_t n,
                  PifiErr *err);

double metric_accuracy(const PifiConfusion *cm);
double metric_macro_f1(const PifiConfusion *cm);
double metric_mcc(const PifiConfusion *cm);
double metric_value(const PifiConfusion *cm, PifiMetric m);

/* Per-class scores of class k (sklearn precision_recall_fscore_support). */
typedef struct {
    double precision, recall, f1;
    int64_t support; /* examples whose true label is k */
} PifiClassScores;
PifiClassScores metric_class(const PifiConfusion *cm, int k);

#endif
