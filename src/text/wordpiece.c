/* wordpiece.c: WordPiece vocabulary (open-addressing hash of token -> id)
 * and the greedy longest-match-first word split of HF `tokenizers`. */
#include "text/wordpiece.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/fileio.h"
#include "pifi/json.h"
#include "text/bert_normalizer.h"
#include "core/utf8.h"

#define WP_MAX_TOKEN_BYTES 4096
#define WP_MAX_VOCAB (1 << 24)

struct WordPiece {
    char **tok;       /* (n_ids) id -> token (NULL: no such id) */
    int n_ids;
    int32_t *slot;    /* (cap) hash slots: id, or -1 when empty */
    uint32_t cap;     /* power of two */
    int unk_id;
    char prefix[64];  /* continuing_subword_prefix */
    int prefix_len;
    int max_chars;    /* max_input_chars_per_word */
};

static uint32_t hash_bytes(const char *s, size_t n) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* Slot where tok lives, or the empty slot where it would go. */
static uint32_t find_slot(const WordPiece *wp, const char *s, size_t n) {
    uint32_t m = wp->cap - 1, i = hash_bytes(s, n) & m;
    while (wp->slot[i] >= 0) {
        const char *t = wp->tok[wp->slot[i]];
        if (strlen(t) == n && memcmp(t, s, n) == 0) return i;
        i = (i + 1) & m;
    }
    return i;
}

/* An empty model able to hold ids < n_ids. */
static int wp_new(WordPiece **out, int n_ids, PifiErr *err) {
    WordPiece *wp = pifi_calloc(1, sizeof *wp, err);
    if (!wp) return -1;
    wp->n_ids = n_ids;
    wp->cap = 64;
    while (wp->cap < 2u * (uint32_t)n_ids + 2) wp->cap *= 2;
    wp->tok = pifi_calloc((size_t)n_ids, sizeof *wp->tok, err);
    wp->slot = pifi_malloc(wp->cap * sizeof *wp->slot, err);
    if (!wp->tok || !wp->slot) {
        wp_free(wp);
        return -1;
    }
    memset(wp->slot, 0xFF, wp->cap * sizeof *wp->slot);
    wp->unk_id = -1;
    strcpy(wp->prefix, "##");
    wp->prefix_len = 2;
    wp->max_chars = 100;
    *out = wp;
    return 0;
}

/* Add tok (n bytes) as id. Returns the id it already had when it is a
 * duplicate (and changes nothing), else -1 after adding; -2 on error. */
static int wp_add(WordPiece *wp, const char *s, size_t n, int id, PifiErr *err) {
    uint32_t i = find_slot(wp, s, n);
    if (wp->slot[i] >= 0) return wp->slot[i];
    char *t = pifi_malloc(n + 1, err);
    if (!t) return -2;
    memcpy(t, s, n);
    t[n] = 0;
    free(wp->tok[id]);
    wp->tok[id] = t;
    wp->slot[i] = id;
    return -1;
}

void wp_free(WordPiece *wp) {
    if (!wp) return;
    if (wp->tok)
        for (int i = 0; i < wp->n_ids; i++) free(wp->tok[i]);
    free(wp->tok);
    free(wp->slot);
    free(wp);
}

int wp_from_json(WordPiece **out, const cJSON *model, const char *file, PifiErr *err) {
    *out = NULL;
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    if (!cJSON_IsObject(vocab)) return pifi_errf(err, "%s: model.vocab must be an object", file);
    int count = cJSON_GetArraySize(vocab), max_id = -1;
    if (count > WP_MAX_VOCAB) return pifi_errf(err, "%s: model.vocab has too many tokens", file);
    for (const cJSON *it = vocab->child; it; it = it->next) {
        double v = it->valuedouble;
        if (!cJSON_IsNumber(it) || !(v >= 0 && v < WP_MAX_VOCAB) || v != (double)(int)v) /* range first: (int) of a huge v is UB */
            return pifi_errf(err, "%s: model.vocab: token \"%.64s\" has a bad id", file,
                             it->string ? it->string : "");
        if ((int)v > max_id) max_id = (int)v;
    }
    WordPiece *wp;
    if (wp_new(&wp, max_id + 1, err)) return -1;
    for (const cJSON *it = vocab->child; it; it = it->next) {
        size_t n = strlen(it->string);
        if (n > WP_MAX_TOKEN_BYTES) {
            wp_free(wp);
            return pifi_errf(err, "%s: model.vocab: token of %zu bytes is too long", file, n);
        }
        if (wp_add(wp, it->string, n, it->valueint, err) == -2) {
            wp_free(wp);
            return -1;
        }
    }
    const char *prefix = "##", *unk = NULL;
    int64_t max_chars = 100;
    if (pifi_json_string(model, "continuing_subword_prefix", 0, &prefix, file, err) < 0 ||
        pifi_json_int(model, "max_input_chars_per_word", 0, &max_chars, file, err) < 0 ||
        pifi_json_string(model, "unk_token", 0, &unk, file, err) < 0)
        goto fail;
    if (strlen(prefix) >= sizeof wp->prefix) {
        pifi_errf(err, "%s: model.continuing_subword_prefix is too long", file);
        goto fail;
    }
    if (max_chars < 0 || max_chars > 1000000) {
        pifi_errf(err, "%s: model.max_input_chars_per_word is out of range", file);
        goto fail;
    }
    strcpy(wp->prefix, prefix);
    wp->prefix_len = (int)strlen(prefix);
    wp->max_chars = (int)max_chars;
    if (unk && wp_set_unk(wp, unk, file, err)) goto fail;
    *out = wp;
    return 0;
fail:
    wp_free(wp);
    return -1;
}

