/* q8.c: int8 weights with a scale per row: quantizing, reading (q8.h). */
#include "models/q8.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kernels/compute.h"

void q8_quantize_rows(int8_t *q, float *s, const float *f, const uint16_t *h, size_t R, size_t C) {
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < R; r++) {
        float amax = 0.0f;
        for (size_t c = 0; c < C; c++) {
            float v = f ? f[r * C + c] : bf16_value(h[r * C + c]);
            amax = fabsf(v) > amax ? fabsf(v) : amax;
        }
        float sc = amax > 0.0f ? amax / 127.0f : 1.0f;
        s[r] = sc;
        for (size_t c = 0; c < C; c++) {
            float v = f ? f[r * C + c] : bf16_value(h[r * C + c]);
            q[r * C + c] = (int8_t)lrintf(v / sc);
        }
    }
}

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
    if (st_read_f32(st, sn, 1, shape, s, err)) return -1;
    for (size_t r = 0; r < rows; r++)
        if (!(s[r] > 0.0f && isfinite(s[r])))
            return pifi_errf(err, "%s: tensor '%s' holds %g at row %zu; scales are positive and finite", ts->file, sn,
                             (double)s[r], r);
    memcpy(q, t->data, rows * cols);
    return 0;
}
