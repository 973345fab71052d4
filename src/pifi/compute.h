/* compute.h: how the forward and backward passes compute: the arithmetic
 * (fp32, or bf16 matrix products with fp32 accumulation) and the number of
 * threads.
 *
 * The precision is a setting of a model (pifi_model_set_precision), not a
 * global; the OpenMP thread pool is the one process-wide thing, set once by
 * the command line (--threads) or OMP_NUM_THREADS. */
#ifndef PIFI_COMPUTE_H
#define PIFI_COMPUTE_H

#include <stddef.h>

typedef enum {
    PIFI_PREC_FP32 = 0, /* every product in fp32: matches PyTorch fp32 (the library's default) */
    PIFI_PREC_BF16 = 1, /* linear layers as bf16 x bf16 products accumulated in fp32 (oneDNN);
                           fp32 master weights, norms, softmax, losses and optimizer */
} PifiPrecision;

/* "fp32", "bf16", or "auto" (pifi_precision_default()); -1 if unknown. */
int pifi_precision_parse(const char *s, PifiPrecision *out);
const char *pifi_precision_name(PifiPrecision p);

/* 1 when the CPU multiplies bf16 natively (AVX512-BF16 or AMX, as oneDNN
 * detects it, capped by ONEDNN_MAX_CPU_ISA), else 0. Without it,
 * PIFI_PREC_BF16 still works: its products are emulated (bf16 operands
 * widened to fp32, fp32 accumulation), giving the native results to
 * summation order, several times slower than fp32. */
int pifi_cpu_has_bf16(void);
/* "native" or "emulated": how PIFI_PREC_BF16 computes on this CPU. */
const char *pifi_bf16_mode(void);
/* bf16 where the CPU supports it natively, fp32 otherwise: the command line's default. */
PifiPrecision pifi_precision_default(void);
/* oneDNN's name for the instruction set its kernels use here, e.g. "avx512_core_bf16". */
const char *pifi_cpu_isa_name(void);
/* The CPU's model name ("AMD EPYC 9454 48-Core Processor", from
 * /proc/cpuinfo), or "unknown CPU", into buf (NUL-terminated, cut to n). */
void pifi_cpu_name(char *buf, size_t n);

/* The OpenMP thread pool: n > 0 sets its size (as OMP_NUM_THREADS does);
 * pifi_threads() is the current size. */
void pifi_set_threads(int n);
int pifi_threads(void);

/* pifi's own vectorised kernels (softmax, activations, dropout, bf16 conversion, Adam) run at one
 * instruction-set level: the best this CPU runs, capped by the environment variable PIFI_MAX_ISA
 * (avx512, avx2 or baseline, any case; read once, at the first kernel call; an unknown value is
 * ignored and pifi_kernel_isa_note says so) or by pifi_kernel_isa_set_max (docs/performance.md). */
typedef enum { PIFI_ISA_BASELINE = 0, PIFI_ISA_AVX2 = 1, PIFI_ISA_AVX512 = 2 } PifiIsa;
int pifi_isa_parse(const char *s, PifiIsa *out); /* a level's name, any case; -1 if unknown */
const char *pifi_isa_name(PifiIsa isa);          /* "baseline", "avx2", "avx512" */
PifiIsa pifi_kernel_isa_cpu(void);               /* the best level this CPU (and this build) runs */
PifiIsa pifi_kernel_isa(void);                   /* the level in effect */
const char *pifi_kernel_isa_name(void);          /* its name */
PifiIsa pifi_kernel_isa_set_max(PifiIsa max);    /* replaces the cap; returns the level now in effect */
const char *pifi_kernel_isa_note(void);          /* NULL, or one line on an ignored PIFI_MAX_ISA */

#endif
