/* bytelevel.c: GPT-2's byte-to-unicode map, the GPT-2 regex split written out
 * by hand, and ByteLevel offset trimming, matching HF `tokenizers`.
 * See bytelevel.h for what each part does. */
#include "text/bytelevel.h"

#include <string.h>
#include <utf8proc.h>

/* Letters (L) and numbers (N) that Unicode 16 added and the Oniguruma inside
 * `tokenizers` 0.2x already knows, but utf8proc 2.8 (Unicode 15) calls
 * unassigned. Used only for code points utf8proc says are unassigned. */
static const struct {
    int32_t lo, hi;
    BlClass cls;
} bl_unicode16[] = {
    {0x1C89, 0x1C8A, BL_LETTER},   {0xA7CB, 0xA7CD, BL_LETTER},   {0xA7DA, 0xA7DC, BL_LETTER},
    {0x105C0, 0x105F3, BL_LETTER}, {0x10D40, 0x10D49, BL_NUMBER}, {0x10D4A, 0x10D65, BL_LETTER},
    {0x10D6F, 0x10D85, BL_LETTER}, {0x10EC2, 0x10EC4, BL_LETTER}, {0x11380, 0x11389, BL_LETTER},
    {0x1138B, 0x1138B, BL_LETTER}, {0x1138E, 0x1138E, BL_LETTER}, {0x11390, 0x113B5, BL_LETTER},
    {0x113B7, 0x113B7, BL_LETTER}, {0x113D1, 0x113D1, BL_LETTER}, {0x113D3, 0x113D3, BL_LETTER},
    {0x116D0, 0x116E3, BL_NUMBER}, {0x11BC0, 0x11BE0, BL_LETTER}, {0x11BF0, 0x11BF9, BL_NUMBER},
    {0x13460, 0x143FA, BL_LETTER}, {0x16100, 0x1611D, BL_LETTER}, {0x16130, 0x16139, BL_NUMBER},
    {0x16D40, 0x16D6C, BL_LETTER}, {0x16D70, 0x16D79, BL_NUMBER}, {0x18CFF, 0x18CFF, BL_LETTER},
    {0x1CCF0, 0x1CCF9, BL_NUMBER}, {0x1E5D0, 0x1E5ED, BL_LETTER}, {0x1E5F0, 0x1E5F0, BL_LETTER},
    {0x1E5F1, 0x1E5FA, BL_NUMBER}, {0x2EBF0, 0x2EE5D, BL_LETTER},
};

/* Unicode White_Space: what Oniguruma's \s and Rust's char::is_whitespace
 * accept. */
static int bl_is_space(int32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

BlClass bytelevel_class(int32_t cp) {
    if (cp < 0) return BL_OTHER;
    if (bl_is_space(cp)) return BL_SPACE;
    utf8proc_category_t cat = utf8proc_category(cp);
    if (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) return BL_LETTER;
    if (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO) return BL_NUMBER;
    if (cat == UTF8PROC_CATEGORY_CN) {
        for (size_t i = 0; i < sizeof bl_unicode16 / sizeof bl_unicode16[0]; i++)
            if (cp >= bl_unicode16[i].lo && cp <= bl_unicode16[i].hi) return bl_unicode16[i].cls;
    }
    return BL_OTHER;
}

uint32_t bytelevel_char(uint8_t b) {
    if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE) return b;
    /* The 68 other bytes, in order, take U+0100 onwards. */
    if (b <= 0x20) return 0x100u + b;
    if (b <= 0xA0) return 0x100u + 33 + (b - 0x7Fu);
    return 0x100u + 67; /* 0xAD */
}

int bytelevel_utf8(uint8_t b, char out[2]) {
    uint32_t c = bytelevel_char(b);
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    out[0] = (char)(0xC0 | (c >> 6));
    out[1] = (char)(0x80 | (c & 0x3F));
    return 2;
}

