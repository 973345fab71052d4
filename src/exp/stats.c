/* stats.c: mean, sample std and Welch's t-test (stats.h). */
#include "exp/stats.h"

#include <gsl/gsl_cdf.h>
#include <math.h>

void stats_summary(const double *x, int n, StatSummary *s) {
    s->n = n;
    s->mean = s->std = NAN;
    if (n < 1) return;
    double sum = 0;
    for (int i = 0; i < n; i++) sum += x[i];
    s->mean = sum / n;
    if (n < 2) return;
    double ss = 0;
    for (int i = 0; i < n; i++) ss += (x[i] - s->mean) * (x[i] - s->mean);
    s->std = sqrt(ss / (n - 1));
}

void stats_welch(const double *a, int na, const double *b, int nb, StatWelch *w) {
    w->t = w->df = w->p = NAN;
    if (na < 2 || nb < 2) return;
    StatSummary sa, sb;
    stats_summary(a, na, &sa);
    stats_summary(b, nb, &sb);
    double va = sa.std * sa.std / na, vb = sb.std * sb.std / nb, se2 = va + vb;
    double diff = sa.mean - sb.mean;
    if (se2 == 0) { /* both constant */
        if (diff == 0) return;
        w->t = diff > 0 ? INFINITY : -INFINITY;
        w->df = 1;
        w->p = 0;
        return;
    }
    w->t = diff / sqrt(se2);
    w->df = se2 * se2 / (va * va / (na - 1) + vb * vb / (nb - 1));
    w->p = 2 * gsl_cdf_tdist_Q(fabs(w->t), w->df);
    if (w->p > 1) w->p = 1;
}
