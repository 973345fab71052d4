/* test_kernels_dispatch.c: pifi's own vectorised kernels (kernels/simd.h) at
 * every instruction-set level this CPU runs, against the baseline level.
 *
 * Every kernel of the table runs on the same inputs at each level (chosen
 * with pifi_kernel_isa_set_max, through the kernels' plain names) and its
 * output is compared with the baseline level's:
 *   - dropout, bf16 conversion, column sums: bit for bit (one multiply, integer
 *     operations, or additions in a fixed order: no rounding can differ);
 *   - activations, softmax, Adam: |x - ref| <= 1e-6 |ref| + atol, atol a few
 *     units in the last place of the values the kernel adds up (CASES): a
 *     wider vector reduction (the softmax sums) or an FMA changes the last
 *     bits (GCC contracts no a*b+c in ISO C mode, clang does at the AVX2 and
 *     AVX-512 levels).
 * The levels above what the CPU (or PIFI_MAX_ISA) allows are named on
 * stdout as not tested. Also checked: the cap, by PIFI_MAX_ISA (each case in
 * a child process forked before the first kernel call, as the variable is
 * read once) and by the API, and that the table in effect is the level's. */
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernels/activation.h"
#include "kernels/compute.h"
#include "kernels/dropout.h"
#include "kernels/gemm.h"
#include "core/rng.h"
#include "kernels/simd.h"
#include "pifi/compute.h"
#include "test.h"

#define MAXOUT (1u << 20) /* floats a case may write */

/* x in [lo, hi), from the counter-based RNG */
static void fill(float *x, size_t n, uint64_t stream, float lo, float hi) {
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * rng_uniform(7, stream, i);
}

/* ------------------------------------------------------------------------ */
/* the cases: each runs one kernel on fixed inputs and writes what it
 * computed to out, returning how many floats it wrote */

static size_t case_activation(float *out, int backward) {
    static const size_t NS[] = {40003, 1001}; /* one parallel region, one serial loop */
    static const Activation ACTS[] = {ACT_GELU, ACT_GELU_TANH, ACT_RELU, ACT_SILU, ACT_QUICK_GELU, ACT_TANH};
    size_t w = 0;
    for (size_t a = 0; a < sizeof ACTS / sizeof ACTS[0]; a++) {
        for (int k = 0; k < 2; k++) {
            size_t n = NS[k];
            float *x = malloc(n * sizeof *x), *g = malloc(n * sizeof *g);
            fill(x, n, 1 + k, -8.0f, 8.0f);
            x[0] = -100.0f, x[1] = -20.0f, x[2] = 0.0f, x[3] = 20.0f, x[4] = 100.0f; /* exp's clamps */
            fill(g, n, 3 + k, -1.0f, 1.0f);
            if (!backward) {
                activation_forward(ACTS[a], out + w, x, n);
            } else {
                fill(out + w, n, 5 + k, -0.5f, 0.5f); /* it accumulates */
                activation_backward(ACTS[a], out + w, x, g, n);
            }
            w += n;
            free(x);
            free(g);
        }
    }
    return w;
}
static size_t case_activation_forward(float *out) { return case_activation(out, 0); }
static size_t case_activation_backward(float *out) { return case_activation(out, 1); }

#define TS 37

static size_t case_softmax_block(float *out) {
    int32_t m[TS], none[TS] = {0};
    for (int t = 0; t < TS; t++) m[t] = t % 5 != 3;
    const int32_t *masks[] = {NULL, m, none};
    for (int k = 0; k < 3; k++) {
        fill(out + k * TS * TS, TS * TS, 10 + k, -30.0f, 30.0f);
        softmax_block(out + k * TS * TS, masks[k], TS);
    }
    return 3 * TS * TS;
}

static size_t case_softmax_back_block(float *out) {
    float a[TS * TS];
    fill(a, TS * TS, 20, -5.0f, 5.0f);
    softmax_block(a, NULL, TS);
    fill(out, TS * TS, 21, -1.0f, 1.0f);
    softmax_back_block(out, a, TS);
    return TS * TS;
}

static size_t case_softmax_row(float *out) {
    int32_t m[TS], none[TS] = {0};
    for (int t = 0; t < TS; t++) m[t] = t % 4 != 1;
    fill(out, 4 * TS, 30, -40.0f, 40.0f);
    softmax_row(out, NULL, TS, TS, 0.0f);
    softmax_row(out + TS, m, TS, 20, 0.0f);   /* causal: keys from 20 on get 0 */
    softmax_row(out + 2 * TS, m, TS, TS, 30.0f); /* soft-capped */
    softmax_row(out + 3 * TS, none, TS, TS, 0.0f);
    return 4 * TS;
}

