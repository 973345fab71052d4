/* metrics.c: accuracy, macro-F1, per-class P/R/F1 and Matthews correlation
 * from one corpus-level confusion matrix (definitions in metrics.h). */
#include "pifi/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const METRIC_NAMES[PIFI_METRIC_COUNT] = {"accuracy", "macro_f1", "mcc"};

const char *metric_name(PifiMetric m) {
    return (unsigned)m < PIFI_METRIC_COUNT ? METRIC_NAMES[m] : "unknown";
}

int metric_parse(const char *name, PifiMetric *out) {
    for (int i = 0; i < PIFI_METRIC_COUNT; i++)
        if (strcmp(name, METRIC_NAMES[i]) == 0) {
            *out = (PifiMetric)i;
            return 0;
        }
    return -1;
}

int confusion_init(PifiConfusion *cm, int num_classes, PifiErr *err) {
    memset(cm, 0, sizeof *cm);
    if (num_classes < 1 || num_classes > 65536)
        return pifi_errf(err, "metrics: %d classes (expected 1..65536)", num_classes);
    cm->counts = pifi_calloc((size_t)num_classes * (size_t)num_classes, sizeof(int64_t), err);
    if (!cm->counts) return -1;
    cm->num_classes = num_classes;
    return 0;
}

void confusion_free(PifiConfusion *cm) {
    free(cm->counts);
    memset(cm, 0, sizeof *cm);
}

void confusion_reset(PifiConfusion *cm) {
    if (cm->counts)
        memset(cm->counts, 0, (size_t)cm->num_classes * (size_t)cm->num_classes * sizeof(int64_t));
    cm->n = 0;
}

int confusion_add(PifiConfusion *cm, const int32_t *y_true, const int32_t *y_pred, int64_t n,
                  PifiErr *err) {
    int C = cm->num_classes;
    for (int64_t i = 0; i < n; i++) /* check all first: a failed add changes nothing */
        if (y_true[i] < 0 || y_true[i] >= C || y_pred[i] < 0 || y_pred[i] >= C)
            return pifi_errf(err, "metrics: example %lld has label %d / prediction %d outside 0..%d",
                             (long long)i, (int)y_true[i], (int)y_pred[i], C - 1);
    for (int64_t i = 0; i < n; i++) cm->counts[(int64_t)y_true[i] * C + y_pred[i]]++;
    cm->n += n;
    return 0;
}

/* Row sum (true count) and column sum (predicted count) of class k. */
static int64_t row_sum(const PifiConfusion *cm, int k) {
    int64_t s = 0;
    for (int j = 0; j < cm->num_classes; j++) s += cm->counts[(int64_t)k * cm->num_classes + j];
    return s;
}

static int64_t col_sum(const PifiConfusion *cm, int k) {
    int64_t s = 0;
    for (int i = 0; i < cm->num_classes; i++) s += cm->counts[(int64_t)i * cm->num_classes + k];
    return s;
}

double metric_accuracy(const PifiConfusion *cm) {
    if (cm->n == 0) return 0.0;
    int64_t correct = 0;
    for (int k = 0; k < cm->num_classes; k++) correct += cm->counts[(int64_t)k * cm->num_classes + k];
    return (double)correct / (double)cm->n;
}

PifiClassScores metric_class(const PifiConfusion *cm, int k) {
    PifiClassScores s = {0};
    if (k < 0 || k >= cm->num_classes) return s;
    int64_t tp = cm->counts[(int64_t)k * cm->num_classes + k];
    int64_t t = row_sum(cm, k), p = col_sum(cm, k);
    s.support = t;
    s.precision = p ? (double)tp / (double)p : 0.0;
    s.recall = t ? (double)tp / (double)t : 0.0;
    s.f1 = (t + p) ? 2.0 * (double)tp / (double)(t + p) : 0.0; /* 2tp / (2tp + fp + fn) */
    return s;
}

double metric_macro_f1(const PifiConfusion *cm) {
    double sum = 0.0;
    int present = 0; /* classes seen in y_true or y_pred, as sklearn's default labels */
    for (int k = 0; k < cm->num_classes; k++) {
        if (row_sum(cm, k) + col_sum(cm, k) == 0) continue;
        sum += metric_class(cm, k).f1;
        present++;
    }
    return present ? sum / present : 0.0;
}

double metric_mcc(const PifiConfusion *cm) {
    /* sklearn: cov_ytyp = c*s - t.p, cov_ypyp = s^2 - p.p, cov_ytyt = s^2 - t.t,
     * all exact integers; in double they are exact up to 2^53 (s < 9.4e7). */
    int C = cm->num_classes;
    double c = 0.0, s = (double)cm->n, tp = 0.0, pp = 0.0, tt = 0.0;
    for (int k = 0; k < C; k++) {
        double t = (double)row_sum(cm, k), p = (double)col_sum(cm, k);
        c += (double)cm->counts[(int64_t)k * C + k];
        tp += t * p;
        pp += p * p;
        tt += t * t;
    }
    double cov_ytyp = c * s - tp, cov_ypyp = s * s - pp, cov_ytyt = s * s - tt;
    double den = cov_ypyp * cov_ytyt;
    if (den == 0.0) return 0.0;
    return cov_ytyp / sqrt(den);
}

double metric_value(const PifiConfusion *cm, PifiMetric m) {
    switch (m) {
    case PIFI_METRIC_ACCURACY: return metric_accuracy(cm);
    case PIFI_METRIC_MACRO_F1: return metric_macro_f1(cm);
    case PIFI_METRIC_MCC: return metric_mcc(cm);
    }
    return 0.0;
}
