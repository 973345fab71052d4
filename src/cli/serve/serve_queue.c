/* serve_queue.c: the bounded queue and its one compute thread
 * (serve_queue.h). The queue is a singly linked FIFO of jobs under one
 * mutex; a request thread waits on the queue's `finished` condition for its
 * job's done flag, the compute thread on `arrived` for work. */
#include "cli/serve/serve_queue.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ServeQueue {
    pifi_run *run;
    ServeQueueOpts o;
    ServeMetrics *metrics;
    int K, dim, max_len;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t arrived, finished;
    ServeJob *head, *tail;
    int depth;       /* jobs in the queue */
    int stopping;
    /* the compute thread's batch buffers, grown as needed */
    const char **texts, **pairs;
    float *probs, *logits, *pooled;
    int cap;
};

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* ---- checking a job's inputs (compute thread, no lock) ---------------------------------------------------------- */

/* Count each input's tokens; refuse one over the run's max length unless
 * truncation is allowed. Returns 0, or -1 with job->err set. */
static int check_job(ServeQueue *q, ServeJob *j) {
    const ServeRequest *r = j->req;
    pifi_error pe;
    j->tokens = 0;
    for (int i = 0; i < r->n; i++) {
        int n;
        if (pifi_run_count_tokens(q->run, r->text[i], r->pair ? r->pair[i] : NULL, &n, &pe))
            return serve_errf(&j->err, pe.code == PIFI_E_INPUT ? 422 : 500,
                              pe.code == PIFI_E_INPUT ? SERVE_E_TOKENIZER : SERVE_E_BACKEND, "input %d: %s", i + 1,
                              pe.message);
        if (n > q->max_len && !r->truncate && !q->o.auto_truncate)
            return serve_errf(&j->err, 422, SERVE_E_VALIDATION,
                              "input %d has %d tokens, more than the model's maximum %d (send \"truncate\": true)",
                              i + 1, n, q->max_len);
        j->tokens += n < q->max_len ? n : q->max_len;
    }
    return 0;
}

/* ---- the compute thread --------------------------------------------------------------------------------------- */

static int grow(ServeQueue *q, int n) {
    if (n <= q->cap) return 0;
    int cap = n > 2 * q->cap ? n : 2 * q->cap;
    const char **t = realloc(q->texts, (size_t)cap * sizeof *t);
    if (t) q->texts = t;
    const char **p = realloc(q->pairs, (size_t)cap * sizeof *p);
    if (p) q->pairs = p;
    float *pr = realloc(q->probs, (size_t)cap * q->K * sizeof *pr);
    if (pr) q->probs = pr;
    float *lg = realloc(q->logits, (size_t)cap * q->K * sizeof *lg);
    if (lg) q->logits = lg;
    float *po = realloc(q->pooled, (size_t)cap * q->dim * sizeof *po);
    if (po) q->pooled = po;
    if (!t || !p || !pr || !lg || !po) return -1;
    q->cap = cap;
    return 0;
}

/* Run the jobs batch[0..nb) as one forward pass and fill their results. */
static void compute(ServeQueue *q, ServeJob **batch, int nb) {
    const ServeRequest *r0 = batch[0]->req;
    int n = 0, tokens = 0;
    for (int b = 0; b < nb; b++) n += batch[b]->req->n, tokens += batch[b]->tokens;
    ServeError err = {0};
    double t0 = now_ms();
    if (grow(q, n)) {
        serve_errf(&err, 500, SERVE_E_BACKEND, "out of memory for a batch of %d inputs", n);
    } else {
        int k = 0;
        for (int b = 0; b < nb; b++)
            for (int i = 0; i < batch[b]->req->n; i++, k++) {
                q->texts[k] = batch[b]->req->text[i];
                q->pairs[k] = r0->pair ? batch[b]->req->pair[i] : NULL;
            }
        pifi_error pe;
        pifi_status st = r0->kind == SERVE_PREDICT
                             ? pifi_predict_logits(q->run, n, q->texts, r0->pair ? q->pairs : NULL, q->probs, q->logits, &pe)
                             : pifi_run_embed(q->run, n, q->texts, r0->pair ? q->pairs : NULL, q->pooled, &pe);
        if (st) serve_errf(&err, st == PIFI_E_INPUT ? 422 : 500, st == PIFI_E_INPUT ? SERVE_E_TOKENIZER : SERVE_E_BACKEND,
                           "%s", pe.message);
    }
    double t1 = now_ms();
    serve_metrics_batch(q->metrics, n, tokens, (t1 - t0) / 1e3);
    int k = 0;
    for (int b = 0; b < nb; b++) {
        ServeJob *j = batch[b];
        int m = j->req->n;
        j->compute_ms = t1 - t0;
        if (err.status) {
            j->err = err;
        } else if (r0->kind == SERVE_PREDICT && (j->out = malloc((size_t)2 * m * q->K * sizeof(float)))) {
            memcpy(j->out, q->probs + (size_t)k * q->K, (size_t)m * q->K * sizeof(float));
            memcpy(j->out + (size_t)m * q->K, q->logits + (size_t)k * q->K, (size_t)m * q->K * sizeof(float));
        } else if (r0->kind == SERVE_EMBED && (j->out = malloc((size_t)m * q->dim * sizeof(float)))) {
            memcpy(j->out, q->pooled + (size_t)k * q->dim, (size_t)m * q->dim * sizeof(float));
        } else {
            serve_errf(&j->err, 500, SERVE_E_BACKEND, "out of memory for a response");
        }
        k += m;
    }
}

/* Check the queued jobs not checked yet (lock held; released while the
 * tokenizer runs: request threads only append, and only this thread
 * removes), failing the refused ones at once. */
