/* utf8.h: strict UTF-8 validation (reporting where it first fails), decoding
 * and encoding of single code points. Strict means what Rust's str and
 * Python's codec accept: no overlong forms, no surrogates, nothing above
 * U+10FFFF. */
#ifndef PIFI_UTF8_H
#define PIFI_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* 1 if s[0..n) is valid UTF-8; else 0 with *bad = byte offset of the first
 * byte of the first invalid sequence. */
int utf8_valid(const char *s, size_t n, size_t *bad);

/* Decode the code point at s[*i] (s must be valid UTF-8 of n bytes) and
 * advance *i past it. */
int32_t utf8_next(const char *s, size_t n, size_t *i);

/* Bytes in the UTF-8 form of cp (1..4); cp must be a scalar value. */
int utf8_len(int32_t cp);

/* Write cp's UTF-8 form into out (room for 4) and return its length. */
int utf8_put(int32_t cp, char *out);

#endif
