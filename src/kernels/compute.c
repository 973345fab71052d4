/* compute.c: the compute context: precision settings, the thread pool, and
 * bf16 matrix products on oneDNN matmul primitives cached per shape, with
 * constant weights packed once (compute_set_packing).
 *
 * Nothing here fails at run time: a CPU without native bf16, or a primitive
 * oneDNN cannot create or run (no kernel for a layout, no memory), sends the
 * product to the emulated path (gemm_bf16_emu.c), which gives the same
 * numbers to summation order. */
#include "kernels/compute.h"

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* precision and threads */

int pifi_precision_parse(const char *s, PifiPrecision *out) {
    if (!strcmp(s, "fp32")) *out = PIFI_PREC_FP32;
    else if (!strcmp(s, "bf16")) *out = PIFI_PREC_BF16;
    else if (!strcmp(s, "auto")) *out = pifi_precision_default();
    else return -1;
    return 0;
}

const char *pifi_precision_name(PifiPrecision p) { return p == PIFI_PREC_BF16 ? "bf16" : "fp32"; }

int pifi_cpu_has_bf16(void) {
    unsigned isa = (unsigned)dnnl_get_effective_cpu_isa(); /* ONEDNN_MAX_CPU_ISA caps it */
    return (isa & (unsigned)dnnl_cpu_isa_avx512_core_bf16) == (unsigned)dnnl_cpu_isa_avx512_core_bf16;
}

const char *pifi_bf16_mode(void) { return pifi_cpu_has_bf16() ? "native" : "emulated"; }

PifiPrecision pifi_precision_default(void) { return pifi_cpu_has_bf16() ? PIFI_PREC_BF16 : PIFI_PREC_FP32; }

const char *pifi_cpu_isa_name(void) {
    static const struct {
        dnnl_cpu_isa_t isa;
        const char *name;
    } NAMES[] = {
        {dnnl_cpu_isa_avx512_core_amx, "avx512_core_amx"}, {dnnl_cpu_isa_avx512_core_bf16, "avx512_core_bf16"},
        {dnnl_cpu_isa_avx512_core_vnni, "avx512_core_vnni"}, {dnnl_cpu_isa_avx512_core, "avx512_core"},
        {dnnl_cpu_isa_avx2_vnni, "avx2_vnni"}, {dnnl_cpu_isa_avx2, "avx2"}, {dnnl_cpu_isa_avx, "avx"},
        {dnnl_cpu_isa_sse41, "sse41"},
    };
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++)
        if (isa == NAMES[i].isa) return NAMES[i].name;
    return "other";
}

void pifi_cpu_name(char *buf, size_t n) {
    if (!n) return;
    snprintf(buf, n, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) || !colon) continue;
        colon++;
        while (*colon == ' ' || *colon == '\t') colon++;
        colon[strcspn(colon, "\n")] = 0;
        if (*colon) snprintf(buf, n, "%s", colon);
        break;
    }
    fclose(f);
}

void pifi_set_threads(int n) {
    if (n > 0) omp_set_num_threads(n);
}

int pifi_threads(void) { return omp_get_max_threads(); }

/* ------------------------------------------------------------------------ */
/* the context */

void compute_init(PifiCompute *cx, PifiPrecision prec) {
    memset(cx, 0, sizeof *cx);
    cx->prec = prec;
}

void compute_set_precision(PifiCompute *cx, PifiPrecision prec) { cx->prec = prec; }

static void mm_cache_free(MatmulCache *c);

void compute_free(PifiCompute *cx) {
    compute_weights_changed(cx);
    mm_cache_free(cx->mm);
    free(cx->s16[0]);
    free(cx->s16[1]);
    free(cx->sq);
    free(cx->emu);
    memset(cx, 0, sizeof *cx);
}

