/* api_generate.c: include/pifi.h's trained generation run: pifi_generator_open
 * wraps train/s2s_runmodel.c with the precision resolved once, and
 * pifi_generate decodes a batch of texts. */
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "core/log.h"
#include "data/data_spec.h"
#include "train/s2s_runmodel.h"

struct pifi_generator {
    S2SRunModel rm;
    int batch;
};

pifi_status pifi_generator_open(const char *dir, const pifi_run_params *params, pifi_generator **out,
                                pifi_error *err) {
    *out = NULL;
    pifi_run_params p = params ? *params : pifi_run_default_params();
    PifiErr e = {0};
    PifiPrecision prec;
    if (!dir) pifi_errf(&e, "no run directory");
    else if (p.batch < 1 || p.batch > 1 << 16) pifi_errf(&e, "%s: batch %d is out of range [1, 65536]", dir, p.batch);
    if (e.msg[0] || api_precision(p.precision, &prec, &e)) return api_fail(&e, err);
    pifi_generator *g = pifi_calloc(1, sizeof *g, &e);
    if (!g) return api_fail(&e, err);
    g->batch = p.batch;
    if (s2s_runmodel_open(&g->rm, dir, prec, &e)) {
        free(g);
        return api_fail(&e, err);
    }
    *out = g;
    return PIFI_OK;
}

int pifi_is_generation_run(const char *dir) {
    PifiErr e = {0};
    return dir && s2s_run_is(dir, &e) > 0;
}

void pifi_generator_close(pifi_generator *g) {
    if (!g) return;
    s2s_runmodel_close(&g->rm);
    free(g);
}

pifi_generate_params pifi_generator_params(const pifi_generator *g) {
    S2SBeamOpts o = s2s_runmodel_beam_opts(&g->rm);
    return (pifi_generate_params){o.num_beams, o.length_penalty, o.early_stopping, o.no_repeat_ngram_size,
                                  o.min_new_tokens, o.max_new_tokens};
}

const char *pifi_generator_method(const pifi_generator *g) { return method_name(g->rm.o.method); }
const char *pifi_generator_prefix(const pifi_generator *g) { return g->rm.prefix; }

/* The search p asks for, or -1 with what is out of range. */
static int beam_opts(const pifi_generate_params *p, S2SBeamOpts *o, PifiErr *e) {
    if (p->num_beams < 1 || p->num_beams > 64 || p->max_new_tokens < 1 || p->max_new_tokens > 1 << 16 ||
        p->min_new_tokens < 0 || p->min_new_tokens >= p->max_new_tokens || p->no_repeat_ngram_size < 0 ||
        p->early_stopping < 0 || p->early_stopping > 2)
        return pifi_errf(e, "pifi_generate: num_beams %d (1..64), max_new_tokens %d (1..65536), min_new_tokens %d "
                            "(below max_new_tokens), no_repeat_ngram_size %d (>= 0), early_stopping %d (0..2)",
                         p->num_beams, p->max_new_tokens, p->min_new_tokens, p->no_repeat_ngram_size,
                         p->early_stopping);
    *o = (S2SBeamOpts){.num_beams = p->num_beams, .length_penalty = p->length_penalty,
                       .early_stopping = p->early_stopping, .no_repeat_ngram_size = p->no_repeat_ngram_size,
                       .min_new_tokens = p->min_new_tokens, .max_new_tokens = p->max_new_tokens};
    return 0;
}

pifi_status pifi_generate(pifi_generator *g, int n, const char *const *sources, const pifi_generate_params *params,
                          char **outputs, pifi_error *err) {
    PifiErr e = {0};
    pifi_generate_params p = params ? *params : pifi_generator_params(g);
    if (n < 0 || (n > 0 && (!sources || !outputs))) {
        pifi_errf(&e, "pifi_generate: %s", n < 0 ? "n is negative" : "sources and outputs must not be NULL");
        return api_fail(&e, err);
    }
    for (int i = 0; i < n; i++)
        if (!sources[i]) {
            pifi_errf(&e, "pifi_generate: source %d is NULL", i);
            return api_fail(&e, err);
        }
    S2SBeamOpts o;
    if (beam_opts(&p, &o, &e)) return api_fail(&e, err);
    char **out;
    if (s2s_runmodel_generate(&g->rm, n, sources, &o, g->batch, &out, &e)) return api_fail(&e, err);
    memcpy(outputs, out, (size_t)n * sizeof *outputs);
    free(out);
    return PIFI_OK;
}


void pifi_text_free(char *text) { free(text); }

typedef struct {
    const pifi_callbacks *cb;
    double t0;
    int begun;
} GenTell;

static void tell(int64_t done, int64_t total, void *user) {
    GenTell *t = user;
    if (!t->cb || !t->cb->progress) return;
    pifi_progress p = {0};
    p.phase = "decoding";
    p.decoding = 1;
    p.total = p.steps = total;
    p.elapsed_s = pifi_now() - t->t0;
    if (!t->begun) {
        p.event = PIFI_PROGRESS_BEGIN;
        t->cb->progress(&p, t->cb->user);
        t->begun = 1;
    }
    p.event = PIFI_PROGRESS_STEP;
    p.done = p.step = done;
    p.examples_per_s = p.elapsed_s > 0 ? done / p.elapsed_s : 0;
    t->cb->progress(&p, t->cb->user);
}

pifi_status pifi_generator_evaluate(pifi_generator *g, const pifi_data *data, pifi_split split,
                                    const pifi_generate_params *params, const pifi_callbacks *cb,
                                    pifi_generation_scores *out, char ***outputs, pifi_error *err) {
    PifiErr e = {0};
    memset(out, 0, sizeof *out);
    if (outputs) *outputs = NULL;
    pifi_generate_params p = params ? *params : pifi_generator_params(g);
    S2SBeamOpts o;
    if (split < PIFI_TRAIN || split > PIFI_TEST) pifi_errf(&e, "pifi_generator_evaluate: split %d", (int)split);
    if (e.msg[0] || beam_opts(&p, &o, &e)) return api_fail(&e, err);
    cJSON *desc = NULL;
    if (data && (data->task || data->train || data->valid || data->test)) {
        DataSpec s = {0};
        s.task = data->task, s.data_dir = data->data_dir;
        s.train = data->train, s.valid = data->valid, s.test = data->test;
        s.source_col = data->source_col, s.target_col = data->target_col;
        s.skip_bad_rows = data->skip_bad_rows;
        if (!s.task) s.task = "seq2seq"; /* the caller's files */
        if (data_spec_json(&s, &desc, &e)) return api_fail(&e, err);
    }
    GenTell t = {cb, pifi_now(), 0};
    int64_t n = 0;
    S2SScores sc;
    char **hyps = NULL;
    int rc = s2s_runmodel_evaluate(&g->rm, desc, (int)split, &o, g->batch, tell, &t, &n, &out->loss, &sc,
                                   outputs ? &hyps : NULL, &e);
    cJSON_Delete(desc);
    if (t.begun && cb && cb->progress) {
        pifi_progress q = {0};
        q.event = PIFI_PROGRESS_PAUSE;
        q.decoding = 1;
        cb->progress(&q, cb->user);
    }
    if (rc) return api_fail(&e, err);
    out->n = n, out->bleu = sc.bleu, out->chrf = sc.chrf, out->bleu_bp = sc.bleu_bp;
    memcpy(out->bleu_precisions, sc.bleu_precisions, sizeof out->bleu_precisions);
    out->seconds = pifi_now() - t.t0;
    if (outputs) *outputs = hyps;
    return PIFI_OK;
}
