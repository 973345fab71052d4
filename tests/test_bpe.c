/* test_bpe.c: byte-level BPE (src/text/bpe*.c, bytelevel.c) against results
 * HF `tokenizers` 0.23 produced: the GPT-2 regex split, the byte alphabet,
 * merge order, unk / byte fallback / ignore_merges / subword prefix and
 * suffix, offset trimming, both file formats, hostile model files, and the
 * roberta_bpe fixture corpus. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pifi/fileio.h"
#include "pifi/json.h"
#include "test.h"
#include "text/bpe.h"
#include "text/bytelevel.h"

/* "id:start-end id:start-end ..." for comparison with expected strings. */
static void fmt_tokens(const TokBuf *tb, int from, char *out, size_t cap) {
    size_t n = 0;
    out[0] = 0;
    for (int i = from; i < tb->n && n + 40 < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%d:%d-%d", i > from ? " " : "", tb->ids[i],
                              tb->start[i], tb->end[i]);
}

static void test_byte_map(void) {
    CHECK(bytelevel_char(' ') == 0x120);
    CHECK(bytelevel_char('!') == '!');
    CHECK(bytelevel_char('\n') == 0x10A);
    CHECK(bytelevel_char(0) == 0x100);
    CHECK(bytelevel_char(0x7F) == 0x100 + 33);
    CHECK(bytelevel_char(0xA0) == 0x100 + 66);
    CHECK(bytelevel_char(0xAD) == 0x143);
    CHECK(bytelevel_char(0xFF) == 0xFF);
    int seen[0x144] = {0}, dup = 0;
    for (int b = 0; b < 256; b++) {
        uint32_t c = bytelevel_char((uint8_t)b);
        if (c >= 0x144 || seen[c]++) dup = 1;
        char u[2];
        int n = bytelevel_utf8((uint8_t)b, u);
        int32_t cp;
        CHECK(bytelevel_char_at(u, (size_t)n, 0, &cp) == (size_t)n && cp == (int32_t)c);
    }
    CHECK(!dup);
}

