/* fuzz_gguf_encoder.c: libFuzzer harness of what pifi reads from a GGUF for
 * an encoder (src/text/tokenizer_gguf.c + spm.c, src/models/encoders/
 * encoder_gguf.c, on top of src/io/gguf.c): the input is written to
 * <tmp>/model.gguf; tokenizer_load builds its tokenizer.ggml.* tokenizer
 * (bert / gpt2 / llama) and, when it loads, encodes fixed texts (every id
 * inside the vocabulary); encoder_config_load reads a "bert" architecture's
 * metadata and, when the model is small, encoder_load reads and
 * dequantizes every tensor. Seeds:
 * fuzz/corpus/gguf_encoder (tools/oracle_gguf_encoder.py --fuzz-seeds). */
#include "fuzz_tokenizer.h"
#include "kernels/compute.h"
#include "models/encoders/encoder_family.h"
#include "pifi/encoder.h"

#define MAX_PARAMS (1 << 20) /* the harness skips loading bigger models */

static const char *const TEXTS[] = {"hello the cats sat. 12", " <s>hi</s>  x\xc3\xa9\xe2\x96\x81", "", "\xf0\x9f\x99\x82 ##s [CLS]"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char *dir;
    static PifiCompute cx;
    if (!dir) dir = fz_subdir(NULL), compute_init(&cx, PIFI_PREC_FP32);
    char *path = fz_write(dir, "model.gguf", data, size);
    PifiErr err = {0};
    PifiTokenizer *tk = NULL;
    if (tokenizer_load(&tk, path, &err)) {
        fz_check_err(&err, "tokenizer_load");
        if (tk) fz_die("tokenizer_load failed but returned a tokenizer");
    } else {
        int v = tokenizer_vocab_size(tk);
        for (size_t k = 0; k < sizeof TEXTS / sizeof TEXTS[0]; k++) {
            PifiEncoding enc = {0};
            PifiEncodeOpts o = pifi_encode_opts_default();
            err.msg[0] = 0;
            if (tokenizer_encode(tk, TEXTS[k], k & 1 ? TEXTS[0] : NULL, &o, &enc, &err)) {
                fz_check_err(&err, "tokenizer_encode");
            } else {
                fz_check_encoding(&enc, strlen(TEXTS[k]), k & 1 ? strlen(TEXTS[0]) : 0, &o);
                for (int i = 0; i < enc.n; i++)
                    if (enc.ids[i] < 0 || enc.ids[i] >= v) fz_die("id outside the vocabulary");
            }
            encoding_free(&enc);
        }
        tokenizer_free(tk);
    }
    EncoderConfig cfg;
    err.msg[0] = 0;
    if (encoder_config_load(&cfg, path, &err)) {
        fz_check_err(&err, "encoder_config_load");
    } else {
        int decoder = !strcmp(cfg.family->name, "decoder"); /* heads of their own head_dim */
        if (cfg.C < 1 || cfg.L < 1 || cfg.NH < 1 || cfg.FF < 1 || cfg.V < 1 || cfg.maxT < 1 ||
            (decoder ? cfg.dec.NKV < 1 || cfg.dec.NH % cfg.dec.NKV || cfg.dec.HD % 2 : cfg.C % cfg.NH))
            fz_die("accepted a bad config");
        if (encoder_config_params(&cfg) <= MAX_PARAMS) {
            Encoder m;
            err.msg[0] = 0;
            if (encoder_load(&m, path, &cx, &err)) {
                fz_check_err(&err, "encoder_load");
            } else {
                if (m.cfg.V != cfg.V || m.cfg.C != cfg.C || m.num_params != encoder_config_params(&cfg))
                    fz_die("the loaded encoder differs from its config");
                encoder_free(&m); /* no forward: random weights hold NaN, and the kernels are not under test */
            }
        }
    }
    free(path);
    return 0;
}
