/* cola.c: CoLA's raw TSV (nyu-mll cola_public): no header, four
 * tab-separated columns: source code, label (0 unacceptable, 1 acceptable),
 * the original author's mark, sentence. */
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"
#include "pifi/fileio.h"

int read_cola(const char *path, unsigned text_flags, PifiDataset *out, PifiErr *err) {
    memset(out, 0, sizeof *out);
    PifiMap map;
    if (pifi_map_open(&map, path, err) != 0) return -1;
    LineIter it;
    line_iter_init(&it, map.data, map.size);
    const char *s;
    size_t n;
    int rc = 0;
    while (rc == 0 && line_next(&it, &s, &n)) {
        const char *col[4];
        size_t len[4];
        int nc = 0;
        size_t start = 0;
        for (size_t i = 0; i <= n; i++) {
            if (i < n && s[i] != '\t') continue;
            if (nc < 4) {
                col[nc] = s + start;
                len[nc] = i - start;
            }
            nc++;
            start = i + 1;
        }
        if (nc != 4) {
            rc = pifi_errf(err, "%s:%lld: %d tab-separated columns, expected 4 (source, label, mark, sentence)",
                           path, (long long)it.line, nc);
            break;
        }
        if (len[1] != 1 || (col[1][0] != '0' && col[1][0] != '1')) {
            rc = pifi_errf(err, "%s:%lld: label \"%.*s\" is not 0 or 1", path, (long long)it.line,
                           (int)(len[1] < 40 ? len[1] : 40), col[1]);
            break;
        }
        char *text;
        size_t bad = 0;
        int code = text_make(col[3], len[3], text_flags, &text, &bad, NULL);
        if (code != TEXT_OK) {
            rc = text_fail(err, path, it.line, code, bad + (size_t)(col[3] - s));
            break;
        }
        rc = dataset_push(out, text, NULL, col[1][0] - '0', err);
    }
    pifi_map_close(&map);
    if (rc != 0) dataset_free(out);
    return rc;
}
