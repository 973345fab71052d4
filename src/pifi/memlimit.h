/* memlimit.h: --max-memory SIZE, one memory budget for the whole process.
 *
 * Two guards. Before a run allocates its big arenas it estimates what it
 * needs (memest.h for training, evaluation and prediction) and refuses in one
 * line, naming the parts, when the estimate is over the budget. And the
 * budget is a hard limit: RLIMIT_DATA, which since Linux 4.7 counts every
 * private writable mapping (malloc's heap and large blocks, thread stacks)
 * but not the read-only mmaps of model files, so an allocation past it fails
 * (an "out of memory" error) instead of the kernel's OOM killer ending the
 * process. RLIMIT_AS is not used: it also counts the model files' maps and
 * the address space OpenMP and oneDNN reserve but never touch. The limit is
 * inherited by child processes (the cells of `pifi experiment`). */
#ifndef PIFI_MEMLIMIT_H
#define PIFI_MEMLIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "pifi/err.h"

/* "2G", "512M", "1.5GiB", "300MB", "4096K", "1000000" (bytes): binary
 * units (K = 1024). -1 if not a size of at least 1 MiB. */
int pifi_parse_size(const char *s, uint64_t *bytes);

/* Set the budget (text: how the user wrote it, kept for messages) and the
 * hard limit. Fails when the system refuses the limit. */
int pifi_memlimit_set(uint64_t bytes, const char *text, PifiErr *err);
/* The budget, 0 when none was set. */
uint64_t pifi_memlimit_get(void);

/* "1.3 GiB", "900 MiB", "12 KiB". */
void pifi_format_bytes(uint64_t bytes, char *out, size_t n);

/* An estimate of a run's memory, by part. */
typedef struct {
    int n;
    struct {
        char what[48];   /* "activations" */
        char detail[64]; /* "at batch 32 x 100 tokens", or "" */
        uint64_t bytes;
    } part[8];
    const char *hint;   /* how to need less: "lower --batch or --max-len" */
} MemEstimate;

/* One part: "what SIZE detail" in the message (detail may be NULL). */
void memest_add(MemEstimate *e, uint64_t bytes, const char *what, const char *detail);
uint64_t memest_total(const MemEstimate *e);
/* 0 if the estimate fits the budget (or there is none); else -1 with
 * "--max-memory 512M: this run needs about 1.3 GiB (activations 900 MiB at
 * ..., ...); lower --batch or --max-len". The environment variable
 * PIFI_FAULT_SKIP_MEMEST (tests) skips the refusal, to reach the hard limit. */
int memlimit_check(const MemEstimate *e, PifiErr *err);

#endif
