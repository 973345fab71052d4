/* test_safetensors.c: the safetensors reader and writer: one test per kind of
 * hostile header, write -> read round trips, sharded sets with lazily opened
 * shards, pickle refusal, and the real all-MiniLM-L6-v2 checkpoint when it
 * has been fetched (PIFI_MODELS, default /tmp/models). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pifi/fileio.h"
#include "pifi/safetensors.h"
#include "test.h"

/* ---- helpers ---------------------------------------------------------- */

static void join(char *buf, size_t n, const char *dir, const char *name) {
    int k = snprintf(buf, n, "%s/%s", dir, name);
    if (k < 0 || (size_t)k >= n) {
        fprintf(stderr, "path too long: %s/%s\n", dir, name);
        exit(1);
    }
}

static int write_bytes(const char *path, const void *buf, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(buf, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

/* A raw safetensors file: 8-byte length of header, header, data_size zero bytes. */
static int write_raw_len(const char *path, uint64_t hlen, const char *header, size_t data_size) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    uint8_t len[8];
    for (int i = 0; i < 8; i++) len[i] = (uint8_t)(hlen >> (8 * i));
    int ok = fwrite(len, 1, 8, f) == 8 && fwrite(header, 1, strlen(header), f) == strlen(header);
    for (size_t i = 0; i < data_size && ok; i++) ok = fputc(0, f) != EOF;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int write_raw(const char *path, const char *header, size_t data_size) {
    return write_raw_len(path, strlen(header), header, data_size);
}

/* st_open must fail cleanly with a message that starts with `starts` and contains sub. */
static void expect_open_fail(const char *path, const char *starts, const char *sub) {
    PifiErr err = {0};
    SafeTensors *st = (SafeTensors *)&err; /* must be reset to NULL */
    int rc = st_open(&st, path, &err);
    CHECKF(rc == -1, "%s opened", path);
    CHECK(st == NULL);
    CHECK_MSG(err, sub);
    CHECKF(strncmp(err.msg, starts, strlen(starts)) == 0, "\"%s\" does not start with %s", err.msg,
           starts);
    if (rc == 0) st_close(st);
}

/* A raw header that must be refused. */
static void expect_bad_header(const char *dir, const char *header, size_t data_size, const char *sub) {
    char path[512];
    join(path, sizeof path, dir, "bad.safetensors");
    REQUIRE(write_raw(path, header, data_size) == 0);
    expect_open_fail(path, path, sub);
}

/* ---- hostile single files ---------------------------------------------- */

static void test_truncated(const char *dir) {
    char path[512];
    join(path, sizeof path, dir, "short.safetensors");
    REQUIRE(write_bytes(path, "abcde", 5) == 0);
    expect_open_fail(path, path, "shorter than 8 bytes");
    REQUIRE(write_bytes(path, "", 0) == 0);
    expect_open_fail(path, path, "shorter than 8 bytes");
}

static void test_header_beyond_file(const char *dir) {
    char path[512];
    join(path, sizeof path, dir, "long.safetensors");
    REQUIRE(write_raw_len(path, 1000, "{}", 10) == 0);
    expect_open_fail(path, path, "header length 1000 runs beyond the end of the file");
    REQUIRE(write_raw_len(path, (uint64_t)1 << 40, "{}", 10) == 0);
    expect_open_fail(path, path, "is absurd");
}

static void test_invalid_json(const char *dir) {
    expect_bad_header(dir, "{\"w\": {\"dtype\": \"F32\",", 0, "invalid JSON");
    expect_bad_header(dir, "[1, 2]", 0, "does not start with '{'");
    expect_bad_header(dir, "{\"w\": 3}", 0, "tensor 'w' is not an object");
}

static void test_unknown_dtype(const char *dir) {
    expect_bad_header(dir, "{\"w\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                      "tensor 'w' has unknown dtype 'Q7'");
    expect_bad_header(dir, "{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
                      "dtype F8_E4M3, which pifi does not support");
    expect_bad_header(dir, "{\"w\":{\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "no \"dtype\"");
}

static void test_offsets_outside(const char *dir) {
    expect_bad_header(dir,
                      "{\"encoder.w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8,
                      "tensor 'encoder.w' ends at byte 16 but the data section has 8 bytes");
    expect_bad_header(dir, "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 8,
                      "begin is after end");
    expect_bad_header(dir, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 8,
                      "non-negative integers");
    expect_bad_header(dir, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 8,
                      "\"data_offsets\" [begin, end]");
}

static void test_overlap(const char *dir) {
    expect_bad_header(dir,
                      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                      12, "tensors 'a' (bytes 0-8) and 'b' (bytes 4-12) overlap");
    /* the same range twice, listed in the other order */
    expect_bad_header(dir,
                      "{\"b\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                      "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                      8, "overlap");
}

static void test_shape_size_mismatch(const char *dir) {
    expect_bad_header(dir, "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
                      "tensor 'w' is F32 [3] (12 bytes) but its data_offsets span 8 bytes");
    expect_bad_header(dir, "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
                      "bad shape");
    expect_bad_header(dir, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4,
                      "bad shape");
    expect_bad_header(dir,
                      "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}",
                      4, "has 9 dims; at most 8");
}

static void test_absurd_shape(const char *dir) {
    /* 10^15 elements: refused from the header alone, nothing allocated */
    expect_bad_header(dir,
                      "{\"w\":{\"dtype\":\"F32\",\"shape\":[1000000,1000000,1000],\"data_offsets\":[0,4]}}",
                      4, "(4000000000000000 bytes) but its data_offsets span 4 bytes");
    expect_bad_header(dir,
                      "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
                      "\"data_offsets\":[0,4]}}",
                      4, "shape [4294967296, 4294967296], whose size in bytes overflows");
    expect_bad_header(dir,
                      "{\"w\":{\"dtype\":\"F64\",\"shape\":[1125899906842624,2048],"
                      "\"data_offsets\":[0,8]}}",
                      8, "overflows");
    expect_bad_header(dir, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1e300],\"data_offsets\":[0,4]}}", 4,
                      "bad shape");
}

static void test_duplicates_and_metadata(const char *dir) {
    expect_bad_header(dir,
                      "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                      "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                      8, "tensor 'a' appears twice");
    expect_bad_header(dir, "{\"__metadata__\":{\"n\":1}}", 0, "\"__metadata__\" value for 'n' is not a string");
    expect_bad_header(dir, "{\"__metadata__\":[1]}", 0, "\"__metadata__\" must be an object");
}

static void test_pickle_refusal(const char *dir) {
    char sub[512], path[512];
    join(sub, sizeof sub, dir, "pickle_only");
    REQUIRE(pifi_mkdirs(sub, NULL) == 0);
    join(path, sizeof path, sub, "pytorch_model.bin");
    REQUIRE(write_bytes(path, "\x80\x02}q\x00.", 6) == 0);
    /* a directory holding only a pickle */
    expect_open_fail(sub, path, "PyTorch pickle checkpoints are not loaded (a pickle can run code)");
    expect_open_fail(sub, path, "save_pretrained(");
    /* the .bin itself, and a .pt */
    expect_open_fail(path, path, "convert it to safetensors first");
    join(path, sizeof path, sub, "weights.pt");
    REQUIRE(write_bytes(path, "PK\003\004xxxxxxxx", 12) == 0);
    expect_open_fail(path, path, "PyTorch pickle checkpoints are not loaded");
    /* a zip checkpoint renamed to .safetensors is recognised too */
    join(path, sizeof path, sub, "renamed.safetensors");
    REQUIRE(write_bytes(path, "PK\003\004xxxxxxxx", 12) == 0);
    expect_open_fail(path, path, "PyTorch pickle checkpoints are not loaded");
    /* an empty directory */
    join(sub, sizeof sub, dir, "empty_dir");
    REQUIRE(pifi_mkdirs(sub, NULL) == 0);
    expect_open_fail(sub, sub, "no model.safetensors");
}

/* ---- writing and reading back ------------------------------------------ */

static void test_round_trip(const char *dir) {
    char path[512];
    join(path, sizeof path, dir, "rt.safetensors");
    float f32[6] = {1.5f, -2.0f, 3.25f, 0.0f, -0.0f, 1e-20f}; /* [2, 3] */
    uint16_t f16[4] = {pifi_f32_to_f16(1.0f), pifi_f32_to_f16(-0.5f), pifi_f32_to_f16(65504.0f),
                       pifi_f32_to_f16(0.099975586f)};        /* [4] */
    uint16_t bf16[4] = {pifi_f32_to_bf16(2.0f), pifi_f32_to_bf16(-3.0f), pifi_f32_to_bf16(0.5f),
                        pifi_f32_to_bf16(1024.0f)};           /* [2, 2] */
    int64_t i64[3] = {-7, 0, 123456789012345LL};              /* [3] */
    float scalar = 42.0f;                                     /* [] */
    StWriteTensor ts[] = {
        {"enc.w", PIFI_DT_F32, 2, {2, 3}, f32},
        {"enc.h", PIFI_DT_F16, 1, {4}, f16},
        {"enc.b", PIFI_DT_BF16, 2, {2, 2}, bf16},
        {"ids", PIFI_DT_I64, 1, {3}, i64},
        {"scale", PIFI_DT_F32, 0, {0}, &scalar},
        {"empty", PIFI_DT_F32, 2, {0, 5}, NULL},
    };
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "format", "pt");
    cJSON_AddStringToObject(meta, "note", "caf\xc3\xa9 \"quoted\"");
    PifiErr err = {0};
    int rc = st_write(path, ts, 6, meta, &err);
    cJSON_Delete(meta);
    CHECKF(rc == 0, "%s", err.msg);
    REQUIRE(rc == 0);

    /* header length is a multiple of 8, and the header is padded with spaces */
    PifiMap map;
    REQUIRE(pifi_map_open(&map, path, &err) == 0);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | map.data[i];
    CHECK(hlen % 8 == 0);
    CHECK(map.data[8] == '{');
    CHECK(map.size == 8 + hlen + 24 + 8 + 8 + 24 + 4);
    pifi_map_close(&map);

    SafeTensors *st;
    rc = st_open(&st, path, &err);
    CHECKF(rc == 0, "%s", err.msg);
    REQUIRE(rc == 0);
    REQUIRE(st_count(st) == 6);
    /* names come back sorted */
    CHECK(strcmp(st_name(st, 0), "empty") == 0);
    CHECK(strcmp(st_name(st, 5), "scale") == 0);
    CHECK(st_name(st, 6) == NULL && st_name(st, -1) == NULL);

    const StTensor *t;
    REQUIRE(st_get(st, "enc.w", &t, &err) == 0);
    CHECK(t->dtype == PIFI_DT_F32 && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3);
    CHECK(t->numel == 6 && t->nbytes == 24 && memcmp(t->data, f32, 24) == 0);
    const uint8_t *base = t->data; /* first in the given order: offsets are contiguous from here */
    REQUIRE(st_get(st, "enc.h", &t, &err) == 0);
    CHECK(t->dtype == PIFI_DT_F16 && memcmp(t->data, f16, 8) == 0 && (const uint8_t *)t->data == base + 24);
    REQUIRE(st_get(st, "enc.b", &t, &err) == 0);
    CHECK(t->dtype == PIFI_DT_BF16 && t->ndim == 2 && memcmp(t->data, bf16, 8) == 0);
    CHECK((const uint8_t *)t->data == base + 32);
    REQUIRE(st_get(st, "ids", &t, &err) == 0);
    CHECK(t->dtype == PIFI_DT_I64 && memcmp(t->data, i64, 24) == 0 && (const uint8_t *)t->data == base + 40);
    REQUIRE(st_get(st, "scale", &t, &err) == 0);
    CHECK(t->ndim == 0 && t->numel == 1 && memcmp(t->data, &scalar, 4) == 0);
    REQUIRE(st_get(st, "empty", &t, &err) == 0);
    CHECK(t->ndim == 2 && t->numel == 0 && t->nbytes == 0 && t->shape[1] == 5);
    CHECK(strcmp(t->file, path) == 0);

    /* read as fp32, converting */
    float out[6];
    CHECK(st_read_f32(st, "enc.h", 1, (int64_t[]){4}, out, &err) == 0);
    CHECK(out[0] == 1.0f && out[1] == -0.5f && out[2] == 65504.0f && fabsf(out[3] - 0.1f) < 1e-4f);
    CHECK(st_read_f32(st, "enc.b", 2, (int64_t[]){2, 2}, out, &err) == 0);
    CHECK(out[0] == 2.0f && out[1] == -3.0f && out[2] == 0.5f && out[3] == 1024.0f);
    CHECK(st_read_f32(st, "ids", 1, (int64_t[]){3}, out, &err) == 0);
    CHECK(out[0] == -7.0f && out[1] == 0.0f);
    CHECK(st_read_f32(st, "scale", 0, NULL, out, &err) == 0 && out[0] == 42.0f);
    /* shape mismatch names both shapes */
    CHECK(st_read_f32(st, "enc.w", 2, (int64_t[]){3, 2}, out, &err) == -1);
    CHECK_MSG(err, "tensor 'enc.w' has shape [2, 3] but [3, 2] was expected");
    CHECK(strncmp(err.msg, path, strlen(path)) == 0);
    CHECK(st_read_f32(st, "enc.w", 1, (int64_t[]){6}, out, &err) == -1);

    /* metadata */
    const cJSON *m = st_metadata(st);
    REQUIRE(m != NULL);
    const cJSON *note = cJSON_GetObjectItemCaseSensitive(m, "note");
    CHECK(cJSON_IsString(note) && strcmp(note->valuestring, "caf\xc3\xa9 \"quoted\"") == 0);
    st_close(st);
}

static void test_missing_tensor(const char *dir) {
    char path[512];
    join(path, sizeof path, dir, "one.safetensors");
    float x = 1.0f;
    StWriteTensor t = {"x", PIFI_DT_F32, 1, {1}, &x};
    PifiErr err = {0};
    REQUIRE(st_write(path, &t, 1, NULL, &err) == 0);
    SafeTensors *st;
    REQUIRE(st_open(&st, path, &err) == 0);
    CHECK(st_metadata(st) == NULL);
    const StTensor *out = (const StTensor *)&err;
    CHECK(st_get(st, "encoder.nope", &out, &err) == -1);
    CHECK_MSG(err, "missing tensor 'encoder.nope'");
    CHECK(strncmp(err.msg, path, strlen(path)) == 0);
    CHECK(out == NULL);
    PifiErr clean = {0};
    CHECK(st_find(st, "encoder.nope", &out, &clean) == 1 && clean.msg[0] == 0 && out == NULL);
    CHECK(st_find(st, "x", &out, &clean) == 0 && out && out->numel == 1);
    CHECK(st_read_f32(st, "y", 1, (int64_t[]){1}, &x, &err) == -1);
    CHECK_MSG(err, "missing tensor 'y'");
    st_close(st);
}

static void test_writer_failures(const char *dir) {
    char path[512];
    join(path, sizeof path, dir, "wfail.safetensors");
    unlink(path);
    float d[4] = {0};
    PifiErr err = {0};
    StWriteTensor dup[] = {{"a", PIFI_DT_F32, 1, {2}, d}, {"b", PIFI_DT_F32, 1, {1}, d},
                           {"a", PIFI_DT_F32, 1, {1}, d}};
    CHECK(st_write(path, dup, 3, NULL, &err) == -1);
    CHECK_MSG(err, "tensor 'a' is given twice");
    CHECK(!pifi_file_exists(path));
    StWriteTensor neg = {"n", PIFI_DT_F32, 2, {2, -1}, d};
    CHECK(st_write(path, &neg, 1, NULL, &err) == -1);
    CHECK_MSG(err, "negative dim");
    StWriteTensor deep = {"deep", PIFI_DT_F32, 9, {1}, d};
    CHECK(st_write(path, &deep, 1, NULL, &err) == -1);
    CHECK_MSG(err, "9 dims");
    StWriteTensor huge = {"huge", PIFI_DT_F64, 2, {(int64_t)1 << 40, (int64_t)1 << 30}, d};
    CHECK(st_write(path, &huge, 1, NULL, &err) == -1);
    CHECK_MSG(err, "overflows");
    StWriteTensor nodata = {"nodata", PIFI_DT_F32, 1, {2}, NULL};
    CHECK(st_write(path, &nodata, 1, NULL, &err) == -1);
    CHECK_MSG(err, "has no data");
    StWriteTensor meta_name = {"__metadata__", PIFI_DT_F32, 1, {1}, d};
    CHECK(st_write(path, &meta_name, 1, NULL, &err) == -1);
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddNumberToObject(meta, "n", 3);
    CHECK(st_write(path, dup, 2, meta, &err) == -1);
    CHECK_MSG(err, "metadata value for 'n' is not a string");
    cJSON_Delete(meta);
    CHECK(!pifi_file_exists(path));

    /* a failed write leaves an existing file untouched */
    CHECK(st_write(path, dup, 2, NULL, &err) == 0);
    CHECK(st_write(path, dup, 3, NULL, &err) == -1);
    SafeTensors *st;
    REQUIRE(st_open(&st, path, &err) == 0);
    CHECK(st_count(st) == 2);
    st_close(st);

    /* an unwritable place: nothing is left behind */
    char bad[600];
    join(bad, sizeof bad, dir, "no_such_dir/x.safetensors");
    CHECK(st_write(bad, dup, 2, NULL, &err) == -1);
    CHECK_MSG(err, "cannot create");
    CHECK(!pifi_file_exists(bad));

    /* zero tensors is a valid file */
    CHECK(st_write(path, NULL, 0, NULL, &err) == 0);
    REQUIRE(st_open(&st, path, &err) == 0);
    CHECK(st_count(st) == 0);
    const StTensor *t;
    CHECK(st_find(st, "a", &t, &err) == 1);
    st_close(st);
}

/* ---- sharded sets ------------------------------------------------------ */

static int write_index(const char *path, const char *body) { return write_bytes(path, body, strlen(body)); }

static void test_sharded(const char *dir) {
    char sub[512], p1[600], p2[600], p4[600], idx[600], single[600];
    join(sub, sizeof sub, dir, "sharded");
    REQUIRE(pifi_mkdirs(sub, NULL) == 0);
    join(p1, sizeof p1, sub, "model-00001-of-00004.safetensors");
    join(p2, sizeof p2, sub, "model-00002-of-00004.safetensors");
    join(p4, sizeof p4, sub, "model-00004-of-00004.safetensors");
    join(idx, sizeof idx, sub, "model.safetensors.index.json");
    join(single, sizeof single, sub, "model.safetensors");
    float a[6] = {1, 2, 3, 4, 5, 6}, b[2] = {7, 8}, c[3] = {9, 10, 11};
    StWriteTensor s1[] = {{"layer.0.a", PIFI_DT_F32, 2, {2, 3}, a}, {"layer.0.b", PIFI_DT_F32, 1, {2}, b}};
    StWriteTensor s2[] = {{"layer.1.c", PIFI_DT_F32, 1, {3}, c}};
    StWriteTensor other[] = {{"not.from.index", PIFI_DT_F32, 1, {2}, b}};
    PifiErr err = {0};
    REQUIRE(st_write(p1, s1, 2, NULL, &err) == 0);
    REQUIRE(st_write(p2, s2, 1, NULL, &err) == 0);
    REQUIRE(st_write(single, other, 1, NULL, &err) == 0); /* the index must win over this */
    REQUIRE(write_bytes(p4, "bad", 3) == 0);               /* corrupt shard */
    /* shard 3 does not exist at all */
    REQUIRE(write_index(idx, "{\"metadata\": {\"total_size\": 44},\n \"weight_map\": {\n"
                             "  \"layer.0.a\": \"model-00001-of-00004.safetensors\",\n"
                             "  \"layer.0.b\": \"model-00001-of-00004.safetensors\",\n"
                             "  \"layer.0.ghost\": \"model-00001-of-00004.safetensors\",\n"
                             "  \"layer.1.c\": \"model-00002-of-00004.safetensors\",\n"
                             "  \"layer.2.d\": \"model-00003-of-00004.safetensors\",\n"
                             "  \"layer.3.e\": \"model-00004-of-00004.safetensors\"}}") == 0);

    SafeTensors *st;
    int rc = st_open(&st, sub, &err); /* the directory: the index is preferred */
    CHECKF(rc == 0, "%s", err.msg);
    REQUIRE(rc == 0);
    /* listing needs no shard, not even the missing and the corrupt one */
    REQUIRE(st_count(st) == 6);
    CHECK(strcmp(st_name(st, 0), "layer.0.a") == 0 && strcmp(st_name(st, 5), "layer.3.e") == 0);
    const cJSON *m = st_metadata(st);
    CHECK(m && cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(m, "total_size")));

    const StTensor *t;
    CHECK(st_find(st, "not.from.index", &t, &err) == 1);
    REQUIRE(st_get(st, "layer.1.c", &t, &err) == 0);
    CHECK(memcmp(t->data, c, 12) == 0 && strcmp(t->file, p2) == 0);
    float out[6];
    CHECK(st_read_f32(st, "layer.0.a", 2, (int64_t[]){2, 3}, out, &err) == 0 && out[5] == 6.0f);
    REQUIRE(st_get(st, "layer.0.b", &t, &err) == 0);
    CHECK(strcmp(t->file, p1) == 0 && ((const float *)t->data)[1] == 8.0f);

    /* the index names it, the shard lacks it */
    CHECK(st_get(st, "layer.0.ghost", &t, &err) == -1);
    CHECK_MSG(err, "tensor 'layer.0.ghost' is listed in");
    CHECK_MSG(err, "but missing from this shard");
    CHECK(strncmp(err.msg, p1, strlen(p1)) == 0);
    /* the absent shard and the corrupt one fail only now, each time asked */
    CHECK(st_get(st, "layer.2.d", &t, &err) == -1);
    CHECK_MSG(err, "model-00003-of-00004.safetensors: cannot open");
    CHECK(st_get(st, "layer.3.e", &t, &err) == -1);
    CHECK_MSG(err, "shorter than 8 bytes");
    CHECK(strncmp(err.msg, p4, strlen(p4)) == 0);
    CHECK(st_get(st, "layer.3.e", &t, &err) == -1);
    /* the good shards still work after that */
    CHECK(st_get(st, "layer.0.a", &t, &err) == 0 && ((const float *)t->data)[0] == 1.0f);
    st_close(st);

    /* the index by its own path */
    REQUIRE(st_open(&st, idx, &err) == 0);
    CHECK(st_count(st) == 6);
    st_close(st);
}

