/* serve_response.c: the JSON bodies of serve_response.h. */
#include "cli/serve/serve_response.h"

#include <math.h>
#include <stdlib.h>

int serve_response_predict(ServeBuf *b, const ServeRequest *r, const float *out, int K, const char *const *labels,
                           ServeError *e) {
    const float *scores = r->raw_scores ? out + (size_t)r->n * K : out;
    int order[256];
    if (r->batch) serve_buf_printf(b, "[");
    for (int i = 0; i < r->n; i++) {
        const float *s = scores + (size_t)i * K;
        /* classes by score, highest first; ties by class index (insertion sort, K is small) */
        for (int k = 0; k < K && k < 256; k++) {
            int j = k;
            while (j > 0 && s[order[j - 1]] < s[k]) order[j] = order[j - 1], j--;
            order[j] = k;
        }
        serve_buf_printf(b, "%s[", i ? "," : "");
        for (int k = 0; k < K && k < 256; k++) {
            float v = s[order[k]];
            if (!isfinite(v)) return serve_errf(e, 500, SERVE_E_BACKEND, "input %d: a score is not finite", i + 1);
            serve_buf_printf(b, "%s{\"score\":%.9g,\"label\":", k ? "," : "", v);
            serve_buf_json(b, labels[order[k]], 0);
            serve_buf_printf(b, "}");
        }
        serve_buf_printf(b, "]");
    }
    if (r->batch) serve_buf_printf(b, "]");
    return 0;
}

int serve_response_embed(ServeBuf *b, const ServeRequest *r, const float *out, int dim, ServeError *e) {
    serve_buf_printf(b, "[");
    for (int i = 0; i < r->n; i++) {
        const float *v = out + (size_t)i * dim;
        double norm = 0;
        for (int c = 0; c < dim; c++) norm += (double)v[c] * v[c];
        if (!isfinite(norm)) return serve_errf(e, 500, SERVE_E_BACKEND, "input %d: the vector is not finite", i + 1);
        double scale = r->normalize && norm > 0 ? 1.0 / sqrt(norm) : 1.0;
        serve_buf_printf(b, "%s[", i ? "," : "");
        for (int c = 0; c < dim; c++) serve_buf_printf(b, "%s%.9g", c ? "," : "", (float)(v[c] * scale));
        serve_buf_printf(b, "]");
    }
    serve_buf_printf(b, "]");
    return 0;
}

void serve_response_error(ServeBuf *b, const ServeError *e) {
    serve_buf_printf(b, "{\"error\":");
    serve_buf_json(b, e->msg, 0);
    serve_buf_printf(b, ",\"error_type\":\"%s\"}", serve_error_type_name(e->type));
}

void serve_response_info(ServeBuf *b, const pifi_run *run, const char *task, const ServeOptions *o) {
    const int K = pifi_run_num_classes(run);
    const char *prec = pifi_run_precision(run);
    serve_buf_printf(b, "{\"model_id\":");
    serve_buf_json(b, o->run_dir, 0);
    serve_buf_printf(b, ",\"model_sha\":null,\"model_dtype\":\"%s\",\"model_type\":{\"classifier\":{\"id2label\":{",
                     prec[0] == 'b' ? "bfloat16" : "float32");
    for (int k = 0; k < K; k++) {
        serve_buf_printf(b, "%s\"%d\":", k ? "," : "", k);
        serve_buf_json(b, pifi_run_label(run, k), 0);
    }
    serve_buf_printf(b, "},\"label2id\":{");
    for (int k = 0; k < K; k++) {
        serve_buf_printf(b, "%s", k ? "," : "");
        serve_buf_json(b, pifi_run_label(run, k), 0);
        serve_buf_printf(b, ":%d", k);
    }
    serve_buf_printf(b, "}}},\"task\":");
    if (task) serve_buf_json(b, task, 0);
    else serve_buf_printf(b, "null");
    serve_buf_printf(b, ",\"method\":");
    serve_buf_json(b, pifi_run_method(run), 0);
    serve_buf_printf(b,
                     ",\"precision\":\"%s\",\"embed_dim\":%d,\"max_input_length\":%d,\"max_concurrent_requests\":%d,"
                     "\"max_batch_tokens\":%d,\"max_batch_requests\":%d,\"max_client_batch_size\":%d,"
                     "\"auto_truncate\":%s,\"version\":\"%s\",\"pifi_version\":\"%s\",\"sha\":null,\"docker_label\":null}",
                     prec, pifi_run_embed_dim(run), pifi_run_max_length(run), o->max_queue, o->max_batch_tokens,
                     o->max_batch_size, o->max_client_batch_size, o->auto_truncate ? "true" : "false", pifi_version(),
                     pifi_version());
}
