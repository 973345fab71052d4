/* fuzz_encode.c: libFuzzer harness of tokenization itself (src/text/:
 * UTF-8 validation, BertNormalizer, BERT pre-tokenizer, WordPiece,
 * byte-level BPE, the SentencePiece normalizers, Metaspace and Unigram,
 * added-token matching, truncation, templates, padding) on hostile TEXT
 * with real tokenizers: the committed fixtures
 * tests/fixtures/tokenizers/{bert_uncased,bert_cased,roberta_bpe,
 * deberta_v3_unigram,albert_unigram,t5_unigram_bytefallback,llama3_bpe,
 * qwen2_bpe}
 * (PIFI_FIXTURES_DIR, set by fuzz/CMakeLists.txt). Input: byte 0 picks the
 * tokenizer and the options, the rest is the text, split at the first
 * "\n====\n" into text and pair; both go in with their byte lengths (NUL
 * bytes allowed) through tk_encode_bytes. */
#include "fuzz_tokenizer.h"
#include "text/tokenizer_impl.h"

#ifndef PIFI_FIXTURES_DIR
#error "PIFI_FIXTURES_DIR must name tests/fixtures"
#endif

#define FZ_N_TOK 8
static PifiTokenizer *tks[FZ_N_TOK];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    static const char *const names[FZ_N_TOK] = {"bert_uncased",       "bert_cased",     "roberta_bpe",
                                                "deberta_v3_unigram", "albert_unigram", "t5_unigram_bytefallback",
                                                "llama3_bpe",         "qwen2_bpe"};
    for (int k = 0; k < FZ_N_TOK; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/tokenizers/%s", PIFI_FIXTURES_DIR, names[k]);
        PifiErr err = {0};
        if (tokenizer_load(&tks[k], path, &err)) {
            fprintf(stderr, "fuzz harness: %s\n", err.msg);
            abort();
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t sel = data[0];
    const PifiTokenizer *tk = tks[sel % FZ_N_TOK];
    PifiEncodeOpts o = pifi_encode_opts_default();
    o.add_special_tokens = !(sel & 0x04);
    o.truncation = (PifiTruncation)((sel >> 3) & 3);
    o.max_length = o.truncation ? 1 + (sel >> 5) * 3 : 0;
    o.pad_to = sel & 0x80 ? 24 : 0;
    FzSplit s = fz_split(data + 1, size - 1);
    int is_pair = s.na < size - 1;
    PifiEncoding enc = {0};
    PifiErr err = {0};
    if (tk_encode_bytes(tk, s.a, s.na, is_pair ? s.b : NULL, s.nb, &o, &enc, &err)) {
        fz_check_err(&err, "tk_encode_bytes");
    } else {
        fz_check_encoding(&enc, s.na, s.nb, &o);
        int v = tokenizer_vocab_size(tk);
        for (int i = 0; i < enc.n; i++)
            if (enc.ids[i] < 0 || enc.ids[i] >= v) fz_die("id outside the vocabulary");
    }
    encoding_free(&enc);
    fz_split_free(&s);
    return 0;
}
