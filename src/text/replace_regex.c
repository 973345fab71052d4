/* replace_regex.c: parsing and matching of the Replace normalizer's
 * regexes (replace_regex.h). */
#include "text/replace_regex.h"

#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "text/bert_normalizer.h"

static int unsupported(const char *re, const char *file, PifiErr *err) {
    return pifi_errf(err,
                     "%s: normalizer Replace: regex \"%.64s\" is not supported (alternatives of one char, "
                     "\\s or [class], repeated by + or {n,}, with \\A or \\z)",
                     file, re);
}

/* One escaped char after '\\' at s[*i]: its value, or -2 for \s, -1 if not one we know. */
static int32_t escape(const char *s, size_t n, size_t *i) {
    if (*i >= n) return -1;
    int32_t c = utf8_next(s, n, i);
    switch (c) {
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'f': return '\f';
    case 'v': return '\v';
    case 's': return -2;
    default: return strchr("\\.^$|?*+()[]{}- /", (int)c) ? c : -1;
    }
}

static int add_char(RxAlt *a, int32_t c) {
    if (c == -2) return a->space = 1, 0;
    if (c < 0 || a->n_set == RX_MAX_CLASS) return -1;
    a->set[a->n_set++] = c;
    return 0;
}

/* One alternative s[0..n). */
static int parse_alt(RxAlt *a, const char *s, size_t n) {
    size_t i = 0;
    memset(a, 0, sizeof *a);
    if (n >= 2 && s[0] == '\\' && s[1] == 'A') a->at_start = 1, i = 2;
    if (n >= i + 2 && s[n - 2] == '\\' && s[n - 1] == 'z') a->at_end = 1, n -= 2;
    if (i >= n) return -1;
    if (s[i] == '[') { /* a class of chars and escapes */
        i++;
        while (i < n && s[i] != ']') {
            int32_t c;
            if (s[i] == '\\') i++, c = escape(s, n, &i);
            else if (s[i] == '^' || s[i] == '[' || s[i] == '-') return -1;
            else c = utf8_next(s, n, &i);
            if (add_char(a, c)) return -1;
        }
        if (i >= n || a->n_set + a->space == 0) return -1;
        i++;
    } else {
        int32_t c;
        if (s[i] == '\\') i++, c = escape(s, n, &i);
        else if (strchr(".^$|?*+()[]{}", s[i])) return -1;
        else c = utf8_next(s, n, &i);
        if (add_char(a, c)) return -1;
    }
    a->min = a->max = 1;
    if (i < n && s[i] == '+') {
        a->max = -1, i++;
    } else if (i < n && s[i] == '{') {
        char *end;
        long m = strtol(s + i + 1, &end, 10);
        if (end == s + i + 1 || (size_t)(end - s) + 2 > n || end[0] != ',' || end[1] != '}' || m < 1 || m > 1000)
            return -1;
        a->min = (int)m, a->max = -1;
        i = (size_t)(end - s) + 2;
    }
    return i == n ? 0 : -1;
}

int rx_parse(Rx *rx, const char *re, const char *file, PifiErr *err) {
    memset(rx, 0, sizeof *rx);
    size_t n = strlen(re), from = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && re[i] == '\\') { /* an escape is never a separator */
            i++;
            continue;
        }
        if (i < n && re[i] != '|') continue;
        if (rx->n_alt == RX_MAX_ALTS || parse_alt(&rx->alt[rx->n_alt], re + from, i - from))
            return unsupported(re, file, err);
        rx->n_alt++;
        from = i + 1;
    }
    return 0;
}

static int atom_has(const RxAlt *a, int32_t c) {
    if (a->space && uc_is_whitespace(c)) return 1;
    for (int k = 0; k < a->n_set; k++)
        if (a->set[k] == c) return 1;
    return 0;
}

int rx_match_at(const Rx *rx, const int32_t *cp, int n, int i) {
    for (int k = 0; k < rx->n_alt; k++) {
        const RxAlt *a = &rx->alt[k];
        if (a->at_start && i != 0) continue;
        int j = i;
        while (j < n && (a->max < 0 || j - i < a->max) && atom_has(a, cp[j])) j++;
        if (j - i < a->min) continue;
        if (a->at_end && j != n) continue; /* a shorter run ends earlier: no match either */
        return j - i;
    }
    return 0;
}
