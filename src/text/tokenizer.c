/* tokenizer.c: the per-sequence pipeline of HF `tokenizers` (added tokens
 * split out, normalizer, pre-tokenizer, model, offsets mapped back to the
 * input) and the public query functions. Loading is in tokenizer_load.c,
 * post-processing (truncation, special tokens, padding) in encoding.c. */
#include <stdlib.h>
#include <string.h>

#include "text/bert_pretok.h"
#include "text/bytelevel.h"
#include "text/tokenizer_impl.h"
#include "core/utf8.h"

#define TK_MAX_TEXT_BYTES (256u << 20)

PifiEncodeOpts pifi_encode_opts_default(void) {
    PifiEncodeOpts o = {.add_special_tokens = 1};
    return o;
}

/* ---- added tokens ------------------------------------------------------ */

typedef struct {
    int32_t start, end; /* byte range in the searched string */
    int32_t id;         /* added token id, or -1 for text between matches */
} Split;

typedef struct {
    Split *v;
    int n, cap;
} Splits;

static int splits_push(Splits *s, int32_t start, int32_t end, int32_t id, PifiErr *err) {
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        Split *v = realloc(s->v, (size_t)cap * sizeof *v);
        if (!v) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory splitting added tokens");
        s->v = v, s->cap = cap;
    }
    s->v[s->n++] = (Split){start, end, id};
    return 0;
}

/* Code point ending just before byte i / starting at byte i (-1 at the edges). */
static int32_t cp_before(const char *s, size_t i) {
    if (i == 0) return -1;
    size_t k = i - 1;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
    return utf8_next(s, i, &k);
}

static int32_t cp_at(const char *s, size_t n, size_t i) { return i < n ? utf8_next(s, n, &i) : -1; }

/* HF AddedVocabulary::find_matches: leftmost-longest non-overlapping matches
 * of the added tokens whose normalized flag equals `normalized` (their
 * content, or their normalized form), with single_word / lstrip / rstrip,
 * covering s[0..n) with splits. */
static int find_added(const PifiTokenizer *tk, int normalized, const char *s, size_t n,
                      Splits *out, PifiErr *err) {
    out->n = 0;
    size_t done = 0, pos = 0;
    while (pos < n) {
        /* leftmost position with a match, longest match there */
        int best = -1;
        size_t blen = 0;
        for (; pos < n; pos++) {
            for (int k = 0; k < tk->n_added; k++) {
                const AddedTok *a = &tk->added[k];
                if (a->normalized != normalized) continue;
                const char *c = normalized ? a->norm : a->content;
                if (c[0] != s[pos]) continue;
                size_t cl = strlen(c);
                if (cl && cl > blen && cl <= n - pos && memcmp(s + pos, c, cl) == 0) best = k, blen = cl;
            }
            if (best >= 0) break;
        }
        if (best < 0) break;
        const AddedTok *a = &tk->added[best];
        size_t start = pos, stop = pos + blen;
        pos = stop; /* the next search resumes after this match, used or not */
        if (a->single_word) {
            int32_t b = cp_before(s, start), f = cp_at(s, n, stop);
            if ((b >= 0 && uc_is_word(b)) || (f >= 0 && uc_is_word(f))) continue;
        }
        if (a->lstrip) {
            size_t ns = start;
            while (ns > 0) {
                int32_t b = cp_before(s, ns);
                if (!uc_is_whitespace(b)) break;
                ns -= (size_t)utf8_len(b);
            }
            start = ns > done ? ns : done;
        }
        if (a->rstrip) {
            while (stop < n) {
                int32_t f = cp_at(s, n, stop);
                if (!uc_is_whitespace(f)) break;
                stop += (size_t)utf8_len(f);
            }
        }
        if (done < start && splits_push(out, (int32_t)done, (int32_t)start, -1, err)) return -1;
        if (splits_push(out, (int32_t)start, (int32_t)stop, a->id, err)) return -1;
        done = stop;
        if (pos < stop) pos = stop;
    }
    if (done < n && splits_push(out, (int32_t)done, (int32_t)n, -1, err)) return -1;
    return 0;
}

