/* seq2seq_families.c: the registry of encoder-decoder families, looked up by
 * config.json's model_type (seq2seq_family.h). A new family is one row here. */
#include <stdio.h>
#include <string.h>

#include "models/seq2seq/seq2seq_family.h"
#include "models/seq2seq/t5_internal.h"

extern const Seq2SeqFamily SEQ2SEQ_FAMILY_BART; /* bart_family.c */

const Seq2SeqFamily *const SEQ2SEQ_FAMILIES[] = {
    &SEQ2SEQ_FAMILY_BART,
    &SEQ2SEQ_FAMILY_T5,
    NULL,
};

const Seq2SeqFamily *seq2seq_family_find(const char *model_type) {
    for (int i = 0; model_type && SEQ2SEQ_FAMILIES[i]; i++)
        for (const char *const *t = SEQ2SEQ_FAMILIES[i]->model_types; *t; t++)
            if (!strcmp(*t, model_type)) return SEQ2SEQ_FAMILIES[i];
    return NULL;
}

void seq2seq_family_supported(char *buf, size_t n) {
    size_t k = 0;
    if (n) buf[0] = 0;
    for (int i = 0; SEQ2SEQ_FAMILIES[i]; i++)
        for (const char *const *t = SEQ2SEQ_FAMILIES[i]->model_types; *t; t++) {
            int w = snprintf(buf + k, n > k ? n - k : 0, "%s%s", k ? ", " : "", *t);
            if (w < 0 || (size_t)w >= (n > k ? n - k : 0)) return;
            k += (size_t)w;
        }
}
