/* claims.h: the paper's claims about PiFi, each a comparison of two methods
 * that an experiment's rows can test: PiFi against plain fine-tuning (on the
 * full and on a reduced training set, and across domains), against a random
 * layer of the same shape, an unfrozen layer, LoRA, and a layer from another
 * LLM. For every group of rows (task, evaluation set, train fraction) that
 * holds both methods: the means, their difference, Welch's p and a verdict,
 * as a markdown table at the top of results.md (report.c). */
#ifndef PIFI_EXP_CLAIMS_H
#define PIFI_EXP_CLAIMS_H

#include <stdio.h>

#include "exp/results.h"

/* The significance level of the verdicts. */
#define CLAIMS_ALPHA 0.05

/* A verdict on "a is higher than b" from the difference of the means and
 * the two-sided p-value (NaN: no test possible). */
const char *claims_verdict(double delta, double p);

/* Write the section (a heading, a few lines of method, the table) into md;
 * nothing when no claim can be tested from these rows. Returns the number
 * of table rows. */
int claims_write(const ExpResults *r, FILE *md);

#endif
