/* dist.h: data-parallel training across processes and machines with MPI.
 *
 * `pifi train` started by mpirun / srun runs one rank per process: every rank
 * holds the whole model and the whole (tokenized) data, takes its slice of
 * each global batch, and the ranks sum their gradients (all-reduce) before an
 * identical optimizer step. Rank 0 alone writes the run directory.
 *
 * MPI is initialised only when the environment says a launcher started us
 * (OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_RANK, or SLURM_STEP_NUM_TASKS > 1;
 * PIFI_MPI=1/0 forces it on/off), so a plain `pifi train` never needs MPI.
 * Without PIFI_HAVE_MPI (built without MPI) everything here is the single
 * process, and a launch with several ranks is refused.
 *
 * Every collective waits with a watchdog (PIFI_DIST_TIMEOUT seconds, default
 * 600): a rank that died or hangs makes the others fail with a message
 * instead of waiting forever. MPI errors are returned (MPI_ERRORS_RETURN),
 * never fatal inside MPI.
 *
 * Failure protocol. A failure every rank knows about (dist_agree, or a
 * result that is identical on every rank such as a NaN loss after the
 * reduction) ends the run on every rank normally (MPI_Finalize). A failure
 * only one rank knows about sets `broken` and returns the error like any
 * other: the library never exits, so the CLI prints the message and stops
 * the whole job (MPI_Abort: the other ranks may be waiting for this one). */
#ifndef PIFI_DIST_H
#define PIFI_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "pifi/err.h"

typedef struct {
    int rank, size;       /* 0, 1 for a plain process */
    int mpi;              /* 1: MPI initialised by dist_init */
    double timeout_s;     /* watchdog on one collective (PIFI_DIST_TIMEOUT) */
    int64_t bucket;       /* floats per gradient all-reduce bucket (PIFI_DIST_BUCKET_MB, default 8) */
    int check_every;      /* PIFI_DIST_CHECK=N: compare weight checksums every N steps */
    double comm_s;        /* seconds spent waiting in collectives, cumulative */
    /* the state of a failure */
    int agreed_fail;      /* every rank knows the run failed */
    int own_fail;         /* ... and this rank is one that failed (its message is the cause) */
    int fail_count;       /* ranks that failed, when agreed */
    int broken;           /* only this rank knows: abort the job */
    struct DistGrad *grad; /* the gradient all-reduce in flight (dist_grad.c) */
} Dist;

/* Started by an MPI launcher (see above)? */
int dist_launched(void);

/* Initialise MPI when launched, else the single process. Call once, before
 * any other thread exists. When launched, SIGINT, SIGTERM and SIGUSR1 are
 * blocked in every thread from then on: a signal delivered while MPI or a
 * kernel runs was seen to corrupt the heap (OpenMPI 4.1), so the training
 * loop takes pending ones between steps with dist_take_signal instead. */
int dist_init(Dist *d, PifiErr *err);
/* A pending (blocked) SIGINT, SIGTERM or SIGUSR1, taken; 0 if none. */
int dist_take_signal(void);
/* MPI_Finalize when initialised (not after a broken failure: the CLI
 * aborts the job then). */
void dist_finalize(Dist *d);

/* Every rank passes its own rc (0 ok, -1 failed with err filled). Returns 0
 * if all ranks succeeded; else -1 on every rank, and a rank that did not fail
 * itself gets "N of M ranks failed" in err. */
int dist_agree(Dist *d, int rc, PifiErr *err);

/* In-place sum of a float buffer over the ranks, split into buckets that are
 * all in flight at once; *sumsq (optional) gets the sum of squares of the
 * result, params_sumsq(buf, n) (identical on every rank).
 * dist_grad_begin + dist_grad_finish without segments. */
int dist_allreduce_grad(Dist *d, float *buf, int64_t n, double *sumsq, PifiErr *err);

/* The gradient all-reduce overlapped with the backward pass (dist_grad.c).
 * The arena buf (n) is described by segments, each with the backward stage
 * after which its gradients are final: the backward reports stages in
 * decreasing order (the head and the plugged layer first: stage L, then the
 * encoder's layers L-1 .. 0), and dist_grad_ready(d, s) starts the
 * all-reduce of every segment whose stage is >= s while the backward goes on.
 * Stage -1: final only when the backward has ended (the embeddings).
 * Elements outside every segment (frozen tensors) are not reduced. */
typedef struct {
    int64_t off, n; /* elements of the arena */
    int stage;
} DistSeg;

/* Start a step's reduction of buf (n) (segs NULL: one segment, the whole
 * buffer, at the end). The segments are copied and need not be sorted; they
 * must not overlap. Nothing is sent yet. */
int dist_grad_begin(Dist *d, float *buf, int64_t n, const DistSeg *segs, int nsegs, PifiErr *err);
/* The backward has finished stage s: send what became final (and let MPI
 * progress the reductions in flight). Never fails: an MPI error is kept and
 * returned by dist_grad_finish. No-op when no reduction was begun. */
void dist_grad_ready(Dist *d, int stage);
/* Send the rest, wait for everything (under the watchdog) and return the
 * sum of squares of the reduced buffer (sumsq optional). */
int dist_grad_finish(Dist *d, double *sumsq, PifiErr *err);
/* Release the reduction's buffers (dist_finalize calls it). */
void dist_grad_free(Dist *d);

typedef enum { DIST_SUM, DIST_MAX } DistOp;

int dist_allreduce_f64(Dist *d, double *buf, int n, DistOp op, PifiErr *err);
int dist_allreduce_i64(Dist *d, int64_t *buf, int64_t n, DistOp op, PifiErr *err);
/* Rank 0's bytes to every rank. */
int dist_bcast(Dist *d, void *buf, size_t bytes, PifiErr *err);
int dist_barrier(Dist *d, PifiErr *err);
/* Fails (agreed) unless every rank passes the same value; what names it. */
int dist_same_u64(Dist *d, uint64_t v, const char *what, PifiErr *err);

#endif
