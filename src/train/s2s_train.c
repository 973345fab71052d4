/* s2s_train.c: the teacher-forcing step, the validation loss and greedy
 * decoding of an encoder-decoder (s2s_train.h). */
#include "train/s2s_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/fileio.h"
#include "train/loss.h"

int s2s_trainer_init(S2STrainer *t, Seq2Seq *m, S2SPlug *plug, uint64_t seed, const OptimConfig *oc, PifiErr *err) {
    memset(t, 0, sizeof *t);
    t->m = m, t->plug = plug, t->oc = *oc;
    Seq2SeqTensor *rows = pifi_malloc(SEQ2SEQ_TENSORS_MAX * sizeof *rows, err);
    if (!rows) return -1;
    int n = seq2seq_tensors(m, rows, SEQ2SEQ_TENSORS_MAX);
    const float *arena = seq2seq_params(m);
    int64_t off = 0;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (rows[i].w != arena + off) /* the gradients must be laid out as the arena */
            rc = pifi_errf(err, "internal: %s: tensor %s is not next in its parameter arena",
                           seq2seq_config(m)->model_type, rows[i].name);
        else rc = params_add(&t->pt, rows[i].name, rows[i].w, rows[i].ndim, rows[i].shape[0],
                             rows[i].ndim == 2 ? rows[i].shape[1] : 0, rows[i].decay, err);
        off += rows[i].n;
    }
    if (rc == 0 && (n < 0 || off != seq2seq_param_count(m)))
        rc = pifi_errf(err, "internal: the tensor table covers %lld of %lld parameters", (long long)off,
                       (long long)seq2seq_param_count(m));
    free(rows);
    if (rc == 0 && plug) {
        size_t DC = (size_t)plug->D * plug->C;
        t->plug_mem = pifi_malloc(2 * DC * sizeof *t->plug_mem, err);
        if (!t->plug_mem) rc = -1;
        else {
            plug->l_in = t->plug_mem, plug->l_out = t->plug_mem + DC;
            s2s_plug_init_weights(plug, seed);
            rc = params_add(&t->pt, "l_in.weight", plug->l_in, 2, plug->D, plug->C, 1, err) ||
                 params_add(&t->pt, "l_out.weight", plug->l_out, 2, plug->C, plug->D, 1, err);
        }
    }
    if (rc == 0) rc = params_alloc(&t->pt, err);
    if (rc) s2s_trainer_free(t);
    return rc;
}

void s2s_trainer_free(S2STrainer *t) {
    params_free(&t->pt);
    free(t->dlogits), free(t->dmem), free(t->row_loss), free(t->plug_mem);
    memset(t, 0, sizeof *t);
}

static int grow(S2STrainer *t, size_t logits, size_t mem, PifiErr *err) {
    if (logits > t->cap_logits) {
        free(t->dlogits), free(t->row_loss);
        t->dlogits = pifi_malloc(logits * sizeof *t->dlogits, err);
        t->row_loss = t->dlogits ? pifi_malloc(logits * sizeof *t->row_loss, err) : NULL; /* rows <= logits */
        if (!t->row_loss) return -1;
        t->cap_logits = logits;
    }
    if (mem > t->cap_mem) {
        free(t->dmem);
        if (!(t->dmem = pifi_malloc(mem * sizeof *t->dmem, err))) return -1;
        t->cap_mem = mem;
    }
    return 0;
}

int s2s_train_step(S2STrainer *t, const S2SBatch *b, float lr, float smoothing, float clip, double *loss,
                   double *norm, PifiErr *err) {
    Seq2Seq *m = t->m;
    const Seq2SeqConfig *c = seq2seq_config(m);
    size_t rows = (size_t)b->B * b->Tt;
    if (grow(t, rows * c->V, (size_t)b->B * b->Ts * c->C, err)) return -1;
    params_zero_grad(&t->pt);
    const float *memory;
    if (s2s_memory(m, t->plug, b->src, b->src_mask, b->B, b->Ts, &memory, err) ||
        seq2seq_decode(m, memory, b->src_mask, b->dec_in, b->B, b->Ts, b->Tt, err))
        return -1;
    *loss = crossentropy_ignore(seq2seq_logits(m), b->labels, (int64_t)rows, c->V, smoothing, t->dlogits,
                                t->row_loss, NULL);
    if (seq2seq_decode_backward(m, t->pt.grad, t->dlogits, t->dmem, err)) return -1;
    if (t->plug) { /* dmem is dv: through L_out, the layer and L_in to the encoder's output, in place */
        int64_t np = seq2seq_param_count(m), DC = (int64_t)t->plug->D * t->plug->C;
        if (s2s_plug_backward(t->plug, t->dmem, t->dmem, t->pt.grad + np, t->pt.grad + np + DC, err)) return -1;
    }
    if (seq2seq_encode_backward(m, t->pt.grad, t->dmem, err)) return -1;
    *norm = params_grad_norm(&t->pt);
    if (clip > 0) params_clip(&t->pt, *norm, clip);
    optim_step(&t->pt, &t->oc, lr, ++t->step);
    return 0;
}

