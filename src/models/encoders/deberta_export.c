/* deberta_export.c: the DeBERTa family's weights as transformers-named
 * tensor views (deberta_names' table: "embeddings.word_embeddings.weight",
 * "encoder.layer.N.attention.self.query_proj.weight", v1's
 * "...self.in_proj.weight", "encoder.rel_embeddings.weight", "encoder.conv.conv.weight" (3-D), ...) for a
 * model.safetensors that DebertaModel / DebertaV2Model load; with LoRA
 * folded into query_proj and value_proj (W + alpha/r B A) in a copy. Also
 * the views of any arena laid out as param_mem (a gradient arena: tests). */
#include <stdio.h>
#include <string.h>

#include "kernels/gemm.h"
#include "models/encoders/deberta_internal.h"

typedef struct {
    EncoderExport *x;
} PutCtx;

static int put(void *ctx, const char *name, int ndim, const int64_t shape[3], float *data) {
    EncoderExport *x = ((PutCtx *)ctx)->x;
    size_t np = strlen(x->prefix), nn = strlen(name);
    if (x->n >= ENCODER_EXPORT_MAX || np + nn + 1 > sizeof x->names[0]) return -1;
    memcpy(x->names[x->n], x->prefix, np);
    memcpy(x->names[x->n] + np, name, nn + 1);
    StWriteTensor *t = &x->t[x->n++];
    t->name = x->names[x->n - 1];
    t->dtype = PIFI_DT_F32;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->data = data;
    return 0;
}

int deberta_export_mem(const Encoder *m, const float *mem, const char *prefix, EncoderExport *x, PifiErr *err) {
    DebertaParams p;
    deberta_layout(&m->cfg, &p, (float *)mem, NULL);
    memset(x, 0, sizeof *x);
    snprintf(x->prefix, sizeof x->prefix, "%s", prefix ? prefix : "");
    PutCtx ctx = {x};
    if (deberta_names(&m->cfg, &p, put, &ctx))
        return pifi_errf(err, "encoder: %d layers are more than the exporter holds", m->cfg.L);
    return 0;
}

int deberta_export(const Encoder *m, const char *prefix, int merge_lora, EncoderExport *x, float **keep,
                   PifiErr *err) {
    *keep = NULL;
    if (deberta_export_mem(m, m->param_mem, prefix, x, err)) return -1;
    if (!merge_lora || !m->lora_mem || m->lora_r <= 0) return 0;
    /* LoRA folded into query_proj (block 0) and value_proj (block 2) of a copy of qkvw */
    const DebertaState *s = deberta_state(m);
    int C = m->cfg.C, r = m->lora_r;
    size_t n = (size_t)m->cfg.L * 3 * C * C;
    float *merged = pifi_malloc(n * sizeof(float), err);
    if (!merged) return -1;
    memcpy(merged, s->p.qkvw, n * sizeof(float));
    float sc = m->lora_alpha / (float)r;
    for (int l = 0; l < m->cfg.L; l++)
        for (int j = 0; j < 2; j++) {
            float *W = merged + ((size_t)l * 3 + 2 * j) * C * C;
            const float *A = (j ? s->lora.va : s->lora.qa) + (size_t)l * r * C;
            const float *Bm = (j ? s->lora.vb : s->lora.qb) + (size_t)l * r * C;
            gemm_f32(0, 0, C, C, r, sc, Bm, r, A, C, 1.0f, W, C);
        }
    for (int i = 0; i < x->n; i++) {
        const float *d = x->t[i].data;
        if (d >= s->p.qkvw && d < s->p.qkvw + n) x->t[i].data = merged + (d - s->p.qkvw);
    }
    *keep = merged;
    return 0;
}
