/* test_tokenizer.c: unit tests of the tokenizer pipeline on a tiny
 * WordPiece vocabulary (expected values from HF transformers 5.24 /
 * tokenizers 0.23 on the same files), UTF-8 validation, and bad inputs:
 * invalid text, duplicate or incomplete vocabularies, broken tokenizer.json. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/fileio.h"
#include "pifi/tokenizer.h"
#include "test.h"
#include "core/utf8.h"

static const char *TINY_VOCAB = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nun\n##aff\n##able\na\n##a\n##b\nb\nc\n"
                                "cafe\n,\n.\nhello\nworld\n\xe4\xb8\xad\ni\n";

static const char *TINY_JSON =
    "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":["
    "{\"id\":0,\"content\":\"[PAD]\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true},"
    "{\"id\":1,\"content\":\"[UNK]\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true},"
    "{\"id\":2,\"content\":\"[CLS]\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true},"
    "{\"id\":3,\"content\":\"[SEP]\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true},"
    "{\"id\":4,\"content\":\"[MASK]\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true}],"
    "\"normalizer\":{\"type\":\"BertNormalizer\",\"clean_text\":true,\"handle_chinese_chars\":true,\"strip_accents\":null,\"lowercase\":true},"
    "\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"},"
    "\"post_processor\":{\"type\":\"BertProcessing\",\"sep\":[\"[SEP]\",3],\"cls\":[\"[CLS]\",2]},"
    "\"decoder\":null,"
    "\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"continuing_subword_prefix\":\"##\",\"max_input_chars_per_word\":100,"
    "\"vocab\":{\"[PAD]\":0,\"[UNK]\":1,\"[CLS]\":2,\"[SEP]\":3,\"[MASK]\":4,\"un\":5,\"##aff\":6,\"##able\":7,\"a\":8,\"##a\":9,"
    "\"##b\":10,\"b\":11,\"c\":12,\"cafe\":13,\",\":14,\".\":15,\"hello\":16,\"world\":17,\"\xe4\xb8\xad\":18,\"i\":19}}}";

static char *write_dir(const char *name, const char *file, const char *content) {
    static char dir[1024];
    char path[1200];
    snprintf(dir, sizeof dir, "%s/tok_%s", test_tmp(), name);
    PifiErr err;
    if (pifi_mkdirs(dir, &err)) fprintf(stderr, "%s\n", err.msg);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (pifi_write_file_atomic(path, content, strlen(content), &err)) fprintf(stderr, "%s\n", err.msg);
    return dir;
}

/* The encoding has exactly these ids and (start, end) pairs. */
static int same(const PifiEncoding *e, const int32_t *ids, const int32_t *offs, int n) {
    if (e->n != n) return 0;
    for (int i = 0; i < n; i++)
        if (e->ids[i] != ids[i] || e->offsets[2 * i] != offs[2 * i] || e->offsets[2 * i + 1] != offs[2 * i + 1])
            return 0;
    return 1;
}

static void dump(const char *what, const PifiEncoding *e) {
    fprintf(stderr, "  %s:", what);
    for (int i = 0; i < e->n; i++)
        fprintf(stderr, " %d(%d,%d)t%d", e->ids[i], e->offsets[2 * i], e->offsets[2 * i + 1], e->type_ids[i]);
    fprintf(stderr, "\n");
}

#define EXPECT(tk, text, pair, opts, IDS, OFFS)                                             \
    do {                                                                                    \
        static const int32_t ids_[] = IDS, offs_[] = OFFS;                                   \
        PifiEncoding e_ = {0};                                                              \
        PifiErr err_ = {0};                                                                 \
        int rc_ = tokenizer_encode(tk, text, pair, opts, &e_, &err_);                       \
        CHECKF(rc_ == 0, "%s", err_.msg);                                                   \
        int ok_ = rc_ == 0 && same(&e_, ids_, offs_, (int)(sizeof ids_ / sizeof ids_[0]));  \
        CHECKF(ok_, "encoding of \"%s\"", text);                                            \
        if (!ok_) dump(text, &e_);                                                          \
        encoding_free(&e_);                                                                 \
    } while (0)
