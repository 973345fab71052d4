/* test_train_grad.c: training against PyTorch autograd (fixtures/train/,
 * written by tools/oracle_train.py), for each method: the gradient of every
 * trainable tensor on one batch (within 1e-4 relative to the tensor's
 * largest), then 10 optimizer steps: the losses and gradient norms within
 * 1e-4 and the final values of a few tensors. Dropout is off in the oracle.
 * The *_mpnet cases train an MPNet SLM (its relative position bias too),
 * the *_albert cases an ALBERT SLM (its one layer of weights, run by every
 * layer, and LoRA on its shared query and value), the *_modernbert cases a
 * ModernBERT SLM (its own layout behind Encoder.priv; no LoRA), the
 * *_decoder cases a decoder-only LM (fixtures/decoders/llama_tiny: LlamaModel,
 * GQA) pooled at the last real token, as the decoder family's runs pool. */
#include <limits.h>
#include <stdint.h>

#include "models/encoders/decoder_internal.h"
#include "models/encoders/encoder_family.h"
#include "pifi/encoder_export.h"
#include "pifi/fileio.h"
#include "pifi/json.h"
#include "test.h"
#include "train/loss.h"
#include "train/trainer.h"

static const char *CASES[] = {"base",       "pifi_llama", "pifi_gemma2",      "pifi_qwen2", "pifi_unfrozen_llama",
                              "lora",       "base_adamw", "base_mpnet", "pifi_llama_mpnet", "lora_mpnet",
                              "base_albert", "pifi_llama_albert", "lora_albert", "base_modernbert",
                              "pifi_llama_modernbert", "base_decoder", "pifi_llama_decoder", "lora_decoder"};

/* max |a - b| / max(max |b|, floor) */
static double rel_diff(const float *a, const float *b, int64_t n, double floor) {
    double d = 0, m = floor;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (!(e <= d)) d = e;
        if (fabs(b[i]) > m) m = fabs(b[i]);
    }
    return d / m;
}

typedef struct {
    const char *name;
    const float *data;
    int64_t n;
} View;

/* LoRA tensor i of the SLM in mem (its lora_mem, or memory laid out like it:
 * gradients), PEFT's name and shape; -1 past the last. The decoder family
 * keeps per layer q A, q B, v A, v B of its own sizes (decoder_internal.h);
 * the others answer through encoder_lora_tensor. */
static int lora_tensor(const Encoder *m, float *mem, int i, char *name, size_t name_n, float **data,
                       int64_t shape[2]) {
    if (m->cfg.family != &ENCODER_FAMILY_DECODER) {
        EncoderLora lo;
        encoder_lora_point(m, &lo, mem);
        return encoder_lora_tensor(m, &lo, i, name, name_n, data, shape);
    }
    const Decoder *d = decoder_of(m);
    if (!d->lora || i < 0 || i >= 4 * m->cfg.L) return -1;
    const LlmLora *lo = &d->lora[i / 4];
    const float *at[4] = {lo->qa, lo->qb, lo->va, lo->vb};
    int t = i % 4, r = lo->r, C = m->cfg.C;
    int64_t out = t == 1 ? (int64_t)m->cfg.dec.NH * m->cfg.dec.HD : (int64_t)m->cfg.dec.NKV * m->cfg.dec.HD;
    snprintf(name, name_n, "model.layers.%d.self_attn.%s.lora_%c.weight", i / 4, t < 2 ? "q_proj" : "v_proj",
             t % 2 ? 'B' : 'A');
    *data = mem + (at[t] - m->lora_mem);
    shape[0] = t % 2 ? out : r;
    shape[1] = t % 2 ? r : C;
    return 0;
}

