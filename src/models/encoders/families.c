/* families.c: the registry of encoder families, looked up by config.json's
 * model_type (encoder_family.h). A new family is one row here. */
#include <stdio.h>
#include <string.h>

#include "models/encoders/encoder_family.h"

const EncoderFamily *const ENCODER_FAMILIES[] = {
    &ENCODER_FAMILY_BERT,
    &ENCODER_FAMILY_MPNET,
    &ENCODER_FAMILY_DEBERTA,
    &ENCODER_FAMILY_DECODER,
    &ENCODER_FAMILY_ALBERT,
    &ENCODER_FAMILY_MODERNBERT,
};
const int ENCODER_FAMILY_COUNT = (int)(sizeof ENCODER_FAMILIES / sizeof ENCODER_FAMILIES[0]);

const EncoderFamily *encoder_family_find(const char *model_type) {
    for (int i = 0; model_type && i < ENCODER_FAMILY_COUNT; i++)
        for (const char *const *t = ENCODER_FAMILIES[i]->model_types; *t; t++)
            if (!strcmp(*t, model_type)) return ENCODER_FAMILIES[i];
    return NULL;
}

void encoder_family_supported(char *buf, size_t n) {
    size_t k = 0;
    if (n) buf[0] = 0;
    for (int i = 0; i < ENCODER_FAMILY_COUNT; i++)
        for (const char *const *t = ENCODER_FAMILIES[i]->model_types; *t; t++) {
            int w = snprintf(buf + k, n > k ? n - k : 0, "%s%s", k ? ", " : "", *t);
            if (w < 0 || (size_t)w >= (n > k ? n - k : 0)) return;
            k += (size_t)w;
        }
}