/* Pieces of the GPT-2 regex as byte ranges, from HF pre_tokenize_str. */
static void test_split(void) {
    static const struct {
        const char *text, *pieces;
    } cases[] = {
        {"hello  world", "0-5 5-6 6-12"},
        {"I'M he's 'S 'sa", "0-1 1-2 2-3 3-6 6-8 8-10 10-11 11-13 13-15"},
        {"a   \x0a\x0a b  ", "0-1 1-6 6-8 8-10"},
        {"  ", "0-2"},
        {"x\xe3\x80\x80\xe3\x80\x80y", "0-1 1-4 4-7 7-8"},
        {"a\xc2\xa0 b", "0-1 1-3 3-5"},
        {"don't we're they'll 've 'd'm",
         "0-3 3-5 5-8 8-11 11-16 16-19 19-21 21-23 23-25 25-26 26-28"},
        {"'''s", "0-3 3-4"},
        {"abc123def", "0-3 3-6 6-9"},
        {" 123 !!  ?", "0-4 4-7 7-8 8-10"},
        {"\x09\x09x", "0-1 1-2 2-3"},
        {"a\x0d\x0a\x0d\x0a"
         "b",
         "0-1 1-4 4-5 5-6"},
        {"\xf0\x9f\x98\x80 \xf0\x9f\x98\x80", "0-4 4-9"},
        {"\xe6\x97\xa5\xe6\x9c\xac \xe8\xaa\x9e", "0-6 6-10"},
        {"caf\xc3\xa9 na\xcc\x88ive", "0-5 5-8 8-10 10-13"},
        {"\xe1\xb2\x89\xe1\xb2\x8a x\xf0\x90\xb5\x80", "0-6 6-8 8-12"},
        {"x\xe2\x80\x8by\xef\xbb\xbfz", "0-1 1-4 4-5 5-8 8-9"},
        {"end \x0a", "0-3 3-5"},
        {" ", "0-1"},
        {"\xe2\x80\xa8\xe2\x80\xa9 x", "0-6 6-8"},
        {"1\xc2\xbd \xd9\xa3", "0-3 3-6"},
        {"a  b", "0-1 1-2 2-4"},
        {"\xc2\x85\xc2\x85"
         "a",
         "0-2 2-4 4-5"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *t = cases[c].text;
        size_t len = strlen(t), n = 0;
        char got[256];
        got[0] = 0;
        for (size_t pos = 0; pos < len;) {
            size_t end = bytelevel_next_piece(t, len, pos);
            if (end <= pos || end > len) break;
            n += (size_t)snprintf(got + n, sizeof got - n, "%s%zu-%zu", pos ? " " : "", pos, end);
            pos = end;
        }
        CHECKF(strcmp(got, cases[c].pieces) == 0, "split of case %zu: got \"%s\" want \"%s\"", c,
               got, cases[c].pieces);
    }
    /* Invalid UTF-8 never crashes and still tiles the text. */
    const char bad[] = "a\xff\xc3 \x80\xe2\x82";
    size_t pos = 0, steps = 0;
    while (pos < sizeof bad - 1 && steps++ < 100)
        pos = bytelevel_next_piece(bad, sizeof bad - 1, pos);
    CHECK(pos == sizeof bad - 1);
}

/* A tiny byte-level model (Ġ written \u0120). Merges mix both JSON forms. */
static const char *TINY_VOCAB =
    "{\"<unk>\":0,\"a\":1,\"b\":2,\"c\":3,\"\\u0120\":4,\"aa\":5,\"ab\":6,\"bc\":7,\"abc\":8,"
    "\"\\u0120a\":9,\"\\u0120ab\":10,\"d\":11,\"<0x78>\":12,\"##b\":13,\"a##b\":14}";
static const char *TINY_MERGES =
    "[\"a a\",\"b c\",[\"a\",\"b\"],\"a bc\",[\"\\u0120\",\"a\"],\"\\u0120a b\"]";

static BpeModel *tiny_model(const char *vocab, const char *merges, const char *opts) {
    char json[2048];
    snprintf(json, sizeof json, "{\"type\":\"BPE\",\"dropout\":null,\"vocab\":%s,\"merges\":%s%s}",
             vocab, merges, opts);
    cJSON *root;
    PifiErr err = {0};
    BpeModel *m = NULL;
    if (pifi_json_parse(json, strlen(json), "tiny", &root, &err) == 0) {
        if (bpe_from_json(&m, root, "tiny.json", &err)) fprintf(stderr, "%s\n", err.msg);
        cJSON_Delete(root);
    }
    return m;
}

/* Expected results from HF: models.BPE(vocab, merges, **opts), ByteLevel
 * pre-tokenizer (add_prefix_space False) and ByteLevel trim_offsets. */
static void test_tiny(void) {
    static const char *opts[] = {
        "",
        ",\"unk_token\":\"<unk>\"",
        ",\"unk_token\":\"<unk>\",\"fuse_unk\":true",
        ",\"byte_fallback\":true",
        ",\"ignore_merges\":true",
    };
    static const struct {
        int variant;
        const char *text, *want;
    } cases[] = {
        {0, "aaa", "5:0-2 1:2-3"},
        {0, "abc", "8:0-3"},
        {0, "aaab", "5:0-2 6:2-4"},
        {0, " ab", "4:1-1 6:1-3"},
        {0, "x", ""},
        {0, "xy", ""},
        {0, "dxxd", "11:0-1 11:1-2"},
        {0, "\xc3\xa9", ""},
        {0, "abc abc", "8:0-3 4:4-4 8:4-7"},
        {0, "ab  ab", "6:0-2 4:3-3 4:4-4 6:4-6"},
        {1, "x", "0:0-1"},
        {1, "xy", "0:0-1 0:1-2"},
        {1, "dxxd", "11:0-1 0:1-2 0:2-3 11:3-4"},
        {1, "\xc3\xa9", "0:0-2 0:0-2"},
        {1, "aaab", "5:0-2 6:2-4"},
        {2, "x", "0:0-1"},
        {2, "xy", "0:0-2"},
        {2, "dxxd", "11:0-1 0:1-3 11:3-4"},
        {2, "\xc3\xa9", "0:0-2"},
        {3, "x", "12:0-1"},
        {3, "xy", "12:0-1"},
        {3, "dxxd", "11:0-1 12:1-2 12:2-3 11:3-4"},
        {3, "\xc3\xa9", ""},
        {4, " ab", "10:1-3"},
        {4, "ab  ab", "6:0-2 4:3-3 10:4-6"},
        {4, "aaa", "5:0-2 1:2-3"},
    };
    BpeModel *models[5];
    for (int v = 0; v < 5; v++) {
        models[v] = tiny_model(TINY_VOCAB, TINY_MERGES, opts[v]);
        CHECK(models[v] != NULL);
        if (!models[v]) return;
    }
    BpeOpts o = {.add_prefix_space = 0, .trim_offsets = 1, .use_regex = 1};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        TokBuf tb = {0};
        PifiErr err = {0};
        const char *t = cases[c].text;
        CHECK(bpe_encode_text(models[cases[c].variant], &o, t, strlen(t), &tb, &err) == 0);
        char got[512];
        fmt_tokens(&tb, 0, got, sizeof got);
        CHECKF(strcmp(got, cases[c].want) == 0, "variant %d \"%s\": got \"%s\" want \"%s\"",
               cases[c].variant, t, got, cases[c].want);
        tokbuf_free(&tb);
    }
    /* How the pipeline handles text after an added token ("XX" here): encode
     * the segment untrimmed, shift, then trim against the whole sequence with
     * HF's is_first (first of the sequence or starting at 0). HF gives
     * "<mask>hello" with add_prefix_space the offsets (7,10) for "Ġhell". */
    {
        BpeOpts raw = {.add_prefix_space = 1, .trim_offsets = 0, .use_regex = 1};
        TokBuf tb = {0};
        PifiErr err = {0};
        CHECK(bpe_encode_text(models[0], &raw, "a", 1, &tb, &err) == 0);
        CHECK(tb.n == 1 && tb.ids[0] == 9 && tb.start[0] == 0 && tb.end[0] == 1);
        if (tb.n == 1) {
            int32_t s = tb.start[0] + 2, e = tb.end[0] + 2;
            bytelevel_trim_offsets("XXa", 3, bpe_id_to_token(models[0], 9), 0, 1, &s, &e);
            CHECK(s == 3 && e == 3);
        }
        tokbuf_free(&tb);
    }
    /* Appending keeps earlier tokens; trimming counts from the call's first. */
    TokBuf tb = {0};
    PifiErr err = {0};
    CHECK(bpe_encode_text(models[0], &o, "aa", 2, &tb, &err) == 0);
    CHECK(bpe_encode_text(models[0], &o, " ab", 3, &tb, &err) == 0);
    char got[256];
    fmt_tokens(&tb, 0, got, sizeof got);
    CHECKF(strcmp(got, "5:0-2 4:1-1 6:1-3") == 0, "appended: %s", got);
    tokbuf_free(&tb);

    CHECK(bpe_vocab_size(models[0]) == 15);
    CHECK(bpe_token_to_id(models[0], "\xc4\xa0"
                                     "ab") == 10);
    CHECK(bpe_token_to_id(models[0], "zz") == -1);
    CHECK(bpe_id_to_token(models[0], 8) && strcmp(bpe_id_to_token(models[0], 8), "abc") == 0);
    CHECK(bpe_id_to_token(models[0], 15) == NULL && bpe_id_to_token(models[0], -1) == NULL);
    for (int v = 0; v < 5; v++)
        bpe_free(models[v]);
}

