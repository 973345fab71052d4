/* fuzz_gguf.c: libFuzzer harness of the GGUF reader (src/io/gguf.c,
 * gguf_dequant.c): the input is written to <tmp>/model.gguf and opened with
 * gguf_open; on success every metadata key is read back through every getter
 * (the wrong-type ones must fail cleanly), every array through the array
 * accessors, and every tensor is looked up by name, reshaped and, when small
 * and of a type pifi dequantizes, converted to fp32. */
#include "fuzz_common.h"
#include "pifi/gguf.h"

#define MAX_ELEMS (1 << 20)

static void probe_key(const GgufFile *g, const char *key) {
    PifiErr err = {0};
    uint32_t u32;
    int32_t i32;
    uint64_t u64, n;
    int64_t i64;
    float f;
    double d;
    int b;
    const char *s;
#define TRY(call)                                  \
    do {                                           \
        err.msg[0] = 0;                            \
        if ((call) != 0) fz_check_err(&err, #call); \
    } while (0)
    TRY(gguf_get_u32(g, key, &u32, &err));
    TRY(gguf_get_i32(g, key, &i32, &err));
    TRY(gguf_get_u64(g, key, &u64, &err));
    TRY(gguf_get_i64(g, key, &i64, &err));
    TRY(gguf_get_f32(g, key, &f, &err));
    TRY(gguf_get_f64(g, key, &d, &err));
    TRY(gguf_get_bool(g, key, &b, &err));
    TRY(gguf_get_str(g, key, &s, &u64, &err));
    GgufValueType elem;
    err.msg[0] = 0;
    if (gguf_get_arr_info(g, key, &elem, &n, &err)) {
        fz_check_err(&err, "gguf_get_arr_info");
        return;
    }
    const char *const *strs;
    const uint64_t *lens;
    err.msg[0] = 0;
    if (gguf_get_arr_str(g, key, &u64, &strs, &lens, &err) == 0) {
        if (u64 != n) fz_die("string array length differs from gguf_get_arr_info");
        for (uint64_t k = 0; k < n; k++)
            if (strlen(strs[k]) > lens[k]) fz_die("string longer than its length");
    } else {
        fz_check_err(&err, "gguf_get_arr_str");
    }
    const void *raw;
    TRY(gguf_get_arr_data(g, key, &elem, &u64, &raw, &err));
    if (n <= MAX_ELEMS) {
        int64_t *iv = malloc((size_t)(n ? n : 1) * sizeof *iv);
        float *fv = malloc((size_t)(n ? n : 1) * sizeof *fv);
        if (!iv || !fv) fz_die("out of memory");
        TRY(gguf_get_arr_i64(g, key, iv, n, &err));
        TRY(gguf_get_arr_f32(g, key, fv, n, &err));
        err.msg[0] = 0;
        if (gguf_get_arr_f32(g, key, fv, n + 1, &err) == 0) fz_die("array length mismatch accepted");
        free(iv);
        free(fv);
    }
#undef TRY
}

static void walk(const GgufFile *g) {
    int64_t nkv = gguf_kv_count(g);
    for (int64_t i = 0; i < nkv; i++) {
        const char *key = gguf_kv_key(g, i);
        if (!key) fz_die("gguf_kv_key returned NULL in range");
        if (gguf_find_key(g, key) != i) fz_die("gguf_find_key does not find a key");
        (void)gguf_value_type_name(gguf_kv_type(g, i));
        probe_key(g, key);
    }
    probe_key(g, "pifi-fuzz: no such key");
    if (gguf_kv_key(g, nkv) || gguf_kv_key(g, -1)) fz_die("gguf_kv_key out of range");
    int64_t nt = gguf_tensor_count(g);
    for (int64_t i = 0; i < nt; i++) {
        const GgufTensor *t = gguf_tensor_at(g, i), *u;
        if (!t) fz_die("gguf_tensor_at returned NULL in range");
        if (gguf_find_tensor(g, t->name, &u) != 0 || u != t) fz_die("gguf_find_tensor mismatch");
        int64_t shape[GGUF_MAX_DIMS];
        int nd = gguf_tensor_shape_pt(t, shape);
        int64_t numel = 1;
        for (int d = 0; d < nd; d++) numel *= shape[d];
        if (numel != t->numel) fz_die("PyTorch shape does not multiply to numel");
        if (!gguf_type_name(t->type)) fz_die("tensor of a type with no name");
        if (gguf_type_can_dequantize(t->type) && t->numel <= MAX_ELEMS) {
            float *dst = malloc((size_t)t->numel * sizeof *dst);
            if (!dst) fz_die("out of memory");
            PifiErr err = {0};
            if (gguf_tensor_to_f32(t, dst, &err)) fz_check_err(&err, "gguf_tensor_to_f32");
            free(dst);
        }
    }
    if (gguf_tensor_at(g, nt)) fz_die("gguf_tensor_at out of range");
    (void)gguf_path(g), (void)gguf_version(g);
    if (gguf_data_offset(g) % gguf_alignment(g) != 0) fz_die("data section not aligned");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char *dir;
    if (!dir) dir = fz_subdir(NULL);
    char *path = fz_write(dir, "model.gguf", data, size);
    GgufFile *g = NULL;
    PifiErr err = {0};
    if (gguf_open(&g, path, &err)) {
        fz_check_err(&err, "gguf_open");
        if (g) fz_die("gguf_open failed but set *out");
    } else {
        walk(g);
        gguf_close(g);
    }
    free(path);
    return 0;
}
