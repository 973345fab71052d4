/* tokenizer_gguf.c: the tokenizer a GGUF file describes in its
 * tokenizer.ggml.* metadata (llama.cpp's keys), onto pifi's pipelines:
 *
 *   "bert"   WordPiece. The tokens are in llama.cpp's converter's "phantom
 *            space" spelling (a word-initial piece starts with U+2581, a
 *            continuation has no "##", "[...]" is as is) and are spelled back
 *            to WordPiece's. BERT's uncased pipeline as HF's BertTokenizer has
 *            it (clean text, CJK, lowercase, strip accents, BertPreTokenizer;
 *            GGUF records no do_lower_case, and llama.cpp lowercases too);
 *            [CLS] A [SEP] (B [SEP]) with [CLS] the bos id and [SEP] the
 *            separator id (else the eos id).
 *   "gpt2"   byte-level BPE with tokenizer.ggml.merges; the pre-tokenizer
 *            from tokenizer.ggml.pre: "default"/"gpt2" (the GPT-2 regex),
 *            "smollm" (every digit split off first, then the GPT-2 regex),
 *            "llama3"/"llama-v3"/"llama-bpe" and "qwen2"/"deepseek-r1-qwen"
 *            (their Split regexes, split_regex.h; llama3 with llama.cpp's
 *            ignore_merges); any other is refused by name.
 *   "llama"  SentencePiece BPE by tokenizer.ggml.scores with byte fallback
 *            (spm.c).
 *
 * Tokens of type CONTROL (3) and UNKNOWN (2) are special added tokens and
 * those of type USER_DEFINED (4) plain added ones, matched whole in the raw text as HF does
 * with the tokenizer transformers builds from a GGUF. bos/eos are added where
 * tokenizer.ggml.add_bos_token / add_eos_token say (llama: bos by default).
 * The file is read through the GGUF reader (src/io/gguf.c) and closed before
 * returning: the tokenizer keeps copies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/path.h"
#include "pifi/fileio.h"
#include "pifi/gguf.h"
#include "pifi/json.h"
#include "text/bpe_internal.h"
#include "text/split_regex.h"
#include "text/spm.h"
#include "text/tokenizer_impl.h"

#define GGUF_TK_MAX_VOCAB (1 << 24)

enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER_DEFINED = 4, TT_UNUSED = 5, TT_BYTE = 6 };

typedef struct {
    const GgufFile *g;
    const char *path;
    uint64_t n;                /* tokens */
    const char *const *tok;    /* (n) */
    const uint64_t *len;       /* (n) */
    int64_t *type;             /* (n) token types, NORMAL when the file has none */
} Vocab;

/* An optional token id: -1 when absent or out of range. */
static int optional_id(const Vocab *v, const char *key, int32_t *id, PifiErr *err) {
    *id = -1;
    int64_t k = gguf_find_key(v->g, key);
    if (k < 0) return 0;
    uint32_t u;
    GgufValueType t = gguf_kv_type(v->g, k);
    if (t == GGUF_TYPE_INT32 || t == GGUF_TYPE_INT64) { /* some writers use signed -1 for none */
        int64_t s;
        if (gguf_get_i64(v->g, key, &s, err)) return -1;
        if (s >= 0 && (uint64_t)s < v->n) *id = (int32_t)s;
        return 0;
    }
    if (gguf_get_u32(v->g, key, &u, err)) return -1;
    if (u < v->n) *id = (int32_t)u;
    return 0;
}

/* An optional bool, dflt when absent. */
static int optional_bool(const Vocab *v, const char *key, int dflt, int *out, PifiErr *err) {
    *out = dflt;
    return gguf_find_key(v->g, key) < 0 ? 0 : gguf_get_bool(v->g, key, out, err);
}

static int add_added(PifiTokenizer *tk, const char *s, size_t n, int32_t id, int special, PifiErr *err) {
    if (!n || memchr(s, 0, n)) return 0; /* never matched in text */
    AddedTok *v = realloc(tk->added, (size_t)(tk->n_added + 1) * sizeof *v);
    if (!v) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    tk->added = v;
    AddedTok *a = &v[tk->n_added];
    memset(a, 0, sizeof *a);
    a->content = pifi_malloc(n + 1, err);
    if (!a->content) return -1;
    memcpy(a->content, s, n);
    a->content[n] = 0;
    a->id = id, a->special = special;
    tk->n_added++;
    return 0;
}

/* CONTROL and UNKNOWN tokens as special added tokens, USER_DEFINED ones as
 * plain ones (llama.cpp's special tokens; HF's unk_token is one too). */
