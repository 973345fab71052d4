/* test_span.c: the span mode of the PiFi composition (extractive QA) against
 * PyTorch (fixtures/span/, written by tools/oracle_span.py): on one padded
 * batch, the start/end logits (within 1e-4), the loss, and the gradient of
 * every trainable tensor (within 1e-4 relative to the tensor's largest) for
 * base, pifi (bidirectional with the padding mask, causal, the authors'
 * all-ones mask; llama and qwen2 layers), pifi-unfrozen and LoRA. Then the
 * padding mask's effect: the all-ones mask gives the same logits on the row
 * without padding and different ones on the padded rows. */
#include <math.h>
#include <stdint.h>

#include "models/decoders/llm_layer_internal.h"
#include "pifi/encoder_export.h"
#include "pifi/json.h"
#include "pifi/pifi_model.h"
#include "test.h"
#include "test_fixture_io.h"

static const char *CASES[] = {"base",       "pifi_llama",          "pifi_llama_causal", "pifi_llama_ones",
                              "pifi_qwen2", "pifi_unfrozen_llama", "lora"};
#define NCASES (int)(sizeof CASES / sizeof CASES[0])

enum { MAXB = 4, MAXT = 16 };
static int B, T;
static int32_t ids[MAXB * MAXT], tt[MAXB * MAXT], mask[MAXB * MAXT], start[MAXB], end[MAXB];
static float logits_of[NCASES][MAXB * MAXT * 2];

static int read_i32(SafeTensors *st, const char *name, int64_t n, int32_t *out) {
    const StTensor *t;
    PifiErr err;
    if (st_get(st, name, &t, &err) || t->numel != n) return -1;
    float tmp[MAXB * MAXT];
    int64_t shape[2] = {t->shape[0], t->shape[1]};
    int rc = st_read_f32(st, name, t->ndim, shape, tmp, &err);
    for (int64_t i = 0; rc == 0 && i < n; i++) out[i] = (int32_t)tmp[i];
    return rc;
}

static void read_io(void) {
    char p[1024];
    PifiErr err;
    SafeTensors *st;
    snprintf(p, sizeof p, "%s/span/io.safetensors", test_fixtures());
    REQUIRE(st_open(&st, p, &err) == 0);
    const StTensor *t;
    REQUIRE(st_get(st, "input_ids", &t, &err) == 0);
    B = (int)t->shape[0], T = (int)t->shape[1];
    REQUIRE(B <= MAXB && T <= MAXT);
    REQUIRE(read_i32(st, "input_ids", B * T, ids) == 0 && read_i32(st, "attention_mask", B * T, mask) == 0 &&
            read_i32(st, "token_type_ids", B * T, tt) == 0 && read_i32(st, "start", B, start) == 0 &&
            read_i32(st, "end", B, end) == 0);
    st_close(st);
}

typedef struct {
    char name[192];
    const float *data;
    int64_t n;
} View;

/* Every gradient the model computed, under the oracle's names. */
static int grad_views(const PifiModel *m, const PifiGrads *g, View *v, int max) {
    int n = 0;
    if (g->enc) { /* each exported view's offset in param_mem is its gradient's */
        static EncoderExport x;
        PifiErr err;
        if (encoder_export(&m->slm, "", &x, &err) == 0)
            for (int i = 0; i < x.n && n < max; i++) {
                const float *w = x.t[i].data;
                if (w < m->slm.param_mem || w >= m->slm.param_mem + m->slm.num_params) continue;
                snprintf(v[n].name, sizeof v[n].name, "%s", x.t[i].name);
                v[n].data = g->enc + (w - m->slm.param_mem);
                v[n++].n = x.t[i].shape[0] * (x.t[i].ndim == 2 ? x.t[i].shape[1] : 1);
            }
    }
    if (g->lora) {
        EncoderLora lg;
        encoder_lora_point(&m->slm, &lg, g->lora);
        float *data;
        int64_t shape[2];
        for (int i = 0; n < max && encoder_lora_tensor(&m->slm, &lg, i, v[n].name, sizeof v[n].name, &data,
                                                       shape) == 0;
             i++) {
            v[n].data = data;
            v[n++].n = shape[0] * shape[1];
        }
    }
    const PifiHeadParams *h = &g->head;
    struct {
        const char *name;
        const float *data;
        int64_t n;
    } heads[] = {{"l_in.weight", h->l_in, (int64_t)m->D * m->C},
                 {"l_out.weight", h->l_out, (int64_t)m->C * m->D},
                 {"head.out.weight", h->head_w2, 2 * (int64_t)m->C},
                 {"head.out.bias", h->head_b2, 2}};
    for (int i = 0; i < 4 && n < max; i++)
        if (heads[i].data) {
            snprintf(v[n].name, sizeof v[n].name, "%s", heads[i].name);
            v[n].data = heads[i].data;
            v[n++].n = heads[i].n;
        }
    if (g->llm) { /* the layer's tensors in spec order, as g->llm's arena lays them out */
        LlmLayerParams dummy;
        LlmTensorSpec specs[LLM_LAYER_MAX_SPECS];
        int ns = llm_layer_specs(&m->llm.cfg, &dummy, 0, specs, LLM_LAYER_MAX_SPECS);
        const float *w = g->llm->norm_attn; /* the arena's first tensor */
        for (int i = 0; i < ns && n < max; i++) {
            snprintf(v[n].name, sizeof v[n].name, "llm.model.layers.%d.%s", m->llm.layer, specs[i].name);
            v[n].data = w;
            v[n].n = specs[i].shape[0] * (specs[i].ndim == 2 ? specs[i].shape[1] : 1);
            w += v[n++].n;
        }
    }
    return n;
}

