/* bpe_load.c: building a BpeModel from the "model" object of a
 * tokenizer.json (type "BPE") or from the legacy vocab.json + merges.txt
 * pair, with the checks HF's BPE builder makes (every merge token and every
 * merged token is in the vocabulary) plus stricter ones on hostile input
 * (ids must be integers in [0, 2^31), distinct, tokens unique). */
#include <stdio.h>
#include <string.h>

#include "pifi/fileio.h"
#include "pifi/json.h"
#include "text/bpe.h"
#include "text/bpe_internal.h"

#define BPE_MAX_FILE ((size_t)512 << 20)

/* Add every "token": id pair of a JSON object. what names the object. */
static int add_vocab(BpeModel *m, const cJSON *vocab, const char *what, PifiErr *err) {
    if (!cJSON_IsObject(vocab)) return pifi_errf(err, "%s: vocabulary must be a JSON object", what);
    const cJSON *it;
    cJSON_ArrayForEach(it, vocab) {
        double v = it->valuedouble;
        if (!cJSON_IsNumber(it) || !(v >= 0 && v <= 2147483647.0) || v != (double)(int64_t)v)
            return pifi_errf(err, "%s: token \"%.64s\": id must be an integer in [0, 2^31)", what,
                             it->string ? it->string : "");
        if (bpe_add_token(m, it->string ? it->string : "", (int64_t)v, what, err)) return -1;
    }
    return 0;
}

/* One merge written "a b": exactly one space. */
static int add_merge_line(BpeModel *m, const char *line, size_t n, const char *what, PifiErr *err) {
    const char *sp = memchr(line, ' ', n);
    if (!sp || memchr(sp + 1, ' ', n - (size_t)(sp + 1 - line)))
        return pifi_errf(err, "%s: a merge must be two tokens separated by one space", what);
    return bpe_add_merge(m, line, (size_t)(sp - line), sp + 1, n - (size_t)(sp + 1 - line), what,
                         err);
}

/* An optional string-or-null field. */
static int opt_string(const cJSON *obj, const char *key, const char **out, const char *file,
                      PifiErr *err) {
    *out = NULL;
    return pifi_json_string(obj, key, 0, out, file, err) < 0 ? -1 : 0;
}

static int opt_bool(const cJSON *obj, const char *key, int *out, const char *file, PifiErr *err) {
    *out = 0;
    return pifi_json_bool(obj, key, 0, out, file, err) < 0 ? -1 : 0;
}

static int load_json(BpeModel *m, const cJSON *model, const char *file, PifiErr *err) {
    char what[512];
    if (!cJSON_IsObject(model)) return pifi_errf(err, "%s: model must be a JSON object", file);
    const char *type = NULL;
    if (opt_string(model, "type", &type, file, err)) return -1;
    if (type && strcmp(type, "BPE") != 0)
        return pifi_errf(err, "%s: model type \"%.32s\" is not BPE", file, type);
    double dropout = 0;
    if (pifi_json_double(model, "dropout", 0, &dropout, file, err) < 0) return -1;
    if (dropout != 0) return pifi_errf(err, "%s: BPE dropout is not supported", file);

    snprintf(what, sizeof what, "%s: model.vocab", file);
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    if (!vocab) return pifi_errf(err, "%s: model has no \"vocab\"", file);
    if (add_vocab(m, vocab, what, err)) return -1;

    const char *unk, *prefix, *suffix;
    int fuse, fallback, ignore;
    if (opt_string(model, "unk_token", &unk, file, err) ||
        opt_string(model, "continuing_subword_prefix", &prefix, file, err) ||
        opt_string(model, "end_of_word_suffix", &suffix, file, err) ||
        opt_bool(model, "fuse_unk", &fuse, file, err) ||
        opt_bool(model, "byte_fallback", &fallback, file, err) ||
        opt_bool(model, "ignore_merges", &ignore, file, err))
        return -1;
    if (bpe_set_options(m, unk, prefix, suffix, fuse, fallback, ignore, err)) return -1;

    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    if (!cJSON_IsArray(merges)) return pifi_errf(err, "%s: model.merges must be an array", file);
    const cJSON *it;
    int i = 0;
    cJSON_ArrayForEach(it, merges) {
        snprintf(what, sizeof what, "%s: model.merges[%d]", file, i++);
        if (cJSON_IsString(it)) {
            const char *s = it->valuestring;
            if (strncmp(s, "#version", 8) == 0) continue;
            if (add_merge_line(m, s, strlen(s), what, err)) return -1;
        } else if (cJSON_IsArray(it) && cJSON_GetArraySize(it) == 2 &&
                   cJSON_IsString(cJSON_GetArrayItem(it, 0)) &&
                   cJSON_IsString(cJSON_GetArrayItem(it, 1))) {
            const char *a = cJSON_GetArrayItem(it, 0)->valuestring;
            const char *b = cJSON_GetArrayItem(it, 1)->valuestring;
            if (bpe_add_merge(m, a, strlen(a), b, strlen(b), what, err)) return -1;
        } else {
            return pifi_errf(err, "%s: a merge must be \"a b\" or [\"a\", \"b\"]", what);
        }
    }
    return bpe_finish(m, file, err);
}

int bpe_from_json(BpeModel **out, const cJSON *model, const char *file, PifiErr *err) {
    *out = NULL;
    BpeModel *m;
    if (bpe_new(&m, err)) return -1;
    if (load_json(m, model, file, err)) {
        bpe_free(m);
        return -1;
    }
    *out = m;
    return 0;
}

/* merges.txt: one "a b" per line, "#version" lines skipped, "\r\n" allowed. */
static int load_merges_txt(BpeModel *m, const char *path, PifiErr *err) {
    char *buf;
    size_t len;
    if (pifi_read_file(path, BPE_MAX_FILE, &buf, &len, err)) return -1;
    size_t pos = 0;
    int line = 0, rc = 0;
    char what[512];
    while (pos < len && rc == 0) {
        const char *s = buf + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += n + (nl ? 1 : 0);
        line++;
        if (n > 0 && s[n - 1] == '\r') n--;
        if (n >= 8 && strncmp(s, "#version", 8) == 0) continue;
        snprintf(what, sizeof what, "%s: line %d", path, line);
        rc = add_merge_line(m, s, n, what, err);
    }
    free(buf);
    return rc;
}

static int load_files(BpeModel *m, const char *vocab_json, const char *merges_txt, PifiErr *err) {
    cJSON *vocab;
    if (pifi_json_load(vocab_json, BPE_MAX_FILE, &vocab, err)) return -1;
    int rc = add_vocab(m, vocab, vocab_json, err);
    cJSON_Delete(vocab);
    if (rc || bpe_set_options(m, NULL, NULL, NULL, 0, 0, 0, err) ||
        load_merges_txt(m, merges_txt, err))
        return -1;
    return bpe_finish(m, vocab_json, err);
}

int bpe_from_files(BpeModel **out, const char *vocab_json, const char *merges_txt, PifiErr *err) {
    *out = NULL;
    BpeModel *m;
    if (bpe_new(&m, err)) return -1;
    if (load_files(m, vocab_json, merges_txt, err)) {
        bpe_free(m);
        return -1;
    }
    *out = m;
    return 0;
}
