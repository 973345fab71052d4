/* test_split_regex.c: the Llama-3 and Qwen2 Split regexes written by hand
 * (src/text/split_regex.c) against HF `tokenizers`' Split(Regex(pattern),
 * "isolated") on the same strings: tests/fixtures/tokenizers/split_regex/
 * pieces.jsonl (tools/oracle_llama3_tokenizer.py: the tokenizer corpus, its
 * pairs' second texts and tools/corpus.py's split_regex_cases), byte ranges
 * identical for both regexes. Then what a tokenizer.json or a GGUF is told
 * when its pre-tokenizer is one pifi does not have: a one-line error naming
 * the file. (Whole tokenizers with these regexes: test_tokenizer_corpus's
 * llama3_bpe, test_gguf_tokenizer's qwen25.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/fileio.h"
#include "pifi/json.h"
#include "pifi/tokenizer.h"
#include "test.h"
#include "text/split_regex.h"

#define MAX_PRINTED 5

/* The pieces of text as "[[a,b],[c,d]]", the form the fixture writes. */
static char *tile(SplitRegex r, const char *text, size_t len) {
    size_t cap = 32 + 24 * len, n = 0;
    char *out = malloc(cap);
    if (!out) abort();
    n += (size_t)snprintf(out + n, cap - n, "[");
    for (size_t pos = 0; pos < len;) {
        size_t end = split_regex_next(r, text, len, pos);
        if (end <= pos || end > len) {
            n += (size_t)snprintf(out + n, cap - n, "%s\"stuck at %zu\"", pos ? "," : "", pos);
            break;
        }
        n += (size_t)snprintf(out + n, cap - n, "%s[%zu,%zu]", pos ? "," : "", pos, end);
        pos = end;
    }
    snprintf(out + n, cap - n, "]");
    return out;
}

static void test_pieces(void) {
    char path[1200];
    snprintf(path, sizeof path, "%s/tokenizers/split_regex/pieces.jsonl", test_fixtures());
    char *buf;
    size_t len;
    PifiErr err = {0};
    REQUIRE(pifi_read_file(path, 0, &buf, &len, &err) == 0);
    static const struct {
        SplitRegex r;
        const char *key;
    } regexes[] = {{SPLIT_LLAMA3, "llama3"}, {SPLIT_QWEN2, "qwen2"}};
    int n = 0, matched[2] = {0, 0}, printed = 0;
    for (char *line = buf; line < buf + len;) {
        char *nl = memchr(line, '\n', (size_t)(buf + len - line));
        size_t ll = nl ? (size_t)(nl - line) : (size_t)(buf + len - line);
        cJSON *c;
        REQUIRE(pifi_json_parse(line, ll, path, &c, &err) == 0);
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(c, "text");
        REQUIRE(cJSON_IsString(text));
        for (int k = 0; k < 2; k++) {
            char *want = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(c, regexes[k].key));
            char *got = tile(regexes[k].r, text->valuestring, strlen(text->valuestring));
            int ok = want && !strcmp(want, got);
            if (!ok && printed++ < MAX_PRINTED)
                fprintf(stderr, "  %s case %d: text %.80s\n    want %.300s\n    got  %.300s\n", regexes[k].key, n,
                        text->valuestring, want ? want : "?", got);
            CHECKF(ok, "%s case %d", regexes[k].key, n);
            matched[k] += ok;
            free(want);
            free(got);
        }
        n++;
        cJSON_Delete(c);
        line += ll + 1;
    }
    printf("split regexes: llama3 %d/%d, qwen2 %d/%d strings cut as HF cuts them\n", matched[0], n, matched[1], n);
    CHECK(n >= 2000);
    free(buf);
    /* invalid UTF-8 (the pipeline validates first) never hangs and still tiles the text */
    const char bad[] = "a\xff\xc3 \x80\xe2\x82'\xc5";
    for (int k = 0; k < 2; k++) {
        size_t pos = 0, steps = 0;
        while (pos < sizeof bad - 1 && steps++ < 100) pos = split_regex_next(regexes[k].r, bad, sizeof bad - 1, pos);
        CHECK(pos == sizeof bad - 1);
    }
}

