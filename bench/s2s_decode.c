/* s2s_decode.c: the time to greedy- and beam-decode Multi30K validation
 * sources with the from-scratch T5 of experiments/multi30k-t5 (random
 * weights from seq2seq_init, seed 1: a random model rarely stops, so every
 * source decodes max_new_tokens tokens and each run does a fixed amount of
 * work). A benchmark of src/train/s2s_train.c's s2s_greedy and s2s_beam.c's
 * s2s_beam, not a test; bench/s2s_decode.sh builds it against a build
 * directory's libpifi.a and runs it.
 *
 *   s2s_decode MODEL_DIR DATA_DIR [N=256] [BATCH=64] [MAX_NEW=40] [BEAMS=5]
 *
 * Prints one line per mode: seconds, sources per second, and a checksum of
 * every decoded token (two builds decoding alike print the same). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/gen_tasks.h"
#include "kernels/compute.h"
#include "pifi/fileio.h"
#include "pifi/seq2seq.h"
#include "pifi/tokenizer.h"
#include "train/s2s_beam.h"
#include "train/s2s_data.h"
#include "train/s2s_train.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int die(const PifiErr *err) {
    fprintf(stderr, "s2s_decode: %s\n", err->msg);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: s2s_decode MODEL_DIR DATA_DIR [N] [BATCH] [MAX_NEW] [BEAMS]\n");
        return 2;
    }
    const char *model = argv[1], *data = argv[2];
    int n = argc > 3 ? atoi(argv[3]) : 256, batch = argc > 4 ? atoi(argv[4]) : 64;
    int max_new = argc > 5 ? atoi(argv[5]) : 40, beams = argc > 6 ? atoi(argv[6]) : 5;
    PifiErr err = {0};
    char tkp[4096];
    snprintf(tkp, sizeof tkp, "%s/tokenizer.json", model);
    PifiTokenizer *tk;
    if (tokenizer_load(&tk, tkp, &err)) return die(&err);
    cJSON *desc = cJSON_CreateObject();
    cJSON_AddStringToObject(desc, "task", "multi30k");
    cJSON_AddStringToObject(desc, "data_dir", data);
    PifiTaskSplits ts;
    if (gen_task_load(desc, PIFI_SPLIT_BIT(PIFI_SPLIT_VALID), &ts, &err)) return die(&err);
    cJSON_Delete(desc);
    const PifiDataset *val = &ts.split[PIFI_SPLIT_VALID];
    if (n > val->n) n = (int)val->n;
    S2SData d;
    if (s2s_data_build(&d, tk, val, gen_task_prefix("multi30k"), 128, 128, &err)) return die(&err);
    PifiCompute cx;
    compute_init(&cx, PIFI_PREC_FP32);
    Seq2Seq *m;
    if (seq2seq_init(&m, model, 1, &cx, &err)) return die(&err);
    seq2seq_set_train(m, 0, 0);
    const Seq2SeqConfig *c = seq2seq_config(m);
    int64_t *idx = malloc((size_t)batch * sizeof *idx);
    int32_t *out = malloc((size_t)batch * max_new * sizeof *out);
    int *len = malloc((size_t)batch * sizeof *len);
    S2SBatch b = {0};
    for (int mode = 0; mode < 2; mode++) {
        S2SBeamOpts o = {.num_beams = beams, .length_penalty = 1.0f, .max_new_tokens = max_new};
        uint64_t sum = 1469598103934665603ull;
        long long toks = 0;
        double t0 = now();
        for (int s = 0; s < n; s += batch) {
            int B = n - s < batch ? n - s : batch;
            for (int r = 0; r < B; r++) idx[r] = s + r;
            if (s2s_batch_fill(&b, &d, idx, B, c->pad_id, c->decoder_start_id, &err)) return die(&err);
            int rc = mode == 0 ? s2s_greedy(m, NULL, b.src, b.src_mask, B, b.Ts, max_new, out, len, &err)
                               : s2s_beam(m, NULL, b.src, b.src_mask, B, b.Ts, &o, out, len, &err);
            if (rc) return die(&err);
            for (int r = 0; r < B; r++) {
                toks += len[r];
                sum = (sum ^ (uint64_t)len[r]) * 1099511628211ull;
                for (int j = 0; j < len[r]; j++) sum = (sum ^ (uint64_t)out[r * max_new + j]) * 1099511628211ull;
            }
        }
        double sec = now() - t0;
        printf("%s (%d beams): %d sources, batch %d, max_new_tokens %d: %.2f s (%.1f sources/s), %lld tokens, "
               "checksum %016llx\n",
               mode ? "beam" : "greedy", mode ? beams : 1, n, batch, max_new, sec, n / sec, toks,
               (unsigned long long)sum);
        fflush(stdout);
    }
    s2s_batch_free(&b);
    free(idx), free(out), free(len);
    s2s_data_free(&d);
    seq2seq_free(m);
    compute_free(&cx);
    task_splits_free(&ts);
    tokenizer_free(tk);
    return 0;
}
