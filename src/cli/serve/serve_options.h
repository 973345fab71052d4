/* serve_options.h: the options of `pifi serve`, one table (serve_options.c)
 * that the parser and --help both loop over. */
#ifndef PIFI_SERVE_OPTIONS_H
#define PIFI_SERVE_OPTIONS_H

#include <stdio.h>

#include "pifi/compute.h"

typedef struct {
    const char *run_dir;
    const char *host;         /* the address to listen on (default 127.0.0.1) */
    int port;                 /* 0: a free one, printed */
    int max_batch_tokens;     /* tokens (after truncation) per forward pass */
    int max_batch_size;       /* inputs per forward pass */
    int max_wait_ms;          /* how long a batch that is not full waits for more requests */
    int max_queue;            /* requests waiting for the model; more: 503 */
    int max_body_bytes;       /* a request body larger: 413 */
    int max_input_length;     /* bytes of one text; longer: 413 */
    int max_client_batch_size; /* inputs of one request; more: 413 */
    int max_connections;      /* open connections at once (each has its thread) */
    int timeout_s;            /* a connection idle (or trickling) this long is closed */
    int auto_truncate;        /* truncate over-long inputs even when a request says "truncate": false */
    const char *api_key_file; /* NULL: no key */
    PifiPrecision precision;
} ServeOptions;

/* Parse argv (argv[0] "serve") into o. Returns -1 to go on, or the exit
 * status to return now (0 after --help, 2 after a usage error, printed). */
int serve_options_parse(ServeOptions *o, int argc, char **argv);

#endif
