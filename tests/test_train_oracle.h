/* test_train_oracle.h: one case of the training oracles (tools/oracle_train.py,
 * tools/oracle_deberta.py), shared by the tests that run them. A case's
 * directory holds
 *   meta.json           method, slm, llm, batch, optimizer {name, lr,
 *                       weight_decay}, clip_grad_norm, label_smoothing,
 *                       classes, trainable [{name}], and the 10 steps' loss
 *                       and grad_norm (or those in losses.json);
 *   init.safetensors    the oracle's initial L_in, L_out, head and adapters;
 *   batches.safetensors input_ids, token_type_ids, attention_mask (S, B, T),
 *                       labels (S, B);
 *   grads.safetensors   every trainable tensor's gradient at step 0;
 *   final.safetensors   (optional) some tensors after the S steps.
 * train_oracle_case trains a classifier from the same start with dropout
 * off and checks: every step-0 gradient within 1e-4 relative (an oracle
 * tensor pifi does not train must have none: the q/k of a layer fed one
 * token), the S losses within 1e-4, gradient norms within 1e-3, the final
 * tensors within 2e-4. The caller names tensors through a view function, as
 * the oracle names them. */
#ifndef PIFI_TEST_TRAIN_ORACLE_H
#define PIFI_TEST_TRAIN_ORACLE_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/encoders/decoder_internal.h"
#include "models/encoders/encoder_family.h"
#include "pifi/encoder_export.h"
#include "pifi/json.h"
#include "test.h"
#include "test_fixture_io.h"
#include "train/loss.h"
#include "train/trainer.h"

/* The weights (weights != 0) or the gradient of the trainable tensor the
 * oracle calls name, *n its floats; NULL when pifi has no such tensor. */
typedef const float *(*TrainOracleView)(Trainer *t, int weights, const char *name, int64_t *n);

/* The heads' and the trainer's own tensors: pifi.l_in.weight is the oracle's
 * l_in.weight, pifi.llm.X its llm.X. */
static inline const float *train_oracle_head_view(Trainer *t, int weights, const char *name, int64_t *n) {
    for (int i = 0; i < t->pt.n; i++)
        if (!strncmp(t->pt.refs[i].name, "pifi.", 5) && !strcmp(t->pt.refs[i].name + 5, name)) {
            *n = t->pt.refs[i].n;
            return weights ? t->pt.refs[i].w : t->pt.refs[i].g;
        }
    return NULL;
}

/* LoRA tensor i of the SLM in mem (its lora_mem, or memory laid out like it:
 * gradients), PEFT's name and shape; -1 past the last. The decoder family
 * keeps per layer q A, q B, v A, v B of its own sizes (decoder_internal.h);
 * the others answer through encoder_lora_tensor. */
