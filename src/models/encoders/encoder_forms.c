/* encoder_forms.c: the other forms of the encoder's weights: bf16 copies of
 * the linear layers for bf16 precision (refreshed from the fp32 master
 * weights), and int8 with a scale per output row (the linear layers, and the
 * word embeddings with a scale per token) for quantized inference: made from
 * the fp32 weights (encoder_quantize) or read from an int8 checkpoint
 * (encoder_load_q8) without any fp32 copy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/compute.h"
#include "models/encoders/encoder_internal.h"
#include "models/q8.h"
#include "pifi/encoder.h"

/* ------------------------------------------------------------------------ */
/* precision: bf16 copies of the linear layers' weights */

void encoder_precision_changed(Encoder *m) { m->w16_fresh = 0; }

/* Point w16 into mem (NULL: count); the element count. The layers'
 * matrices get no bf16 copy when they are held in int8. */
static size_t point_w16(EncoderParams16 *w, uint16_t *mem, const EncoderConfig *c, int lin8) {
    size_t C = c->C, E = c->E, L = enc_weight_layers(c), FF = c->FF, lin = lin8 ? 0 : 1;
    struct {
        uint16_t **ptr;
        size_t n;
    } t[] = {
        {&w->qkvw, lin * L * 3 * C * C}, {&w->attprojw, lin * L * C * C}, {&w->fcw, lin * L * FF * C},
        {&w->fcprojw, lin * L * C * FF}, {&w->projw, enc_has_proj(c) ? C * E : 0},
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
    int lin8 = m->q8.qkvw != NULL;
    if (m->w16_mem && lin8 && m->w16.qkvw) { /* quantized since: the copies of the layers' matrices go */
        free(m->w16_mem);
        m->w16_mem = NULL;
    }
    if (!m->w16_mem) {
        size_t n = point_w16(&m->w16, NULL, &m->cfg, lin8);
        m->w16_mem = enc_weights_alloc(m, (n ? n : 1) * sizeof(uint16_t), err);
        if (!m->w16_mem) return -1;
        point_w16(&m->w16, m->w16_mem, &m->cfg, lin8);
    }
    const EncoderConfig *c = &m->cfg;
    const EncoderParams *p = &m->params;
    size_t C = c->C, L = enc_weight_layers(c), FF = c->FF;
    if (m->w16.qkvw) {
        bf16_from_f32(m->w16.qkvw, p->qkvw, L * 3 * C * C);
        bf16_from_f32(m->w16.attprojw, p->attprojw, L * C * C);
        bf16_from_f32(m->w16.fcw, p->fcw, L * FF * C);
        bf16_from_f32(m->w16.fcprojw, p->fcprojw, L * C * FF);
    }
    if (p->projw) bf16_from_f32(m->w16.projw, p->projw, C * c->E);
    if (m->cx) compute_weights_changed(m->cx); /* packed copies of the old values */
    m->w16_fresh = 1;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* int8 weights (inference) */

/* The quantized tensors: the four stacked matrices (rows, columns, fp32
 * source, int8 and scale fields) and the word embeddings. */
typedef struct {
    size_t rows, cols;
    const float *f;
    int8_t **q;
    float **s;
} Q8Spec;

/* The specs of `what` (ENC_Q8_*) into t; the count. */
static int q8_specs(Encoder *m, unsigned what, Q8Spec t[5]) {
    const EncoderConfig *c = &m->cfg;
    size_t C = c->C, L = enc_weight_layers(c), FF = c->FF;
    EncoderParams *p = &m->params;
    EncoderParamsQ8 *q = &m->q8;
    int n = 0;
    if (what & ENC_Q8_LINEAR) {
        t[n++] = (Q8Spec){L * 3 * C, C, p->qkvw, &q->qkvw, &q->sqkv};
        t[n++] = (Q8Spec){L * C, C, p->attprojw, &q->attprojw, &q->sattproj};
        t[n++] = (Q8Spec){L * FF, C, p->fcw, &q->fcw, &q->sfc};
        t[n++] = (Q8Spec){L * C, FF, p->fcprojw, &q->fcprojw, &q->sfcproj};
    }
    if (what & ENC_Q8_WTE) t[n++] = (Q8Spec){(size_t)c->V, (size_t)c->E, p->wte, &q->wte, &q->swte};
    return n;
}

/* A new int8 arena for the specs (scales first, aligned, then the rows),
 * their fields pointed into it; the old one is freed. */
static int q8_alloc(Encoder *m, Q8Spec *t, int n, PifiErr *err) {
    size_t bytes = 0;
    for (int i = 0; i < n; i++) bytes += t[i].rows * (t[i].cols + sizeof(float));
    char *mem = enc_weights_alloc(m, bytes ? bytes : 1, err);
    if (!mem) return -1;
    free(m->q8_mem);
    memset(&m->q8, 0, sizeof m->q8);
    m->q8_mem = mem;
    for (int i = 0; i < n; i++) {
        *t[i].s = (float *)mem;
        mem += t[i].rows * sizeof(float);
    }
    for (int i = 0; i < n; i++) {
        *t[i].q = (int8_t *)mem;
        mem += t[i].rows * t[i].cols;
    }
    return 0;
}

int bert_quantize(Encoder *m, int embeddings, PifiErr *err) {
    if (m->int8_only) return pifi_errf(err, "encoder: already int8 (loaded from an int8 checkpoint)");
    Q8Spec t[5];
    int n = q8_specs(m, ENC_Q8_LINEAR | (embeddings ? ENC_Q8_WTE : 0u), t);
    if (q8_alloc(m, t, n, err)) return -1;
    for (int i = 0; i < n; i++) q8_quantize_rows(*t[i].q, *t[i].s, t[i].f, NULL, t[i].rows, t[i].cols);
    m->w16_fresh = 0; /* the bf16 copies of the layers' matrices are dropped at the next forward */
    return 0;
}

int encoder_load_q8(Encoder *m, SafeTensors *st, const char *prefix, unsigned what, PifiErr *err) {
    Q8Spec t[5];
    int n = q8_specs(m, what, t);
    if (q8_alloc(m, t, n, err)) return -1;
    const EncoderConfig *c = &m->cfg;
    size_t C = c->C, FF = c->FF;
    char name[200];
    if (what & ENC_Q8_WTE) {
        snprintf(name, sizeof name, "%sembeddings.word_embeddings.weight", prefix);
        if (q8_read(st, name, (size_t)c->V, (size_t)c->E, m->q8.wte, m->q8.swte, err)) return -1;
    }
    if (!(what & ENC_Q8_LINEAR)) return 0;
    const EncoderNames *nm = encoder_names(c);
    const EncoderParamsQ8 *q = &m->q8;
    for (int l = 0; l < enc_weight_layers(c); l++) {
        for (int j = 0; j < 3; j++) {
            size_t r = ((size_t)l * 3 + j) * C;
            enc_layer_name(name, sizeof name, prefix, nm, l, nm->qkv[j], "weight");
            if (q8_read(st, name, C, C, q->qkvw + r * C, q->sqkv + r, err)) return -1;
        }
        struct {
            const char *name;
            size_t rows, cols;
            int8_t *q;
            float *s;
        } t2[] = {
            {nm->attproj, C, C, q->attprojw + (size_t)l * C * C, q->sattproj + (size_t)l * C},
            {nm->fc, FF, C, q->fcw + (size_t)l * FF * C, q->sfc + (size_t)l * FF},
            {nm->fcproj, C, FF, q->fcprojw + (size_t)l * C * FF, q->sfcproj + (size_t)l * C},
        };
        for (size_t i = 0; i < sizeof t2 / sizeof t2[0]; i++) {
            enc_layer_name(name, sizeof name, prefix, nm, l, t2[i].name, "weight");
            if (q8_read(st, name, t2[i].rows, t2[i].cols, t2[i].q, t2[i].s, err)) return -1;
        }
    }
    return 0;
}
