/* test_unigram.c: the parts of the SentencePiece Unigram tokenizers that
 * test_tokenizer_corpus.c (ids, type ids, masks, offsets against HF) does
 * not see:
 *  - the Metaspace decoder (tokenizer_decode): every case's ids of the fixtures
 *    tests/fixtures/tokenizers/{deberta_v3_unigram,albert_unigram,
 *    t5_unigram_bytefallback,deberta_v3_tf5,unigram_variants} decoded as `tokenizers`' decode(ids,
 *    skip_special_tokens=True) does (the corpus's "decoded");
 *  - the model's queries (vocabulary size, id <-> piece) on those files;
 *  - Metaspace's splitting and prepend schemes on small texts, and the
 *    Unigram model's tie, unknown and byte fallback rules on a tiny
 *    vocabulary, where the expected pieces follow from HF's definitions
 *    (and are what `tokenizers` 0.23.3 gives for the same files). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pifi/fileio.h"
#include "pifi/json.h"
#include "pifi/tokenizer.h"
#include "test.h"
#include "text/tokenizer_impl.h"

/* tokenizer_decode of the case's ids, skipping special tokens. */
static char *decode(const PifiTokenizer *tk, const cJSON *ids) {
    int32_t buf[4096];
    int n = 0;
    for (const cJSON *it = ids ? ids->child : NULL; it && n < 4096; it = it->next) buf[n++] = it->valueint;
    char *out = NULL;
    PifiErr err = {0};
    if (tokenizer_decode(tk, buf, n, 1, &out, &err)) return strdup(err.msg);
    return out;
}

static void test_decoder(const char *name) {
    char dir[1024], path[1200];
    snprintf(dir, sizeof dir, "%s/tokenizers/%s", test_fixtures(), name);
    snprintf(path, sizeof path, "%s/corpus.jsonl", dir);
    PifiTokenizer *tk = NULL;
    PifiErr err = {0};
    char *buf;
    size_t len;
    REQUIRE(pifi_read_file(path, 0, &buf, &len, &err) == 0);
    REQUIRE(tokenizer_load(&tk, dir, &err) == 0);
    CHECK(tk->kind == TK_UNIGRAM);
    int cases = 0, same = 0;
    for (char *line = buf; line < buf + len;) {
        char *nl = memchr(line, '\n', (size_t)(buf + len - line));
        size_t ll = nl ? (size_t)(nl - line) : (size_t)(buf + len - line);
        cJSON *c;
        REQUIRE(pifi_json_parse(line, ll, path, &c, &err) == 0);
        const cJSON *want = cJSON_GetObjectItemCaseSensitive(c, "decoded");
        char *got = decode(tk, cJSON_GetObjectItemCaseSensitive(c, "ids"));
        int ok = cJSON_IsString(want) && strcmp(want->valuestring, got) == 0;
        CHECKF(ok, "%s case %d: decoded \"%.80s\", want \"%.80s\"\n", name, cases, got,
               cJSON_IsString(want) ? want->valuestring : "(none)");
        same += ok, cases++;
        free(got);
        cJSON_Delete(c);
        line += ll + 1;
    }
    printf("%s: %d/%d decoded as tokenizers does\n", name, same, cases);
    /* queries: every piece maps back to its id (pieces are distinct here) */
    int v = tokenizer_vocab_size(tk), back = 0;
    for (int id = 0; id < v; id++) {
        const char *t = tokenizer_id_to_token(tk, id);
        back += t && tokenizer_token_to_id(tk, t) == id;
    }
    CHECKF(back == v, "%s: %d of %d ids map back\n", name, back, v);
    CHECK(tokenizer_id_to_token(tk, v) == NULL && tokenizer_id_to_token(tk, -1) == NULL);
    tokenizer_free(tk);
    free(buf);
}

/* ---- small tokenizer.json files ---------------------------------------------- */

static PifiTokenizer *load_json(const char *json) {
    static int k;
    char dir[256];
    snprintf(dir, sizeof dir, "/tmp/pifi-test-unigram-%d-%d", (int)getpid(), k++);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    if (system(cmd)) return NULL;
    char path[300];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) return NULL;
    fputs(json, f);
    fclose(f);
    PifiTokenizer *tk = NULL;
    PifiErr err = {0};
    if (tokenizer_load(&tk, dir, &err)) fprintf(stderr, "load: %s\n", err.msg);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
    return tk;
}