static int add_typed(PifiTokenizer *tk, const Vocab *v, PifiErr *err) {
    for (uint64_t i = 0; i < v->n; i++) {
        int64_t t = v->type[i];
        if ((t == TT_CONTROL || t == TT_UNKNOWN || t == TT_USER_DEFINED) &&
            add_added(tk, v->tok[i], v->len[i], (int32_t)i, t != TT_USER_DEFINED, err))
            return -1;
    }
    return 0;
}

/* The post-processing template: [pre] A [mid] (B [post]) with the given ids
 * (-1: none), type ids 0 for A and type_b for B. */
static int set_template(PostProc *p, int32_t pre, int32_t mid, int32_t pre_b, int32_t post, int type_b,
                        PifiErr *err) {
    TplPiece single[3], pair[5];
    int ns = 0, np = 0;
    TplPiece a = {.seq = 0}, b = {.seq = 1, .type_id = type_b};
#define SPECIAL(id, t) ((TplPiece){.seq = -1, .type_id = (t), .n_ids = 1, .ids = {(id)}})
    if (pre >= 0) single[ns++] = SPECIAL(pre, 0), pair[np++] = SPECIAL(pre, 0);
    single[ns++] = a, pair[np++] = a;
    if (mid >= 0) single[ns++] = SPECIAL(mid, 0), pair[np++] = SPECIAL(mid, 0);
    if (pre_b >= 0) pair[np++] = SPECIAL(pre_b, type_b);
    pair[np++] = b;
    if (post >= 0) pair[np++] = SPECIAL(post, type_b);
#undef SPECIAL
    p->single = pifi_malloc(sizeof single, err);
    p->pair = p->single ? pifi_malloc(sizeof pair, err) : NULL;
    if (!p->pair) return -1;
    memcpy(p->single, single, (size_t)ns * sizeof *single);
    memcpy(p->pair, pair, (size_t)np * sizeof *pair);
    p->n_single = ns, p->n_pair = np;
    return 0;
}

/* ------------------------------------------------------------------------ */

/* Token i of a "bert" vocabulary in WordPiece's spelling (new; the
 * converter's phantom-space spelling undone, cut at a NUL byte). */
static char *wordpiece_spelling(const Vocab *v, uint64_t i, PifiErr *err) {
    static const char MS[3] = {(char)0xE2, (char)0x96, (char)0x81}; /* U+2581 */
    const char *t = v->tok[i];
    uint64_t n = v->len[i];
    if (memchr(t, 0, n)) n = strlen(t);
    char *w = pifi_malloc(n + 3, err);
    if (!w) return NULL;
    if (n >= 3 && memcmp(t, MS, 3) == 0)
        memcpy(w, t + 3, n - 3), w[n - 3] = 0;
    else if (n >= 2 && t[0] == '[' && t[n - 1] == ']')
        memcpy(w, t, n), w[n] = 0;
    else
        w[0] = '#', w[1] = '#', memcpy(w + 2, t, n), w[n + 2] = 0;
    return w;
}

/* The ids of a bert vocabulary's unknown, cls (bos) and sep (separator,
 * else eos) tokens, by name when the file has none. */
static int bert_ids(const Vocab *v, const WordPiece *wp, int32_t *unk, int32_t *cls, int32_t *sep, PifiErr *err) {
    int32_t eos;
    if (optional_id(v, "tokenizer.ggml.unknown_token_id", unk, err) ||
        optional_id(v, "tokenizer.ggml.bos_token_id", cls, err) ||
        optional_id(v, "tokenizer.ggml.seperator_token_id", sep, err) ||
        optional_id(v, "tokenizer.ggml.eos_token_id", &eos, err))
        return -1;
    if (*unk < 0) *unk = wp_token_to_id(wp, "[UNK]", 5);
    if (*cls < 0) *cls = wp_token_to_id(wp, "[CLS]", 5);
    if (*sep < 0) *sep = eos >= 0 ? eos : wp_token_to_id(wp, "[SEP]", 5);
    if (*unk < 0 || *cls < 0 || *sep < 0)
        return pifi_errf(err, "%s: a bert vocabulary needs its unknown, cls (bos) and sep token ids (%s missing)",
                         v->path, *unk < 0 ? "unknown" : *cls < 0 ? "cls" : "sep");
    return 0;
}