/* Every trainable tensor's gradient under the oracle's names. */
static int grad_views(Trainer *t, View *v, int max, char (*names)[192]) {
    int n = 0;
    if (t->grads.enc) { /* each exported view's offset in param_mem is its gradient's (any family) */
        const Encoder *e = &t->model.slm;
        static EncoderExport x;
        PifiErr err;
        if (encoder_export(e, "", &x, &err) == 0)
            for (int i = 0; i < x.n && n < max; i++) {
                const float *w = x.t[i].data;
                if (w < e->param_mem || w >= e->param_mem + e->num_params) continue;
                snprintf(names[n], 192, "%s", x.t[i].name);
                v[n] = (View){names[n], t->grads.enc + (w - e->param_mem),
                              x.t[i].shape[0] * (x.t[i].ndim == 2 ? x.t[i].shape[1] : 1)};
                n++;
            }
    }
    if (t->grads.lora) {
        for (int i = 0; n < max; i++) {
            float *data;
            int64_t shape[2];
            if (lora_tensor(&t->model.slm, t->grads.lora, i, names[n], 192, &data, shape)) break;
            v[n] = (View){names[n], data, shape[0] * shape[1]};
            n++;
        }
    }
    for (int i = 0; i < t->pt.n && n < max; i++) { /* pifi.l_in.weight -> l_in.weight, pifi.llm.X -> llm.X */
        const ParamRef *r = &t->pt.refs[i];
        if (strncmp(r->name, "pifi.", 5) != 0) continue;
        snprintf(names[n], 192, "%s", r->name + 5);
        v[n] = (View){names[n], r->g, r->n};
        n++;
    }
    return n;
}

static int read_i32(SafeTensors *st, const char *name, int64_t n, int32_t *out) {
    const StTensor *t;
    PifiErr err;
    if (st_get(st, name, &t, &err) || t->numel != n) return -1;
    float *tmp = malloc((size_t)n * sizeof *tmp);
    int64_t shape[3] = {t->shape[0], t->shape[1], t->shape[2]};
    int rc = st_read_f32(st, name, t->ndim, shape, tmp, &err);
    for (int64_t i = 0; rc == 0 && i < n; i++) out[i] = (int32_t)tmp[i];
    free(tmp);
    return rc;
}

