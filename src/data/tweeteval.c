/* tweeteval.c: TweetEval splits (cardiffnlp/tweeteval): <split>_text.txt with
 * one tweet per line and <split>_labels.txt with one integer per line, the
 * two aligned line by line. A label map lets a task drop or merge classes
 * (tweet_sentiment_binary drops neutral and maps positive 2 -> 1). */
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"
#include "pifi/fileio.h"

int read_tweeteval(const char *text_path, const char *labels_path, int num_in, const int *map,
                   unsigned text_flags, PifiDataset *out, PifiErr *err) {
    memset(out, 0, sizeof *out);
    PifiMap tm, lm;
    if (pifi_map_open(&lm, labels_path, err) != 0) return -1;
    if (pifi_map_open(&tm, text_path, err) != 0) {
        pifi_map_close(&lm);
        return -1;
    }
    LineIter ti, li;
    line_iter_init(&ti, tm.data, tm.size);
    line_iter_init(&li, lm.data, lm.size);
    const char *s = NULL, *l = NULL;
    size_t n = 0, ln = 0;
    int rc = 0;
    for (;;) {
        int has_t = line_next(&ti, &s, &n), has_l = line_next(&li, &l, &ln);
        if (!has_t && !has_l) break;
        if (has_t != has_l) {
            while (line_next(&ti, &s, &n)) {} /* count the rest of both */
            while (line_next(&li, &l, &ln)) {}
            rc = pifi_errf(err, "%s has %lld lines but %s has %lld: they must be aligned", text_path,
                           (long long)ti.line, labels_path, (long long)li.line);
            break;
        }
        int64_t label = 0;
        size_t i = 0;
        while (i < ln && l[i] >= '0' && l[i] <= '9' && i < 9) label = label * 10 + (l[i++] - '0');
        while (i < ln && (l[i] == ' ' || l[i] == '\t')) i++;
        if (ln == 0 || i != ln || label >= num_in) {
            rc = pifi_errf(err, "%s:%lld: expected a label 0..%d, got \"%.*s\"", labels_path,
                           (long long)li.line, num_in - 1, (int)(ln < 40 ? ln : 40), l);
            break;
        }
        int32_t y = map ? map[label] : (int32_t)label;
        if (y < 0) {
            out->dropped++;
            continue;
        }
        char *text;
        size_t bad = 0;
        int code = text_make(s, n, text_flags, &text, &bad, NULL);
        if (code != TEXT_OK) {
            rc = text_fail(err, text_path, ti.line, code, bad);
            break;
        }
        if ((rc = dataset_push(out, text, NULL, y, err)) != 0) break;
    }
    pifi_map_close(&tm);
    pifi_map_close(&lm);
    if (rc != 0) dataset_free(out);
    return rc;
}
