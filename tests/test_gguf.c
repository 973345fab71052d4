/* test_gguf.c: the GGUF reader against the gguf Python package.
 *
 * - fixtures/gguf/quants.gguf (tools/oracle_gguf.py): metadata of every value
 *   type, and one tensor per ggml type whose fp32 values must equal
 *   gguf.quants.dequantize bit for bit;
 * - gguf_unpermute_qk against numpy's permutation from llama.cpp's converter;
 * - the real stories260K.gguf (from $PIFI_SHARED, default <repo>/../shared;
 *   skipped if absent): metadata from its README, tensor values equal the
 *   Python reader's and the llama2.c .bin's;
 * - SmolLM2-135M-Instruct Q4_1 when $PIFI_SMOLLM2_GGUF names it (optional);
 * - hostile files built here byte by byte: each must fail with one line
 *   "<file>: <what>", never crash. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdint.h>

#include "pifi/fileio.h"
#include "pifi/gguf.h"
#include "pifi/json.h"
#include "test.h"

static char g_fix[1024];

/* Read a whole little-endian f32 file; NULL if missing. */
static float *read_f32(const char *dir, const char *name, size_t *n) {
    char *path = pifi_path_join(dir, name), *buf = NULL;
    size_t len = 0;
    PifiErr err;
    int rc = pifi_read_file(path, 0, &buf, &len, &err);
    free(path);
    if (rc) return NULL;
    *n = len / 4;
    return (float *)buf; /* malloc'd, suitably aligned */
}

/* Bit-exact comparison; reports the first difference. */
static int same_bits(const float *a, const float *b, size_t n, const char *what) {
    for (size_t i = 0; i < n; i++) {
        uint32_t x, y;
        memcpy(&x, &a[i], 4);
        memcpy(&y, &b[i], 4);
        if (x != y) {
            fprintf(stderr, "%s: element %zu: got %.9g (0x%08x), want %.9g (0x%08x)\n", what, i,
                    a[i], x, b[i], y);
            return 0;
        }
    }
    return 1;
}

static int one_line_from(const PifiErr *err, const char *path) {
    size_t n = strlen(path);
    return strncmp(err->msg, path, n) == 0 && strncmp(err->msg + n, ": ", 2) == 0 &&
           strchr(err->msg, '\n') == NULL;
}

/* ---- fixtures/gguf/quants.gguf ---- */

