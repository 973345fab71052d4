/* replace_regex.h: the small regular expressions tokenizer.json's Replace
 * normalizers use, matched the way HF's Oniguruma does (leftmost match, the
 * first alternative that matches there, greedy): alternatives separated by
 * '|', each [\A] ATOM [QUANT] [\z], where ATOM is a literal char (or an
 * escaped one), \s (White_Space) or a class [...] of those, and QUANT is
 * nothing, + or {n,}. That covers what transformers' converters write:
 * " {2,}", "\s{2,}|[\n\r\t]", "\A +| +\z", "\A▁". Anything else is refused
 * at load, naming the pattern. */
#ifndef PIFI_REPLACE_REGEX_H
#define PIFI_REPLACE_REGEX_H

#include <stdint.h>

#include "pifi/err.h"

#define RX_MAX_ALTS 8
#define RX_MAX_CLASS 16

typedef struct {
    int at_start, at_end;        /* \A, \z */
    int32_t set[RX_MAX_CLASS];   /* the chars the atom matches */
    int n_set;
    int space;                   /* the atom also matches White_Space (\s) */
    int min, max;                /* repetitions; max -1: unbounded */
} RxAlt;

typedef struct {
    RxAlt alt[RX_MAX_ALTS];
    int n_alt;
} Rx;

/* Parse re; file names the tokenizer in errors. */
int rx_parse(Rx *rx, const char *re, const char *file, PifiErr *err);

/* Length in chars of the match at char i of cp[0..n) (0: none). */
int rx_match_at(const Rx *rx, const int32_t *cp, int n, int i);

#endif