int wp_from_tokens(WordPiece **out, const char *const *toks, int n, const char *what, PifiErr *err) {
    *out = NULL;
    if (n < 1 || n > WP_MAX_VOCAB) return pifi_errf(err, "%s: a vocabulary of %d tokens", what, n);
    WordPiece *wp;
    if (wp_new(&wp, n, err)) return -1;
    for (int id = 0; id < n; id++) {
        size_t len = strlen(toks[id]);
        if (len > WP_MAX_TOKEN_BYTES) {
            wp_free(wp);
            return pifi_errf(err, "%s: token %d of %zu bytes is too long", what, id, len);
        }
        if (wp_add(wp, toks[id], len, id, err) == -2) { /* a duplicate keeps its first id */
            wp_free(wp);
            return -1;
        }
    }
    *out = wp;
    return 0;
}

int wp_from_vocab_txt(WordPiece **out, const char *path, PifiErr *err) {
    *out = NULL;
    char *buf;
    size_t len;
    if (pifi_read_file(path, 256u << 20, &buf, &len, err)) return -1;
    size_t bad;
    if (!utf8_valid(buf, len, &bad)) {
        free(buf);
        return pifi_errf(err, "%s: not valid UTF-8 at byte %zu", path, bad);
    }
    int lines = 0;
    for (size_t i = 0; i < len; i++) lines += buf[i] == '\n';
    if (len && buf[len - 1] != '\n') lines++;
    if (lines == 0) {
        free(buf);
        return pifi_errf(err, "%s: empty file: a vocabulary needs one token per line", path);
    }
    if (lines > WP_MAX_VOCAB) {
        free(buf);
        return pifi_errf(err, "%s: too many lines for a vocabulary", path);
    }
    WordPiece *wp;
    if (wp_new(&wp, lines, err)) {
        free(buf);
        return -1;
    }
    size_t at = 0;
    for (int id = 0; id < lines; id++) {
        size_t e = at;
        while (e < len && buf[e] != '\n') e++;
        size_t next = e + 1;
        /* Rust's str::trim_end, as HF's WordPiece::read_file does. */
        while (e > at) {
            size_t k = e - 1;
            while (k > at && ((unsigned char)buf[k] & 0xC0) == 0x80) k--;
            size_t j = k;
            if (!uc_is_whitespace(utf8_next(buf, e, &j))) break;
            e = k;
        }
        if (e - at > WP_MAX_TOKEN_BYTES) {
            pifi_errf(err, "%s: line %d: token of %zu bytes is too long", path, id + 1, e - at);
            goto fail;
        }
        int dup = wp_add(wp, buf + at, e - at, id, err);
        if (dup == -2) goto fail;
        if (dup >= 0) {
            pifi_errf(err, "%s: duplicate token \"%.*s\" on lines %d and %d", path,
                      (int)(e - at > 200 ? 200 : e - at), buf + at, dup + 1, id + 1);
            goto fail;
        }
        at = next;
    }
    free(buf);
    *out = wp;
    return 0;
fail:
    free(buf);
    wp_free(wp);
    return -1;
}

int wp_set_unk(WordPiece *wp, const char *unk, const char *what, PifiErr *err) {
    int id = wp_token_to_id(wp, unk, strlen(unk));
    if (id < 0) return pifi_errf(err, "%s: unknown token \"%.64s\" is not in the vocabulary", what, unk);
    wp->unk_id = id;
    return 0;
}

int wp_vocab_size(const WordPiece *wp) { return wp->n_ids; }

int wp_token_to_id(const WordPiece *wp, const char *tok, size_t len) {
    uint32_t i = find_slot(wp, tok, len);
    return wp->slot[i];
}

const char *wp_id_to_token(const WordPiece *wp, int id) {
    return id >= 0 && id < wp->n_ids ? wp->tok[id] : NULL;
}

int wp_encode_word(const WordPiece *wp, const char *word, size_t len, int nchars, TokBuf *out,
                   PifiErr *err) {
    if (wp->unk_id < 0) return pifi_errf(err, "WordPiece: the vocabulary has no unknown token");
    if (nchars > wp->max_chars || len > WP_MAX_TOKEN_BYTES)
        return tokbuf_push(out, wp->unk_id, 0, (int32_t)len, err);
    char buf[WP_MAX_TOKEN_BYTES + 64]; /* prefix + candidate piece */
    int first = out->n;
    size_t start = 0;
    while (start < len) {
        size_t end = len;
        int id = -1;
        while (start < end) {
            size_t pl = start > 0 ? (size_t)wp->prefix_len : 0;
            memcpy(buf, wp->prefix, pl);
            memcpy(buf + pl, word + start, end - start);
            id = wp_token_to_id(wp, buf, pl + end - start);
            if (id >= 0) break;
            do end--; /* back off one char */
            while (end > start && ((unsigned char)word[end] & 0xC0) == 0x80);
        }
        if (id < 0) { /* no piece matches: the whole word is unknown */
            out->n = first;
            return tokbuf_push(out, wp->unk_id, 0, (int32_t)len, err);
        }
        if (tokbuf_push(out, id, (int32_t)start, (int32_t)end, err)) return -1;
        start = end;
    }
    return 0;
}
