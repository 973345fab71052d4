/* cmd_bench.c: `pifi bench`: fixed-shape synthetic throughput of a training
 * step or an inference forward, and the oneDNN GEMM peak of the machine:
 * what bench/run.sh compares with PyTorch. */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli/cli.h"
#include "kernels/compute.h"
#include "kernels/gemm.h"
#include "core/rng.h"
#include "train/trainer.h"

static const char *HELP =
    "usage: pifi bench --slm DIR [--llm PATH [--layer N] | --llm-layer DIR] [options]\n"
    "       pifi bench --mode gemm [--precision P] [--threads N]\n"
    "\n"
    "Fixed-shape throughput on synthetic data: every example has --max-len real\n"
    "tokens (random ids) and a random label; the weights are the given ones, the\n"
    "head freshly initialised. Prints examples per second (median over the timed\n"
    "steps, with the fastest and slowest), the peak resident memory, and the FLOP\n"
    "rate of the matrix products. --mode gemm measures the machine's peak instead:\n"
    "2048^3 products in fp32 (sgemm) and bf16 (matmul primitive).\n"
    "\n"
    "options:\n"
    "  --mode M          train (default: forward, backward, clip, Adam step), infer\n"
    "                    (forward in eval mode) or gemm\n"
    "  --method M        base | pifi (the default with an LLM) | pifi-unfrozen | lora\n"
    "  --batch N         examples per step (default 32)\n"
    "  --max-len N       tokens per example (default 100)\n"
    "  --steps N         timed steps (default 10)\n"
    "  --warmup N        untimed steps first (default 2)\n"
    "  --precision P     fp32 | bf16 | auto (default: bf16 where the CPU has it)\n"
    "  --threads N       size of the thread pool (default: OMP_NUM_THREADS or all cores)\n"
    "  --json            one JSON object on stdout\n"
    "  -h, --help        this text\n";

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A batch of B examples of T real tokens: [CLS] random ids [SEP]. */
static int synthetic_batch(Batch *b, int B, int T, int V, PifiErr *err) {
    memset(b, 0, sizeof *b);
    size_t n = (size_t)B * T;
    b->ids = pifi_malloc(n * sizeof(int32_t), err);
    b->type_ids = b->ids ? pifi_calloc(n, sizeof(int32_t), err) : NULL;
    b->mask = b->type_ids ? pifi_malloc(n * sizeof(int32_t), err) : NULL;
    b->labels = b->mask ? pifi_malloc((size_t)B * sizeof(int32_t), err) : NULL;
    if (!b->labels) {
        batch_free(b);
        return -1;
    }
    b->B = B;
    b->T = T;
    b->cap_B = B;
    b->cap_BT = (int)n;
    int lo = V > 2000 ? 1000 : 1;
    for (size_t i = 0; i < n; i++) {
        int t = (int)(i % T);
        b->ids[i] = t == 0 ? (V > 101 ? 101 : 0) : t == T - 1 ? (V > 102 ? 102 : 0)
                                                       : lo + (int)(rng_u64(7, 0, i) % (uint64_t)(V - lo));
        b->mask[i] = 1;
    }
    for (int i = 0; i < B; i++) b->labels[i] = (int)(rng_u64(7, 1, i) & 1);
    return 0;
}

typedef struct {
    double med, lo, hi; /* seconds per step */
    double flops;       /* matrix-product FLOPs per step (counted) */
} Timing;

static void finish(Timing *tm, double *t, int steps, double flops) {
    qsort(t, (size_t)steps, sizeof *t, cmp_double);
    tm->med = steps % 2 ? t[steps / 2] : 0.5 * (t[steps / 2 - 1] + t[steps / 2]);
    tm->lo = t[0];
    tm->hi = t[steps - 1];
    tm->flops = flops / steps;
}

static int bench_train(const TrainOpts *o, int warmup, int steps, double *t, Timing *tm, PifiErr *err) {
    Trainer tr;
    if (trainer_setup(&tr, o, 2, err)) return -1;
    Batch b;
    if (synthetic_batch(&b, o->batch, o->max_len, tr.model.slm.cfg.V, err)) {
        trainer_free(&tr);
        return -1;
    }
    int rc = 0;
    double flops = 0;
    for (int s = 0; rc == 0 && s < warmup + steps; s++) {
        double loss, gnorm, f0 = tr.model.cx->flops, t0 = now_s();
        rc = trainer_step(&tr, &b, o->lr, &loss, &gnorm, err);
        if (s >= warmup) {
            t[s - warmup] = now_s() - t0;
            flops += tr.model.cx->flops - f0;
        }
    }
    if (rc == 0) finish(tm, t, steps, flops);
    batch_free(&b);
    trainer_free(&tr);
    return rc;
}