int s2s_memory(Seq2Seq *m, S2SPlug *plug, const int32_t *src, const int32_t *mask, int B, int Ts,
               const float **memory, PifiErr *err) {
    if (seq2seq_encode(m, src, mask, B, Ts, err)) return -1;
    if (!plug) {
        *memory = seq2seq_encoder_output(m);
        return 0;
    }
    if (s2s_plug_forward(plug, seq2seq_encoder_output(m), mask, B, Ts, err)) return -1;
    *memory = plug->v;
    return 0;
}

int s2s_eval_loss(Seq2Seq *m, S2SPlug *plug, const S2SData *d, int batch, double *loss, PifiErr *err) {
    const Seq2SeqConfig *c = seq2seq_config(m);
    S2SBatch b = {0};
    int64_t *idx = pifi_malloc((size_t)batch * sizeof *idx, err);
    double *row = NULL, total = 0;
    int64_t tokens = 0;
    size_t cap = 0;
    int rc = idx ? 0 : -1;
    for (int64_t s = 0; rc == 0 && s < d->n; s += batch) {
        int B = d->n - s < batch ? (int)(d->n - s) : batch;
        for (int r = 0; r < B; r++) idx[r] = s + r;
        if ((rc = s2s_batch_fill(&b, d, idx, B, c->pad_id, c->decoder_start_id, err))) break;
        size_t rows = (size_t)B * b.Tt;
        if (rows > cap) {
            free(row);
            if (!(row = pifi_malloc(rows * sizeof *row, err))) {
                rc = -1;
                break;
            }
            cap = rows;
        }
        const float *memory;
        if ((rc = s2s_memory(m, plug, b.src, b.src_mask, B, b.Ts, &memory, err)) ||
            (rc = seq2seq_decode(m, memory, b.src_mask, b.dec_in, B, b.Ts, b.Tt, err)))
            break;
        int64_t n;
        double l = crossentropy_ignore(seq2seq_logits(m), b.labels, (int64_t)rows, c->V, 0.0f, NULL, row, &n);
        total += l * (double)n, tokens += n;
    }
    if (rc == 0) *loss = tokens ? total / (double)tokens : 0.0;
    s2s_batch_free(&b);
    free(idx), free(row);
    return rc;
}

int s2s_greedy(Seq2Seq *m, S2SPlug *plug, const int32_t *src, const int32_t *mask, int B, int Ts, int max_new,
               int32_t *out, int *len, PifiErr *err) {
    const Seq2SeqConfig *c = seq2seq_config(m);
    if (max_new < 1) return pifi_errf(err, "decoding: max_new_tokens must be >= 1");
    int32_t *tok = pifi_malloc((size_t)B * sizeof *tok, err); /* (B) the tokens fed at the next step */
    int *done = tok ? pifi_calloc((size_t)B, sizeof *done, err) : NULL;
    if (!done) {
        free(tok);
        return -1;
    }
    const float *memory = NULL;
    int rc = s2s_memory(m, plug, src, mask, B, Ts, &memory, err);
    if (rc == 0) rc = seq2seq_decode_start(m, memory, mask, B, Ts, 1, max_new, err);
    for (int r = 0; r < B; r++) tok[r] = c->decoder_start_id, len[r] = 0;
    int left = B;
    for (int t = 1; rc == 0 && t <= max_new && left > 0; t++) {
        const float *logits;
        if ((rc = seq2seq_decode_step(m, tok, &logits, err))) break;
        for (int r = 0; r < B; r++) {
            const float *z = logits + (size_t)r * c->V;
            int best = 0;
            for (int k = 1; k < c->V; k++)
                if (z[k] > z[best]) best = k;
            tok[r] = done[r] ? c->pad_id : best;
            if (done[r]) continue;
            if (tok[r] == c->eos_id) {
                done[r] = 1, left--;
                continue;
            }
            out[(size_t)r * max_new + len[r]++] = tok[r];
        }
    }
    free(tok), free(done);
    return rc;
}
