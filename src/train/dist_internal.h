/* dist_internal.h: what dist.c shares with dist_grad.c (the MPI helpers). */
#ifndef PIFI_DIST_INTERNAL_H
#define PIFI_DIST_INTERNAL_H

#include "train/dist.h"

#ifdef PIFI_HAVE_MPI
#include <mpi.h>

/* Monotonic seconds. */
double dist_now_s(void);
/* Mark the job broken and describe MPI error code in err; returns -1. */
int dist_mpi_fail(Dist *d, int code, const char *what, PifiErr *err);
/* Wait for n requests under the watchdog (PIFI_DIST_TIMEOUT), adding the
 * time to d->comm_s. */
int dist_wait_reqs(Dist *d, int n, MPI_Request *req, const char *what, PifiErr *err);
#endif

#endif
