/* api_bertscore.c: pifi_bertscore: the texts stripped and deduplicated,
 * their token vectors from pifi_embed in batches of the longest first, and
 * the matching of data/bertscore.c. */
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "core/pystr.h"
#include "pifi/bertscore.h"
#include "pifi/fileio.h"

#define EMBED_BATCH 32

pifi_bertscore_params pifi_bertscore_default_params(void) {
    pifi_bertscore_params p = {0, 64};
    return p;
}

/* str.strip() of t as a new string (NULL: out of memory). */
static char *py_strip(const char *t) {
    PyStr s = {0};
    if (pystr_decode(&s, t, strlen(t))) {
        pystr_free(&s);
        return NULL;
    }
    size_t a = 0, b = s.n;
    while (a < b && pystr_isspace(s.c[a])) a++;
    while (b > a && pystr_isspace(s.c[b - 1])) b--;
    char *out = pystr_encode(&s, a, b);
    pystr_free(&s);
    return out;
}

typedef struct {
    char **text;   /* the stripped texts: n candidates, then n_refs x n references */
    int *sent;     /* text k's sentence (unique text) */
    int n_text, n_sent;
    BertScoreSent *s;
    int32_t **ids; /* owned arrays behind s[] */
    float **vec;
} Texts;

static void texts_free(Texts *x) {
    for (int k = 0; x->text && k < x->n_text; k++) free(x->text[k]);
    for (int k = 0; x->ids && k < x->n_sent; k++) free(x->ids[k]), free(x->vec[k]);
    free(x->text), free(x->sent), free(x->s), free(x->ids), free(x->vec);
}

typedef struct {
    const char *t;
    size_t len;
    int k;
} Keyed;

static int by_text(const void *a, const void *b) { return strcmp(((const Keyed *)a)->t, ((const Keyed *)b)->t); }

static int by_len_desc(const void *a, const void *b) {
    size_t la = ((const Keyed *)a)->len, lb = ((const Keyed *)b)->len;
    return la < lb ? 1 : la > lb ? -1 : 0;
}

/* The unique texts (x->sent: each text's; first[]: each unique text's first text index). */
static int dedup(Texts *x, int *first, PifiErr *err) {
    Keyed *kv = pifi_malloc((size_t)x->n_text * sizeof *kv, err);
    if (!kv) return -1;
    for (int k = 0; k < x->n_text; k++) kv[k] = (Keyed){x->text[k], 0, k};
    qsort(kv, (size_t)x->n_text, sizeof *kv, by_text);
    x->n_sent = 0;
    for (int k = 0; k < x->n_text; k++) {
        if (k == 0 || strcmp(kv[k].t, kv[k - 1].t)) first[x->n_sent++] = kv[k].k;
        x->sent[kv[k].k] = x->n_sent - 1;
    }
    free(kv);
    return 0;
}

/* Token ids and vectors of every unique text, EMBED_BATCH at a time. */
static pifi_status embed_all(pifi_encoder *enc, Texts *x, const int *first, pifi_error *err) {
    PifiErr e = {0};
    int C = pifi_encoder_dim(enc);
    Keyed *by_len = pifi_malloc((size_t)x->n_sent * sizeof *by_len, &e);
    if (!by_len) return api_fail(&e, err);
    for (int s = 0; s < x->n_sent; s++) by_len[s] = (Keyed){x->text[first[s]], strlen(x->text[first[s]]), s};
    qsort(by_len, (size_t)x->n_sent, sizeof *by_len, by_len_desc);
    pifi_status st = PIFI_OK;
    const char *batch[EMBED_BATCH];
    for (int b0 = 0; b0 < x->n_sent && st == PIFI_OK; b0 += EMBED_BATCH) {
        int nb = x->n_sent - b0 < EMBED_BATCH ? x->n_sent - b0 : EMBED_BATCH;
        for (int j = 0; j < nb; j++) batch[j] = by_len[b0 + j].t;
        pifi_embeddings *em = NULL;
        if ((st = pifi_embed(enc, nb, batch, NULL, &em, err)) != PIFI_OK) break;
        for (int j = 0; j < nb && st == PIFI_OK; j++) {
            int s = by_len[b0 + j].k, len = pifi_embeddings_len(em, j);
            x->ids[s] = pifi_malloc((size_t)len * sizeof *x->ids[s], &e);
            x->vec[s] = x->ids[s] ? pifi_malloc((size_t)len * C * sizeof *x->vec[s], &e) : NULL;
            if (!x->vec[s]) {
                st = api_fail(&e, err);
                break;
            }
            const int *ids = pifi_embeddings_ids(em, j);
            for (int t = 0; t < len; t++) {
                x->ids[s][t] = ids[t];
                memcpy(x->vec[s] + (size_t)t * C, pifi_embeddings_hidden(em, j, t), (size_t)C * sizeof(float));
            }
            x->s[s] = (BertScoreSent){len, x->ids[s], x->vec[s]};
        }
        pifi_embeddings_free(em);
    }
    free(by_len);
    return st;
}

