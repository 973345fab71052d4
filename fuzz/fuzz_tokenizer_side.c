/* fuzz_tokenizer_side.c: libFuzzer harness of the side files of a tokenizer
 * directory, tokenizer_config.json and special_tokens_map.json
 * (src/text/tokenizer_load.c: do_lower_case, strip_accents,
 * tokenize_chinese_chars, add_prefix_space, trim_offsets, model_max_length,
 * special tokens as strings or {"content": ...}, tokenizer_class
 * MPNetTokenizer: RoBERTa's specials on a vocab.txt). The input is split at the
 * first "\n====\n" into the two files (special_tokens_map.json is left out
 * when there is no separator); they are placed beside three small valid
 * tokenizers (a WordPiece vocab.txt, a BPE vocab.json + merges.txt, and a
 * WordPiece tokenizer.json) and each is loaded and used to encode. */
#include "fuzz_tokenizer.h"

static char *dirs[3];

static const char VOCAB_TXT[] =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n,\n!\n.\nthe\n##s\n##ing\ntest\na\nis\nthis\n"
    "na\n##ive\ncafe\n\xe4\xb8\xad\n\xe6\x96\x87\n<s>\n</s>\n<pad>\n<mask>\n"; /* <s>..: MPNetTokenizer's */
/* GPT-2 byte-level symbols: \xc4\xa0 is the space (U+0120 "Ġ"). */
static const char VOCAB_JSON[] =
    "{\"<s>\": 0, \"<pad>\": 1, \"</s>\": 2, \"<unk>\": 3, \"<mask>\": 4, \"H\": 5, \"e\": 6, \"l\": 7,"
    " \"o\": 8, \"\\u0120\": 9, \"w\": 10, \"r\": 11, \"d\": 12, \"He\": 13, \"ll\": 14, \"Hell\": 15,"
    " \"Hello\": 16, \"\\u0120w\": 17, \",\": 18, \"!\": 19}";
static const char MERGES_TXT[] = "#version: 0.2\nH e\nl l\nHe ll\nHell o\n\xc4\xa0 w\n";
static const char TOKENIZER_JSON[] =
    "{\"version\": \"1.0\", \"added_tokens\": [{\"id\": 0, \"content\": \"[PAD]\", \"special\": true},"
    " {\"id\": 1, \"content\": \"[UNK]\", \"special\": true}, {\"id\": 2, \"content\": \"[CLS]\","
    " \"special\": true}, {\"id\": 3, \"content\": \"[SEP]\", \"special\": true}],"
    " \"normalizer\": {\"type\": \"BertNormalizer\", \"clean_text\": true, \"handle_chinese_chars\": true,"
    " \"strip_accents\": null, \"lowercase\": true}, \"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"},"
    " \"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"[CLS]\","
    " \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}, {\"SpecialToken\": {\"id\": \"[SEP]\","
    " \"type_id\": 0}}], \"pair\": [{\"SpecialToken\": {\"id\": \"[CLS]\", \"type_id\": 0}}, {\"Sequence\":"
    " {\"id\": \"A\", \"type_id\": 0}}, {\"SpecialToken\": {\"id\": \"[SEP]\", \"type_id\": 0}}, {\"Sequence\":"
    " {\"id\": \"B\", \"type_id\": 1}}, {\"SpecialToken\": {\"id\": \"[SEP]\", \"type_id\": 1}}],"
    " \"special_tokens\": {\"[CLS]\": {\"id\": \"[CLS]\", \"ids\": [2], \"tokens\": [\"[CLS]\"]}, \"[SEP]\":"
    " {\"id\": \"[SEP]\", \"ids\": [3], \"tokens\": [\"[SEP]\"]}}}, \"model\": {\"type\": \"WordPiece\","
    " \"unk_token\": \"[UNK]\", \"continuing_subword_prefix\": \"##\", \"max_input_chars_per_word\": 100,"
    " \"vocab\": {\"[PAD]\": 0, \"[UNK]\": 1, \"[CLS]\": 2, \"[SEP]\": 3, \"hello\": 4, \"world\": 5,"
    " \",\": 6, \"!\": 7, \"test\": 8, \"##s\": 9}}}";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    dirs[0] = fz_subdir("wordpiece");
    fz_write_str(dirs[0], "vocab.txt", VOCAB_TXT);
    dirs[1] = fz_subdir("bpe");
    fz_write_str(dirs[1], "vocab.json", VOCAB_JSON);
    fz_write_str(dirs[1], "merges.txt", MERGES_TXT);
    dirs[2] = fz_subdir("json");
    fz_write_str(dirs[2], "tokenizer.json", TOKENIZER_JSON);
    /* the companions alone must load */
    for (int k = 0; k < 3; k++) {
        PifiTokenizer *tk;
        PifiErr err = {0};
        if (tokenizer_load(&tk, dirs[k], &err)) {
            fprintf(stderr, "fuzz harness: companion tokenizer %s does not load: %s\n", dirs[k], err.msg);
            abort();
        }
        tokenizer_free(tk);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    FzSplit s = fz_split(data, size);
    int has_map = s.na < size;
    for (int k = 0; k < 3; k++) {
        free(fz_write(dirs[k], "tokenizer_config.json", s.a, s.na));
        char *spm = fz_write(dirs[k], "special_tokens_map.json", s.b, s.nb);
        if (!has_map) unlink(spm);
        free(spm);
        PifiTokenizer *tk = NULL;
        PifiErr err = {0};
        if (tokenizer_load(&tk, dirs[k], &err)) {
            fz_check_err(&err, "tokenizer_load");
            continue;
        }
        fz_exercise_tokenizer(tk);
        tokenizer_free(tk);
    }
    fz_split_free(&s);
    return 0;
}
