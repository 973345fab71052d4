/* fuzz_mt_metrics.c: libFuzzer harness of the translation metrics
 * (src/data/bleu.c, chrf.c) on hostile text: the input, cut at its NUL
 * bytes, is hypothesis, reference, hypothesis, reference, ... (bytes that
 * are not UTF-8 become U+FFFD, as the metrics read them). BLEU and chrF
 * must land in [0, 100], the 13a tokenizer must give single-spaced text,
 * and a corpus scored against itself must score 100 where it has any
 * 4-gram. */
#include "fuzz_common.h"
#include <math.h>

#include "pifi/mt_metrics.h"

#define MAXSEG 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *seg[2 * MAXSEG], *hyp[MAXSEG], *ref[MAXSEG];
    int n, pairs;
    char *buf = fz_segments(data, size, seg, 2 * MAXSEG, &n, hyp, ref, &pairs);
    if (!buf) return 0;
    for (int i = 0; i < n; i++) {
        char *t = bleu_tokenize_13a(seg[i]);
        if (!t) fz_die("13a: out of memory");
        size_t L = strlen(t);
        if (L && (t[0] == ' ' || t[L - 1] == ' ' || strstr(t, "  "))) fz_die("13a: not single-spaced");
        free(t);
    }
    const char *const *refs[1] = {ref};
    BleuScore b;
    ChrfScore c;
    PifiErr err = {0};
    if (bleu_corpus(hyp, pairs, refs, 1, &b, &err) || !(b.score >= 0 && b.score <= 100.0000001))
        fz_die("BLEU outside [0, 100]");
    if (chrf_corpus(hyp, pairs, refs, 1, &c, &err) || !(c.score >= 0 && c.score <= 100.0000001))
        fz_die("chrF outside [0, 100]");
    const char *const *self[1] = {hyp};
    if (bleu_corpus(hyp, pairs, self, 1, &b, &err)) fz_die("BLEU failed");
    if (b.totals[3] > 0 && fabs(b.score - 100) > 1e-9) fz_die("a corpus against itself is not BLEU 100");
    free(buf);
    return 0;
}
