/* test_gguf_tokenizer.c: the tokenizer of a GGUF file (tokenizer.ggml.*)
 * against HF `tokenizers` built from the same file's vocabulary
 * (tools/oracle_gguf_encoder.py, tests/fixtures/gguf_tokenizers/):
 *   smollm2      SmolLM2-135M-Instruct Q4_1 ($PIFI_MODELS): gpt2 byte-level
 *                BPE with merges, tokenizer.ggml.pre "smollm"
 *   qwen25       Qwen2.5-Coder-0.5B-Instruct Q4_K_M ($PIFI_MODELS): gpt2
 *                byte-level BPE, tokenizer.ggml.pre "qwen2" (the Qwen2 Split
 *                regex, split_regex.c), with tools/corpus.py's
 *                split_regex_cases besides the corpus
 *   stories260k  stories260K.gguf ($PIFI_SHARED/models): llama SentencePiece
 *                BPE by scores with byte fallback, bos added
 * ids identical on every corpus string (tools/corpus.py: real sentences,
 * Unicode, whitespace runs, accents, CJK, emoji, empty). The "bert" model is
 * checked, offsets included, by test_tokenizer_corpus (bert_uncased's
 * vocab.gguf). Also what a bad file is told. A model file that was not
 * fetched skips its part, saying so. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/fileio.h"
#include "pifi/json.h"
#include "pifi/tokenizer.h"
#include "test.h"

#define MAX_PRINTED 5

static void run(const char *name, const char *gguf) {
    if (!pifi_file_exists(gguf)) {
        printf("%s: %s absent, skipped\n", name, gguf);
        return;
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/gguf_tokenizers/%s.jsonl", test_fixtures(), name);
    char *buf;
    size_t len;
    PifiErr err = {0};
    REQUIRE(pifi_read_file(path, 0, &buf, &len, &err) == 0);
    PifiTokenizer *tk;
    int rc = tokenizer_load(&tk, gguf, &err);
    CHECKF(rc == 0, "%s: %s", name, err.msg);
    if (rc) {
        free(buf);
        return;
    }
    int n = 0, matched = 0, printed = 0;
    for (char *line = buf; line < buf + len;) {
        char *nl = memchr(line, '\n', (size_t)(buf + len - line));
        size_t ll = nl ? (size_t)(nl - line) : (size_t)(buf + len - line);
        cJSON *c;
        REQUIRE(pifi_json_parse(line, ll, path, &c, &err) == 0);
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(c, "text");
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(c, "ids");
        PifiEncoding enc = {0};
        int ok = cJSON_IsString(text) && tokenizer_encode(tk, text->valuestring, NULL, NULL, &enc, &err) == 0 &&
                 enc.n == cJSON_GetArraySize(ids);
        for (int i = 0; ok && i < enc.n; i++) ok = enc.ids[i] == cJSON_GetArrayItem(ids, i)->valueint;
        if (!ok && printed++ < MAX_PRINTED) {
            char *w = cJSON_PrintUnformatted(ids);
            fprintf(stderr, "  %s case %d: text %.80s\n    want %.300s\n    got ", name, n,
                    cJSON_IsString(text) ? text->valuestring : "?", w);
            for (int i = 0; i < enc.n && i < 60; i++) fprintf(stderr, "%d,", enc.ids[i]);
            fprintf(stderr, "\n");
            free(w);
        }
        CHECKF(ok, "%s case %d", name, n);
        matched += ok;
        n++;
        encoding_free(&enc);
        cJSON_Delete(c);
        line += ll + 1;
    }
    printf("%s: %d/%d strings give HF's ids\n", name, matched, n);
    CHECK(n >= 2000);
    tokenizer_free(tk);
    free(buf);
}

/* A GGUF's tokenizer keys, broken one at a time in a copy of a small file. */
static void test_bad(void) {
    char dir[1100], path[1200];
    snprintf(dir, sizeof dir, "%s/gguf_encoder/tiny_f32.gguf", test_fixtures());
    PifiTokenizer *tk = NULL;
    PifiErr err = {0};
    REQUIRE(tokenizer_load(&tk, dir, &err) == 0);
    CHECK(tokenizer_vocab_size(tk) == 1200);
    CHECK(tokenizer_token_to_id(tk, "[CLS]") == 101 && tokenizer_token_to_id(tk, "##s") >= 0);
    tokenizer_free(tk);
    /* tokenizer.ggml.model "bert" -> "bart": refused by name */
    char *buf;
    size_t len;
    REQUIRE(pifi_read_file(dir, 0, &buf, &len, &err) == 0);
    snprintf(path, sizeof path, "%s/bad_model.gguf", test_tmp());
    static const char KEY[] = "tokenizer.ggml.model\010\000\000\000\004\000\000\000\000\000\000\000bert";
    char *p = memmem(buf, len, KEY, sizeof KEY - 1); /* key, type STRING, length 4, value */
    REQUIRE(p != NULL);
    memcpy(p + sizeof KEY - 5, "bart", 4);
    REQUIRE(pifi_write_file_atomic(path, buf, len, &err) == 0);
    tk = NULL;
    CHECK(tokenizer_load(&tk, path, &err) == -1 && tk == NULL);
    CHECK_MSG(err, "tokenizer.ggml.model \"bart\" is not supported (supported: bert, gpt2, llama)");
    CHECK_MSG(err, path);
    CHECK(strchr(err.msg, '\n') == NULL);
    /* a truncated file: the reader's one-line error naming it */
    snprintf(path, sizeof path, "%s/bad_short.gguf", test_tmp());
    REQUIRE(pifi_write_file_atomic(path, buf, 200, &err) == 0);
    CHECK(tokenizer_load(&tk, path, &err) == -1);
    CHECK_MSG(err, path);
    CHECK(strchr(err.msg, '\n') == NULL);
    free(buf);
}

int main(void) {
    const char *models = test_env("PIFI_MODELS", "models");
    char dflt[1100], smol[1200], stories[1200], qwen[1200];
    snprintf(dflt, sizeof dflt, "%s/../../../shared", test_fixtures());
    const char *shared = test_env("PIFI_SHARED", dflt);
    snprintf(smol, sizeof smol, "%s/SmolLM2-135M-Instruct.Q4_1.gguf", models);
    snprintf(qwen, sizeof qwen, "%s/Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf", models);
    snprintf(stories, sizeof stories, "%s/models/stories260K/stories260K.gguf", shared);
    test_bad();
    run("smollm2", smol);
    run("qwen25", qwen);
    run("stories260k", stories);
    TEST_DONE();
}
