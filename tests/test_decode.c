/* test_decode.c: tokenizer_decode (src/text/decode.c) against `tokenizers`'
 * Tokenizer.decode on tests/fixtures/tokenizers/decode.jsonl
 * (tools/oracle_decode.py): the ids of WordPiece (BERT cased and uncased,
 * MPNet), byte-level BPE (RoBERTa, Qwen2, Llama-3) and Unigram (T5 with
 * byte fallback, ALBERT, the Multi30K T5 of experiments/) fixtures, whole
 * and cut at both ends (a character split across byte-level tokens decodes
 * to U+FFFD), with and without skip_special_tokens; every case must be
 * byte-identical. And the error of a vocabulary it cannot decode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/fileio.h"
#include "pifi/json.h"
#include "pifi/tokenizer.h"
#include "test.h"

#define N_TOK 16

/* The tokenizer of a case, loaded the first time it is named (NULL: it fails to load). */
static PifiTokenizer *tokenizer_named(const char *name, char names[N_TOK][64], PifiTokenizer *tks[N_TOK]) {
    for (int i = 0; i < N_TOK; i++) {
        if (names[i][0] && !strcmp(names[i], name)) return tks[i];
        if (names[i][0]) continue;
        char dir[1200];
        if (!strcmp(name, "multi30k")) snprintf(dir, sizeof dir, "%s/../../experiments/multi30k-t5", test_fixtures());
        else snprintf(dir, sizeof dir, "%s/tokenizers/%s", test_fixtures(), name);
        PifiErr err = {0};
        if (tokenizer_load(&tks[i], dir, &err)) fprintf(stderr, "%s\n", err.msg);
        snprintf(names[i], 64, "%s", name);
        return tks[i];
    }
    return NULL;
}

static void test_fixture(const char *path) {
    char *buf;
    size_t len;
    PifiErr err = {0};
    REQUIRE(pifi_read_file(path, 0, &buf, &len, &err) == 0);
    char names[N_TOK][64] = {{0}};
    PifiTokenizer *tks[N_TOK] = {0};
    int cases = 0, same = 0, replacement = 0;
    int32_t *ids = malloc(8192 * sizeof *ids);
    REQUIRE(ids);
    for (char *line = buf; line < buf + len;) {
        char *nl = memchr(line, '\n', (size_t)(buf + len - line));
        size_t ll = nl ? (size_t)(nl - line) : (size_t)(buf + len - line);
        cJSON *c;
        REQUIRE(pifi_json_parse(line, ll, path, &c, &err) == 0);
        line += ll + 1;
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "tokenizer");
        if (!cJSON_IsString(name)) { /* the meta line */
            cJSON_Delete(c);
            continue;
        }
        PifiTokenizer *tk = tokenizer_named(name->valuestring, names, tks);
        REQUIRE(tk);
        int n = 0;
        for (const cJSON *it = cJSON_GetObjectItemCaseSensitive(c, "ids")->child; it && n < 8192; it = it->next)
            ids[n++] = it->valueint;
        const char *want = cJSON_GetObjectItemCaseSensitive(c, "text")->valuestring;
        int skip = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "skip_special"));
        char *got = NULL;
        int rc = tokenizer_decode(tk, ids, n, skip, &got, &err);
        int ok = rc == 0 && !strcmp(got, want);
        CHECKF(ok, "%s case %d (skip %d): decoded \"%.100s\", want \"%.100s\"\n", name->valuestring, cases, skip,
               got ? got : err.msg, want);
        same += ok, cases++;
        replacement += strstr(want, "\xEF\xBF\xBD") != NULL;
        free(got);
        cJSON_Delete(c);
    }
    printf("%d/%d cases decoded as tokenizers does (%d with U+FFFD)\n", same, cases, replacement);
    CHECK(cases >= 2000);
    CHECK(replacement > 0);
    for (int i = 0; i < N_TOK; i++)
        if (tks[i]) tokenizer_free(tks[i]);
    free(ids);
    free(buf);
}

int main(void) {
    char path[1200];
    snprintf(path, sizeof path, "%s/tokenizers/decode.jsonl", test_fixtures());
    if (!pifi_file_exists(path)) TEST_SKIP("no %s", path);
    test_fixture(path);
    PifiErr err = {0};

    /* a GGUF llama (SentencePiece) vocabulary: refused in one line naming the file */
    const char *shared = getenv("PIFI_SHARED");
    snprintf(path, sizeof path, "%s/models/stories260K/stories260K.gguf", shared ? shared : "../shared");
    PifiTokenizer *spm = NULL;
    if (pifi_file_exists(path) && tokenizer_load(&spm, path, &err) == 0) {
        char *got = NULL;
        int32_t one = 5;
        CHECK(tokenizer_decode(spm, &one, 1, 1, &got, &err) == -1 && !got);
        CHECK_MSG(err, "stories260K.gguf: decoding a SentencePiece");
        tokenizer_free(spm);
    }
    TEST_DONE();
}
