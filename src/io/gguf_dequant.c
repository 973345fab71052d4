/* gguf_dequant.c: GGUF tensor data to fp32: ggml types (names, block
 * sizes), dequantizing their blocks, and the layout helpers (PyTorch-order
 * shape, undoing llama.cpp's Q/K row permutation).
 *
 * The reference semantics are the numpy dequantizers of the gguf Python
 * package (gguf/quants.py), which match ggml's dequantize_row_* functions.
 * Every float operation below is done in fp32 in the same order as there
 * (e.g. Q4_K computes (d * sc) * q - (dmin * m)), so the results are bit
 * identical; this relies on the compiler not contracting a*b+c into an FMA,
 * which GCC does not do in ISO C mode (-std=c11, the project default).
 *
 * Block layouts (QK_K = 256; "f16" is an IEEE half, little-endian):
 *   Q4_0 (32):  f16 d, u8 qs[16]                      x = d * (q - 8)
 *   Q4_1 (32):  f16 d, f16 m, u8 qs[16]               x = d * q + m
 *   Q5_0 (32):  f16 d, u32 qh, u8 qs[16]              x = d * (q - 16)
 *   Q5_1 (32):  f16 d, f16 m, u32 qh, u8 qs[16]       x = d * q + m
 *   Q8_0 (32):  f16 d, i8 qs[32]                      x = d * q
 *   Q2_K (256): u8 scales[16], u8 qs[64], f16 d, f16 dmin
 *   Q3_K (256): u8 hmask[32], u8 qs[64], u8 scales[12], f16 d
 *   Q4_K (256): f16 d, f16 dmin, u8 scales[12], u8 qs[128]
 *   Q5_K (256): f16 d, f16 dmin, u8 scales[12], u8 qh[32], u8 qs[128]
 *   Q6_K (256): u8 ql[128], u8 qh[64], i8 scales[16], f16 d
 *   Q8_K (256): f32 d, i8 qs[256], i16 bsums[16]      x = d * q
 * In the 32-element formats element l < 16 is the low nibble of qs[l] and
 * element l + 16 the high nibble. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pifi/dtype.h"
#include "pifi/gguf.h"

#define QK_K 256

static const struct {
    const char *name;
    uint16_t block_size, block_bytes;
} TYPES[GGML_TYPE_COUNT] = {
    [GGML_TYPE_F32] = {"F32", 1, 4},
    [GGML_TYPE_F16] = {"F16", 1, 2},
    [GGML_TYPE_Q4_0] = {"Q4_0", 32, 2 + 16},
    [GGML_TYPE_Q4_1] = {"Q4_1", 32, 2 + 2 + 16},
    [GGML_TYPE_Q5_0] = {"Q5_0", 32, 2 + 4 + 16},
    [GGML_TYPE_Q5_1] = {"Q5_1", 32, 2 + 2 + 4 + 16},
    [GGML_TYPE_Q8_0] = {"Q8_0", 32, 2 + 32},
    [GGML_TYPE_Q8_1] = {"Q8_1", 32, 4 + 4 + 32},
    [GGML_TYPE_Q2_K] = {"Q2_K", QK_K, 2 + 2 + QK_K / 16 + QK_K / 4},
    [GGML_TYPE_Q3_K] = {"Q3_K", QK_K, 2 + QK_K / 4 + QK_K / 8 + 12},
    [GGML_TYPE_Q4_K] = {"Q4_K", QK_K, 2 + 2 + QK_K / 2 + 12},
    [GGML_TYPE_Q5_K] = {"Q5_K", QK_K, 2 + 2 + QK_K / 2 + QK_K / 8 + 12},
    [GGML_TYPE_Q6_K] = {"Q6_K", QK_K, 2 + QK_K / 2 + QK_K / 4 + QK_K / 16},
    [GGML_TYPE_Q8_K] = {"Q8_K", QK_K, 4 + QK_K + QK_K / 8},
    [GGML_TYPE_IQ2_XXS] = {"IQ2_XXS", QK_K, 2 + QK_K / 4},
    [GGML_TYPE_IQ2_XS] = {"IQ2_XS", QK_K, 2 + QK_K / 4 + QK_K / 32},
    [GGML_TYPE_IQ3_XXS] = {"IQ3_XXS", QK_K, 2 + QK_K / 4 + QK_K / 8},
    [GGML_TYPE_IQ1_S] = {"IQ1_S", QK_K, 2 + QK_K / 8 + QK_K / 16},
    [GGML_TYPE_IQ4_NL] = {"IQ4_NL", 32, 2 + 16},
    [GGML_TYPE_IQ3_S] = {"IQ3_S", QK_K, 2 + QK_K / 4 + QK_K / 8 + QK_K / 32 + 4},
    [GGML_TYPE_IQ2_S] = {"IQ2_S", QK_K, 2 + QK_K / 4 + QK_K / 16},
    [GGML_TYPE_IQ4_XS] = {"IQ4_XS", QK_K, 2 + 2 + QK_K / 2 + QK_K / 64},
    [GGML_TYPE_I8] = {"I8", 1, 1},
    [GGML_TYPE_I16] = {"I16", 1, 2},
    [GGML_TYPE_I32] = {"I32", 1, 4},
    [GGML_TYPE_I64] = {"I64", 1, 8},
    [GGML_TYPE_F64] = {"F64", 1, 8},
    [GGML_TYPE_IQ1_M] = {"IQ1_M", QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32},
    [GGML_TYPE_BF16] = {"BF16", 1, 2},
    [GGML_TYPE_TQ1_0] = {"TQ1_0", QK_K, 2 + 4 * 13},
    [GGML_TYPE_TQ2_0] = {"TQ2_0", QK_K, 2 + 64},
    [GGML_TYPE_MXFP4] = {"MXFP4", 32, 1 + 16},
};

const char *gguf_type_name(GgmlType type) {
    return (unsigned)type < GGML_TYPE_COUNT ? TYPES[type].name : NULL;
}

int64_t gguf_type_block_size(GgmlType type) {
    return (unsigned)type < GGML_TYPE_COUNT ? TYPES[type].block_size : 0;
}

int64_t gguf_type_block_bytes(GgmlType type) {
    return (unsigned)type < GGML_TYPE_COUNT ? TYPES[type].block_bytes : 0;
}

static float f16(const uint8_t *p) { return pifi_f16_to_f32((uint16_t)(p[0] | p[1] << 8)); }

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- 32-element blocks ---- */

