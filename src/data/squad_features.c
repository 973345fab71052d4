/* squad_features.c: SQuAD questions as model inputs, the way Hugging Face's
 * run_qa.py prepares them: the question and its context as one pair, the
 * context cut into windows of what fits beside the question (truncation
 * only_second), consecutive windows overlapping by doc_stride tokens; each
 * window keeps its context tokens' byte offsets (to cut answers out of the
 * context later) and, for training, the gold answer's first and last token,
 * or the first token (CLS) when the answer is not wholly inside the window.
 *
 * The pair is encoded once with the tokenizer's own special tokens; a
 * window is the tokens before the context (specials, question, separators),
 * a run of context tokens, and the tokens after it, so every tokenizer
 * family lays its windows out as it lays out any pair. */
#include "pifi/squad_features.h"

#include <stdlib.h>
#include <string.h>

#include "pifi/tokenizer.h"

static int grow(SquadFeatures *f, int n, int T, PifiErr *err) {
    if (n <= f->cap) return 0;
    int cap = f->cap ? 2 * f->cap : 256;
    while (cap < n) cap *= 2;
    size_t nt = (size_t)cap * (size_t)T;
    int32_t *ids = realloc(f->ids, nt * sizeof *ids);
    if (ids) f->ids = ids;
    int32_t *types = realloc(f->types, nt * sizeof *types);
    if (types) f->types = types;
    int32_t *mask = realloc(f->mask, nt * sizeof *mask);
    if (mask) f->mask = mask;
    int32_t *off = realloc(f->offsets, 2 * nt * sizeof *off);
    if (off) f->offsets = off;
    int32_t *q = realloc(f->question, (size_t)cap * sizeof *q);
    if (q) f->question = q;
    int32_t *s = realloc(f->start, (size_t)cap * sizeof *s);
    if (s) f->start = s;
    int32_t *e = realloc(f->end, (size_t)cap * sizeof *e);
    if (e) f->end = e;
    if (!ids || !types || !mask || !off || !q || !s || !e) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    f->cap = cap;
    return 0;
}

/* The gold answer's token span in window w (context tokens [c0, c1) of the
 * window at positions [p0, p0 + c1 - c0)), or CLS (0, 0). */
static void label(SquadFeatures *f, int w, const PifiEncoding *e, int c0, int c1, int p0, int64_t a0, int64_t a1) {
    f->start[w] = f->end[w] = 0;
    if (a0 < 0 || c0 >= c1 || e->offsets[2 * c0] > a0 || e->offsets[2 * (c1 - 1) + 1] < a1) return;
    int s = c0, t = c1 - 1;
    while (s < c1 && e->offsets[2 * s + 1] <= a0) s++; /* the first token ending after the answer starts */
    while (t >= c0 && e->offsets[2 * t] >= a1) t--;    /* the last token starting before it ends */
    if (s > t) return;
    f->start[w] = p0 + (s - c0);
    f->end[w] = p0 + (t - c0);
}

int squad_features(const SquadData *d, const PifiTokenizer *tk, int max_len, int doc_stride, SquadFeatures *f,
                   const char *what, PifiErr *err) {
    memset(f, 0, sizeof *f);
    f->T = max_len;
    PifiEncodeOpts o = pifi_encode_opts_default();
    PifiEncoding e = {0};
    int pad = tokenizer_pad_id(tk), rc = 0;
    for (int qi = 0; qi < d->n && rc == 0; qi++) {
        const SquadQuestion *q = &d->q[qi];
        if (tokenizer_encode(tk, q->question, d->contexts[q->context], &o, &e, err)) {
            rc = pifi_err_prefix(err, what);
            break;
        }
        int c0 = -1, c1 = -1; /* the context's tokens [c0, c1) */
        for (int i = 0; i < e.n; i++)
            if (e.seq[i] == 1) {
                if (c0 < 0) c0 = i;
                c1 = i + 1;
            }
        if (c0 < 0) {
            rc = pifi_errf(err, "%s: question %s: its context has no tokens", what, q->id);
            break;
        }
        int pre = c0, post = e.n - c1, room = max_len - pre - post;
        if (room < 1) {
            rc = pifi_errf(err, "%s: question %s: the question takes %d of the %d tokens of --max-len, leaving no "
                           "room for its context", what, q->id, pre + post, max_len);
            break;
        }
        if (doc_stride >= room) {
            rc = pifi_errf(err, "%s: question %s: --doc-stride %d must be under the %d context tokens a window "
                           "holds beside this question (--max-len %d)", what, q->id, doc_stride, room, max_len);
            break;
        }
        int64_t a0 = q->starts[0], a1 = a0 + (int64_t)strlen(q->answers[0]);
        for (int s = c0;; s += room - doc_stride) {
            int end = s + room < c1 ? s + room : c1, w = f->n;
            if (grow(f, w + 1, max_len, err)) {
                rc = -1;
                break;
            }
            int32_t *ids = f->ids + (size_t)w * max_len, *ty = f->types + (size_t)w * max_len;
            int32_t *mk = f->mask + (size_t)w * max_len, *of = f->offsets + (size_t)w * max_len * 2;
            int t = 0;
            /* the tokens before the context, a window of it, the tokens after it */
            const int span[3][2] = {{0, pre}, {s, end}, {c1, e.n}};
            for (int part = 0; part < 3; part++)
                for (int i = span[part][0]; i < span[part][1]; i++, t++) {
                    ids[t] = e.ids[i], ty[t] = e.type_ids[i];
                    of[2 * t] = part == 1 ? e.offsets[2 * i] : -1;
                    of[2 * t + 1] = part == 1 ? e.offsets[2 * i + 1] : -1;
                }
            for (int i = 0; i < max_len; i++) mk[i] = i < t;
            for (; t < max_len; t++) ids[t] = pad, ty[t] = 0, of[2 * t] = of[2 * t + 1] = -1;
            f->question[w] = qi;
            label(f, w, &e, s, end, pre, a0, a1);
            f->n++;
            if (end == c1) break;
        }
    }
    encoding_free(&e);
    if (rc) squad_features_free(f);
    return rc;
}

void squad_features_free(SquadFeatures *f) {
    free(f->ids), free(f->types), free(f->mask), free(f->offsets), free(f->question), free(f->start), free(f->end);
    memset(f, 0, sizeof *f);
}
