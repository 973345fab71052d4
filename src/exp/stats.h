/* stats.h: the statistics of experiment reports: mean and sample standard
 * deviation over seeds, and Welch's unequal-variance t-test of a method
 * against the base model (two-sided p-value from GSL's Student t CDF with the
 * Welch-Satterthwaite degrees of freedom). Defined to agree with numpy's
 * mean/std(ddof=1) and scipy.stats.ttest_ind(a, b, equal_var=False),
 * including its edge cases (tests/test_stats.c, tools/oracle_stats.py). */
#ifndef PIFI_EXP_STATS_H
#define PIFI_EXP_STATS_H

typedef struct {
    int n;
    double mean; /* NaN when n = 0 */
    double std;  /* sample standard deviation (ddof = 1); NaN when n < 2 */
} StatSummary;

void stats_summary(const double *x, int n, StatSummary *s);

typedef struct {
    double t;  /* (mean_a - mean_b) / sqrt(var_a/n_a + var_b/n_b) */
    double df; /* Welch-Satterthwaite */
    double p;  /* two-sided */
} StatWelch;

/* NaN t, df and p when a group has fewer than 2 values or both are constant
 * and equal; t = +-inf, df = 1 and p = 0 when both are constant and differ
 * (as scipy). */
void stats_welch(const double *a, int na, const double *b, int nb, StatWelch *w);

#endif