static void check_new(ServeQueue *q) {
    ServeJob *prev = NULL, *j = q->head;
    while (j) {
        if (!j->checked) {
            pthread_mutex_unlock(&q->mu);
            int rc = check_job(q, j);
            pthread_mutex_lock(&q->mu);
            j->checked = 1;
            if (rc) {
                ServeJob *next = j->next;
                if (prev) prev->next = next;
                else q->head = next;
                if (q->tail == j) q->tail = prev;
                q->depth--;
                j->queue_ms = now_ms() - j->queue_ms;
                j->done = 1;
                pthread_cond_broadcast(&q->finished);
                j = next;
                continue;
            }
        }
        prev = j;
        j = j->next;
    }
    serve_metrics_queue_depth(q->metrics, q->depth);
}

/* j may join a batch that begins with head: the same endpoint, texts or pairs alike. */
static int compatible(const ServeJob *head, const ServeJob *j) {
    return j->req->kind == head->req->kind && (j->req->pair != NULL) == (head->req->pair != NULL);
}

static void *worker(void *arg) {
    ServeQueue *q = arg;
    ServeJob **batch = NULL;
    int batch_cap = 0;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (!q->head && !q->stopping) pthread_cond_wait(&q->arrived, &q->mu);
        check_new(q);
        if (!q->head) {
            if (q->stopping) break; /* nothing is left */
            continue;
        }
        /* the jobs at the head that fit, in order; wait for more while there is room */
        double deadline = q->head->queue_ms + q->o.max_wait_ms; /* queue_ms holds the arrival time until taken */
        int nb, inputs, tokens, full;
        for (;;) {
            check_new(q); /* what came while waiting */
            nb = inputs = tokens = full = 0;
            if (!q->head) break;
            for (ServeJob *j = q->head; j; j = j->next) {
                if (nb > 0 && (!compatible(q->head, j) || inputs + j->req->n > q->o.max_batch_size ||
                               tokens + j->tokens > q->o.max_batch_tokens)) {
                    full = 1;
                    break;
                }
                if (nb == batch_cap) {
                    int cap = batch_cap ? 2 * batch_cap : 64;
                    ServeJob **nbp = realloc(batch, (size_t)cap * sizeof *nbp);
                    if (!nbp) break; /* the batch so far */
                    batch = nbp, batch_cap = cap;
                }
                batch[nb++] = j;
                inputs += j->req->n, tokens += j->tokens;
            }
            if (full || inputs >= q->o.max_batch_size || q->stopping || now_ms() >= deadline) break;
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            double wait_ms = deadline - now_ms();
            long ns = ts.tv_nsec + (long)(wait_ms * 1e6);
            ts.tv_sec += ns / 1000000000L, ts.tv_nsec = ns % 1000000000L;
            pthread_cond_timedwait(&q->arrived, &q->mu, &ts);
        }
        if (nb == 0) continue;
        /* take them off the queue (they are its first nb) */
        for (int b = 0; b < nb; b++) q->head = q->head->next;
        if (!q->head) q->tail = NULL;
        q->depth -= nb;
        serve_metrics_queue_depth(q->metrics, q->depth);
        pthread_mutex_unlock(&q->mu);
        double t = now_ms();
        for (int b = 0; b < nb; b++) batch[b]->queue_ms = t - batch[b]->queue_ms;
        compute(q, batch, nb);
        pthread_mutex_lock(&q->mu);
        for (int b = 0; b < nb; b++) batch[b]->done = 1;
        pthread_cond_broadcast(&q->finished);
    }
    pthread_mutex_unlock(&q->mu);
    free(batch);
    return NULL;
}

/* ---- the request side ----------------------------------------------------------------------------------------- */

int serve_queue_run(ServeQueue *q, ServeJob *j) {
    pthread_mutex_lock(&q->mu);
    if (q->depth >= q->o.max_queue) {
        pthread_mutex_unlock(&q->mu);
        return serve_errf(&j->err, 503, SERVE_E_OVERLOADED, "model is overloaded: %d requests are waiting",
                          q->o.max_queue);
    }
    j->queue_ms = now_ms(); /* the arrival time, until the compute thread takes it */
    j->next = NULL;
    if (q->tail) q->tail->next = j;
    else q->head = j;
    q->tail = j;
    q->depth++;
    serve_metrics_queue_depth(q->metrics, q->depth);
    pthread_cond_signal(&q->arrived);
    while (!j->done) pthread_cond_wait(&q->finished, &q->mu);
    pthread_mutex_unlock(&q->mu);
    return j->err.status ? -1 : 0;
}

int serve_queue_start(ServeQueue **out, pifi_run *run, const ServeQueueOpts *o, ServeMetrics *metrics) {
    ServeQueue *q = calloc(1, sizeof *q);
    if (!q) return -1;
    q->run = run;
    q->o = *o;
    q->metrics = metrics;
    q->K = pifi_run_num_classes(run);
    q->dim = pifi_run_embed_dim(run);
    q->max_len = pifi_run_max_length(run);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->arrived, NULL);
    pthread_cond_init(&q->finished, NULL);
    if (pthread_create(&q->thread, NULL, worker, q)) {
        free(q);
        return -1;
    }
    *out = q;
    return 0;
}

int serve_queue_dim(const ServeQueue *q) { return q->dim; }

void serve_queue_stop(ServeQueue *q) {
    pthread_mutex_lock(&q->mu);
    q->stopping = 1;
    pthread_cond_broadcast(&q->arrived);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->thread, NULL);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->arrived);
    pthread_cond_destroy(&q->finished);
    free(q->texts), free(q->pairs), free(q->probs), free(q->logits), free(q->pooled);
    free(q);
}