#define L(...) {__VA_ARGS__}

static void test_utf8(void) {
    size_t bad = 99;
    CHECK(utf8_valid("h\xc3\xa9llo \xe4\xb8\xad \xf0\x9f\x98\x80", 15, &bad));
    struct { const char *s; size_t at; } cases[] = {
        {"ab\xc3(", 2},       {"\xc0\xaf", 0},         {"x\xe0\x80\xaf", 1}, {"\xed\xa0\x80", 0},
        {"ok\xf4\x90\x80\x80", 2}, {"\xe2\x82", 0},    {"\x80", 0},          {"abc\xff", 3},
        {"\xf0\x9f\x98", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bad = 99;
        CHECKF(!utf8_valid(cases[i].s, strlen(cases[i].s), &bad) && bad == cases[i].at, "case %zu: bad=%zu", i, bad);
    }
    char buf[4];
    int32_t cps[] = {0x41, 0xE9, 0x4E2D, 0x1F600, 0x10FFFF};
    for (size_t i = 0; i < 5; i++) {
        int n = utf8_put(cps[i], buf);
        size_t at = 0;
        CHECK(n == utf8_len(cps[i]) && utf8_next(buf, (size_t)n, &at) == cps[i] && at == (size_t)n);
    }
}

/* The same expectations hold for the legacy vocab.txt and the tokenizer.json. */
static void test_tiny(const char *path) {
    PifiTokenizer *tk = NULL;
    PifiErr err = {0};
    REQUIRE(tokenizer_load(&tk, path, &err) == 0);
    CHECK(tokenizer_vocab_size(tk) == 20);
    CHECK(tokenizer_token_to_id(tk, "##aff") == 6 && tokenizer_token_to_id(tk, "nope") == -1);
    CHECK(tokenizer_id_to_token(tk, 18) && !strcmp(tokenizer_id_to_token(tk, 18), "\xe4\xb8\xad"));
    CHECK(tokenizer_id_to_token(tk, 20) == NULL && tokenizer_id_to_token(tk, -1) == NULL);
    CHECK(tokenizer_pad_id(tk) == 0 && tokenizer_model_max_length(tk) == 512);
    PifiEncodeOpts o = pifi_encode_opts_default();
    EXPECT(tk, "unaffable", NULL, &o, L(2, 5, 6, 7, 3), L(0, 0, 0, 2, 2, 5, 5, 9, 0, 0));
    /* accents stripped (offsets still cover the 2-byte char), punctuation split, unknown "!" */
    EXPECT(tk, "Caf\xc3\xa9, hello!", NULL, &o, L(2, 13, 14, 16, 1, 3),
           L(0, 0, 0, 5, 5, 6, 7, 12, 12, 13, 0, 0));
    EXPECT(tk, "xyz", NULL, &o, L(2, 1, 3), L(0, 0, 0, 3, 0, 0));
    char longw[102];
    memset(longw, 'a', 101), longw[101] = 0; /* over max_input_chars_per_word */
    EXPECT(tk, longw, NULL, &o, L(2, 1, 3), L(0, 0, 0, 101, 0, 0));
    longw[3] = 0;
    EXPECT(tk, longw, NULL, &o, L(2, 8, 9, 9, 3), L(0, 0, 0, 1, 1, 2, 2, 3, 0, 0));
    EXPECT(tk, "\xc4\xb0", NULL, &o, L(2, 19, 3), L(0, 0, 0, 2, 0, 0));              /* İ -> i */
    EXPECT(tk, "\xe4\xb8\xad" "c", NULL, &o, L(2, 18, 12, 3), L(0, 0, 0, 3, 3, 4, 0, 0)); /* CJK split */
    EXPECT(tk, "[CLS]hello", NULL, &o, L(2, 2, 16, 3), L(0, 0, 0, 5, 5, 10, 0, 0));
    EXPECT(tk, "a\x01" "b", NULL, &o, L(2, 8, 10, 3), L(0, 0, 0, 1, 2, 3, 0, 0));     /* control dropped */
    EXPECT(tk, "", NULL, &o, L(2, 3), L(0, 0, 0, 0));

    /* truncation happens before the special tokens are added */
    o.max_length = 8, o.truncation = PIFI_TRUNC_LONGEST_FIRST;
    EXPECT(tk, "hello world a b c", "un c", &o, L(2, 16, 17, 8, 3, 5, 12, 3),
           L(0, 0, 0, 5, 6, 11, 12, 13, 0, 0, 0, 2, 3, 4, 0, 0));
    o.truncation = PIFI_TRUNC_ONLY_FIRST;
    EXPECT(tk, "hello world a b c", "un c", &o, L(2, 16, 17, 8, 3, 5, 12, 3),
           L(0, 0, 0, 5, 6, 11, 12, 13, 0, 0, 0, 2, 3, 4, 0, 0));
    o.max_length = 7, o.truncation = PIFI_TRUNC_ONLY_SECOND;
    EXPECT(tk, "hello world", "un c a b", &o, L(2, 16, 17, 3, 5, 12, 3),
           L(0, 0, 0, 5, 6, 11, 0, 0, 0, 2, 3, 4, 0, 0));
    o.max_length = 2, o.truncation = PIFI_TRUNC_LONGEST_FIRST;
    EXPECT(tk, "hello world a b c", NULL, &o, L(2, 3), L(0, 0, 0, 0));

    PifiEncoding e = {0};
    o.max_length = 4, o.truncation = PIFI_TRUNC_ONLY_FIRST;
    CHECK(tokenizer_encode(tk, "hello world", "un c a b", &o, &e, &err) == -1);
    CHECK_MSG(err, "too short");
    o.max_length = 3, o.truncation = PIFI_TRUNC_ONLY_SECOND;
    CHECK(tokenizer_encode(tk, "hello world", NULL, &o, &e, &err) == -1);
    CHECK_MSG(err, "no second sequence");

    /* type ids and sequence ids of a pair, with and without special tokens */
    o = pifi_encode_opts_default();
    REQUIRE(tokenizer_encode(tk, "hello", "c", &o, &e, &err) == 0);
    int32_t types[] = {0, 0, 0, 1, 1}, seqs[] = {-1, 0, -1, 1, -1}, specials[] = {1, 0, 1, 0, 1};
    CHECK(e.n == 5 && !memcmp(e.type_ids, types, sizeof types) && !memcmp(e.seq, seqs, sizeof seqs) &&
          !memcmp(e.special_mask, specials, sizeof specials));
    o.add_special_tokens = 0;
    REQUIRE(tokenizer_encode(tk, "hello", "c", &o, &e, &err) == 0);
    CHECK(e.n == 2 && e.ids[0] == 16 && e.ids[1] == 12 && e.type_ids[0] == 0 && e.type_ids[1] == 1);

    /* padding on the right; never shortens */
    o = pifi_encode_opts_default();
    o.pad_to = 5;
    REQUIRE(tokenizer_encode(tk, "hello", NULL, &o, &e, &err) == 0);
    int32_t ids[] = {2, 16, 3, 0, 0}, attn[] = {1, 1, 1, 0, 0}, seq[] = {-1, 0, -1, -1, -1};
    CHECK(e.n == 5 && !memcmp(e.ids, ids, sizeof ids) && !memcmp(e.attention_mask, attn, sizeof attn) &&
          !memcmp(e.seq, seq, sizeof seq));
    o.pad_to = 2;
    REQUIRE(tokenizer_encode(tk, "hello", NULL, &o, &e, &err) == 0);
    CHECK(e.n == 3);

    /* invalid UTF-8 */
    CHECK(tokenizer_encode(tk, "ab\xc3(", NULL, NULL, &e, &err) == -1);
    CHECK_MSG(err, "text: text is not valid UTF-8 at byte 2");
    CHECK(tokenizer_encode(tk, "ok", "\xed\xa0\x80", NULL, &e, &err) == -1);
    CHECK_MSG(err, "pair: text is not valid UTF-8 at byte 0");
    encoding_free(&e);
    tokenizer_free(tk);
}

/* Added tokens: a normalized single-word one (matched after lowercasing, not
 * inside words, winning over the vocabulary) and a raw one that swallows the
 * spaces around it. */
static void test_added_tokens(void) {
    const char *extra = ",{\"id\":20,\"content\":\"WoRLD\",\"single_word\":true,\"lstrip\":false,"
                        "\"rstrip\":false,\"normalized\":true,\"special\":false},"
                        "{\"id\":21,\"content\":\"[X]\",\"single_word\":false,\"lstrip\":true,"
                        "\"rstrip\":true,\"normalized\":false,\"special\":false}";
    const char *at = strstr(TINY_JSON, "],\"normalizer\"");
    REQUIRE(at != NULL);
    size_t head = (size_t)(at - TINY_JSON);
    char *json = malloc(strlen(TINY_JSON) + strlen(extra) + 1);
    REQUIRE(json != NULL);
    memcpy(json, TINY_JSON, head);
    strcpy(json + head, extra);
    strcat(json, at);
    char *dir = write_dir("tiny_added", "tokenizer.json", json);
    free(json);
    PifiTokenizer *tk = NULL;
    PifiErr err = {0};
    REQUIRE(tokenizer_load(&tk, dir, &err) == 0);
    CHECK(tokenizer_vocab_size(tk) == 22 && tokenizer_token_to_id(tk, "[X]") == 21);
    PifiEncodeOpts o = pifi_encode_opts_default();
    EXPECT(tk, "a [X] b", NULL, &o, L(2, 8, 21, 11, 3), L(0, 0, 0, 1, 1, 6, 6, 7, 0, 0));
    EXPECT(tk, "a[X]b", NULL, &o, L(2, 8, 21, 11, 3), L(0, 0, 0, 1, 1, 4, 4, 5, 0, 0));
    EXPECT(tk, "world xworld", NULL, &o, L(2, 20, 1, 3), L(0, 0, 0, 5, 6, 12, 0, 0));
    EXPECT(tk, "hello World", NULL, &o, L(2, 16, 20, 3), L(0, 0, 0, 5, 6, 11, 0, 0));
    /* max_length below the special tokens' count is refused (HF wraps around) */
    PifiEncoding e = {0};
    o.max_length = 2, o.truncation = PIFI_TRUNC_LONGEST_FIRST;
    CHECK(tokenizer_encode(tk, "hello", "world", &o, &e, &err) == -1);
    CHECK_MSG(err, "no room for the 3 special tokens");
    encoding_free(&e);
    tokenizer_free(tk);
}

static void expect_load_error(const char *path, const char *sub1, const char *sub2) {
    PifiTokenizer *tk = NULL;
    PifiErr err = {0};
    CHECKF(tokenizer_load(&tk, path, &err) == -1 && tk == NULL, "%s loaded", path);
    CHECK_MSG(err, sub1);
    if (sub2) CHECK_MSG(err, sub2);
    tokenizer_free(tk);
}

static void test_bad_files(void) {
    char path[1200];
    char *dir = write_dir("dup", "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\nx\nhello\n");
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    expect_load_error(path, path, "duplicate token \"hello\" on lines 5 and 7");
    dir = write_dir("nounk", "vocab.txt", "[PAD]\n[CLS]\n[SEP]\nhello\n");
    expect_load_error(dir, "[UNK]", "not in the vocabulary");
    dir = write_dir("nocls", "vocab.txt", "[PAD]\n[UNK]\n[SEP]\nhello\n");
    expect_load_error(dir, "[CLS]", "not in the vocabulary");
    dir = write_dir("nosep", "vocab.txt", "[PAD]\n[UNK]\n[CLS]\nhello\n");
    expect_load_error(dir, "[SEP]", "not in the vocabulary");
    dir = write_dir("badutf8", "vocab.txt", "[UNK]\n[CLS]\n[SEP]\nh\xff\n");
    expect_load_error(dir, "vocab.txt", "not valid UTF-8 at byte 19");

    dir = write_dir("badjson", "tokenizer.json", "{\"model\": {\"type\": \"WordPiece\", ");
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    expect_load_error(dir, path, "invalid JSON");
    dir = write_dir("nomodel", "tokenizer.json", "{\"version\": \"1.0\"}");
    expect_load_error(dir, "tokenizer.json", "model");
    dir = write_dir("wordlevel", "tokenizer.json", "{\"model\": {\"type\": \"WordLevel\", \"vocab\": {}}}");
    expect_load_error(dir, "tokenizer.json", "unsupported model type \"WordLevel\"");
    dir = write_dir("ugempty", "tokenizer.json", "{\"model\": {\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": []}}");
    expect_load_error(dir, "tokenizer.json", "model.unk_id is set but model.vocab is empty");
    dir = write_dir("badvocab", "tokenizer.json", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": [1]}}");
    expect_load_error(dir, "tokenizer.json", "vocab");
    dir = write_dir("badid", "tokenizer.json",
                    "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": -4}}}");
    expect_load_error(dir, "tokenizer.json", "bad id");
    dir = write_dir("empty", "README", "nothing here");
    expect_load_error(dir, dir, "no tokenizer.json");
    expect_load_error("/nonexistent/pifi/tokenizer.json", "/nonexistent/pifi/tokenizer.json", "no such file");

    /* every truncation of a valid tokenizer.json fails cleanly */
    size_t n = strlen(TINY_JSON);
    char *cut = malloc(n + 1);
    REQUIRE(cut != NULL);
    int clean = 1;
    for (size_t k = 0; k < n; k += 7) {
        memcpy(cut, TINY_JSON, k);
        cut[k] = 0;
        dir = write_dir("cut", "tokenizer.json", cut);
        PifiTokenizer *tk = NULL;
        PifiErr err = {0};
        if (tokenizer_load(&tk, dir, &err) == 0 || !strstr(err.msg, "tokenizer.json")) clean = 0;
        tokenizer_free(tk);
    }
    CHECK(clean);
    free(cut);
}

