/* eta.h: how long the unfinished cells of a grid will take, at the pace of
 * its finished ones: each unfinished cell counts the mean wall time
 * (cell.json) of the finished cells of the same task and train fraction,
 * less what a resumable cell has already spent (cell_time.json). Printed by
 * `pifi experiment` at each cell's start and by --dry-run. */
#ifndef PIFI_EXP_ETA_H
#define PIFI_EXP_ETA_H

#include <stddef.h>

#include "exp/grid.h"

typedef struct {
    double seconds; /* estimated wall time of the timed unfinished cells */
    int timed;      /* unfinished cells with a finished cell of their kind */
    int untimed;    /* unfinished cells without one (not in seconds) */
} ExpEta;

/* The estimate for the unfinished cells from index `from` on. */
void exp_eta(const ExpGrid *g, int from, ExpEta *out);

/* "about 4 h 10 min left (12 cells not timed yet)", "12 cells not timed yet",
 * or "" when nothing is left. */
void exp_eta_format(const ExpEta *e, char *out, size_t n);

#endif
