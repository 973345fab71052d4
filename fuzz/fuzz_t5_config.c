/* fuzz_t5_config.c: libFuzzer harness of a T5 config.json
 * (src/models/seq2seq/t5_config.c, through seq2seq_config_load): the input
 * is written to <tmp>/config.json and parsed. A config that is accepted
 * must satisfy the invariants the passes rely on, and its parameter table
 * (t5_layout) must be computable without overflow. */
#include "fuzz_common.h"
#include "kernels/activation.h"
#include "models/seq2seq/t5_internal.h"
#include "pifi/seq2seq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char *dir;
    if (!dir) dir = fz_subdir(NULL);
    char *path = fz_write(dir, "config.json", data, size);
    free(path);
    Seq2SeqConfig c;
    PifiErr err = {0};
    if (seq2seq_config_load(&c, dir, &err)) {
        fz_check_err(&err, "seq2seq_config_load");
        return 0;
    }
    if (memchr(c.model_type, 0, sizeof c.model_type) == NULL) fz_die("model_type not terminated");
    if (c.family != &SEQ2SEQ_FAMILY_T5) return 0; /* another family's */
    if (c.V < 1 || c.C < 1 || c.L_enc < 1 || c.L_dec < 1 || c.NH < 1 || c.t5.d_kv < 1 || c.t5.d_ff < 1)
        fz_die("accepted a non-positive size");
    if ((int64_t)c.NH * c.t5.d_kv > (1 << 20)) fz_die("accepted an inner dimension over 2^20");
    if (c.t5.buckets < 4 || c.t5.max_distance <= c.t5.buckets / 2)
        fz_die("accepted relative buckets the bucket function cannot compute");
    if (c.pad_id < 0 || c.pad_id >= c.V || c.eos_id < 0 || c.eos_id >= c.V || c.decoder_start_id < 0 ||
        c.decoder_start_id >= c.V)
        fz_die("accepted an id outside the vocabulary");
    if (!(c.t5.ln_eps > 0.0f) || !(c.dropout >= 0.0f && c.dropout < 1.0f))
        fz_die("accepted a non-positive eps or a dropout outside [0, 1)");
    if (strcmp(activation_name((Activation)c.t5.act), "?") == 0) fz_die("accepted an unknown activation");
    if (c.bos_id != -1 || c.max_pos != 0) fz_die("a T5 config with BART's fields");
    /* every bucket of both directions in the table: near distances, and at and beyond max_distance */
    int far[4] = {c.t5.max_distance, c.t5.max_distance + 1, 2 * c.t5.max_distance, 1 << 24};
    for (int i = -1100; i <= 1100 + 8; i++) {
        int rel = i <= 1100 ? i : (i % 2 ? -1 : 1) * far[(i - 1101) / 2];
        int a = t5_relative_bucket(rel, 1, c.t5.buckets, c.t5.max_distance);
        int b = t5_relative_bucket(rel, 0, c.t5.buckets, c.t5.max_distance);
        if (a < 0 || a >= c.t5.buckets || b < 0 || b >= c.t5.buckets) fz_die("a bucket outside the table");
    }
    int64_t total = 0;
    int rows = t5_layout(&c, NULL, NULL, &total);
    if (rows < 1 || total <= 0) fz_die("an empty parameter table");
    return 0;
}