static void test_metadata(const GgufFile *g) {
    PifiErr err;
    uint32_t u32;
    int32_t i32;
    uint64_t u64;
    int64_t i64;
    float f;
    double d;
    int b;
    const char *s;
    uint64_t len;
    CHECK(gguf_get_u32(g, "test.u8", &u32, &err) == 0 && u32 == 200);
    CHECK(gguf_get_i32(g, "test.i8", &i32, &err) == 0 && i32 == -100);
    CHECK(gguf_get_u32(g, "test.u16", &u32, &err) == 0 && u32 == 60000);
    CHECK(gguf_get_i64(g, "test.i16", &i64, &err) == 0 && i64 == -30000);
    CHECK(gguf_get_u32(g, "test.u32", &u32, &err) == 0 && u32 == 4000000000u);
    CHECK(gguf_get_i32(g, "test.i32", &i32, &err) == 0 && i32 == -2000000000);
    CHECK(gguf_get_u64(g, "test.u64", &u64, &err) == 0 && u64 == (UINT64_C(1) << 63) + 5);
    CHECK(gguf_get_i64(g, "test.i64", &i64, &err) == 0 && i64 == -(INT64_C(1) << 40));
    CHECK(gguf_get_f32(g, "test.f32", &f, &err) == 0 && f == 1e-5f);
    CHECK(gguf_get_f64(g, "test.f64", &d, &err) == 0 && d == 3.141592653589793);
    CHECK(gguf_get_f32(g, "test.f64", &f, &err) == 0 && f == (float)3.141592653589793);
    CHECK(gguf_get_bool(g, "test.bool", &b, &err) == 0 && b == 1);
    CHECK(gguf_get_str(g, "test.str", &s, &len, &err) == 0 &&
          strcmp(s, "h\xc3\xa9llo w\xc3\xb6rld") == 0 && len == 13);
    CHECK(gguf_get_str(g, "test.empty_str", &s, &len, &err) == 0 && s[0] == 0 && len == 0);
    CHECK(gguf_get_str(g, "general.architecture", &s, NULL, &err) == 0 && strcmp(s, "llama") == 0);
    CHECK(gguf_get_u32(g, "general.alignment", &u32, &err) == 0 && u32 == 64);

    /* wrong types, ranges, missing keys */
    CHECK(gguf_get_u32(g, "test.i8", &u32, &err) == -1);
    CHECK_MSG(err, "out of range");
    CHECK(gguf_get_i32(g, "test.u32", &i32, &err) == -1);
    CHECK_MSG(err, "out of range");
    CHECK(gguf_get_i64(g, "test.u64", &i64, &err) == -1);
    CHECK(gguf_get_u32(g, "test.str", &u32, &err) == -1);
    CHECK_MSG(err, "metadata 'test.str' is STRING, expected an integer");
    CHECK(gguf_get_u32(g, "test.bool", &u32, &err) == -1);
    CHECK(gguf_get_str(g, "test.u8", &s, NULL, &err) == -1);
    CHECK_MSG(err, "is UINT8, expected STRING");
    CHECK(gguf_get_f32(g, "test.u32", &f, &err) == -1);
    CHECK(gguf_get_bool(g, "test.u8", &b, &err) == -1);
    CHECK(gguf_get_u32(g, "no.such.key", &u32, &err) == -1);
    CHECK_MSG(err, "missing metadata key 'no.such.key'");
    CHECK(one_line_from(&err, gguf_path(g)));
    CHECK(gguf_find_key(g, "no.such.key") == -1);
    int64_t ki = gguf_find_key(g, "test.arr_str");
    CHECK(ki >= 0 && strcmp(gguf_kv_key(g, ki), "test.arr_str") == 0 &&
          gguf_kv_type(g, ki) == GGUF_TYPE_ARRAY);

    /* arrays */
    GgufValueType et;
    uint64_t n;
    int64_t iv[4];
    float fv[3];
    CHECK(gguf_get_arr_info(g, "test.arr_i32", &et, &n, &err) == 0 && et == GGUF_TYPE_INT32 &&
          n == 4);
    CHECK(gguf_get_arr_i64(g, "test.arr_i32", iv, 4, &err) == 0 && iv[0] == 1 && iv[1] == -2 &&
          iv[2] == 3 && iv[3] == 70000);
    CHECK(gguf_get_arr_i64(g, "test.arr_i32", iv, 3, &err) == -1);
    CHECK_MSG(err, "has 4 elements, expected 3");
    CHECK(gguf_get_arr_f32(g, "test.arr_f32", fv, 3, &err) == 0 && fv[0] == 0.5f &&
          fv[1] == -1.25f && fv[2] == 1e-5f);
    CHECK(gguf_get_arr_i64(g, "test.arr_f32", iv, 3, &err) == -1);
    const void *raw;
    CHECK(gguf_get_arr_data(g, "test.arr_i32", &et, &n, &raw, &err) == 0 && n == 4);
    const char *const *strs;
    const uint64_t *lens;
    CHECK(gguf_get_arr_str(g, "test.arr_str", &n, &strs, &lens, &err) == 0 && n == 4);
    if (n == 4) {
        CHECK(strcmp(strs[0], "a") == 0 && lens[0] == 1);
        CHECK(strcmp(strs[1], "") == 0 && lens[1] == 0);
        CHECK(strcmp(strs[2], "<0x0A>") == 0);
        CHECK(strcmp(strs[3], "\xc3\xbcn\xc3\xaf") == 0 && lens[3] == 5);
    }
    CHECK(gguf_get_arr_str(g, "test.arr_i32", &n, &strs, NULL, &err) == -1);
    CHECK(gguf_get_arr_info(g, "test.arr_nested", &et, &n, &err) == 0 && et == GGUF_TYPE_ARRAY &&
          n == 2);
    CHECK(gguf_get_arr_data(g, "test.arr_nested", &et, &n, &raw, &err) == -1);
    CHECK(gguf_get_arr_info(g, "test.u8", &et, &n, &err) == -1);
    CHECK_MSG(err, "expected ARRAY");
}

