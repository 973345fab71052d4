/* fuzz_charsmap.c: libFuzzer harness of SentencePiece's precompiled_charsmap
 * (src/text/precompiled.c: the blob's layout, the double-array trie walk,
 * the replacement strings, the normalizer's alignment bookkeeping). The
 * input, split at the first "\n====\n", is a raw charsmap blob (base64-
 * encoded here, as tokenizer.json holds it) and a text. A blob that loads
 * normalizes the text (when it is UTF-8) and a fixed set of texts; every
 * normalized char must stay aligned inside its text, and every lookup of
 * every one-byte key must stay inside the blob (ASan checks the walk). */
#include "fuzz_common.h"
#include "core/utf8.h"
#include "text/precompiled.h"

static char *base64(const char *s, size_t n) {
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((n + 2) / 3 * 4 + 1);
    if (!out) fz_die("out of memory");
    size_t m = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)(unsigned char)s[i] << 16;
        if (i + 1 < n) w |= (uint32_t)(unsigned char)s[i + 1] << 8;
        if (i + 2 < n) w |= (unsigned char)s[i + 2];
        out[m++] = A[w >> 18 & 63];
        out[m++] = A[w >> 12 & 63];
        out[m++] = i + 1 < n ? A[w >> 6 & 63] : '=';
        out[m++] = i + 2 < n ? A[w & 63] : '=';
    }
    out[m] = 0;
    return out;
}

static void normalize(const PcMap *m, const char *text, size_t n) {
    NormText t = {0};
    PifiErr err = {0};
    const int32_t base = 7;
    if (normtext_from_utf8(&t, text, n, base, &err) || pc_normalize(m, &t, base, &err)) {
        fz_check_err(&err, "pc_normalize");
    } else {
        for (int i = 0; i < t.n; i++) {
            if (t.cp[i] < 0 || t.cp[i] > 0x10FFFF || (t.cp[i] >= 0xD800 && t.cp[i] < 0xE000))
                fz_die("normalized to a value that is not a Unicode scalar");
            if (t.start[i] < base || t.start[i] > t.end[i] || t.end[i] > base + (int32_t)n) {
                fprintf(stderr, "fuzz: char %d aligned to (%d, %d) outside [%d, %zu]\n", i, t.start[i],
                        t.end[i], base, base + n);
                abort();
            }
        }
    }
    normtext_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    FzSplit s = fz_split(data, size);
    char *b64 = base64(s.a, s.na);
    PcMap *m = NULL;
    PifiErr err = {0};
    if (pc_from_base64(&m, b64, "charsmap", &err)) {
        fz_check_err(&err, "pc_from_base64");
    } else {
        static const char *const texts[] = {
            "", "a", "Hello World", "\xef\xbc\xa1\xef\xbc\xa2 \xef\xac\x81", /* fullwidth, ligature */
            "e\xcc\x81\xcc\x81 \xe2\x80\x8b\xe2\x80\x8b x", "\xe3\x80\x80\xe3\x80\x80", "\r\n\r\n",
            "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9", "\xc3\xa9\xcc\xa3", "AB AAB",
        };
        for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) normalize(m, texts[k], strlen(texts[k]));
        size_t bad;
        if (utf8_valid(s.b, s.nb, &bad)) normalize(m, s.b, s.nb);
        for (int c = 1; c < 256; c++) {
            uint8_t key = (uint8_t)c;
            size_t len;
            const char *rep = pc_lookup(m, &key, 1, &len);
            if (rep && !utf8_valid(rep, len, &bad)) fz_die("a replacement that is not UTF-8");
        }
        pc_free(m);
    }
    free(b64);
    fz_split_free(&s);
    return 0;
}
