/* fuzz_nlg_metrics.c: libFuzzer harness of ROUGE, METEOR (without WordNet),
 * COCO BLEU and NLTK's Porter stemmer (src/data/rouge.c, meteor.c,
 * coco_bleu.c, porter.c) on
 * hostile text: the input, cut at its NUL bytes, is hypothesis, reference,
 * hypothesis, reference, ... (bytes that are not UTF-8 become U+FFFD).
 * Every precision, recall and F-measure, METEOR and BLEU-k must land in
 * [0, 1], a corpus against itself must have ROUGE-1 and ROUGE-L recall 1
 * wherever a segment has a token and BLEU-4 1 where it has a 4-gram, and a
 * stem is never longer than its word. */
#include "fuzz_common.h"

#include "core/pystr.h"
#include "data/porter.h"
#include "pifi/nlg_metrics.h"

#define MAXSEG 64

static int in01(double v) { return v >= 0 && v <= 1.0000000001; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *seg[2 * MAXSEG], *hyp[MAXSEG], *ref[MAXSEG];
    int n, pairs;
    char *buf = fz_segments(data, size, seg, 2 * MAXSEG, &n, hyp, ref, &pairs);
    if (!buf) return 0;
    /* the stemmer on every whitespace-separated word */
    PyStr s = {0};
    if (pystr_decode(&s, buf, strlen(buf))) fz_die("out of memory");
    for (size_t i = 0; i < s.n;) {
        while (i < s.n && pystr_isspace(s.c[i])) i++;
        size_t j = i;
        while (j < s.n && !pystr_isspace(s.c[j])) j++;
        PyStr w = {0};
        for (size_t k = i; k < j; k++)
            if (pystr_push(&w, s.c[k])) fz_die("out of memory");
        size_t before = w.n;
        if (porter_stem(&w)) fz_die("porter: out of memory");
        if (w.n > before) fz_die("a stem longer than its word");
        pystr_free(&w);
        i = j;
    }
    pystr_free(&s);
    if (pairs > 0) {
        PifiErr err = {0};
        RougePRF r[ROUGE_TYPES];
        const char *const *refs[1] = {ref}, *const *self[1] = {hyp};
        for (int stem = 0; stem < 2; stem++) {
            if (rouge_corpus(hyp, pairs, refs, 1, stem, r, &err)) fz_die("rouge_corpus failed");
            for (int t = 0; t < ROUGE_TYPES; t++)
                if (!in01(r[t].precision) || !in01(r[t].recall) || !in01(r[t].fmeasure)) fz_die("ROUGE outside [0, 1]");
            for (int i = 0; i < pairs; i++) {
                const char *one[1] = {hyp[i]};
                if (rouge_segment(hyp[i], one, 1, stem, r, &err)) fz_die("rouge_segment failed");
                if (r[ROUGE_1].recall != 0 && (r[ROUGE_1].recall != 1 || r[ROUGE_L].recall != 1))
                    fz_die("a segment against itself has ROUGE-1 or ROUGE-L recall below 1");
            }
        }
        CocoBleu b;
        if (coco_bleu_corpus(hyp, pairs, refs, 1, &b, &err)) fz_die("coco_bleu_corpus failed");
        for (int k = 0; k < 4; k++)
            if (!in01(b.bleu[k])) fz_die("COCO BLEU outside [0, 1]");
        if (coco_bleu_corpus(hyp, pairs, self, 1, &b, &err)) fz_die("coco_bleu_corpus failed");
        if (b.guess[3] > 0 && !(b.bleu[3] > 0.999999)) fz_die("a corpus against itself is not COCO BLEU-4 1");
        double m;
        if (meteor_corpus(NULL, hyp, pairs, refs, 1, &m, &err) || !in01(m)) fz_die("METEOR outside [0, 1]");
        if (meteor_corpus(NULL, hyp, pairs, self, 1, &m, &err) || !in01(m)) fz_die("METEOR outside [0, 1]");
    }
    free(buf);
    return 0;
}
