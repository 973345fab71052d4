/* tokenizer_load.c: building a PifiTokenizer from a tokenizer.json, or from
 * the legacy files (vocab.txt for WordPiece, vocab.json + merges.txt for
 * byte-level BPE), with tokenizer_config.json / special_tokens_map.json
 * beside them honoured the way transformers' tokenizer classes do:
 * do_lower_case, strip_accents, tokenize_chinese_chars rebuild the
 * BertNormalizer; add_prefix_space and trim_offsets configure RoBERTa. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/fileio.h"
#include "pifi/json.h"
#include "text/split_regex.h"
#include "text/tokenizer_impl.h"
#include "core/path.h"
#include "core/utf8.h"

#define TK_MAX_JSON_BYTES (512u << 20)
#define TK_MAX_ADDED 100000

/* The side files of a tokenizer directory (either may be NULL). */
typedef struct {
    cJSON *config;   /* tokenizer_config.json */
    cJSON *specials; /* special_tokens_map.json */
    char *config_path;
} SideFiles;

static char *dup_str(const char *s, PifiErr *err) {
    size_t n = strlen(s) + 1;
    char *d = pifi_malloc(n, err);
    if (d) memcpy(d, s, n);
    return d;
}

static int load_side(SideFiles *sf, const char *dir, PifiErr *err) {
    memset(sf, 0, sizeof *sf);
    char *cfg = pifi_path_join(dir, "tokenizer_config.json");
    char *spm = pifi_path_join(dir, "special_tokens_map.json");
    int rc = -1;
    if (!cfg || !spm) {
        pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        goto done;
    }
    if (pifi_file_exists(cfg) && pifi_json_load(cfg, 64u << 20, &sf->config, err)) goto done;
    if (pifi_file_exists(spm) && pifi_json_load(spm, 64u << 20, &sf->specials, err)) goto done;
    if (sf->config && !cJSON_IsObject(sf->config)) {
        pifi_errf(err, "%s: must be a JSON object", cfg);
        goto done;
    }
    sf->config_path = cfg, cfg = NULL;
    rc = 0;
done:
    free(cfg);
    free(spm);
    return rc;
}

static void free_side(SideFiles *sf) {
    cJSON_Delete(sf->config);
    cJSON_Delete(sf->specials);
    free(sf->config_path);
}

/* A token given as "text" or {"content": "text", ...}. */
static const char *token_text(const cJSON *v) {
    if (cJSON_IsString(v)) return v->valuestring;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(v, "content");
    return cJSON_IsString(c) ? c->valuestring : NULL;
}

/* A special token's text (key "unk_token", ...): config, then the special
 * tokens map, then dflt. */
static const char *special_text(const SideFiles *sf, const char *key, const char *dflt) {
    const char *t = token_text(cJSON_GetObjectItemCaseSensitive(sf->config, key));
    if (!t) t = token_text(cJSON_GetObjectItemCaseSensitive(sf->specials, key));
    return t ? t : dflt;
}

