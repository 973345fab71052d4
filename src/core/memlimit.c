/* memlimit.c: the --max-memory budget: parsing sizes, the RLIMIT_DATA hard
 * limit, and the refusal line of an estimate over budget (memlimit.h). */
#include "pifi/memlimit.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

/* The budget of this process (like the thread pool's size: one per process). */
static struct {
    uint64_t bytes;
    char text[32];
} g_limit;

int pifi_parse_size(const char *s, uint64_t *bytes) {
    if (!s || !isdigit((unsigned char)s[0])) return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || end == s || !(v >= 0)) return -1;
    static const char *UNITS = "KMGT";
    double mul = 1;
    if (*end) {
        const char *u = strchr(UNITS, toupper((unsigned char)*end));
        if (!u) return -1;
        mul = pow(1024.0, (double)(u - UNITS + 1));
        end++;
        if (strcasecmp(end, "iB") == 0 || strcasecmp(end, "B") == 0) end += strlen(end);
    }
    if (*end) return -1;
    double b = v * mul;
    if (b < 1048576.0 || b > 1e18) return -1;
    *bytes = (uint64_t)b;
    return 0;
}

/* AddressSanitizer reserves terabytes of shadow memory as private mappings,
 * which RLIMIT_DATA counts: a sanitized build (scripts/sanitize.sh) keeps the
 * budget (the estimate's refusal) but sets no hard limit. */
#if defined(__SANITIZE_ADDRESS__)
#define MEMLIMIT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MEMLIMIT_ASAN 1
#endif
#endif

int pifi_memlimit_set(uint64_t bytes, const char *text, PifiErr *err) {
#ifdef MEMLIMIT_ASAN
    g_limit.bytes = bytes;
    snprintf(g_limit.text, sizeof g_limit.text, "%s", text ? text : "");
    return 0;
#endif
    struct rlimit rl;
    if (getrlimit(RLIMIT_DATA, &rl) != 0) return pifi_errk(err, PIFI_ERR_RUNTIME, "--max-memory: cannot read RLIMIT_DATA");
    rlim_t want = (rlim_t)bytes;
    if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max) want = rl.rlim_max; /* already stricter */
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_DATA, &rl) != 0)
        return pifi_errk(err, PIFI_ERR_RUNTIME, "--max-memory: cannot set RLIMIT_DATA: %s", strerror(errno));
    g_limit.bytes = bytes;
    snprintf(g_limit.text, sizeof g_limit.text, "%s", text ? text : "");
    return 0;
}

uint64_t pifi_memlimit_get(void) { return g_limit.bytes; }

void pifi_format_bytes(uint64_t b, char *out, size_t n) {
    static const char *U[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)b;
    int u = 0;
    while (v >= 1024 && u < 4) v /= 1024, u++;
    if (u == 0) snprintf(out, n, "%llu bytes", (unsigned long long)b);
    else snprintf(out, n, v < 10 ? "%.1f %s" : "%.0f %s", v, U[u]);
}

void memest_add(MemEstimate *e, uint64_t bytes, const char *what, const char *detail) {
    if (e->n >= (int)(sizeof e->part / sizeof e->part[0])) {
        e->part[e->n - 1].bytes += bytes;
        return;
    }
    e->part[e->n].bytes = bytes;
    snprintf(e->part[e->n].what, sizeof e->part[e->n].what, "%s", what);
    snprintf(e->part[e->n].detail, sizeof e->part[e->n].detail, "%s%s", detail ? " " : "", detail ? detail : "");
    e->n++;
}

uint64_t memest_total(const MemEstimate *e) {
    uint64_t t = 0;
    for (int i = 0; i < e->n; i++) t += e->part[i].bytes;
    return t;
}

int memlimit_check(const MemEstimate *e, PifiErr *err) {
    uint64_t total = memest_total(e);
    if (!g_limit.bytes || total <= g_limit.bytes) return 0;
    if (getenv("PIFI_FAULT_SKIP_MEMEST")) return 0; /* test hook: reach the hard limit (tests/cli/max_memory.sh) */
    char line[PIFI_ERR_MSG_MAX], b[32];
    pifi_format_bytes(total, b, sizeof b);
    int k = snprintf(line, sizeof line, "--max-memory %s: this run needs about %s (", g_limit.text, b);
    /* parts from the largest */
    int done[8] = {0};
    for (int j = 0; j < e->n && k > 0 && (size_t)k < sizeof line; j++) {
        int best = -1;
        for (int i = 0; i < e->n; i++)
            if (!done[i] && (best < 0 || e->part[i].bytes > e->part[best].bytes)) best = i;
        done[best] = 1;
        pifi_format_bytes(e->part[best].bytes, b, sizeof b);
        k += snprintf(line + k, sizeof line - (size_t)k, "%s%s %s%s", j ? ", " : "", e->part[best].what, b,
                      e->part[best].detail);
    }
    if (k > 0 && (size_t)k < sizeof line)
        snprintf(line + k, sizeof line - (size_t)k, ")%s%s", e->hint ? "; " : "", e->hint ? e->hint : "");
    return pifi_errf(err, "%s", line);
}
