/* serve_log.c: the JSON lines of serve_log.h. */
#include "cli/serve/serve_log.h"

#include <unistd.h>

#include "cli/serve/serve_buf.h"

static void emit(ServeBuf *b) {
    serve_buf_printf(b, "}\n");
    if (!b->oom) {
        size_t off = 0;
        while (off < b->len) {
            ssize_t w = write(STDERR_FILENO, b->s + off, b->len - off);
            if (w <= 0) break;
            off += (size_t)w;
        }
    }
    serve_buf_free(b);
}

void serve_log_request(const ServeLogLine *l) {
    ServeBuf b = {0};
    serve_buf_printf(&b, "{\"id\":%lld,\"method\":", l->id);
    serve_buf_json(&b, l->method ? l->method : "", 256);
    serve_buf_printf(&b, ",\"path\":");
    serve_buf_json(&b, l->path ? l->path : "", 256);
    serve_buf_printf(&b, ",\"status\":%d,\"inputs\":%d,\"tokens\":%d", l->status, l->inputs, l->tokens);
    if (l->queue_ms >= 0) serve_buf_printf(&b, ",\"queue_ms\":%.3f", l->queue_ms);
    if (l->compute_ms >= 0) serve_buf_printf(&b, ",\"compute_ms\":%.3f", l->compute_ms);
    serve_buf_printf(&b, ",\"total_ms\":%.3f", l->total_ms);
    if (l->error) {
        serve_buf_printf(&b, ",\"error_type\":");
        serve_buf_json(&b, l->error_type ? l->error_type : "", 0);
        serve_buf_printf(&b, ",\"error\":");
        serve_buf_json(&b, l->error, 0);
    }
    emit(&b);
}

void serve_log_event(const char *event, const char *msg) {
    ServeBuf b = {0};
    serve_buf_printf(&b, "{\"event\":");
    serve_buf_json(&b, event, 0);
    if (msg) {
        serve_buf_printf(&b, ",\"message\":");
        serve_buf_json(&b, msg, 1024);
    }
    emit(&b);
}

void serve_log_listening(const char *host, int port) {
    ServeBuf b = {0};
    serve_buf_printf(&b, "{\"event\":\"listening\",\"host\":");
    serve_buf_json(&b, host, 256);
    serve_buf_printf(&b, ",\"port\":%d", port);
    emit(&b);
}
