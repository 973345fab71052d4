/* api_dist.c: include/pifi.h's processes of an MPI job: train/dist.c's
 * Dist behind a handle, and who reports a failure. */
#include <stdlib.h>

#include "api/api_internal.h"

pifi_status pifi_dist_open(pifi_dist **out, pifi_error *err) {
    PifiErr e = {0};
    *out = calloc(1, sizeof **out);
    if (!*out) {
        pifi_errk(&e, PIFI_ERR_RUNTIME, "out of memory");
        return api_fail(&e, err);
    }
    return dist_init(&(*out)->d, &e) ? api_fail(&e, err) : PIFI_OK;
}

void pifi_dist_close(pifi_dist *d) {
    if (!d) return;
    dist_finalize(&d->d);
    free(d);
}

int pifi_dist_rank(const pifi_dist *d) { return d->d.rank; }
int pifi_dist_size(const pifi_dist *d) { return d->d.size; }

int pifi_dist_reports(const pifi_dist *d) {
    const Dist *x = &d->d;
    if (x->size == 1 || x->broken) return 1;
    if (x->own_fail) return x->rank == 0 || x->fail_count < x->size; /* a cause: all of them, or one for all */
    return x->rank == 0;                                             /* another rank's failure: rank 0 says it */
}

int pifi_dist_broken(const pifi_dist *d) { return d->d.broken; }
