/* memest.c: memory estimates of training and inference runs (memest.h). */
#include "train/memest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/path.h"
#include "pifi/compute.h"
#include "pifi/encoder.h"
#include "pifi/fileio.h"
#include "pifi/json.h"
#include "pifi/llm_layer.h"
#include "train/runio.h"
#include "train/runio_int8.h"

typedef struct {
    EncoderConfig enc;
    LlmConfig llm;
    int has_llm;
    int64_t slm_params, llm_params, head_params;
} Shapes;

static int load_shapes(const TrainOpts *o, int K, Shapes *s, PifiErr *err) {
    char *cp = pifi_has_suffix(o->slm, ".gguf") ? strdup(o->slm) : pifi_path_join(o->slm, "config.json");
    int rc = cp ? encoder_config_load(&s->enc, cp, err) : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    free(cp);
    if (rc) return -1;
    if (method_llm_as_slm(o->method)) s->enc.L = 1, s->enc.dec_norm = 0; /* the LLM's embeddings and one layer */
    const EncoderConfig *c = &s->enc;
    int64_t C = c->C;
    s->slm_params = encoder_config_params(c) + encoder_config_pooler_params(c);
    s->has_llm = method_plugs_llm(o->method) && o->llm;
    int64_t D = C;
    s->llm_params = 0;
    if (s->has_llm) {
        if (llm_config_from_path(&s->llm, o->llm, err)) return -1;
        const LlmConfig *l = &s->llm;
        D = l->D;
        /* pooled layers (T = 1) keep no Q and K */
        s->llm_params = llm_layer_param_count(l) - (int64_t)l->D * l->NH * l->HD - (int64_t)l->D * l->NKV * l->HD;
    }
    s->head_params = (s->has_llm ? 2 * C * D : 0) + C * C + C + (int64_t)K * C + K;
    return 0;
}

/* Thread stacks (8 MiB reserved each, counted by RLIMIT_DATA), the
 * libraries' data and oneDNN's scratch. */
static uint64_t runtime_bytes(void) { return ((uint64_t)pifi_threads() * 8 + 96) << 20; }

int memest_train(const TrainOpts *o, int K, int64_t n_examples, MemEstimate *e, PifiErr *err) {
    memset(e, 0, sizeof *e);
    Shapes s;
    if (load_shapes(o, K, &s, err)) return -1;
    int accum = o->grad_accum > 1 ? o->grad_accum : 1;
    int64_t B = (o->batch + accum - 1) / accum, T = o->max_len, EB = o->eval_batch;
    int bf16 = o->precision == PIFI_PREC_BF16;
    int64_t lora = o->method == METHOD_LORA ? encoder_config_lora_params(&s.enc, o->lora_r) : 0;
    int64_t trainable = (o->method == METHOD_LORA ? lora : s.slm_params) + s.head_params +
                        (o->method == METHOD_PIFI_UNFROZEN ? s.llm_params : 0);
    char w[96];
    /* weights: fp32 masters (+ bf16 copies of the matrices), the frozen layer in bf16 when it can be */
    uint64_t weights = (uint64_t)(s.slm_params + s.head_params + lora) * (bf16 ? 6 : 4);
    int llm_bf16_only = bf16 && o->method == METHOD_PIFI;
    if (s.has_llm) weights += (uint64_t)s.llm_params * (llm_bf16_only ? 2 : bf16 ? 6 : 4);
    memest_add(e, weights, "parameters", NULL);
    memest_add(e, (uint64_t)trainable * 12, "gradients and Adam moments", NULL);
    int64_t train_acts = encoder_config_act_floats(&s.enc, B, T, s.enc.L, o->method == METHOD_LORA ? o->lora_r : 0) +
                         encoder_config_grad_scratch_floats(&s.enc, B, T, o->method == METHOD_LORA ? o->lora_r : 0);
    int64_t eval_acts = encoder_config_act_floats(&s.enc, EB, T, s.enc.L, 0);
    int64_t widest = encoder_config_widest(&s.enc);
    uint64_t acts = (uint64_t)(train_acts > eval_acts ? train_acts : eval_acts) * 4 +
                    (bf16 ? (uint64_t)(B > EB ? B : EB) * T * widest * 2 : 0);
    if (s.has_llm) acts += (uint64_t)(B > EB ? B : EB) * (s.llm.FF * 4 + s.llm.D * 12) * 4;
    snprintf(w, sizeof w, "at batch %lld x %lld tokens", (long long)B, (long long)T);
    memest_add(e, acts, "activations", w);
    memest_add(e, (uint64_t)n_examples * T * 16, "tokenized data", NULL);
    memest_add(e, runtime_bytes(), "runtime", "(thread stacks, libraries)");
    e->hint = accum > 1 || o->batch < 2 ? "lower --max-len, or raise --grad-accum"
                                        : "lower --batch or --max-len, or use --grad-accum";
    return 0;
}

