/* serve_error.c: the error types' names and the setter (serve_error.h). */
#include "cli/serve/serve_error.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const NAMES[SERVE_E_COUNT] = {
    [SERVE_E_VALIDATION] = "Validation",     [SERVE_E_TOKENIZER] = "Tokenizer",
    [SERVE_E_OVERLOADED] = "Overloaded",     [SERVE_E_UNHEALTHY] = "Unhealthy",
    [SERVE_E_BACKEND] = "Backend",           [SERVE_E_UNAUTHORIZED] = "Unauthorized",
    [SERVE_E_NOT_FOUND] = "NotFound",        [SERVE_E_METHOD] = "MethodNotAllowed",
    [SERVE_E_MEDIA_TYPE] = "UnsupportedMediaType",
};

const char *serve_error_type_name(ServeErrorType t) { return t >= 0 && t < SERVE_E_COUNT ? NAMES[t] : "Backend"; }

int serve_errf(ServeError *e, int status, ServeErrorType type, const char *fmt, ...) {
    e->status = status;
    e->type = type;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}
