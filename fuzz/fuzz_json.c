/* fuzz_json.c: libFuzzer harness of src/core/json.c: pifi_json_parse on
 * arbitrary bytes (not NUL-terminated), then every typed getter on every
 * member of the result, required and optional. Checks that a failure always
 * leaves a one-line message and that a parse error's line/column is sane. */
#include "fuzz_common.h"
#include "pifi/json.h"

static void probe_getters(const cJSON *obj) {
    const cJSON *it;
    cJSON_ArrayForEach(it, obj) {
        const char *key = it->string ? it->string : "";
        for (int req = 0; req <= 1; req++) {
            PifiErr err = {0};
            int64_t i;
            double d;
            int b;
            const char *s;
            if (pifi_json_int(obj, key, req, &i, "fuzz.json", &err) < 0) fz_check_err(&err, "pifi_json_int");
            err.msg[0] = 0;
            if (pifi_json_double(obj, key, req, &d, "fuzz.json", &err) < 0)
                fz_check_err(&err, "pifi_json_double");
            err.msg[0] = 0;
            if (pifi_json_bool(obj, key, req, &b, "fuzz.json", &err) < 0) fz_check_err(&err, "pifi_json_bool");
            err.msg[0] = 0;
            if (pifi_json_string(obj, key, req, &s, "fuzz.json", &err) < 0)
                fz_check_err(&err, "pifi_json_string");
        }
        if (cJSON_IsObject(it)) probe_getters(it);
    }
    /* A key that is absent, and a NULL / non-object container. */
    PifiErr err = {0};
    int64_t i;
    const char *absent = "pifi-fuzz: no such key";
    if (!cJSON_GetObjectItemCaseSensitive(obj, absent)) {
        if (pifi_json_int(obj, absent, 1, &i, "fuzz.json", &err) != -1) fz_die("missing key accepted");
        fz_check_err(&err, "pifi_json_int(missing)");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cJSON *root = NULL;
    PifiErr err = {0};
    if (pifi_json_parse((const char *)data, size, "fuzz.json", &root, &err)) {
        fz_check_err(&err, "pifi_json_parse");
        if (root) fz_die("pifi_json_parse failed but set *out");
        return 0;
    }
    if (!root) fz_die("pifi_json_parse succeeded without a result");
    if (cJSON_IsObject(root)) probe_getters(root);
    int64_t i;
    err.msg[0] = 0;
    if (!cJSON_IsObject(root) && pifi_json_int(root, "x", 0, &i, "fuzz.json", &err) != 1)
        fz_die("getter on a non-object did not report 'absent'");
    cJSON_Delete(root);
    return 0;
}
