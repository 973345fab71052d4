/* serve_http.c: the routes and checks of serve_http.h on libmicrohttpd. */
#include "cli/serve/serve_http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/serve/serve_buf.h"
#include "cli/serve/serve_log.h"
#include "cli/serve/serve_request.h"
#include "cli/serve/serve_response.h"

struct ServeHttp {
    ServeHttpCtx ctx;
    struct MHD_Daemon *d;
    atomic_llong next_id;
    atomic_int busy, draining;
};

/* One request's state, from its headers to its completion. */
typedef struct {
    long long id;
    double t0;
    ServeEndpoint ep;
    int admitted;          /* counted in busy */
    char *body;
    size_t len, cap;
    int too_big;
} Conn;

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static ServeEndpoint route(const char *url) {
    for (int e = 0; e < SERVE_EP_OTHER; e++)
        if (strcmp(url, serve_endpoint_path((ServeEndpoint)e)) == 0) return (ServeEndpoint)e;
    return SERVE_EP_OTHER;
}

/* What happened to a request, for the log and the metrics. */
typedef struct {
    int inputs, tokens;
    double queue_ms, compute_ms;
} Outcome;

/* Queue body (taken, may be empty) as the response with status; log and count it. */
static enum MHD_Result reply(ServeHttp *h, struct MHD_Connection *c, Conn *st, const char *method, const char *url,
                             int status, const char *ctype, ServeBuf *body, const ServeError *e, const Outcome *oc) {
    if (body->oom) { /* the body could not be built: say so, briefly */
        serve_buf_free(body);
        status = 500;
        serve_buf_printf(body, "{\"error\":\"out of memory\",\"error_type\":\"Backend\"}");
        ctype = "application/json";
    }
    if (status >= 400 && strcmp(ctype, "application/json") == 0) serve_buf_printf(body, "\n");
    size_t len = body->len;
    char *text = body->s ? body->s : NULL;
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        serve_buf_free(body);
        return MHD_NO;
    }
    body->s = NULL;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (e && e->type == SERVE_E_OVERLOADED) MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if (e && e->type == SERVE_E_UNHEALTHY) MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    if (e && e->type == SERVE_E_UNAUTHORIZED) MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (e && e->type == SERVE_E_METHOD)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW,
                                st->ep == SERVE_EP_PREDICT || st->ep == SERVE_EP_EMBED ? "POST" : "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    double total = now_ms() - st->t0;
    Outcome none = {0, 0, -1, -1};
    if (!oc) oc = &none;
    ServeLogLine l = {st->id, method, url, status, oc->inputs, oc->tokens, oc->queue_ms, oc->compute_ms, total,
                      e ? serve_error_type_name(e->type) : NULL, e ? e->msg : NULL};
    serve_log_request(&l);
    serve_metrics_request(h->ctx.metrics, st->ep, status, e ? e->type : SERVE_E_BACKEND, total / 1e3, oc->inputs,
                          oc->tokens, oc->queue_ms >= 0 ? oc->queue_ms / 1e3 : -1);
    return ret;
}

static enum MHD_Result reply_error(ServeHttp *h, struct MHD_Connection *c, Conn *st, const char *method,
                                   const char *url, const ServeError *e, const Outcome *oc) {
    ServeBuf b = {0};
    serve_response_error(&b, e);
    return reply(h, c, st, method, url, e->status, "application/json", &b, e, oc);
}

/* The API key, compared in time that depends on the key's length alone. */
static int key_ok(const char *given, const char *key) {
    size_t n = given ? strlen(given) : 0, k = strlen(key);
    unsigned d = n != k;
    for (size_t i = 0; i < k; i++) d |= (unsigned char)key[i] ^ (unsigned char)(i < n ? given[i] : 0);
    return d == 0;
}

