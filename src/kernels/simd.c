/* simd.c: the dispatch of pifi's own vectorised kernels (kernels/simd.h):
 * which instruction-set levels this CPU runs (CPUID), the cap
 * (PIFI_MAX_ISA, pifi_kernel_isa_set_max), the table in effect, and the
 * kernels' plain names, which call through it. */
#include "kernels/simd.h"

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/compute.h" /* the public kernels' declarations, checked against the table's */
#include "kernels/gemm.h"
#include "pifi/compute.h"

/* The levels built (CMake defines PIFI_SIMD_X86 where it compiled the
 * x86-64-v4 and v3 objects); index = PifiIsa. */
extern const SimdKernels simd_kernels_baseline;
#ifdef PIFI_SIMD_X86
#include <cpuid.h>
extern const SimdKernels simd_kernels_avx2, simd_kernels_avx512;
static const SimdKernels *const LEVELS[] = {&simd_kernels_baseline, &simd_kernels_avx2, &simd_kernels_avx512};
#else
static const SimdKernels *const LEVELS[] = {&simd_kernels_baseline};
#endif
#define NLEVELS ((int)(sizeof LEVELS / sizeof LEVELS[0]))

static const char *const NAMES[] = {"baseline", "avx2", "avx512"};

/* ------------------------------------------------------------------------ */
/* what the CPU runs */

#ifdef PIFI_SIMD_X86
/* The features GCC's and clang's -march=x86-64-v3 and -v4 may use, and the
 * OS saving the registers they need (XCR0). */
static PifiIsa cpu_level(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return PIFI_ISA_BASELINE;
    const unsigned v3_1c = bit_SSE3 | bit_SSSE3 | bit_FMA | bit_CMPXCHG16B | bit_SSE4_1 | bit_SSE4_2 | bit_MOVBE |
                           bit_POPCNT | bit_OSXSAVE | bit_AVX | bit_F16C;
    if ((c & v3_1c) != v3_1c) return PIFI_ISA_BASELINE;
    unsigned xcr0, xcr0_hi;
    __asm__ __volatile__("xgetbv" : "=a"(xcr0), "=d"(xcr0_hi) : "c"(0));
    if ((xcr0 & 0x6u) != 0x6u) return PIFI_ISA_BASELINE; /* XMM and YMM state */
    if (!__get_cpuid(0x80000001u, &a, &b, &c, &d)) return PIFI_ISA_BASELINE;
    if ((c & (bit_LAHF_LM | bit_LZCNT)) != (bit_LAHF_LM | bit_LZCNT)) return PIFI_ISA_BASELINE;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return PIFI_ISA_BASELINE;
    const unsigned v3_7b = bit_BMI | bit_AVX2 | bit_BMI2;
    if ((b & v3_7b) != v3_7b) return PIFI_ISA_BASELINE;
    const unsigned v4_7b = bit_AVX512F | bit_AVX512DQ | bit_AVX512CD | bit_AVX512BW | bit_AVX512VL;
    if ((b & v4_7b) != v4_7b || (xcr0 & 0xe6u) != 0xe6u) return PIFI_ISA_AVX2; /* + opmask, ZMM state */
    return PIFI_ISA_AVX512;
}
#else
static PifiIsa cpu_level(void) { return PIFI_ISA_BASELINE; }
#endif

/* ------------------------------------------------------------------------ */
/* the level in effect: chosen once at first use, replaced by set_max */

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static PifiIsa g_cpu;                 /* set once by simd_init */
static char g_note[160];              /* set once by simd_init; "" when PIFI_MAX_ISA was fine */
static _Atomic(int) g_level = -1;     /* the PifiIsa in effect; -1 before simd_init */

/* min(CPU, max); a max below baseline is baseline (enums may be unsigned: compared as int) */
static PifiIsa capped(PifiIsa max) {
    int m = (int)max;
    return m < (int)PIFI_ISA_BASELINE ? PIFI_ISA_BASELINE : m < (int)g_cpu ? (PifiIsa)m : g_cpu;
}

static void simd_init(void) {
    PifiIsa cpu = cpu_level();
    g_cpu = cpu < NLEVELS - 1 ? cpu : (PifiIsa)(NLEVELS - 1);
    PifiIsa max = PIFI_ISA_AVX512;
    const char *env = getenv("PIFI_MAX_ISA");
    if (env && *env && pifi_isa_parse(env, &max))
        snprintf(g_note, sizeof g_note, "PIFI_MAX_ISA: unknown level '%.40s' ignored (avx512, avx2 or baseline)",
                 env);
    atomic_store(&g_level, (int)capped(max));
}

const SimdKernels *simd_active(void) {
    int l = atomic_load_explicit(&g_level, memory_order_relaxed);
    if (l < 0) {
        pthread_once(&g_once, simd_init);
        l = atomic_load(&g_level);
    }
    return LEVELS[l];
}

int pifi_isa_parse(const char *s, PifiIsa *out) {
    for (int i = 0; i < (int)(sizeof NAMES / sizeof NAMES[0]); i++) {
        size_t n = strlen(NAMES[i]), k = 0;
        while (k < n && s[k] && tolower((unsigned char)s[k]) == NAMES[i][k]) k++;
        if (k == n && !s[n]) {
            *out = (PifiIsa)i;
            return 0;
        }
    }
    return -1;
}

const char *pifi_isa_name(PifiIsa isa) {
    int i = (int)isa;
    return i >= 0 && i <= (int)PIFI_ISA_AVX512 ? NAMES[i] : "?";
}

PifiIsa pifi_kernel_isa_cpu(void) {
    pthread_once(&g_once, simd_init);
    return g_cpu;
}

PifiIsa pifi_kernel_isa(void) {
    pthread_once(&g_once, simd_init);
    return (PifiIsa)atomic_load(&g_level);
}

const char *pifi_kernel_isa_name(void) { return NAMES[pifi_kernel_isa()]; }

PifiIsa pifi_kernel_isa_set_max(PifiIsa max) {
    pthread_once(&g_once, simd_init);
    atomic_store(&g_level, (int)capped(max));
    return pifi_kernel_isa();
}

const char *pifi_kernel_isa_note(void) {
    pthread_once(&g_once, simd_init);
    return g_note[0] ? g_note : NULL;
}

/* ------------------------------------------------------------------------ */
/* the kernels, by their plain names */

#define SIMD_CALL(name, params, args) \
    void name params { simd_active()->name args; }
SIMD_KERNELS(SIMD_CALL)
#undef SIMD_CALL