static int has_added(const PifiTokenizer *tk, int normalized) {
    for (int k = 0; k < tk->n_added; k++)
        if (tk->added[k].normalized == normalized) return 1;
    return 0;
}

/* ByteLevel offset trimming (process_offsets) for an added token whose text
 * is s[start..end): drop leading / trailing whitespace from its offsets. */
static void trim_added(const PifiTokenizer *tk, const char *s, int first, int32_t *start,
                       int32_t *end) {
    int32_t a = *start, b = *end;
    int lead = 0;
    while (a < b) {
        int32_t c = cp_at(s, (size_t)b, (size_t)a);
        if (!uc_is_whitespace(c) && c != 0x120) break;
        a += utf8_len(c), lead++;
    }
    if (lead == 1 && tk->post.add_prefix_space && (first || *start == 0)) a = *start;
    int32_t e = b;
    while (e > a) {
        int32_t c = cp_before(s, (size_t)e);
        if (!uc_is_whitespace(c) && c != 0x120) break;
        e -= utf8_len(c);
    }
    *start = a, *end = e;
}

/* ---- the pipeline -------------------------------------------------------- */

typedef struct {
    NormText norm;
    Splits raw, nsplit;
    WordSpans words;
    NormText piece;   /* Unigram: one pre-tokenized part */
    TokBuf pieces;
    char *buf;        /* (buf_cap) UTF-8 of a normalized text */
    int32_t *char_of; /* (buf_cap) byte of buf -> char index */
    size_t buf_cap;
} Scratch;

static void scratch_free(Scratch *w) {
    normtext_free(&w->norm);
    free(w->raw.v);
    free(w->nsplit.v);
    wordspans_free(&w->words);
    normtext_free(&w->piece);
    tokbuf_free(&w->pieces);
    free(w->buf);
    free(w->char_of);
}

/* UTF-8 of chars [from, to) of t into w->buf, with w->char_of. Returns bytes. */
static int utf8_of(Scratch *w, const NormText *t, int from, int to, size_t *len, PifiErr *err) {
    size_t need = (size_t)(to - from) * 4 + 1;
    if (need > w->buf_cap) {
        char *b = realloc(w->buf, need);
        if (b) w->buf = b;
        int32_t *c = realloc(w->char_of, need * sizeof *c);
        if (c) w->char_of = c;
        if (!b || !c) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory in tokenizer");
        w->buf_cap = need;
    }
    size_t n = 0;
    for (int i = from; i < to; i++) {
        int l = utf8_put(t->cp[i], w->buf + n);
        for (int k = 0; k < l; k++) w->char_of[n + k] = i;
        n += (size_t)l;
    }
    *len = n;
    return 0;
}

/* WordPiece over chars [from, to) of the normalized text. */
static int encode_wordpiece(const PifiTokenizer *tk, Scratch *w, int from, int to, TokBuf *out,
                            PifiErr *err) {
    const NormText *t = &w->norm;
    w->words.n = 0;
    if (tk->bert_pretok ? bert_pretokenize(t, from, to, &w->words, err)
                        : wordspans_push(&w->words, from, to, err))
        return -1;
    for (int k = 0; k < w->words.n; k++) {
        int a = w->words.start[k], b = w->words.end[k];
        size_t len;
        if (utf8_of(w, t, a, b, &len, err)) return -1;
        w->pieces.n = 0;
        if (wp_encode_word(tk->wp, w->buf, len, b - a, &w->pieces, err)) return -1;
        for (int p = 0; p < w->pieces.n; p++) {
            int c0 = w->char_of[w->pieces.start[p]], c1 = w->char_of[w->pieces.end[p] - 1];
            if (tokbuf_push(out, w->pieces.ids[p], t->start[c0], t->end[c1], err)) return -1;
        }
    }
    return 0;
}

