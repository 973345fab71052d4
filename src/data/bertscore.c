/* bertscore.c: BERTScore's greedy matching over given token vectors, as
 * the bert-score package computes it (pifi/bertscore.h says which of its
 * quirks are kept and why the batching matters). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/bertscore.h"
#include "pifi/fileio.h"

/* The idf weight of every id 0..V-1 (bert-score's idf_dict). */
static float *idf_table(const BertScoreSent *sents, const int *const *refs, int n, int R, int V,
                        const BertScoreOpts *o, PifiErr *err) {
    float *w = pifi_malloc((size_t)V * sizeof *w, err);
    if (!w) return NULL;
    if (!o->idf) {
        for (int v = 0; v < V; v++) w[v] = 1.0f;
        if (o->sep_id >= 0 && o->sep_id < V) w[o->sep_id] = 0.0f;
        if (o->cls_id >= 0 && o->cls_id < V) w[o->cls_id] = 0.0f;
        return w;
    }
    int64_t *count = pifi_calloc((size_t)V, sizeof *count, err);
    int64_t *seen = pifi_malloc((size_t)V * sizeof *seen, err); /* the last reference that counted the id */
    if (!count || !seen) {
        free(w), free(count), free(seen);
        return NULL;
    }
    for (int v = 0; v < V; v++) seen[v] = -1;
    int64_t M = (int64_t)n * R, doc = 0;
    for (int i = 0; i < n; i++)
        for (int r = 0; r < R; r++, doc++) { /* set(ids) of each reference, in bert-score's order */
            const BertScoreSent *s = &sents[refs[r][i]];
            for (int t = 0; t < s->len; t++)
                if (seen[s->ids[t]] != doc) seen[s->ids[t]] = doc, count[s->ids[t]]++;
        }
    for (int v = 0; v < V; v++) w[v] = (float)log((double)(M + 1) / (double)(count[v] + 1));
    free(count), free(seen);
    return w;
}

/* Each sentence's vectors divided by their norms (torch: emb / emb.norm(dim=-1)). */
static float *normalized(const BertScoreSent *sents, int n_sents, int C, int64_t **off_out, PifiErr *err) {
    int64_t *off = pifi_malloc(((size_t)n_sents + 1) * sizeof *off, err);
    if (!off) return NULL;
    off[0] = 0;
    for (int s = 0; s < n_sents; s++) off[s + 1] = off[s] + (int64_t)sents[s].len * C;
    float *v = pifi_malloc((size_t)(off[n_sents] ? off[n_sents] : 1) * sizeof *v, err);
    if (!v) {
        free(off);
        return NULL;
    }
    for (int s = 0; s < n_sents; s++)
        for (int t = 0; t < sents[s].len; t++) {
            const float *x = sents[s].vec + (size_t)t * C;
            float *y = v + off[s] + (int64_t)t * C;
            double ss = 0;
            for (int c = 0; c < C; c++) ss += (double)x[c] * x[c];
            float nrm = (float)sqrt(ss);
            for (int c = 0; c < C; c++) y[c] = x[c] / nrm;
        }
    *off_out = off;
    return v;
}

/* One pair: x (hyp, hl tokens, the batch's longest hyp hmax), y (ref). */
static BertScorePRF match(const float *x, const int32_t *xid, int hl, int hmax, const float *y, const int32_t *yid,
                          int rl, int rmax, int C, const float *w, float *colmax) {
    double P = 0, R = 0, wx = 0, wy = 0;
    for (int j = 0; j < rl; j++) colmax[j] = hl < hmax ? 0.0f : -INFINITY;
    for (int i = 0; i < hl; i++) {
        float rowmax = rl < rmax ? 0.0f : -INFINITY;
        for (int j = 0; j < rl; j++) {
            const float *a = x + (size_t)i * C, *b = y + (size_t)j * C;
            float d = 0;
            for (int c = 0; c < C; c++) d += a[c] * b[c];
            if (d > rowmax) rowmax = d;
            if (d > colmax[j]) colmax[j] = d;
        }
        P += (double)rowmax * w[xid[i]];
        wx += w[xid[i]];
    }
    for (int j = 0; j < rl; j++) {
        R += (double)colmax[j] * w[yid[j]];
        wy += w[yid[j]];
    }
    BertScorePRF s;
    s.P = P / wx; /* 0 / 0: NaN, as torch */
    s.R = R / wy;
    if (hl == 2 || rl == 2) s.P = s.R = 0; /* an empty side: bert-score's masked_fill */
    s.F = 2 * s.P * s.R / (s.P + s.R);
    if (isnan(s.F)) s.F = 0;
    return s;
}

