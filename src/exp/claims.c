/* claims.c: the paper's claims tested on an experiment's rows (claims.h). */
#include "exp/claims.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exp/stats.h"
#include "pifi/dataset.h"

typedef enum { ON_OWN_TASK, ON_OWN_TASK_FEWER, CROSS_DOMAIN } ClaimGroups;

typedef struct {
    const char *claim;
    const char *a, *b; /* labels; b "pifi@": every other LLM's pifi in the group */
    ClaimGroups groups;
} Claim;

/* The paper's claims (Kim et al., ACL 2025: Table 1 and the appendix), in
 * the form "a scores higher than b". */
static const Claim CLAIMS[] = {
    {"PiFi beats plain fine-tuning", "pifi", "base", ON_OWN_TASK},
    {"PiFi beats plain fine-tuning on less training data", "pifi", "base", ON_OWN_TASK_FEWER},
    {"PiFi transfers better across domains", "pifi", "base", CROSS_DOMAIN},
    {"the LLM's weights matter: a random layer of the same shape does less", "pifi", "pifi-random", ON_OWN_TASK},
    {"frozen beats unfrozen", "pifi", "pifi-unfrozen", ON_OWN_TASK},
    {"PiFi beats LoRA", "pifi", "lora", ON_OWN_TASK},
    {"the grid's LLM beats the other LLM's layer", "pifi", "pifi@", ON_OWN_TASK},
};

const char *claims_verdict(double delta, double p) {
    if (isnan(p) || isnan(delta)) return "untested (fewer than 2 seeds)";
    if (p < CLAIMS_ALPHA) return delta > 0 ? "**holds**" : "**reversed**";
    if (delta > 0) return "not shown (higher, not significant)";
    return delta < 0 ? "not shown (lower, not significant)" : "not shown (equal)";
}

static int group_matches(const ExpRow *g, ClaimGroups kind) {
    int cross = strcmp(g->task, g->eval_task) != 0;
    if (kind == CROSS_DOMAIN) return cross && g->train_fraction == 1;
    return !cross && (kind == ON_OWN_TASK ? g->train_fraction == 1 : g->train_fraction != 1);
}

static void fmt_mean(const double *x, int n, char *out, size_t len) {
    StatSummary s;
    stats_summary(x, n, &s);
    if (isnan(s.std)) snprintf(out, len, "%.4f (%d)", s.mean, n);
    else snprintf(out, len, "%.4f ± %.4f (%d)", s.mean, s.std, n);
}

/* One table row: claim c, labels a and b in the group of row g. */
static int compare(const ExpResults *r, const Claim *c, const ExpRow *g, const char *b, double *va, double *vb,
                   FILE *md) {
    const PifiTaskInfo *ti = task_find(g->eval_task);
    PifiMetric m = ti ? ti->metrics[0] : PIFI_METRIC_ACCURACY;
    static const char *const NAMES[] = {"accuracy", "macro-F1", "MCC"};
    int na = results_values(r, g->task, g->eval_task, g->train_fraction, c->a, m, va);
    int nb = results_values(r, g->task, g->eval_task, g->train_fraction, b, m, vb);
    if (na == 0 || nb == 0) return 0;
    StatSummary sa, sb;
    stats_summary(va, na, &sa);
    stats_summary(vb, nb, &sb);
    StatWelch w;
    stats_welch(va, na, vb, nb, &w);
    char where[200], ma[64], mb[64], pv[32];
    int k = snprintf(where, sizeof where, "%s", g->task);
    if (strcmp(g->task, g->eval_task)) k += snprintf(where + k, sizeof where - (size_t)k, " → %s", g->eval_task);
    if (g->train_fraction != 1) snprintf(where + k, sizeof where - (size_t)k, " (fraction %g)", g->train_fraction);
    fmt_mean(va, na, ma, sizeof ma);
    fmt_mean(vb, nb, mb, sizeof mb);
    if (isnan(w.p)) snprintf(pv, sizeof pv, "n/a");
    else if (w.p < 1e-4) snprintf(pv, sizeof pv, "%.1e", w.p);
    else snprintf(pv, sizeof pv, "%.4f", w.p);
    fprintf(md, "| %s | %s | %s | %s: %s | %s: %s | %+.4f | %s | %s |\n", c->claim, where, NAMES[m], c->a, ma, b, mb,
            sa.mean - sb.mean, pv, claims_verdict(sa.mean - sb.mean, w.p));
    return 1;
}

int claims_write(const ExpResults *r, FILE *md) {
    double *va = malloc(((size_t)r->n + 1) * sizeof *va), *vb = malloc(((size_t)r->n + 1) * sizeof *vb);
    char *body = NULL;
    size_t len = 0;
    FILE *t = va && vb ? open_memstream(&body, &len) : NULL;
    int rows = 0;
    for (size_t c = 0; t && c < sizeof CLAIMS / sizeof CLAIMS[0]; c++) {
        const Claim *cl = &CLAIMS[c];
        for (int i = 0; i < r->n; i++) {
            const ExpRow *g = &r->rows[i];
            int seen = 0; /* the first row of each group */
            for (int j = 0; j < i && !seen; j++)
                seen = !strcmp(r->rows[j].task, g->task) && !strcmp(r->rows[j].eval_task, g->eval_task) &&
                       r->rows[j].train_fraction == g->train_fraction;
            if (seen || !group_matches(g, cl->groups)) continue;
            if (strcmp(cl->b, "pifi@")) {
                rows += compare(r, cl, g, cl->b, va, vb, t);
                continue;
            }
            for (int j = 0; j < r->n; j++) { /* each other LLM's pifi in the group, once */
                const ExpRow *o = &r->rows[j];
                if (strcmp(o->task, g->task) || strcmp(o->eval_task, g->eval_task) ||
                    o->train_fraction != g->train_fraction || strncmp(o->method, "pifi@", 5))
                    continue;
                int dup = 0;
                for (int k = 0; k < j && !dup; k++)
                    dup = !strcmp(r->rows[k].method, o->method) && !strcmp(r->rows[k].task, g->task) &&
                          !strcmp(r->rows[k].eval_task, g->eval_task) && r->rows[k].train_fraction == g->train_fraction;
                char lb[64];
                results_label(o, lb, sizeof lb);
                if (!dup) rows += compare(r, cl, g, lb, va, vb, t);
            }
        }
    }
    if (t) fclose(t);
    if (rows > 0) {
        fprintf(md, "\n## The paper's claims, tested on these runs\n\n"
                    "Each claim of the paper (Kim et al., ACL 2025) as \"the first method scores higher than\n"
                    "the second\", wherever both are in the same table below: their test means ± std over\n"
                    "seeds (number of seeds in brackets), the difference (main metric of the evaluation set),\n"
                    "two-sided Welch's p, and the verdict at the %.2g level: **holds** (higher, p < %.2g),\n"
                    "**reversed** (lower, p < %.2g), or not shown. No correction for the number of\n"
                    "comparisons; with 5 seeds a difference smaller than about the seeds' standard deviation\n"
                    "is rarely significant.\n\n"
                    "| claim | trained on → tested on | metric | first | second | Δ | p (Welch) | verdict |\n"
                    "|---|---|---|---|---|---|---|---|\n",
                CLAIMS_ALPHA, CLAIMS_ALPHA, CLAIMS_ALPHA);
        fwrite(body, 1, len, md);
    }
    free(body);
    free(va);
    free(vb);
    return rows;
}