/* BPE of text bytes [s, e), appended to out with offsets into text. */
static int encode_bpe_bytes(const PifiTokenizer *tk, Scratch *w, const char *text, int32_t s, int32_t e,
                            TokBuf *out, PifiErr *err) {
    w->pieces.n = 0;
    if (bpe_encode_text(tk->bpe, &tk->bpe_opts, text + s, (size_t)(e - s), &w->pieces, err))
        return -1;
    for (int p = 0; p < w->pieces.n; p++)
        if (tokbuf_push(out, w->pieces.ids[p], s + w->pieces.start[p], s + w->pieces.end[p], err))
            return -1;
    return 0;
}

/* BPE of chars [from, to) of a normalized text that differs from the input
 * (Qwen2's NFC): encoded from its UTF-8, each token's offsets those of its
 * first and last chars in the input. */
static int encode_bpe_normalized(const PifiTokenizer *tk, Scratch *w, int from, int to, TokBuf *out,
                                 PifiErr *err) {
    const NormText *t = &w->norm;
    size_t len;
    if (utf8_of(w, t, from, to, &len, err)) return -1;
    w->pieces.n = 0;
    if (bpe_encode_text(tk->bpe, &tk->bpe_opts, w->buf, len, &w->pieces, err)) return -1;
    for (int p = 0; p < w->pieces.n; p++) {
        int32_t a = w->pieces.start[p], b = w->pieces.end[p], os, oe;
        if (b > a) {
            os = t->start[w->char_of[a]], oe = t->end[w->char_of[b - 1]];
        } else { /* trimmed to nothing: an empty range where it stands */
            os = oe = (size_t)a < len ? t->start[w->char_of[a]] : t->end[to - 1];
        }
        if (tokbuf_push(out, w->pieces.ids[p], os, oe, err)) return -1;
    }
    return 0;
}

/* BPE over chars [from, to) of the (identity) normalized text; with
 * bpe_split_digits every digit (\p{N}) is a piece of its own first (HF's
 * Digits(individual_digits=true) before ByteLevel). */
static int encode_bpe(const PifiTokenizer *tk, Scratch *w, const char *text, int from, int to,
                      TokBuf *out, PifiErr *err) {
    if (tk->nz.n) return encode_bpe_normalized(tk, w, from, to, out, err);
    int32_t s = w->norm.start[from], e = w->norm.end[to - 1];
    if (!tk->bpe_split_digits) return encode_bpe_bytes(tk, w, text, s, e, out, err);
    int32_t run = s;
    for (int i = from; i < to; i++) {
        if (bytelevel_class(w->norm.cp[i]) != BL_NUMBER) continue;
        int32_t a = w->norm.start[i], b = w->norm.end[i];
        if ((run < a && encode_bpe_bytes(tk, w, text, run, a, out, err)) ||
            encode_bpe_bytes(tk, w, text, a, b, out, err))
            return -1;
        run = b;
    }
    return run < e ? encode_bpe_bytes(tk, w, text, run, e, out, err) : 0;
}

/* SentencePiece BPE over chars [from, to) of the (identity) normalized text,
 * the input's first segment when it starts at byte 0. */
static int encode_spm(const PifiTokenizer *tk, Scratch *w, const char *text, int from, int to, TokBuf *out,
                      PifiErr *err) {
    int32_t s = w->norm.start[from], e = w->norm.end[to - 1];
    w->pieces.n = 0;
    if (spm_encode(tk->spm, text + s, (size_t)(e - s), s == 0, &w->pieces, err)) return -1;
    for (int p = 0; p < w->pieces.n; p++)
        if (tokbuf_push(out, w->pieces.ids[p], s + w->pieces.start[p], s + w->pieces.end[p], err)) return -1;
    return 0;
}

/* Unigram over chars [from, to) of the normalized text (a word of a
 * WhitespaceSplit, or the whole part): Metaspace as ms says, then each piece
 * segmented. Metaspace's prepend_scheme "first" asks whether these chars
 * start at byte 0 of the input. */
