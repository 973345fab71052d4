/* precompiled.c: SentencePiece's precompiled_charsmap (precompiled.h): the
 * blob's layout, the double-array trie walk, and the normalizer over a
 * NormText with HF's alignment rules.
 *
 * Blob: u32 little-endian trie_size, then trie_size / 4 u32 units (the
 * darts-clone array), then the replacement strings (the rest: UTF-8, each
 * NUL-terminated). A unit: bit 8 has_leaf, bits 0-7 (+ bit 31) the label,
 * (unit >> 10) << ((unit & 512) >> 6) the offset to XOR with the position;
 * a leaf unit's low 31 bits are the value, a byte offset into the strings. */
#include "text/precompiled.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/utf8.h"
#include "text/normalizers.h"

#define PC_MAX_BYTES (64u << 20)

struct PcMap {
    uint32_t *units; /* (n_units) */
    size_t n_units;
    char *norm;      /* (norm_len) replacement strings */
    size_t norm_len;
};

void pc_free(PcMap *m) {
    if (!m) return;
    free(m->units);
    free(m->norm);
    free(m);
}

/* ---- base64 (RFC 4648 standard alphabet, padded) ----------------------- */

static int b64_val(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Decode s (n chars) into out (room for n / 4 * 3); -1 if not canonical base64. */
static int64_t b64_decode(const char *s, size_t n, uint8_t *out) {
    if (n % 4) return -1;
    size_t m = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)s[i + k];
            if (c == '=' && i + 4 == n && k >= 2) {
                v[k] = 0, pad++;
                continue;
            }
            if (pad || (v[k] = b64_val(c)) < 0) return -1; /* data after '=' */
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[m++] = (uint8_t)(w >> 16);
        if (pad < 2) out[m++] = (uint8_t)(w >> 8);
        if (pad < 1) out[m++] = (uint8_t)w;
    }
    return (int64_t)m;
}

int pc_from_base64(PcMap **out, const char *b64, const char *file, PifiErr *err) {
    *out = NULL;
    size_t n = strlen(b64);
    if (n / 4 * 3 > PC_MAX_BYTES)
        return pifi_errf(err, "%s: precompiled_charsmap is larger than %u MiB", file, PC_MAX_BYTES >> 20);
    uint8_t *raw = pifi_malloc(n / 4 * 3 + 1, err);
    if (!raw) return -1;
    int64_t len = b64_decode(b64, n, raw);
    PcMap *m = NULL;
    if (len < 0) {
        pifi_errf(err, "%s: precompiled_charsmap is not valid base64", file);
        goto fail;
    }
    if (len < 4) {
        pifi_errf(err, "%s: precompiled_charsmap of %lld bytes has no trie size", file, (long long)len);
        goto fail;
    }
    uint32_t trie_size = (uint32_t)raw[0] | (uint32_t)raw[1] << 8 | (uint32_t)raw[2] << 16 |
                         (uint32_t)raw[3] << 24;
    size_t n_units = trie_size / 4;
    if (n_units > ((size_t)len - 4) / 4) {
        pifi_errf(err, "%s: precompiled_charsmap says its trie has %u bytes but only %lld follow",
                  file, trie_size, (long long)len - 4);
        goto fail;
    }
    size_t norm_at = 4 + 4 * n_units, norm_len = (size_t)len - norm_at, bad;
    if (!utf8_valid((const char *)raw + norm_at, norm_len, &bad)) {
        pifi_errf(err, "%s: precompiled_charsmap: its replacement strings are not UTF-8 (byte %zu)",
                  file, norm_at + bad);
        goto fail;
    }
    m = pifi_calloc(1, sizeof *m, err);
    if (!m) goto fail;
    m->n_units = n_units, m->norm_len = norm_len;
    m->units = pifi_malloc(n_units * 4 + 4, err);
    m->norm = pifi_malloc(norm_len + 1, err);
    if (!m->units || !m->norm) goto fail;
    for (size_t i = 0; i < n_units; i++) {
        const uint8_t *p = raw + 4 + 4 * i;
        m->units[i] = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    }
    memcpy(m->norm, raw + norm_at, norm_len);
    m->norm[norm_len] = 0;
    free(raw);
    *out = m;
    return 0;
fail:
    free(raw);
    pc_free(m);
    return -1;
}

