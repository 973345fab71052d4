/* fuzz_tokenizer_json.c: libFuzzer harness of tokenizer.json
 * (src/text/tokenizer_load.c, wordpiece.c, bpe_load.c, bpe.c): the input is
 * written to <tmp>/tokenizer.json and loaded with tokenizer_load on the
 * directory; a tokenizer that loads is then used to encode a fixed set of
 * inputs (fuzz_tokenizer.h). */
#include "fuzz_tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char *dir;
    if (!dir) dir = fz_subdir(NULL);
    free(fz_write(dir, "tokenizer.json", data, size));
    PifiTokenizer *tk = NULL;
    PifiErr err = {0};
    if (tokenizer_load(&tk, dir, &err)) {
        fz_check_err(&err, "tokenizer_load");
        if (tk) fz_die("tokenizer_load failed but set *out");
        return 0;
    }
    fz_exercise_tokenizer(tk);
    tokenizer_free(tk);
    return 0;
}
