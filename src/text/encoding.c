/* encoding.c: from the model tokens of one or two sequences to the final
 * PifiEncoding, as HF `tokenizers` post_process does it: truncate first
 * (max_length minus the special tokens the template will add), then apply
 * the template (special tokens, type ids), then pad on the right. */
#include <stdlib.h>
#include <string.h>

#include "text/tokenizer_impl.h"

void encoding_free(PifiEncoding *enc) {
    if (!enc) return;
    free(enc->ids);
    free(enc->type_ids);
    free(enc->attention_mask);
    free(enc->special_mask);
    free(enc->seq);
    free(enc->offsets);
    memset(enc, 0, sizeof *enc);
}

void post_proc_free(PostProc *p) {
    free(p->single);
    free(p->pair);
    memset(p, 0, sizeof *p);
}

static int reserve(PifiEncoding *enc, int n, PifiErr *err) {
    if (n <= enc->cap && enc->ids) return 0;
    int cap = n < 16 ? 16 : n;
    int32_t **arrs[] = {&enc->ids, &enc->type_ids, &enc->attention_mask, &enc->special_mask, &enc->seq};
    for (size_t k = 0; k < sizeof arrs / sizeof arrs[0]; k++) {
        int32_t *p = realloc(*arrs[k], (size_t)cap * sizeof *p);
        if (!p) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory building an encoding");
        *arrs[k] = p;
    }
    int32_t *o = realloc(enc->offsets, (size_t)cap * 2 * sizeof *o);
    if (!o) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory building an encoding");
    enc->offsets = o;
    enc->cap = cap;
    return 0;
}

static void put(PifiEncoding *enc, int32_t id, int32_t type, int32_t attn, int32_t special,
                int32_t seq, int32_t start, int32_t end) {
    int i = enc->n++;
    enc->ids[i] = id;
    enc->type_ids[i] = type;
    enc->attention_mask[i] = attn;
    enc->special_mask[i] = special;
    enc->seq[i] = seq;
    enc->offsets[2 * i] = start;
    enc->offsets[2 * i + 1] = end;
}

/* Special tokens the template adds for a single input or a pair. */
static int n_specials(const PostProc *p, int is_pair) {
    const TplPiece *t = is_pair ? p->pair : p->single;
    int n = is_pair ? p->n_pair : p->n_single, count = 0;
    for (int k = 0; k < n; k++)
        if (t[k].seq < 0) count += t[k].n_ids;
    return count;
}

/* HF truncate_encodings (direction right, no stride). */
static int truncate(TokBuf *a, TokBuf *b, PifiTruncation strategy, int max, PifiErr *err) {
    int total = a->n + (b ? b->n : 0);
    if (total <= max) return 0;
    int to_remove = total - max;
    if (strategy == PIFI_TRUNC_LONGEST_FIRST) {
        if (!b) {
            a->n = max;
            return 0;
        }
        int n1 = a->n, n2 = b->n, swap = 0;
        if (n1 > n2) {
            int t = n1;
            n1 = n2, n2 = t, swap = 1;
        }
        if (n1 > max) n2 = n1;
        else n2 = n1 > max - n1 ? n1 : max - n1;
        if (n1 + n2 > max) {
            n1 = max / 2;
            n2 = n1 + max % 2;
        }
        if (swap) {
            int t = n1;
            n1 = n2, n2 = t;
        }
        if (a->n > n1) a->n = n1;
        if (b->n > n2) b->n = n2;
        return 0;
    }
    TokBuf *target = strategy == PIFI_TRUNC_ONLY_FIRST ? a : b;
    if (!target) return pifi_errf(err, "truncation only_second: there is no second sequence");
    if (target->n <= to_remove)
        return pifi_errf(err, "truncation %s: the sequence is too short to fit max_length %d",
                         strategy == PIFI_TRUNC_ONLY_FIRST ? "only_first" : "only_second", max);
    target->n -= to_remove;
    return 0;
}

int tk_build_encoding(const PifiTokenizer *tk, TokBuf *a, TokBuf *b, const PifiEncodeOpts *o,
                      PifiEncoding *enc, PifiErr *err) {
    const PostProc *p = &tk->post;
    int is_pair = b != NULL;
    if (o->max_length < 0 || o->pad_to < 0)
        return pifi_errf(err, "encode options: max_length and pad_to must not be negative");
    if (o->truncation != PIFI_TRUNC_NONE && o->max_length > 0) {
        int max = o->max_length;
        if (o->add_special_tokens) max -= n_specials(p, is_pair);
        if (max < 0)
            return pifi_errf(err, "max_length %d leaves no room for the %d special tokens",
                             o->max_length, n_specials(p, is_pair));
        if (max == 0) {
            a->n = 0;
            if (b) b->n = 0;
        } else if (truncate(a, b, o->truncation, max, err)) {
            return -1;
        }
    }
    const TplPiece *tpl = is_pair ? p->pair : p->single;
    int ntpl = is_pair ? p->n_pair : p->n_single;
    int n = a->n + (b ? b->n : 0) + (o->add_special_tokens ? n_specials(p, is_pair) : 0);
    int total = n > o->pad_to ? n : o->pad_to;
    enc->n = 0;
    if (reserve(enc, total, err)) return -1;
    for (int k = 0; k < ntpl; k++) {
        const TplPiece *t = &tpl[k];
        if (t->seq < 0) {
            if (!o->add_special_tokens) continue;
            for (int j = 0; j < t->n_ids; j++) put(enc, t->ids[j], t->type_id, 1, 1, -1, 0, 0);
            continue;
        }
        const TokBuf *s = t->seq == 0 ? a : b;
        if (!s) continue;
        for (int j = 0; j < s->n; j++)
            put(enc, s->ids[j], t->type_id, 1, 0, t->seq, s->start[j], s->end[j]);
    }
    while (enc->n < total) put(enc, tk->pad_id, tk->pad_type_id, 0, 1, -1, 0, 0);
    return 0;
}