/* continuing_subword_prefix / end_of_word_suffix, checked against HF. */
static void test_prefix_suffix(void) {
    const char *vocab = "{\"a\":0,\"b\":1,\"##b\":2,\"ab\":3,\"c\":4,\"##c\":5,\"abc\":6,"
                        "\"c</w>\":7,\"##c</w>\":8,\"abc</w>\":9}";
    BpeModel *p =
        tiny_model(vocab, "[\"a ##b\",\"ab ##c\"]", ",\"continuing_subword_prefix\":\"##\"");
    BpeModel *q =
        tiny_model(vocab, "[\"a ##b\",\"ab ##c</w>\"]",
                   ",\"continuing_subword_prefix\":\"##\",\"end_of_word_suffix\":\"</w>\"");
    REQUIRE(p && q);
    static const struct {
        int suffix;
        const char *text, *want;
    } cases[] = {
        {0, "ab", "3:0-2"}, {0, "abc", "6:0-3"}, {0, "ba", "1:0-1"}, {0, "cab", "4:0-1 2:1-2"},
        {1, "ab", "0:0-1"}, {1, "abc", "9:0-3"}, {1, "c", "7:0-1"},  {1, "cab", "4:0-1"},
    };
    BpeOpts o = {0, 0, 1, SPLIT_NONE};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        TokBuf tb = {0};
        PifiErr err = {0};
        CHECK(bpe_encode_text(cases[c].suffix ? q : p, &o, cases[c].text, strlen(cases[c].text),
                              &tb, &err) == 0);
        char got[256];
        fmt_tokens(&tb, 0, got, sizeof got);
        CHECKF(strcmp(got, cases[c].want) == 0, "\"%s\": got \"%s\" want \"%s\"", cases[c].text,
               got, cases[c].want);
        tokbuf_free(&tb);
    }
    bpe_free(p);
    bpe_free(q);
}

