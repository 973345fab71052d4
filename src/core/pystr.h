/* pystr.h: text as Python's str sees it, for the metrics whose reference
 * implementations are Python scripts (SQuAD's official evaluation,
 * sacreBLEU, rouge-score, NLTK): a growable array of code points, decoding
 * (an invalid UTF-8 byte becomes U+FFFD), encoding back, str.lower() and
 * str.isspace(). */
#ifndef PIFI_PYSTR_H
#define PIFI_PYSTR_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int32_t *c;
    size_t n, cap;
} PyStr;

/* Append one code point; -1 when out of memory. */
int pystr_push(PyStr *s, int32_t c);
/* Append the code points of the UTF-8 text t (n bytes). */
int pystr_decode(PyStr *s, const char *t, size_t n);
/* The code points of s[from, to) as a new UTF-8 string (NULL: out of memory). */
char *pystr_encode(const PyStr *s, size_t from, size_t to);
void pystr_free(PyStr *s);

/* str.lower() of s appended to out: the full lowercase mapping (U+0130 ->
 * "i\u0307", capital sigma -> final sigma at the end of a word), every
 * other code point by its simple mapping (utf8proc). -1: out of memory. */
int pystr_lower(const PyStr *s, PyStr *out);

/* str.isspace(): Unicode White_Space plus the ASCII separators \x1c-\x1f. */
int pystr_isspace(int32_t c);

#endif