/* ---- the trie ------------------------------------------------------------ */

static uint32_t unit_offset(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }
static uint32_t unit_label(uint32_t u) { return u & ((1u << 31) | 0xFF); }
static int unit_has_leaf(uint32_t u) { return (u >> 8) & 1; }
static uint32_t unit_value(uint32_t u) { return u & ((1u << 31) - 1); }

const char *pc_lookup(const PcMap *m, const uint8_t *key, size_t n, size_t *len) {
    if (!m->n_units) return NULL;
    size_t pos = unit_offset(m->units[0]);
    for (size_t i = 0; i < n && key[i]; i++) {
        pos ^= key[i];
        if (pos >= m->n_units) return NULL;
        uint32_t u = m->units[pos];
        if (unit_label(u) != key[i]) return NULL;
        pos ^= unit_offset(u);
        if (!unit_has_leaf(u)) continue;
        if (pos >= m->n_units) return NULL;
        size_t v = unit_value(m->units[pos]);
        /* outside the strings, or inside a char: matches nothing */
        if (v > m->norm_len || (v < m->norm_len && ((unsigned char)m->norm[v] & 0xC0) == 0x80))
            return NULL;
        *len = strlen(m->norm + v); /* the strings end with a NUL we added */
        return m->norm + v;
    }
    return NULL;
}

/* ---- the normalizer ------------------------------------------------------ */

/* spm_precompiled's replace(): old_count chars become the UTF-8 rep[0..len)
 * (valid, from the blob). New chars beyond the old count are insertions; a
 * shorter replacement puts the removal on the last change so far. */
static int replace(NzChanges *c, int old_count, const char *rep, size_t len, PifiErr *err) {
    int new_count = 0;
    for (size_t i = 0; i < len;) {
        int32_t cp = utf8_next(rep, len, &i);
        if (nz_changes_push(c, cp, 0, err)) return -1;
        new_count++;
    }
    int diff = new_count - old_count;
    if (diff > 0)
        for (int k = 0; k < diff; k++) c->chg[c->n - 1 - k] = 1;
    else if (diff < 0 && c->n > 0)
        c->chg[c->n - 1] += diff;
    return 0;
}

int pc_normalize(const PcMap *m, NormText *t, int32_t base, PifiErr *err) {
    NzChanges c = {0};
    int modified = 0, rc = -1;
    int i = 0;
    while (i < t->n) {
        /* the grapheme cluster [i, j) */
        int j = i + 1;
        utf8proc_int32_t state = 0;
        while (j < t->n && !utf8proc_grapheme_break_stateful(t->cp[j - 1], t->cp[j], &state)) j++;
        uint8_t key[16];
        size_t klen = 0, len;
        for (int k = i; k < j && klen < 6; k++) klen += (size_t)utf8_put(t->cp[k], (char *)key + klen);
        const char *rep = klen < 6 ? pc_lookup(m, key, klen, &len) : NULL;
        if (rep) {
            modified = 1;
            if (replace(&c, j - i, rep, len, err)) goto done;
        } else {
            for (int k = i; k < j; k++) {
                klen = (size_t)utf8_put(t->cp[k], (char *)key);
                rep = pc_lookup(m, key, klen, &len);
                if (rep) modified = 1;
                if (rep ? replace(&c, 1, rep, len, err) : nz_changes_push(&c, t->cp[k], 0, err)) goto done;
            }
        }
        i = j;
    }
    rc = modified ? normtext_transform(t, c.cp, c.chg, c.n, 0, base, err) : 0;
done:
    free(c.cp);
    free(c.chg);
    return rc;
}