static void test_quants(void) {
    char *path = pifi_path_join(g_fix, "quants.gguf"),
         *mpath = pifi_path_join(g_fix, "manifest.json");
    PifiErr err;
    GgufFile *g = NULL;
    cJSON *man = NULL;
    int rc = gguf_open(&g, path, &err);
    CHECKF(rc == 0, "%s", err.msg);
    REQUIRE(rc == 0);
    REQUIRE(pifi_json_load(mpath, 0, &man, &err) == 0);
    CHECK(gguf_version(g) == 3);
    CHECK(gguf_alignment(g) == 64);
    CHECK((double)gguf_data_offset(g) == cJSON_GetObjectItem(man, "data_offset")->valuedouble);
    CHECK((double)gguf_kv_count(g) == cJSON_GetObjectItem(man, "n_kv")->valuedouble);
    test_metadata(g);

    const cJSON *ts = cJSON_GetObjectItem(man, "tensors"), *it;
    CHECK(gguf_tensor_count(g) == cJSON_GetArraySize(ts));
    int seen_k = 0, seen_smol = 0;
    cJSON_ArrayForEach(it, ts) {
        const char *name = cJSON_GetObjectItem(it, "name")->valuestring;
        const cJSON *ne = cJSON_GetObjectItem(it, "ne");
        const GgufTensor *t;
        if (gguf_find_tensor(g, name, &t) != 0) {
            CHECKF(0, "tensor %s not found", name);
            continue;
        }
        CHECKF((int)t->type == cJSON_GetObjectItem(it, "type")->valueint, "%s type", name);
        CHECKF(t->n_dims == cJSON_GetArraySize(ne), "%s n_dims", name);
        for (int i = 0; i < t->n_dims && i < cJSON_GetArraySize(ne); i++)
            CHECKF(t->ne[i] == (int64_t)cJSON_GetArrayItem(ne, i)->valuedouble, "%s ne[%d]", name,
                   i);
        CHECKF((double)t->nbytes == cJSON_GetObjectItem(it, "nbytes")->valuedouble, "%s nbytes",
               name);
        CHECKF((double)(gguf_data_offset(g) + t->offset) ==
                   cJSON_GetObjectItem(it, "offset")->valuedouble,
               "%s offset", name);
        CHECK(t->offset % 64 == 0);
        size_t n = 0;
        float *want = read_f32(g_fix, cJSON_GetObjectItem(it, "expected")->valuestring, &n);
        CHECKF(want && n == (size_t)t->numel, "%s expected values", name);
        float *got = malloc((size_t)t->numel * sizeof *got);
        CHECKF(gguf_tensor_to_f32(t, got, &err) == 0, "%s", err.msg);
        if (want && n == (size_t)t->numel) CHECKF(same_bits(got, want, n, name), "%s values", name);
        if (strstr(name, "_k")) seen_k++;
        if (strncmp(name, "smol_", 5) == 0) seen_smol++;
        free(got);
        free(want);
    }
    CHECK(seen_k == 6);    /* Q2_K..Q8_K */
    CHECK(seen_smol == 2); /* real SmolLM2 blocks */

    /* PyTorch-order shape of a 3-D tensor. */
    const GgufTensor *t;
    int64_t shape[GGUF_MAX_DIMS];
    REQUIRE(gguf_get_tensor(g, "q4_0_3d", &t, &err) == 0);
    CHECK(gguf_tensor_shape_pt(t, shape) == 3 && shape[0] == 2 && shape[1] == 3 && shape[2] == 64);
    CHECK(t->ne[0] == 64 && t->ne[1] == 3 && t->ne[2] == 2 && t->ne[3] == 1);
    CHECK(gguf_get_tensor(g, "nope", &t, &err) == -1);
    CHECK_MSG(err, "missing tensor 'nope'");
    CHECK(gguf_find_tensor(g, "nope", &t) == 1);
    CHECK(gguf_tensor_at(g, 0) != NULL && gguf_tensor_at(g, gguf_tensor_count(g)) == NULL);

    /* Dequantizing a part: whole blocks only. */
    float buf[64];
    REQUIRE(gguf_get_tensor(g, "q8_0", &t, &err) == 0);
    CHECK(gguf_dequantize(t->type, t->data, buf, 64, "q8_0", &err) == 0);
    CHECK(gguf_dequantize(t->type, t->data, buf, 33, "q8_0", &err) == -1);
    CHECK_MSG(err, "not a whole number of Q8_0 blocks");
    CHECK(gguf_dequantize((GgmlType)99, t->data, buf, 1, "x", &err) == -1);
    CHECK_MSG(err, "unknown ggml type 99");
    CHECK(gguf_type_can_dequantize(GGML_TYPE_Q6_K) && !gguf_type_can_dequantize(GGML_TYPE_IQ2_XXS));
    CHECK(strcmp(gguf_type_name(GGML_TYPE_Q5_K), "Q5_K") == 0 &&
          gguf_type_name((GgmlType)4) == NULL);

    cJSON_Delete(man);
    gguf_close(g);
    free(path);
    free(mpath);
}

static void test_unpermute(void) {
    char *mpath = pifi_path_join(g_fix, "manifest.json");
    PifiErr err;
    cJSON *man = NULL, *it;
    REQUIRE(pifi_json_load(mpath, 0, &man, &err) == 0);
    int cases = 0;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(man, "unpermute")) {
        int64_t rows = cJSON_GetObjectItem(it, "rows")->valueint;
        int64_t cols = cJSON_GetObjectItem(it, "cols")->valueint;
        int64_t nh = cJSON_GetObjectItem(it, "n_head")->valueint;
        size_t n1 = 0, n2 = 0;
        float *orig = read_f32(g_fix, cJSON_GetObjectItem(it, "orig")->valuestring, &n1);
        float *perm = read_f32(g_fix, cJSON_GetObjectItem(it, "permuted")->valuestring, &n2);
        REQUIRE(orig && perm && n1 == (size_t)(rows * cols) && n2 == n1);
        float *out = malloc(n1 * sizeof *out);
        CHECK(gguf_unpermute_qk(perm, out, rows, cols, nh, &err) == 0);
        CHECKF(same_bits(out, orig, n1, "unpermute"), "case %s",
               cJSON_GetObjectItem(it, "tag")->valuestring);
        if (rows / nh > 2) CHECK(memcmp(orig, perm, n1 * 4) != 0); /* it really permutes */
        free(out);
        free(orig);
        free(perm);
        cases++;
    }
    CHECK(cases == 4);
    float x[12], y[12];
    memset(x, 0, sizeof x);
    CHECK(gguf_unpermute_qk(x, y, 12, 1, 4, &err) == -1); /* head_dim 3 is odd */
    CHECK_MSG(err, "cannot be split");
    CHECK(gguf_unpermute_qk(x, y, 12, 1, 0, &err) == -1);
    cJSON_Delete(man);
    free(mpath);
}

