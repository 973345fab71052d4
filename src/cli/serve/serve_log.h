/* serve_log.h: `pifi serve`'s log, JSON lines on stderr, each written with
 * one write so that lines of concurrent requests never interleave:
 *
 *   {"id":12,"method":"POST","path":"/predict","status":200,"inputs":2,"tokens":31,
 *    "queue_ms":0.41,"compute_ms":8.93,"total_ms":9.60}
 *   {"event":"listening","host":"127.0.0.1","port":8080}
 *
 * A refused request also has "error_type" and "error". */
#ifndef PIFI_SERVE_LOG_H
#define PIFI_SERVE_LOG_H

typedef struct {
    long long id;
    const char *method, *path; /* the client's: escaped, cut to 256 bytes */
    int status;
    int inputs, tokens;
    double queue_ms, compute_ms, total_ms; /* < 0: not queued / not computed */
    const char *error_type, *error;        /* NULL on success */
} ServeLogLine;

void serve_log_request(const ServeLogLine *l);
/* {"event":EVENT[,"message":MSG]}; msg may be NULL. */
void serve_log_event(const char *event, const char *msg);
/* {"event":"listening","host":HOST,"port":PORT} */
void serve_log_listening(const char *host, int port);

#endif
