/* serve.c: `pifi serve RUN_DIR`: open the run through include/pifi.h, start
 * the compute thread (serve_queue.h) and the HTTP server (serve_http.h),
 * then wait for SIGTERM or SIGINT: new requests get 503, the ones in flight
 * finish, and the process exits 0. A second signal exits at once (128 +
 * signal). The stop signals are blocked in every thread from main's first
 * statement (cli/stopsig.h), so this thread takes them with sigwait. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "pifi/json.h"
#include "cli/serve/serve_http.h"
#include "cli/serve/serve_log.h"
#include "cli/serve/serve_options.h"
#include "cli/serve/serve_queue.h"
#include "cli/serve/serve_response.h"

int cmd_serve(int argc, char **argv);

/* The first line of the API key file into key; 2 after a message. */
static int read_key(const char *path, char *key, size_t cap) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "pifi: %s: cannot open the API key file: %s\n", path, strerror(errno));
        return 2;
    }
    int ok = fgets(key, (int)cap, f) != NULL;
    fclose(f);
    if (ok) key[strcspn(key, "\r\n")] = 0;
    if (!ok || !*key) {
        fprintf(stderr, "pifi: %s: the API key file's first line is empty\n", path);
        return 2;
    }
    return 0;
}

/* The run's task from its config.json ("pifi"."data"."task"), or NULL. */
static char *run_task(const char *dir) {
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    cJSON *cfg;
    PifiErr e = {0};
    if (pifi_json_load(path, 1 << 24, &cfg, &e)) return NULL;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cfg, "pifi"), "data"), "task");
    char *task = cJSON_IsString(t) ? strdup(t->valuestring) : NULL;
    cJSON_Delete(cfg);
    return task;
}

/* Wait for SIGTERM or SIGINT, then drain: new requests get 503 while the
 * admitted ones finish. A second signal exits at once. */
static void wait_and_drain(ServeHttp *http) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig;
    while (sigwait(&set, &sig) != 0) {}
    serve_http_drain(http);
    char msg[128];
    snprintf(msg, sizeof msg, "%s: finishing %d requests in flight, refusing new ones (503)", strsignal(sig),
             serve_http_busy(http));
    serve_log_event("draining", msg);
    struct timespec tick = {0, 10 * 1000 * 1000};
    while (serve_http_busy(http) > 0) {
        int again = sigtimedwait(&set, NULL, &tick);
        if (again > 0) {
            snprintf(msg, sizeof msg, "second signal (%s): exiting now", strsignal(again));
            serve_log_event("stopped", msg);
            _exit(128 + again);
        }
    }
}

int cmd_serve(int argc, char **argv) {
    ServeOptions o;
    int rc = serve_options_parse(&o, argc, argv);
    if (rc >= 0) return rc;
    signal(SIGPIPE, SIG_IGN); /* a client that went away: a failed send, not a dead server */
    char key[4096];
    if (o.api_key_file && (rc = read_key(o.api_key_file, key, sizeof key))) return rc;
    pifi_error err;
    pifi_run *run;
    pifi_run_params rp = pifi_run_default_params();
    rp.precision = cli_api_precision(o.precision);
    rp.batch = o.max_batch_size;
    if (pifi_run_open(o.run_dir, &rp, &run, &err)) return cli_fail_api(&err);
    const int K = pifi_run_num_classes(run);
    const char *labels[256];
    for (int k = 0; k < K && k < 256; k++) labels[k] = pifi_run_label(run, k);
    char *task = run_task(o.run_dir);
    ServeBuf info = {0};
    serve_response_info(&info, run, task, &o);
    free(task);
    ServeMetrics *metrics = serve_metrics_new();
    ServeQueueOpts qo = {o.max_batch_tokens, o.max_batch_size, o.max_wait_ms, o.max_queue, o.auto_truncate};
    ServeQueue *queue = NULL;
    ServeHttp *http = NULL;
    rc = 1;
    if (!metrics || info.oom || serve_queue_start(&queue, run, &qo, metrics)) {
        fprintf(stderr, "pifi: serve: out of memory\n");
        goto out;
    }
    ServeHttpCtx ctx = {&o, queue, metrics, K, labels, o.api_key_file ? key : NULL, info.s};
    int port;
    char msg[512];
    if (serve_http_start(&http, &ctx, &port, msg, sizeof msg)) {
        fprintf(stderr, "pifi: %s\n", msg);
        goto out;
    }
    serve_log_listening(o.host, port);
    printf("listening on http://%s%s%s:%d\n", strchr(o.host, ':') ? "[" : "", o.host, strchr(o.host, ':') ? "]" : "",
           port);
    fflush(stdout);
    wait_and_drain(http);
    serve_http_stop(http);
    http = NULL;
    serve_log_event("stopped", "every request answered");
    rc = 0;
out:
    if (http) serve_http_stop(http);
    if (queue) serve_queue_stop(queue);
    serve_metrics_free(metrics);
    serve_buf_free(&info);
    pifi_run_close(run);
    return rc;
}
