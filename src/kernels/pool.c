/* pool.c: CLS, masked mean and last-token pooling. */
#include "kernels/pool.h"

#include <stddef.h>
#include <string.h>

void pool_forward(float *out, const float *h, const int32_t *mask, int B, int T, int C, int mode) {
    for (int b = 0; b < B; b++) {
        const float *hb = h + (size_t)b * T * C;
        const int32_t *m = mask ? mask + (size_t)b * T : NULL;
        float *o = out + (size_t)b * C;
        if (mode == 0) {
            memcpy(o, hb, C * sizeof(float));
        } else if (mode == 1) {
            int n = 0;
            memset(o, 0, C * sizeof(float));
            for (int t = 0; t < T; t++) {
                if (m && !m[t]) continue;
                n++;
                for (int c = 0; c < C; c++) o[c] += hb[(size_t)t * C + c];
            }
            float inv = n ? 1.0f / n : 0.0f;
            for (int c = 0; c < C; c++) o[c] *= inv;
        } else {
            int last = 0;
            for (int t = 0; t < T; t++)
                if (!m || m[t]) last = t;
            memcpy(o, hb + (size_t)last * C, C * sizeof(float));
        }
    }
}

void pool_backward(float *dh, const float *dout, const int32_t *mask, int B, int T, int C, int mode) {
    memset(dh, 0, (size_t)B * T * C * sizeof(float));
    for (int b = 0; b < B; b++) {
        float *db = dh + (size_t)b * T * C;
        const int32_t *m = mask ? mask + (size_t)b * T : NULL;
        const float *g = dout + (size_t)b * C;
        if (mode == 0) {
            memcpy(db, g, C * sizeof(float));
        } else if (mode == 1) {
            int n = 0;
            for (int t = 0; t < T; t++) n += !m || m[t];
            float inv = n ? 1.0f / n : 0.0f;
            for (int t = 0; t < T; t++)
                if (!m || m[t])
                    for (int c = 0; c < C; c++) db[(size_t)t * C + c] = g[c] * inv;
        } else {
            int last = 0;
            for (int t = 0; t < T; t++)
                if (!m || m[t]) last = t;
            memcpy(db + (size_t)last * C, g, C * sizeof(float));
        }
    }
}