static int encode_unigram_part(const PifiTokenizer *tk, const Metaspace *ms, Scratch *w, int from,
                               int to, TokBuf *out, PifiErr *err) {
    const NormText *t = &w->norm;
    int at_start = from < to && t->start[from] == 0;
    if (metaspace_split(ms, t, from, to, at_start, &w->piece, &w->words, err)) return -1;
    const NormText *p = &w->piece;
    for (int k = 0; k < w->words.n; k++) {
        size_t len;
        if (utf8_of(w, p, w->words.start[k], w->words.end[k], &len, err)) return -1;
        w->pieces.n = 0;
        if (unigram_encode(tk->ug, w->buf, len, &w->pieces, err)) return -1;
        for (int q = 0; q < w->pieces.n; q++) {
            int c0 = w->char_of[w->pieces.start[q]], c1 = w->char_of[w->pieces.end[q] - 1];
            if (tokbuf_push(out, w->pieces.ids[q], p->start[c0], p->end[c1], err)) return -1;
        }
    }
    return 0;
}

/* Unigram over chars [from, to): a WhitespaceSplit first when there is one. */
static int encode_unigram(const PifiTokenizer *tk, Scratch *w, int from, int to, TokBuf *out,
                          PifiErr *err) {
    if (!tk->ms.ws_split) return encode_unigram_part(tk, &tk->ms, w, from, to, out, err);
    const NormText *t = &w->norm;
    for (int a = from; a < to;) {
        while (a < to && uc_is_whitespace(t->cp[a])) a++;
        int b = a;
        while (b < to && !uc_is_whitespace(t->cp[b])) b++;
        if (a < b && encode_unigram_part(tk, &tk->ms, w, a, b, out, err)) return -1;
        a = b;
    }
    return 0;
}

/* One segment of the input that no raw added token covers: bytes [s, e). */
static int encode_segment(const PifiTokenizer *tk, Scratch *w, const char *text, int32_t s,
                          int32_t e, TokBuf *out, PifiErr *err) {
    NormText *t = &w->norm;
    if (normtext_from_utf8(t, text + s, (size_t)(e - s), s, err)) return -1;
    if (tk->has_norm && bert_normalize(&tk->norm, t, err)) return -1;
    if (nz_apply(&tk->nz, t, s, err)) return -1; /* Unigram's normalizers, BPE's NFC (Qwen2) */
    if (!t->n) return 0;
    /* normalized added tokens are looked for in the normalized text */
    w->nsplit.n = 0;
    if (has_added(tk, 1)) {
        size_t len;
        if (utf8_of(w, t, 0, t->n, &len, err) || find_added(tk, 1, w->buf, len, &w->nsplit, err))
            return -1;
        for (int k = 0; k < w->nsplit.n; k++) { /* bytes -> chars */
            Split *sp = &w->nsplit.v[k];
            sp->start = w->char_of[sp->start];
            sp->end = w->char_of[sp->end - 1] + 1;
        }
    } else if (splits_push(&w->nsplit, 0, t->n, -1, err)) {
        return -1;
    }
    for (int k = 0; k < w->nsplit.n; k++) {
        Split sp = w->nsplit.v[k];
        if (sp.id >= 0) {
            int32_t a = t->start[sp.start], b = t->end[sp.end - 1];
            if (tk->post.trim_offsets) trim_added(tk, text, out->n == 0, &a, &b);
            if (tokbuf_push(out, sp.id, a, b, err)) return -1;
        } else if (tk->kind == TK_WORDPIECE) {
            if (encode_wordpiece(tk, w, sp.start, sp.end, out, err)) return -1;
        } else if (tk->kind == TK_SPM) {
            if (encode_spm(tk, w, text, sp.start, sp.end, out, err)) return -1;
        } else if (tk->kind == TK_UNIGRAM) {
            if (encode_unigram(tk, w, sp.start, sp.end, out, err)) return -1;
        } else if (encode_bpe(tk, w, text, sp.start, sp.end, out, err)) {
            return -1;
        }
    }
    return 0;
}

int tk_encode_sequence(const PifiTokenizer *tk, const char *text, size_t len, TokBuf *out,
                       PifiErr *err) {
    Scratch w = {0};
    int rc = -1;
    out->n = 0;
    if (find_added(tk, 0, text, len, &w.raw, err)) goto done;
    for (int k = 0; k < w.raw.n; k++) {
        Split sp = w.raw.v[k];
        if (sp.id >= 0) {
            int32_t a = sp.start, b = sp.end;
            if (tk->post.trim_offsets) trim_added(tk, text, out->n == 0, &a, &b);
            if (tokbuf_push(out, sp.id, a, b, err)) goto done;
        } else if (encode_segment(tk, &w, text, sp.start, sp.end, out, err)) {
            goto done;
        }
    }
    rc = 0;
done:
    scratch_free(&w);
    return rc;
}