static void test_bad_index(const char *dir) {
    char sub[512], idx[600];
    join(sub, sizeof sub, dir, "bad_index");
    REQUIRE(pifi_mkdirs(sub, NULL) == 0);
    join(idx, sizeof idx, sub, "model.safetensors.index.json");
    REQUIRE(write_index(idx, "{\"weight_map\": {\"w\": \"../outside.safetensors\"}}") == 0);
    expect_open_fail(idx, idx, "shard '../outside.safetensors' of tensor 'w' is not a plain file name");
    REQUIRE(write_index(idx, "{\"weight_map\": {\"w\": \"/etc/passwd\"}}") == 0);
    expect_open_fail(sub, idx, "not a plain file name");
    REQUIRE(write_index(idx, "{\"weight_map\": {\"w\": \"..\"}}") == 0);
    expect_open_fail(idx, idx, "not a plain file name");
    REQUIRE(write_index(idx, "{\"weight_map\": {\"w\": 3}}") == 0);
    expect_open_fail(idx, idx, "is not a file name");
    REQUIRE(write_index(idx, "{\"metadata\": {}}") == 0);
    expect_open_fail(idx, idx, "missing \"weight_map\"");
    REQUIRE(write_index(idx, "{\"weight_map\": {\"w\": \"a.safetensors\", \"w\": \"b.safetensors\"}}") == 0);
    expect_open_fail(idx, idx, "tensor 'w' appears twice in weight_map");
    REQUIRE(write_index(idx, "{\"weight_map\": {") == 0);
    expect_open_fail(idx, idx, "invalid JSON");
}

