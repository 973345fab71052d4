/* serve_http.h: `pifi serve`'s HTTP side on libmicrohttpd (a thread per
 * connection; MHD parses HTTP, this file routes): the routes, the checks
 * every request passes before its body is read (route, method, API key,
 * shutdown, content type, declared length), the body read up to its limit,
 * then the request handed to the queue and its answer, logged and counted.
 *
 *   POST /predict, POST /embed     JSON (serve_request.h) -> the queue
 *   GET  /health                   200, empty (503 while shutting down)
 *   GET  /info, GET /metrics       JSON, Prometheus text
 *
 * 404 for another path, 405 (with Allow) for another method, 401 without
 * the API key, 415 for a POST that is not application/json, 413 for a body
 * over max_body_bytes, 503 (Unhealthy) once serve_http_drain was called. */
#ifndef PIFI_SERVE_HTTP_H
#define PIFI_SERVE_HTTP_H

#include <stddef.h>

#include "cli/serve/serve_metrics.h"
#include "cli/serve/serve_options.h"
#include "cli/serve/serve_queue.h"

typedef struct {
    const ServeOptions *o;
    ServeQueue *queue;
    ServeMetrics *metrics;
    int K;                     /* the run's classes and their names */
    const char *const *labels;
    const char *api_key;       /* NULL: none */
    const char *info;          /* the body of GET /info */
} ServeHttpCtx;

typedef struct ServeHttp ServeHttp;

/* Listen on o->host:o->port; *port: the port bound (o->port 0: a free
 * one). -1 with err (one line) set. */
int serve_http_start(ServeHttp **out, const ServeHttpCtx *ctx, int *port, char *err, size_t errlen);
/* From now on new requests get 503; the ones admitted before go on. */
void serve_http_drain(ServeHttp *h);
/* Requests admitted and not answered yet. */
int serve_http_busy(ServeHttp *h);
/* Close every connection, join the threads, free h. */
void serve_http_stop(ServeHttp *h);

#endif