int bertscore_corpus(const BertScoreSent *sents, int C, const int *hyps, int n, const int *const *refs, int R,
                     const BertScoreOpts *o, BertScorePRF *seg, BertScorePRF *mean, PifiErr *err) {
    if (n < 1 || R < 1 || C < 1 || o->batch_size < 1)
        return pifi_errf(err, "bertscore: %d candidates, %d references each, width %d, batch %d: each must be >= 1",
                         n, R, C, o->batch_size);
    int n_sents = 0, V = 1, longest = 1;
    for (int i = 0; i < n; i++) {
        if (hyps[i] + 1 > n_sents) n_sents = hyps[i] + 1;
        for (int r = 0; r < R; r++)
            if (refs[r][i] + 1 > n_sents) n_sents = refs[r][i] + 1;
    }
    for (int s = 0; s < n_sents; s++) {
        if (sents[s].len < 1) return pifi_errf(err, "bertscore: sentence %d has no tokens", s);
        if (sents[s].len > longest) longest = sents[s].len;
        for (int t = 0; t < sents[s].len; t++) {
            if (sents[s].ids[t] < 0) return pifi_errf(err, "bertscore: sentence %d holds id %d", s, sents[s].ids[t]);
            if (sents[s].ids[t] + 1 > V) V = sents[s].ids[t] + 1;
        }
    }
    if (o->cls_id + 1 > V) V = o->cls_id + 1;
    if (o->sep_id + 1 > V) V = o->sep_id + 1;
    int64_t *off = NULL;
    float *w = idf_table(sents, refs, n, R, V, o, err);
    float *v = w ? normalized(sents, n_sents, C, &off, err) : NULL;
    float *colmax = v ? pifi_malloc((size_t)longest * sizeof *colmax, err) : NULL;
    if (!colmax) {
        free(w), free(v), free(off);
        return -1;
    }
    double sum[3] = {0, 0, 0};
    int64_t M = (int64_t)n * R;
    BertScorePRF best = {0, 0, 0};
    for (int64_t b0 = 0; b0 < M; b0 += o->batch_size) { /* the flattened pairs k = i R + r */
        int64_t b1 = b0 + o->batch_size < M ? b0 + o->batch_size : M;
        int hmax = 0, rmax = 0;
        for (int64_t k = b0; k < b1; k++) {
            const BertScoreSent *h = &sents[hyps[k / R]], *y = &sents[refs[k % R][k / R]];
            if (h->len > hmax) hmax = h->len;
            if (y->len > rmax) rmax = y->len;
        }
        for (int64_t k = b0; k < b1; k++) {
            int i = (int)(k / R), r = (int)(k % R), hs = hyps[i], ys = refs[r][i];
            BertScorePRF s = match(v + off[hs], sents[hs].ids, sents[hs].len, hmax, v + off[ys], sents[ys].ids,
                                   sents[ys].len, rmax, C, w, colmax);
            if (r == 0) best = s;
            else { /* torch.max: NaN wins */
                if (s.P > best.P || isnan(s.P)) best.P = isnan(best.P) ? best.P : s.P;
                if (s.R > best.R || isnan(s.R)) best.R = isnan(best.R) ? best.R : s.R;
                if (s.F > best.F) best.F = s.F;
            }
            if (r == R - 1) {
                if (seg) seg[i] = best;
                sum[0] += best.P, sum[1] += best.R, sum[2] += best.F;
            }
        }
    }
    mean->P = sum[0] / n, mean->R = sum[1] / n, mean->F = sum[2] / n;
    free(w), free(v), free(off), free(colmax);
    return 0;
}