static void run_case(int ci) {
    const char *name = CASES[ci];
    char dir[1024], p[1200], slm[1200], llm[1200];
    snprintf(dir, sizeof dir, "%s/span/%s", test_fixtures(), name);
    PifiErr err = {0};
    cJSON *meta;
    snprintf(p, sizeof p, "%s/meta.json", dir);
    REQUIRE(pifi_json_load(p, 0, &meta, &err) == 0);
    const char *method = cJSON_GetObjectItem(meta, "method")->valuestring;
    const cJSON *lj = cJSON_GetObjectItem(meta, "llm");
    snprintf(slm, sizeof slm, "%s/%s", dir, cJSON_GetObjectItem(meta, "slm")->valuestring);
    if (cJSON_IsString(lj)) snprintf(llm, sizeof llm, "%s/%s", dir, lj->valuestring);
    int unfrozen = strcmp(method, "pifi_unfrozen") == 0, lora = strcmp(method, "lora") == 0;

    PifiModel m;
    int rc = pifi_model_init_span(&m, slm, cJSON_IsString(lj) ? llm : NULL, -1, PIFI_PREC_FP32, !unfrozen, &err);
    CHECKF(rc == 0, "%s: %s", name, err.msg);
    if (rc) return;
    m.span.causal = cJSON_IsTrue(cJSON_GetObjectItem(meta, "causal"));
    m.span.mask_ones = cJSON_IsTrue(cJSON_GetObjectItem(meta, "mask_ones"));
    if (lora) REQUIRE(encoder_lora_enable(&m.slm, 8, 16.0f, 0.0f, 1, &err) == 0);
    SafeTensors *init;
    snprintf(p, sizeof p, "%s/init.safetensors", dir);
    REQUIRE(st_open(&init, p, &err) == 0);
    CHECKF(pifi_model_load_heads(&m, init, "", &err) == 0, "%s: %s", name, err.msg);
    for (int i = 0; lora; i++) {
        char tn[192];
        float *data;
        int64_t shape[2];
        if (encoder_lora_tensor(&m.slm, &m.slm.lora, i, tn, sizeof tn, &data, shape)) break;
        CHECKF(st_read_f32(init, tn, 2, shape, data, &err) == 0, "%s: %s", name, err.msg);
    }
    st_close(init);

    /* gradient arenas: what the method trains */
    PifiGrads g = {0};
    LlmLayerParams gllm;
    float *genc = lora ? NULL : calloc((size_t)m.slm.num_params, sizeof(float));
    float *glora = lora ? calloc((size_t)encoder_lora_param_count(&m.slm), sizeof(float)) : NULL;
    float *ghead = calloc((size_t)m.hp_count, sizeof(float));
    float *gl = unfrozen ? calloc((size_t)llm_layer_trainable_count(&m.llm), sizeof(float)) : NULL;
    g.enc = genc, g.lora = glora;
    pifi_model_point_heads(&m, &g.head, ghead);
    if (unfrozen) {
        llm_layer_point_params(&m.llm, &gllm, gl);
        g.llm = &gllm;
    }

    pifi_model_set_train(&m, 1, 1, 0);
    REQUIRE(pifi_span_forward(&m, ids, tt, mask, B, T, &err) == 0);
    memcpy(logits_of[ci], m.span.logits, (size_t)B * T * 2 * sizeof(float));
    SafeTensors *ls;
    snprintf(p, sizeof p, "%s/logits.safetensors", dir);
    REQUIRE(st_open(&ls, p, &err) == 0);
    float want[MAXB * MAXT * 2];
    int64_t lshape[3] = {B, T, 2};
    REQUIRE(st_read_f32(ls, "logits", 3, lshape, want, &err) == 0);
    st_close(ls);
    double dlog = 0;
    for (int i = 0; i < B * T; i++)
        if (mask[i]) /* the padded positions' logits are never used */
            for (int k = 0; k < 2; k++) dlog = fmax(dlog, fabs(m.span.logits[2 * i + k] - want[2 * i + k]));
    CHECKF(dlog <= 1e-4, "%s: logits differ by %.3g", name, dlog);

    static float dlogits[MAXB * MAXT * 2];
    double loss;
    REQUIRE(pifi_span_loss(&m, start, end, &loss, dlogits, &err) == 0);
    double want_loss = cJSON_GetObjectItem(meta, "loss")->valuedouble;
    CHECKF(fabs(loss - want_loss) <= 1e-5, "%s: loss %.7f, oracle %.7f", name, loss, want_loss);
    REQUIRE(pifi_span_backward(&m, dlogits, &g, &err) == 0);

    SafeTensors *gs;
    snprintf(p, sizeof p, "%s/grads.safetensors", dir);
    REQUIRE(st_open(&gs, p, &err) == 0);
    static View v[256];
    int nv = grad_views(&m, &g, v, 256), compared = 0;
    double worst = 0;
    const char *worst_name = "";
    for (int i = 0; i < nv; i++) {
        const StTensor *gt;
        if (st_find(gs, v[i].name, &gt, &err) != 0) continue; /* not trained in the oracle (BERT's pooler) */
        float *w = malloc((size_t)gt->numel * sizeof *w);
        int64_t shape[2] = {gt->shape[0], gt->ndim == 2 ? gt->shape[1] : 0};
        CHECK(gt->numel == v[i].n && st_read_f32(gs, v[i].name, gt->ndim, shape, w, &err) == 0);
        double d = test_rel_diff(v[i].data, w, v[i].n, 1e-2);
        CHECKF(d <= 1e-4, "%s: gradient of %s differs by %.3g (relative)", name, v[i].name, d);
        if (d > worst) worst = d, worst_name = v[i].name;
        compared++;
        free(w);
    }
    int ntrain = cJSON_GetArraySize(cJSON_GetObjectItem(meta, "trainable"));
    CHECKF(compared == ntrain, "%s: %d of the oracle's %d trainable tensors compared", name, compared, ntrain);
    printf("%-20s logits %.2e, loss %.2e, %2d gradients, worst relative %.2e (%s)\n", name, dlog,
           fabs(loss - want_loss), compared, worst, worst_name);
    st_close(gs);
    free(genc), free(glora), free(ghead), free(gl);
    cJSON_Delete(meta);
    pifi_model_free(&m);
}

/* The padding mask matters where there is padding, and only there. */
static void mask_effect(void) {
    int with = 1, ones = 3; /* pifi_llama, pifi_llama_ones */
    REQUIRE(!strcmp(CASES[with], "pifi_llama") && !strcmp(CASES[ones], "pifi_llama_ones"));
    for (int b = 0; b < B; b++) {
        int len = 0;
        double d = 0;
        for (int t = 0; t < T; t++) len += mask[b * T + t] != 0;
        for (int t = 0; t < len * 2; t++)
            d = fmax(d, fabs(logits_of[with][(size_t)b * T * 2 + t] - logits_of[ones][(size_t)b * T * 2 + t]));
        if (len == T)
            CHECKF(d <= 1e-5, "row %d has no padding, yet the all-ones mask changes its logits by %.3g", b, d);
        else
            CHECKF(d >= 1e-3, "row %d has %d padded positions, yet the all-ones mask changes its logits by %.3g "
                   "only", b, T - len, d);
        printf("row %d: %2d real tokens, padding mask vs all-ones: logits differ by %.3g\n", b, len, d);
    }
}

int main(void) {
    read_io();
    for (int i = 0; i < NCASES; i++) run_case(i);
    mask_effect();
    TEST_DONE();
}
