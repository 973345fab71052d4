/* test_tokenizer_corpus.c: fidelity of the tokenizers against HF
 * `tokenizers`. For each fixture tokenizer (tests/fixtures/tokenizers/NAME),
 * load it twice, from tokenizer.json and from the legacy files (vocab.txt,
 * or vocab.json + merges.txt; bert_uncased also from its vocab.gguf; the
 * SentencePiece Unigram ones have only tokenizer.json), encode every case of
 * corpus.jsonl with the
 * case's options, and require ids, type ids, attention mask, sequence ids
 * and byte offsets identical to what HF produced (for the legacy files, to
 * what HF produces from those files where a case records it: "legacy"). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/fileio.h"
#include "pifi/json.h"
#include "pifi/tokenizer.h"
#include "test.h"
#include "text/tokenizer_impl.h"

#define MAX_PRINTED 10

/* Compare an int array field of the case with got[i * stride + k]. Returns the
 * first differing token position, -1 when equal. */
static int diff_field(const cJSON *want, const int32_t *got, int n, int stride, int *len_differs) {
    int wn = cJSON_GetArraySize(want);
    *len_differs = wn != n;
    int i = 0;
    for (const cJSON *it = want ? want->child : NULL; it && i < n; it = it->next, i++) {
        if (stride == 1) {
            if (!cJSON_IsNumber(it) || it->valueint != got[i]) return i;
        } else {
            const cJSON *a = cJSON_GetArrayItem(it, 0), *b = cJSON_GetArrayItem(it, 1);
            if (!a || !b || a->valueint != got[2 * i] || b->valueint != got[2 * i + 1]) return i;
        }
    }
    return wn != n ? i : -1;
}

static void print_field(const char *what, const cJSON *want, const int32_t *got, int n, int stride,
                        int pos) {
    char *w = cJSON_PrintUnformatted(cJSON_GetArrayItem(want, pos));
    if (stride == 1)
        fprintf(stderr, "    %s differ at token %d: want %s, got %d\n", what, pos, w ? w : "(none)",
                pos < n ? got[pos] : -1);
    else
        fprintf(stderr, "    %s differ at token %d: want %s, got [%d,%d]\n", what, pos,
                w ? w : "(none)", pos < n ? got[2 * pos] : -1, pos < n ? got[2 * pos + 1] : -1);
    free(w);
}

/* Decode the JSON string value of "key" straight from the raw line: cJSON
 * stops at an escaped NUL, and some cases hold NUL bytes. Returns a heap
 * buffer with its length, or NULL when the key is absent. */
static char *raw_string(const char *line, const char *key, size_t *len) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = line;
    for (;;) { /* the key: the quoted name followed by ':' and a string */
        p = strstr(p, pat);
        if (!p) return NULL;
        p += strlen(pat);
        const char *q = p + strspn(p, " ");
        if (*q != ':') continue;
        q += 1 + strspn(q + 1, " ");
        if (*q == '"') {
            p = q + 1;
            break;
        }
    }
    char *out = malloc(strlen(p) * 2 + 1);
    if (!out) abort();
    size_t n = 0;
    while (*p && *p != '"') {
        if (*p != '\\') {
            out[n++] = *p++;
            continue;
        }
        p++;
        char e = *p++;
        if (e == 'u') {
            unsigned cp = (unsigned)strtoul((char[5]){p[0], p[1], p[2], p[3], 0}, NULL, 16);
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && p[0] == '\\' && p[1] == 'u') {
                unsigned lo = (unsigned)strtoul((char[5]){p[2], p[3], p[4], p[5], 0}, NULL, 16);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            }
            if (cp < 0x80) out[n++] = (char)cp;
            else if (cp < 0x800) out[n++] = (char)(0xC0 | (cp >> 6)), out[n++] = (char)(0x80 | (cp & 0x3F));
            else if (cp < 0x10000)
                out[n++] = (char)(0xE0 | (cp >> 12)), out[n++] = (char)(0x80 | ((cp >> 6) & 0x3F)),
                out[n++] = (char)(0x80 | (cp & 0x3F));
            else
                out[n++] = (char)(0xF0 | (cp >> 18)), out[n++] = (char)(0x80 | ((cp >> 12) & 0x3F)),
                out[n++] = (char)(0x80 | ((cp >> 6) & 0x3F)), out[n++] = (char)(0x80 | (cp & 0x3F));
        } else {
            out[n++] = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == 'b' ? '\b'
                     : e == 'f' ? '\f' : e;
        }
    }
    out[n] = 0;
    *len = n;
    return out;
}