static inline int train_oracle_lora_tensor(const Encoder *m, float *mem, int i, char *name, size_t name_n,
                                           float **data, int64_t shape[2]) {
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

/* Any family whose export is views into param_mem: a view's offset there is
 * its gradient's in grads.enc; adapters by train_oracle_lora_tensor. */
static inline const float *train_oracle_family_view(Trainer *t, int weights, const char *name, int64_t *n) {
    const Encoder *e = &t->model.slm;
    static EncoderExport x;
    PifiErr err;
    if (t->grads.enc && encoder_export(e, "", &x, &err) == 0)
        for (int i = 0; i < x.n; i++) {
            const float *w = x.t[i].data;
            if (strcmp(x.t[i].name, name) || w < e->param_mem || w >= e->param_mem + e->num_params) continue;
            *n = x.t[i].shape[0] * (x.t[i].ndim == 2 ? x.t[i].shape[1] : 1);
            return weights ? w : t->grads.enc + (w - e->param_mem);
        }
    if (t->grads.lora) {
        char tn[192];
        float *data;
        int64_t shape[2];
        float *mem = weights ? e->lora_mem : t->grads.lora;
        for (int i = 0; train_oracle_lora_tensor(e, mem, i, tn, sizeof tn, &data, shape) == 0; i++)
            if (!strcmp(tn, name)) {
                *n = shape[0] * shape[1];
                return data;
            }
    }
    return train_oracle_head_view(t, weights, name, n);
}

static inline int train_oracle_read_i32(SafeTensors *st, const char *name, int64_t n, int32_t *out) {
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

/* The case in dir (printed as name); family: the SLM's, or NULL for any. */
static inline void train_oracle_case(const char *dir, const char *name, const EncoderFamily *family,
                                     TrainOracleView view) {
    char p[1200];
    PifiErr err = {0};
    cJSON *meta, *losses = NULL;
    snprintf(p, sizeof p, "%s/meta.json", dir);
    REQUIRE(pifi_json_load(p, 0, &meta, &err) == 0);
    snprintf(p, sizeof p, "%s/losses.json", dir);
    FILE *lf = fopen(p, "rb");
    if (lf) {
        fclose(lf);
        REQUIRE(pifi_json_load(p, 0, &losses, &err) == 0);
    }
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
    const cJSON *on = cJSON_GetObjectItem(opt, "name"), *wd = cJSON_GetObjectItem(opt, "weight_decay");
    o.optim = cJSON_IsString(on) && !strcmp(on->valuestring, "adamw") ? OPT_ADAMW : OPT_ADAM;
    o.weight_decay = cJSON_IsNumber(wd) ? (float)wd->valuedouble : 0.0f;
    o.clip = (float)cJSON_GetObjectItem(meta, "clip_grad_norm")->valuedouble;
    o.label_smoothing = (float)cJSON_GetObjectItem(meta, "label_smoothing")->valuedouble;
    o.head_dropout = 0.0f;
    o.lora_dropout = 0.0f;
    int K = cJSON_GetObjectItem(meta, "classes")->valueint;
    Trainer t;
    int rc = trainer_setup(&t, &o, K, &err);
    CHECKF(rc == 0, "%s: %s", name, err.msg);
    if (rc) return;
    CHECKF(!family || t.model.slm.cfg.family == family, "%s: the SLM is not read by the %s family", name,
           family ? family->name : "");

    /* the oracle's initial values of the new tensors: the heads, then the adapters by name */
    SafeTensors *init;
    snprintf(p, sizeof p, "%s/init.safetensors", dir);
    REQUIRE(st_open(&init, p, &err) == 0);
    CHECKF(pifi_model_load_heads(&t.model, init, "", &err) == 0, "%s: %s", name, err.msg);
    for (int i = 0; i < st_count(init); i++) {
        const char *tn = st_name(init, i);
        if (!strstr(tn, ".lora_")) continue;
        int64_t n = 0, have = 0;
        float *data = (float *)view(&t, 1, tn, &n), *v = test_read_tensor(init, tn, &have);
        CHECKF(data && v && n == have, "%s: adapter %s of the oracle not found in pifi", name, tn);
        if (data && v && n == have) memcpy(data, v, (size_t)n * sizeof *v);
        free(v);
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
    REQUIRE(train_oracle_read_i32(bs, "input_ids", (int64_t)S * B * T, ids) == 0 &&
            train_oracle_read_i32(bs, "token_type_ids", (int64_t)S * B * T, tt) == 0 &&
            train_oracle_read_i32(bs, "attention_mask", (int64_t)S * B * T, mask) == 0 &&
            train_oracle_read_i32(bs, "labels", (int64_t)S * B, labels) == 0);
    st_close(bs);

    /* step 0: every trainable tensor's gradient */
    PifiModel *m = &t.model;
    pifi_model_set_train(m, 1, o.seed, 0);
    REQUIRE(pifi_model_forward(m, ids, tt, mask, B, T, &err) == 0);
    crossentropy_forward_backward(m->acts.logits, labels, B, K, o.label_smoothing, NULL, t.dlogits);
    params_zero_grad(&t.pt);
    REQUIRE(pifi_model_backward(m, t.dlogits, &t.grads, &err) == 0);
    SafeTensors *gs;
    snprintf(p, sizeof p, "%s/grads.safetensors", dir);
    REQUIRE(st_open(&gs, p, &err) == 0);
    const cJSON *tr = cJSON_GetObjectItem(meta, "trainable");
    double worst = 0;
    const char *worst_name = "";
    int compared = 0;
    for (int i = 0; i < cJSON_GetArraySize(tr); i++) {
        const char *gn = cJSON_GetObjectItem(cJSON_GetArrayItem(tr, i), "name")->valuestring;
        int64_t n = 0, have = 0;
        const float *g = view(&t, 0, gn, &n);
        float *want = test_read_tensor(gs, gn, &have);
        REQUIRE(want != NULL);
        if (!g) {
            double mx = 0;
            for (int64_t k = 0; k < have; k++) mx = fmax(mx, fabs(want[k]));
            CHECKF(mx <= 1e-9, "%s: %s is not trained by pifi but has a gradient (max %g)", name, gn, mx);
        } else {
            CHECKF(n == have, "%s: %s has %lld values, the oracle %lld", name, gn, (long long)n, (long long)have);
            /* an exactly-zero true gradient (key bias) is compared absolutely */
            double d = test_rel_diff(g, want, n, 1e-2);
            CHECKF(d <= 1e-4, "%s: gradient of %s differs by %.3g (relative)", name, gn, d);
            if (d > worst) worst = d, worst_name = gn;
            compared++;
        }
        free(want);
    }
    printf("%-22s %2d gradients, worst relative diff %.2e (%s)\n", name, compared, worst, worst_name);
    st_close(gs);

    /* S optimizer steps from the same start */
    const cJSON *src = losses ? losses : meta;
    const cJSON *L = cJSON_GetObjectItem(src, "loss"), *GN = cJSON_GetObjectItem(src, "grad_norm");
    REQUIRE(cJSON_GetArraySize(L) == S && cJSON_GetArraySize(GN) == S);
    double worst_loss = 0, worst_gn = 0;
    Batch b = {0};
    for (int s = 0; s < S; s++) {
        b.B = B, b.T = T;
        b.ids = ids + (size_t)s * B * T, b.type_ids = tt + (size_t)s * B * T, b.mask = mask + (size_t)s * B * T;
        b.labels = labels + (size_t)s * B;
        double loss, gnorm;
        REQUIRE(trainer_step(&t, &b, o.lr, &loss, &gnorm, &err) == 0);
        worst_loss = fmax(worst_loss, fabs(loss - cJSON_GetArrayItem(L, s)->valuedouble));
        worst_gn = fmax(worst_gn, fabs(gnorm - cJSON_GetArrayItem(GN, s)->valuedouble));
    }
    CHECKF(worst_loss <= 1e-4, "%s: a loss of the %d steps differs by %.3g", name, S, worst_loss);
    CHECKF(worst_gn <= 1e-3, "%s: a gradient norm differs by %.3g", name, worst_gn);

    /* the values of the tensors the oracle kept after the steps */
    double worst_final = -1;
    snprintf(p, sizeof p, "%s/final.safetensors", dir);
    SafeTensors *fs;
    if ((lf = fopen(p, "rb")) != NULL) {
        fclose(lf);
        REQUIRE(st_open(&fs, p, &err) == 0);
        worst_final = 0;
        for (int i = 0; i < st_count(fs); i++) {
            const char *fn = st_name(fs, i);
            int64_t n = 0, have = 0;
            const float *w = view(&t, 1, fn, &n);
            if (!w) { /* pifi does not train it: a trainable tensor of the oracle whose step-0 gradient was zero */
                int listed = 0;
                for (int j = 0; j < cJSON_GetArraySize(tr) && !listed; j++)
                    listed = !strcmp(cJSON_GetObjectItem(cJSON_GetArrayItem(tr, j), "name")->valuestring, fn);
                CHECKF(listed, "%s: final tensor %s is neither pifi's nor an untrained one of the oracle", name, fn);
                continue;
            }
            float *want = test_read_tensor(fs, fn, &have);
            CHECKF(want && n == have, "%s: final tensor %s has %lld values, pifi's %lld", name, fn, (long long)have,
                   (long long)n);
            if (w && want && n == have) {
                double d = test_rel_diff(w, want, n, 1.0); /* absolute for |w| < 1 */
                worst_final = fmax(worst_final, d);
                CHECKF(d <= 2e-4, "%s: %s after %d steps differs by %.3g", name, fn, S, d);
            }
            free(want);
        }
        st_close(fs);
    }
    printf("%-22s %d steps: loss max |diff| %.2e, grad norm %.2e", name, S, worst_loss, worst_gn);
    if (worst_final >= 0) printf(", final tensors %.2e", worst_final);
    printf("\n");
    free(ids), free(tt), free(mask), free(labels);
    cJSON_Delete(meta);
    cJSON_Delete(losses);
    trainer_free(&t);
}

#endif
