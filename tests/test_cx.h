/* test_cx.h: a compute context for the tests that load an encoder or a
 * layer by themselves (the caller owns the context, as a PifiModel does):
 * one fp32 context per test program, created at first use. */
#ifndef PIFI_TEST_CX_H
#define PIFI_TEST_CX_H

#include "kernels/compute.h"

static inline PifiCompute *test_cx_fp32(void) {
    static PifiCompute cx;
    static int ready;
    if (!ready) compute_init(&cx, PIFI_PREC_FP32), ready = 1;
    return &cx;
}

#endif