int compute_reserve(PifiCompute *cx, size_t n, size_t quant_row, PifiErr *err) {
    if (n > cx->s16_cap) {
        for (int i = 0; i < 2; i++) {
            free(cx->s16[i]);
            cx->s16[i] = pifi_malloc(n * sizeof(uint16_t), err);
        }
        if (!cx->s16[0] || !cx->s16[1]) {
            free(cx->s16[0]);
            free(cx->s16[1]);
            cx->s16[0] = cx->s16[1] = NULL;
            cx->s16_cap = 0;
            return -1;
        }
        cx->s16_cap = n;
    }
    size_t qb = quant_row * COMPUTE_QROWS * sizeof(float);
    if (qb > cx->sq_cap) {
        free(cx->sq);
        cx->sq = pifi_malloc(qb, err);
        cx->sq_cap = cx->sq ? qb : 0;
        if (!cx->sq) return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* bf16 matmul primitives, one per shape */

enum { KEY_N = 13, CACHE_CAP = 512 };

typedef struct {
    int key[KEY_N];          /* ..., key[12]: 1 for a primitive on packed weights */
    uint64_t used;           /* tick of the last use (LRU) */
    dnnl_memory_desc_t wmd;  /* the weights' layout it was created for (packed ones) */
    dnnl_primitive_t prim;
    dnnl_memory_t a, b, c, bias, scratch;
    size_t scratch_size;     /* bytes of scratchpad the primitive needs */
} MmEntry;

/* A weight (N, K) packed into the layout a packed primitive wants. Every
 * packed weight of one (N, K) shares the layout of the first one (the
 * primitives for other M are created for that layout), so a weight has one
 * packed copy whatever the batch size. */
typedef struct {
    const uint16_t *src;
    int N, K;
    dnnl_memory_desc_t md;
    void *data;
} Packed;

/* The primitives use one scratchpad, owned here (user scratchpad mode):
 * without it oneDNN allocates and frees one at every execution, a page-fault
 * storm for the packed copies of large weights. */
struct MatmulCache {
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    MmEntry *e;
    int n;
    Packed *pk;
    int npk, pk_cap;
    uint64_t tick;
    void *scratch;
    size_t scratch_cap;
};

static void entry_free(MmEntry *e) {
    if (e->prim) dnnl_primitive_destroy(e->prim);
    if (e->a) dnnl_memory_destroy(e->a);
    if (e->b) dnnl_memory_destroy(e->b);
    if (e->c) dnnl_memory_destroy(e->c);
    if (e->bias) dnnl_memory_destroy(e->bias);
    if (e->scratch) dnnl_memory_destroy(e->scratch);
    memset(e, 0, sizeof *e);
}

static void mm_cache_free(MatmulCache *c) {
    if (!c) return;
    free(c->pk);
    for (int i = 0; i < c->n; i++) entry_free(&c->e[i]);
    free(c->e);
    free(c->scratch);
    if (c->stream) dnnl_stream_destroy(c->stream);
    if (c->eng) dnnl_engine_destroy(c->eng);
    free(c);
}

static MatmulCache *mm_cache(PifiCompute *cx) {
    if (cx->mm) return cx->mm;
    MatmulCache *c = calloc(1, sizeof *c);
    if (!c || !(c->e = calloc(CACHE_CAP, sizeof *c->e)) || dnnl_engine_create(&c->eng, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&c->stream, c->eng, dnnl_stream_default_flags) != dnnl_success) {
        mm_cache_free(c);
        return NULL;
    }
    cx->mm = c;
    return c;
}

/* Create the primitive of key. wmd: NULL, the weights strided as the key
 * says; else the packed layout they will have (format "any": oneDNN's
 * choice, stored in e->wmd). Returns -1, with e left empty, when oneDNN
 * cannot: no kernel for these types or this layout on this CPU, or no
 * memory. */
#define TRY(call)                                                                                            \
    do {                                                                                                     \
        if ((call) != dnnl_success) goto fail;                                                               \
    } while (0)

static int entry_create(MatmulCache *c, MmEntry *e, const int *key, float alpha, const dnnl_memory_desc_t *wmd) {
    int ta = key[0], tb = key[1], M = key[2], N = key[3], K = key[4], lda = key[5], ldb = key[6],
        ldc = key[7], beta = key[8], has_bias = key[9];
    dnnl_memory_desc_t amd, bmd, cmd, biasmd;
    dnnl_dims_t ad = {M, K}, bd = {K, N}, cd = {M, N}, biasd = {1, N};
    dnnl_dims_t as = {ta ? 1 : lda, ta ? lda : 1}, bs = {tb ? 1 : ldb, tb ? ldb : 1}, cs = {ldc, 1},
                biass = {N, 1};
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    memset(e, 0, sizeof *e);
    TRY(dnnl_memory_desc_init_by_strides(&amd, 2, ad, dnnl_bf16, as));
    if (wmd) bmd = *wmd;
    else TRY(dnnl_memory_desc_init_by_strides(&bmd, 2, bd, dnnl_bf16, bs));
    TRY(dnnl_memory_desc_init_by_strides(&cmd, 2, cd, dnnl_f32, cs));
    TRY(dnnl_memory_desc_init_by_strides(&biasmd, 2, biasd, dnnl_f32, biass));
    dnnl_matmul_desc_t md;
    TRY(dnnl_matmul_desc_init(&md, &amd, &bmd, has_bias ? &biasmd : NULL, &cmd));
    TRY(dnnl_primitive_attr_create(&attr));
    TRY(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
    if (alpha != 1.0f) TRY(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha));
    if (beta) {
        TRY(dnnl_post_ops_create(&po));
        TRY(dnnl_post_ops_append_sum(po, 1.0f));
        TRY(dnnl_primitive_attr_set_post_ops(attr, po));
    }
    TRY(dnnl_primitive_desc_create(&pd, &md, attr, c->eng, NULL));
    if (wmd) bmd = e->wmd = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    TRY(dnnl_primitive_create(&e->prim, pd));
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    e->scratch_size = smd ? dnnl_memory_desc_get_size(smd) : 0;
    if (e->scratch_size) {
        if (e->scratch_size > c->scratch_cap) { /* grown while primitives are created, then reused */
            free(c->scratch);
            c->scratch = aligned_alloc(64, (e->scratch_size + 63) / 64 * 64);
            c->scratch_cap = c->scratch ? e->scratch_size : 0;
            if (!c->scratch) goto fail;
        }
        TRY(dnnl_memory_create(&e->scratch, smd, c->eng, DNNL_MEMORY_NONE));
    }
    TRY(dnnl_memory_create(&e->a, &amd, c->eng, DNNL_MEMORY_NONE));
    TRY(dnnl_memory_create(&e->b, &bmd, c->eng, DNNL_MEMORY_NONE));
    TRY(dnnl_memory_create(&e->c, &cmd, c->eng, DNNL_MEMORY_NONE));
    if (has_bias) TRY(dnnl_memory_create(&e->bias, &biasmd, c->eng, DNNL_MEMORY_NONE));
    dnnl_primitive_desc_destroy(pd);
    dnnl_post_ops_destroy(po);
    dnnl_primitive_attr_destroy(attr);
    memcpy(e->key, key, sizeof e->key);
    return 0;
fail:
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    entry_free(e);
    return -1;
}

/* The entry for key: found, or created in a free slot or the least recently
 * used one (wmd: as entry_create; NULL when it cannot be created). */
static MmEntry *mm_get(MatmulCache *c, const int *key, float alpha, const dnnl_memory_desc_t *wmd) {
    c->tick++;
    for (int i = 0; i < c->n; i++)
        if (memcmp(c->e[i].key, key, sizeof c->e[i].key) == 0) {
            c->e[i].used = c->tick;
            return &c->e[i];
        }
    MmEntry *e;
    if (c->n < CACHE_CAP) {
        e = &c->e[c->n++];
    } else {
        e = &c->e[0];
        for (int i = 1; i < c->n; i++)
            if (c->e[i].used < e->used) e = &c->e[i];
        entry_free(e);
    }
    if (entry_create(c, e, key, alpha, wmd)) {
        *e = c->e[--c->n]; /* the last slot fills the hole */
        memset(&c->e[c->n], 0, sizeof c->e[c->n]);
        return NULL;
    }
    e->used = c->tick;
    return e;
}

static int mm_exec(MatmulCache *c, MmEntry *e, const void *A, const void *B, float *C, const float *bias);

/* Are cx's bf16 products on oneDNN's bf16 kernels? Not on a CPU without
 * them, nor in a context told to emulate (tests). */
static int native(const PifiCompute *cx) { return !cx->emulate_bf16 && pifi_cpu_has_bf16(); }

void gemm_bf16(PifiCompute *cx, int ta, int tb, int M, int N, int K, float alpha, const uint16_t *A,
               int lda, const uint16_t *B, int ldb, float beta, float *C, int ldc, const float *bias) {
    if (M == 0 || N == 0) return;
    if ((beta != 0.0f && beta != 1.0f) || (bias && alpha != 1.0f)) {
        /* an invariant of pifi's own callers (compute.h), never of data or machine */
        pifi_bug("gemm_bf16 with beta %g, alpha %g and a bias", beta, alpha);
    }
    cx->flops += 2.0 * M * N * K;
    if (native(cx)) {
        int ab;
        memcpy(&ab, &alpha, sizeof ab);
        int key[KEY_N] = {ta != 0, tb != 0, M, N, K, lda, ldb, ldc, beta != 0.0f, bias != NULL, ab,
                          omp_get_max_threads(), 0};
        MatmulCache *c = mm_cache(cx);
        MmEntry *e = c ? mm_get(c, key, alpha, NULL) : NULL;
        if (e && mm_exec(c, e, A, B, C, bias) == 0) return;
        cx->fallbacks++; /* oneDNN could not: the same product, emulated */
    }
    gemm_bf16_emulated(cx, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias);
}

/* ------------------------------------------------------------------------ */
/* packed weights */

void compute_set_packing(PifiCompute *cx, int on) {
    if (!on) compute_weights_changed(cx);
    cx->packing = on != 0;
}

void compute_weights_changed(PifiCompute *cx) {
    MatmulCache *c = cx->mm;
    if (!c || !c->npk) return;
    for (int i = 0; i < c->npk; i++) free(c->pk[i].data);
    c->npk = 0;
    for (int i = 0; i < c->n;) { /* the packed primitives go too: the next packing may choose another layout */
        if (c->e[i].key[12]) {
            entry_free(&c->e[i]);
            c->e[i] = c->e[--c->n];
            memset(&c->e[c->n], 0, sizeof c->e[c->n]);
        } else {
            i++;
        }
    }
}

/* W's packed copy, or the layout of (N, K)'s packed weights (*layout; NULL: none yet). */
static Packed *pack_find(MatmulCache *c, const uint16_t *W, int N, int K, const dnnl_memory_desc_t **layout) {
    *layout = NULL;
    for (int i = 0; i < c->npk; i++) {
        Packed *p = &c->pk[i];
        if (p->N != N || p->K != K) continue;
        *layout = &p->md;
        if (p->src == W) return p;
    }
    return NULL;
}

/* Reorder W (N, K) row-major into md; NULL when oneDNN or memory fails
 * (the caller multiplies unpacked). */
static Packed *pack_new(MatmulCache *c, const uint16_t *W, int N, int K, const dnnl_memory_desc_t *md) {
    if (c->npk == c->pk_cap) {
        int cap = c->pk_cap ? 2 * c->pk_cap : 64;
        Packed *pk = realloc(c->pk, (size_t)cap * sizeof *pk);
        if (!pk) return NULL;
        c->pk = pk;
        c->pk_cap = cap;
    }
    size_t bytes = dnnl_memory_desc_get_size(md);
    void *data = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!data) return NULL;
    dnnl_memory_desc_t umd;
    dnnl_dims_t d = {K, N}, s = {1, K}; /* W^T (K, N), as the products take it */
    dnnl_memory_t from = NULL, to = NULL;
    dnnl_primitive_desc_t rpd = NULL;
    dnnl_primitive_t r = NULL;
    int ok = dnnl_memory_desc_init_by_strides(&umd, 2, d, dnnl_bf16, s) == dnnl_success &&
             dnnl_memory_create(&from, &umd, c->eng, (void *)W) == dnnl_success &&
             dnnl_memory_create(&to, md, c->eng, data) == dnnl_success &&
             dnnl_reorder_primitive_desc_create(&rpd, &umd, c->eng, md, c->eng, NULL) == dnnl_success &&
             dnnl_primitive_create(&r, rpd) == dnnl_success;
    if (ok) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
        ok = dnnl_primitive_execute(r, c->stream, 2, args) == dnnl_success &&
             dnnl_stream_wait(c->stream) == dnnl_success;
    }
    if (r) dnnl_primitive_destroy(r);
    if (rpd) dnnl_primitive_desc_destroy(rpd);
    if (from) dnnl_memory_destroy(from);
    if (to) dnnl_memory_destroy(to);
    if (!ok) {
        free(data);
        return NULL;
    }
    Packed *p = &c->pk[c->npk++];
    *p = (Packed){W, N, K, *md, data};
    return p;
}

