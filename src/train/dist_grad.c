/* dist_grad.c: the gradient all-reduce of a training step, overlapped with
 * the backward pass (dist.h: DistSeg, dist_grad_begin/_ready/_finish).
 *
 * The trainer describes its gradient arena as segments tagged with the
 * backward stage after which they are final (the head and the plugged layer
 * first, then the encoder's layers from the last to the first, the
 * embeddings at the end). The backward calls dist_grad_ready after each
 * stage: the segments that became final are sent at once with
 * MPI_Iallreduce (in pieces of at most d->bucket floats) and MPI is given a
 * chance to progress the ones in flight, so the reduction of the last layers
 * travels while the first layers are still being differentiated.
 * dist_grad_finish sends what is left and waits for all of it. The sums are
 * the same whichever way a buffer is cut (MPI sums every element over the
 * ranks), and the gradient norm is taken over the reduced arena in arena
 * order, so every rank computes the same norm. */
#include <stdlib.h>
#include <string.h>

#include "train/dist.h"
#include "train/dist_internal.h"
#include "train/optim.h"

struct DistGrad {
    float *buf;         /* (n) the arena being reduced */
    int64_t n;
    DistSeg *segs;      /* sorted by stage, highest first (the order the backward finishes them) */
    int nsegs, cap_segs;
    int next;           /* segs[0 .. next) are sent */
    int active;         /* a reduction was begun and not finished */
#ifdef PIFI_HAVE_MPI
    MPI_Request *req;   /* (nreq) in flight, kept between steps */
    int nreq, cap_req;
    int mpi_err;        /* the first MPI error of this step (MPI_SUCCESS: none) */
#endif
};

static int seg_order(const void *pa, const void *pb) {
    const DistSeg *a = pa, *b = pb;
    if (a->stage != b->stage) return a->stage > b->stage ? -1 : 1;
    return a->off < b->off ? -1 : a->off > b->off;
}

void dist_grad_free(Dist *d) {
    struct DistGrad *g = d->grad;
    if (!g) return;
    free(g->segs);
#ifdef PIFI_HAVE_MPI
    free(g->req);
#endif
    free(g);
    d->grad = NULL;
}

int dist_grad_begin(Dist *d, float *buf, int64_t n, const DistSeg *segs, int nsegs, PifiErr *err) {
    struct DistGrad *g = d->grad;
    if (!g && !(g = d->grad = calloc(1, sizeof *g))) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    DistSeg whole = {0, n, -1};
    if (!segs) segs = &whole, nsegs = 1;
    if (nsegs > g->cap_segs) {
        DistSeg *s = realloc(g->segs, (size_t)nsegs * sizeof *s);
        if (!s) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        g->segs = s, g->cap_segs = nsegs;
    }
    for (int i = 0; i < nsegs; i++)
        if (segs[i].off < 0 || segs[i].n < 0 || segs[i].off > n - segs[i].n)
            return pifi_errk(err, PIFI_ERR_RUNTIME, "gradient segment %d (%lld + %lld) is outside the arena (%lld)",
                             i, (long long)segs[i].off, (long long)segs[i].n, (long long)n);
    memcpy(g->segs, segs, (size_t)nsegs * sizeof *segs);
    qsort(g->segs, (size_t)nsegs, sizeof *g->segs, seg_order);
    g->nsegs = nsegs;
    g->buf = buf, g->n = n, g->next = 0, g->active = 1;
#ifdef PIFI_HAVE_MPI
    g->nreq = 0;
    g->mpi_err = MPI_SUCCESS;
#endif
    return 0;
}

#ifdef PIFI_HAVE_MPI

/* Send segment s in pieces of at most d->bucket floats. */
static void send_seg(Dist *d, struct DistGrad *g, const DistSeg *s) {
    for (int64_t lo = 0; lo < s->n && g->mpi_err == MPI_SUCCESS; lo += d->bucket) {
        int64_t k = s->n - lo < d->bucket ? s->n - lo : d->bucket;
        if (g->nreq == g->cap_req) {
            int cap = g->cap_req ? 2 * g->cap_req : 64;
            MPI_Request *r = realloc(g->req, (size_t)cap * sizeof *r);
            if (!r) {
                g->mpi_err = MPI_ERR_NO_MEM;
                return;
            }
            g->req = r, g->cap_req = cap;
        }
        int e = MPI_Iallreduce(MPI_IN_PLACE, g->buf + s->off + lo, (int)k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
                               &g->req[g->nreq]);
        if (e != MPI_SUCCESS) g->mpi_err = e;
        else g->nreq++;
    }
}

void dist_grad_ready(Dist *d, int stage) {
    struct DistGrad *g = d->grad;
    if (d->size == 1 || !g || !g->active || g->mpi_err != MPI_SUCCESS) return;
    double t0 = dist_now_s();
    while (g->next < g->nsegs && g->segs[g->next].stage >= stage) send_seg(d, g, &g->segs[g->next++]);
    if (g->nreq > 0 && g->mpi_err == MPI_SUCCESS) { /* progress what is in flight; completion is checked at the end */
        int done = 0;
        int e = MPI_Testall(g->nreq, g->req, &done, MPI_STATUSES_IGNORE);
        if (e != MPI_SUCCESS) g->mpi_err = e;
    }
    d->comm_s += dist_now_s() - t0;
}

#else /* no MPI: one process */

void dist_grad_ready(Dist *d, int stage) { (void)d, (void)stage; }

#endif

int dist_grad_finish(Dist *d, double *sumsq, PifiErr *err) {
    struct DistGrad *g = d->grad;
    if (!g || !g->active) return pifi_errk(err, PIFI_ERR_RUNTIME, "gradient all-reduce finished before it began");
    g->active = 0;
#ifdef PIFI_HAVE_MPI
    if (d->size > 1) {
        while (g->next < g->nsegs && g->mpi_err == MPI_SUCCESS) send_seg(d, g, &g->segs[g->next++]);
        if (g->mpi_err != MPI_SUCCESS) return dist_mpi_fail(d, g->mpi_err, "gradient all-reduce", err);
        if (g->nreq > 0 && dist_wait_reqs(d, g->nreq, g->req, "gradient all-reduce", err)) return -1;
        g->nreq = 0;
    }
#endif
    if (sumsq) *sumsq = params_sumsq(g->buf, g->n);
    return 0;
}

int dist_allreduce_grad(Dist *d, float *buf, int64_t n, double *sumsq, PifiErr *err) {
    if (d->size == 1) {
        if (sumsq) *sumsq = params_sumsq(buf, n);
        return 0;
    }
    return dist_grad_begin(d, buf, n, NULL, 0, err) || dist_grad_finish(d, sumsq, err) ? -1 : 0;
}
