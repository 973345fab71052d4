/* encoder_forms.c: the other forms of the encoder's linear-layer weights:
 * bf16 copies for bf16 precision (refreshed from the fp32 master weights),
 * and int8 with a scale per output row for quantized inference. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/compute.h"
#include "models/encoder_internal.h"
#include "pifi/encoder.h"

/* ------------------------------------------------------------------------ */
/* precision: bf16 copies of the linear layers' weights */

int encoder_set_precision(Encoder *m, PifiPrecision p, PifiErr *err) {
    if (!m->cx) {
        m->own_cx = pifi_malloc(sizeof *m->own_cx, err);
        if (!m->own_cx) return -1;
        compute_init(m->own_cx, p);
        m->cx = m->own_cx;
    }
    m->cx->prec = p;
    m->w16_fresh = 0;
    return 0;
}

/* Point w16 into mem (NULL: count); the element count. */
static size_t point_w16(EncoderParams16 *w, uint16_t *mem, const EncoderConfig *c) {
    size_t C = c->C, E = c->E, L = c->L, FF = c->FF;
    struct {
        uint16_t **ptr;
        size_t n;
    } t[] = {
        {&w->qkvw, L * 3 * C * C}, {&w->attprojw, L * C * C}, {&w->fcw, L * FF * C},
        {&w->fcprojw, L * C * FF}, {&w->projw, c->E != c->C ? C * E : 0},
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (mem) *t[i].ptr = t[i].n ? mem + total : NULL;
        total += t[i].n;
    }
    return total;
}

/* Round the fp32 weights into the bf16 copies (allocated the first time). */
int encoder_refresh_w16(Encoder *m, PifiErr *err) {
    if (!m->w16_mem) {
        size_t n = point_w16(&m->w16, NULL, &m->cfg);
        m->w16_mem = pifi_malloc(n * sizeof(uint16_t), err);
        if (!m->w16_mem) return -1;
        point_w16(&m->w16, m->w16_mem, &m->cfg);
    }
    const EncoderConfig *c = &m->cfg;
    const EncoderParams *p = &m->params;
    size_t C = c->C, L = c->L, FF = c->FF;
    bf16_from_f32(m->w16.qkvw, p->qkvw, L * 3 * C * C);
    bf16_from_f32(m->w16.attprojw, p->attprojw, L * C * C);
    bf16_from_f32(m->w16.fcw, p->fcw, L * FF * C);
    bf16_from_f32(m->w16.fcprojw, p->fcprojw, L * C * FF);
    if (p->projw) bf16_from_f32(m->w16.projw, p->projw, C * c->E);
    if (m->cx) compute_weights_changed(m->cx); /* packed copies of the old values */
    m->w16_fresh = 1;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* int8 weights (inference) */

/* The four stacked matrices: name, rows, columns, fp32 source, int8 and scale fields. */
typedef struct {
    const char *name;
    size_t rows, cols;
    const float *f;
    int8_t **q;
    float **s;
} Q8Spec;

static void q8_specs(Encoder *m, Q8Spec t[4]) {
    const EncoderConfig *c = &m->cfg;
    size_t C = c->C, L = c->L, FF = c->FF;
    Q8Spec s[4] = {
        {"slm.qkvw", L * 3 * C, C, m->params.qkvw, &m->q8.qkvw, &m->q8.sqkv},
        {"slm.attprojw", L * C, C, m->params.attprojw, &m->q8.attprojw, &m->q8.sattproj},
        {"slm.fcw", L * FF, C, m->params.fcw, &m->q8.fcw, &m->q8.sfc},
        {"slm.fcprojw", L * C, FF, m->params.fcprojw, &m->q8.fcprojw, &m->q8.sfcproj},
    };
    memcpy(t, s, sizeof s);
}

int encoder_quantize(Encoder *m, SafeTensors *from, PifiErr *err) {
    Q8Spec t[4];
    q8_specs(m, t);
    size_t bytes = 0;
    for (int i = 0; i < 4; i++) bytes += t[i].rows * (t[i].cols + sizeof(float));
    char *mem = pifi_malloc(bytes, err);
    if (!mem) return -1;
    char *p = mem;
    for (int i = 0; i < 4; i++) { /* scales first (aligned), then the int8 rows */
        *t[i].s = (float *)p;
        p += t[i].rows * sizeof(float);
    }
    for (int i = 0; i < 4; i++) {
        *t[i].q = (int8_t *)p;
        p += t[i].rows * t[i].cols;
    }
    for (int i = 0; i < 4; i++) {
        int8_t *q = *t[i].q;
        float *s = *t[i].s;
        if (from) {
            const StTensor *st;
            char sn[64];
            snprintf(sn, sizeof sn, "%s.scale", t[i].name);
            int64_t shape[1] = {(int64_t)t[i].rows};
            if (st_get(from, t[i].name, &st, err) || st_read_f32(from, sn, 1, shape, s, err)) goto fail;
            if (st->dtype != PIFI_DT_I8 || st->ndim != 2 || st->shape[0] != (int64_t)t[i].rows ||
                st->shape[1] != (int64_t)t[i].cols) {
                pifi_errf(err, "%s: tensor '%s' is not I8 [%zu, %zu]", st->file, t[i].name, t[i].rows, t[i].cols);
                goto fail;
            }
            memcpy(q, st->data, t[i].rows * t[i].cols);
            continue;
        }
        size_t R = t[i].rows, Cc = t[i].cols;
        const float *f = t[i].f;
#pragma omp parallel for schedule(static)
        for (size_t r = 0; r < R; r++) {
            float amax = 0.0f;
            for (size_t c = 0; c < Cc; c++) amax = fabsf(f[r * Cc + c]) > amax ? fabsf(f[r * Cc + c]) : amax;
            float sc = amax > 0.0f ? amax / 127.0f : 1.0f;
            s[r] = sc;
            for (size_t c = 0; c < Cc; c++) q[r * Cc + c] = (int8_t)lrintf(f[r * Cc + c] / sc);
        }
    }
    free(m->q8_mem);
    m->q8_mem = mem;
    return 0;
fail:
    free(mem);
    memset(&m->q8, 0, sizeof m->q8);
    m->q8_mem = NULL;
    return -1;
}

int encoder_q8_tensors(const Encoder *m, StWriteTensor out[8]) {
    if (!m->q8_mem) return 0;
    Q8Spec t[4];
    q8_specs((Encoder *)m, t);
    static const char *SCALE[4] = {"slm.qkvw.scale", "slm.attprojw.scale", "slm.fcw.scale", "slm.fcprojw.scale"};
    for (int i = 0; i < 4; i++) {
        out[2 * i] = (StWriteTensor){SCALE[i], PIFI_DT_F32, 1, {(int64_t)t[i].rows}, *t[i].s};
        out[2 * i + 1] = (StWriteTensor){t[i].name, PIFI_DT_I8, 2, {(int64_t)t[i].rows, (int64_t)t[i].cols}, *t[i].q};
    }
    return 8;
}
