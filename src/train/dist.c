/* dist.c: the MPI side of data-parallel training (dist.h): launch
 * detection, collectives with a watchdog, the bucketed gradient all-reduce,
 * and the failure protocol. Without PIFI_HAVE_MPI only the single process. */
#include "train/dist.h"
#include "train/dist_internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "train/optim.h"

#ifdef PIFI_HAVE_MPI
#include <mpi.h>
#endif

static long env_long(const char *name, long dflt) {
    const char *s = getenv(name);
    if (!s || !*s) return dflt;
    char *end;
    long v = strtol(s, &end, 10);
    return *end ? dflt : v;
}

/* Ranks the launcher says it started (0: no launcher variable). */
static long launched_size(void) {
    long n = env_long("OMPI_COMM_WORLD_SIZE", 0);
    if (!n) n = env_long("PMI_SIZE", 0);
    if (!n) n = env_long("SLURM_STEP_NUM_TASKS", 0);
    return n;
}

int dist_launched(void) {
    const char *f = getenv("PIFI_MPI");
    if (f && *f) return strcmp(f, "0") != 0;
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK") ||
           env_long("SLURM_STEP_NUM_TASKS", 0) > 1;
}

static void single(Dist *d) {
    memset(d, 0, sizeof *d);
    d->size = 1;
    d->timeout_s = (double)env_long("PIFI_DIST_TIMEOUT", 600);
    if (d->timeout_s <= 0) d->timeout_s = 600;
    long mb = env_long("PIFI_DIST_BUCKET_MB", 8);
    if (mb < 1) mb = 1;
    if (mb > 256) mb = 256;
    d->bucket = (int64_t)mb << 18; /* floats: MB * 2^20 / 4, a multiple of params_sumsq's chunk */
    d->check_every = (int)env_long("PIFI_DIST_CHECK", 0);
}

#ifdef PIFI_HAVE_MPI

double dist_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int dist_mpi_fail(Dist *d, int code, const char *what, PifiErr *err) {
    char s[MPI_MAX_ERROR_STRING];
    int n = 0;
    if (MPI_Error_string(code, s, &n) != MPI_SUCCESS) snprintf(s, sizeof s, "MPI error %d", code);
    d->broken = 1;
    return pifi_errk(err, PIFI_ERR_RUNTIME, "rank %d of %d: %s failed: %s (another rank has probably died)",
                     d->rank, d->size, what, s);
}

/* Wait for n requests, spinning for a millisecond and then polling every
 * 100 us (MPI progresses inside MPI_Test), under the watchdog. */
int dist_wait_reqs(Dist *d, int n, MPI_Request *req, const char *what, PifiErr *err) {
    double t0 = dist_now_s();
    struct timespec nap = {0, 100000};
    for (long spins = 0;; spins++) {
        int done = 0;
        int rc = MPI_Testall(n, req, &done, MPI_STATUSES_IGNORE);
        if (rc != MPI_SUCCESS) return dist_mpi_fail(d, rc, what, err);
        if (done) break;
        double t = dist_now_s();
        if (t - t0 > d->timeout_s) {
            d->broken = 1;
            return pifi_errk(err, PIFI_ERR_RUNTIME,
                             "rank %d of %d: %s has not completed in %.0f s: another rank has stopped or hangs "
                             "(PIFI_DIST_TIMEOUT sets the limit)",
                             d->rank, d->size, what, d->timeout_s);
        }
        if (t - t0 > 1e-3) nanosleep(&nap, NULL);
    }
    d->comm_s += dist_now_s() - t0;
    return 0;
}

int dist_init(Dist *d, PifiErr *err) {
    single(d);
    if (!dist_launched()) return 0;
    int provided = 0;
    /* The stop signals are blocked in this thread and so in every thread
     * started later (MPI's, OpenMP's): they stay pending until the training
     * loop takes them between two steps (dist_take_signal), and never
     * interrupt MPI or the kernels. pifi's main has blocked them already
     * (src/cli/stopsig.h); this is for callers without it (the tests). */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) return pifi_errk(err, PIFI_ERR_RUNTIME, "MPI_Init_thread failed");
    d->mpi = 1;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d->size);
    long want = launched_size();
    if (want > 1 && d->size == 1) {
        d->broken = 1;
        return pifi_errk(err, PIFI_ERR_RUNTIME,
                         "started as %ld tasks but MPI sees one process: MPI cannot reach the launcher "
                         "(with Slurm use srun --mpi=pmix or pmi2)", want);
    }
    return 0;
}

void dist_finalize(Dist *d) {
    dist_grad_free(d);
    if (d->mpi) MPI_Finalize();
    d->mpi = 0;
}

static MPI_Op mpi_op(DistOp op) { return op == DIST_MAX ? MPI_MAX : MPI_SUM; }

int dist_allreduce_f64(Dist *d, double *buf, int n, DistOp op, PifiErr *err) {
    if (d->size == 1) return 0;
    MPI_Request r;
    int rc = MPI_Iallreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, mpi_op(op), MPI_COMM_WORLD, &r);
    if (rc != MPI_SUCCESS) return dist_mpi_fail(d, rc, "all-reduce", err);
    return dist_wait_reqs(d, 1, &r, "all-reduce", err);
}