static void run_case(const char *name) {
    char dir[1024], p[1200];
    snprintf(dir, sizeof dir, "%s/train/%s", test_fixtures(), name);
    PifiErr err = {0};
    cJSON *meta, *losses;
    snprintf(p, sizeof p, "%s/meta.json", dir);
    REQUIRE(pifi_json_load(p, 0, &meta, &err) == 0);
    snprintf(p, sizeof p, "%s/losses.json", dir);
    REQUIRE(pifi_json_load(p, 0, &losses, &err) == 0);
    const cJSON *opt = cJSON_GetObjectItem(meta, "optimizer");
    char slm[1200], llm[1200];
    snprintf(slm, sizeof slm, "%s/%s", dir, cJSON_GetObjectItem(meta, "slm")->valuestring);
    const cJSON *lj = cJSON_GetObjectItem(meta, "llm");
    if (cJSON_IsString(lj)) snprintf(llm, sizeof llm, "%s/%s", dir, lj->valuestring);

    TrainOpts o;
    train_opts_default(&o);
    char mname[64];
    snprintf(mname, sizeof mname, "%s", cJSON_GetObjectItem(meta, "method")->valuestring);
    for (char *q = mname; *q; q++)
        if (*q == '_') *q = '-';
    REQUIRE(method_parse(mname, &o.method) == 0);
    o.slm = slm;
    o.llm = cJSON_IsString(lj) ? llm : NULL;
    o.layer = -1;
    o.batch = cJSON_GetObjectItem(meta, "batch")->valueint;
    o.lr = (float)cJSON_GetObjectItem(opt, "lr")->valuedouble;
    o.optim = strcmp(cJSON_GetObjectItem(opt, "name")->valuestring, "adamw") == 0 ? OPT_ADAMW : OPT_ADAM;
    o.weight_decay = (float)cJSON_GetObjectItem(opt, "weight_decay")->valuedouble;
    o.clip = (float)cJSON_GetObjectItem(meta, "clip_grad_norm")->valuedouble;
    o.label_smoothing = (float)cJSON_GetObjectItem(meta, "label_smoothing")->valuedouble;
    o.head_dropout = 0.0f;
    o.lora_dropout = 0.0f;
    int K = cJSON_GetObjectItem(meta, "classes")->valueint;
    Trainer t;
    int rc = trainer_setup(&t, &o, K, &err);
    CHECKF(rc == 0, "%s: %s", name, err.msg);
    if (rc) return;

    /* the oracle's initial values of the new tensors */
    SafeTensors *init;
    snprintf(p, sizeof p, "%s/init.safetensors", dir);
    REQUIRE(st_open(&init, p, &err) == 0);
    CHECKF(pifi_model_load_heads(&t.model, init, "", &err) == 0, "%s: %s", name, err.msg);
    for (int i = 0; t.model.slm.lora_mem; i++) {
        char tn[192];
        float *data;
        int64_t shape[2];
        if (lora_tensor(&t.model.slm, t.model.slm.lora_mem, i, tn, sizeof tn, &data, shape)) break;
        CHECKF(st_read_f32(init, tn, 2, shape, data, &err) == 0, "%s: %s", name, err.msg);
    }
    st_close(init);

    SafeTensors *bs;
    snprintf(p, sizeof p, "%s/batches.safetensors", dir);
    REQUIRE(st_open(&bs, p, &err) == 0);
    const StTensor *it;
    REQUIRE(st_get(bs, "input_ids", &it, &err) == 0);
    int S = (int)it->shape[0], B = (int)it->shape[1], T = (int)it->shape[2];
    int32_t *ids = malloc(sizeof(int32_t) * S * B * T), *tt = malloc(sizeof(int32_t) * S * B * T),
            *mask = malloc(sizeof(int32_t) * S * B * T), *labels = malloc(sizeof(int32_t) * S * B);
    REQUIRE(read_i32(bs, "input_ids", (int64_t)S * B * T, ids) == 0 &&
            read_i32(bs, "token_type_ids", (int64_t)S * B * T, tt) == 0 &&
            read_i32(bs, "attention_mask", (int64_t)S * B * T, mask) == 0 &&
            read_i32(bs, "labels", (int64_t)S * B, labels) == 0);
    st_close(bs);

    /* step 0: every gradient */
    PifiModel *m = &t.model;
    pifi_model_set_train(m, 1, o.seed, 0);
    REQUIRE(pifi_model_forward(m, ids, tt, mask, B, T, &err) == 0);
    crossentropy_forward_backward(m->acts.logits, labels, B, K, o.label_smoothing, NULL, t.dlogits);
    params_zero_grad(&t.pt);
    REQUIRE(pifi_model_backward(m, t.dlogits, &t.grads, &err) == 0);
    SafeTensors *gs;
    snprintf(p, sizeof p, "%s/grads.safetensors", dir);
    REQUIRE(st_open(&gs, p, &err) == 0);
    static View v[512];
    static char names[512][192];
    int nv = grad_views(&t, v, 512, names), compared = 0;
    double worst = 0;
    const char *worst_name = "";
    for (int i = 0; i < nv; i++) {
        const StTensor *g;
        if (st_find(gs, v[i].name, &g, &err) != 0) continue; /* frozen in the oracle */
        float *want = malloc((size_t)g->numel * sizeof *want);
        int64_t shape[2] = {g->shape[0], g->ndim == 2 ? g->shape[1] : 0};
        CHECK(g->numel == v[i].n && st_read_f32(gs, v[i].name, g->ndim, shape, want, &err) == 0);
        /* an exactly-zero true gradient (key bias) is compared absolutely */
        double d = rel_diff(v[i].data, want, v[i].n, 1e-2);
        CHECKF(d <= 1e-4, "%s: gradient of %s differs by %.3g (relative)", name, v[i].name, d);
        if (d > worst) worst = d, worst_name = v[i].name;
        compared++;
        free(want);
    }
    /* Oracle tensors pifi does not train must have no gradient there: the
     * q/k projections of a layer in pooled mode (one token: softmax = 1). */
    const cJSON *tr = cJSON_GetObjectItem(meta, "trainable");
    int zero_ok = 0;
    const char *untrained[16]; /* those names, into meta */
    for (int i = 0; i < cJSON_GetArraySize(tr); i++) {
        const char *tn = cJSON_GetObjectItem(cJSON_GetArrayItem(tr, i), "name")->valuestring;
        int seen = 0;
        for (int j = 0; j < nv && !seen; j++) seen = strcmp(v[j].name, tn) == 0;
        if (seen) continue;
        const StTensor *g;
        REQUIRE(st_get(gs, tn, &g, &err) == 0);
        float *want = malloc((size_t)g->numel * sizeof *want);
        int64_t shape[2] = {g->shape[0], g->ndim == 2 ? g->shape[1] : 0};
        CHECK(st_read_f32(gs, tn, g->ndim, shape, want, &err) == 0);
        double mx = 0;
        for (int64_t k = 0; k < g->numel; k++) mx = fmax(mx, fabs(want[k]));
        CHECKF(mx <= 1e-9, "%s: %s is not trained by pifi but has a gradient (max %g)", name, tn, mx);
        if (zero_ok < 16) untrained[zero_ok] = tn;
        zero_ok++;
        free(want);
    }
    CHECKF(compared + zero_ok == cJSON_GetArraySize(tr), "%s: %d + %d of %d trainable tensors checked", name,
           compared, zero_ok, cJSON_GetArraySize(tr));
    printf("%-20s %2d gradients, worst relative diff %.2e (%s)\n", name, compared, worst, worst_name);
    st_close(gs);

    /* 10 optimizer steps from the same start */
    const cJSON *L = cJSON_GetObjectItem(losses, "loss"), *GN = cJSON_GetObjectItem(losses, "grad_norm");
    double worst_loss = 0, worst_gn = 0;
    Batch b = {0};
    for (int s = 0; s < S; s++) {
        b.B = B, b.T = T;
        b.ids = ids + (size_t)s * B * T, b.type_ids = tt + (size_t)s * B * T, b.mask = mask + (size_t)s * B * T;
        b.labels = labels + (size_t)s * B;
        double loss, gn;
        REQUIRE(trainer_step(&t, &b, o.lr, &loss, &gn, &err) == 0);
        double dl = fabs(loss - cJSON_GetArrayItem(L, s)->valuedouble);
        double dg = fabs(gn - cJSON_GetArrayItem(GN, s)->valuedouble);
        if (dl > worst_loss) worst_loss = dl;
        if (dg > worst_gn) worst_gn = dg;
    }
    CHECKF(worst_loss <= 1e-4, "%s: a loss of the 10 steps differs by %.3g", name, worst_loss);
    CHECKF(worst_gn <= 1e-4 * 10, "%s: a gradient norm differs by %.3g", name, worst_gn);
    /* final values of the tensors the oracle kept */
    SafeTensors *fs;
    snprintf(p, sizeof p, "%s/final.safetensors", dir);
    REQUIRE(st_open(&fs, p, &err) == 0);
    double worst_final = 0;
    int found = 0;
    static View w[512];
    static char wn[512][192];
    int nw = 0;
    {
        /* weight views: the same trick as grad_views with the parameters */
        Trainer tw = t;
        tw.grads.enc = t.grads.enc ? t.model.slm.param_mem : NULL;
        tw.grads.lora = t.grads.lora ? t.model.slm.lora_mem : NULL;
        ParamTable pt = t.pt;
        tw.pt = pt;
        nw = grad_views(&tw, w, 512, wn);
        for (int i = 0; i < nw; i++)
            for (int r = 0; r < t.pt.n; r++)
                if (strncmp(t.pt.refs[r].name, "pifi.", 5) == 0 && strcmp(t.pt.refs[r].name + 5, w[i].name) == 0)
                    w[i].data = t.pt.refs[r].w;
    }
    for (int i = 0; i < st_count(fs); i++) {
        const char *fn = st_name(fs, i);
        const StTensor *f;
        REQUIRE(st_get(fs, fn, &f, &err) == 0);
        for (int k = 0; k < zero_ok && k < 16; k++) found += strcmp(untrained[k], fn) == 0; /* never moves */
        for (int j = 0; j < nw; j++) {
            if (strcmp(w[j].name, fn) != 0) continue;
            found++;
            float *want = malloc((size_t)f->numel * sizeof *want);
            int64_t shape[2] = {f->shape[0], f->ndim == 2 ? f->shape[1] : 0};
            CHECK(st_read_f32(fs, fn, f->ndim, shape, want, &err) == 0);
            double d = rel_diff(w[j].data, want, f->numel, 1.0); /* absolute for |w| < 1 */
            if (d > worst_final) worst_final = d;
            CHECKF(d <= 2e-4, "%s: %s after 10 steps differs by %.3g", name, fn, d);
            free(want);
        }
    }
    CHECKF(found == st_count(fs), "%s: %d of the %d final tensors found (or not trained by pifi)", name, found,
           st_count(fs));
    st_close(fs);
    printf("%-20s 10 steps: loss max |diff| %.2e, grad norm %.2e, final tensors %.2e\n", name, worst_loss, worst_gn,
           worst_final);
    free(ids), free(tt), free(mask), free(labels);
    cJSON_Delete(meta);
    cJSON_Delete(losses);
    trainer_free(&t);
}

int main(void) {
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) run_case(CASES[i]);
    TEST_DONE();
}
