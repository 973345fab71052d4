/* fuzz_safetensors.c: libFuzzer harness of one .safetensors file
 * (src/io/safetensors.c, safetensors_index.c): the input is written to
 * <tmp>/model.safetensors and opened with st_open; on success every tensor
 * is listed, looked up, checked for consistency and converted to fp32 with
 * st_read_f32 (reading every byte of its data, so a tensor placed outside
 * the map faults). */
#include "fuzz_common.h"
#include "pifi/safetensors.h"

#define MAX_F32 (1 << 20) /* convert tensors up to this many elements */

static void walk(SafeTensors *st) {
    int n = st_count(st);
    if (n < 0) fz_die("negative st_count");
    const cJSON *meta = st_metadata(st);
    if (meta && !cJSON_IsObject(meta)) fz_die("st_metadata is not an object");
    const char *prev = NULL;
    for (int i = 0; i < n; i++) {
        const char *name = st_name(st, i);
        if (!name) fz_die("st_name returned NULL in range");
        if (prev && strcmp(prev, name) >= 0) fz_die("st_name is not strictly sorted");
        prev = name;
        const StTensor *t;
        PifiErr err = {0};
        if (st_get(st, name, &t, &err)) {
            fz_check_err(&err, "st_get");
            continue;
        }
        if (strcmp(t->name, name) != 0) fz_die("st_get returned another tensor");
        if (t->ndim < 0 || t->ndim > ST_MAX_DIMS) fz_die("bad ndim");
        int64_t numel = 1;
        for (int d = 0; d < t->ndim; d++) {
            if (t->shape[d] < 0) fz_die("negative dim");
            numel *= t->shape[d];
        }
        if (numel != t->numel || t->nbytes != (uint64_t)numel * pifi_dtype_size(t->dtype))
            fz_die("numel / nbytes do not match the shape");
        if (t->numel <= MAX_F32) {
            float *dst = malloc((size_t)(t->numel ? t->numel : 1) * sizeof *dst);
            if (!dst) fz_die("out of memory");
            err.msg[0] = 0;
            if (st_read_f32(st, name, t->ndim, t->shape, dst, &err)) fz_check_err(&err, "st_read_f32");
            /* a wrong shape must be refused */
            int64_t other[ST_MAX_DIMS] = {0};
            other[0] = t->ndim ? t->shape[0] + 1 : 1;
            err.msg[0] = 0;
            if (st_read_f32(st, name, t->ndim ? t->ndim : 1, other, dst, &err) == 0)
                fz_die("st_read_f32 accepted a wrong shape");
            fz_check_err(&err, "st_read_f32(wrong shape)");
            free(dst);
        }
    }
    const StTensor *t;
    PifiErr err = {0};
    const char *absent = "pifi-fuzz: no such tensor";
    int f = st_find(st, absent, &t, &err);
    if (f < 0) fz_check_err(&err, "st_find");
    if (f == 0 && strcmp(t->name, absent) != 0) fz_die("st_find returned another tensor");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char *dir;
    if (!dir) dir = fz_subdir(NULL);
    char *path = fz_write(dir, "model.safetensors", data, size);
    SafeTensors *st = NULL;
    PifiErr err = {0};
    if (st_open(&st, path, &err)) {
        fz_check_err(&err, "st_open");
        if (st) fz_die("st_open failed but set *out");
    } else {
        walk(st);
        st_close(st);
    }
    free(path);
    return 0;
}