/* The WordPiece model of a bert vocabulary. */
static int bert_wordpiece(const Vocab *v, WordPiece **out, PifiErr *err) {
    char **wp = pifi_calloc(v->n, sizeof *wp, err);
    if (!wp) return -1;
    int rc = -1;
    for (uint64_t i = 0; i < v->n; i++)
        if (!(wp[i] = wordpiece_spelling(v, i, err))) goto done;
    rc = wp_from_tokens(out, (const char *const *)wp, (int)v->n, v->path, err);
done:
    for (uint64_t i = 0; i < v->n; i++) free(wp[i]);
    free(wp);
    return rc;
}

static int load_bert(PifiTokenizer *tk, const Vocab *v, PifiErr *err) {
    tk->kind = TK_WORDPIECE;
    int32_t unk, cls, sep;
    if (bert_wordpiece(v, &tk->wp, err) || bert_ids(v, tk->wp, &unk, &cls, &sep, err)) return -1;
    if (!wp_id_to_token(tk->wp, unk)) /* its spelling was taken by an earlier id */
        return pifi_errf(err, "%s: the unknown token %d repeats an earlier token", v->path, unk);
    if (wp_set_unk(tk->wp, wp_id_to_token(tk->wp, unk), v->path, err)) return -1;
    tk->has_norm = 1;
    tk->norm = (BertNormOpts){.clean_text = 1, .handle_chinese_chars = 1, .strip_accents = 1, .lowercase = 1};
    tk->bert_pretok = 1;
    return add_typed(tk, v, err) || set_template(&tk->post, cls, sep, -1, sep, 1, err) ? -1 : 0;
}

static int load_gpt2(PifiTokenizer *tk, const Vocab *v, PifiErr *err) {
    tk->kind = TK_BPE;
    const char *pre = "default";
    if (gguf_find_key(v->g, "tokenizer.ggml.pre") >= 0 &&
        gguf_get_str(v->g, "tokenizer.ggml.pre", &pre, NULL, err))
        return -1;
    const SplitRegexInfo *split = split_regex_by_gguf_pre(pre);
    if (!strcmp(pre, "smollm"))
        tk->bpe_split_digits = 1;
    else if (!split && strcmp(pre, "default") && strcmp(pre, "gpt2")) {
        char names[256] = "default, gpt2, smollm";
        for (int i = 0; i < SPLIT_REGEX_COUNT; i++)
            for (const char *const *p = SPLIT_REGEXES[i].gguf_pre; *p; p++)
                snprintf(names + strlen(names), sizeof names - strlen(names), ", %s", *p);
        return pifi_errf(err, "%s: tokenizer.ggml.pre \"%.64s\" is not supported (supported: %s)", v->path, pre,
                         names);
    }
    uint64_t nm;
    const char *const *merges;
    const uint64_t *mlen;
    if (gguf_get_arr_str(v->g, "tokenizer.ggml.merges", &nm, &merges, &mlen, err)) return -1;
    if (bpe_new(&tk->bpe, err)) return -1;
    char what[96];
    for (uint64_t i = 0; i < v->n; i++) {
        if (memchr(v->tok[i], 0, v->len[i]))
            return pifi_errf(err, "%s: token %llu holds a NUL byte", v->path, (unsigned long long)i);
        snprintf(what, sizeof what, "tokenizer.ggml.tokens[%llu]", (unsigned long long)i);
        if (bpe_add_token(tk->bpe, v->tok[i], (int64_t)i, what, err)) return -1;
    }
    if (bpe_set_options(tk->bpe, NULL, NULL, NULL, 0, 0, split ? split->ignore_merges : 0, err)) return -1;
    for (uint64_t i = 0; i < nm; i++) {
        const char *sp = memchr(merges[i], ' ', mlen[i]);
        snprintf(what, sizeof what, "%s: tokenizer.ggml.merges[%llu]", v->path, (unsigned long long)i);
        if (!sp || sp == merges[i] || (size_t)(sp - merges[i]) + 1 >= mlen[i] ||
            memchr(sp + 1, ' ', mlen[i] - (size_t)(sp - merges[i]) - 1))
            return pifi_errf(err, "%s is not two tokens separated by one space", what);
        size_t a = (size_t)(sp - merges[i]);
        if (bpe_add_merge(tk->bpe, merges[i], a, sp + 1, mlen[i] - a - 1, what, err)) return -1;
    }
    if (bpe_finish(tk->bpe, v->path, err)) return -1;
    /* Llama-3's and Qwen2's tokenizer.json trim no offsets (ByteLevel trim_offsets false) */
    tk->bpe_opts = (BpeOpts){.add_prefix_space = 0, .trim_offsets = !split, .use_regex = !split,
                             .split = split ? split->id : SPLIT_NONE};
    tk->post.trim_offsets = !split;
    int add_bos, add_eos;
    int32_t bos, eos;
    if (optional_bool(v, "tokenizer.ggml.add_bos_token", 0, &add_bos, err) ||
        optional_bool(v, "tokenizer.ggml.add_eos_token", 0, &add_eos, err) ||
        optional_id(v, "tokenizer.ggml.bos_token_id", &bos, err) ||
        optional_id(v, "tokenizer.ggml.eos_token_id", &eos, err))
        return -1;
    bos = add_bos ? bos : -1, eos = add_eos ? eos : -1;
    return add_typed(tk, v, err) || set_template(&tk->post, bos, eos, bos, eos, 1, err) ? -1 : 0;
}

