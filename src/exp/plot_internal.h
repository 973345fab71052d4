/* plot_internal.h: the gnuplot pipe shared by the plot files (plot.c,
 * plot_means.c): a gnuplot process writing one PNG under a temporary name,
 * renamed into place once it is checked. SIGPIPE is ignored while it runs,
 * so that a gnuplot that dies early makes writes fail instead of killing
 * pifi. */
#ifndef PIFI_EXP_PLOT_INTERNAL_H
#define PIFI_EXP_PLOT_INTERNAL_H

#include <signal.h>
#include <stdio.h>

#include "pifi/err.h"

typedef struct {
    FILE *g;
    char tmp[4200];
    struct sigaction old_pipe;
} Plot;

/* Start gnuplot on a width x height PNG terminal with its output set. */
int plot_open(Plot *p, const char *png, int width, int height, PifiErr *err);
/* End the script, wait for gnuplot, check the PNG and rename it to png. */
int plot_close(Plot *p, const char *png, PifiErr *err);
/* A gnuplot single-quoted string: ' doubled; no newlines. */
void plot_put_quoted(FILE *f, const char *s);

#endif