size_t bytelevel_char_at(const char *text, size_t len, size_t pos, int32_t *cp) {
    utf8proc_int32_t c;
    utf8proc_ssize_t n =
        utf8proc_iterate((const utf8proc_uint8_t *)text + pos, (utf8proc_ssize_t)(len - pos), &c);
    if (n <= 0) {
        *cp = -1;
        return 1;
    }
    *cp = c;
    return (size_t)n;
}

static BlClass class_at(const char *text, size_t len, size_t pos, size_t *n) {
    int32_t cp;
    *n = bytelevel_char_at(text, len, pos, &cp);
    return bytelevel_class(cp);
}

/* End of the run of characters of class cls starting at pos. */
static size_t run_end(const char *text, size_t len, size_t pos, BlClass cls) {
    while (pos < len) {
        size_t n;
        if (class_at(text, len, pos, &n) != cls) break;
        pos += n;
    }
    return pos;
}

size_t bytelevel_next_piece(const char *text, size_t len, size_t pos) {
    /* 's|'t|'re|'ve|'m|'ll|'d (lower case only) */
    if (text[pos] == '\'' && pos + 1 < len) {
        char a = text[pos + 1], b = pos + 2 < len ? text[pos + 2] : 0;
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return pos + 2;
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
            return pos + 3;
    }
    /*  ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+ : an optional ASCII space, then a
     * run of one class. */
    size_t n;
    BlClass c0 = class_at(text, len, pos, &n);
    if (text[pos] == ' ' && pos + 1 < len) {
        size_t n1;
        BlClass c1 = class_at(text, len, pos + 1, &n1);
        if (c1 != BL_SPACE) return run_end(text, len, pos + 1, c1);
    }
    if (c0 != BL_SPACE) return run_end(text, len, pos, c0);
    /* \s+(?!\S)|\s+ : a whitespace run, less its last character when a
     * non-space follows and at least one character would remain. */
    size_t last = pos, end = pos;
    while (end < len) {
        if (class_at(text, len, end, &n) != BL_SPACE) break;
        last = end;
        end += n;
    }
    if (end < len && last > pos) return last;
    return end;
}

/* Does process_offsets trim this token character: 'Ġ' or whitespace? */
static int trim_char(int32_t cp) { return cp == 0x120 || bl_is_space(cp); }

void bytelevel_trim_offsets(const char *text, size_t len, const char *token, int is_first,
                            int add_prefix_space, int32_t *start, int32_t *end) {
    /* Count leading and trailing trim characters of the token. */
    size_t tlen = strlen(token);
    int leading = 0, trailing = 0, run = 0;
    int in_lead = 1;
    for (size_t i = 0; i < tlen;) {
        int32_t cp;
        i += bytelevel_char_at(token, tlen, i, &cp);
        if (trim_char(cp)) {
            run++;
            if (in_lead) leading++;
        } else {
            run = 0;
            in_lead = 0;
        }
    }
    trailing = run;
    if (leading == 0 && trailing == 0) return;
    if (*start < 0 || *end < *start || (size_t)*end > len) return;
    if (leading > 0) {
        if (is_first && add_prefix_space && leading == 1) leading = 0;
        /* start = min(start + leading chars, end) */
        size_t s = (size_t)*start;
        for (int k = 0; k < leading && s < (size_t)*end; k++) {
            int32_t cp;
            s += bytelevel_char_at(text, len, s, &cp);
        }
        if (s > (size_t)*end) s = (size_t)*end;
        *start = (int32_t)s;
    }
    if (trailing > 0) {
        /* if end (in chars) >= trailing: end = max(end - trailing chars, start) */
        size_t e = (size_t)*end;
        int k = 0;
        for (; k < trailing && e > 0; k++) {
            e--;
            while (e > 0 && ((unsigned char)text[e] & 0xC0) == 0x80)
                e--;
        }
        if (k == trailing) *end = e < (size_t)*start ? *start : (int32_t)e;
    }
}