/* ---- the real stories260K.gguf ---- */

static void test_stories(void) {
    char dflt[1100], path[1200], bin[1200];
    /* test_fixtures() is <repo>/tests/fixtures; the default is <repo>/../shared. */
    snprintf(dflt, sizeof dflt, "%s/../../../shared", test_fixtures());
    const char *shared = test_env("PIFI_SHARED", dflt);
    snprintf(path, sizeof path, "%s/models/stories260K/stories260K.gguf", shared);
    snprintf(bin, sizeof bin, "%s/models/stories260K/stories260K.bin", shared);
    if (!pifi_file_exists(path)) {
        printf("stories260K: %s absent, skipping the real-file checks\n", path);
        return;
    }
    PifiErr err;
    GgufFile *g;
    int rc = gguf_open(&g, path, &err);
    CHECKF(rc == 0, "%s", err.msg);
    REQUIRE(rc == 0);
    CHECK(gguf_version(g) == 3 && gguf_alignment(g) == 32);
    CHECK(gguf_tensor_count(g) == 48);
    CHECK(gguf_kv_count(g) == 19);
    const char *s;
    uint32_t u;
    float f;
    CHECK(gguf_get_str(g, "general.architecture", &s, NULL, &err) == 0 && strcmp(s, "llama") == 0);
    CHECK(gguf_get_u32(g, "llama.embedding_length", &u, &err) == 0 && u == 64);
    CHECK(gguf_get_u32(g, "llama.feed_forward_length", &u, &err) == 0 && u == 172);
    CHECK(gguf_get_u32(g, "llama.block_count", &u, &err) == 0 && u == 5);
    CHECK(gguf_get_u32(g, "llama.attention.head_count", &u, &err) == 0 && u == 8);
    CHECK(gguf_get_u32(g, "llama.attention.head_count_kv", &u, &err) == 0 && u == 4);
    CHECK(gguf_get_u32(g, "llama.rope.dimension_count", &u, &err) == 0 && u == 8);
    CHECK(gguf_get_u32(g, "llama.context_length", &u, &err) == 0 && u == 2048);
    CHECK(gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &f, &err) == 0 && f == 1e-5f);
    CHECK(gguf_get_str(g, "tokenizer.ggml.model", &s, NULL, &err) == 0 && strcmp(s, "llama") == 0);
    CHECK(gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &u, &err) == 0 && u == 1);
    CHECK(gguf_get_u32(g, "tokenizer.ggml.eos_token_id", &u, &err) == 0 && u == 2);
    CHECK(gguf_get_u32(g, "tokenizer.ggml.unknown_token_id", &u, &err) == 0 && u == 0);
    uint64_t n = 0;
    const char *const *toks;
    CHECK(gguf_get_arr_str(g, "tokenizer.ggml.tokens", &n, &toks, NULL, &err) == 0 && n == 512);
    if (n == 512)
        CHECK(strcmp(toks[1], "<s>") == 0 && strcmp(toks[2], "</s>") == 0 &&
              strcmp(toks[3], "<0x00>") == 0);
    float scores[512];
    CHECK(gguf_get_arr_f32(g, "tokenizer.ggml.scores", scores, 512, &err) == 0);

    const GgufTensor *t;
    int64_t shape[GGUF_MAX_DIMS];
    REQUIRE(gguf_get_tensor(g, "token_embd.weight", &t, &err) == 0);
    CHECK(t->type == GGML_TYPE_F32 && t->n_dims == 2 && t->ne[0] == 64 && t->ne[1] == 512);
    CHECK(gguf_tensor_shape_pt(t, shape) == 2 && shape[0] == 512 && shape[1] == 64);
    REQUIRE(gguf_get_tensor(g, "blk.0.attn_k.weight", &t, &err) == 0);
    CHECK(gguf_tensor_shape_pt(t, shape) == 2 && shape[0] == 32 && shape[1] == 64);
    for (int64_t i = 0; i < gguf_tensor_count(g); i++)
        CHECK(gguf_tensor_at(g, i)->type == GGML_TYPE_F32);

    const char *names[2] = {"blk.0.attn_q.weight", "output_norm.weight"};
    const char *files[2] = {"stories_blk_0_attn_q_weight.f32", "stories_output_norm_weight.f32"};
    float *q0 = NULL;
    for (int k = 0; k < 2; k++) {
        REQUIRE(gguf_get_tensor(g, names[k], &t, &err) == 0);
        size_t nw = 0;
        float *want = read_f32(g_fix, files[k], &nw);
        float *got = malloc((size_t)t->numel * 4);
        CHECK(want && nw == (size_t)t->numel);
        CHECK(gguf_tensor_to_f32(t, got, &err) == 0);
        if (want && nw == (size_t)t->numel)
            CHECKF(same_bits(got, want, nw, names[k]), "%s", names[k]);
        free(want);
        if (k == 0)
            q0 = got;
        else
            free(got);
    }
    /* The README: every tensor is bit-identical to llama2.c's .bin; wq of
     * layer 0 follows the 28-byte header, the embedding and rms_att. */
    PifiMap m;
    if (q0 && pifi_file_exists(bin) && pifi_map_open(&m, bin, &err) == 0) {
        size_t off = 28 + 4 * (32768 + 320);
        CHECK(m.size >= off + 4096 * 4 && memcmp(m.data + off, q0, 4096 * 4) == 0);
        pifi_map_close(&m);
    }
    free(q0);
    gguf_close(g);
}