/* A pair listed twice takes its later rank, as in HF ("abc" -> "abc"; with
 * the first rank it would be "ab" "c"). */
static void test_duplicate_merge(void) {
    BpeModel *m = tiny_model("{\"a\":0,\"b\":1,\"c\":2,\"ab\":3,\"bc\":4,\"abc\":5}",
                             "[\"a b\",\"b c\",\"a b\",\"a bc\"]", "");
    REQUIRE(m);
    BpeOpts o = {0, 1, 1, SPLIT_NONE};
    TokBuf tb = {0};
    PifiErr err = {0};
    CHECK(bpe_encode_text(m, &o, "abc", 3, &tb, &err) == 0);
    CHECK(tb.n == 1 && tb.ids[0] == 5);
    tokbuf_free(&tb);
    bpe_free(m);
}

static void write_tmp(const char *name, const char *text, char *path, size_t cap) {
    snprintf(path, cap, "%s/%s", test_tmp(), name);
    PifiErr err = {0};
    if (pifi_write_file_atomic(path, text, strlen(text), &err)) fprintf(stderr, "%s\n", err.msg);
}

/* vocab.json + merges.txt: a good pair, then one broken thing at a time. */
static void test_files(void) {
    char vp[512], mp[512];
    /* Same model as TINY_VOCAB/TINY_MERGES, with a version line and CRLF. */
    write_tmp("bpe_vocab.json", TINY_VOCAB, vp, sizeof vp);
    write_tmp("bpe_merges.txt",
              "#version: 0.2\r\na a\r\nb c\na b\na bc\n\xc4\xa0 a\n\xc4\xa0"
              "a b\n",
              mp, sizeof mp);
    BpeModel *m = NULL;
    PifiErr err = {0};
    CHECKF(bpe_from_files(&m, vp, mp, &err) == 0, "%s", err.msg);
    if (m) {
        BpeOpts o = {0, 1, 1, SPLIT_NONE};
        TokBuf tb = {0};
        CHECK(bpe_encode_text(m, &o, "ab  ab", 6, &tb, &err) == 0);
        char got[256];
        fmt_tokens(&tb, 0, got, sizeof got);
        CHECKF(strcmp(got, "6:0-2 4:3-3 4:4-4 6:4-6") == 0, "files: %s", got);
        tokbuf_free(&tb);
        bpe_free(m);
    }

    static const struct {
        const char *merges, *want;
    } bad_merges[] = {
        {"#version: 0.2\na a\nq b\n", "bpe_merges.txt: line 3: merge token \"q\""},
        {"a a\nb c d\n", "bpe_merges.txt: line 2: a merge must be two tokens"},
        {"a a\n\nb c\n", "bpe_merges.txt: line 2"},
        {"a a\nab\n", "bpe_merges.txt: line 2"},
        {"b a\n", "line 1: merged token \"ba\" is not in the vocabulary"},
        {"a \n", "line 1: merge token \"\" is not"},
    };
    for (size_t i = 0; i < sizeof bad_merges / sizeof bad_merges[0]; i++) {
        write_tmp("bpe_merges.txt", bad_merges[i].merges, mp, sizeof mp);
        m = NULL;
        CHECK(bpe_from_files(&m, vp, mp, &err) == -1 && m == NULL);
        CHECK_MSG(err, bad_merges[i].want);
    }

    write_tmp("bpe_merges.txt", "a a\n", mp, sizeof mp);
    static const struct {
        const char *vocab, *want;
    } bad_vocab[] = {
        {"[1, 2]", "vocabulary must be a JSON object"},
        {"{\"a\": 1.5}", "token \"a\": id must be an integer"},
        {"{\"a\": \"1\"}", "token \"a\": id must be an integer"},
        {"{\"a\": -1}", "id must be an integer"},
        {"{\"a\": 1e12}", "id must be an integer"},
        {"{\"a\": 0, \"aa\": 0}", "share id 0"},
        {"{\"a\": 0, \"a\": 1, \"aa\": 2}", "duplicate token \"a\""},
        {"{\"a\": 0, \"aa\": ", "invalid JSON at line 1"},
        {"", "invalid JSON"},
    };
    for (size_t i = 0; i < sizeof bad_vocab / sizeof bad_vocab[0]; i++) {
        write_tmp("bpe_vocab.json", bad_vocab[i].vocab, vp, sizeof vp);
        m = NULL;
        CHECK(bpe_from_files(&m, vp, mp, &err) == -1 && m == NULL);
        CHECK_MSG(err, bad_vocab[i].want);
        CHECK_MSG(err, "bpe_vocab.json");
    }
    m = NULL;
    CHECK(bpe_from_files(&m, "/nonexistent/vocab.json", mp, &err) == -1 && m == NULL);
    CHECK_MSG(err, "/nonexistent/vocab.json");
}

