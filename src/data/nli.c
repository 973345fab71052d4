/* nli.c: natural language inference pairs. SNLI in the InferSent/e-SNLI
 * layout (s1.<split> premises, s2.<split> hypotheses, labels.<split> label
 * names, aligned line by line) and MNLI as JSON Lines ({"premise",
 * "hypothesis", "label"}). Labels as HF snli / glue mnli: 0 entailment,
 * 1 neutral, 2 contradiction; "-" (no gold label) rows are dropped. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "data/data_internal.h"
#include "pifi/fileio.h"

static const char *const NLI_LABELS[3] = {"entailment", "neutral", "contradiction"};

int nli_label(const char *s, size_t n) {
    for (int k = 0; k < 3; k++)
        if (strlen(NLI_LABELS[k]) == n && memcmp(s, NLI_LABELS[k], n) == 0) return k;
    if (n == 1 && s[0] == '-') return -2;
    return -1;
}

int read_snli(const char *s1, const char *s2, const char *labels, unsigned text_flags,
              PifiDataset *out, PifiErr *err) {
    memset(out, 0, sizeof *out);
    const char *paths[3] = {s1, s2, labels};
    PifiMap m[3] = {{0}};
    LineIter it[3];
    int rc = 0, opened = 0;
    for (; opened < 3; opened++) {
        if (pifi_map_open(&m[opened], paths[opened], err) != 0) {
            rc = -1;
            break;
        }
        line_iter_init(&it[opened], m[opened].data, m[opened].size);
    }
    while (rc == 0) {
        const char *s[3];
        size_t n[3];
        int has[3];
        for (int f = 0; f < 3; f++) has[f] = line_next(&it[f], &s[f], &n[f]);
        if (!has[0] && !has[1] && !has[2]) break;
        if (!has[0] || !has[1] || !has[2]) {
            for (int f = 0; f < 3; f++)
                while (line_next(&it[f], &s[f], &n[f])) {}
            rc = pifi_errf(err, "%s, %s and %s must have as many lines (%lld, %lld, %lld)", s1, s2, labels,
                           (long long)it[0].line, (long long)it[1].line, (long long)it[2].line);
            break;
        }
        int y = nli_label(s[2], n[2]);
        if (y == -2) {
            out->dropped++;
            continue;
        }
        if (y < 0) {
            rc = pifi_errf(err, "%s:%lld: unknown label \"%.*s\" (entailment, neutral, contradiction or -)",
                           labels, (long long)it[2].line, (int)(n[2] < 40 ? n[2] : 40), s[2]);
            break;
        }
        char *a = NULL, *b = NULL;
        size_t bad = 0;
        int code = text_make(s[0], n[0], text_flags, &a, &bad, NULL);
        if (code != TEXT_OK) {
            rc = text_fail(err, s1, it[0].line, code, bad);
            break;
        }
        if ((code = text_make(s[1], n[1], text_flags, &b, &bad, NULL)) != TEXT_OK) {
            free(a);
            rc = text_fail(err, s2, it[1].line, code, bad);
            break;
        }
        rc = dataset_push(out, a, b, y, err);
    }
    for (int f = 0; f < opened; f++) pifi_map_close(&m[f]);
    if (rc != 0) dataset_free(out);
    return rc;
}

/* One JSON string field of an MNLI row as a stored text. */
static int json_text(const cJSON *row, const char *key, const char *path, int64_t line,
                     unsigned flags, char **out, PifiErr *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, key);
    if (!cJSON_IsString(v))
        return pifi_errf(err, "%s:%lld: \"%s\" missing or not a string", path, (long long)line, key);
    size_t bad = 0;
    int code = text_make(v->valuestring, strlen(v->valuestring), flags, out, &bad, NULL);
    if (code != TEXT_OK) return text_fail(err, path, line, code, bad);
    return 0;
}

int read_mnli_jsonl(const char *path, unsigned text_flags, PifiDataset *out, PifiErr *err) {
    memset(out, 0, sizeof *out);
    PifiMap map;
    if (pifi_map_open(&map, path, err) != 0) return -1;
    LineIter it;
    line_iter_init(&it, map.data, map.size);
    const char *s;
    size_t n;
    int rc = 0;
    while (rc == 0 && line_next(&it, &s, &n)) {
        if (n == 0) continue;
        cJSON *row = cJSON_ParseWithLength(s, n);
        if (!cJSON_IsObject(row)) {
            cJSON_Delete(row);
            rc = pifi_errf(err, "%s:%lld: not a JSON object", path, (long long)it.line);
            break;
        }
        const cJSON *lab = cJSON_GetObjectItemCaseSensitive(row, "label");
        int y = -1;
        if (cJSON_IsString(lab)) y = nli_label(lab->valuestring, strlen(lab->valuestring));
        else if (cJSON_IsNumber(lab) && lab->valuedouble > -1e9 && lab->valuedouble < 1e9 && /* (int) of a huge double is UB */
                 lab->valuedouble == (double)(int)lab->valuedouble)
            y = lab->valueint >= 0 && lab->valueint <= 2 ? lab->valueint : lab->valueint == -1 ? -2 : -1;
        if (y == -2) {
            out->dropped++;
            cJSON_Delete(row);
            continue;
        }
        if (y < 0) {
            cJSON_Delete(row);
            rc = pifi_errf(err, "%s:%lld: \"label\" must be entailment, neutral, contradiction (or 0, 1, 2)",
                           path, (long long)it.line);
            break;
        }
        char *a = NULL, *b = NULL;
        rc = json_text(row, "premise", path, it.line, text_flags, &a, err);
        if (rc == 0 && (rc = json_text(row, "hypothesis", path, it.line, text_flags, &b, err)) != 0) free(a);
        cJSON_Delete(row);
        if (rc == 0) rc = dataset_push(out, a, b, y, err);
    }
    pifi_map_close(&map);
    if (rc != 0) dataset_free(out);
    return rc;
}
