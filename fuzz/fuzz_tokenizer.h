/* fuzz_tokenizer.h: what the tokenizer harnesses do with a tokenizer that
 * loaded: encode a fixed set of inputs (ASCII, accents, CJK, emoji, special
 * token texts, a pair) under several option sets, and check the encoding's
 * invariants (offsets inside the input they point into, masks 0/1, padding
 * and truncation lengths). */
#ifndef PIFI_FUZZ_TOKENIZER_H
#define PIFI_FUZZ_TOKENIZER_H

#include "fuzz_common.h"
#include "pifi/tokenizer.h"

static inline void fz_check_encoding(const PifiEncoding *e, size_t la, size_t lb, const PifiEncodeOpts *o) {
    if (e->n < 0) fz_die("negative encoding length");
    int real = 0;
    for (int i = 0; i < e->n; i++) {
        int32_t s = e->offsets[2 * i], t = e->offsets[2 * i + 1];
        size_t len = e->seq[i] == 1 ? lb : la;
        if (e->seq[i] < -1 || e->seq[i] > 1) fz_die("seq not in -1..1");
        if (s < 0 || s > t || (size_t)t > len) {
            fprintf(stderr, "fuzz: token %d (seq %d) has offsets (%d, %d) outside its %zu-byte input\n", i,
                    e->seq[i], s, t, len);
            abort();
        }
        if (e->attention_mask[i] != 0 && e->attention_mask[i] != 1) fz_die("attention mask not 0/1");
        if (e->special_mask[i] != 0 && e->special_mask[i] != 1) fz_die("special mask not 0/1");
        if (e->seq[i] == -1 && (s != 0 || t != 0)) fz_die("special or pad token with nonzero offsets");
        real += e->attention_mask[i];
    }
    if (o->pad_to > 0 && e->n < o->pad_to) fz_die("padding fell short of pad_to");
    if (o->truncation != PIFI_TRUNC_NONE && o->max_length > 0 && real > o->max_length && o->pad_to == 0) {
        /* only the specials may exceed max_length when it is too small for them */
        int special = 0;
        for (int i = 0; i < e->n; i++) special += e->seq[i] == -1;
        if (real - special > o->max_length) fz_die("truncation left more than max_length tokens");
    }
}

static inline void fz_exercise_tokenizer(const PifiTokenizer *tk) {
    static const char *const texts[][2] = {
        {"Hello, world! This is a test.", NULL},
        {"na\xc3\xafve caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80 unaffable", "second  text\tend"},
        {"[CLS] [SEP] [MASK] [UNK] <s> </s> <mask> <unk> <pad>", "  leading and trailing  "},
        {"", ""},
        {" ", NULL},
        {"\xc3\x80\xcc\x81 ABC\xe2\x80\x8b def\r\n\x7f", "x"},
    };
    PifiEncodeOpts opts[4];
    opts[0] = pifi_encode_opts_default();
    opts[1] = (PifiEncodeOpts){1, 6, PIFI_TRUNC_LONGEST_FIRST, 10};
    opts[2] = (PifiEncodeOpts){0, 3, PIFI_TRUNC_ONLY_SECOND, 0};
    opts[3] = (PifiEncodeOpts){1, 1, PIFI_TRUNC_ONLY_FIRST, 0};
    PifiEncoding enc = {0};
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        for (int o = 0; o < 4; o++) {
            PifiErr err = {0};
            const char *a = texts[t][0], *b = texts[t][1];
            if (tokenizer_encode(tk, a, b, &opts[o], &enc, &err)) {
                fz_check_err(&err, "tokenizer_encode");
                continue;
            }
            fz_check_encoding(&enc, strlen(a), b ? strlen(b) : 0, &opts[o]);
        }
    }
    encoding_free(&enc);
    int v = tokenizer_vocab_size(tk);
    if (v < 0) fz_die("negative vocabulary size");
    for (int id = -1; id < 64 && id <= v; id++) {
        /* no round-trip check: a vocab.txt line may hold NUL bytes (as in
         * HF), and the C string returned stops at the first one */
        const char *s = tokenizer_id_to_token(tk, id);
        if (s) (void)tokenizer_token_to_id(tk, s);
    }
    (void)tokenizer_pad_id(tk);
    if (tokenizer_model_max_length(tk) < 1) fz_die("model_max_length < 1");
}

#endif