static int load_llama(PifiTokenizer *tk, const Vocab *v, PifiErr *err) {
    tk->kind = TK_SPM;
    float *scores = pifi_malloc(v->n * sizeof *scores, err);
    if (!scores) return -1;
    int32_t unk, bos, eos;
    int add_bos, add_eos, rc = -1;
    if (gguf_get_arr_f32(v->g, "tokenizer.ggml.scores", scores, v->n, err) ||
        optional_id(v, "tokenizer.ggml.unknown_token_id", &unk, err) ||
        optional_id(v, "tokenizer.ggml.bos_token_id", &bos, err) ||
        optional_id(v, "tokenizer.ggml.eos_token_id", &eos, err) ||
        optional_bool(v, "tokenizer.ggml.add_bos_token", 1, &add_bos, err) ||
        optional_bool(v, "tokenizer.ggml.add_eos_token", 0, &add_eos, err))
        goto done;
    if (spm_new(&tk->spm, v->tok, v->len, scores, (int)v->n, unk, v->path, err)) goto done;
    bos = add_bos ? bos : -1, eos = add_eos ? eos : -1;
    if (add_typed(tk, v, err) || set_template(&tk->post, bos, eos, bos, eos, 1, err)) goto done;
    rc = 0;
done:
    free(scores);
    return rc;
}

static const struct {
    const char *model;
    int (*load)(PifiTokenizer *tk, const Vocab *v, PifiErr *err);
} MODELS[] = {{"bert", load_bert}, {"gpt2", load_gpt2}, {"llama", load_llama}};

/* Open path and read its vocabulary: model name, tokens, token types. On
 * failure g is closed; on success the caller frees v->type and closes *g. */
static int vocab_open(Vocab *v, GgufFile **g, const char **model, const char *path, PifiErr *err) {
    memset(v, 0, sizeof *v);
    if (gguf_open(g, path, err)) return -1;
    v->g = *g, v->path = path;
    if (gguf_get_str(*g, "tokenizer.ggml.model", model, NULL, err) ||
        gguf_get_arr_str(*g, "tokenizer.ggml.tokens", &v->n, &v->tok, &v->len, err))
        goto fail;
    if (v->n < 1 || v->n > GGUF_TK_MAX_VOCAB) {
        pifi_errf(err, "%s: tokenizer.ggml.tokens has %llu tokens (expected 1..%d)", path, (unsigned long long)v->n,
                  GGUF_TK_MAX_VOCAB);
        goto fail;
    }
    v->type = pifi_malloc(v->n * sizeof *v->type, err);
    if (!v->type) goto fail;
    for (uint64_t i = 0; i < v->n; i++) v->type[i] = TT_NORMAL;
    if (gguf_find_key(*g, "tokenizer.ggml.token_type") >= 0 &&
        gguf_get_arr_i64(*g, "tokenizer.ggml.token_type", v->type, v->n, err))
        goto fail;
    return 0;
fail:
    free(v->type);
    gguf_close(*g);
    return -1;
}

