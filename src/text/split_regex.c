/* split_regex.c: the Llama-3 and Qwen2 Split regexes written out by hand
 * (split_regex.h), one alternative after the other as Oniguruma tries them. */
#include "text/split_regex.h"

#include <string.h>

#include "text/bytelevel.h"

#define LLAMA3_PATTERN_HEAD "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
#define LLAMA3_PATTERN_TAIL "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

const SplitRegexInfo SPLIT_REGEXES[] = {
    {SPLIT_LLAMA3, "llama3", LLAMA3_PATTERN_HEAD "\\p{N}{1,3}" LLAMA3_PATTERN_TAIL,
     {"llama3", "llama-v3", "llama-bpe", NULL}, 1},
    {SPLIT_QWEN2, "qwen2", LLAMA3_PATTERN_HEAD "\\p{N}" LLAMA3_PATTERN_TAIL,
     {"qwen2", "deepseek-r1-qwen", NULL}, 0},
};
const int SPLIT_REGEX_COUNT = (int)(sizeof SPLIT_REGEXES / sizeof SPLIT_REGEXES[0]);

const SplitRegexInfo *split_regex_by_pattern(const char *pattern) {
    for (int i = 0; i < SPLIT_REGEX_COUNT; i++)
        if (!strcmp(SPLIT_REGEXES[i].pattern, pattern)) return &SPLIT_REGEXES[i];
    return NULL;
}

const SplitRegexInfo *split_regex_by_gguf_pre(const char *pre) {
    for (int i = 0; i < SPLIT_REGEX_COUNT; i++)
        for (const char *const *p = SPLIT_REGEXES[i].gguf_pre; *p; p++)
            if (!strcmp(*p, pre)) return &SPLIT_REGEXES[i];
    return NULL;
}

static BlClass class_at(const char *text, size_t len, size_t pos, int32_t *cp, size_t *n) {
    *n = bytelevel_char_at(text, len, pos, cp);
    return bytelevel_class(*cp);
}

/* End of the run of characters of class cls starting at pos, at most max
 * characters (0: no limit). */
static size_t run_end(const char *text, size_t len, size_t pos, BlClass cls, int max) {
    for (int k = 0; pos < len && (max == 0 || k < max); k++) {
        int32_t cp;
        size_t n;
        if (class_at(text, len, pos, &cp, &n) != cls) break;
        pos += n;
    }
    return pos;
}

static int is_crlf(int32_t c) { return c == '\r' || c == '\n'; }

/* (?i:'s|'t|'re|'ve|'m|'ll|'d) after the apostrophe at p - 1: the end of the
 * match, 0 when none. Oniguruma's case folding adds U+017F to 's'. */
static size_t contraction_end(const char *text, size_t len, size_t p) {
    int32_t c;
    size_t n = bytelevel_char_at(text, len, p, &c);
    int32_t lc = c >= 'A' && c <= 'Z' ? c + 32 : c;
    if (lc == 's' || c == 0x17F || lc == 't' || lc == 'm' || lc == 'd') return p + n;
    if (p + 1 >= len) return 0;
    char b = (char)(text[p + 1] | 0x20); /* ASCII letters only below */
    if ((lc == 'r' || lc == 'v') && b == 'e') return p + 2;
    if (lc == 'l' && b == 'l') return p + 2;
    return 0;
}

size_t split_regex_next(SplitRegex r, const char *text, size_t len, size_t pos) {
    int32_t c0, c1;
    size_t n0, n1;
    BlClass k0 = class_at(text, len, pos, &c0, &n0);
    /* (?i:'s|'t|'re|'ve|'m|'ll|'d) */
    if (c0 == '\'' && pos + 1 < len) {
        size_t e = contraction_end(text, len, pos + 1);
        if (e) return e;
    }
    /* [^\r\n\p{L}\p{N}]?\p{L}+ */
    if (k0 == BL_LETTER) return run_end(text, len, pos, BL_LETTER, 0);
    if (k0 != BL_NUMBER && !is_crlf(c0) && pos + n0 < len &&
        class_at(text, len, pos + n0, &c1, &n1) == BL_LETTER)
        return run_end(text, len, pos + n0, BL_LETTER, 0);
    /* \p{N}{1,3} | \p{N} */
    if (k0 == BL_NUMBER) return run_end(text, len, pos, BL_NUMBER, r == SPLIT_QWEN2 ? 1 : 3);
    /*  ?[^\s\p{L}\p{N}]+[\r\n]* */
    size_t p = pos;
    if (c0 == ' ' && pos + 1 < len && class_at(text, len, pos + 1, &c1, &n1) == BL_OTHER) p = pos + 1;
    if (p > pos || k0 == BL_OTHER) {
        size_t e = run_end(text, len, p, BL_OTHER, 0);
        while (e < len && is_crlf(text[e])) e++;
        return e;
    }
    /* Only whitespace is left. \s*[\r\n]+ : the run up to and including its
     * last \r or \n, when it has one. */
    size_t end = pos, last = pos, crlf_end = 0;
    while (end < len) {
        int32_t c;
        size_t n;
        if (class_at(text, len, end, &c, &n) != BL_SPACE) break;
        if (is_crlf(c)) crlf_end = end + n;
        last = end;
        end += n;
    }
    if (crlf_end) return crlf_end;
    /* \s+(?!\S)|\s+ : the run, less its last character when a non-space
     * follows and at least one character would remain. */
    if (end < len && last > pos) return last;
    return end;
}