/* The checks made on the headers alone; 0, or -1 with e set. */
static int check_headers(ServeHttp *h, struct MHD_Connection *c, Conn *st, const char *method, const char *url,
                         ServeError *e) {
    const int post = st->ep == SERVE_EP_PREDICT || st->ep == SERVE_EP_EMBED;
    if (h->ctx.api_key) {
        const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        const char *token = auth && strncasecmp(auth, "Bearer ", 7) == 0 ? auth + 7 : NULL;
        if (!key_ok(token, h->ctx.api_key))
            return serve_errf(e, 401, SERVE_E_UNAUTHORIZED, "%s", auth ? "wrong API key" : "missing API key (Authorization: Bearer KEY)");
    }
    if (st->ep == SERVE_EP_OTHER) return serve_errf(e, 404, SERVE_E_NOT_FOUND, "no route %.200s", url);
    if (post ? strcmp(method, "POST") != 0 : strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return serve_errf(e, 405, SERVE_E_METHOD, "%s takes %s, not %.32s", url, post ? "POST" : "GET", method);
    atomic_fetch_add(&h->busy, 1);
    st->admitted = 1;
    if (atomic_load(&h->draining)) return serve_errf(e, 503, SERVE_E_UNHEALTHY, "shutting down");
    if (!post) return 0;
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    size_t ctn = ct ? strcspn(ct, "; \t") : 0;
    if (!ct || ctn != strlen("application/json") || strncasecmp(ct, "application/json", ctn) != 0)
        return serve_errf(e, 415, SERVE_E_MEDIA_TYPE, "Content-Type must be application/json, not %.64s",
                          ct ? ct : "(none)");
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (n > (unsigned long long)h->ctx.o->max_body_bytes)
            return serve_errf(e, 413, SERVE_E_VALIDATION, "body of %.24s bytes is over the limit of %d", cl,
                              h->ctx.o->max_body_bytes);
    }
    return 0;
}

static enum MHD_Result get_route(ServeHttp *h, struct MHD_Connection *c, Conn *st, const char *method,
                                 const char *url) {
    ServeBuf b = {0};
    if (st->ep == SERVE_EP_HEALTH) return reply(h, c, st, method, url, 200, "application/json", &b, NULL, NULL);
    if (st->ep == SERVE_EP_INFO) {
        serve_buf_printf(&b, "%s", h->ctx.info);
        return reply(h, c, st, method, url, 200, "application/json", &b, NULL, NULL);
    }
    size_t len;
    char *text = serve_metrics_render(h->ctx.metrics, &len);
    if (!text) b.oom = 1;
    else b.s = text, b.len = len, b.cap = len + 1;
    return reply(h, c, st, method, url, 200, "text/plain; version=0.0.4", &b, NULL, NULL);
}