/* A boolean from tokenizer_config.json: 1/0, or -1 when absent or null. */
static int config_bool(const SideFiles *sf, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(sf->config, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : -1;
}

static int config_has(const SideFiles *sf, const char *key) {
    return cJSON_GetObjectItemCaseSensitive(sf->config, key) != NULL;
}

void tokenizer_free(PifiTokenizer *tk) {
    if (!tk) return;
    wp_free(tk->wp);
    if (tk->bpe) bpe_free(tk->bpe);
    spm_free(tk->spm);
    unigram_free(tk->ug);
    nz_free(&tk->nz);
    for (int k = 0; k < tk->n_added; k++) {
        free(tk->added[k].content);
        free(tk->added[k].norm);
    }
    free(tk->added);
    post_proc_free(&tk->post);
    free(tk->path);
    free(tk);
}

static int model_id(const PifiTokenizer *tk, const char *tok) {
    return tk->kind == TK_WORDPIECE ? wp_token_to_id(tk->wp, tok, strlen(tok))
           : tk->kind == TK_UNIGRAM ? unigram_token_to_id(tk->ug, tok)
                                    : bpe_token_to_id(tk->bpe, tok);
}

/* Add an added token; an id < 0 means: the model's id, else a new one. */
static int add_token(PifiTokenizer *tk, const char *content, int32_t id, int special, int single,
                     int lstrip, int rstrip, int normalized, PifiErr *err) {
    if (!*content) return 0;
    for (int k = 0; k < tk->n_added; k++)
        if (strcmp(tk->added[k].content, content) == 0) return 0;
    if (tk->n_added >= TK_MAX_ADDED) return pifi_errf(err, "%s: too many added tokens", tk->path);
    if (id < 0) id = model_id(tk, content);
    if (id < 0) id = tokenizer_vocab_size(tk);
    AddedTok *v = realloc(tk->added, (size_t)(tk->n_added + 1) * sizeof *v);
    if (!v) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    tk->added = v;
    AddedTok *a = &v[tk->n_added];
    memset(a, 0, sizeof *a);
    a->content = dup_str(content, err);
    if (!a->content) return -1;
    a->id = id, a->special = special, a->single_word = single;
    a->lstrip = lstrip, a->rstrip = rstrip, a->normalized = normalized;
    tk->n_added++;
    return 0;
}

/* The normalized form of each normalized added token (HF matches those in
 * the normalized text). */
static int normalize_added(PifiTokenizer *tk, PifiErr *err) {
    for (int k = 0; k < tk->n_added; k++) {
        AddedTok *a = &tk->added[k];
        free(a->norm);
        a->norm = NULL;
        NormText t = {0};
        size_t n = strlen(a->content);
        if (normtext_from_utf8(&t, a->content, n, 0, err) ||
            (tk->has_norm && bert_normalize(&tk->norm, &t, err)) ||
            nz_apply(&tk->nz, &t, 0, err)) {
            normtext_free(&t);
            return -1;
        }
        a->norm = pifi_malloc((size_t)t.n * 4 + 1, err);
        if (!a->norm) {
            normtext_free(&t);
            return -1;
        }
        size_t m = 0;
        for (int i = 0; i < t.n; i++) m += (size_t)utf8_put(t.cp[i], a->norm + m);
        a->norm[m] = 0;
        normtext_free(&t);
    }
    return 0;
}

/* ---- post-processing templates ----------------------------------------- */

static int tpl_set(TplPiece **out, int *n, const TplPiece *src, int count, PifiErr *err) {
    free(*out);
    *out = pifi_malloc((size_t)count * sizeof **out, err);
    if (!*out) return -1;
    memcpy(*out, src, (size_t)count * sizeof **out);
    *n = count;
    return 0;
}

#define SEQ(s, t) {.seq = (s), .type_id = (t)}
#define SPC(i, t) {.seq = -1, .type_id = (t), .n_ids = 1, .ids = {(i)}}

/* [CLS] A [SEP] (B [SEP]) with type ids 0 / 1 (BertProcessing). */
static int post_bert(PostProc *p, int32_t cls, int32_t sep, PifiErr *err) {
    TplPiece single[] = {SPC(cls, 0), SEQ(0, 0), SPC(sep, 0)};
    TplPiece pair[] = {SPC(cls, 0), SEQ(0, 0), SPC(sep, 0), SEQ(1, 1), SPC(sep, 1)};
    return tpl_set(&p->single, &p->n_single, single, 3, err) ||
           tpl_set(&p->pair, &p->n_pair, pair, 5, err);
}

/* <s> A </s> (</s> B </s>), every type id 0 (RobertaProcessing). */
static int post_roberta(PostProc *p, int32_t cls, int32_t sep, PifiErr *err) {
    TplPiece single[] = {SPC(cls, 0), SEQ(0, 0), SPC(sep, 0)};
    TplPiece pair[] = {SPC(cls, 0), SEQ(0, 0), SPC(sep, 0), SPC(sep, 0), SEQ(1, 0), SPC(sep, 0)};
    return tpl_set(&p->single, &p->n_single, single, 3, err) ||
           tpl_set(&p->pair, &p->n_pair, pair, 6, err);
}

/* No special tokens: A with type 0, B with type 1. */
static int post_plain(PostProc *p, PifiErr *err) {
    TplPiece single[] = {SEQ(0, 0)};
    TplPiece pair[] = {SEQ(0, 0), SEQ(1, 1)};
    return tpl_set(&p->single, &p->n_single, single, 1, err) ||
           tpl_set(&p->pair, &p->n_pair, pair, 2, err);
}

/* ["[SEP]", 102] */
static int token_pair_id(const cJSON *v, const char *file, const char *key, int32_t *id,
                         PifiErr *err) {
    const cJSON *i = cJSON_GetArrayItem(v, 1);
    if (!cJSON_IsArray(v) || !cJSON_IsString(cJSON_GetArrayItem(v, 0)) || !cJSON_IsNumber(i) ||
        i->valuedouble < 0 || i->valuedouble > INT32_MAX)
        return pifi_errf(err, "%s: post_processor.%s must be [token, id]", file, key);
    *id = (int32_t)i->valuedouble;
    return 0;
}

static int parse_template(TplPiece **out, int *n, const cJSON *arr, const cJSON *specials,
                          const char *file, PifiErr *err) {
    int count = cJSON_GetArraySize(arr);
    if (!cJSON_IsArray(arr) || count > 64)
        return pifi_errf(err, "%s: post_processor template must be a short array", file);
    TplPiece pcs[64];
    int k = 0;
    for (const cJSON *it = arr->child; it; it = it->next, k++) {
        const cJSON *sq = cJSON_GetObjectItemCaseSensitive(it, "Sequence");
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(it, "SpecialToken");
        const cJSON *body = sq ? sq : sp;
        const cJSON *idv = cJSON_GetObjectItemCaseSensitive(body, "id");
        const cJSON *tv = cJSON_GetObjectItemCaseSensitive(body, "type_id");
        if (!body || !cJSON_IsString(idv) || !cJSON_IsNumber(tv) || !(tv->valuedouble >= 0) ||
            tv->valuedouble > INT32_MAX) /* type ids are u32 in HF; (int32_t) of a huge double is UB */
            return pifi_errf(err, "%s: post_processor template piece %d is malformed", file, k);
        memset(&pcs[k], 0, sizeof pcs[k]);
        pcs[k].type_id = (int32_t)tv->valuedouble;
        if (sq) {
            if (strcmp(idv->valuestring, "A") && strcmp(idv->valuestring, "B"))
                return pifi_errf(err, "%s: post_processor template: sequence must be A or B", file);
            pcs[k].seq = idv->valuestring[0] == 'B';
            continue;
        }
        pcs[k].seq = -1;
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(specials, idv->valuestring);
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(st, "ids");
        int ni = cJSON_GetArraySize(ids);
        if (!cJSON_IsArray(ids) || ni < 1 || ni > TPL_MAX_IDS)
            return pifi_errf(err, "%s: post_processor: special token \"%.64s\" has no usable ids",
                             file, idv->valuestring);
        for (int j = 0; j < ni; j++) {
            const cJSON *x = cJSON_GetArrayItem(ids, j);
            if (!cJSON_IsNumber(x) || x->valuedouble < 0 || x->valuedouble > INT32_MAX)
                return pifi_errf(err, "%s: post_processor: bad id for \"%.64s\"", file,
                                 idv->valuestring);
            pcs[k].ids[j] = (int32_t)x->valuedouble;
        }
        pcs[k].n_ids = ni;
    }
    return tpl_set(out, n, pcs, count, err);
}

static int parse_post(PifiTokenizer *tk, const cJSON *pp, const char *file, PifiErr *err) {
    PostProc *p = &tk->post;
    if (!pp || cJSON_IsNull(pp)) return post_plain(p, err);
    const char *type = NULL;
    if (pifi_json_string(pp, "type", 1, &type, file, err)) return -1;
    int32_t cls, sep;
    if (!strcmp(type, "TemplateProcessing")) {
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(pp, "special_tokens");
        return parse_template(&p->single, &p->n_single, cJSON_GetObjectItemCaseSensitive(pp, "single"),
                              sp, file, err) ||
               parse_template(&p->pair, &p->n_pair, cJSON_GetObjectItemCaseSensitive(pp, "pair"), sp,
                              file, err);
    }
    if (!strcmp(type, "BertProcessing") || !strcmp(type, "RobertaProcessing")) {
        if (token_pair_id(cJSON_GetObjectItemCaseSensitive(pp, "cls"), file, "cls", &cls, err) ||
            token_pair_id(cJSON_GetObjectItemCaseSensitive(pp, "sep"), file, "sep", &sep, err))
            return -1;
        if (type[0] == 'B') return post_bert(p, cls, sep, err);
        p->trim_offsets = 1, p->add_prefix_space = 1;
        if (pifi_json_bool(pp, "trim_offsets", 0, &p->trim_offsets, file, err) < 0 ||
            pifi_json_bool(pp, "add_prefix_space", 0, &p->add_prefix_space, file, err) < 0)
            return -1;
        return post_roberta(p, cls, sep, err);
    }
    if (!strcmp(type, "ByteLevel")) {
        p->trim_offsets = 1;
        if (pifi_json_bool(pp, "trim_offsets", 0, &p->trim_offsets, file, err) < 0 ||
            pifi_json_bool(pp, "add_prefix_space", 0, &p->add_prefix_space, file, err) < 0)
            return -1;
        return post_plain(p, err);
    }
    if (!strcmp(type, "Sequence")) { /* e.g. ByteLevel then TemplateProcessing */
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(pp, "processors");
        if (!cJSON_IsArray(list)) return pifi_errf(err, "%s: post_processor.processors must be an array", file);
        PostProc merged = {0};
        for (const cJSON *it = list->child; it; it = it->next) {
            if (parse_post(tk, it, file, err)) {
                post_proc_free(&merged);
                return -1;
            }
            merged.trim_offsets |= p->trim_offsets;
            merged.add_prefix_space |= p->add_prefix_space;
            if (p->n_single > 1 || !merged.single) { /* keep the template that adds tokens */
                free(merged.single), free(merged.pair);
                merged.single = p->single, merged.pair = p->pair;
                merged.n_single = p->n_single, merged.n_pair = p->n_pair;
            } else {
                free(p->single), free(p->pair);
            }
            memset(p, 0, sizeof *p);
        }
        *p = merged;
        return p->single ? 0 : post_plain(p, err);
    }
    return pifi_errf(err, "%s: unsupported post_processor type \"%.64s\"", file, type);
}

/* ---- tokenizer.json ------------------------------------------------------ */

static int parse_normalizer(PifiTokenizer *tk, const cJSON *nz, const SideFiles *sf,
                            const char *file, PifiErr *err) {
    int strip = -1; /* null: follows lowercase */
    if (nz && !cJSON_IsNull(nz)) {
        const char *type = NULL;
        if (pifi_json_string(nz, "type", 1, &type, file, err)) return -1;
        if (strcmp(type, "BertNormalizer"))
            return pifi_errf(err, "%s: unsupported normalizer type \"%.64s\"", file, type);
        BertNormOpts *o = &tk->norm;
        o->clean_text = o->handle_chinese_chars = o->lowercase = 1;
        if (pifi_json_bool(nz, "clean_text", 0, &o->clean_text, file, err) < 0 ||
            pifi_json_bool(nz, "handle_chinese_chars", 0, &o->handle_chinese_chars, file, err) < 0 ||
            pifi_json_bool(nz, "lowercase", 0, &o->lowercase, file, err) < 0 ||
            pifi_json_bool(nz, "strip_accents", 0, &strip, file, err) < 0)
            return -1;
        tk->has_norm = 1;
    } else if (tk->kind == TK_WORDPIECE && (config_has(sf, "do_lower_case") ||
                                           config_has(sf, "tokenize_chinese_chars"))) {
        tk->has_norm = 1; /* transformers' BertTokenizer always has one */
        tk->norm = (BertNormOpts){1, 1, 0, 1};
    }
    if (tk->has_norm && tk->kind == TK_WORDPIECE) { /* tokenizer_config.json overrides */
        int v;
        if ((v = config_bool(sf, "do_lower_case")) >= 0) tk->norm.lowercase = v;
        if ((v = config_bool(sf, "tokenize_chinese_chars")) >= 0) tk->norm.handle_chinese_chars = v;
        if (config_has(sf, "strip_accents")) strip = config_bool(sf, "strip_accents");
    }
    tk->norm.strip_accents = strip >= 0 ? strip : tk->norm.lowercase;
    return 0;
}

/* Llama-3's and Qwen2's pre_tokenizer: a Sequence of a Split by one of the
 * regexes of split_regex.h (behavior Isolated, not inverted), then a
 * ByteLevel without its own regex and without a prefix space. */
static int parse_split_pretok(PifiTokenizer *tk, const cJSON *pt, const char *file, PifiErr *err) {
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(pt, "pretokenizers");
    const char *t1 = "", *t2 = "";
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) != 2 ||
        pifi_json_string(list->child, "type", 1, &t1, file, err) ||
        pifi_json_string(list->child->next, "type", 1, &t2, file, err) || strcmp(t1, "Split") ||
        strcmp(t2, "ByteLevel"))
        return pifi_errf(err, "%s: pre_tokenizer Sequence is supported only as [Split, ByteLevel] (Llama-3, Qwen2)",
                         file);
    const cJSON *sp = list->child, *bl = list->child->next;
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(sp, "pattern");
    const char *regex = NULL, *behavior = "";
    int invert = 0, prefix = 1, use_regex = 1;
    if (!cJSON_IsObject(pat))
        return pifi_errf(err, "%s: pre_tokenizer Split: \"pattern\" must be an object ({\"Regex\": ...})", file);
    if (pifi_json_string(pat, "Regex", 0, &regex, file, err) < 0 ||
        pifi_json_string(sp, "behavior", 1, &behavior, file, err) ||
        pifi_json_bool(sp, "invert", 0, &invert, file, err) < 0 ||
        pifi_json_bool(bl, "add_prefix_space", 0, &prefix, file, err) < 0 ||
        pifi_json_bool(bl, "use_regex", 0, &use_regex, file, err) < 0)
        return -1;
    if (strcmp(behavior, "Isolated") || invert)
        return pifi_errf(err, "%s: pre_tokenizer Split: only behavior Isolated, not inverted, is supported", file);
    const SplitRegexInfo *r = regex ? split_regex_by_pattern(regex) : NULL;
    if (!r)
        return pifi_errf(err,
                         "%s: pre_tokenizer Split: only the Llama-3 and Qwen2 regexes are supported, not %s%.80s%s",
                         file, regex ? "\"" : "", regex ? regex : "a String pattern", regex ? "\"" : "");
    if (prefix || use_regex)
        return pifi_errf(err, "%s: pre_tokenizer ByteLevel after a Split: add_prefix_space and use_regex must be false",
                         file);
    tk->bpe_opts.add_prefix_space = 0, tk->bpe_opts.use_regex = 0, tk->bpe_opts.split = r->id;
    return 0;
}

