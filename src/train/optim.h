/* optim.h: Adam / AdamW over a table of trainable tensors, global-norm
 * gradient clipping, and the learning-rate schedule.
 *
 * The tensors' gradients and the two moment buffers each live in one arena
 * laid out like the table, so clipping, zeroing and the update are flat loops
 * (and an all-reduce would be one call). */
#ifndef PIFI_OPTIM_H
#define PIFI_OPTIM_H

#include <stdint.h>

#include "pifi/err.h"

typedef struct {
    char name[160];  /* checkpoint name */
    float *w;        /* parameter (owned by the model) */
    float *g;        /* gradient, into ParamTable.grad */
    int64_t n;       /* elements */
    int ndim;
    int64_t shape[2];
    int decay;       /* AdamW: 1 for weights, 0 for biases and norms */
    int frozen;      /* registered (the arena layout needs it) but never updated */
    int per_layer;   /* stacks the encoder's L layers' slices (each final after its layer's backward) */
} ParamRef;

typedef struct {
    ParamRef *refs;
    int n, cap;
    int64_t total;   /* elements over all refs */
    float *grad;     /* (total) */
    float *m, *v;    /* (total) Adam moments */
} ParamTable;

/* Add a tensor; the gradient arena is laid out in insertion order. */
int params_add(ParamTable *t, const char *name, float *w, int ndim, int64_t d0, int64_t d1, int decay,
               PifiErr *err);
/* Allocate grad, m, v (zeroed) once all tensors are added; points refs' g. */
int params_alloc(ParamTable *t, PifiErr *err);
void params_free(ParamTable *t);
void params_zero_grad(ParamTable *t);
/* Global L2 norm of the gradients (double accumulation, see params_sumsq). */
double params_grad_norm(const ParamTable *t);
/* Sum of squares of x (n) in double: chunks of PARAMS_SUMSQ_CHUNK elements,
 * each summed in order and the chunks added in order, so the result does not
 * depend on the thread count (every rank of a distributed run gets the same
 * norm). */
#define PARAMS_SUMSQ_CHUNK 65536
double params_sumsq(const float *x, int64_t n);
/* A 64-bit hash of every tensor's values (the ranks' weights must agree). */
uint64_t params_checksum(const ParamTable *t);
/* torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is < 1. */
void params_clip(ParamTable *t, double norm, double max_norm);

typedef enum { OPT_ADAM, OPT_ADAMW } OptimKind;

/* The optimizer's constants; the learning rate is the schedule's (lr_at),
 * given to each optim_step. */
typedef struct {
    OptimKind kind;
    float beta1, beta2, eps, weight_decay;
} OptimConfig;

/* One step (step counts from 1) at learning rate lr: torch.optim.Adam (L2
 * weight decay added to the gradient) or torch.optim.AdamW (decoupled, only
 * refs with decay). */
void optim_step(ParamTable *t, const OptimConfig *c, float lr, int64_t step);

typedef enum { SCHED_CONSTANT, SCHED_LINEAR, SCHED_COSINE } SchedKind;

/* Learning rate at step (0-based) of total: linear warmup over warmup steps,
 * then constant, linear decay to 0, or cosine decay to 0. */
float lr_at(SchedKind kind, float base_lr, int64_t step, int64_t warmup, int64_t total);

#endif
