/* fuzz_st_index.c: libFuzzer harness of the sharded safetensors index
 * (src/io/safetensors_index.c): the input is written as
 * <tmp>/model.safetensors.index.json next to two small valid shards (made
 * with st_write at start-up) and the directory is opened with st_open, which
 * prefers the index. On success every name is looked up, which opens the
 * shards the index names, and read as fp32. */
#include "fuzz_common.h"
#include "pifi/safetensors.h"

static char *dir;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    dir = fz_subdir(NULL);
    static const float a[6] = {1, 2, 3, 4, 5, 6};
    static const uint16_t b[4] = {0x3f80, 0x4000, 0x4040, 0x4080}; /* bf16 1..4 */
    static const int64_t c[2] = {7, -7};
    StWriteTensor s1[] = {
        {"model.embed.weight", PIFI_DT_F32, 2, {2, 3}, a},
        {"model.layers.0.bias", PIFI_DT_I64, 1, {2}, c},
    };
    StWriteTensor s2[] = {{"model.layers.0.weight", PIFI_DT_BF16, 2, {2, 2}, b},
                          {"model.norm", PIFI_DT_F32, 0, {0}, a}};
    PifiErr err = {0};
    char *p1 = fz_write(dir, "model-00001-of-00002.safetensors", "", 0);
    char *p2 = fz_write(dir, "model-00002-of-00002.safetensors", "", 0);
    if (st_write(p1, s1, 2, NULL, &err) || st_write(p2, s2, 2, NULL, &err)) {
        fprintf(stderr, "fuzz harness: st_write: %s\n", err.msg);
        abort();
    }
    free(p1);
    free(p2);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    free(fz_write(dir, "model.safetensors.index.json", data, size));
    SafeTensors *st = NULL;
    PifiErr err = {0};
    if (st_open(&st, dir, &err)) {
        fz_check_err(&err, "st_open");
        return 0;
    }
    const cJSON *meta = st_metadata(st);
    if (meta && !cJSON_IsObject(meta)) fz_die("st_metadata is not an object");
    int n = st_count(st);
    for (int i = 0; i < n; i++) {
        const char *name = st_name(st, i);
        if (!name) fz_die("st_name returned NULL in range");
        const StTensor *t;
        err.msg[0] = 0;
        if (st_get(st, name, &t, &err)) {
            fz_check_err(&err, "st_get");
            continue;
        }
        if (strcmp(t->name, name) != 0) fz_die("st_get returned another tensor");
        float dst[8];
        err.msg[0] = 0;
        if (t->numel <= 8 && st_read_f32(st, name, t->ndim, t->shape, dst, &err))
            fz_check_err(&err, "st_read_f32");
    }
    st_close(st);
    return 0;
}
