/* decode.c: ids back to text as HF `tokenizers`' Tokenizer.decode does
 * (tokenizer_decode in pifi/tokenizer.h): each id's token (an added token's
 * content first, special ones left out when asked), then the model's
 * decoder over the list:
 *   - Unigram (T5, ALBERT, DeBERTa-V3): Metaspace, '▁' back to spaces and
 *     the first token's dropped unless the prepend scheme is never;
 *   - byte-level BPE (GPT-2, RoBERTa, BART, Llama-3, Qwen2): ByteLevel, each
 *     character back to the byte GPT-2's bytes_to_unicode shows it as (a
 *     token holding any other character keeps its own UTF-8), the bytes read
 *     as UTF-8 with each invalid sequence one U+FFFD (Rust's
 *     String::from_utf8_lossy);
 *   - WordPiece (BERT): tokens after the first joined by a space unless
 *     they start with "##" (dropped), and the cleanup of each token
 *     (" ." -> ".", " n't" -> "n't", ...).
 * A GGUF "llama" vocabulary (SentencePiece) is not decoded yet. */
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "text/bytelevel.h"
#include "text/tokenizer_impl.h"

typedef struct {
    char *s;
    size_t n, cap;
} Buf;

static int put(Buf *b, const char *s, size_t n, PifiErr *err) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (b->n + n + 1 > cap) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        b->s = p, b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
    return 0;
}

static int is_special(const PifiTokenizer *tk, int id) {
    for (int k = 0; k < tk->n_added; k++)
        if (tk->added[k].id == id) return tk->added[k].special;
    return 0;
}

/* inv[cp]: the byte GPT-2's bytes_to_unicode shows as cp (< 0x144), or -1. */
static void byte_table(int16_t inv[0x144]) {
    for (int c = 0; c < 0x144; c++) inv[c] = -1;
    for (int b = 0; b < 256; b++) inv[bytelevel_char((uint8_t)b)] = (int16_t)b;
}

/* One token's bytes under the ByteLevel decoder. */
static int bytelevel_token(Buf *raw, const int16_t *inv, const char *tok, PifiErr *err) {
    size_t len = strlen(tok), i = 0;
    char tmp[256];
    size_t n = 0;
    while (i < len) {
        size_t at = i;
        int32_t cp = utf8_next(tok, len, &i);
        int b = i > at && cp >= 0 && cp < 0x144 ? inv[cp] : -1;
        if (b < 0) return put(raw, tok, len, err); /* not a byte-level token: its own text */
        if (n == sizeof tmp) {
            if (put(raw, tmp, n, err)) return -1;
            n = 0;
        }
        tmp[n++] = (char)b;
    }
    return put(raw, tmp, n, err);
}

/* The length of the valid UTF-8 sequence at s[i] (n bytes in all), or 0;
 * *bad: how many bytes the invalid one takes (its maximal prefix, >= 1). */
static size_t utf8_seq(const unsigned char *s, size_t n, size_t i, size_t *bad) {
    unsigned c = s[i];
    size_t need;
    unsigned lo = 0x80, hi = 0xBF; /* the second byte's range (Unicode Table 3-7) */
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) need = 2;
    else if (c >= 0xE0 && c <= 0xEF) need = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4) need = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else {
        *bad = 1;
        return 0;
    }
    size_t k = 1;
    for (; k < need && i + k < n; k++) {
        unsigned x = s[i + k];
        if (k == 1 ? (x < lo || x > hi) : (x < 0x80 || x > 0xBF)) break;
    }
    if (k == need) return need;
    *bad = k;
    return 0;
}

static int lossy_utf8(Buf *out, const Buf *raw, PifiErr *err) {
    const unsigned char *s = (const unsigned char *)raw->s;
    for (size_t i = 0; i < raw->n;) {
        size_t bad = 0, k = utf8_seq(s, raw->n, i, &bad);
        if (k) {
            if (put(out, raw->s + i, k, err)) return -1;
            i += k;
        } else {
            if (put(out, "\xEF\xBF\xBD", 3, err)) return -1;
            i += bad;
        }
    }
    return 0;
}

/* tokenizers' WordPiece cleanup of one token (its leading space included). */
static int wordpiece_cleanup(Buf *out, const char *tok, PifiErr *err) {
    static const char *const R[][2] = {{" .", "."},   {" ?", "?"},   {" !", "!"},   {" ,", ","},
                                       {" ' ", "'"},  {" n't", "n't"}, {" 'm", "'m"}, {" do not", " don't"},
                                       {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    Buf cur = {0}, next = {0};
    int rc = put(&cur, tok, strlen(tok), err);
    for (size_t r = 0; rc == 0 && r < sizeof R / sizeof R[0]; r++) { /* each rule over the whole token, in order */
        size_t fl = strlen(R[r][0]), tl = strlen(R[r][1]);
        next.n = 0;
        rc = put(&next, "", 0, err);
        for (size_t i = 0; rc == 0 && i < cur.n;) {
            if (i + fl <= cur.n && memcmp(cur.s + i, R[r][0], fl) == 0) rc = put(&next, R[r][1], tl, err), i += fl;
            else rc = put(&next, cur.s + i, 1, err), i++;
        }
        Buf t = cur;
        cur = next, next = t;
    }
    if (rc == 0) rc = put(out, cur.s, cur.n, err);
    free(cur.s), free(next.s);
    return rc;
}

int tokenizer_decode(const PifiTokenizer *tk, const int32_t *ids, int n, int skip_special, char **out,
                     PifiErr *err) {
    *out = NULL;
    if (tk->kind == TK_SPM)
        return pifi_errf(err, "%s: decoding a SentencePiece (GGUF llama) vocabulary is not supported", tk->path);
    Buf b = {0}, raw = {0};
    int16_t inv[0x144];
    byte_table(inv);
    int rc = put(&b, "", 0, err), kept = 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        const char *tok = tokenizer_id_to_token(tk, ids[i]);
        if (!tok || (skip_special && is_special(tk, ids[i]))) continue; /* tokenizers skips unknown ids too */
        size_t len = strlen(tok);
        if (tk->kind == TK_UNIGRAM) {
            char *piece = malloc(len + 1);
            if (!piece) rc = pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
            else rc = put(&b, piece, metaspace_decode_token(&tk->ms, tok, len, kept, piece), err);
            free(piece);
        } else if (tk->kind == TK_BPE) {
            rc = bytelevel_token(&raw, inv, tok, err);
        } else { /* WordPiece */
            const char *t = tok;
            char *spaced = NULL;
            if (kept > 0 && strncmp(tok, "##", 2) == 0) t = tok + 2;
            else if (kept > 0 && (spaced = malloc(len + 2))) spaced[0] = ' ', memcpy(spaced + 1, tok, len + 1), t = spaced;
            else if (kept > 0) rc = pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
            if (rc == 0) rc = wordpiece_cleanup(&b, t, err);
            free(spaced);
        }
        kept++;
    }
    if (rc == 0 && tk->kind == TK_BPE) rc = lossy_utf8(&b, &raw, err);
    free(raw.s);
    if (rc) {
        free(b.s);
        return -1;
    }
    *out = b.s;
    return 0;
}
