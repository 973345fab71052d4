/* optim.c: parameter table, clipping, Adam/AdamW (the update of a tensor: the
 * vectorised kernel adam_tensor, kernels/simd/adam.c), LR schedules. */
#include "train/optim.h"

#include "kernels/simd.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int params_add(ParamTable *t, const char *name, float *w, int ndim, int64_t d0, int64_t d1, int decay,
               PifiErr *err) {
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 64;
        ParamRef *r = realloc(t->refs, (size_t)cap * sizeof *r);
        if (!r) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        t->refs = r;
        t->cap = cap;
    }
    ParamRef *r = &t->refs[t->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    r->w = w;
    r->ndim = ndim;
    r->shape[0] = d0;
    r->shape[1] = ndim == 2 ? d1 : 0;
    r->n = ndim == 2 ? d0 * d1 : d0;
    r->decay = decay;
    t->total += r->n;
    return 0;
}

int params_alloc(ParamTable *t, PifiErr *err) {
    size_t n = (size_t)t->total;
    t->grad = calloc(n ? n : 1, sizeof(float));
    t->m = calloc(n ? n : 1, sizeof(float));
    t->v = calloc(n ? n : 1, sizeof(float));
    if (!t->grad || !t->m || !t->v) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory for %zu gradients", n);
    int64_t off = 0;
    for (int i = 0; i < t->n; i++) {
        t->refs[i].g = t->grad + off;
        off += t->refs[i].n;
    }
    return 0;
}

void params_free(ParamTable *t) {
    free(t->refs);
    free(t->grad);
    free(t->m);
    free(t->v);
    memset(t, 0, sizeof *t);
}

void params_zero_grad(ParamTable *t) { memset(t->grad, 0, (size_t)t->total * sizeof(float)); }

double params_sumsq(const float *x, int64_t n) {
    double total = 0.0, part[256];
    int64_t nc = (n + PARAMS_SUMSQ_CHUNK - 1) / PARAMS_SUMSQ_CHUNK;
    for (int64_t c0 = 0; c0 < nc; c0 += 256) { /* 256 chunks at a time, in parallel */
        int m = (int)(nc - c0 < 256 ? nc - c0 : 256);
#pragma omp parallel for schedule(static)
        for (int q = 0; q < m; q += 8) { /* 8 chunks' serial sums side by side: each in its own order */
            int R = m - q < 8 ? m - q : 8;
            const float *b = x + (c0 + q) * PARAMS_SUMSQ_CHUNK;
            int64_t len[8], common = PARAMS_SUMSQ_CHUNK;
            double s[8] = {0};
            for (int r = 0; r < R; r++) {
                int64_t lo = (c0 + q + r) * PARAMS_SUMSQ_CHUNK;
                len[r] = n - lo < PARAMS_SUMSQ_CHUNK ? n - lo : PARAMS_SUMSQ_CHUNK;
                if (len[r] < common) common = len[r];
            }
            for (int64_t i = 0; i < common; i++)
                for (int r = 0; r < R; r++) s[r] += (double)b[r * PARAMS_SUMSQ_CHUNK + i] * b[r * PARAMS_SUMSQ_CHUNK + i];
            for (int r = 0; r < R; r++) { /* the short last chunk's (or any longer one's) rest */
                for (int64_t i = common; i < len[r]; i++) s[r] += (double)b[r * PARAMS_SUMSQ_CHUNK + i] * b[r * PARAMS_SUMSQ_CHUNK + i];
                part[q + r] = s[r];
            }
        }
        for (int c = 0; c < m; c++) total += part[c];
    }
    return total;
}

double params_grad_norm(const ParamTable *t) { return sqrt(params_sumsq(t->grad, t->total)); }

uint64_t params_checksum(const ParamTable *t) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (int r = 0; r < t->n; r++) {
        const float *w = t->refs[r].w;
        uint64_t a = 0, b = 0;
        for (int64_t i = 0; i < t->refs[r].n; i++) { /* two lanes of a multiply-xor hash of the bits */
            uint32_t u;
            memcpy(&u, &w[i], sizeof u);
            a = (a ^ u) * 0x100000001b3ull;
            b = (b + u) * 0x9e3779b97f4a7c15ull;
        }
        h = (h ^ a) * 0x100000001b3ull;
        h = (h ^ b ^ (uint64_t)t->refs[r].n) * 0x100000001b3ull;
    }
    return h;
}

void params_clip(ParamTable *t, double norm, double max_norm) {
    double coef = max_norm / (norm + 1e-6);
    if (coef >= 1.0) return;
    float c = (float)coef;
#pragma omp parallel for
    for (int64_t i = 0; i < t->total; i++) t->grad[i] *= c;
}

void optim_step(ParamTable *t, const OptimConfig *c, float lr, int64_t step) {
    float b1 = c->beta1, b2 = c->beta2, eps = c->eps, wd = c->weight_decay;
    /* as torch (foreach=False): bias corrections in double, step_size = lr / bc1 */
    double bc1 = 1.0 - pow(b1, (double)step), bc2 = 1.0 - pow(b2, (double)step);
    float step_size = (float)(lr / bc1);
    float bc2_sqrt = (float)sqrt(bc2);
    int64_t off = 0;
    for (int r = 0; r < t->n; r++) {
        ParamRef *p = &t->refs[r];
        if (p->frozen) {
            off += p->n;
            continue;
        }
        float decay = wd > 0 && p->decay ? wd : 0.0f;
        int mode = c->kind == OPT_ADAMW ? (decay > 0 ? 2 : 0) : (wd > 0 ? 1 : 0);
        adam_tensor(p->w, p->g, t->m + off, t->v + off, p->n, mode, b1, b2, eps, step_size, bc2_sqrt, wd,
                    1.0f - lr * decay);
        off += p->n;
    }
}

float lr_at(SchedKind kind, float base_lr, int64_t step, int64_t warmup, int64_t total) {
    if (warmup > 0 && step < warmup) return base_lr * (float)(step + 1) / (float)warmup;
    if (kind == SCHED_CONSTANT || total <= warmup) return base_lr;
    double frac = (double)(step - warmup) / (double)(total - warmup);
    if (frac > 1.0) frac = 1.0;
    if (kind == SCHED_LINEAR) return (float)(base_lr * (1.0 - frac));
    return (float)(base_lr * 0.5 * (1.0 + cos(M_PI * frac)));
}