static void deq_q4_0(const uint8_t *b, float *y) {
    float d = f16(b);
    const uint8_t *qs = b + 2;
    for (int l = 0; l < 16; l++) {
        y[l] = d * (float)((qs[l] & 0xF) - 8);
        y[l + 16] = d * (float)((qs[l] >> 4) - 8);
    }
}

static void deq_q4_1(const uint8_t *b, float *y) {
    float d = f16(b), m = f16(b + 2);
    const uint8_t *qs = b + 4;
    for (int l = 0; l < 16; l++) {
        y[l] = d * (float)(qs[l] & 0xF) + m;
        y[l + 16] = d * (float)(qs[l] >> 4) + m;
    }
}

static void deq_q5_0(const uint8_t *b, float *y) {
    float d = f16(b);
    uint32_t qh = le32(b + 2);
    const uint8_t *qs = b + 6;
    for (int l = 0; l < 16; l++) {
        int lo = (qs[l] & 0xF) | (int)((qh >> l) & 1) << 4;
        int hi = (qs[l] >> 4) | (int)((qh >> (l + 16)) & 1) << 4;
        y[l] = d * (float)(lo - 16);
        y[l + 16] = d * (float)(hi - 16);
    }
}

static void deq_q5_1(const uint8_t *b, float *y) {
    float d = f16(b), m = f16(b + 2);
    uint32_t qh = le32(b + 4);
    const uint8_t *qs = b + 8;
    for (int l = 0; l < 16; l++) {
        int lo = (qs[l] & 0xF) | (int)((qh >> l) & 1) << 4;
        int hi = (qs[l] >> 4) | (int)((qh >> (l + 16)) & 1) << 4;
        y[l] = d * (float)lo + m;
        y[l + 16] = d * (float)hi + m;
    }
}

static void deq_q8_0(const uint8_t *b, float *y) {
    float d = f16(b);
    for (int l = 0; l < 32; l++) y[l] = (float)(int8_t)b[2 + l] * d;
}

/* ---- 256-element K blocks ---- */

static void deq_q2_k(const uint8_t *b, float *y) {
    const uint8_t *scales = b, *qs = b + 16;
    float d = f16(b + 80), dmin = f16(b + 82);
    /* Element n = j*128 + s*32 + l is bits 2s..2s+1 of qs[j*32 + l]; group n/16. */
    for (int j = 0; j < 2; j++)
        for (int s = 0; s < 4; s++)
            for (int l = 0; l < 32; l++) {
                int n = j * 128 + s * 32 + l;
                float dl = d * (float)(scales[n / 16] & 0xF);
                float ml = dmin * (float)(scales[n / 16] >> 4);
                y[n] = dl * (float)((qs[j * 32 + l] >> (2 * s)) & 3) - ml;
            }
}

