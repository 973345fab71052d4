/* fuzz_vocab_txt.c: libFuzzer harness of a legacy WordPiece vocab.txt
 * (src/text/wordpiece.c, tokenizer_load.c): the input is written to
 * <tmp>/vocab.txt (no side files, so the BERT defaults apply: [CLS], [SEP]
 * and [UNK] must be in it) and loaded with tokenizer_load on the directory;
 * a tokenizer that loads encodes a fixed set of inputs. */
#include "fuzz_tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char *dir;
    if (!dir) dir = fz_subdir(NULL);
    free(fz_write(dir, "vocab.txt", data, size));
    PifiTokenizer *tk = NULL;
    PifiErr err = {0};
    if (tokenizer_load(&tk, dir, &err)) {
        fz_check_err(&err, "tokenizer_load");
        return 0;
    }
    fz_exercise_tokenizer(tk);
    tokenizer_free(tk);
    return 0;
}