/* llama3_bpe's tokenizer.json with its Split changed by edit, written to a
 * file of its own; returns what tokenizer_load said (NULL when it loaded). */
static const char *load_edited(const char *name, void (*edit)(cJSON *split, cJSON *bytelevel, cJSON *seq),
                               PifiErr *err, char *path, size_t path_cap) {
    char src[1200];
    snprintf(src, sizeof src, "%s/tokenizers/llama3_bpe/tokenizer.json", test_fixtures());
    cJSON *root;
    if (pifi_json_load(src, 64u << 20, &root, err)) return err->msg;
    cJSON *seq = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
    cJSON *list = cJSON_GetObjectItemCaseSensitive(seq, "pretokenizers");
    edit(cJSON_GetArrayItem(list, 0), cJSON_GetArrayItem(list, 1), list);
    char *text = cJSON_PrintUnformatted(root);
    snprintf(path, path_cap, "%s/split_%s.json", test_tmp(), name);
    int rc = pifi_write_file_atomic(path, text, strlen(text), err);
    free(text);
    cJSON_Delete(root);
    if (rc) return err->msg;
    PifiTokenizer *tk = NULL;
    if (tokenizer_load(&tk, path, err)) return err->msg;
    tokenizer_free(tk);
    return NULL;
}

static void set_regex(cJSON *split, const char *pattern) {
    cJSON *pat = cJSON_GetObjectItemCaseSensitive(split, "pattern");
    cJSON_ReplaceItemInObjectCaseSensitive(pat, "Regex", cJSON_CreateString(pattern));
}
static void edit_none(cJSON *s, cJSON *b, cJSON *q) { (void)s, (void)b, (void)q; }
static void edit_gpt2(cJSON *s, cJSON *b, cJSON *q) {
    (void)b, (void)q;
    set_regex(s, "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");
}
static void edit_qwen2(cJSON *s, cJSON *b, cJSON *q) {
    (void)b, (void)q;
    set_regex(s, SPLIT_REGEXES[1].pattern);
}
static void edit_string(cJSON *s, cJSON *b, cJSON *q) {
    (void)b, (void)q;
    cJSON_ReplaceItemInObjectCaseSensitive(s, "pattern", cJSON_Parse("{\"String\":\" \"}"));
}
static void edit_removed(cJSON *s, cJSON *b, cJSON *q) {
    (void)b, (void)q;
    cJSON_ReplaceItemInObjectCaseSensitive(s, "behavior", cJSON_CreateString("Removed"));
}
static void edit_invert(cJSON *s, cJSON *b, cJSON *q) {
    (void)b, (void)q;
    cJSON_ReplaceItemInObjectCaseSensitive(s, "invert", cJSON_CreateTrue());
}
static void edit_use_regex(cJSON *s, cJSON *b, cJSON *q) {
    (void)s, (void)q;
    cJSON_ReplaceItemInObjectCaseSensitive(b, "use_regex", cJSON_CreateTrue());
}
static void edit_three(cJSON *s, cJSON *b, cJSON *q) {
    (void)s, (void)b;
    cJSON_AddItemToArray(q, cJSON_Parse("{\"type\":\"Digits\",\"individual_digits\":true}"));
}

