/* fuzz_bart_config.c: libFuzzer harness of an encoder-decoder's config.json
 * as the BART family reads it (src/models/seq2seq/bart_config.c, through the
 * seq2seq registry): the input is written to <tmp>/bart/config.json and read
 * with seq2seq_config_load on the directory. A BART config that is accepted
 * must satisfy the invariants the passes rely on, and its parameter count
 * (bart_layout) must not overflow (UBSan). */
#include "fuzz_common.h"
#include "kernels/activation.h"
#include "models/seq2seq/bart_internal.h"
#include "pifi/seq2seq.h"

static void check(const Seq2SeqConfig *c) {
    if (c->V < 1 || c->C < 1 || c->L_enc < 1 || c->L_dec < 1 || c->NH < 1 || c->max_pos < 1 || c->bart.enc_ff < 1 ||
        c->bart.dec_ff < 1)
        fz_die("accepted a non-positive size");
    if (c->C % c->NH != 0) fz_die("accepted d_model not divisible by the heads");
    if (c->pad_id < 0 || c->pad_id >= c->V || c->decoder_start_id < 0 || c->decoder_start_id >= c->V ||
        c->eos_id < -1 || c->eos_id >= c->V || c->bos_id < -1 || c->bos_id >= c->V)
        fz_die("accepted a special id outside the vocabulary");
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f && c->bart.attn_dropout >= 0.0f && c->bart.attn_dropout < 1.0f &&
          c->bart.act_dropout >= 0.0f && c->bart.act_dropout < 1.0f))
        fz_die("accepted a dropout probability outside [0, 1)");
    if (!strcmp(activation_name((Activation)c->bart.act), "?")) fz_die("accepted an unknown activation");
    if (memchr(c->model_type, 0, sizeof c->model_type) == NULL) fz_die("model_type not terminated");
    BartParams p;
    int rows = 0;
    if (bart_layout(c, &p, NULL, NULL, 0, &rows) <= 0 || rows < 1) fz_die("non-positive parameter count");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char *dir;
    if (!dir) dir = fz_subdir("bart");
    char *path = fz_write(dir, "config.json", data, size);
    Seq2SeqConfig cfg;
    PifiErr err = {0};
    if (seq2seq_config_load(&cfg, dir, &err)) fz_check_err(&err, "seq2seq_config_load");
    else if (!strcmp(cfg.family->name, "bart")) check(&cfg);
    free(path);
    return 0;
}
