/* fuzz_bpe_files.c: libFuzzer harness of the legacy byte-level BPE pair
 * vocab.json + merges.txt (src/text/bpe_load.c, bpe.c, tokenizer_load.c).
 * The input is split at the first "\n====\n": the part before is written to
 * <tmp>/vocab.json, the part after to <tmp>/merges.txt (empty when there is
 * no separator), and the directory is loaded with tokenizer_load (RoBERTa
 * defaults: <s>, </s> must be in the vocabulary); a tokenizer that loads
 * encodes a fixed set of inputs. */
#include "fuzz_tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char *dir;
    if (!dir) dir = fz_subdir(NULL);
    FzSplit s = fz_split(data, size);
    free(fz_write(dir, "vocab.json", s.a, s.na));
    free(fz_write(dir, "merges.txt", s.b, s.nb));
    fz_split_free(&s);
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