/* ---- public API ------------------------------------------------------------ */

static int check_text(const char *what, const char *s, size_t len, PifiErr *err) {
    if (len > TK_MAX_TEXT_BYTES) return pifi_errf(err, "%s: text of %zu bytes is too long", what, len);
    size_t bad;
    if (!utf8_valid(s, len, &bad)) return pifi_errf(err, "%s: text is not valid UTF-8 at byte %zu", what, bad);
    return 0;
}

int tk_encode_bytes(const PifiTokenizer *tk, const char *text, size_t la, const char *pair,
                    size_t lb, const PifiEncodeOpts *opts, PifiEncoding *enc, PifiErr *err) {
    if (!tk || !text || !enc) return pifi_errf(err, "tokenizer_encode: missing argument");
    PifiEncodeOpts def = pifi_encode_opts_default();
    if (!opts) opts = &def;
    if (check_text("text", text, la, err) || (pair && check_text("pair", pair, lb, err))) return -1;
    TokBuf a = {0}, b = {0};
    int rc = -1;
    if (tk_encode_sequence(tk, text, la, &a, err)) goto done;
    if (pair && tk_encode_sequence(tk, pair, lb, &b, err)) goto done;
    rc = tk_build_encoding(tk, &a, pair ? &b : NULL, opts, enc, err);
done:
    tokbuf_free(&a);
    tokbuf_free(&b);
    return rc;
}

int tokenizer_encode(const PifiTokenizer *tk, const char *text, const char *pair,
                     const PifiEncodeOpts *opts, PifiEncoding *enc, PifiErr *err) {
    if (!text) return pifi_errf(err, "tokenizer_encode: missing argument");
    return tk_encode_bytes(tk, text, strlen(text), pair, pair ? strlen(pair) : 0, opts, enc, err);
}

int tokenizer_vocab_size(const PifiTokenizer *tk) {
    int n = tk->kind == TK_WORDPIECE ? wp_vocab_size(tk->wp)
            : tk->kind == TK_SPM     ? spm_vocab_size(tk->spm)
            : tk->kind == TK_UNIGRAM ? unigram_vocab_size(tk->ug)
                                     : bpe_vocab_size(tk->bpe);
    for (int k = 0; k < tk->n_added; k++)
        if (tk->added[k].id >= n) n = tk->added[k].id + 1;
    return n;
}

int tokenizer_token_to_id(const PifiTokenizer *tk, const char *token) {
    if (!token) return -1;
    for (int k = 0; k < tk->n_added; k++)
        if (strcmp(tk->added[k].content, token) == 0) return tk->added[k].id;
    return tk->kind == TK_WORDPIECE ? wp_token_to_id(tk->wp, token, strlen(token))
           : tk->kind == TK_SPM     ? spm_token_to_id(tk->spm, token)
           : tk->kind == TK_UNIGRAM ? unigram_token_to_id(tk->ug, token)
                                    : bpe_token_to_id(tk->bpe, token);
}

const char *tokenizer_id_to_token(const PifiTokenizer *tk, int id) {
    for (int k = 0; k < tk->n_added; k++)
        if (tk->added[k].id == id) return tk->added[k].content;
    return tk->kind == TK_WORDPIECE ? wp_id_to_token(tk->wp, id)
           : tk->kind == TK_SPM     ? spm_id_to_token(tk->spm, id)
           : tk->kind == TK_UNIGRAM ? unigram_id_to_token(tk->ug, id)
                                    : bpe_id_to_token(tk->bpe, id);
}

int tokenizer_pad_id(const PifiTokenizer *tk) { return tk->pad_id; }

int tokenizer_model_max_length(const PifiTokenizer *tk) { return tk->model_max_length; }
