/* wordnet.h: what METEOR asks of WordNet (wordnet.c; wordnet_open and
 * wordnet_free are in pifi/nlg_metrics.h). */
#ifndef PIFI_WORDNET_H
#define PIFI_WORDNET_H

#include <stddef.h>

#include "pifi/nlg_metrics.h"

/* data.POS, index.POS, POS.exc for noun, verb, adj, adv */
#define WORDNET_FILES 12

/* WordNet from the twelve files' text (buf[3 p]: data.POS, 3 p + 1:
 * index.POS, 3 p + 2: POS.exc, p = noun, verb, adj, adv), the buffers
 * taken over (freed on failure too); wordnet_open reads them from a
 * folder. Errors: "<file>: line N: <what>". */
int wordnet_from_buffers(char *buf[WORDNET_FILES], const size_t len[WORDNET_FILES], WordNet **out, PifiErr *err);

/* Every lemma name of every synset of NLTK's wordnet.synsets(word) (all
 * four parts of speech, each form morphy finds, syntactic markers such as
 * "(a)" removed), in NLTK's order, repeats kept; fn is called once per
 * name and stops the walk by returning nonzero (that value returned). The
 * word is taken as it is (NLTK lowercases it first: callers pass lowercase
 * words). */
int wordnet_synonyms(const WordNet *wn, const char *word, int (*fn)(void *ctx, const char *name), void *ctx);

#endif