int dist_allreduce_i64(Dist *d, int64_t *buf, int64_t n, DistOp op, PifiErr *err) {
    if (d->size == 1) return 0;
    for (int64_t off = 0; off < n; off += 1 << 28) {
        int k = (int)(n - off < (1 << 28) ? n - off : (1 << 28));
        MPI_Request r;
        int rc = MPI_Iallreduce(MPI_IN_PLACE, buf + off, k, MPI_INT64_T, mpi_op(op), MPI_COMM_WORLD, &r);
        if (rc != MPI_SUCCESS) return dist_mpi_fail(d, rc, "all-reduce", err);
        if (dist_wait_reqs(d, 1, &r, "all-reduce", err)) return -1;
    }
    return 0;
}

int dist_bcast(Dist *d, void *buf, size_t bytes, PifiErr *err) {
    if (d->size == 1) return 0;
    for (size_t off = 0; off < bytes; off += (size_t)1 << 30) {
        size_t k = bytes - off < ((size_t)1 << 30) ? bytes - off : (size_t)1 << 30;
        MPI_Request r;
        int rc = MPI_Ibcast((char *)buf + off, (int)k, MPI_BYTE, 0, MPI_COMM_WORLD, &r);
        if (rc != MPI_SUCCESS) return dist_mpi_fail(d, rc, "broadcast", err);
        if (dist_wait_reqs(d, 1, &r, "broadcast", err)) return -1;
    }
    return 0;
}

int dist_barrier(Dist *d, PifiErr *err) {
    if (d->size == 1) return 0;
    MPI_Request r;
    int rc = MPI_Ibarrier(MPI_COMM_WORLD, &r);
    if (rc != MPI_SUCCESS) return dist_mpi_fail(d, rc, "barrier", err);
    return dist_wait_reqs(d, 1, &r, "barrier", err);
}

#else /* no MPI: one process */

int dist_init(Dist *d, PifiErr *err) {
    single(d);
    long want = launched_size();
    if (dist_launched() && want > 1)
        return pifi_errk(err, PIFI_ERR_RUNTIME,
                         "started as one of %ld ranks, but this pifi was built without MPI "
                         "(install libopenmpi-dev and rebuild)", want);
    return 0;
}

void dist_finalize(Dist *d) { dist_grad_free(d); }

int dist_allreduce_f64(Dist *d, double *buf, int n, DistOp op, PifiErr *err) {
    (void)d, (void)buf, (void)n, (void)op, (void)err;
    return 0;
}

int dist_allreduce_i64(Dist *d, int64_t *buf, int64_t n, DistOp op, PifiErr *err) {
    (void)d, (void)buf, (void)n, (void)op, (void)err;
    return 0;
}

int dist_bcast(Dist *d, void *buf, size_t bytes, PifiErr *err) {
    (void)d, (void)buf, (void)bytes, (void)err;
    return 0;
}

int dist_barrier(Dist *d, PifiErr *err) {
    (void)d, (void)err;
    return 0;
}

#endif

int dist_take_signal(void) {
    sigset_t stop, pending;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGUSR1);
    if (sigpending(&pending)) return 0;
    int any = sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1 ||
              sigismember(&pending, SIGUSR1) == 1;
    if (!any) return 0;
    struct timespec zero = {0, 0};
    int sig = sigtimedwait(&stop, NULL, &zero);
    return sig > 0 ? sig : 0;
}

int dist_agree(Dist *d, int rc, PifiErr *err) {
    if (d->size == 1) return rc ? -1 : 0;
    int64_t failed = rc != 0;
    PifiErr mine = {0};
    if (rc && err) mine = *err;
    if (dist_allreduce_i64(d, &failed, 1, DIST_SUM, err)) return -1; /* broken: err says why */
    if (!failed) return 0;
    d->agreed_fail = 1;
    d->own_fail = rc != 0;
    d->fail_count = (int)failed;
    if (rc) {
        if (err) *err = mine;
    } else {
        pifi_errk(err, PIFI_ERR_RUNTIME, "%d of %d ranks failed (their messages are above)", (int)failed, d->size);
    }
    return -1;
}

int dist_same_u64(Dist *d, uint64_t v, const char *what, PifiErr *err) {
    if (d->size == 1) return 0;
    int64_t x[4] = {(int64_t)(v >> 32), (int64_t)(v & 0xffffffffu), -(int64_t)(v >> 32), -(int64_t)(v & 0xffffffffu)};
    if (dist_allreduce_i64(d, x, 4, DIST_MAX, err)) return -1;
    /* max == -max(-v) == min, for both halves */
    if (x[0] == -x[2] && x[1] == -x[3]) return 0;
    d->agreed_fail = 1;
    d->own_fail = 1;
    d->fail_count = d->size;
    return pifi_errk(err, PIFI_ERR_RUNTIME, "%s differ between the ranks", what);
}
