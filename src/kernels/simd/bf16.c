/* simd/bf16.c: fp32 <-> bf16 conversion of arrays (round to nearest even,
 * NaN kept quiet; as bf16_round in kernels/compute.h). Compiled once per
 * level (kernels/simd.h). */
#include "kernels/simd.h"

void SIMD_NAME(bf16_from_f32)(uint16_t *dst, const float *src, size_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) {
        union { float f; uint32_t u; } v = {src[i]};
        uint32_t r = (v.u + 0x7fffu + ((v.u >> 16) & 1u)) >> 16;
        dst[i] = (uint16_t)((v.u & 0x7fffffffu) > 0x7f800000u ? (v.u >> 16) | 0x40 : r);
    }
}

void SIMD_NAME(bf16_to_f32)(float *dst, const uint16_t *src, size_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) {
        union { uint32_t u; float f; } v = {(uint32_t)src[i] << 16};
        dst[i] = v.f;
    }
}
