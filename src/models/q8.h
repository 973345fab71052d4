/* q8.h: int8 weights with one fp32 scale per row (w[r][c] = s[r] * q[r][c],
 * s[r] = absmax of the row / 127), the form `pifi quantize` gives the
 * encoder's and the LLM layer's matrices: quantizing a matrix, and reading
 * one back from a checkpoint, where it is an I8 tensor <name> (rows, cols)
 * next to an F32 tensor <name>_scale (rows). */
#ifndef PIFI_MODELS_Q8_H
#define PIFI_MODELS_Q8_H

#include <stddef.h>
#include <stdint.h>

#include "pifi/err.h"
#include "pifi/safetensors.h"

/* q (R, C) and s (R) from the fp32 matrix f, or when f is NULL from the
 * bf16 matrix h (R, C). A row of zeros gets scale 1. */
void q8_quantize_rows(int8_t *q, float *s, const float *f, const uint16_t *h, size_t R, size_t C);

/* Copy the I8 tensor name (rows, cols) and its scales from st into q and s;
 * a tensor of another dtype or shape, or a scale that is not positive and
 * finite, is an error naming the file and the tensor. */
int q8_read(SafeTensors *st, const char *name, size_t rows, size_t cols, int8_t *q, float *s, PifiErr *err);

#endif