/* Broken "model" objects of a tokenizer.json. */
static void test_bad_json_model(void) {
    static const struct {
        const char *model, *want;
    } cases[] = {
        {"[]", "model must be a JSON object"},
        {"{\"type\":\"WordPiece\",\"vocab\":{}}", "model type \"WordPiece\" is not BPE"},
        {"{\"type\":\"BPE\",\"merges\":[]}", "model has no \"vocab\""},
        {"{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"aa\":1}}", "model.merges must be an array"},
        {"{\"vocab\":{\"a\":0,\"aa\":1},\"merges\":[\"a a\",7]}",
         "t.json: model.merges[1]: a merge"},
        {"{\"vocab\":{\"a\":0,\"aa\":1},\"merges\":[[\"a\"]]}", "model.merges[0]: a merge"},
        {"{\"vocab\":{\"a\":0},\"merges\":[[\"a\",\"z\"]]}", "merges[0]: merge token \"z\""},
        {"{\"vocab\":{\"a\":0,\"aa\":1},\"merges\":[],\"dropout\":0.1}",
         "dropout is not supported"},
        {"{\"vocab\":{\"a\":0},\"merges\":[],\"fuse_unk\":1}",
         "\"fuse_unk\" must be true or false"},
        {"{\"vocab\":{\"a\":0},\"merges\":[],\"unk_token\":5}", "\"unk_token\" must be a string"},
        {"{\"vocab\":{\"a\":true},\"merges\":[]}", "token \"a\": id must be"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *root;
        PifiErr err = {0};
        REQUIRE(pifi_json_parse(cases[i].model, strlen(cases[i].model), "case", &root, &err) == 0);
        BpeModel *m = NULL;
        CHECK(bpe_from_json(&m, root, "t.json", &err) == -1 && m == NULL);
        CHECK_MSG(err, cases[i].want);
        cJSON_Delete(root);
    }
    /* An unk_token missing from the vocabulary fails when it is needed. */
    BpeModel *m = tiny_model("{\"a\":0}", "[]", ",\"unk_token\":\"<unk>\"");
    REQUIRE(m);
    TokBuf tb = {0};
    PifiErr err = {0};
    BpeOpts o = {0, 1, 1, SPLIT_NONE};
    CHECK(bpe_encode_text(m, &o, "a", 1, &tb, &err) == 0 && tb.n == 1);
    CHECK(bpe_encode_text(m, &o, "b", 1, &tb, &err) == -1);
    CHECK_MSG(err, "unk_token \"<unk>\" is not in the vocabulary");
    tokbuf_free(&tb);
    bpe_free(m);
}

/* Does text contain one of RoBERTa's special tokens (split off by the
 * pipeline, not by BPE)? */
static int has_special(const char *s) {
    static const char *sp[] = {"<s>", "</s>", "<pad>", "<unk>", "<mask>"};
    for (size_t i = 0; i < sizeof sp / sizeof sp[0]; i++)
        if (s && strstr(s, sp[i])) return 1;
    return 0;
}

/* Compare our tokens of text with the case's tokens whose seq is want_seq
 * (a prefix when the case was truncated). Returns 1 on match. */
static int corpus_compare(const BpeModel *m, const BpeOpts *o, const cJSON *c, const char *text,
                          int want_seq, int truncated, int line) {
    const cJSON *ids = cJSON_GetObjectItem(c, "ids"), *offs = cJSON_GetObjectItem(c, "offsets");
    const cJSON *seq = cJSON_GetObjectItem(c, "seq");
    TokBuf tb = {0};
    PifiErr err = {0};
    if (bpe_encode_text(m, o, text, strlen(text), &tb, &err)) return 0;
    int k = 0, ok = 1, n = cJSON_GetArraySize(ids);
    for (int i = 0; i < n && ok; i++) {
        if (cJSON_GetArrayItem(seq, i)->valueint != want_seq) continue;
        const cJSON *of = cJSON_GetArrayItem(offs, i);
        ok = k < tb.n && cJSON_GetArrayItem(ids, i)->valueint == tb.ids[k] &&
             cJSON_GetArrayItem(of, 0)->valueint == tb.start[k] &&
             cJSON_GetArrayItem(of, 1)->valueint == tb.end[k];
        k++;
    }
    if (!truncated && k != tb.n) ok = 0;
    if (!ok) {
        char got[512];
        fmt_tokens(&tb, 0, got, sizeof got);
        fprintf(stderr, "corpus line %d seq %d: ours %s\n", line, want_seq, got);
    }
    tokbuf_free(&tb);
    return ok;
}

static void test_fixture_corpus(void) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tokenizers/roberta_bpe", test_fixtures());
    char *tj = pifi_path_join(dir, "tokenizer.json"), *vj = pifi_path_join(dir, "vocab.json");
    char *mt = pifi_path_join(dir, "merges.txt"), *cj = pifi_path_join(dir, "corpus.jsonl");
    if (!pifi_file_exists(tj) || !pifi_file_exists(cj)) {
        printf("note: %s missing, corpus comparison skipped\n", tj);
        free(tj), free(vj), free(mt), free(cj);
        return;
    }
    PifiErr err = {0};
    cJSON *root = NULL;
    BpeModel *mj = NULL, *mf = NULL;
    char *buf = NULL;
    size_t len = 0;
    CHECKF(pifi_json_load(tj, 0, &root, &err) == 0, "%s", err.msg);
    if (root)
        CHECKF(bpe_from_json(&mj, cJSON_GetObjectItem(root, "model"), tj, &err) == 0, "%s",
               err.msg);
    CHECKF(bpe_from_files(&mf, vj, mt, &err) == 0, "%s", err.msg);
    CHECKF(pifi_read_file(cj, 0, &buf, &len, &err) == 0, "%s", err.msg);
    if (!root || !mj || !mf || !buf) goto done;

    /* Options from the pre-tokenizer and post-processor. */
    const cJSON *pre = cJSON_GetObjectItem(root, "pre_tokenizer");
    const cJSON *post = cJSON_GetObjectItem(root, "post_processor");
    BpeOpts o = {cJSON_IsTrue(cJSON_GetObjectItem(pre, "add_prefix_space")),
                 cJSON_IsTrue(cJSON_GetObjectItem(post, "trim_offsets")),
                 !cJSON_IsFalse(cJSON_GetObjectItem(pre, "use_regex")), SPLIT_NONE};
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(post, "add_prefix_space")) == o.add_prefix_space);
    CHECK(bpe_vocab_size(mj) == bpe_vocab_size(mf));

    int cases = 0, matched = 0, line = 0;
    for (char *s = buf; s < buf + len;) {
        char *nl = memchr(s, '\n', (size_t)(buf + len - s));
        size_t n = nl ? (size_t)(nl - s) : (size_t)(buf + len - s);
        line++;
        cJSON *c = NULL;
        if (n && pifi_json_parse(s, n, cj, &c, &err) == 0) {
            const cJSON *t = cJSON_GetObjectItem(c, "text"), *p = cJSON_GetObjectItem(c, "pair");
            int truncated = cJSON_GetObjectItem(c, "max_length") != NULL;
            const char *text = cJSON_GetStringValue(t), *pair = cJSON_GetStringValue(p);
            /* cJSON strings end at a NUL: those cases are checked below. */
            int has_nul = cJSON_IsTrue(cJSON_GetObjectItem(c, "has_nul"));
            if (text && !has_nul && !has_special(text) && !has_special(pair)) {
                for (int which = 0; which < 2; which++) {
                    const BpeModel *m = which ? mf : mj;
                    cases++;
                    matched += corpus_compare(m, &o, c, text, 0, truncated, line);
                    if (pair) {
                        cases++;
                        matched += corpus_compare(m, &o, c, pair, 1, truncated, line);
                    }
                }
            }
            cJSON_Delete(c);
        }
        s += n + 1;
    }
    /* The corpus case "a\0b c\0". */
    TokBuf tb = {0};
    CHECK(bpe_encode_text(mj, &o, "a\0b c\0", 6, &tb, &err) == 0);
    char got[256];
    fmt_tokens(&tb, 0, got, sizeof got);
    CHECKF(strcmp(got, "69:0-1 193:1-2 70:2-3 295:4-5 193:5-6") == 0, "NUL case: %s", got);
    tokbuf_free(&tb);
    printf("roberta_bpe corpus: %d of %d sequences match HF (ids and offsets)\n", matched, cases);
    CHECK(cases > 1000);
    CHECK(matched == cases);