static void test_tokenizer_json(void) {
    static const struct {
        const char *name;
        void (*edit)(cJSON *, cJSON *, cJSON *);
        const char *msg; /* NULL: loads */
    } cases[] = {
        {"llama3", edit_none, NULL},
        {"qwen2", edit_qwen2, NULL},
        {"gpt2", edit_gpt2, "pre_tokenizer Split: only the Llama-3 and Qwen2 regexes are supported, not \"'s|'t|"},
        {"string", edit_string,
         "pre_tokenizer Split: only the Llama-3 and Qwen2 regexes are supported, not a String pattern"},
        {"removed", edit_removed, "pre_tokenizer Split: only behavior Isolated, not inverted, is supported"},
        {"invert", edit_invert, "pre_tokenizer Split: only behavior Isolated, not inverted, is supported"},
        {"use_regex", edit_use_regex,
         "pre_tokenizer ByteLevel after a Split: add_prefix_space and use_regex must be false"},
        {"three", edit_three, "pre_tokenizer Sequence is supported only as [Split, ByteLevel] (Llama-3, Qwen2)"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        PifiErr err = {0};
        char path[1200];
        const char *got = load_edited(cases[k].name, cases[k].edit, &err, path, sizeof path);
        if (!cases[k].msg) {
            CHECKF(got == NULL, "%s: %s", cases[k].name, got ? got : "");
            continue;
        }
        CHECKF(got != NULL, "%s loaded", cases[k].name);
        if (!got) continue;
        CHECK_MSG(err, cases[k].msg);
        CHECK_MSG(err, path);
        CHECK(strchr(err.msg, '\n') == NULL);
    }
}

/* The qwen2 regex cuts digits one by one where llama3 keeps groups of three:
 * the same vocabulary gives different ids for "12345" under each. */
static void test_digits(void) {
    PifiErr err = {0};
    char path[1200];
    REQUIRE(load_edited("qwen2_digits", edit_qwen2, &err, path, sizeof path) == NULL);
    PifiTokenizer *q = NULL, *l = NULL;
    char src[1200];
    snprintf(src, sizeof src, "%s/tokenizers/llama3_bpe/tokenizer.json", test_fixtures());
    REQUIRE(tokenizer_load(&q, path, &err) == 0);
    REQUIRE(tokenizer_load(&l, src, &err) == 0);
    PifiEncodeOpts o = pifi_encode_opts_default();
    o.add_special_tokens = 0;
    PifiEncoding eq = {0}, el = {0};
    REQUIRE(tokenizer_encode(q, "2024 12345", NULL, &o, &eq, &err) == 0);
    REQUIRE(tokenizer_encode(l, "2024 12345", NULL, &o, &el, &err) == 0);
    CHECKF(eq.n == 10, "qwen2: %d tokens for 2024 12345", eq.n); /* 2 0 2 4 Ġ 1 2 3 4 5 */
    CHECKF(el.n < eq.n, "llama3: %d tokens", el.n);
    encoding_free(&eq), encoding_free(&el);
    tokenizer_free(q), tokenizer_free(l);
}

/* A GGUF whose tokenizer.ggml.pre names a pre-tokenizer pifi lacks. */
static void test_gguf_pre(void) {
    char src[1200], path[1200];
    snprintf(src, sizeof src, "%s/tokenizers/llama3_bpe/vocab.gguf", test_fixtures());
    char *buf;
    size_t len;
    PifiErr err = {0};
    REQUIRE(pifi_read_file(src, 0, &buf, &len, &err) == 0);
    char *p = memmem(buf, len, "llama-bpe", 9);
    REQUIRE(p != NULL);
    memcpy(p, "llama-bpx", 9);
    snprintf(path, sizeof path, "%s/split_bad_pre.gguf", test_tmp());
    REQUIRE(pifi_write_file_atomic(path, buf, len, &err) == 0);
    PifiTokenizer *tk = NULL;
    CHECK(tokenizer_load(&tk, path, &err) == -1 && tk == NULL);
    CHECK_MSG(err, "tokenizer.ggml.pre \"llama-bpx\" is not supported (supported: default, gpt2, smollm, llama3, "
                   "llama-v3, llama-bpe, qwen2, deepseek-r1-qwen)");
    CHECK_MSG(err, path);
    CHECK(strchr(err.msg, '\n') == NULL);
    free(buf);
}

int main(void) {
    test_pieces();
    test_tokenizer_json();
    test_digits();
    test_gguf_pre();
    TEST_DONE();
}
