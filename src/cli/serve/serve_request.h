/* serve_request.h: the JSON body of POST /predict and POST /embed, read
 * with cJSON from a hostile client: the body is checked for UTF-8, depth
 * and NUL escapes before cJSON sees it, then every field for its type, and
 * the request for the server's limits.
 *
 *   /predict  {"inputs": "text"}                      one text
 *             {"inputs": ["text", "pair"]}            one pair (["text"]: one text)
 *             {"inputs": [["a"], ["b", "pair"], ...]} a batch
 *             "raw_scores": bool (false), "truncate": bool (false)
 *   /embed    {"inputs": "text" | ["a", "b", ...]}   "normalize": bool (true), "truncate"
 *
 * Other fields are ignored, as TEI does. */
#ifndef PIFI_SERVE_REQUEST_H
#define PIFI_SERVE_REQUEST_H

#include <stddef.h>

#include "cli/serve/serve_error.h"

typedef enum { SERVE_PREDICT, SERVE_EMBED } ServeKind;

typedef struct {
    ServeKind kind;
    int n;           /* inputs, >= 1 */
    char **text;     /* (n) owned */
    char **pair;     /* (n) owned, NULL when no input is a pair */
    int batch;       /* the response is one list per input (a batch) */
    int truncate, raw_scores, normalize;
} ServeRequest;

typedef struct {
    int max_inputs;          /* inputs per request: more is 413 */
    size_t max_input_bytes;  /* bytes of one text (a pair's two together): more is 413 */
} ServeLimits;

/* The deepest nesting of arrays and objects accepted (a batch needs 3). */
#define SERVE_JSON_MAX_DEPTH 16

/* Read body[0..len) into r (zeroed first). -1 with e set (400, 413, 422). */
int serve_request_parse(ServeRequest *r, ServeKind kind, const char *body, size_t len, const ServeLimits *lim,
                        ServeError *e);
void serve_request_free(ServeRequest *r);

#endif