int tk_load_gguf(PifiTokenizer *tk, const char *path, PifiErr *err) {
    GgufFile *g;
    Vocab v;
    const char *model, *arch = NULL;
    if (vocab_open(&v, &g, &model, path, err)) return -1;
    int rc = -1;
    size_t k = 0;
    while (k < sizeof MODELS / sizeof MODELS[0] && strcmp(MODELS[k].model, model)) k++;
    if (k == sizeof MODELS / sizeof MODELS[0]) {
        pifi_errf(err, "%s: tokenizer.ggml.model \"%.64s\" is not supported (supported: bert, gpt2, llama)", path,
                  model);
        goto done;
    }
    if (MODELS[k].load(tk, &v, err)) goto done;
    int32_t pad;
    if (optional_id(&v, "tokenizer.ggml.padding_token_id", &pad, err)) goto done;
    tk->pad_id = pad >= 0 ? pad : 0;
    tk->model_max_length = 512;
    char key[96];
    uint32_t ctx;
    if (gguf_find_key(g, "general.architecture") >= 0 && gguf_get_str(g, "general.architecture", &arch, NULL, err))
        goto done;
    snprintf(key, sizeof key, "%.64s.context_length", arch ? arch : "");
    if (arch && gguf_find_key(g, key) >= 0) {
        if (gguf_get_u32(g, key, &ctx, err)) goto done;
        if (ctx >= 1 && ctx <= (1u << 24)) tk->model_max_length = (int)ctx;
    }
    rc = 0;
done:
    free(v.type);
    gguf_close(g);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* a bert vocabulary as BertTokenizer's files */

static int write_vocab_files(const Vocab *v, const char *dir, PifiErr *err) {
    WordPiece *wp = NULL;
    char *buf = NULL, *path = NULL, *json = NULL;
    cJSON *cfg = NULL;
    int rc = -1;
    int32_t unk, cls, sep, pad, mask;
    if (bert_wordpiece(v, &wp, err) || bert_ids(v, wp, &unk, &cls, &sep, err) ||
        optional_id(v, "tokenizer.ggml.padding_token_id", &pad, err) ||
        optional_id(v, "tokenizer.ggml.mask_token_id", &mask, err))
        goto done;
    size_t n = 0, cap = 0;
    for (uint64_t i = 0; i < v->n; i++) {
        char *w = wordpiece_spelling(v, i, err);
        if (!w) goto done;
        size_t len = strlen(w);
        if (!len || strpbrk(w, "\n\r") || w[len - 1] == ' ' || w[len - 1] == '\t') {
            pifi_errf(err, "%s: token %llu cannot be a line of vocab.txt (empty, a line break or trailing space)",
                      v->path, (unsigned long long)i);
            free(w);
            goto done;
        }
        if (n + len + 1 > cap) {
            cap = 2 * (n + len + 1) + 4096;
            char *b = realloc(buf, cap);
            if (!b) {
                free(w);
                pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
                goto done;
            }
            buf = b;
        }
        memcpy(buf + n, w, len);
        buf[n + len] = '\n';
        n += len + 1;
        free(w);
    }
    path = pifi_path_join(dir, "vocab.txt");
    if (!path || pifi_write_file_atomic(path, buf, n, err)) goto done;
    cfg = cJSON_CreateObject();
    const struct {
        const char *key;
        int32_t id;
    } SPECIAL[] = {{"unk_token", unk}, {"cls_token", cls}, {"sep_token", sep}, {"pad_token", pad}, {"mask_token", mask}};
    if (!cfg || !cJSON_AddTrueToObject(cfg, "do_lower_case") || !cJSON_AddTrueToObject(cfg, "tokenize_chinese_chars") ||
        !cJSON_AddNullToObject(cfg, "strip_accents"))
        goto oom;
    for (size_t k = 0; k < sizeof SPECIAL / sizeof SPECIAL[0]; k++)
        if (SPECIAL[k].id >= 0 && !cJSON_AddStringToObject(cfg, SPECIAL[k].key, wp_id_to_token(wp, SPECIAL[k].id)))
            goto oom;
    if (!cJSON_AddStringToObject(cfg, "tokenizer_class", "BertTokenizer") ||
        !cJSON_AddStringToObject(cfg, "pifi_source", "a GGUF's tokenizer.ggml.* (bert)"))
        goto oom;
    json = cJSON_Print(cfg);
    free(path);
    path = pifi_path_join(dir, "tokenizer_config.json");
    if (!json || !path) goto oom;
    rc = pifi_write_file_atomic(path, json, strlen(json), err);
    goto done;
oom:
    pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
done:
    wp_free(wp);
    free(buf);
    free(path);
    free(json);
    cJSON_Delete(cfg);
    return rc;
}

int tokenizer_gguf_write_vocab(const char *path, const char *dir, PifiErr *err) {
    GgufFile *g;
    Vocab v;
    const char *model;
    if (vocab_open(&v, &g, &model, path, err)) return -1;
    int rc;
    if (!strcmp(model, "bert")) {
        rc = write_vocab_files(&v, dir, err);
    } else { /* gpt2, llama: the GGUF's tokenizer.* metadata alone, as tokenizer.gguf */
        char *p = pifi_path_join(dir, "tokenizer.gguf");
        rc = p ? gguf_write_metadata(g, "tokenizer.", p, err) : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        free(p);
    }
    free(v.type);
    gguf_close(g);
    return rc;
}