static void deq_q3_k(const uint8_t *b, float *y) {
    const uint8_t *hmask = b, *qs = b + 32, *sc = b + 96;
    float d = f16(b + 108);
    float dl[16];
    for (int k = 0; k < 16; k++) {
        int lo = k < 8 ? sc[k] & 0xF : sc[k - 8] >> 4;
        int hi = (sc[8 + k % 4] >> (2 * (k / 4))) & 3;
        dl[k] = d * (float)((lo | hi << 4) - 32);
    }
    /* Low 2 bits as in Q2_K; the high bit of element n is bit n/32 of
     * hmask[n%32], and a CLEAR bit subtracts 4. */
    for (int j = 0; j < 2; j++)
        for (int s = 0; s < 4; s++)
            for (int l = 0; l < 32; l++) {
                int n = j * 128 + s * 32 + l;
                int q = (qs[j * 32 + l] >> (2 * s)) & 3;
                if (!((hmask[l] >> (n / 32)) & 1)) q -= 4;
                y[n] = dl[n / 16] * (float)q;
            }
}

/* The 6-bit scales and mins of Q4_K/Q5_K, 8 of each packed in 12 bytes. */
static void k_scale_min(const uint8_t *s, uint8_t sc[8], uint8_t mn[8]) {
    for (int j = 0; j < 4; j++) {
        sc[j] = s[j] & 0x3F;
        mn[j] = s[j + 4] & 0x3F;
        sc[j + 4] = (s[j + 8] & 0xF) | ((s[j] >> 2) & 0x30);
        mn[j + 4] = (s[j + 8] >> 4) | ((s[j + 4] >> 2) & 0x30);
    }
}

static void deq_q4_k(const uint8_t *b, float *y) {
    float d = f16(b), dmin = f16(b + 2);
    const uint8_t *qs = b + 16;
    uint8_t sc[8], mn[8];
    k_scale_min(b + 4, sc, mn);
    /* Sub-block 2j+h (32 elements) is nibble h of qs[j*32 .. j*32+31]. */
    for (int j = 0; j < 4; j++)
        for (int h = 0; h < 2; h++) {
            float ds = d * (float)sc[2 * j + h], dm = dmin * (float)mn[2 * j + h];
            for (int l = 0; l < 32; l++)
                y[(2 * j + h) * 32 + l] = ds * (float)((qs[j * 32 + l] >> (4 * h)) & 0xF) - dm;
        }
}

static void deq_q5_k(const uint8_t *b, float *y) {
    float d = f16(b), dmin = f16(b + 2);
    const uint8_t *qh = b + 16, *qs = b + 48;
    uint8_t sc[8], mn[8];
    k_scale_min(b + 4, sc, mn);
    /* As Q4_K, plus bit i of qh[l] as bit 4 of element l of sub-block i. */
    for (int j = 0; j < 4; j++)
        for (int h = 0; h < 2; h++) {
            int i = 2 * j + h;
            float ds = d * (float)sc[i], dm = dmin * (float)mn[i];
            for (int l = 0; l < 32; l++) {
                int q = ((qs[j * 32 + l] >> (4 * h)) & 0xF) | ((qh[l] >> i) & 1) << 4;
                y[i * 32 + l] = ds * (float)q - dm;
            }
        }
}

static void deq_q6_k(const uint8_t *b, float *y) {
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    float d = f16(b + 208);
    /* Element n = j*128 + r (r < 128): low 4 bits are nibble r/64 of
     * ql[j*64 + r%64], high 2 bits are bits 2*(r/32)..+1 of qh[j*32 + r%32]. */
    for (int j = 0; j < 2; j++)
        for (int r = 0; r < 128; r++) {
            int n = j * 128 + r;
            int lo = (ql[j * 64 + r % 64] >> (4 * (r / 64))) & 0xF;
            int hi = (qh[j * 32 + r % 32] >> (2 * (r / 32))) & 3;
            y[n] = (d * (float)sc[n / 16]) * (float)((lo | hi << 4) - 32);
        }
}

static void deq_q8_k(const uint8_t *b, float *y) {
    float d;
    uint32_t u = le32(b);
    memcpy(&d, &u, 4);
    for (int l = 0; l < QK_K; l++) y[l] = d * (float)(int8_t)b[4 + l];
}

typedef void (*DeqBlock)(const uint8_t *b, float *y);

