/* serve_queue.h: dynamic batching. Request threads submit jobs to a bounded
 * queue; one compute thread, the only one that touches the run (a pifi_run
 * is used by one thread at a time), takes the jobs at the head that fit
 * together (same endpoint, texts or pairs alike, at most max_batch_size
 * inputs and max_batch_tokens tokens, the first always), waiting up to
 * max_wait_ms after the oldest came for more, runs them as one forward
 * pass and wakes their threads.
 *
 * The compute thread also checks each input's length first (it alone may
 * call the tokenizer): over the run's max length without truncation, the
 * job fails with 422 and never reaches a batch. */
#ifndef PIFI_SERVE_QUEUE_H
#define PIFI_SERVE_QUEUE_H

#include <pthread.h>

#include "pifi.h"
#include "cli/serve/serve_error.h"
#include "cli/serve/serve_metrics.h"
#include "cli/serve/serve_request.h"

typedef struct ServeJob {
    const ServeRequest *req;
    /* results, set by the compute thread before done */
    float *out;          /* predict: probs (n, K) then logits (n, K); embed: (n, dim) */
    int tokens;          /* the inputs' tokens after truncation */
    double queue_ms, compute_ms;
    ServeError err;      /* status 0: success */
    int checked, done;   /* the queue's: its lengths checked; its result set */
    struct ServeJob *next;
} ServeJob;

typedef struct {
    int max_batch_tokens, max_batch_size, max_wait_ms, max_queue;
    int auto_truncate;
} ServeQueueOpts;

typedef struct ServeQueue ServeQueue;

/* Start the compute thread on run (which it uses alone from now until
 * serve_queue_stop). metrics: where batch sizes and the depth go. */
int serve_queue_start(ServeQueue **out, pifi_run *run, const ServeQueueOpts *o, ServeMetrics *metrics);
/* Run job (zeroed but for req) and wait for its result: 0, or -1 with
 * job->err set (503 when the queue is full, 422, 500). */
int serve_queue_run(ServeQueue *q, ServeJob *job);
/* Floats per pooled vector (the run's, read at the start). */
int serve_queue_dim(const ServeQueue *q);
/* Finish every job submitted, then stop the compute thread and free q. */
void serve_queue_stop(ServeQueue *q);

#endif