/* ---- SmolLM2-135M-Instruct Q4_1 (optional) ---- */

static void test_smollm2(void) {
    const char *path = test_env("PIFI_SMOLLM2_GGUF", "");
    if (!*path || !pifi_file_exists(path)) {
        printf("SmolLM2: PIFI_SMOLLM2_GGUF not set, skipping (its blocks are in quants.gguf)\n");
        return;
    }
    PifiErr err;
    GgufFile *g;
    int rc = gguf_open(&g, path, &err);
    CHECKF(rc == 0, "%s", err.msg);
    REQUIRE(rc == 0);
    CHECK(gguf_tensor_count(g) == 272);
    int n_q41 = 0, n_f32 = 0, n_q80 = 0;
    size_t cap = 0;
    float *buf = NULL;
    for (int64_t i = 0; i < gguf_tensor_count(g); i++) {
        const GgufTensor *t = gguf_tensor_at(g, i);
        n_q41 += t->type == GGML_TYPE_Q4_1;
        n_f32 += t->type == GGML_TYPE_F32;
        n_q80 += t->type == GGML_TYPE_Q8_0;
        if ((size_t)t->numel > cap) {
            free(buf);
            cap = (size_t)t->numel;
            buf = malloc(cap * sizeof *buf);
        }
        CHECKF(gguf_tensor_to_f32(t, buf, &err) == 0, "%s", err.msg);
        if (strcmp(t->name, "blk.0.attn_q.weight") == 0 ||
            strcmp(t->name, "token_embd.weight") == 0) {
            int q = t->type == GGML_TYPE_Q4_1;
            size_t nw = 0, row = (size_t)t->ne[0];
            float *want = read_f32(g_fix, q ? "smol_q4_1.f32" : "smol_q8_0.f32", &nw);
            const float *got = q ? buf : buf + 100 * row; /* rows 0..3 / 100..101 */
            CHECK(want && nw == (q ? 4 : 2) * row);
            if (want) CHECKF(same_bits(got, want, nw, t->name), "%s", t->name);
            free(want);
        }
    }
    CHECK(n_q41 == 210 && n_f32 == 61 && n_q80 == 1);
    uint32_t u;
    CHECK(gguf_get_u32(g, "llama.attention.head_count", &u, &err) == 0 && u == 9);
    free(buf);
    gguf_close(g);
}

/* ---- hostile files ---- */

typedef struct {
    uint8_t *p;
    size_t n, cap;
} Buf;