/* Bytes of the weights for inference: fp32, except the RUN_INT8_* parts of
 * an int8 run, one byte per weight and an fp32 scale per row. */
static uint64_t infer_weight_bytes(const Shapes *s, unsigned int8) {
    int64_t n8 = 0, rows = 0;
    encoder_config_int8(&s->enc,
                        (int8 & RUN_INT8_SLM_LINEAR ? ENCODER_INT8_LINEAR : 0u) |
                            (int8 & RUN_INT8_SLM_EMBEDDINGS ? ENCODER_INT8_EMBEDDINGS : 0u),
                        &n8, &rows);
    if ((int8 & RUN_INT8_LLM) && s->has_llm) {
        const LlmConfig *l = &s->llm;
        int64_t D = l->D, KC = (int64_t)l->NKV * l->HD, QC = (int64_t)l->NH * l->HD;
        n8 += KC * D + D * QC + 3 * (int64_t)l->FF * D, rows += KC + 2 * D + 2 * (int64_t)l->FF;
    }
    return (uint64_t)(s->slm_params + s->head_params + s->llm_params - n8) * 4 + (uint64_t)n8 + (uint64_t)rows * 4;
}

static int infer_estimate(const TrainOpts *o, int K, int batch, int64_t n_examples, unsigned int8, MemEstimate *e,
                          PifiErr *err) {
    memset(e, 0, sizeof *e);
    Shapes s;
    if (load_shapes(o, K, &s, err)) return -1;
    int64_t T = o->max_len;
    memest_add(e, infer_weight_bytes(&s, int8), "parameters", int8 ? "(int8 run)" : NULL);
    int64_t acts = encoder_config_act_floats(&s.enc, batch, T, 1, 0);
    if (s.has_llm) acts += (int64_t)batch * (s.llm.FF * 4 + s.llm.D * 12);
    char w[96];
    snprintf(w, sizeof w, "at batch %d x %lld tokens", batch, (long long)T);
    memest_add(e, (uint64_t)acts * 4 + (uint64_t)batch * T * encoder_config_widest(&s.enc) * 2,
               "activations", w);
    memest_add(e, (uint64_t)n_examples * T * 16, "tokenized data", NULL);
    memest_add(e, runtime_bytes(), "runtime", "(thread stacks, libraries)");
    e->hint = "lower --batch";
    return 0;
}

int memest_infer(const TrainOpts *o, int K, int batch, int64_t n_examples, MemEstimate *e, PifiErr *err) {
    return infer_estimate(o, K, batch, n_examples, 0, e, err);
}

int memest_run_infer(const char *run_dir, int batch, MemEstimate *e, PifiErr *err) {
    char *cp = pifi_path_join(run_dir, "config.json");
    cJSON *cfg = NULL;
    int rc = cp ? pifi_json_load(cp, 1 << 22, &cfg, err) : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    TrainOpts o;
    if (rc == 0) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(cfg, "pifi");
        rc = cJSON_IsObject(p) ? runio_opts_from_json(p, &o, cp, err) : pifi_errf(err, "%s: not a pifi run", cp);
        if (rc == 0) {
            int K = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(p, "label_names"));
            unsigned int8;
            runio_resolve_llm(&o, run_dir);
            o.slm = run_dir; /* the trained SLM: its config.json is the run's */
            rc = runio_int8_record(p, cp, &int8, err);
            if (rc == 0) rc = infer_estimate(&o, K > 1 ? K : 2, batch, 0, int8, e, err);
        }
    }
    cJSON_Delete(cfg);
    free(cp);
    return rc;
}
