/* early_stop.c: the best-epoch metric and early stopping (early_stop.h). */
#include "train/early_stop.h"

#include <math.h>

static const char *const KEYS[] = {"accuracy", "macro_f1", "mcc", "f1", "bleu"}; /* BestMetric, as metrics.json */
static const char *const WORDS[] = {"accuracy", "macro-F1", "MCC", "F1", "BLEU"};

const char *best_metric_key(BestMetric m) { return KEYS[m]; }
const char *best_metric_words(BestMetric m) { return WORDS[m]; }

double early_stop_score(const TrainOpts *o, const cJSON *valid) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(valid, KEYS[o->metric_for_best]);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

int early_stop_due(const TrainOpts *o, int64_t epochs_done, int64_t best_epoch) {
    return o->early_stopping_patience > 0 && best_epoch > 0 && epochs_done - best_epoch >= o->early_stopping_patience;
}

int64_t early_stop_finish(const TrainOpts *o, int64_t epochs_done, int64_t best_epoch, cJSON *metrics) {
    cJSON_DeleteItemFromObjectCaseSensitive(metrics, "stopped_early");
    if (epochs_done >= o->epochs || !early_stop_due(o, epochs_done, best_epoch)) return 0;
    cJSON *s = cJSON_AddObjectToObject(metrics, "stopped_early");
    cJSON_AddNumberToObject(s, "after_epoch", (double)epochs_done);
    cJSON_AddNumberToObject(s, "best_epoch", (double)best_epoch);
    cJSON_AddNumberToObject(s, "patience", o->early_stopping_patience);
    cJSON_AddStringToObject(s, "metric", KEYS[o->metric_for_best]);
    return epochs_done;
}

int64_t early_stop_read(const cJSON *metrics) {
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(metrics, "stopped_early");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(s, "after_epoch");
    double x = cJSON_IsNumber(e) ? e->valuedouble : 0;
    return x >= 1 && x <= 1e9 && x == floor(x) ? (int64_t)x : 0;
}
