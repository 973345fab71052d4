/* serve_error.h: how `pifi serve` refuses a request: an HTTP status and a
 * body in text-embeddings-inference's shape, {"error": MESSAGE,
 * "error_type": TYPE}, one line. The types are TEI's (Validation,
 * Tokenizer, Overloaded, Unhealthy, Backend) and this server's
 * (Unauthorized, NotFound, MethodNotAllowed, UnsupportedMediaType). */
#ifndef PIFI_SERVE_ERROR_H
#define PIFI_SERVE_ERROR_H

typedef enum {
    SERVE_E_VALIDATION,   /* 400 bad JSON or fields, 413 over a limit, 422 over the model's length */
    SERVE_E_TOKENIZER,    /* 422: the tokenizer refused an input */
    SERVE_E_OVERLOADED,   /* 503: the queue is full */
    SERVE_E_UNHEALTHY,    /* 503: shutting down */
    SERVE_E_BACKEND,      /* 500: the model failed */
    SERVE_E_UNAUTHORIZED, /* 401 */
    SERVE_E_NOT_FOUND,    /* 404 */
    SERVE_E_METHOD,       /* 405 */
    SERVE_E_MEDIA_TYPE,   /* 415 */
    SERVE_E_COUNT
} ServeErrorType;

typedef struct {
    int status;           /* HTTP status; 0: no error */
    ServeErrorType type;
    char msg[512];
} ServeError;

/* The type's name in the body ("Validation"). */
const char *serve_error_type_name(ServeErrorType t);
/* Set e and return -1. */
int serve_errf(ServeError *e, int status, ServeErrorType type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