/* ids of text without specials, as "1 2 3" */
static void ids_of(const PifiTokenizer *tk, const char *text, char *out, size_t cap) {
    PifiEncodeOpts o = pifi_encode_opts_default();
    o.add_special_tokens = 0;
    PifiEncoding e = {0};
    PifiErr err = {0};
    out[0] = 0;
    if (tokenizer_encode(tk, text, NULL, &o, &e, &err)) {
        snprintf(out, cap, "error: %.400s", err.msg);
        return;
    }
    size_t n = 0;
    for (int i = 0; i < e.n && n + 16 < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%d", i ? " " : "", e.ids[i]);
    encoding_free(&e);
}

#define VOCAB                                                                                         \
    "[[\"<unk>\", 0.0], [\"\\u2581\", -1.0], [\"a\", -2.0], [\"b\", -2.0], [\"ab\", -4.0], "         \
    "[\"\\u2581ab\", -3.0], [\"<0x41>\", -9.0], [\"<0xC3>\", -9.0], [\"<0xA9>\", -9.0], [\"c\", -1.5]]"

static void test_rules(void) {
    char got[512];
    /* Metaspace always + split: "▁ab" (-3) beats "▁" "ab" (-5) and "▁" "a" "b" (-5) */
    PifiTokenizer *tk = load_json("{\"model\": {\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": " VOCAB "},"
                                  " \"pre_tokenizer\": {\"type\": \"Metaspace\", \"prepend_scheme\": \"always\"}}");
    REQUIRE(tk);
    ids_of(tk, "ab", got, sizeof got);
    CHECKF(!strcmp(got, "5"), "always: got %s\n", got);
    /* "ab ab": split before each '▁' */
    ids_of(tk, "ab ab", got, sizeof got);
    CHECKF(!strcmp(got, "5 5"), "split: got %s\n", got);
    /* two spaces: "▁" alone, then "▁ab" */
    ids_of(tk, "ab  ab", got, sizeof got);
    CHECKF(!strcmp(got, "5 1 5"), "run of spaces: got %s\n", got);
    /* "ab" (-4) against "a" "b" (-4): a tie keeps the path found first, the
     * one that reached the end first: "a" then "b" reaches 2 only after "ab" */
    ids_of(tk, " cab", got, sizeof got);
    CHECKF(!strcmp(got, "1 9 4"), "tie: got %s\n", got);
    /* unknown chars next to each other: one unk */
    ids_of(tk, "xyz", got, sizeof got);
    CHECKF(!strcmp(got, "1 0"), "unknowns fused: got %s\n", got);
    tokenizer_free(tk);

    /* byte fallback: "A" has its byte piece, "é" (C3 A9) both, "z" none -> unk */
    tk = load_json("{\"model\": {\"type\": \"Unigram\", \"unk_id\": 0, \"byte_fallback\": true, \"vocab\": " VOCAB
                   "}, \"pre_tokenizer\": {\"type\": \"Metaspace\", \"prepend_scheme\": \"never\"}}");
    REQUIRE(tk);
    ids_of(tk, "A", got, sizeof got);
    CHECKF(!strcmp(got, "6"), "byte fallback A: got %s\n", got);
    ids_of(tk, "\xc3\xa9", got, sizeof got);
    CHECKF(!strcmp(got, "7 8"), "byte fallback e-acute: got %s\n", got);
    ids_of(tk, "zA", got, sizeof got); /* fused "zA": not all bytes have pieces */
    CHECKF(!strcmp(got, "0"), "byte fallback, a byte without a piece: got %s\n", got);
    ids_of(tk, "ab", got, sizeof got); /* never: no '▁' */
    CHECKF(!strcmp(got, "4"), "never: got %s\n", got);
    tokenizer_free(tk);

    /* no unk_id: a char outside the vocabulary is an error naming the file */
    tk = load_json("{\"model\": {\"type\": \"Unigram\", \"vocab\": " VOCAB "}}");
    REQUIRE(tk);
    ids_of(tk, "ab", got, sizeof got);
    CHECKF(!strcmp(got, "4"), "no unk_id, known text: got %s\n", got);
    ids_of(tk, "aq", got, sizeof got);
    CHECKF(strstr(got, "error: ") && strstr(got, "tokenizer.json: ") && strstr(got, "no unk_id"),
           "no unk_id: got %s\n", got);
    tokenizer_free(tk);
}

int main(void) {
    char probe[1200];
    snprintf(probe, sizeof probe, "%s/tokenizers/deberta_v3_unigram/corpus.jsonl", test_fixtures());
    if (!pifi_file_exists(probe)) TEST_SKIP("no Unigram fixtures under %s/tokenizers", test_fixtures());
    test_decoder("deberta_v3_unigram");
    test_decoder("albert_unigram");
    test_decoder("t5_unigram_bytefallback");
    test_decoder("deberta_v3_tf5");
    test_decoder("unigram_variants");
    test_rules();
    TEST_DONE();
}