static size_t case_dropout_forward(float *out) {
    static const struct {
        size_t n;
        float p;
    } C[] = {{20001, 0.1f}, {501, 0.5f}, {300, 0.0f}, {300, 1.0f}};
    size_t w = 0;
    for (size_t k = 0; k < sizeof C / sizeof C[0]; k++) {
        float *x = malloc(C[k].n * sizeof *x);
        fill(x, C[k].n, 40 + k, -1.0f, 1.0f);
        dropout_forward(out + w, x, C[k].n, C[k].p, 42, 1000 + k);
        w += C[k].n;
        free(x);
    }
    return w;
}

static size_t case_dropout_apply(float *out) {
    size_t n = 1003;
    float *x = malloc(n * sizeof *x);
    fill(x, n, 50, -1.0f, 1.0f);
    DropoutMask d = dropout_mask(0.2f, 42, 7);
    dropout_apply(out, x, n, &d, dropout_row_base(5) + 7);
    free(x);
    return n;
}

#define NB 70001 /* above the conversions' parallel threshold */

static size_t case_bf16_from_f32(float *out) {
    float *x = malloc(NB * sizeof *x);
    uint16_t *h = malloc(NB * sizeof *h);
    fill(x, NB, 60, -3.0f, 3.0f);
    const uint32_t special[] = {0x7fc00000u, 0xffc00001u, 0x7f800001u, 0x7f800000u, 0xff800000u, 0x80000000u,
                                0x00000001u, 0x3f808000u, 0x3f818000u, 0x3f80ffffu, 0x7f7fffffu};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) memcpy(&x[i], &special[i], sizeof x[i]);
    bf16_from_f32(h, x, NB);
    for (size_t i = 0; i < NB; i++) out[i] = (float)h[i];
    free(x);
    free(h);
    return NB;
}

static size_t case_bf16_to_f32(float *out) {
    uint16_t *h = malloc(NB * sizeof *h);
    for (size_t i = 0; i < NB; i++) h[i] = (uint16_t)(i * 40503u); /* every pattern, NaNs included */
    bf16_to_f32(out, h, NB);
    free(h);
    return NB;
}

static size_t case_colsum_add(float *out) {
    static const int NC[][2] = {{300, 130}, {7, 70}}; /* parallel, serial */
    size_t w = 0;
    for (int k = 0; k < 2; k++) {
        int N = NC[k][0], C = NC[k][1];
        float *x = malloc((size_t)N * C * sizeof *x);
        fill(x, (size_t)N * C, 70 + k, -1.0f, 1.0f);
        fill(out + w, C, 72 + k, -1.0f, 1.0f); /* it accumulates */
        colsum_add(out + w, x, N, C);
        w += C;
        free(x);
    }
    return w;
}

static size_t case_adam_tensor(float *out) {
    size_t n = 70001, w = 0;
    float *g = malloc(n * sizeof *g);
    for (int mode = 0; mode < 3; mode++) {
        float *pw = out + w, *m = pw + n, *v = m + n;
        fill(pw, n, 80 + mode, -1.0f, 1.0f);
        fill(m, n, 83 + mode, -0.01f, 0.01f);
        fill(v, n, 86 + mode, 0.0f, 1e-4f);
        for (int step = 1; step <= 3; step++) {
            fill(g, n, 90 + 3 * mode + step, -0.1f, 0.1f);
            adam_tensor(pw, g, m, v, (int64_t)n, mode, 0.9f, 0.999f, 1e-8f, 1e-3f / (1.0f - 0.9f), 0.0316f,
                        0.01f, 1.0f - 1e-3f * 0.01f);
        }
        w += 3 * n;
    }
    free(g);
    return w;
}

/* A kernel's case and its tolerance: |x - ref| <= 1e-6 |ref| + atol, or
 * bit for bit when atol is 0. */
typedef struct {
    const char *kernel;
    size_t (*run)(float *out);
    double atol;
} Case;

