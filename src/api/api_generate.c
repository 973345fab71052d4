/* api_generate.c: include/pifi.h's trained generation run: pifi_generator_open
 * wraps train/s2s_runmodel.c with the precision resolved once, and
 * pifi_generate decodes a batch of texts. */
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
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
    if (p.num_beams < 1 || p.num_beams > 64 || p.max_new_tokens < 1 || p.max_new_tokens > 1 << 16 ||
        p.min_new_tokens < 0 || p.min_new_tokens >= p.max_new_tokens || p.no_repeat_ngram_size < 0 ||
        p.early_stopping < 0 || p.early_stopping > 2) {
        pifi_errf(&e, "pifi_generate: num_beams %d (1..64), max_new_tokens %d (1..65536), min_new_tokens %d (below "
                      "max_new_tokens), no_repeat_ngram_size %d (>= 0), early_stopping %d (0..2)",
                  p.num_beams, p.max_new_tokens, p.min_new_tokens, p.no_repeat_ngram_size, p.early_stopping);
        return api_fail(&e, err);
    }
    S2SBeamOpts o = {.num_beams = p.num_beams, .length_penalty = p.length_penalty,
                     .early_stopping = p.early_stopping, .no_repeat_ngram_size = p.no_repeat_ngram_size,
                     .min_new_tokens = p.min_new_tokens, .max_new_tokens = p.max_new_tokens};
    char **out;
    if (s2s_runmodel_generate(&g->rm, n, sources, &o, g->batch, &out, &e)) return api_fail(&e, err);
    memcpy(outputs, out, (size_t)n * sizeof *outputs);
    free(out);
    return PIFI_OK;
}

void pifi_text_free(char *text) { free(text); }