static int parse_pretok(PifiTokenizer *tk, const cJSON *pt, const char *file, PifiErr *err) {
    const char *type = "";
    if (pt && !cJSON_IsNull(pt) && pifi_json_string(pt, "type", 1, &type, file, err)) return -1;
    if (tk->kind == TK_WORDPIECE) {
        if (!*type) return 0;
        if (strcmp(type, "BertPreTokenizer"))
            return pifi_errf(err, "%s: unsupported pre_tokenizer \"%.64s\" for WordPiece", file, type);
        tk->bert_pretok = 1;
        return 0;
    }
    if (!strcmp(type, "Sequence")) return parse_split_pretok(tk, pt, file, err);
    if (strcmp(type, "ByteLevel"))
        return pifi_errf(err, "%s: byte-level BPE needs a ByteLevel pre_tokenizer", file);
    BpeOpts *o = &tk->bpe_opts;
    o->add_prefix_space = 1, o->use_regex = 1;
    if (pifi_json_bool(pt, "add_prefix_space", 0, &o->add_prefix_space, file, err) < 0 ||
        pifi_json_bool(pt, "use_regex", 0, &o->use_regex, file, err) < 0)
        return -1;
    return 0;
}

static int parse_added(PifiTokenizer *tk, const cJSON *arr, const char *file, PifiErr *err) {
    if (!arr || cJSON_IsNull(arr)) return 0;
    if (!cJSON_IsArray(arr)) return pifi_errf(err, "%s: added_tokens must be an array", file);
    for (const cJSON *it = arr->child; it; it = it->next) {
        const char *content;
        int64_t id;
        int special = 0, single = 0, lstrip = 0, rstrip = 0, normalized = 1;
        if (pifi_json_string(it, "content", 1, &content, file, err) ||
            pifi_json_int(it, "id", 1, &id, file, err) ||
            pifi_json_bool(it, "special", 0, &special, file, err) < 0 ||
            pifi_json_bool(it, "single_word", 0, &single, file, err) < 0 ||
            pifi_json_bool(it, "lstrip", 0, &lstrip, file, err) < 0 ||
            pifi_json_bool(it, "rstrip", 0, &rstrip, file, err) < 0 ||
            pifi_json_bool(it, "normalized", 0, &normalized, file, err) < 0)
            return -1;
        if (id < 0 || id > INT32_MAX / 2)
            return pifi_errf(err, "%s: added token \"%.64s\" has a bad id", file, content);
        if (add_token(tk, content, (int32_t)id, special, single, lstrip, rstrip, normalized, err))
            return -1;
    }
    return 0;
}

