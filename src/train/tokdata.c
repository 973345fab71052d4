/* tokdata.c: tokenize a dataset once; batches with dynamic padding; seeded
 * epoch permutations and their cut into batches (drop_last or not). */
#include "train/tokdata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

int tokdata_build(TokData *td, const PifiTokenizer *tk, const PifiDataset *ds, int max_len, PifiErr *err) {
    memset(td, 0, sizeof *td);
    td->n = ds->n;
    td->label = ds->label;
    td->pad_id = tokenizer_pad_id(tk);
    td->len = malloc((size_t)(ds->n ? ds->n : 1) * sizeof *td->len);
    td->off = malloc((size_t)(ds->n ? ds->n : 1) * sizeof *td->off);
    size_t cap = (size_t)(ds->n ? ds->n : 1) * 32, used = 0;
    td->ids = malloc(cap * sizeof *td->ids);
    td->type_ids = malloc(cap * sizeof *td->type_ids);
    if (!td->len || !td->off || !td->ids || !td->type_ids) goto oom;
    PifiEncodeOpts o = pifi_encode_opts_default();
    o.max_length = max_len;
    o.truncation = PIFI_TRUNC_LONGEST_FIRST;
    PifiEncoding e = {0};
    for (int64_t i = 0; i < ds->n; i++) {
        const char *pair = ds->text_pair ? ds->text_pair[i] : NULL;
        if (tokenizer_encode(tk, ds->text[i], pair, &o, &e, err)) {
            char what[64];
            snprintf(what, sizeof what, "example %lld", (long long)i + 1);
            pifi_err_prefix(err, what);
            encoding_free(&e);
            tokdata_free(td);
            return -1;
        }
        if (used + (size_t)e.n > cap) {
            while (used + (size_t)e.n > cap) cap *= 2;
            int32_t *a = realloc(td->ids, cap * sizeof *a);
            if (a) td->ids = a;
            int32_t *b = realloc(td->type_ids, cap * sizeof *b);
            if (b) td->type_ids = b;
            if (!a || !b) {
                encoding_free(&e);
                goto oom;
            }
        }
        memcpy(td->ids + used, e.ids, (size_t)e.n * sizeof(int32_t));
        memcpy(td->type_ids + used, e.type_ids, (size_t)e.n * sizeof(int32_t));
        td->off[i] = (int64_t)used;
        td->len[i] = e.n;
        used += (size_t)e.n;
    }
    encoding_free(&e);
    return 0;
oom:
    tokdata_free(td);
    return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory tokenizing %lld examples", (long long)ds->n);
}

int tokdata_build_qa(TokData *td, const PifiTokenizer *tk, const PifiDataset *ds, int max_len, int doc_stride,
                     PifiErr *err) {
    memset(td, 0, sizeof *td);
    td->qa = pifi_calloc(1, sizeof *td->qa, err);
    if (!td->qa) return -1;
    if (squad_features(ds->squad, tk, max_len, doc_stride, td->qa, "data", err)) {
        free(td->qa);
        td->qa = NULL;
        return -1;
    }
    const SquadFeatures *f = td->qa;
    size_t n = (size_t)f->n, T = (size_t)f->T;
    td->n = f->n;
    td->squad = ds->squad;
    td->pad_id = tokenizer_pad_id(tk);
    td->start = f->start, td->end = f->end;
    td->len = malloc((n ? n : 1) * sizeof *td->len);
    td->off = malloc((n ? n : 1) * sizeof *td->off);
    td->ids = malloc((n ? n * T : 1) * sizeof *td->ids);
    td->type_ids = malloc((n ? n * T : 1) * sizeof *td->type_ids);
    if (!td->len || !td->off || !td->ids || !td->type_ids) {
        tokdata_free(td);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory for %zu windows", n);
    }
    size_t used = 0;
    for (size_t i = 0; i < n; i++) { /* right padding: the real tokens are the first sum(mask) */
        int len = 0;
        while ((size_t)len < T && f->mask[i * T + len]) len++;
        memcpy(td->ids + used, f->ids + i * T, (size_t)len * sizeof(int32_t));
        memcpy(td->type_ids + used, f->types + i * T, (size_t)len * sizeof(int32_t));
        td->off[i] = (int64_t)used;
        td->len[i] = len;
        used += (size_t)len;
    }
    return 0;
}

void tokdata_free(TokData *td) {
    if (td->qa) squad_features_free(td->qa);
    free(td->qa);
    free(td->len);
    free(td->off);
    free(td->ids);
    free(td->type_ids);
    memset(td, 0, sizeof *td);
}

int batch_fill(Batch *b, const TokData *td, const int64_t *idx, int B, PifiErr *err) {
    int T = 1;
    for (int i = 0; i < B; i++)
        if (td->len[idx[i]] > T) T = td->len[idx[i]];
    if (B * T > b->cap_BT || B > b->cap_B) {
        free(b->ids), free(b->type_ids), free(b->mask), free(b->labels);
        b->ids = malloc((size_t)B * T * sizeof(int32_t));
        b->type_ids = malloc((size_t)B * T * sizeof(int32_t));
        b->mask = malloc((size_t)B * T * sizeof(int32_t));
        b->labels = malloc((size_t)B * 3 * sizeof(int32_t)); /* labels, then QA's start and end */
        if (!b->ids || !b->type_ids || !b->mask || !b->labels) {
            b->cap_BT = b->cap_B = 0;
            return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory for a batch");
        }
        b->cap_BT = B * T;
        b->cap_B = B;
    }
    b->B = B;
    b->T = T;
    for (int i = 0; i < B; i++) {
        int64_t k = idx[i];
        int n = td->len[k];
        const int32_t *src = td->ids + td->off[k], *tsrc = td->type_ids + td->off[k];
        for (int t = 0; t < T; t++) {
            size_t j = (size_t)i * T + t;
            b->ids[j] = t < n ? src[t] : td->pad_id;
            b->type_ids[j] = t < n ? tsrc[t] : 0;
            b->mask[j] = t < n;
        }
        b->labels[i] = td->label ? td->label[k] : 0;
    }
    b->start = b->end = NULL;
    if (td->start) {
        b->start = b->labels + B, b->end = b->labels + 2 * B;
        for (int i = 0; i < B; i++) b->start[i] = td->start[idx[i]], b->end[i] = td->end[idx[i]];
    }
    return 0;
}

void batch_free(Batch *b) {
    free(b->ids), free(b->type_ids), free(b->mask), free(b->labels);
    memset(b, 0, sizeof *b);
}

void epoch_order(int64_t *order, int64_t n, uint64_t seed, int64_t epoch, int shuffle) {
    for (int64_t i = 0; i < n; i++) order[i] = i;
    if (!shuffle) return;
    /* Fisher-Yates with the counter-based RNG: the same on every machine */
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(rng_u64(seed, 0x5eed0000u + (uint64_t)epoch, (uint64_t)i) % (uint64_t)(i + 1));
        int64_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

int64_t epoch_steps(int64_t n, int B, int drop_last) {
    if (n <= 0 || B <= 0) return 0;
    return drop_last ? n / B : (n + B - 1) / B;
}

int epoch_batch_rows(int64_t n, int B, int drop_last, int64_t s) {
    if (s < 0 || s >= epoch_steps(n, B, drop_last)) return 0;
    int64_t left = n - s * B;
    return left < B ? (int)left : B;
}

double epoch_step_weight(int64_t n, int B, int drop_last, int64_t s) {
    int rows = epoch_batch_rows(n, B, drop_last, s);
    return rows == B ? 1.0 : (double)rows / B;
}
