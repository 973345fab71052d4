/* api_run.c: include/pifi.h's trained run: pifi_run_open wraps the run
 * directory loader (train/runio.c) with the precision resolved once, and
 * pifi_predict runs the model on a batch of texts. */
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "pifi/memlimit.h"
#include "train/memest.h"
#include "train/runio.h"
#include "train/s2s_runmodel.h"
#include "train/tokdata.h"

pifi_run_params pifi_run_default_params(void) {
    pifi_run_params p = {PIFI_PRECISION_AUTO, 32};
    return p;
}

pifi_status pifi_run_open(const char *dir, const pifi_run_params *params, pifi_run **out, pifi_error *err) {
    *out = NULL;
    pifi_run_params p = params ? *params : pifi_run_default_params();
    PifiErr e = {0};
    PifiPrecision prec;
    if (api_precision(p.precision, &prec, &e)) return api_fail(&e, err);
    if (p.batch < 1 || p.batch > 1 << 16) {
        pifi_errf(&e, "%s: batch %d is out of range [1, 65536]", dir, p.batch);
        return api_fail(&e, err);
    }
    if (s2s_run_is(dir, &e) > 0) {
        pifi_errf(&e, "%s: a generation run: open it with pifi_generator_open (pifi generate)", dir);
        return api_fail(&e, err);
    }
    memset(&e, 0, sizeof e); /* unreadable: the loader below says why */
    MemEstimate est;
    if (pifi_memlimit_get() && (memest_run_infer(dir, p.batch, &est, &e) || memlimit_check(&est, &e)))
        return api_fail(&e, err);
    pifi_run *r = pifi_calloc(1, sizeof *r, &e);
    if (!r) return api_fail(&e, err);
    r->batch = p.batch;
    if (runio_load_run(&r->rm, dir, &e) || pifi_model_set_precision(&r->rm.model, prec, 1, &e)) {
        if (r->rm.cfg) runio_free_run(&r->rm);
        free(r);
        return api_fail(&e, err);
    }
    pifi_model_set_packing(&r->rm.model, 1);
    *out = r;
    return PIFI_OK;
}

void pifi_run_close(pifi_run *run) {
    if (!run) return;
    runio_free_run(&run->rm);
    free(run);
}

int pifi_run_num_classes(const pifi_run *run) { return run->rm.K; }

const char *pifi_run_label(const pifi_run *run, int k) {
    return k >= 0 && k < run->rm.K ? run->rm.label_names[k] : NULL;
}

const char *pifi_run_method(const pifi_run *run) { return method_name(run->rm.opts.method); }

const char *pifi_run_precision(const pifi_run *run) {
    return pifi_precision_name(pifi_model_precision(&run->rm.model));
}

/* "" or what is empty in an input (no tokens besides the special ones). */
static const char *empty_note(const PifiTokenizer *tk, const char *text, const char *pair, PifiEncoding *enc,
                              PifiErr *err) {
    PifiEncodeOpts eo = pifi_encode_opts_default();
    if (tokenizer_encode(tk, text, pair, &eo, enc, err)) return NULL;
    int n[2] = {0, 0};
    for (int j = 0; j < enc->n; j++)
        if (enc->seq[j] == 0 || enc->seq[j] == 1) n[enc->seq[j]]++;
    if (!pair) return n[0] ? "" : "empty text: classified from the special tokens alone";
    if (!n[0] && !n[1]) return "empty text and text_pair: classified from the special tokens alone";
    if (!n[0]) return "empty text: classified from the text_pair alone";
    return n[1] ? "" : "empty text_pair: classified from the text alone";
}

/* One forward batch of n <= run->batch inputs. */
static int predict_batch(pifi_run *run, int n, const char *const *texts, const char *const *pairs, float *probs,
                         PifiErr *err) {
    PifiDataset ds = {0};
    ds.n = n;
    ds.text = (char **)texts; /* read only */
    ds.text_pair = (char **)pairs;
    TokData td;
    if (tokdata_build(&td, run->rm.tk, &ds, run->rm.opts.max_len, err)) return -1;
    PifiConfusion cm;
    int rc = confusion_init(&cm, run->rm.K, err);
    if (rc == 0) {
        rc = trainer_evaluate(&run->rm.model, &td, n, &cm, probs, NULL, 0.0f, err);
        confusion_free(&cm);
    }
    tokdata_free(&td);
    return rc;
}

pifi_status pifi_predict(pifi_run *run, int n, const char *const *texts, const char *const *pairs, float *probs,
                         int *labels, const char **notes, pifi_error *err) {
    PifiErr e = {0};
    const int K = run->rm.K;
    if (run->rm.opts.span) {
        pifi_errf(&e, "the run answers questions: give it questions with their contexts (pifi predict RUN --squad "
                      "FILE, pifi_answer)");
        return api_fail(&e, err);
    }
    if (n < 0 || (n > 0 && (!texts || !probs))) {
        pifi_errf(&e, "pifi_predict: %s", n < 0 ? "n is negative" : "texts and probs must not be NULL");
        return api_fail(&e, err);
    }
    for (int i = 0; i < n; i++)
        if (!texts[i] || (pairs && !pairs[i])) {
            pifi_errf(&e, "pifi_predict: input %d is NULL", i);
            return api_fail(&e, err);
        }
    for (int i0 = 0; i0 < n; i0 += run->batch) {
        int b = n - i0 < run->batch ? n - i0 : run->batch;
        if (predict_batch(run, b, texts + i0, pairs ? pairs + i0 : NULL, probs + (size_t)i0 * K, &e))
            return api_fail(&e, err);
    }
    PifiEncoding enc = {0};
    for (int i = 0; i < n; i++) {
        const float *p = probs + (size_t)i * K;
        int best = 0;
        for (int k = 1; k < K; k++)
            if (p[k] > p[best]) best = k;
        if (labels) labels[i] = best;
        if (!notes) continue;
        notes[i] = empty_note(run->rm.tk, texts[i], pairs ? pairs[i] : NULL, &enc, &e);
        if (!notes[i]) {
            encoding_free(&enc);
            return api_fail(&e, err);
        }
    }
    encoding_free(&enc);
    return PIFI_OK;
}