/* Matrices above this many elements are not packed: measured with the
 * Llama-3.1-8B-shaped layer (4096 x 14336), packing gained 5-8% at batch 1
 * and 3% at batch 32 (oneDNN takes a large weight as it is) for 365 MB more,
 * while BERT-base's matrices (up to 768 x 3072) gain 10-20%. */
#define PACK_MAX_ELEMS ((size_t)1 << 23)

void gemm_bf16_weight(PifiCompute *cx, int M, int N, int K, const uint16_t *A, const uint16_t *W, float *C,
                      const float *bias) {
    MatmulCache *c = NULL;
    if (!cx->packing || M == 0 || N == 0 || (size_t)N * K > PACK_MAX_ELEMS || !native(cx) || !(c = mm_cache(cx))) {
        gemm_bf16(cx, 0, 1, M, N, K, 1.0f, A, K, W, K, 0.0f, C, N, bias);
        return;
    }
    float one = 1.0f;
    int ab;
    memcpy(&ab, &one, sizeof ab);
    int key[KEY_N] = {0, 1, M, N, K, K, K, N, 0, bias != NULL, ab, omp_get_max_threads(), 1};
    const dnnl_memory_desc_t *layout;
    Packed *p = pack_find(c, W, N, K, &layout);
    dnnl_memory_desc_t any;
    if (!layout) {
        dnnl_dims_t d = {K, N};
        if (dnnl_memory_desc_init_by_tag(&any, 2, d, dnnl_bf16, dnnl_format_tag_any) != dnnl_success) {
            gemm_bf16(cx, 0, 1, M, N, K, 1.0f, A, K, W, K, 0.0f, C, N, bias);
            return;
        }
        layout = &any;
    }
    MmEntry *e = mm_get(c, key, 1.0f, layout);
    if (e && !p) p = pack_new(c, W, N, K, &e->wmd);
    if (!e || !p || !dnnl_memory_desc_equal(&e->wmd, &p->md) || mm_exec(c, e, A, p->data, C, bias)) {
        /* no packed kernel, no memory for the copy, or oneDNN failed: unpacked */
        gemm_bf16(cx, 0, 1, M, N, K, 1.0f, A, K, W, K, 0.0f, C, N, bias);
        return;
    }
    cx->flops += 2.0 * M * N * K;
}

/* Run entry e: C = A B (+ bias), with the handles set to these pointers; -1
 * when oneDNN refuses (before computing anything). */
static int mm_exec(MatmulCache *c, MmEntry *e, const void *A, const void *B, float *C, const float *bias) {
    if (dnnl_memory_set_data_handle(e->a, (void *)A) != dnnl_success ||
        dnnl_memory_set_data_handle(e->b, (void *)B) != dnnl_success ||
        dnnl_memory_set_data_handle(e->c, C) != dnnl_success)
        return -1;
    dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, e->a}, {DNNL_ARG_WEIGHTS, e->b}, {DNNL_ARG_DST, e->c}};
    int nargs = 3;
    if (bias) {
        if (dnnl_memory_set_data_handle(e->bias, (void *)bias) != dnnl_success) return -1;
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, e->bias};
    }
    if (e->scratch) {
        if (dnnl_memory_set_data_handle(e->scratch, c->scratch) != dnnl_success) return -1;
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, e->scratch};
    }
    if (dnnl_primitive_execute(e->prim, c->stream, nargs, args) != dnnl_success) return -1;
    return dnnl_stream_wait(c->stream) == dnnl_success ? 0 : -1;
}
