/* fuzz_serve_request.c: libFuzzer harness of `pifi serve`'s request reader
 * (src/serve/serve_request.c) on arbitrary bodies, as /predict and as
 * /embed. A refusal is a 400, 413 or 422 with a one-line message; an
 * accepted request holds 1..max_inputs inputs of valid UTF-8 within the
 * byte limit; and each text, written back as a JSON string the way the
 * server writes texts (serve_buf_json), parses back to itself. */
#include <cjson/cJSON.h>

#include "core/utf8.h"
#include "fuzz_common.h"
#include "cli/serve/serve_buf.h"
#include "cli/serve/serve_request.h"

static void check_text(const char *t, size_t max) {
    size_t n = strlen(t), bad;
    if (n > max) fz_die("a text over the byte limit was accepted");
    if (!utf8_valid(t, n, &bad)) fz_die("a text of invalid UTF-8 was accepted");
    ServeBuf b = {0};
    serve_buf_json(&b, t, 0);
    if (b.oom) fz_die("out of memory");
    cJSON *v = cJSON_ParseWithLength(b.s, b.len);
    if (!cJSON_IsString(v) || strcmp(v->valuestring, t) != 0) fz_die("a text does not survive serve_buf_json");
    cJSON_Delete(v);
    serve_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const ServeLimits lim = {64, 4096};
    for (int kind = SERVE_PREDICT; kind <= SERVE_EMBED; kind++) {
        ServeRequest r;
        ServeError e = {0};
        if (serve_request_parse(&r, (ServeKind)kind, (const char *)data, size, &lim, &e)) {
            if (e.status != 400 && e.status != 413 && e.status != 422) fz_die("a refusal with another status");
            if (!e.msg[0] || strchr(e.msg, '\n')) fz_die("a refusal without a one-line message");
            continue;
        }
        if (r.n < 1 || r.n > lim.max_inputs || (!r.batch && r.n != 1)) fz_die("a request with a wrong count");
        if (kind == SERVE_EMBED && r.pair) fz_die("pairs in an /embed request");
        for (int i = 0; i < r.n; i++) {
            if (r.pair && strlen(r.text[i]) + strlen(r.pair[i]) > lim.max_input_bytes) fz_die("a pair over the limit");
            check_text(r.text[i], lim.max_input_bytes);
            if (r.pair) check_text(r.pair[i], lim.max_input_bytes);
        }
        serve_request_free(&r);
    }
    return 0;
}
