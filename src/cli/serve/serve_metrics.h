/* serve_metrics.h: what `pifi serve` counts, and GET /metrics, the
 * Prometheus text format (version 0.0.4) of it:
 *
 *   pifi_requests_total{endpoint,status}       counter, every answered request
 *   pifi_errors_total{type}                    counter, by error_type (serve_error.h)
 *   pifi_inputs_total, pifi_tokens_total       counters, of the computed requests
 *   pifi_queue_depth                           gauge, requests waiting for the model
 *   pifi_batch_size                            histogram, inputs per forward pass
 *   pifi_batch_tokens                          histogram, tokens per forward pass
 *   pifi_request_duration_seconds{endpoint}    histogram, /predict and /embed, arrival to response
 *   pifi_queue_duration_seconds                histogram, waiting for the model
 *   pifi_compute_duration_seconds              histogram, forward passes
 *
 * Endpoints are the server's routes and "other" (a client cannot make the
 * label set grow). Thread-safe: one mutex. */
#ifndef PIFI_SERVE_METRICS_H
#define PIFI_SERVE_METRICS_H

#include <stddef.h>

#include "cli/serve/serve_error.h"

typedef enum { SERVE_EP_PREDICT, SERVE_EP_EMBED, SERVE_EP_HEALTH, SERVE_EP_INFO, SERVE_EP_METRICS, SERVE_EP_OTHER,
               SERVE_EP_COUNT } ServeEndpoint;

/* The route of an endpoint ("/predict"; "other"). */
const char *serve_endpoint_path(ServeEndpoint ep);

typedef struct ServeMetrics ServeMetrics;

ServeMetrics *serve_metrics_new(void);
void serve_metrics_free(ServeMetrics *m);
/* An answered request: its endpoint and status, the error's type when
 * status >= 400, seconds from arrival to response, the inputs and tokens it
 * computed (0 if none), and the seconds it waited in the queue (< 0: it was
 * not queued). */
void serve_metrics_request(ServeMetrics *m, ServeEndpoint ep, int status, ServeErrorType type, double seconds,
                           int inputs, int tokens, double queue_s);
/* A forward pass: its inputs, tokens and seconds. */
void serve_metrics_batch(ServeMetrics *m, int inputs, int tokens, double seconds);
void serve_metrics_queue_depth(ServeMetrics *m, int depth);
/* The exposition text (malloc'd, NUL-terminated; NULL when out of memory). */
char *serve_metrics_render(ServeMetrics *m, size_t *len);

#endif
