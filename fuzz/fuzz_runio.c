/* fuzz_runio.c: libFuzzer harness of a run directory's config.json as
 * `pifi train --resume`, `pifi eval` and `pifi predict` read it
 * (src/train/runio.c): the input is written to <tmp>/run/config.json, loaded
 * with pifi_json_load and its "pifi" object given to runio_opts_from_json,
 * and to runio_int8_record (the "pifi.quantized" record of an int8 run).
 * Accepted options must lie in the ranges pifi train accepts on its command
 * line (the trainer sizes buffers and loops from them); a refusal must leave
 * a one-line message. */
#include <limits.h>
#include <math.h>

#include "fuzz_common.h"
#include "pifi/json.h"
#include "train/runio.h"
#include "train/runio_int8.h"

static void in(double v, double lo, double hi, const char *what) {
    if (!(v >= lo && v <= hi)) {
        fprintf(stderr, "fuzz harness: accepted %s = %g outside [%g, %g]\n", what, v, lo, hi);
        abort();
    }
}

static void check(const TrainOpts *o) {
    in(o->epochs, 1, 100000, "epochs");
    in(o->batch, 1, 1 << 16, "batch");
    in(o->eval_batch, 1, 1 << 16, "eval_batch");
    in(o->max_len, 3, 1 << 16, "max_len");
    in(o->lr, 0, 1e6, "lr");
    in(o->weight_decay, 0, 10, "weight_decay");
    in(o->warmup_ratio, 0, 1, "warmup_ratio");
    in(o->clip, 0, 1e9, "clip");
    in(o->label_smoothing, 0, 0.99f, "label_smoothing");
    in(o->head_dropout, 0, 0.99f, "head_dropout");
    in((double)o->max_steps, 0, INT_MAX, "max_steps");
    in((double)o->save_every, 0, INT_MAX, "save_every");
    if (o->layer != INT_MIN) in(o->layer, -100000, 100000, "layer");
    if (o->method == METHOD_LORA) {
        in(o->lora_r, 1, 4096, "lora_r");
        in(o->lora_alpha, 1e-6, 1e6, "lora_alpha");
        in(o->lora_dropout, 0, 0.99f, "lora_dropout");
    }
    if (o->seq2seq) { /* a generation run's decoding, which sizes its buffers */
        in(o->max_target_len, 2, 1 << 16, "max_target_len");
        in(o->num_beams, 1, 64, "num_beams");
        in(o->length_penalty, -100, 100, "length_penalty");
        in(o->early_stopping, 0, 2, "early_stopping");
        in(o->no_repeat_ngram, 0, 64, "no_repeat_ngram_size");
        in(o->min_new_tokens, 0, 1 << 16, "min_new_tokens");
        in(o->max_new_tokens, 1, 1 << 16, "max_new_tokens");
        in(o->init_random, 0, 1, "init");
    }
    if (!o->slm) fz_die("accepted a run without \"pifi.slm\"");
    if (method_has_llm(o->method) && !o->llm) fz_die("accepted a PiFi run without \"pifi.llm\"");
    (void)method_name(o->method);
    (void)pifi_pooling_name(o->pooling);
    (void)pifi_precision_name(o->precision);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char *dir;
    if (!dir) dir = fz_subdir("run");
    char *path = fz_write(dir, "config.json", data, size);
    PifiErr err = {0};
    cJSON *cfg = NULL;
    if (pifi_json_load(path, 1 << 22, &cfg, &err)) {
        fz_check_err(&err, "pifi_json_load");
    } else {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(cfg, "pifi");
        TrainOpts o;
        if (runio_opts_from_json(p, &o, path, &err)) fz_check_err(&err, "runio_opts_from_json");
        else check(&o);
        unsigned int8;
        PifiErr e8 = {0};
        if (runio_int8_record(p, path, &int8, &e8)) fz_check_err(&e8, "runio_int8_record");
        else if (int8 & ~(unsigned)(RUN_INT8_LLM | RUN_INT8_SLM_LINEAR | RUN_INT8_SLM_EMBEDDINGS))
            fz_die("runio_int8_record accepted an unknown part");
        /* resolving a bundled layer's path never overflows its buffer */
        runio_resolve_llm(&o, dir);
        cJSON_Delete(cfg);
    }
    free(path);
    return 0;
}
