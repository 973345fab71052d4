/* fuzz_wordnet.c: libFuzzer harness of WordNet's dict-file reader
 * (src/data/wordnet.c) on hostile files: the input, cut at its NUL bytes,
 * is data.noun, index.noun, noun.exc, data.verb, ... (12 files; missing ones
 * empty). A failure must leave a one-line message; a WordNet that loads
 * must answer synonym walks and METEOR (within [0, 1]) on words from its
 * own files and a fixed sentence. */
#include "fuzz_common.h"

#include "data/wordnet.h"
#include "pifi/nlg_metrics.h"

static int count(void *ctx, const char *name) {
    (void)name;
    ++*(size_t *)ctx;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *buf[WORDNET_FILES];
    size_t len[WORDNET_FILES], at = 0;
    for (int i = 0; i < WORDNET_FILES; i++) {
        const uint8_t *e = at < size ? memchr(data + at, 0, size - at) : NULL;
        size_t n = at < size ? (e ? (size_t)(e - (data + at)) : size - at) : 0;
        if (!(buf[i] = malloc(n + 1))) fz_die("out of memory");
        if (n) memcpy(buf[i], data + at, n);
        buf[i][n] = '\0';
        len[i] = n;
        at += n + 1;
    }
    /* words to ask about: the first token of each line of every file */
    char words[64][32];
    int nw = 0;
    for (int i = 0; i < WORDNET_FILES && nw < 64; i++)
        for (const char *p = buf[i]; p && *p && nw < 64;) {
            size_t k = strcspn(p, " \t\n");
            if (k && k < 32) memcpy(words[nw], p, k), words[nw++][k] = '\0';
            p = strchr(p, '\n');
            p = p ? p + 1 : NULL;
        }
    WordNet *wn;
    PifiErr err = {0};
    if (wordnet_from_buffers(buf, len, &wn, &err)) {
        fz_check_err(&err, "wordnet_from_buffers");
        return 0;
    }
    size_t n = 0;
    for (int i = 0; i < nw; i++)
        if (wordnet_synonyms(wn, words[i], count, &n)) fz_die("wordnet_synonyms: out of memory");
    char hyp[64 * 33] = "", ref[64 * 33] = "the dogs were running quickly";
    for (int i = 0; i < nw; i++) strcat(hyp, words[i]), strcat(hyp, " ");
    const char *refs[1] = {ref};
    double m;
    if (meteor_segment(wn, hyp, refs, 1, &m, &err)) fz_die("meteor_segment failed");
    if (!(m >= 0 && m <= 1)) fz_die("METEOR outside [0, 1]");
    wordnet_free(wn);
    return 0;
}
