/* dtype.c: element type names, sizes and conversion to fp32. */
#include "pifi/dtype.h"

#include <math.h>

static const struct {
    const char *name;
    size_t size;
} DTYPES[PIFI_DT_COUNT] = {
    [PIFI_DT_F32] = {"F32", 4}, [PIFI_DT_F16] = {"F16", 2}, [PIFI_DT_BF16] = {"BF16", 2},
    [PIFI_DT_F64] = {"F64", 8}, [PIFI_DT_I8] = {"I8", 1},   [PIFI_DT_U8] = {"U8", 1},
    [PIFI_DT_I16] = {"I16", 2}, [PIFI_DT_I32] = {"I32", 4}, [PIFI_DT_I64] = {"I64", 8},
    [PIFI_DT_BOOL] = {"BOOL", 1},
};

size_t pifi_dtype_size(PifiDType t) { return (unsigned)t < PIFI_DT_COUNT ? DTYPES[t].size : 0; }

const char *pifi_dtype_name(PifiDType t) { return (unsigned)t < PIFI_DT_COUNT ? DTYPES[t].name : "?"; }

int pifi_dtype_parse(const char *s, PifiDType *out) {
    for (int i = 0; i < PIFI_DT_COUNT; i++) {
        if (strcmp(s, DTYPES[i].name) == 0) {
            *out = (PifiDType)i;
            return 0;
        }
    }
    return -1;
}

float pifi_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t u;
    if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else { /* subnormal: renormalise */
            float f = ldexpf((float)man, -24);
            return sign ? -f : f;
        }
    } else if (exp == 31) {
        u = sign | 0x7f800000u | (man << 13);
    } else {
        u = sign | ((exp + 112u) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t pifi_f32_to_f16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000u;
    float a = fabsf(f);
    if (isnan(f)) return (uint16_t)(sign | 0x7e00u);
    if (a >= 65520.0f) return (uint16_t)(sign | 0x7c00u);
    if (a < 6.103515625e-05f) { /* subnormal or zero: round to nearest even in units of 2^-24 */
        float q = nearbyintf(a * 16777216.0f);
        return (uint16_t)(sign | (uint32_t)q);
    }
    uint32_t au;
    memcpy(&au, &a, 4);
    uint32_t exp = ((au >> 23) & 0xffu) - 112u;
    uint32_t man = au & 0x7fffffu;
    uint32_t h = (exp << 10) | (man >> 13);
    uint32_t rest = man & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++;
    return (uint16_t)(sign | h);
}

void pifi_to_f32(PifiDType t, const void *src, float *dst, size_t n) {
    const uint8_t *s = src;
    for (size_t i = 0; i < n; i++) {
        switch (t) {
        case PIFI_DT_F32: memcpy(&dst[i], s + 4 * i, 4); break;
        case PIFI_DT_F16: {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            dst[i] = pifi_f16_to_f32(h);
        } break;
        case PIFI_DT_BF16: {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            dst[i] = pifi_bf16_to_f32(h);
        } break;
        case PIFI_DT_F64: {
            double d;
            memcpy(&d, s + 8 * i, 8);
            dst[i] = (float)d;
        } break;
        case PIFI_DT_I8: dst[i] = (float)(int8_t)s[i]; break;
        case PIFI_DT_U8: dst[i] = (float)s[i]; break;
        case PIFI_DT_BOOL: dst[i] = s[i] ? 1.0f : 0.0f; break;
        case PIFI_DT_I16: {
            int16_t v;
            memcpy(&v, s + 2 * i, 2);
            dst[i] = (float)v;
        } break;
        case PIFI_DT_I32: {
            int32_t v;
            memcpy(&v, s + 4 * i, 4);
            dst[i] = (float)v;
        } break;
        case PIFI_DT_I64: {
            int64_t v;
            memcpy(&v, s + 8 * i, 8);
            dst[i] = (float)v;
        } break;
        default: dst[i] = 0; break;
        }
    }
}