pifi_status pifi_bertscore(pifi_encoder *enc, int n, const char *const *cands, int n_refs,
                           const char *const *const *refs, const pifi_bertscore_params *params,
                           pifi_bertscore_result *seg, pifi_bertscore_result *mean, pifi_error *err) {
    PifiErr e = {0};
    pifi_bertscore_params p = params ? *params : pifi_bertscore_default_params();
    if (!p.batch_size) p.batch_size = 64;
    if (n < 1 || n_refs < 1 || !cands || !refs || p.batch_size < 1) {
        pifi_errf(&e, "pifi_bertscore: %s", n < 1 ? "no candidates" : n_refs < 1 ? "no references"
                                            : p.batch_size < 1 ? "batch_size must be >= 1"
                                                               : "cands and refs must not be NULL");
        return api_fail(&e, err);
    }
    for (int i = 0; i < n; i++)
        for (int r = -1; r < n_refs; r++)
            if (r >= 0 ? !refs[r] || !refs[r][i] : !cands[i]) {
                pifi_errf(&e, "pifi_bertscore: %s %d is NULL", r < 0 ? "candidate" : "reference", i + 1);
                return api_fail(&e, err);
            }
    Texts x = {0};
    x.n_text = n * (n_refs + 1);
    x.text = pifi_calloc((size_t)x.n_text, sizeof *x.text, &e);
    x.sent = pifi_malloc((size_t)x.n_text * sizeof *x.sent, &e);
    int *first = pifi_malloc((size_t)x.n_text * sizeof *first, &e);
    BertScorePRF *s = seg ? pifi_malloc((size_t)n * sizeof *s, &e) : NULL;
    int **ref_sent = pifi_calloc((size_t)n_refs, sizeof *ref_sent, &e);
    pifi_status st = PIFI_E_RUNTIME;
    if (!x.text || !x.sent || !first || (seg && !s) || !ref_sent) goto fail;
    for (int k = 0; k < x.n_text; k++) {
        const char *t = k < n ? cands[k] : refs[(k - n) / n][(k - n) % n];
        if (!(x.text[k] = py_strip(t))) {
            pifi_errk(&e, PIFI_ERR_RUNTIME, "out of memory");
            goto fail;
        }
    }
    if (dedup(&x, first, &e)) goto fail;
    x.s = pifi_calloc((size_t)x.n_sent, sizeof *x.s, &e);
    x.ids = pifi_calloc((size_t)x.n_sent, sizeof *x.ids, &e);
    x.vec = pifi_calloc((size_t)x.n_sent, sizeof *x.vec, &e);
    if (!x.s || !x.ids || !x.vec) goto fail;
    if ((st = embed_all(enc, &x, first, err)) != PIFI_OK) goto done;
    /* [CLS] and [SEP]: what the empty text encodes to (build_inputs_with_special_tokens([])) */
    BertScoreOpts o = {p.idf, p.batch_size, -1, -1};
    const char *empty = "";
    pifi_embeddings *em = NULL;
    if ((st = pifi_embed(enc, 1, &empty, NULL, &em, err)) != PIFI_OK) goto done;
    if (pifi_embeddings_len(em, 0) == 2) o.cls_id = pifi_embeddings_ids(em, 0)[0], o.sep_id = pifi_embeddings_ids(em, 0)[1];
    pifi_embeddings_free(em);
    for (int r = 0; r < n_refs; r++) {
        if (!(ref_sent[r] = pifi_malloc((size_t)n * sizeof **ref_sent, &e))) goto fail;
        for (int i = 0; i < n; i++) ref_sent[r][i] = x.sent[n + r * n + i];
    }
    BertScorePRF m;
    if (bertscore_corpus(x.s, pifi_encoder_dim(enc), x.sent, n, (const int *const *)ref_sent, n_refs, &o, s, &m, &e))
        goto fail;
    for (int i = 0; seg && i < n; i++) seg[i] = (pifi_bertscore_result){s[i].P, s[i].R, s[i].F};
    *mean = (pifi_bertscore_result){m.P, m.R, m.F};
    st = PIFI_OK;
    goto done;
fail:
    st = api_fail(&e, err);
done:
    for (int r = 0; ref_sent && r < n_refs; r++) free(ref_sent[r]);
    free(ref_sent), free(s), free(first);
    texts_free(&x);
    return st;
}
