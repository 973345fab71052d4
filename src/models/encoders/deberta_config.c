/* deberta_config.c: config.json of model_type "deberta" (transformers'
 * DebertaConfig) and "deberta-v2" (DebertaV2Config: DeBERTa-V2 and V3) into
 * an EncoderConfig, validated with one-line errors naming the file and
 * field, defaults as transformers' (type_vocab_size 0, layer_norm_eps 1e-7,
 * position_biased_input true); and the relative positions: v2's log buckets
 * (make_log_bucket_position) and the rows of the relative embeddings each
 * (query, key) pair reads. What transformers has and pifi does not (v1's
 * talking_head, an even conv_kernel_size) is refused by name. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/activation.h"
#include "models/encoders/deberta_internal.h"
#include "pifi/json.h"

static int get_dim(const cJSON *root, const char *key, int required, int dflt, int lo, int hi, int *out,
                   const char *path, PifiErr *err) {
    int64_t v = dflt;
    if (pifi_json_int(root, key, required, &v, path, err) < 0) return -1;
    if (v < lo || v > hi)
        return pifi_errf(err, "%s: \"%s\" is %lld, expected %d..%d", path, key, (long long)v, lo, hi);
    *out = (int)v;
    return 0;
}

/* One entry of pos_att_type ("c2p", "p2c"; any case, spaces trimmed as
 * transformers does), counted into c; n bytes at s. */
static int pos_att_one(EncoderConfig *c, const char *s, size_t n, const char *path, PifiErr *err) {
    while (n && (*s == ' ' || *s == '\t')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    int *slot = NULL;
    if (n == 3 && !strncasecmp(s, "c2p", 3)) slot = &c->deberta.c2p;
    if (n == 3 && !strncasecmp(s, "p2c", 3)) slot = &c->deberta.p2c;
    if (!slot)
        return pifi_errf(err, "%s: \"pos_att_type\" holds \"%.*s\"; pifi supports \"c2p\" and \"p2c\"", path,
                         (int)(n > 40 ? 40 : n), s);
    if (*slot) return pifi_errf(err, "%s: \"pos_att_type\" names \"%.*s\" twice", path, (int)n, s);
    *slot = 1;
    return 0;
}

/* pos_att_type: null, "c2p|p2c", or ["c2p", "p2c"]. */
static int parse_pos_att(EncoderConfig *c, const cJSON *root, const char *path, PifiErr *err) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, "pos_att_type");
    if (!it || cJSON_IsNull(it)) return 0;
    if (cJSON_IsString(it)) {
        const char *s = it->valuestring;
        while (1) {
            const char *bar = strchr(s, '|');
            size_t n = bar ? (size_t)(bar - s) : strlen(s);
            if (pos_att_one(c, s, n, path, err)) return -1;
            if (!bar) return 0;
            s = bar + 1;
        }
    }
    if (!cJSON_IsArray(it))
        return pifi_errf(err, "%s: \"pos_att_type\" must be a string, a list of strings or null", path);
    const cJSON *e;
    cJSON_ArrayForEach(e, it) {
        if (!cJSON_IsString(e)) return pifi_errf(err, "%s: \"pos_att_type\" must be a list of strings", path);
        if (pos_att_one(c, e->valuestring, strlen(e->valuestring), path, err)) return -1;
    }
    return 0;
}