/* Random valid UTF-8 text never breaks encoding, and offsets stay in range
 * and on character boundaries. */
static void test_random_text(const char *dir) {
    PifiTokenizer *tk = NULL;
    PifiErr err = {0};
    REQUIRE(tokenizer_load(&tk, dir, &err) == 0);
    uint32_t seed = 12345;
    int ok = 1;
    for (int iter = 0; iter < 300 && ok; iter++) {
        char text[1200];
        size_t n = 0;
        int len = (int)(seed % 200);
        for (int k = 0; k < len; k++) {
            seed = seed * 1103515245u + 12345u;
            uint32_t r = seed >> 8, cp;
            switch (r % 4) {
            case 0: cp = 0x20 + r / 4 % 0x60; break;
            case 1: cp = r / 4 % 0x800; break;
            case 2: cp = r / 4 % 0x10000; break;
            default: cp = r / 4 % 0x110000; break;
            }
            if ((cp >= 0xD800 && cp < 0xE000) || cp == 0) cp = 'x';
            n += (size_t)utf8_put((int32_t)cp, text + n);
        }
        text[n] = 0;
        PifiEncoding e = {0};
        PifiEncodeOpts o = pifi_encode_opts_default();
        o.max_length = 16, o.truncation = PIFI_TRUNC_LONGEST_FIRST, o.pad_to = 16;
        if (tokenizer_encode(tk, text, iter % 2 ? text : NULL, &o, &e, &err) || e.n != 16) ok = 0;
        for (int i = 0; ok && i < e.n; i++) {
            int32_t s = e.offsets[2 * i], t = e.offsets[2 * i + 1];
            if (s < 0 || t < s || t > (int32_t)n || (s < (int32_t)n && (text[s] & 0xC0) == 0x80)) ok = 0;
        }
        encoding_free(&e);
    }
    CHECK(ok);
    tokenizer_free(tk);
}

int main(void) {
    test_utf8();
    char *d = write_dir("tiny_legacy", "vocab.txt", TINY_VOCAB);
    char legacy[1100];
    snprintf(legacy, sizeof legacy, "%s", d);
    write_dir("tiny_legacy", "tokenizer_config.json", "{\"do_lower_case\": true}");
    char json[1100];
    snprintf(json, sizeof json, "%s", write_dir("tiny_json", "tokenizer.json", TINY_JSON));
    test_tiny(legacy);
    test_tiny(json);
    test_added_tokens();
    test_bad_files();
    test_random_text(json);
    TEST_DONE();
}
