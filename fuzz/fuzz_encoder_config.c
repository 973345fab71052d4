/* fuzz_encoder_config.c: libFuzzer harness of config.json for the encoders
 * (src/models/encoders/encoder_config.c, mpnet_config.c, albert_family.c,
 * modernbert_config.c, deberta_config.c, decoder_config.c): the input is
 * written to <tmp>/config.json and parsed with encoder_config_load. A config that is accepted must
 * satisfy the invariants the forward pass relies on. */
#include "fuzz_common.h"
#include "models/encoders/encoder_family.h"
#include "pifi/encoder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char *dir;
    if (!dir) dir = fz_subdir(NULL);
    char *path = fz_write(dir, "config.json", data, size);
    EncoderConfig cfg;
    PifiErr err = {0};
    if (encoder_config_load(&cfg, path, &err)) {
        fz_check_err(&err, "encoder_config_load");
    } else {
        if (cfg.V < 1 || cfg.C < 1 || cfg.E < 1 || cfg.L < 1 || cfg.NH < 1 || cfg.FF < 1 ||
            cfg.maxT < 1 || cfg.TV < 0)
            fz_die("accepted a non-positive size");
        /* a decoder SLM's heads have their own head_dim (LlamaConfig's); its
         * layers need grouped heads and an even head size (RoPE) */
        int decoder = !strcmp(cfg.family->name, "decoder");
        if (decoder && (cfg.dec.NKV < 1 || cfg.dec.NH % cfg.dec.NKV != 0 || cfg.dec.HD < 2 || cfg.dec.HD % 2 != 0))
            fz_die("accepted a decoder config whose heads its layers cannot run");
        if (!decoder && cfg.C % cfg.NH != 0) fz_die("accepted hidden_size not divisible by heads");
        if (cfg.pad_id < (decoder ? -1 : 0) || cfg.pad_id >= cfg.V) /* a decoder may have none: -1 */
            fz_die("accepted pad_token_id outside the vocabulary");
        if (!(cfg.ln_eps > 0)) fz_die("accepted a non-positive layer_norm_eps");
        if (memchr(cfg.model_type, 0, sizeof cfg.model_type) == NULL) fz_die("model_type not terminated");
        if (cfg.arch == ENC_MPNET && (cfg.rel_buckets < 32 || cfg.pad_id != 1 || cfg.TV != 0 || cfg.maxT < 3))
            fz_die("accepted an MPNet config its position bias or positions cannot run");
        if (cfg.arch != ENC_MPNET && cfg.rel_buckets != 0) fz_die("a relative position bias outside MPNet");
        if (!(cfg.hidden_dropout >= 0.0f && cfg.hidden_dropout < 1.0f && cfg.attn_dropout >= 0.0f &&
              cfg.attn_dropout < 1.0f) && (cfg.arch == ENC_ALBERT || !strcmp(cfg.model_type, "modernbert")))
            fz_die("accepted a dropout probability outside [0, 1)");
        if (cfg.deberta.conv_k && (cfg.deberta.conv_k % 2 == 0 || cfg.deberta.conv_groups < 1 ||
                                   cfg.C % cfg.deberta.conv_groups != 0))
            fz_die("accepted a DeBERTa ConvLayer its convolution cannot run");
        if (!strcmp(cfg.model_type, "modernbert") &&
            (cfg.modernbert.global_every < 1 || cfg.modernbert.window < 0 || (cfg.C / cfg.NH) % 2 != 0 ||
             !(cfg.modernbert.rope_global > 0.0f) || !(cfg.modernbert.rope_local > 0.0f) ||
             !(cfg.modernbert.emb_dropout >= 0.0f && cfg.modernbert.emb_dropout < 1.0f) || cfg.E != cfg.C))
            fz_die("accepted a ModernBERT config its layers cannot run");
    }
    free(path);
    return 0;
}
