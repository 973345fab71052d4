/* dtype.h: element types found in checkpoints and their conversion to fp32. */
#ifndef PIFI_DTYPE_H
#define PIFI_DTYPE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef enum {
    PIFI_DT_F32,
    PIFI_DT_F16,
    PIFI_DT_BF16,
    PIFI_DT_F64,
    PIFI_DT_I8,
    PIFI_DT_U8,
    PIFI_DT_I16,
    PIFI_DT_I32,
    PIFI_DT_I64,
    PIFI_DT_BOOL,
    PIFI_DT_COUNT
} PifiDType;

/* Bytes per element. */
size_t pifi_dtype_size(PifiDType t);
/* safetensors spelling: "F32", "BF16", ... */
const char *pifi_dtype_name(PifiDType t);
/* Parse the safetensors spelling; -1 if unknown. */
int pifi_dtype_parse(const char *s, PifiDType *out);

/* Convert n elements of type t at src to fp32 (integers convert by value). */
void pifi_to_f32(PifiDType t, const void *src, float *dst, size_t n);

static inline float pifi_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Round to nearest even, as PyTorch does; NaN stays NaN. */
static inline uint16_t pifi_f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float pifi_f16_to_f32(uint16_t h);
uint16_t pifi_f32_to_f16(float f);

#endif
