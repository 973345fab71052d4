/* porter.h: NLTK's PorterStemmer in its default mode, NLTK_EXTENSIONS
 * (nltk/stem/porter.py, NLTK 3.10), the stemmer of rouge-score's
 * use_stemmer=True and of NLTK's METEOR. */
#ifndef PIFI_PORTER_H
#define PIFI_PORTER_H

#include "core/pystr.h"

/* PorterStemmer().stem(w) of an already lowercase word (both callers lower
 * first, and Python's lower() of a lowercase word is the word), in place,
 * on code points: lengths count code points as Python's len() does, and any
 * code point other than a, e, i, o, u, y is a consonant. -1: out of memory. */
int porter_stem(PyStr *w);

#endif