static void put(Buf *b, const void *src, size_t n) {
    if (n == 0) return;
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void put_u32(Buf *b, uint32_t v) {
    put(b, &v, 4);
} /* the tests run on little-endian hosts */
static void put_u64(Buf *b, uint64_t v) { put(b, &v, 8); }
static void put_str(Buf *b, const char *s) {
    put_u64(b, strlen(s));
    put(b, s, strlen(s));
}
static void put_hdr(Buf *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    put(b, "GGUF", 4);
    put_u32(b, version);
    put_u64(b, n_tensors);
    put_u64(b, n_kv);
}
static void put_kv_str(Buf *b, const char *k, const char *v) {
    put_str(b, k);
    put_u32(b, GGUF_TYPE_STRING);
    put_str(b, v);
}
static void put_kv_u32(Buf *b, const char *k, uint32_t v) {
    put_str(b, k);
    put_u32(b, GGUF_TYPE_UINT32);
    put_u32(b, v);
}
static void put_tinfo(Buf *b, const char *name, int nd, const uint64_t *ne, uint32_t type,
                      uint64_t off) {
    put_str(b, name);
    put_u32(b, (uint32_t)nd);
    for (int i = 0; i < nd; i++) put_u64(b, ne[i]);
    put_u32(b, type);
    put_u64(b, off);
}
static void put_pad(Buf *b, size_t align) {
    while (b->n % align) put(b, "", 1);
}
static void put_zeros(Buf *b, size_t n) {
    for (size_t i = 0; i < n; i++) put(b, "", 1);
}

/* The valid base: 1 KV, tensors a (F32 4x2) and b (Q8_0, 32), data after. */
static void build_base(Buf *b) {
    uint64_t ne_a[2] = {4, 2}, ne_b[1] = {32};
    put_hdr(b, 3, 2, 1);
    put_kv_str(b, "general.architecture", "llama");
    put_tinfo(b, "a", 2, ne_a, GGML_TYPE_F32, 0);
    put_tinfo(b, "b", 1, ne_b, GGML_TYPE_Q8_0, 32);
    put_pad(b, 32);
    float a[8] = {1, 2, 3, 4, 5, 6, 7, -8};
    put(b, a, sizeof a);
    uint8_t q[34] = {0x00, 0x3c}; /* d = 1.0 (f16), q = 0, 1, 2, ... */
    for (int i = 0; i < 32; i++) q[2 + i] = (uint8_t)(i - 16);
    put(b, q, sizeof q);
}

static char *write_tmp(const char *name, const Buf *b) {
    char file[256];
    snprintf(file, sizeof file, "gguf_%s.gguf", name);
    char *path = pifi_path_join(test_tmp(), file);
    PifiErr err;
    if (pifi_write_file_atomic(path, b->p, b->n, &err) != 0) fprintf(stderr, "%s\n", err.msg);
    return path;
}

/* The file must fail to open with a one-line message containing sub. */
static void expect_bad(const char *name, Buf *b, const char *sub) {
    char *path = write_tmp(name, b);
    PifiErr err = {0};
    GgufFile *g = NULL;
    int rc = gguf_open(&g, path, &err);
    CHECKF(rc == -1 && g == NULL, "%s: opened", name);
    CHECKF(one_line_from(&err, path), "%s: message \"%s\"", name, err.msg);
    CHECKF(strstr(err.msg, sub) != NULL, "%s: message \"%s\" lacks \"%s\"", name, err.msg, sub);
    if (rc == 0) gguf_close(g);
    free(path);
    free(b->p);
    memset(b, 0, sizeof *b);
}

static void test_base_and_truncation(void) {
    Buf b = {0};
    build_base(&b);
    char *path = write_tmp("base", &b);
    PifiErr err;
    GgufFile *g;
    int rc = gguf_open(&g, path, &err);
    CHECKF(rc == 0, "%s", err.msg);
    if (rc == 0) {
        const GgufTensor *t;
        float y[32];
        CHECK(gguf_get_tensor(g, "b", &t, &err) == 0 && gguf_tensor_to_f32(t, y, &err) == 0);
        CHECK(y[0] == -16.0f && y[31] == 15.0f);
        CHECK(gguf_get_tensor(g, "a", &t, &err) == 0 && gguf_tensor_to_f32(t, y, &err) == 0);
        CHECK(y[7] == -8.0f);
        gguf_close(g);
    }
    free(path);
    /* Version 2 has the same layout. */
    Buf v2 = {0};
    put(&v2, b.p, b.n);
    v2.p[4] = 2;
    path = write_tmp("v2", &v2);
    rc = gguf_open(&g, path, &err);
    CHECKF(rc == 0, "%s", err.msg);
    if (rc == 0) {
        CHECK(gguf_version(g) == 2 && gguf_tensor_count(g) == 2);
        gguf_close(g);
    }
    free(path);
    free(v2.p);
    /* Every proper prefix fails cleanly. */
    int bad = 0;
    for (size_t n = 0; n < b.n; n++) {
        Buf c = {0};
        put(&c, b.p, n);
        char *p = write_tmp("prefix", &c);
        GgufFile *h = NULL;
        if (gguf_open(&h, p, &err) == 0) {
            bad++;
            gguf_close(h);
        } else if (!one_line_from(&err, p)) {
            bad++;
        }
        free(p);
        free(c.p);
    }
    CHECKF(bad == 0, "%d prefixes misbehaved", bad);
    Buf c = {0};
    put(&c, b.p, 30);
    expect_bad("truncated", &c, "truncated");
    free(b.p);
}

static void test_bad_files(void) {
    Buf b = {0};
    uint64_t ne1[1] = {32}, ne2[2] = {4, 2};

    build_base(&b);
    memcpy(b.p, "GGUX", 4);
    expect_bad("bad_magic", &b, "not a GGUF file");

    put_hdr(&b, 1, 0, 0);
    expect_bad("v1", &b, "version 1 is not supported");

    put_hdr(&b, 7, 0, 0);
    expect_bad("v7", &b, "unsupported GGUF version 7");

    put_hdr(&b, 0x03000000u, 0, 0);
    expect_bad("big_endian", &b, "big-endian");

    put_hdr(&b, 3, UINT64_C(1) << 60, 0);
    put_zeros(&b, 100);
    expect_bad("tensor_count", &b, "cannot fit");

    put_hdr(&b, 3, 0, UINT64_MAX);
    put_zeros(&b, 100);
    expect_bad("kv_count", &b, "cannot fit");

    put_hdr(&b, 3, 0, 1);
    put_u64(&b, UINT64_C(1) << 40); /* key length */
    put(&b, "general.name", 12);
    put_zeros(&b, 20);
    expect_bad("string_length", &b, "beyond the end of the file");

    put_hdr(&b, 3, 0, 1);
    put_str(&b, "k");
    put_u32(&b, GGUF_TYPE_STRING);
    put_u64(&b, UINT64_MAX); /* value length */
    expect_bad("value_length", &b, "beyond the end of the file");

    put_hdr(&b, 3, 1, 0);
    put_tinfo(&b, "a", 1, ne1, GGML_TYPE_F32, 4096);
    put_pad(&b, 32);
    put_zeros(&b, 128);
    expect_bad("offset_outside", &b, "lies outside the file");

    put_hdr(&b, 3, 1, 0);
    put_tinfo(&b, "a", 1, ne1, GGML_TYPE_F32, 0);
    put_pad(&b, 32);
    put_zeros(&b, 100); /* needs 128 */
    expect_bad("data_short", &b, "lies outside the file");

    put_hdr(&b, 3, 1, 0);
    put_tinfo(&b, "a", 1, ne1, 99, 0);
    put_pad(&b, 32);
    put_zeros(&b, 128);
    expect_bad("unknown_type", &b, "unknown ggml type 99");

    put_hdr(&b, 3, 1, 0);
    put_tinfo(&b, "a", 1, ne1, 4, 0); /* retired Q4_2 */
    put_pad(&b, 32);
    put_zeros(&b, 128);
    expect_bad("retired_type", &b, "unknown ggml type 4");

    put_hdr(&b, 3, 1, 0);
    put_tinfo(&b, "a", 1, ne1, GGML_TYPE_F32, 8);
    put_pad(&b, 32);
    put_zeros(&b, 256);
    expect_bad("misaligned", &b, "is not a multiple of the alignment 32");

    put_hdr(&b, 3, 2, 0);
    put_tinfo(&b, "a", 1, ne1, GGML_TYPE_F32, 0);
    put_tinfo(&b, "a", 1, ne1, GGML_TYPE_F32, 128);
    put_pad(&b, 32);
    put_zeros(&b, 256);
    expect_bad("dup_tensor", &b, "duplicate tensor name 'a'");

    put_hdr(&b, 3, 2, 0);
    put_tinfo(&b, "a", 1, ne1, GGML_TYPE_F32, 0);
    put_tinfo(&b, "b", 2, ne2, GGML_TYPE_F32, 96);
    put_pad(&b, 32);
    put_zeros(&b, 256);
    expect_bad("overlap", &b, "overlap");

    put_hdr(&b, 3, 0, 2);
    put_kv_u32(&b, "x", 1);
    put_kv_u32(&b, "x", 2);
    expect_bad("dup_key", &b, "duplicate metadata key 'x'");

    put_hdr(&b, 3, 0, 1);
    put_kv_u32(&b, "general.alignment", 48);
    expect_bad("alignment_48", &b, "not a power of two");

    put_hdr(&b, 3, 0, 1);
    put_kv_str(&b, "general.alignment", "32");
    expect_bad("alignment_type", &b, "expected UINT32");

    put_hdr(&b, 3, 1, 0);
    uint64_t ne33[1] = {33};
    put_tinfo(&b, "q", 1, ne33, GGML_TYPE_Q8_0, 0);
    put_pad(&b, 32);
    put_zeros(&b, 256);
    expect_bad("block_multiple", &b, "not a multiple of the block size 32");

    put_hdr(&b, 3, 1, 0);
    uint64_t ne5[5] = {1, 1, 1, 1, 1};
    put_tinfo(&b, "a", 5, ne5, GGML_TYPE_F32, 0);
    put_zeros(&b, 64);
    expect_bad("n_dims", &b, "has 5 dims");

    put_hdr(&b, 3, 1, 0);
    uint64_t nebig[3] = {UINT64_C(1) << 32, UINT64_C(1) << 32, 2};
    put_tinfo(&b, "a", 3, nebig, GGML_TYPE_F32, 0);
    put_zeros(&b, 64);
    expect_bad("dims_overflow", &b, "too many elements");

    put_hdr(&b, 3, 1, 0);
    uint64_t nebytes[2] = {UINT64_C(1) << 31, UINT64_C(1) << 31}; /* 2^62 elements, 2^65 bytes */
    put_tinfo(&b, "a", 2, nebytes, GGML_TYPE_F64, 0);
    put_zeros(&b, 64);
    expect_bad("nbytes_overflow", &b, "overflows");

    put_hdr(&b, 3, 1, 0);
    uint64_t ne0[2] = {4, 0};
    put_tinfo(&b, "a", 2, ne0, GGML_TYPE_F32, 0);
    put_zeros(&b, 64);
    expect_bad("zero_dim", &b, "bad dim ne[1] = 0");

    put_hdr(&b, 3, 0, 1);
    put_str(&b, "k");
    put_u32(&b, 13);
    put_u32(&b, 0);
    expect_bad("value_type", &b, "metadata 'k' has unknown value type 13");

    put_hdr(&b, 3, 0, 1);
    put_str(&b, "k");
    put_u32(&b, GGUF_TYPE_ARRAY);
    put_u32(&b, GGUF_TYPE_UINT32);
    put_u64(&b, UINT64_C(1) << 62);
    put_zeros(&b, 64);
    expect_bad("array_length", &b, "cannot fit in the file");

    put_hdr(&b, 3, 0, 1);
    put_str(&b, "k");
    put_u32(&b, GGUF_TYPE_ARRAY);
    put_u32(&b, GGUF_TYPE_STRING);
    put_u64(&b, 1000); /* 1000 strings need 8000 bytes at least */
    put_str(&b, "x");
    expect_bad("str_array_length", &b, "cannot fit in the file");

    put_hdr(&b, 3, 0, 1);
    put_str(&b, "k");
    put_u32(&b, GGUF_TYPE_ARRAY);
    for (int i = 0; i < 8; i++) { /* arrays of arrays of ... */
        put_u32(&b, GGUF_TYPE_ARRAY);
        put_u64(&b, 1);
    }
    put_zeros(&b, 64);
    expect_bad("nested", &b, "nested deeper than");

    put_hdr(&b, 3, 0, 1);
    put_str(&b, "k");
    put_u32(&b, GGUF_TYPE_BOOL);
    put(&b, "\x02", 1);
    expect_bad("bool", &b, "bool value 2");

    put_hdr(&b, 3, 0, 1);
    put_str(&b, "a\nb");
    put_u32(&b, GGUF_TYPE_UINT8);
    put(&b, "\x01", 1);
    expect_bad("control_key", &b, "control byte 0x0a");

    /* A type that opens but does not dequantize. */
    put_hdr(&b, 3, 1, 0);
    uint64_t ne256[1] = {256};
    put_tinfo(&b, "iq", 1, ne256, GGML_TYPE_IQ2_XXS, 0);
    put_pad(&b, 32);
    put_zeros(&b, 66);
    char *path = write_tmp("iq2", &b);
    PifiErr err;
    GgufFile *g;
    const GgufTensor *t;
    float y[256];
    int rc = gguf_open(&g, path, &err);
    CHECKF(rc == 0, "%s", err.msg);
    if (rc == 0) {
        CHECK(gguf_get_tensor(g, "iq", &t, &err) == 0 && t->nbytes == 66);
        CHECK(gguf_tensor_to_f32(t, y, &err) == -1);
        CHECK_MSG(err, "tensor 'iq': cannot dequantize ggml type IQ2_XXS (16)");
        CHECK(one_line_from(&err, path));
        gguf_close(g);
    }
    free(path);
    free(b.p);
}

/* Random byte corruption of the fixture: open must fail cleanly or succeed
 * with a file whose every tensor dequantizes. */
static void test_fuzz(void) {
    char *fix = pifi_path_join(g_fix, "quants.gguf");
    char *orig = NULL;
    size_t n = 0;
    PifiErr err;
    REQUIRE(pifi_read_file(fix, 0, &orig, &n, &err) == 0);
    uint64_t rng = 0x9e3779b97f4a7c15u;
    int opened = 0, bad = 0;
    float *y = malloc(1 << 20);
    for (int it = 0; it < 1500; it++) {
        Buf b = {0};
        put(&b, orig, n);
        int flips = 1 + it % 4;
        for (int k = 0; k < flips; k++) {
            rng = rng * 6364136223846793005u + 1442695040888963407u;
            size_t at = (size_t)(rng >> 33) % (it % 3 == 0 ? 1600 : n); /* favour the header */
            b.p[at] = (uint8_t)(rng >> 13);
        }
        char *p = write_tmp("fuzz", &b);
        GgufFile *g = NULL;
        if (gguf_open(&g, p, &err) == 0) {
            opened++;
            for (int64_t i = 0; i < gguf_tensor_count(g); i++) {
                const GgufTensor *t = gguf_tensor_at(g, i);
                if (gguf_type_can_dequantize(t->type) && t->numel <= (1 << 18))
                    gguf_tensor_to_f32(t, y, &err);
            }
            gguf_close(g);
        } else if (!one_line_from(&err, p)) {
            bad++;
            fprintf(stderr, "fuzz: message \"%s\"\n", err.msg);
        }
        free(p);
        free(b.p);
    }
    CHECK(bad == 0);
    printf("fuzz: %d of 1500 corrupted files still opened\n", opened);
    free(y);
    free(orig);
    free(fix);
}

int main(void) {
    snprintf(g_fix, sizeof g_fix, "%s/gguf", test_fixtures());
    char *probe = pifi_path_join(g_fix, "quants.gguf");
    int have = pifi_file_exists(probe);
    free(probe);
    if (!have) TEST_SKIP("%s/quants.gguf missing (run tools/oracle_gguf.py)", g_fix);
    test_quants();
    test_unpermute();
    test_stories();
    test_smollm2();
    test_base_and_truncation();
    test_bad_files();
    test_fuzz();
    TEST_DONE();
}