static int load_tokenizer_json(PifiTokenizer *tk, const char *file, const SideFiles *sf,
                               PifiErr *err) {
    cJSON *root = NULL;
    if (pifi_json_load(file, TK_MAX_JSON_BYTES, &root, err)) return -1;
    int rc = -1;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const char *type = NULL;
    if (!cJSON_IsObject(root) || !cJSON_IsObject(model)) {
        pifi_errf(err, "%s: not a tokenizer.json (no \"model\" object)", file);
        goto done;
    }
    if (pifi_json_string(model, "type", 1, &type, file, err)) goto done;
    if (!strcmp(type, "WordPiece")) {
        tk->kind = TK_WORDPIECE;
        if (wp_from_json(&tk->wp, model, file, err)) goto done;
    } else if (!strcmp(type, "BPE")) {
        tk->kind = TK_BPE;
        if (bpe_from_json(&tk->bpe, model, file, err)) goto done;
    } else if (!strcmp(type, "Unigram")) {
        tk->kind = TK_UNIGRAM;
        if (unigram_from_json(&tk->ug, model, file, err) ||
            nz_from_json(&tk->nz, cJSON_GetObjectItemCaseSensitive(root, "normalizer"), file, err) ||
            metaspace_from_json(&tk->ms, cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"), file, err))
            goto done;
    } else {
        pifi_errf(err, "%s: unsupported model type \"%.64s\"", file, type);
        goto done;
    }
    const cJSON *nz = cJSON_GetObjectItemCaseSensitive(root, "normalizer");
    const cJSON *nz_type = cJSON_GetObjectItemCaseSensitive(nz, "type");
    if (tk->kind == TK_BPE && cJSON_IsString(nz_type) && !strcmp(nz_type->valuestring, "NFC")) { /* Qwen2 */
        if (nz_from_json(&tk->nz, nz, file, err)) goto done;
        nz = NULL;
    }
    if ((tk->kind != TK_UNIGRAM &&
         (parse_normalizer(tk, nz, sf, file, err) ||
          parse_pretok(tk, cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"), file, err))) ||
        parse_post(tk, cJSON_GetObjectItemCaseSensitive(root, "post_processor"), file, err) ||
        parse_added(tk, cJSON_GetObjectItemCaseSensitive(root, "added_tokens"), file, err))
        goto done;
    if (tk->kind == TK_BPE && tk->has_norm) {
        pifi_errf(err, "%s: a normalizer with a BPE model is not supported", file);
        goto done;
    }
    const cJSON *pad = cJSON_GetObjectItemCaseSensitive(root, "padding");
    const cJSON *pid = cJSON_GetObjectItemCaseSensitive(pad, "pad_id");
    if (cJSON_IsNumber(pid) && pid->valuedouble >= 0 && pid->valuedouble <= INT32_MAX)
        tk->pad_id = (int32_t)pid->valuedouble;
    rc = 0;
done:
    cJSON_Delete(root);
    return rc;
}

/* ---- legacy files ---------------------------------------------------------- */

static int need_id(PifiTokenizer *tk, const char *tok, const char *what, int32_t *id, PifiErr *err) {
    *id = tokenizer_token_to_id(tk, tok);
    if (*id < 0)
        return pifi_errf(err, "%s: %s token \"%.64s\" is not in the vocabulary", tk->path, what, tok);
    return 0;
}

/* The special tokens of transformers' class, as non-normalized added tokens. */
static int add_specials(PifiTokenizer *tk, const SideFiles *sf, const char *const (*keys)[2],
                        int n, PifiErr *err) {
    for (int k = 0; k < n; k++) {
        const char *t = special_text(sf, keys[k][0], keys[k][1]);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(sf->config, keys[k][0]);
        int lstrip = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "lstrip"));
        int rstrip = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "rstrip"));
        if (add_token(tk, t, -1, 1, 0, lstrip, rstrip, 0, err)) return -1;
    }
    return 0;
}

static int load_vocab_txt(PifiTokenizer *tk, const char *file, const SideFiles *sf, PifiErr *err) {
    tk->kind = TK_WORDPIECE;
    if (wp_from_vocab_txt(&tk->wp, file, err)) return -1;
    const char *unk = special_text(sf, "unk_token", "[UNK]");
    if (wp_set_unk(tk->wp, unk, file, err)) return -1;
    int v;
    tk->has_norm = 1;
    tk->norm = (BertNormOpts){1, 1, 0, 1};
    if ((v = config_bool(sf, "do_lower_case")) >= 0) tk->norm.lowercase = v;
    if ((v = config_bool(sf, "tokenize_chinese_chars")) >= 0) tk->norm.handle_chinese_chars = v;
    v = config_bool(sf, "strip_accents");
    tk->norm.strip_accents = v >= 0 ? v : tk->norm.lowercase;
    tk->bert_pretok = 1;
    /* transformers' MPNetTokenizer (tokenizer_config.json's tokenizer_class) is
     * this WordPiece with RoBERTa's specials and pair template */
    const cJSON *cl = cJSON_GetObjectItemCaseSensitive(sf->config, "tokenizer_class");
    int mpnet = cJSON_IsString(cl) && !strcmp(cl->valuestring, "MPNetTokenizer");
    static const char *const keys[][2] = {{"pad_token", "[PAD]"}, {"unk_token", "[UNK]"},
                                          {"cls_token", "[CLS]"}, {"sep_token", "[SEP]"},
                                          {"mask_token", "[MASK]"}};
    static const char *const mpnet_keys[][2] = {
        {"bos_token", "<s>"}, {"eos_token", "</s>"}, {"sep_token", "</s>"}, {"cls_token", "<s>"},
        {"unk_token", "[UNK]"}, {"pad_token", "<pad>"}, {"mask_token", "<mask>"}};
    int32_t cls, sep;
    if (need_id(tk, special_text(sf, "cls_token", mpnet ? "<s>" : "[CLS]"), "cls", &cls, err) ||
        need_id(tk, special_text(sf, "sep_token", mpnet ? "</s>" : "[SEP]"), "sep", &sep, err) ||
        (mpnet ? add_specials(tk, sf, mpnet_keys, 7, err) : add_specials(tk, sf, keys, 5, err)))
        return -1;
    return mpnet ? post_roberta(&tk->post, cls, sep, err) : post_bert(&tk->post, cls, sep, err);
}

static int load_bpe_files(PifiTokenizer *tk, const char *vocab, const char *merges,
                          const SideFiles *sf, PifiErr *err) {
    tk->kind = TK_BPE;
    if (bpe_from_files(&tk->bpe, vocab, merges, err)) return -1;
    static const char *const keys[][2] = {
        {"bos_token", "<s>"}, {"eos_token", "</s>"}, {"sep_token", "</s>"}, {"cls_token", "<s>"},
        {"unk_token", "<unk>"}, {"pad_token", "<pad>"}, {"mask_token", "<mask>"}};
    if (add_specials(tk, sf, keys, 7, err)) return -1;
    int32_t cls, sep;
    if (need_id(tk, special_text(sf, "cls_token", "<s>"), "cls", &cls, err) ||
        need_id(tk, special_text(sf, "sep_token", "</s>"), "sep", &sep, err) ||
        post_roberta(&tk->post, cls, sep, err))
        return -1;
    tk->bpe_opts = (BpeOpts){.add_prefix_space = 0, .trim_offsets = 1, .use_regex = 1};
    tk->post.trim_offsets = 1, tk->post.add_prefix_space = 0;
    return 0;
}

/* ---- entry point ----------------------------------------------------------- */

static int finish(PifiTokenizer *tk, const SideFiles *sf, PifiErr *err) {
    int v;
    if (tk->kind == TK_BPE) { /* transformers' RobertaTokenizer arguments (not Llama-3's or Qwen2's) */
        if (!tk->bpe_opts.split && (v = config_bool(sf, "add_prefix_space")) >= 0)
            tk->bpe_opts.add_prefix_space = tk->post.add_prefix_space = v;
        if (!tk->bpe_opts.split && (v = config_bool(sf, "trim_offsets")) >= 0) tk->post.trim_offsets = v;
        tk->bpe_opts.trim_offsets = tk->post.trim_offsets;
    }
    const char *pad = special_text(sf, "pad_token", NULL);
    int32_t id = pad ? tokenizer_token_to_id(tk, pad) : -1;
    if (id < 0 && !pad) id = tokenizer_token_to_id(tk, tk->kind == TK_WORDPIECE ? "[PAD]" : "<pad>");
    if (id >= 0) tk->pad_id = id;
    tk->model_max_length = 512;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(sf->config, "model_max_length");
    if (cJSON_IsNumber(m) && m->valuedouble >= 1 && m->valuedouble <= (1 << 24))
        tk->model_max_length = (int)m->valuedouble;
    return normalize_added(tk, err);
}

int tokenizer_load(PifiTokenizer **out, const char *path, PifiErr *err) {
    *out = NULL;
    if (!path) return pifi_errf(err, "tokenizer_load: no path");
    PifiTokenizer *tk = pifi_calloc(1, sizeof *tk, err);
    if (!tk) return -1;
    SideFiles sf = {0};
    char *dir = NULL, *file = NULL, *file2 = NULL;
    int rc = -1;
    if (pifi_is_dir(path)) {
        dir = dup_str(path, err);
        const char *names[] = {"tokenizer.json", "vocab.txt", "vocab.json", "tokenizer.gguf"};
        for (int k = 0; k < 4 && dir && !file; k++) {
            char *f = pifi_path_join(dir, names[k]);
            if (f && pifi_file_exists(f)) file = f;
            else free(f);
        }
        if (dir && !file) {
            pifi_errf(err, "%s: no tokenizer.json, vocab.txt, vocab.json or tokenizer.gguf in this directory", path);
            goto done;
        }
    } else {
        if (!pifi_file_exists(path)) {
            pifi_errf(err, "%s: no such file or directory", path);
            goto done;
        }
        dir = pifi_dir_of(path);
        file = dup_str(path, err);
    }
    if (!dir || !file) goto oom;
    tk->path = dup_str(file, err);
    if (!tk->path) goto done;
    const char *base = pifi_base_of(file);
    if (pifi_has_suffix(base, ".gguf")) { /* its own metadata, no side files */
        if (tk_load_gguf(tk, file, err)) goto done;
        *out = tk;
        tk = NULL;
        rc = 0;
        goto done;
    }
    if (load_side(&sf, dir, err)) goto done;
    if (!strcmp(base, "vocab.txt")) {
        if (load_vocab_txt(tk, file, &sf, err)) goto done;
    } else if (!strcmp(base, "vocab.json") || !strcmp(base, "merges.txt")) {
        char *v = pifi_path_join(dir, "vocab.json");
        file2 = pifi_path_join(dir, "merges.txt");
        if (!v || !file2) {
            free(v);
            goto oom;
        }
        int r = load_bpe_files(tk, v, file2, &sf, err);
        free(v);
        if (r) goto done;
    } else if (load_tokenizer_json(tk, file, &sf, err)) {
        goto done;
    }
    if (finish(tk, &sf, err)) goto done;
    *out = tk;
    tk = NULL;
    rc = 0;
    goto done;
oom:
    pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
done:
    tokenizer_free(tk);
    free_side(&sf);
    free(dir);
    free(file);
    free(file2);
    return rc;
}
