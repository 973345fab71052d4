/* metaspace.c: the Metaspace pre-tokenizer and decoder (metaspace.h), with
 * HF's alignment rules: a replaced space keeps its own alignment, the
 * prepended '▁' takes the first char's. */
#include "text/metaspace.h"

#include <string.h>

#include "core/utf8.h"
#include "pifi/json.h"

#define MS_DEPTH 4

static int parse_metaspace(Metaspace *m, const cJSON *pt, const char *file, PifiErr *err) {
    const char *rep = "\xe2\x96\x81", *scheme = NULL;
    int add_prefix = -1;
    m->on = 1, m->split = 1, m->prepend = MS_ALWAYS;
    if (pifi_json_string(pt, "replacement", 0, &rep, file, err) < 0 ||
        pifi_json_string(pt, "prepend_scheme", 0, &scheme, file, err) < 0 ||
        pifi_json_bool(pt, "add_prefix_space", 0, &add_prefix, file, err) < 0 ||
        pifi_json_bool(pt, "split", 0, &m->split, file, err) < 0)
        return -1;
    size_t n = strlen(rep), i = 0;
    m->replacement = n ? utf8_next(rep, n, &i) : -1;
    if (!n || i != n)
        return pifi_errf(err, "%s: pre_tokenizer Metaspace: replacement must be one character", file);
    if (scheme) {
        static const char *const names[] = {"always", "first", "never"};
        int k = 0;
        while (k < 3 && strcmp(scheme, names[k])) k++;
        if (k == 3)
            return pifi_errf(err, "%s: pre_tokenizer Metaspace: prepend_scheme \"%.32s\" is not always, first or never",
                             file, scheme);
        m->prepend = (MsPrepend)k;
    } else if (add_prefix == 0) { /* the form before prepend_scheme */
        m->prepend = MS_NEVER;
    }
    return 0;
}

static int parse_pretok(Metaspace *m, const cJSON *pt, const char *file, int depth, PifiErr *err) {
    const char *type;
    if (!cJSON_IsObject(pt)) return pifi_errf(err, "%s: a pre_tokenizer must be an object", file);
    if (pifi_json_string(pt, "type", 1, &type, file, err)) return -1;
    if (!strcmp(type, "WhitespaceSplit")) {
        if (m->on || m->ws_split)
            return pifi_errf(err, "%s: pre_tokenizer WhitespaceSplit is supported only once, before Metaspace", file);
        m->ws_split = 1;
        return 0;
    }
    if (!strcmp(type, "Metaspace")) {
        if (m->on) return pifi_errf(err, "%s: more than one Metaspace pre_tokenizer", file);
        return parse_metaspace(m, pt, file, err);
    }
    if (!strcmp(type, "Sequence") && depth < MS_DEPTH) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(pt, "pretokenizers");
        if (!cJSON_IsArray(list))
            return pifi_errf(err, "%s: pre_tokenizer Sequence: \"pretokenizers\" must be an array", file);
        for (const cJSON *it = list->child; it; it = it->next)
            if (parse_pretok(m, it, file, depth + 1, err)) return -1;
        return 0;
    }
    return pifi_errf(err, "%s: unsupported pre_tokenizer \"%.64s\" for a Unigram model (supported: Metaspace, "
                          "alone or in a Sequence after a WhitespaceSplit)",
                     file, type);
}

int metaspace_from_json(Metaspace *m, const cJSON *pt, const char *file, PifiErr *err) {
    memset(m, 0, sizeof *m);
    if (!pt || cJSON_IsNull(pt)) return 0;
    return parse_pretok(m, pt, file, 0, err);
}

int metaspace_split(const Metaspace *m, const NormText *t, int from, int to, int at_start,
                    NormText *out, WordSpans *spans, PifiErr *err) {
    out->n = 0;
    spans->n = 0;
    if (from >= to) return 0;
    if (!m->on) {
        for (int i = from; i < to; i++)
            if (normtext_push(out, t->cp[i], t->start[i], t->end[i], err)) return -1;
        return wordspans_push(spans, 0, out->n, err);
    }
    int32_t r = m->replacement;
    int32_t c0 = t->cp[from] == ' ' ? r : t->cp[from];
    if ((m->prepend == MS_ALWAYS || (m->prepend == MS_FIRST && at_start)) && c0 != r &&
        normtext_push(out, r, t->start[from], t->end[from], err))
        return -1;
    for (int i = from; i < to; i++)
        if (normtext_push(out, t->cp[i] == ' ' ? r : t->cp[i], t->start[i], t->end[i], err)) return -1;
    if (!m->split) return wordspans_push(spans, 0, out->n, err);
    /* MergedWithNext: a '▁' starts a piece that takes the text up to the next
     * '▁' (so one followed by another '▁' is a piece alone) */
    for (int i = 0; i < out->n;) {
        int j = i + 1;
        while (j < out->n && out->cp[j] != r) j++;
        if (wordspans_push(spans, i, j, err)) return -1;
        i = j;
    }
    return 0;
}

size_t metaspace_decode_token(const Metaspace *m, const char *tok, size_t len, int index, char *out) {
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        size_t at = i;
        int32_t c = utf8_next(tok, len, &i);
        if (m->on && c == m->replacement) {
            if (index == 0 && m->prepend != MS_NEVER) continue;
            out[n++] = ' ';
            continue;
        }
        memcpy(out + n, tok + at, i - at);
        n += i - at;
    }
    return n;
}