static int bench_infer(const TrainOpts *o, int warmup, int steps, double *t, Timing *tm, PifiErr *err) {
    PifiModel m;
    int has_llm = method_plugs_llm(o->method);
    if (pifi_model_init(&m, o->slm, has_llm ? o->llm : NULL, o->layer, 2, o->pooling, 1, o->precision, 1, err))
        return -1;
    pifi_model_init_heads(&m, o->seed);
    Batch b;
    int rc = pifi_model_set_precision(&m, o->precision, 1, err);
    if (rc == 0) rc = synthetic_batch(&b, o->batch, o->max_len, m.slm.cfg.V, err);
    if (rc) {
        pifi_model_free(&m);
        return -1;
    }
    pifi_model_set_train(&m, 0, 0, 0);
    pifi_model_set_packing(&m, 1);
    double flops = 0;
    for (int s = 0; rc == 0 && s < warmup + steps; s++) {
        double f0 = m.cx->flops, t0 = now_s();
        rc = pifi_model_forward(&m, b.ids, b.type_ids, b.mask, b.B, b.T, err);
        if (s >= warmup) {
            t[s - warmup] = now_s() - t0;
            flops += m.cx->flops - f0;
        }
    }
    if (rc == 0) finish(tm, t, steps, flops);
    batch_free(&b);
    pifi_model_free(&m);
    return rc;
}

/* GFLOP/s of n x n x n products: fp32 sgemm and bf16 (oneDNN's bf16 matmul
 * primitive, or the emulated path on a CPU without native bf16). */