/* The whole body is in: parse it, run it, answer. */
static enum MHD_Result post_route(ServeHttp *h, struct MHD_Connection *c, Conn *st, const char *method,
                                  const char *url) {
    ServeError e = {0};
    if (st->too_big)
        return serve_errf(&e, 413, SERVE_E_VALIDATION, "body over the limit of %d bytes", h->ctx.o->max_body_bytes),
               reply_error(h, c, st, method, url, &e, NULL);
    ServeRequest req;
    ServeLimits lim = {h->ctx.o->max_client_batch_size, (size_t)h->ctx.o->max_input_length};
    ServeKind kind = st->ep == SERVE_EP_PREDICT ? SERVE_PREDICT : SERVE_EMBED;
    if (serve_request_parse(&req, kind, st->body ? st->body : "", st->len, &lim, &e))
        return reply_error(h, c, st, method, url, &e, NULL);
    ServeJob job;
    memset(&job, 0, sizeof job);
    job.req = &req;
    enum MHD_Result ret;
    if (serve_queue_run(h->ctx.queue, &job)) {
        Outcome oc = {req.n, job.tokens, job.err.type == SERVE_E_OVERLOADED ? -1 : job.queue_ms,
                      job.compute_ms > 0 ? job.compute_ms : -1};
        ret = reply_error(h, c, st, method, url, &job.err, &oc);
    } else {
        ServeBuf b = {0};
        int bad = kind == SERVE_PREDICT ? serve_response_predict(&b, &req, job.out, h->ctx.K, h->ctx.labels, &e)
                                        : serve_response_embed(&b, &req, job.out, serve_queue_dim(h->ctx.queue), &e);
        Outcome oc = {req.n, job.tokens, job.queue_ms, job.compute_ms};
        if (bad) {
            serve_buf_free(&b);
            ret = reply_error(h, c, st, method, url, &e, &oc);
        } else {
            ret = reply(h, c, st, method, url, 200, "application/json", &b, NULL, &oc);
        }
    }
    free(job.out);
    serve_request_free(&req);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    (void)version;
    ServeHttp *h = cls;
    Conn *st = *con_cls;
    if (!st) { /* the headers are in: the checks that need no body */
        if (!(st = calloc(1, sizeof *st))) return MHD_NO;
        *con_cls = st;
        st->id = atomic_fetch_add(&h->next_id, 1) + 1;
        st->t0 = now_ms();
        st->ep = route(url);
        ServeError e = {0};
        if (check_headers(h, c, st, method, url, &e)) return reply_error(h, c, st, method, url, &e, NULL);
        if (st->ep != SERVE_EP_PREDICT && st->ep != SERVE_EP_EMBED) return get_route(h, c, st, method, url);
        return MHD_YES; /* the body comes next */
    }
    if (*upload_data_size) { /* a piece of the body */
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (st->too_big || st->len + n > (size_t)h->ctx.o->max_body_bytes) {
            st->too_big = 1; /* read on and drop: the 413 goes after the body */
            return MHD_YES;
        }
        if (st->len + n > st->cap) {
            size_t cap = st->cap ? st->cap : 4096;
            while (cap < st->len + n) cap *= 2;
            char *b = realloc(st->body, cap);
            if (!b) return MHD_NO;
            st->body = b, st->cap = cap;
        }
        memcpy(st->body + st->len, upload_data, n);
        st->len += n;
        return MHD_YES;
    }
    return post_route(h, c, st, method, url);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)c, (void)toe;
    ServeHttp *h = cls;
    Conn *st = *con_cls;
    if (!st) return;
    if (st->admitted) atomic_fetch_sub(&h->busy, 1);
    free(st->body);
    free(st);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = 0;
    serve_log_event("http", msg);
}

int serve_http_start(ServeHttp **out, const ServeHttpCtx *ctx, int *port, char *err, size_t errlen) {
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char service[16];
    snprintf(service, sizeof service, "%d", ctx->o->port);
    int rc = getaddrinfo(ctx->o->host, service, &hints, &ai);
    if (rc) {
        snprintf(err, errlen, "serve: --host %s: %s", ctx->o->host, gai_strerror(rc));
        return -1;
    }
    ServeHttp *h = calloc(1, sizeof *h);
    if (!h) {
        freeaddrinfo(ai);
        snprintf(err, errlen, "serve: out of memory");
        return -1;
    }
    h->ctx = *ctx;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    h->d = MHD_start_daemon(flags, (uint16_t)ctx->o->port, NULL, NULL, on_request, h,
                            MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
                            MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)ctx->o->timeout_s,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)ctx->o->max_connections,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                            MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!h->d) {
        snprintf(err, errlen, "serve: cannot listen on %s port %d (in use, or not an address of this machine?)",
                 ctx->o->host, ctx->o->port);
        free(h);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    *port = info ? info->port : ctx->o->port;
    *out = h;
    return 0;
}

void serve_http_drain(ServeHttp *h) { atomic_store(&h->draining, 1); }

int serve_http_busy(ServeHttp *h) { return atomic_load(&h->busy); }

void serve_http_stop(ServeHttp *h) {
    MHD_stop_daemon(h->d);
    free(h);
}