done:
    cJSON_Delete(root);
    bpe_free(mj);
    bpe_free(mf);
    free(buf);
    free(tj), free(vj), free(mt), free(cj);
}

/* Hostile text: invalid UTF-8 and an empty string never crash. */
static void test_hostile_text(void) {
    BpeModel *m = tiny_model(TINY_VOCAB, TINY_MERGES, ",\"unk_token\":\"<unk>\"");
    REQUIRE(m);
    const char bad[] = "\xff\xfe a\xc3 \xe2\x82\x80\x80\x80";
    TokBuf tb = {0};
    PifiErr err = {0};
    for (int apsp = 0; apsp < 2; apsp++)
        for (int trim = 0; trim < 2; trim++) {
            BpeOpts o = {apsp, trim, 1, SPLIT_NONE};
            CHECK(bpe_encode_text(m, &o, bad, sizeof bad - 1, &tb, &err) == 0);
            CHECK(bpe_encode_text(m, &o, "", 0, &tb, &err) == 0);
        }
    for (int i = 0; i < tb.n; i++)
        CHECK(tb.start[i] >= 0 && tb.start[i] <= tb.end[i] && tb.end[i] <= (int)sizeof bad - 1);
    tokbuf_free(&tb);
    bpe_free(m);
}

int main(void) {
    test_byte_map();
    test_split();
    test_tiny();
    test_prefix_suffix();
    test_duplicate_merge();
    test_files();
    test_bad_json_model();
    test_hostile_text();
    test_fixture_corpus();
    TEST_DONE();
}
