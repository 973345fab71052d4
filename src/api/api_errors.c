/* api_errors.c: include/pifi.h's statuses, errors and version, and the
 * small conversions the API files share (api_internal.h). */
#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"

const char *pifi_strerror(pifi_status s) {
    switch (s) {
    case PIFI_OK: return "success";
    case PIFI_E_RUNTIME: return "runtime failure (memory, I/O, internal)";
    case PIFI_E_INPUT: return "bad input (a file, option or text)";
    }
    return "unknown status";
}

const char *pifi_version(void) { return PIFI_VERSION; }

pifi_status api_fail(const PifiErr *e, pifi_error *err) {
    pifi_status s = e->kind == PIFI_ERR_RUNTIME ? PIFI_E_RUNTIME : PIFI_E_INPUT;
    if (err) {
        err->code = s;
        snprintf(err->message, sizeof err->message, "%s", e->msg[0] ? e->msg : pifi_strerror(s));
    }
    return s;
}

int api_precision(pifi_precision p, PifiPrecision *out, PifiErr *err) {
    switch (p) {
    case PIFI_PRECISION_AUTO: *out = pifi_precision_default(); return 0;
    case PIFI_PRECISION_FP32: *out = PIFI_PREC_FP32; return 0;
    case PIFI_PRECISION_BF16: *out = PIFI_PREC_BF16; return 0;
    }
    return pifi_errf(err, "precision %d is not one of pifi_precision's values", (int)p);
}
