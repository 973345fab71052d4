/* seq2seq.c: the family-neutral entry points of pifi/seq2seq.h, each passing
 * the call through the model's family table (seq2seq_family.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/seq2seq/seq2seq_family.h"
#include "pifi/fileio.h"

int seq2seq_config_load(Seq2SeqConfig *cfg, const char *dir, PifiErr *err) {
    memset(cfg, 0, sizeof *cfg);
    char *path = pifi_is_dir(dir) ? pifi_path_join(dir, "config.json") : NULL;
    if (!path) {
        if (!pifi_is_dir(dir)) return pifi_errf(err, "%s: not a directory (an encoder-decoder checkpoint is a directory)", dir);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    }
    cJSON *root = NULL;
    int rc = -1;
    const char *mt = NULL;
    if (pifi_json_load(path, 1 << 20, &root, err)) goto done;
    if (!cJSON_IsObject(root)) {
        pifi_errf(err, "%s: expected a JSON object", path);
        goto done;
    }
    if (pifi_json_unique_keys(root, path, err) || pifi_json_string(root, "model_type", 1, &mt, path, err))
        goto done;
    const Seq2SeqFamily *f = seq2seq_family_find(mt);
    if (!f) {
        char list[256];
        seq2seq_family_supported(list, sizeof list);
        pifi_errf(err, "%s: unsupported model_type \"%.64s\" (supported encoder-decoders: %s)", path, mt,
                  *list ? list : "none yet");
        goto done;
    }
    cfg->family = f;
    snprintf(cfg->model_type, sizeof cfg->model_type, "%s", mt);
    rc = f->config_parse(cfg, root, path, err);
done:
    cJSON_Delete(root);
    free(path);
    return rc;
}

int seq2seq_load(Seq2Seq **out, const char *dir, struct PifiCompute *cx, PifiErr *err) {
    *out = NULL;
    Seq2SeqConfig cfg;
    if (seq2seq_config_load(&cfg, dir, err)) return -1;
    return cfg.family->load(out, &cfg, dir, cx, err);
}

int seq2seq_init(Seq2Seq **out, const char *dir, uint64_t seed, struct PifiCompute *cx, PifiErr *err) {
    *out = NULL;
    Seq2SeqConfig cfg;
    if (seq2seq_config_load(&cfg, dir, err)) return -1;
    return cfg.family->init(out, &cfg, seed, cx, err);
}

void seq2seq_free(Seq2Seq *m) {
    if (!m) return;
    seq2seq_kv_free(&m->kv);
    m->cfg.family->free(m);
}

const Seq2SeqConfig *seq2seq_config(const Seq2Seq *m) { return &m->cfg; }
int64_t seq2seq_param_count(const Seq2Seq *m) { return m->num_params; }
float *seq2seq_params(Seq2Seq *m) { return m->param_mem; }

int seq2seq_tensors(const Seq2Seq *m, Seq2SeqTensor *rows, int cap) {
    return m->cfg.family->tensors(m, rows, cap);
}

void seq2seq_set_train(Seq2Seq *m, int train, uint64_t seed) {
    m->train = train;
    m->seed = seed;
}

int seq2seq_encode(Seq2Seq *m, const int32_t *ids, const int32_t *mask, int B, int Ts, PifiErr *err) {
    return m->cfg.family->encode(m, ids, mask, B, Ts, err);
}

const float *seq2seq_encoder_output(const Seq2Seq *m) { return m->cfg.family->encoder_output(m); }

int seq2seq_decode(Seq2Seq *m, const float *memory, const int32_t *mem_mask, const int32_t *dec_ids, int B,
                   int Ts, int Tt, PifiErr *err) {
    return m->cfg.family->decode(m, memory, mem_mask, dec_ids, B, Ts, Tt, err);
}

const float *seq2seq_logits(const Seq2Seq *m) { return m->cfg.family->logits(m); }

int seq2seq_decode_backward(Seq2Seq *m, float *grads, const float *dlogits, float *dmemory, PifiErr *err) {
    return m->cfg.family->decode_backward(m, grads, dlogits, dmemory, err);
}

int seq2seq_encode_backward(Seq2Seq *m, float *grads, const float *denc, PifiErr *err) {
    return m->cfg.family->encode_backward(m, grads, denc, err);
}
