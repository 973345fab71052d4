/* serve_metrics.c: the counters and histograms of `pifi serve` and their
 * Prometheus text (serve_metrics.h). */
#include "cli/serve/serve_metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/serve/serve_buf.h"

static const char *const PATHS[SERVE_EP_COUNT] = {"/predict", "/embed", "/health", "/info", "/metrics", "other"};

/* The statuses the server answers with; anything else counts as the last. */
static const int STATUSES[] = {200, 400, 401, 404, 405, 413, 415, 422, 500, 503, 0};
#define NSTATUS (int)(sizeof STATUSES / sizeof STATUSES[0])

static const double SIZE_BUCKETS[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
static const double TOKEN_BUCKETS[] = {16, 64, 256, 1024, 4096, 16384, 65536};
static const double TIME_BUCKETS[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define MAX_BUCKETS 16

typedef struct {
    const double *le;
    int n;
    long long count[MAX_BUCKETS + 1]; /* per bucket (not cumulative), the last: +Inf */
    double sum;
    long long total;
} Hist;

struct ServeMetrics {
    pthread_mutex_t mu;
    long long requests[SERVE_EP_COUNT][NSTATUS];
    long long errors[SERVE_E_COUNT];
    long long inputs, tokens;
    int depth;
    Hist batch_size, batch_tokens, queue, compute, latency[2]; /* latency of /predict, /embed */
};

const char *serve_endpoint_path(ServeEndpoint ep) { return ep >= 0 && ep < SERVE_EP_COUNT ? PATHS[ep] : "other"; }

static void hist_init(Hist *h, const double *le, int n) {
    memset(h, 0, sizeof *h);
    h->le = le, h->n = n;
}

static void hist_add(Hist *h, double v) {
    int b = 0;
    while (b < h->n && v > h->le[b]) b++;
    h->count[b]++;
    h->sum += v;
    h->total++;
}

ServeMetrics *serve_metrics_new(void) {
    ServeMetrics *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    pthread_mutex_init(&m->mu, NULL);
    hist_init(&m->batch_size, SIZE_BUCKETS, sizeof SIZE_BUCKETS / sizeof *SIZE_BUCKETS);
    hist_init(&m->batch_tokens, TOKEN_BUCKETS, sizeof TOKEN_BUCKETS / sizeof *TOKEN_BUCKETS);
    hist_init(&m->queue, TIME_BUCKETS, sizeof TIME_BUCKETS / sizeof *TIME_BUCKETS);
    hist_init(&m->compute, TIME_BUCKETS, sizeof TIME_BUCKETS / sizeof *TIME_BUCKETS);
    for (int i = 0; i < 2; i++) hist_init(&m->latency[i], TIME_BUCKETS, sizeof TIME_BUCKETS / sizeof *TIME_BUCKETS);
    return m;
}

void serve_metrics_free(ServeMetrics *m) {
    if (!m) return;
    pthread_mutex_destroy(&m->mu);
    free(m);
}

void serve_metrics_request(ServeMetrics *m, ServeEndpoint ep, int status, ServeErrorType type, double seconds,
                           int inputs, int tokens, double queue_s) {
    if (ep < 0 || ep >= SERVE_EP_COUNT) ep = SERVE_EP_OTHER;
    int s = 0;
    while (STATUSES[s] && STATUSES[s] != status) s++;
    pthread_mutex_lock(&m->mu);
    m->requests[ep][s]++;
    if (status >= 400 && type >= 0 && type < SERVE_E_COUNT) m->errors[type]++;
    m->inputs += inputs, m->tokens += tokens;
    if (ep == SERVE_EP_PREDICT || ep == SERVE_EP_EMBED) hist_add(&m->latency[ep == SERVE_EP_EMBED], seconds);
    if (queue_s >= 0) hist_add(&m->queue, queue_s);
    pthread_mutex_unlock(&m->mu);
}

void serve_metrics_batch(ServeMetrics *m, int inputs, int tokens, double seconds) {
    pthread_mutex_lock(&m->mu);
    hist_add(&m->batch_size, inputs);
    hist_add(&m->batch_tokens, tokens);
    hist_add(&m->compute, seconds);
    pthread_mutex_unlock(&m->mu);
}

void serve_metrics_queue_depth(ServeMetrics *m, int depth) {
    pthread_mutex_lock(&m->mu);
    m->depth = depth;
    pthread_mutex_unlock(&m->mu);
}

/* ---- the text ------------------------------------------------------------------------------------------------- */

/* name's series: cumulative buckets, sum and count; labels "" or `k="v",` */
static void put_hist(ServeBuf *b, const char *name, const char *labels, const Hist *h) {
    long long cum = 0;
    for (int i = 0; i < h->n; i++) {
        cum += h->count[i];
        serve_buf_printf(b, "%s_bucket{%sle=\"%g\"} %lld\n", name, labels, h->le[i], cum);
    }
    serve_buf_printf(b, "%s_bucket{%sle=\"+Inf\"} %lld\n", name, labels, h->total);
    size_t l = strlen(labels);
    char plain[64] = "";
    if (l > 1) snprintf(plain, sizeof plain, "{%.*s}", (int)(l - 1), labels); /* without the trailing comma */
    serve_buf_printf(b, "%s_sum%s %.9g\n%s_count%s %lld\n", name, plain, h->sum, name, plain, h->total);
}

char *serve_metrics_render(ServeMetrics *m, size_t *len) {
    ServeBuf b = {0};
    pthread_mutex_lock(&m->mu);
    serve_buf_printf(&b, "# HELP pifi_requests_total Requests answered, by endpoint and HTTP status.\n"
            "# TYPE pifi_requests_total counter\n");
    for (int e = 0; e < SERVE_EP_COUNT; e++)
        for (int s = 0; s < NSTATUS; s++)
            if (m->requests[e][s] || (STATUSES[s] == 200 && e != SERVE_EP_OTHER)) {
                char st[16];
                snprintf(st, sizeof st, STATUSES[s] ? "%d" : "other", STATUSES[s]);
                serve_buf_printf(&b, "pifi_requests_total{endpoint=\"%s\",status=\"%s\"} %lld\n", PATHS[e], st, m->requests[e][s]);
            }
    serve_buf_printf(&b, "# HELP pifi_errors_total Requests refused or failed, by error_type.\n# TYPE pifi_errors_total counter\n");
    for (int t = 0; t < SERVE_E_COUNT; t++)
        serve_buf_printf(&b, "pifi_errors_total{type=\"%s\"} %lld\n", serve_error_type_name((ServeErrorType)t), m->errors[t]);
    serve_buf_printf(&b, "# HELP pifi_inputs_total Inputs computed.\n# TYPE pifi_inputs_total counter\npifi_inputs_total %lld\n",
        m->inputs);
    serve_buf_printf(&b, "# HELP pifi_tokens_total Tokens computed (after truncation).\n# TYPE pifi_tokens_total counter\n"
            "pifi_tokens_total %lld\n", m->tokens);
    serve_buf_printf(&b, "# HELP pifi_queue_depth Requests waiting for the model.\n# TYPE pifi_queue_depth gauge\n"
            "pifi_queue_depth %d\n", m->depth);
    serve_buf_printf(&b, "# HELP pifi_batch_size Inputs per forward pass.\n# TYPE pifi_batch_size histogram\n");
    put_hist(&b, "pifi_batch_size", "", &m->batch_size);
    serve_buf_printf(&b, "# HELP pifi_batch_tokens Tokens per forward pass.\n# TYPE pifi_batch_tokens histogram\n");
    put_hist(&b, "pifi_batch_tokens", "", &m->batch_tokens);
    serve_buf_printf(&b, "# HELP pifi_request_duration_seconds From a request's arrival to its response.\n"
            "# TYPE pifi_request_duration_seconds histogram\n");
    put_hist(&b, "pifi_request_duration_seconds", "endpoint=\"/predict\",", &m->latency[0]);
    put_hist(&b, "pifi_request_duration_seconds", "endpoint=\"/embed\",", &m->latency[1]);
    serve_buf_printf(&b, "# HELP pifi_queue_duration_seconds Time waiting for the model.\n"
            "# TYPE pifi_queue_duration_seconds histogram\n");
    put_hist(&b, "pifi_queue_duration_seconds", "", &m->queue);
    serve_buf_printf(&b, "# HELP pifi_compute_duration_seconds Forward passes.\n# TYPE pifi_compute_duration_seconds histogram\n");
    put_hist(&b, "pifi_compute_duration_seconds", "", &m->compute);
    pthread_mutex_unlock(&m->mu);
    if (b.oom || !b.s) {
        serve_buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return b.s;
}
