/* test_metrics.c: corpus-level metrics against scikit-learn (fixtures written
 * by tools/oracle_metrics.py), to 1e-9, plus input checks. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "pifi/json.h"
#include "pifi/metrics.h"
#include "test.h"

#define TOL 1e-9

static int32_t *int_array(const cJSON *a, int64_t *n) {
    *n = cJSON_GetArraySize(a);
    int32_t *v = malloc((size_t)(*n ? *n : 1) * sizeof *v);
    int64_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) v[i++] = (int32_t)e->valuedouble;
    return v;
}

static double num_at(const cJSON *obj, const char *key, int i) {
    return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(obj, key), i)->valuedouble;
}

static void check_case(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/metrics/%s.json", test_fixtures(), name);
    cJSON *j = NULL;
    PifiErr err = {0};
    int rc = pifi_json_load(path, 0, &j, &err);
    CHECKF(rc == 0, "%s", err.msg);
    if (rc != 0) return;
    int C = cJSON_GetObjectItemCaseSensitive(j, "num_classes")->valueint;
    int64_t n, n2;
    int32_t *yt = int_array(cJSON_GetObjectItemCaseSensitive(j, "y_true"), &n);
    int32_t *yp = int_array(cJSON_GetObjectItemCaseSensitive(j, "y_pred"), &n2);
    CHECK(n == n2);
    PifiConfusion cm;
    CHECK(confusion_init(&cm, C, &err) == 0);
    /* added in uneven batches: corpus-level, independent of batching */
    int64_t done = 0, step = 7;
    while (done < n) {
        int64_t k = n - done < step ? n - done : step;
        CHECK(confusion_add(&cm, yt + done, yp + done, k, &err) == 0);
        done += k;
        step = step * 3 % 101 + 1;
    }
    CHECK(cm.n == n);
    const cJSON *conf = cJSON_GetObjectItemCaseSensitive(j, "confusion");
    int conf_ok = 1;
    for (int r = 0; r < C; r++)
        for (int c = 0; c < C; c++)
            if (cm.counts[r * C + c] != (int64_t)cJSON_GetArrayItem(cJSON_GetArrayItem(conf, r), c)->valuedouble)
                conf_ok = 0;
    CHECKF(conf_ok, "%s: confusion matrix differs", name);
    double acc = cJSON_GetObjectItemCaseSensitive(j, "accuracy")->valuedouble;
    double f1 = cJSON_GetObjectItemCaseSensitive(j, "macro_f1")->valuedouble;
    double mcc = cJSON_GetObjectItemCaseSensitive(j, "mcc")->valuedouble;
    CHECKF(fabs(metric_accuracy(&cm) - acc) < TOL, "%s: accuracy %.17g vs %.17g", name, metric_accuracy(&cm), acc);
    CHECKF(fabs(metric_macro_f1(&cm) - f1) < TOL, "%s: macro_f1 %.17g vs %.17g", name, metric_macro_f1(&cm), f1);
    CHECKF(fabs(metric_mcc(&cm) - mcc) < TOL, "%s: mcc %.17g vs %.17g", name, metric_mcc(&cm), mcc);
    CHECK(metric_value(&cm, PIFI_METRIC_MCC) == metric_mcc(&cm));
    for (int k = 0; k < C; k++) {
        PifiClassScores s = metric_class(&cm, k);
        CHECKF(fabs(s.precision - num_at(j, "precision", k)) < TOL, "%s: precision[%d]", name, k);
        CHECKF(fabs(s.recall - num_at(j, "recall", k)) < TOL, "%s: recall[%d]", name, k);
        CHECKF(fabs(s.f1 - num_at(j, "f1", k)) < TOL, "%s: f1[%d]", name, k);
        CHECKF(s.support == (int64_t)num_at(j, "support", k), "%s: support[%d]", name, k);
    }
    printf("metrics %-16s n=%5lld C=%d acc=%.6f macro_f1=%.6f mcc=%.6f\n", name, (long long)n, C,
           metric_accuracy(&cm), metric_macro_f1(&cm), metric_mcc(&cm));
    confusion_free(&cm);
    free(yt);
    free(yp);
    cJSON_Delete(j);
}

static void test_inputs(void) {
    PifiErr err = {0};
    PifiConfusion cm;
    CHECK(confusion_init(&cm, 0, &err) == -1);
    CHECK_MSG(err, "0 classes");
    REQUIRE(confusion_init(&cm, 3, &err) == 0);
    /* empty: every metric 0 */
    CHECK(metric_accuracy(&cm) == 0.0 && metric_macro_f1(&cm) == 0.0 && metric_mcc(&cm) == 0.0);
    int32_t t[3] = {0, 1, 2}, p[3] = {0, 3, 1};
    CHECK(confusion_add(&cm, t, p, 3, &err) == -1);
    CHECK_MSG(err, "example 1 has label 1 / prediction 3 outside 0..2");
    CHECK(cm.n == 0 && cm.counts[0] == 0); /* a failed add changes nothing */
    int32_t neg[1] = {-1};
    CHECK(confusion_add(&cm, neg, t, 1, &err) == -1);
    p[1] = 1;
    CHECK(confusion_add(&cm, t, p, 3, &err) == 0);
    CHECK(fabs(metric_accuracy(&cm) - 2.0 / 3.0) < 1e-15);
    confusion_reset(&cm);
    CHECK(cm.n == 0 && metric_accuracy(&cm) == 0.0);
    PifiMetric m;
    CHECK(metric_parse("mcc", &m) == 0 && m == PIFI_METRIC_MCC);
    CHECK(metric_parse("f1", &m) == -1);
    CHECK(strcmp(metric_name(PIFI_METRIC_MACRO_F1), "macro_f1") == 0);
    confusion_free(&cm);
}

int main(void) {
    const char *cases[] = {"random_2class", "random_3class", "random_5class", "skewed_2class",
                           "absent_class_5", "constant_pred_3", "perfect_2"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_case(cases[i]);
    test_inputs();
    TEST_DONE();
}