static DeqBlock block_fn(GgmlType type) {
    switch (type) {
    case GGML_TYPE_Q4_0: return deq_q4_0;
    case GGML_TYPE_Q4_1: return deq_q4_1;
    case GGML_TYPE_Q5_0: return deq_q5_0;
    case GGML_TYPE_Q5_1: return deq_q5_1;
    case GGML_TYPE_Q8_0: return deq_q8_0;
    case GGML_TYPE_Q2_K: return deq_q2_k;
    case GGML_TYPE_Q3_K: return deq_q3_k;
    case GGML_TYPE_Q4_K: return deq_q4_k;
    case GGML_TYPE_Q5_K: return deq_q5_k;
    case GGML_TYPE_Q6_K: return deq_q6_k;
    case GGML_TYPE_Q8_K: return deq_q8_k;
    default: return NULL;
    }
}

/* Element-wise types, via dtype.h's converters. */
static int plain_dtype(GgmlType type, PifiDType *dt) {
    switch (type) {
    case GGML_TYPE_F32: *dt = PIFI_DT_F32; return 1;
    case GGML_TYPE_F16: *dt = PIFI_DT_F16; return 1;
    case GGML_TYPE_BF16: *dt = PIFI_DT_BF16; return 1;
    case GGML_TYPE_F64: *dt = PIFI_DT_F64; return 1;
    case GGML_TYPE_I8: *dt = PIFI_DT_I8; return 1;
    case GGML_TYPE_I16: *dt = PIFI_DT_I16; return 1;
    case GGML_TYPE_I32: *dt = PIFI_DT_I32; return 1;
    case GGML_TYPE_I64: *dt = PIFI_DT_I64; return 1;
    default: return 0;
    }
}

int gguf_type_can_dequantize(GgmlType type) {
    PifiDType dt;
    return block_fn(type) != NULL || plain_dtype(type, &dt);
}

int gguf_dequantize(GgmlType type, const void *src, float *dst, int64_t n, const char *what,
                    PifiErr *err) {
    PifiDType dt;
    const char *name = gguf_type_name(type);
    DeqBlock fn = block_fn(type);
    if (!fn && !plain_dtype(type, &dt)) {
        if (name)
            return pifi_errf(err, "%s: cannot dequantize ggml type %s (%d)", what, name, (int)type);
        return pifi_errf(err, "%s: unknown ggml type %d", what, (int)type);
    }
    int64_t bs = gguf_type_block_size(type), bb = gguf_type_block_bytes(type);
    if (n < 0 || n % bs != 0)
        return pifi_errf(err,
                         "%s: %" PRId64 " elements is not a whole number of %s blocks of %" PRId64,
                         what, n, name, bs);
    if (!fn) {
        pifi_to_f32(dt, src, dst, (size_t)n);
        return 0;
    }
    const uint8_t *s = src;
    int64_t nb = n / bs;
#pragma omp parallel for schedule(static) if (nb > 4096)
    for (int64_t i = 0; i < nb; i++) fn(s + i * bb, dst + i * bs);
    return 0;
}

int gguf_tensor_to_f32(const GgufTensor *t, float *dst, PifiErr *err) {
    char what[512];
    snprintf(what, sizeof what, "%s: tensor '%s'", t->file ? t->file : "gguf", t->name);
    return gguf_dequantize(t->type, t->data, dst, t->numel, what, err);
}

/* ---- layout ---- */

int gguf_tensor_shape_pt(const GgufTensor *t, int64_t shape[GGUF_MAX_DIMS]) {
    for (int i = 0; i < GGUF_MAX_DIMS; i++) shape[i] = 1;
    for (int i = 0; i < t->n_dims; i++) shape[i] = t->ne[t->n_dims - 1 - i];
    return t->n_dims;
}

int gguf_unpermute_qk(const float *src, float *dst, int64_t rows, int64_t cols, int64_t n_head,
                      PifiErr *err) {
    if (n_head <= 0 || rows <= 0 || cols <= 0 || rows % (2 * n_head) != 0)
        return pifi_errf(err, "gguf_unpermute_qk: %" PRId64 " rows cannot be split into %" PRId64
                              " heads of rotary pairs",
                         rows, n_head);
    /* Permuted row h*hd + 2*j + i holds original row h*hd + i*half + j. */
    int64_t hd = rows / n_head, half = hd / 2;
    for (int64_t h = 0; h < n_head; h++)
        for (int64_t i = 0; i < 2; i++)
            for (int64_t j = 0; j < half; j++)
                memcpy(dst + (h * hd + i * half + j) * cols, src + (h * hd + 2 * j + i) * cols,
                       (size_t)cols * sizeof *dst);
    return 0;
}