/* ---- the real checkpoint ----------------------------------------------- */

static void test_minilm(void) {
    char dir[512];
    join(dir, sizeof dir, test_env("PIFI_MODELS", "/tmp/models"), "all-MiniLM-L6-v2");
    char path[600];
    join(path, sizeof path, dir, "model.safetensors");
    if (!pifi_file_exists(path)) {
        printf("(skipping the real all-MiniLM-L6-v2 checkpoint: %s not found)\n", path);
        return;
    }
    SafeTensors *st;
    PifiErr err = {0};
    int rc = st_open(&st, dir, &err);
    CHECKF(rc == 0, "%s", err.msg);
    REQUIRE(rc == 0);
    CHECK(st_count(st) >= 100);
    const StTensor *t;
    REQUIRE(st_get(st, "embeddings.word_embeddings.weight", &t, &err) == 0);
    CHECK(t->dtype == PIFI_DT_F32 && t->ndim == 2 && t->shape[0] == 30522 && t->shape[1] == 384);
    CHECK(t->nbytes == (uint64_t)30522 * 384 * 4);
    float ln[384];
    CHECK(st_read_f32(st, "embeddings.LayerNorm.weight", 1, (int64_t[]){384}, ln, &err) == 0);
    CHECK(fabsf(ln[0] - 0.59892833f) < 1e-6f && fabsf(ln[1] - 0.5835948f) < 1e-6f);
    const cJSON *m = st_metadata(st);
    const cJSON *fmt = m ? cJSON_GetObjectItemCaseSensitive(m, "format") : NULL;
    CHECK(cJSON_IsString(fmt) && strcmp(fmt->valuestring, "pt") == 0);
    /* every tensor is reachable by name */
    int all = 1;
    for (int i = 0; i < st_count(st); i++) all &= st_get(st, st_name(st, i), &t, &err) == 0;
    CHECK(all);
    st_close(st);
}

int main(void) {
    char dir[512];
    join(dir, sizeof dir, test_tmp(), "safetensors");
    if (pifi_mkdirs(dir, NULL)) {
        fprintf(stderr, "cannot create %s\n", dir);
        return 1;
    }
    test_truncated(dir);
    test_header_beyond_file(dir);
    test_invalid_json(dir);
    test_unknown_dtype(dir);
    test_offsets_outside(dir);
    test_overlap(dir);
    test_shape_size_mismatch(dir);
    test_absurd_shape(dir);
    test_duplicates_and_metadata(dir);
    test_pickle_refusal(dir);
    test_round_trip(dir);
    test_missing_tensor(dir);
    test_writer_failures(dir);
    test_sharded(dir);
    test_bad_index(dir);
    test_minilm();
    TEST_DONE();
}