/* Encode one case; 1 if everything matches. legacy: tk was loaded from the
 * legacy files, so a case's "legacy" encoding (transformers' from those files,
 * where it differs from tokenizer.json's) is the reference. */
static int run_case(const PifiTokenizer *tk, const cJSON *c, const char *line, int index,
                    const char *label, int legacy, int *printed) {
    const cJSON *v;
    PifiEncodeOpts o = pifi_encode_opts_default();
    if ((v = cJSON_GetObjectItemCaseSensitive(c, "add_special_tokens"))) o.add_special_tokens = cJSON_IsTrue(v);
    if ((v = cJSON_GetObjectItemCaseSensitive(c, "max_length"))) o.max_length = v->valueint;
    if ((v = cJSON_GetObjectItemCaseSensitive(c, "pad_to"))) o.pad_to = v->valueint;
    if ((v = cJSON_GetObjectItemCaseSensitive(c, "truncation")) && cJSON_IsString(v)) {
        if (!strcmp(v->valuestring, "longest_first")) o.truncation = PIFI_TRUNC_LONGEST_FIRST;
        else if (!strcmp(v->valuestring, "only_first")) o.truncation = PIFI_TRUNC_ONLY_FIRST;
        else if (!strcmp(v->valuestring, "only_second")) o.truncation = PIFI_TRUNC_ONLY_SECOND;
    } else if (o.max_length) {
        o.truncation = PIFI_TRUNC_LONGEST_FIRST;
    }
    size_t la = 0, lb = 0;
    char *text = raw_string(line, "text", &la), *pair = raw_string(line, "pair", &lb);
    PifiEncoding enc = {0};
    PifiErr err = {0};
    int ok = 1;
    if (!text) {
        fprintf(stderr, "  %s case %d: no text\n", label, index);
        free(pair);
        return 0;
    }
    /* Cases with NUL bytes need the length-taking entry point. */
    int rc = memchr(text, 0, la) || (pair && memchr(pair, 0, lb))
                 ? tk_encode_bytes(tk, text, la, pair, lb, &o, &enc, &err)
                 : tokenizer_encode(tk, text, pair, &o, &enc, &err);
    if (rc) {
        if ((*printed)++ < MAX_PRINTED) fprintf(stderr, "  %s case %d: error: %s\n", label, index, err.msg);
        ok = 0;
        goto done;
    }
    static const char *names[] = {"ids", "type_ids", "attention_mask", "seq", "offsets"};
    const int32_t *got[] = {enc.ids, enc.type_ids, enc.attention_mask, enc.seq, enc.offsets};
    const cJSON *ref = legacy ? cJSON_GetObjectItemCaseSensitive(c, "legacy") : NULL;
    if (!ref) ref = c;
    for (int f = 0; f < 5; f++) {
        const cJSON *want = cJSON_GetObjectItemCaseSensitive(ref, names[f]);
        int stride = f == 4 ? 2 : 1, len_differs;
        int pos = diff_field(want, got[f], enc.n, stride, &len_differs);
        if (pos < 0) continue;
        if (ok == 1 && (*printed)++ < MAX_PRINTED) {
            fprintf(stderr, "  %s case %d (line %d) mismatch: text %.100s%s\n", label, index, index + 1,
                    text, pair ? " (with pair)" : "");
            ok = -1; /* printing this case */
        } else if (ok == 1) {
            ok = 0;
        }
        if (ok == -1) {
            if (len_differs)
                fprintf(stderr, "    %s: want %d tokens, got %d\n", names[f], cJSON_GetArraySize(want), enc.n);
            print_field(names[f], want, got[f], enc.n, stride, pos);
        }
    }
done:
    encoding_free(&enc);
    free(text);
    free(pair);
    return ok == 1;
}

/* Every case of corpus with tk; returns how many matched. */
static int run_corpus(const PifiTokenizer *tk, cJSON *const *cases, char *const *lines, int n,
                      const char *label, int legacy) {
    int matched = 0, printed = 0;
    for (int i = 0; i < n; i++) {
        int ok = run_case(tk, cases[i], lines[i], i, label, legacy, &printed);
        matched += ok;
        CHECKF(ok, "%s case %d", label, i);
    }
    if (printed > MAX_PRINTED) fprintf(stderr, "  %s: %d more failures not shown\n", label, printed - MAX_PRINTED);
    return matched;
}

