/* deberta_conv.c: DeBERTa-V2's ConvLayer (conv_kernel_size k > 0, as in
 * DeBERTa-V2 xlarge/xxlarge), run once, after layer 0, as transformers'
 * DebertaV2Encoder does:
 *
 *   y = Conv1d(x0)  (C -> C, kernel k, padding (k - 1) / 2, groups G, bias)
 *   y[padding rows] = 0;  y = dropout(y)
 *   conv_x = LN(h0 + act(y)) * mask          (act: conv_act, tanh by default)
 *
 * x0 (B, T, C) is the first layer's input (the embeddings' output), h0
 * layer 0's output; conv_x is layer 1's input. The convolution is one
 * product per group over its input windows (im2col: row (b, t) holds
 * x0[b, t + j - (k-1)/2, g Cg + c] at column c k + j, zero outside the
 * sequence, which is the layout of Conv1d's weight (C, Cg, k)), with
 * oneDNN; the backward scatters the windows' gradient back (col2im). The
 * products stay fp32 (no bf16 copy of the conv weight). Its dropout site is
 * the one after the last layer's (deberta_stream(step, L, 0)). */
#include <string.h>

#include "kernels/activation.h"
#include "kernels/compute.h"
#include "kernels/dropout.h"
#include "kernels/layernorm.h"
#include "models/encoders/deberta_internal.h"

/* col (B T, k Cg) = the windows of channels g Cg .. (g + 1) Cg - 1 of x (B, T, C). */
static void im2col(float *col, const float *x, int B, int T, int C, int k, int Cg, int g) {
    int P = (k - 1) / 2, W = k * Cg;
#pragma omp parallel for
    for (int bt = 0; bt < B * T; bt++) {
        int b = bt / T, t = bt % T;
        float *row = col + (size_t)bt * W;
        for (int c = 0; c < Cg; c++)
            for (int j = 0; j < k; j++) {
                int s = t + j - P;
                row[c * k + j] = s >= 0 && s < T ? x[((size_t)b * T + s) * C + (size_t)g * Cg + c] : 0.0f;
            }
    }
}

/* dx (B, T, C) += the windows' gradient dcol (B T, k Cg) of group g. */
static void col2im(float *dx, const float *dcol, int B, int T, int C, int k, int Cg, int g) {
    int P = (k - 1) / 2, W = k * Cg;
#pragma omp parallel for
    for (int bt = 0; bt < B * T; bt++) { /* each output row gathers from the k rows that read it */
        int b = bt / T, t = bt % T;
        float *out = dx + (size_t)bt * C + (size_t)g * Cg;
        for (int j = 0; j < k; j++) {
            int s = t - j + P; /* the window row whose tap j reads position t */
            if (s < 0 || s >= T) continue;
            const float *row = dcol + ((size_t)b * T + s) * W;
            for (int c = 0; c < Cg; c++) out[c] += row[c * k + j];
        }
    }
}

static void zero_padding_rows(float *x, const int32_t *mask, int BT, int C) {
    for (int i = 0; i < BT; i++)
        if (!mask[i]) memset(x + (size_t)i * C, 0, (size_t)C * sizeof *x);
}

