/* rope.c: RoPE frequencies (default, linear, llama3 smoothing), rotation and its backward. */
#include "kernels/rope.h"

#include <math.h>
#include <stddef.h>

void rope_inv_freq(float *inv_freq, const RopeParams *p, int HD) {
    int half = HD / 2;
    for (int i = 0; i < half; i++) {
        /* as transformers: 1 / theta^(arange(0, HD, 2) / HD), in fp32 */
        float f = (float)(1.0 / pow(p->theta, (double)(2 * i) / HD));
        if (p->type == ROPE_LINEAR) f = (float)(f / p->factor);
        if (p->type == ROPE_LLAMA3) {
            double low_wl = p->orig_max_pos / p->low_freq_factor;
            double high_wl = p->orig_max_pos / p->high_freq_factor;
            double wl = 2.0 * M_PI / f;
            double g = f;
            if (wl > low_wl) g = f / p->factor;
            if (!(wl < high_wl) && !(wl > low_wl)) {
                double smooth = (p->orig_max_pos / wl - p->low_freq_factor) /
                                (p->high_freq_factor - p->low_freq_factor);
                g = (1.0 - smooth) * g / p->factor + smooth * g;
            }
            f = (float)g;
        }
        inv_freq[i] = f;
    }
}

void rope_forward_rows(float *x, size_t stride, const int *pos, const float *inv_freq, int B, int T, int NH,
                       int HD) {
    int half = HD / 2;
#pragma omp parallel for collapse(2)
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            float p = (float)(pos ? pos[(size_t)b * T + t] : t);
            for (int i = 0; i < half; i++) {
                float ang = p * inv_freq[i]; /* fp32 product, as transformers */
                float c = cosf(ang), s = sinf(ang);
                for (int h = 0; h < NH; h++) {
                    float *v = x + ((size_t)b * T + t) * stride + (size_t)h * HD;
                    float a = v[i], bb = v[i + half];
                    v[i] = a * c - bb * s;
                    v[i + half] = bb * c + a * s;
                }
            }
        }
    }
}

void rope_forward(float *x, const int *pos, const float *inv_freq, int B, int T, int NH, int HD) {
    rope_forward_rows(x, (size_t)NH * HD, pos, inv_freq, B, T, NH, HD);
}

void rope_backward_rows(float *dx, size_t stride, const int *pos, const float *inv_freq, int B, int T, int NH,
                        int HD) {
    int half = HD / 2;
#pragma omp parallel for collapse(2)
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            float p = (float)(pos ? pos[(size_t)b * T + t] : t);
            for (int i = 0; i < half; i++) {
                float ang = p * inv_freq[i];
                float c = cosf(ang), s = sinf(ang);
                for (int h = 0; h < NH; h++) {
                    float *v = dx + ((size_t)b * T + t) * stride + (size_t)h * HD;
                    float a = v[i], bb = v[i + half];
                    v[i] = a * c + bb * s;
                    v[i + half] = bb * c - a * s;
                }
            }
        }
    }
}

void rope_backward(float *dx, const int *pos, const float *inv_freq, int B, int T, int NH, int HD) {
    rope_backward_rows(dx, (size_t)NH * HD, pos, inv_freq, B, T, NH, HD);
}