/* The cases of a corpus.jsonl, parsed and as raw lines. */
static int load_cases(const char *path, cJSON ***out, char ***lines, int *n) {
    char *buf;
    size_t len;
    PifiErr err = {0};
    if (pifi_read_file(path, 0, &buf, &len, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    int cap = 0;
    *out = NULL, *lines = NULL, *n = 0;
    char *line = buf;
    while (line < buf + len) {
        char *nl = memchr(line, '\n', (size_t)(buf + len - line));
        size_t ll = nl ? (size_t)(nl - line) : (size_t)(buf + len - line);
        if (ll) {
            cJSON *c;
            if (pifi_json_parse(line, ll, path, &c, &err)) {
                fprintf(stderr, "%s (case %d)\n", err.msg, *n);
                free(buf);
                return -1;
            }
            if (*n == cap) {
                cap = cap ? 2 * cap : 256;
                *out = realloc(*out, (size_t)cap * sizeof **out);
                *lines = realloc(*lines, (size_t)cap * sizeof **lines);
                if (!*out || !*lines) abort();
            }
            (*out)[*n] = c;
            (*lines)[(*n)++] = strndup(line, ll);
        }
        line += ll + 1;
    }
    free(buf);
    return 0;
}

static void run_tokenizer(const char *name, int *found) {
    char dir[1024], path[1200], legacy[1200];
    snprintf(dir, sizeof dir, "%s/tokenizers/%s", test_fixtures(), name);
    snprintf(path, sizeof path, "%s/corpus.jsonl", dir);
    if (!pifi_file_exists(path)) {
        printf("%s: no fixture at %s, skipped\n", name, dir);
        return;
    }
    (*found)++;
    cJSON **cases;
    char **lines;
    int n;
    REQUIRE(load_cases(path, &cases, &lines, &n) == 0);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    snprintf(legacy, sizeof legacy, "%s/vocab.txt", dir);
    if (!pifi_file_exists(legacy)) snprintf(legacy, sizeof legacy, "%s/vocab.json", dir);
    /* and, where tools/oracle_gguf_encoder.py wrote one, the vocabulary as a
     * GGUF's tokenizer.ggml.* metadata (llama.cpp's "bert" layout) */
    char gguf[1200];
    snprintf(gguf, sizeof gguf, "%s/vocab.gguf", dir);
    const char *files[3], *how[3];
    int n_files = 0;
    files[n_files] = path, how[n_files++] = "tokenizer.json";
    if (pifi_file_exists(legacy)) files[n_files] = legacy, how[n_files++] = "legacy"; /* Unigram: tokenizer.json only */
    if (pifi_file_exists(gguf)) files[n_files] = gguf, how[n_files++] = "gguf";
    for (int k = 0; k < n_files; k++) {
        PifiTokenizer *tk = NULL;
        PifiErr err = {0};
        char label[256];
        snprintf(label, sizeof label, "%s (%s)", name, how[k]);
        if (tokenizer_load(&tk, files[k], &err)) {
            CHECKF(0, "%s: load failed: %s", label, err.msg);
            printf("%s: 0/%d cases match (load failed: %s)\n", label, n, err.msg);
            continue;
        }
        int matched = run_corpus(tk, cases, lines, n, label, !strcmp(how[k], "legacy"));
        printf("%s: %d/%d cases match exactly\n", label, matched, n);
        tokenizer_free(tk);
    }
    for (int i = 0; i < n; i++) {
        cJSON_Delete(cases[i]);
        free(lines[i]);
    }
    free(cases);
    free(lines);
}

int main(void) {
    int found = 0;
    const char *names[] = {"bert_uncased",   "bert_cased",     "roberta_bpe",
                           "deberta_v3_unigram", "albert_unigram", "t5_unigram_bytefallback",
                           "deberta_v3_tf5", "unigram_variants", "mpnet", "llama3_bpe", "qwen2_bpe"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) run_tokenizer(names[k], &found);
    if (!found) TEST_SKIP("no tokenizer fixtures under %s/tokenizers", test_fixtures());
    TEST_DONE();
}
