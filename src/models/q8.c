/* q8.c: int8 weights with a scale per row read from a checkpoint (q8.h). */
#include "models/q8.h"

#include <math.h>
#include <stdio.h>
#include <string.h>


int q8_read(SafeTensors *st, const char *name, size_t rows, size_t cols, int8_t *q, float *s, PifiErr *err) {
    const StTensor *t, *ts;
    if (st_get(st, name, &t, err)) return -1;
    if (t->dtype != PIFI_DT_I8 || t->ndim != 2 || t->shape[0] != (int64_t)rows || t->shape[1] != (int64_t)cols)
        return pifi_errf(err, "%s: tensor '%s' is %s with %d dims, expected I8 [%zu, %zu] (an int8 checkpoint)",
                         t->file, name, pifi_dtype_name(t->dtype), t->ndim, rows, cols);
    char sn[256];
    snprintf(sn, sizeof sn, "%s_scale", name);
    if (st_get(st, sn, &ts, err)) return -1;
    if (ts->dtype != PIFI_DT_F32)
        return pifi_errf(err, "%s: tensor '%s' has dtype %s, expected F32", ts->file, sn, pifi_dtype_name(ts->dtype));
    int64_t shape[1] = {(int64_t)rows};
    if (st_read_f32(st, sn, 1, shape, s, err) || q8_check_scales(s, rows, ts->file, sn, err)) return -1;
    memcpy(q, t->data, rows * cols);
    return 0;
}

int q8_check_scales(const void *s, size_t rows, const char *file, const char *name, PifiErr *err) {
    for (size_t r = 0; r < rows; r++) {
        float v;
        memcpy(&v, (const char *)s + r * sizeof v, sizeof v);
        if (!(v > 0.0f && isfinite(v)))
            return pifi_errf(err, "%s: tensor '%s' holds %g at row %zu; scales are positive and finite", file, name,
                             (double)v, r);
    }
    return 0;
}