int deberta_config_parse(EncoderConfig *cfg, const cJSON *root, const char *path, PifiErr *err) {
    int v2 = strcmp(cfg->model_type, "deberta") != 0;
    cfg->deberta.version = v2 ? 2 : 1;
    if (get_dim(root, "vocab_size", 1, 0, 1, 1 << 22, &cfg->V, path, err) ||
        get_dim(root, "hidden_size", 1, 0, 1, 1 << 16, &cfg->C, path, err) ||
        get_dim(root, "num_hidden_layers", 1, 0, 1, 1024, &cfg->L, path, err) ||
        get_dim(root, "num_attention_heads", 1, 0, 1, 256, &cfg->NH, path, err) ||
        get_dim(root, "intermediate_size", 1, 0, 1, 1 << 18, &cfg->FF, path, err) ||
        get_dim(root, "max_position_embeddings", 1, 0, 1, 1 << 16, &cfg->maxT, path, err) ||
        get_dim(root, "type_vocab_size", 0, 0, 0, 1 << 10, &cfg->TV, path, err) ||
        get_dim(root, "pad_token_id", 0, 0, 0, cfg->V - 1, &cfg->pad_id, path, err) ||
        get_dim(root, "embedding_size", 0, cfg->C, 1, 1 << 16, &cfg->E, path, err))
        return -1;
    if (cfg->C % cfg->NH != 0)
        return pifi_errf(err, "%s: \"hidden_size\" %d is not divisible by \"num_attention_heads\" %d", path, cfg->C,
                         cfg->NH);
    int hs = cfg->C / cfg->NH;
    if (v2 && get_dim(root, "attention_head_size", 0, hs, hs, hs, &hs, path, err)) return -1;
    double eps = 1e-7, hd = 0.1, ad = 0.1;
    if (pifi_json_double(root, "layer_norm_eps", 0, &eps, path, err) < 0 ||
        pifi_json_double(root, "hidden_dropout_prob", 0, &hd, path, err) < 0 ||
        pifi_json_double(root, "attention_probs_dropout_prob", 0, &ad, path, err) < 0)
        return -1;
    if (!(eps >= FLT_MIN && eps < 1))
        return pifi_errf(err, "%s: \"layer_norm_eps\" %g must be in [1.2e-38, 1) (a positive float)", path, eps);
    if (!(hd >= 0 && hd < 1) || !(ad >= 0 && ad < 1))
        return pifi_errf(err, "%s: \"hidden_dropout_prob\" and \"attention_probs_dropout_prob\" must be in [0, 1)",
                         path);
    cfg->ln_eps = (float)eps;
    cfg->hidden_dropout = (float)hd;
    cfg->attn_dropout = (float)ad;
    const char *act = "gelu";
    if (pifi_json_string(root, "hidden_act", 0, &act, path, err) < 0) return -1;
    Activation a;
    if (activation_parse(act, &a)) return pifi_errf(err, "%s: unsupported \"hidden_act\" \"%s\"", path, act);
    cfg->act = (int)a;

    int rel = 0, pos_input = 1, share = 0, talking = 0;
    if (pifi_json_bool(root, "relative_attention", 0, &rel, path, err) < 0 ||
        pifi_json_bool(root, "position_biased_input", 0, &pos_input, path, err) < 0 ||
        pifi_json_bool(root, "talking_head", 0, &talking, path, err) < 0 ||
        (v2 && pifi_json_bool(root, "share_att_key", 0, &share, path, err) < 0))
        return -1;
    if (talking && !v2)
        return pifi_errf(err, "%s: \"talking_head\" is true; pifi's DeBERTa has no talking-head attention", path);
    cfg->deberta.relative = rel;
    cfg->deberta.pos_input = pos_input;
    cfg->deberta.share_key = share;
    if (parse_pos_att(cfg, root, path, err)) return -1;
    int max_rel = -1, buckets = -1, conv = 0;
    if (get_dim(root, "max_relative_positions", 0, -1, INT32_MIN, 1 << 16, &max_rel, path, err) ||
        (v2 && get_dim(root, "position_buckets", 0, -1, INT32_MIN, 1 << 16, &buckets, path, err)) ||
        (v2 && get_dim(root, "conv_kernel_size", 0, 0, INT32_MIN, 255, &conv, path, err)))
        return -1;
    if (conv > 0) { /* ConvLayer: Conv1d(C, C, k, padding (k - 1) / 2, groups), act, LayerNorm */
        if (conv % 2 == 0)
            return pifi_errf(err, "%s: \"conv_kernel_size\" is %d; an even kernel shortens the sequence in "
                             "transformers' ConvLayer (padding (k - 1) / 2), so only odd sizes run", path, conv);
        const char *cact = "tanh";
        Activation ca;
        if (get_dim(root, "conv_groups", 0, 1, 1, cfg->C, &cfg->deberta.conv_groups, path, err) ||
            pifi_json_string(root, "conv_act", 0, &cact, path, err) < 0)
            return -1;
        if (cfg->C % cfg->deberta.conv_groups != 0)
            return pifi_errf(err, "%s: \"conv_groups\" %d does not divide \"hidden_size\" %d", path,
                             cfg->deberta.conv_groups, cfg->C);
        if (activation_parse(cact, &ca)) return pifi_errf(err, "%s: unsupported \"conv_act\" \"%s\"", path, cact);
        cfg->deberta.conv_k = conv;
        cfg->deberta.conv_act = (int)ca;
    }
    cfg->deberta.max_rel = max_rel < 1 ? cfg->maxT : max_rel;
    cfg->deberta.buckets = buckets > 0 ? buckets : 0;
    if (cfg->deberta.buckets && (cfg->deberta.buckets < 2 || cfg->deberta.max_rel - 1 <= cfg->deberta.buckets / 2))
        return pifi_errf(err, "%s: \"position_buckets\" %d needs at least 2 buckets and \"max_relative_positions\" "
                         "above %d + 1", path, cfg->deberta.buckets, cfg->deberta.buckets / 2);
    if (v2) {
        const char *norm = "none";
        if (pifi_json_string(root, "norm_rel_ebd", 0, &norm, path, err) < 0) return -1;
        for (const char *s = norm; *s;) { /* "layer_norm|..." : transformers looks for layer_norm */
            const char *bar = strchr(s, '|');
            size_t n = bar ? (size_t)(bar - s) : strlen(s);
            while (n && *s == ' ') s++, n--;
            while (n && s[n - 1] == ' ') n--;
            if (n == 10 && !strncasecmp(s, "layer_norm", 10)) cfg->deberta.norm_rel = 1;
            else if (!(n == 4 && !strncasecmp(s, "none", 4)))
                return pifi_errf(err, "%s: \"norm_rel_ebd\" holds \"%.*s\"; expected \"layer_norm\" or \"none\"", path,
                                 (int)(n > 40 ? 40 : n), s);
            if (!bar) break;
            s = bar + 1;
        }
    }
    if (!cfg->deberta.relative) cfg->deberta.norm_rel = 0; /* no relative embeddings to normalise */
    if ((int64_t)deberta_rel_rows(cfg) * cfg->C > (1 << 28))
        return pifi_errf(err, "%s: \"max_relative_positions\" %d gives a relative embedding table too large",
                         path, cfg->deberta.max_rel);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* relative positions */

int deberta_span(const EncoderConfig *c, int T) {
    if (c->deberta.version == 1) return T < c->deberta.max_rel ? T : c->deberta.max_rel;
    return c->deberta.buckets > 0 ? c->deberta.buckets : c->deberta.max_rel;
}

int deberta_rel_rows(const EncoderConfig *c) {
    if (!c->deberta.relative) return 0;
    if (c->deberta.version == 1) return 2 * c->deberta.max_rel;
    return 2 * (c->deberta.buckets > 0 ? c->deberta.buckets : c->deberta.max_rel);
}

int deberta_bucket(int rel, int buckets, int max_rel) {
    if (buckets <= 0) return rel;
    int mid = buckets / 2;
    int abs_pos = rel < mid && rel > -mid ? mid - 1 : abs(rel);
    if (abs_pos <= mid) return rel;
    /* torch: log(abs / mid) / log(tensor((max_position - 1) / mid)) * (mid - 1), float32, ceil, + mid */
    float den = logf((float)((double)(max_rel - 1) / mid));
    float lp = ceilf(logf((float)abs_pos / (float)mid) / den * (float)(mid - 1)) + (float)mid;
    return rel > 0 ? (int)lp : -(int)lp;
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

void deberta_rel_index(const EncoderConfig *c, int T, int32_t *c2p, int32_t *p2c, int32_t *tab, int *r_lo,
                       int *R) {
    int span = deberta_span(c, T);
    /* v1 reads the slice [max_rel - span, max_rel + span) of the table; v2 all of it */
    int base = c->deberta.version == 1 ? c->deberta.max_rel - span : 0;
    int32_t *bk = tab + (T - 1); /* bk[d] = bucket(d), d = -(T-1) .. T-1 */
    for (int d = -(T - 1); d < T; d++) bk[d] = deberta_bucket(d, c->deberta.buckets, c->deberta.max_rel);
    int lo = INT32_MAX, hi = -1;
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) {
            /* c2p: clamp(rel(i, j) + span); p2c: clamp(-rel(j, i) + span), transposed */
            int rc = base + clampi(bk[i - j] + span, 0, 2 * span - 1);
            int rp = base + clampi(-bk[j - i] + span, 0, 2 * span - 1);
            c2p[(size_t)i * T + j] = rc;
            p2c[(size_t)i * T + j] = rp;
            lo = rc < lo ? rc : lo, hi = rc > hi ? rc : hi;
            lo = rp < lo ? rp : lo, hi = rp > hi ? rp : hi;
        }
    for (size_t k = 0; k < (size_t)T * T; k++) c2p[k] -= lo, p2c[k] -= lo;
    *r_lo = lo;
    *R = hi - lo + 1;
}