static int bench_gemm(int n, double *f32, double *bf16, PifiErr *err) {
    size_t nn = (size_t)n * n;
    float *a = pifi_malloc(3 * nn * sizeof(float), err);
    uint16_t *h = a ? pifi_malloc(2 * nn * sizeof(uint16_t), err) : NULL;
    if (!h) {
        free(a);
        return -1;
    }
    float *b = a + nn, *c = b + nn;
    for (size_t i = 0; i < 2 * nn; i++) a[i] = rng_uniform(3, 0, i) - 0.5f;
    bf16_from_f32(h, a, 2 * nn);
    PifiCompute cx;
    compute_init(&cx, PIFI_PREC_BF16);
    double fl = 2.0 * n * nn;
    for (int k = 0; k < 2; k++) {
        int reps = 0;
        double t0 = 0, best = 1e30;
        for (int r = 0; r < 12; r++) { /* best of a few: the machine may be shared */
            t0 = now_s();
            if (k == 0) gemm_f32(0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
            else gemm_bf16(&cx, 0, 0, n, n, n, 1.0f, h, n, h + nn, n, 0.0f, c, n, NULL);
            double dt = now_s() - t0;
            if (r > 0 && dt < best) best = dt; /* the first run creates the primitive */
            reps++;
        }
        *(k == 0 ? f32 : bf16) = fl / best / 1e9;
    }
    compute_free(&cx);
    free(h);
    free(a);
    return 0;
}

int cmd_bench(int argc, char **argv) {
    enum { O_SLM = 256, O_LLM, O_LAYER, O_LLM_LAYER, O_METHOD, O_MODE, O_BATCH, O_MAX_LEN, O_STEPS, O_WARMUP,
           O_PRECISION, O_THREADS, O_JSON };
    static const struct option LONG[] = {
        {"slm", 1, 0, O_SLM},         {"llm", 1, 0, O_LLM},         {"layer", 1, 0, O_LAYER},
        {"llm-layer", 1, 0, O_LLM_LAYER}, {"method", 1, 0, O_METHOD}, {"mode", 1, 0, O_MODE},
        {"batch", 1, 0, O_BATCH},     {"max-len", 1, 0, O_MAX_LEN}, {"steps", 1, 0, O_STEPS},
        {"warmup", 1, 0, O_WARMUP},   {"precision", 1, 0, O_PRECISION}, {"threads", 1, 0, O_THREADS},
        {"json", 0, 0, O_JSON},       {"help", 0, 0, 'h'},          {0, 0, 0, 0},
    };
    TrainOpts o;
    train_opts_default(&o);
    o.precision = pifi_precision_default();
    const char *mode = "train", *llm_layer = NULL;
    int steps = 10, warmup = 2, json = 0, method_set = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = cli_getopt(argc, argv, ":h", LONG, "bench")) != -1) {
        switch (c) {
        case O_SLM: o.slm = optarg; break;
        case O_LLM: o.llm = optarg; break;
        case O_LLM_LAYER: llm_layer = optarg; break;
        case O_LAYER: if (cli_parse_int("bench", "--layer", optarg, -100000, 100000, &o.layer)) return 2; break;
        case O_METHOD:
            if (method_parse(optarg, &o.method) || o.method == METHOD_PIFI_RANDOM || method_llm_as_slm(o.method))
                return cli_usage_error("bench", "--method must be base, pifi, pifi-unfrozen or lora, not '%s'", optarg);
            method_set = 1;
            break;
        case O_MODE:
            if (strcmp(optarg, "train") && strcmp(optarg, "infer") && strcmp(optarg, "gemm"))
                return cli_usage_error("bench", "--mode must be train, infer or gemm, not '%s'", optarg);
            mode = optarg;
            break;
        case O_BATCH: if (cli_parse_int("bench", "--batch", optarg, 1, 1 << 16, &o.batch)) return 2; break;
        case O_MAX_LEN: if (cli_parse_int("bench", "--max-len", optarg, 3, 1 << 16, &o.max_len)) return 2; break;
        case O_STEPS: if (cli_parse_int("bench", "--steps", optarg, 1, 1 << 20, &steps)) return 2; break;
        case O_WARMUP: if (cli_parse_int("bench", "--warmup", optarg, 0, 1 << 20, &warmup)) return 2; break;
        case O_PRECISION: if (cli_parse_precision("bench", optarg, &o.precision)) return 2; break;
        case O_THREADS: if (cli_parse_threads("bench", optarg)) return 2; break;
        case O_JSON: json = 1; break;
        case 'h': fputs(HELP, stdout); return 0;
        case ':': return cli_usage_error("bench", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("bench", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("bench", "unexpected argument '%s'", argv[optind]);
    PifiErr err = {0};
    if (!strcmp(mode, "gemm")) {
        double f32 = 0, bf16 = 0;
        if (bench_gemm(2048, &f32, &bf16, &err)) return cli_fail(&err);
        char cpu[256];
        pifi_cpu_name(cpu, sizeof cpu);
        if (json) {
            printf("{\"mode\":\"gemm\",\"n\":2048,\"threads\":%d,\"cpu\":", pifi_threads());
            cli_json_string(stdout, cpu);
            printf(",\"isa\":\"%s\",\"kernel_isa\":\"%s\",\"fp32_gflops\":%.1f,\"bf16_gflops\":%.1f,\"bf16\":\"%s\"}\n",
                   pifi_cpu_isa_name(), pifi_kernel_isa_name(), f32, bf16, pifi_bf16_mode());
        } else {
            printf("2048^3 products, %d threads, %s (oneDNN ISA %s, pifi kernels %s): fp32 %.1f GFLOP/s, bf16 %.1f "
                   "GFLOP/s (%s)\n",
                   pifi_threads(), cpu, pifi_cpu_isa_name(), pifi_kernel_isa_name(), f32, bf16,
                   pifi_cpu_has_bf16() ? "native" : "emulated: this CPU has no native bf16");
        }
        return 0;
    }
    if (!o.slm) return cli_usage_error("bench", "--slm DIR is required");
    if (llm_layer && o.llm) return cli_usage_error("bench", "give --llm or --llm-layer, not both");
    if (llm_layer) {
        o.llm = llm_layer;
        o.layer = INT_MIN;
    }
    if (!method_set) o.method = o.llm ? METHOD_PIFI : METHOD_BASE;
    if (method_has_llm(o.method) && !o.llm)
        return cli_usage_error("bench", "--method %s needs --llm PATH or --llm-layer DIR", method_name(o.method));
    if (!method_has_llm(o.method)) o.llm = NULL;
    if (train_opts_resolve(&o, &err)) return cli_fail(&err); /* pooling auto: the SLM family's */
    double *t = pifi_malloc((size_t)steps * sizeof *t, &err);
    if (!t) return cli_fail(&err);
    Timing tm;
    int train = !strcmp(mode, "train");
    int rc = train ? bench_train(&o, warmup, steps, t, &tm, &err) : bench_infer(&o, warmup, steps, t, &tm, &err);
    free(t);
    if (rc) return cli_fail(&err);
    double eps = o.batch / tm.med;
    int emulated = o.precision == PIFI_PREC_BF16 && !pifi_cpu_has_bf16();
    if (json) {
        printf("{\"mode\":\"%s\",\"method\":\"%s\",\"precision\":\"%s%s\",\"threads\":%d,\"batch\":%d,\"max_len\":%d,"
               "\"steps\":%d,\"examples_per_s\":%.3f,\"step_ms\":%.3f,\"step_ms_min\":%.3f,\"step_ms_max\":%.3f,"
               "\"gemm_gflop_per_step\":%.4f,\"gemm_gflops\":%.2f,\"peak_rss_mb\":%.1f}\n",
               mode, method_name(o.method), pifi_precision_name(o.precision), emulated ? " emulated" : "",
               pifi_threads(), o.batch, o.max_len, steps, eps, tm.med * 1e3, tm.lo * 1e3, tm.hi * 1e3, tm.flops / 1e9, tm.flops / tm.med / 1e9,
               peak_rss_mb());
    } else {
        printf("%s %s %s%s, batch %d x %d tokens, %d threads: %.2f examples/s (%.1f ms/step, %.1f..%.1f over %d "
               "steps), products %.1f GFLOP/s, peak RSS %.0f MB\n",
               mode, method_name(o.method), pifi_precision_name(o.precision), emulated ? " (emulated)" : "", o.batch,
               o.max_len, pifi_threads(), eps,
               tm.med * 1e3, tm.lo * 1e3, tm.hi * 1e3, steps, tm.flops / tm.med / 1e9, peak_rss_mb());
    }
    return 0;
}