void deberta_conv_forward(Encoder *m, const float *x0, const float *h0, int B, int T, float hp, uint64_t seed,
                          uint64_t step, uint64_t row0) {
    DebertaState *s = deberta_state(m);
    const EncoderConfig *c = &m->cfg;
    const DebertaParams *p = &s->p;
    DebertaActs *a = &s->a;
    int BT = B * T, C = c->C, k = c->deberta.conv_k;
    int G = c->deberta.conv_groups, Cg = C / G;
    size_t nC = (size_t)BT * C;
    for (int g = 0; g < G; g++) {
        im2col(a->conv_col, x0, B, T, C, k, Cg, g);
        const float *w = p->convw + (size_t)g * Cg * Cg * k, *bias = p->convb + (size_t)g * Cg;
        if (G == 1) {
            linear_forward(NULL, a->conv_y, a->conv_col, linw(w, NULL), bias, BT, k * Cg, C);
            break;
        }
        linear_forward(NULL, a->conv_g, a->conv_col, linw(w, NULL), bias, BT, k * Cg, Cg);
        for (int i = 0; i < BT; i++)
            memcpy(a->conv_y + (size_t)i * C + (size_t)g * Cg, a->conv_g + (size_t)i * Cg, (size_t)Cg * sizeof(float));
    }
    zero_padding_rows(a->conv_y, m->mask, BT, C);
    if (hp > 0.0f)
        dropout_rows_forward(a->conv_y, a->conv_y, B, (size_t)T * C, hp, seed, deberta_stream(step, c->L, 0), row0);
    activation_forward((Activation)c->deberta.conv_act, a->conv_res, a->conv_y, nC);
#pragma omp parallel for
    for (size_t i = 0; i < nC; i++) a->conv_res[i] += h0[i];
    layernorm_forward(a->conv_x, a->conv_mean, a->conv_rstd, a->conv_res, p->conv_lnw, p->conv_lnb, BT, C,
                      c->ln_eps);
    zero_padding_rows(a->conv_x, m->mask, BT, C);
}

void deberta_conv_backward(Encoder *m, DebertaParams *gp, const float *dconv_x, float *dh0, const float *x0,
                           float *t1, float *t2, float hp, uint64_t seed, uint64_t step, uint64_t row0) {
    DebertaState *s = deberta_state(m);
    const EncoderConfig *c = &m->cfg;
    const DebertaParams *p = &s->p;
    DebertaActs *a = &s->a;
    DebertaGrads *gs = &s->gs;
    int B = m->B, T = m->T, BT = B * T, C = c->C, k = c->deberta.conv_k;
    int G = c->deberta.conv_groups, Cg = C / G;
    size_t nC = (size_t)BT * C;
    int train = gp != NULL;
    /* conv_x = LN(conv_res) * mask */
    memcpy(t2, dconv_x, nC * sizeof *t2);
    zero_padding_rows(t2, m->mask, BT, C);
    memset(t1, 0, nC * sizeof *t1);
    layernorm_backward(t1, train ? gp->conv_lnw : NULL, train ? gp->conv_lnb : NULL, t2, a->conv_res, p->conv_lnw,
                       a->conv_mean, a->conv_rstd, BT, C);
    memcpy(dh0, t1, nC * sizeof *dh0); /* conv_res = h0 + act(y) */
    if (!train) return;               /* x0 and the conv's weights are frozen */
    memset(t2, 0, nC * sizeof *t2);
    activation_backward((Activation)c->deberta.conv_act, t2, a->conv_y, t1, nC);
    if (hp > 0.0f)
        dropout_rows_backward(t2, t2, B, (size_t)T * C, hp, seed, deberta_stream(step, c->L, 0), row0);
    zero_padding_rows(t2, m->mask, BT, C);
    memset(gs->dconv_x0, 0, nC * sizeof *gs->dconv_x0);
    for (int g = 0; g < G; g++) {
        im2col(a->conv_col, x0, B, T, C, k, Cg, g);
        const float *dy = t2;
        if (G > 1) {
            for (int i = 0; i < BT; i++)
                memcpy(a->conv_g + (size_t)i * Cg, t2 + (size_t)i * C + (size_t)g * Cg, (size_t)Cg * sizeof(float));
            dy = a->conv_g;
        }
        size_t wofs = (size_t)g * Cg * Cg * k;
        memset(gs->dconv_col, 0, (size_t)BT * k * Cg * sizeof(float));
        linear_backward(NULL, gs->dconv_col, gp->convw + wofs, gp->convb + (size_t)g * Cg, dy, a->conv_col,
                        linw(p->convw + wofs, NULL), BT, k * Cg, G == 1 ? C : Cg);
        col2im(gs->dconv_x0, gs->dconv_col, B, T, C, k, Cg, g);
    }
}
