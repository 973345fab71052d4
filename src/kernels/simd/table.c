/* simd/table.c: the table of this level's kernels, which kernels/simd.c
 * chooses from. Compiled once per level (kernels/simd.h). */
#include "kernels/simd.h"

#define STR2(s) #s
#define STR(s) STR2(s)

const SimdKernels SIMD_NAME(simd_kernels) = {
    .name = STR(SIMD_SUFFIX),
#define SIMD_ENTRY(name, params, args) .name = SIMD_NAME(name),
    SIMD_KERNELS(SIMD_ENTRY)
#undef SIMD_ENTRY
};