#define RTOL 1e-6
static const Case CASES[] = {
    /* values and terms of magnitude <= 2 (the backward adds into [-0.5, 0.5]): a few ulp */
    {"activation_forward", case_activation_forward, 1e-6},
    {"activation_backward", case_activation_backward, 2e-6},
    /* probabilities <= 1, sums of up to 37 terms in another order */
    {"softmax_block", case_softmax_block, 1e-6},
    {"softmax_back_block", case_softmax_back_block, 1e-6},
    {"softmax_row", case_softmax_row, 1e-6},
    {"dropout_forward", case_dropout_forward, 0},
    {"dropout_apply", case_dropout_apply, 0},
    {"bf16_from_f32", case_bf16_from_f32, 0},
    {"bf16_to_f32", case_bf16_to_f32, 0},
    {"colsum_add", case_colsum_add, 0},
    /* weights |w| <= 1 after 3 steps: an ulp or two */
    {"adam_tensor", case_adam_tensor, 1e-7},
};
#define NCASES (sizeof CASES / sizeof CASES[0])

/* Every kernel of the table has a case. */
static void test_coverage(void) {
#define SIMD_KNAME(name, params, args) #name,
    static const char *const ALL[] = {SIMD_KERNELS(SIMD_KNAME)};
#undef SIMD_KNAME
    for (size_t i = 0; i < sizeof ALL / sizeof ALL[0]; i++) {
        int found = 0;
        for (size_t c = 0; c < NCASES; c++) found |= !strcmp(ALL[i], CASES[c].kernel);
        CHECKF(found, "kernel %s has no case in test_kernels_dispatch.c", ALL[i]);
    }
    CHECK(NCASES == sizeof ALL / sizeof ALL[0]);
}

/* One level against the baseline's outputs ref[c] (lengths nref[c]). */
static void test_level(PifiIsa level, float *const *ref, const size_t *nref, float *out) {
    REQUIRE(pifi_kernel_isa_set_max(level) == level);
    CHECK(pifi_kernel_isa() == level);
    CHECK(!strcmp(pifi_kernel_isa_name(), pifi_isa_name(level)));
    CHECKF(!strcmp(simd_active()->name, pifi_isa_name(level)), "table in effect: %s", simd_active()->name);
    printf("%s: tested:", pifi_isa_name(level));
    for (size_t c = 0; c < NCASES; c++) {
        size_t n = CASES[c].run(out);
        CHECK(n == nref[c]);
        size_t bad = 0, bits = 0, worst = 0;
        double maxd = 0;
        for (size_t i = 0; i < n && n == nref[c]; i++) {
            double x = out[i], r = ref[c][i], d = fabs(x - r);
            int same_bits = !memcmp(&out[i], &ref[c][i], sizeof out[i]);
            bits += !same_bits;
            int ok = CASES[c].atol == 0 ? same_bits : isnan(r) ? isnan(x) : d <= RTOL * fabs(r) + CASES[c].atol;
            if (!ok && bad++ == 0) worst = i;
            if (!isnan(d) && d > maxd) maxd = d;
        }
        CHECKF(bad == 0, "%s at %s: %zu of %zu elements off the baseline's (first: [%zu] %.9g vs %.9g)",
               CASES[c].kernel, pifi_isa_name(level), bad, n, worst, out[worst], ref[c][worst]);
        printf(" %s", CASES[c].kernel);
        if (bits) printf(" (%zu of %zu differ in the last bits, max %.2g)", bits, n, maxd);
    }
    printf("\n");
}

static void test_levels(void) {
    PifiIsa cpu = pifi_kernel_isa_cpu(), start = pifi_kernel_isa();
    const char *env = getenv("PIFI_MAX_ISA");
    printf("CPU runs up to %s; PIFI_MAX_ISA %s%s%s; in effect: %s\n", pifi_isa_name(cpu), env ? "= " : "unset",
           env ? env : "", pifi_kernel_isa_note() ? " (ignored)" : "", pifi_kernel_isa_name());
    /* PIFI_MAX_ISA stands in for a smaller CPU: levels above it are not tested either */
    PifiIsa top = start;
    float *ref[NCASES], *out = malloc(MAXOUT * sizeof *out);
    size_t nref[NCASES];
    REQUIRE(pifi_kernel_isa_set_max(PIFI_ISA_BASELINE) == PIFI_ISA_BASELINE);
    CHECK(!strcmp(simd_active()->name, "baseline"));
    for (size_t c = 0; c < NCASES; c++) {
        ref[c] = malloc(MAXOUT * sizeof *ref[c]);
        nref[c] = CASES[c].run(ref[c]);
        CHECK(nref[c] > 0 && nref[c] <= MAXOUT);
    }
    printf("baseline: the reference (%zu kernels)\n", NCASES);
    for (PifiIsa l = PIFI_ISA_AVX512; l > PIFI_ISA_BASELINE; l--) {
        if (l > cpu) printf("%s: not available on this CPU, not tested\n", pifi_isa_name(l));
        else if (l > top) printf("%s: above PIFI_MAX_ISA=%s, not tested\n", pifi_isa_name(l), env);
        else test_level(l, ref, nref, out);
    }
    for (size_t c = 0; c < NCASES; c++) free(ref[c]);
    free(out);
    pifi_kernel_isa_set_max(start);
}

/* The API cap: min(CPU, cap), replacing PIFI_MAX_ISA's. */
static void test_api(void) {
    PifiIsa cpu = pifi_kernel_isa_cpu();
    CHECK(pifi_kernel_isa_set_max(PIFI_ISA_BASELINE) == PIFI_ISA_BASELINE);
    CHECK(!strcmp(pifi_kernel_isa_name(), "baseline"));
    CHECK(pifi_kernel_isa_set_max(PIFI_ISA_AVX2) == (cpu < PIFI_ISA_AVX2 ? cpu : PIFI_ISA_AVX2));
    CHECK(pifi_kernel_isa_set_max(PIFI_ISA_AVX512) == cpu);
    CHECK(!strcmp(simd_active()->name, pifi_isa_name(cpu)));
    CHECK(pifi_kernel_isa_set_max((PifiIsa)-5) == PIFI_ISA_BASELINE);
    CHECK(pifi_kernel_isa_set_max((PifiIsa)99) == cpu);
    PifiIsa l = PIFI_ISA_BASELINE;
    CHECK(pifi_isa_parse("AVX2", &l) == 0 && l == PIFI_ISA_AVX2);
    CHECK(pifi_isa_parse("Avx512", &l) == 0 && l == PIFI_ISA_AVX512);
    CHECK(pifi_isa_parse("baseline", &l) == 0 && l == PIFI_ISA_BASELINE);
    CHECK(pifi_isa_parse("avx", &l) == -1);
    CHECK(pifi_isa_parse("avx22", &l) == -1);
    CHECK(pifi_isa_parse("avx2 ", &l) == -1);
    CHECK(pifi_isa_parse("", &l) == -1);
    CHECK(!strcmp(pifi_isa_name((PifiIsa)7), "?"));
}

/* PIFI_MAX_ISA=value in a fresh child process: the level in effect is
 * expect (or the CPU's level when expect is -1), the note names the value
 * when noted. Must run before this process calls any kernel. */
static void test_env_case(const char *value, int expect, int noted) {
    fflush(stdout);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        setenv("PIFI_MAX_ISA", value, 1);
        PifiIsa cpu = pifi_kernel_isa_cpu();
        PifiIsa want = expect < 0 || (PifiIsa)expect > cpu ? cpu : (PifiIsa)expect;
        const char *note = pifi_kernel_isa_note();
        int ok = pifi_kernel_isa() == want && !strcmp(simd_active()->name, pifi_isa_name(want)) &&
                 (noted ? note && strstr(note, value) && strstr(note, "PIFI_MAX_ISA") : !note);
        if (!ok)
            fprintf(stderr, "PIFI_MAX_ISA='%s': level %s, expected %s; note: %s\n", value, pifi_kernel_isa_name(),
                    pifi_isa_name(want), note ? note : "(none)");
        _exit(ok ? 0 : 1);
    }
    int st = 0;
    REQUIRE(waitpid(pid, &st, 0) == pid);
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "PIFI_MAX_ISA='%s'", value);
}

static void test_env_cap(void) {
    test_env_case("AVX2", PIFI_ISA_AVX2, 0);
    test_env_case("avx2", PIFI_ISA_AVX2, 0);
    test_env_case("baseline", PIFI_ISA_BASELINE, 0);
    test_env_case("Avx512", PIFI_ISA_AVX512, 0);
    test_env_case("", -1, 0);            /* empty: unset */
    test_env_case("sse9", -1, 1);        /* unknown: ignored, and noted */
    test_env_case("avx2,avx512", -1, 1);
    printf("PIFI_MAX_ISA: avx2, AVX2, baseline, Avx512, empty, unknown values checked in child processes\n");
}

int main(void) {
    test_env_cap(); /* first: a child reads PIFI_MAX_ISA at its first kernel call */
    test_coverage();
    test_levels();
    test_api();
    TEST_DONE();
}
