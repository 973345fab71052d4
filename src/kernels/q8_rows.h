/* q8_rows.h: int8 weights with one fp32 scale per row (w[r][c] = s[r] *
 * q[r][c], s[r] = absmax of the row / 127), the form `pifi quantize` gives
 * the encoder's and the LLM layer's matrices and linear.c multiplies by:
 * quantizing a matrix (reading one from a checkpoint: models/q8.h). */
#ifndef PIFI_KERNELS_Q8_ROWS_H
#define PIFI_KERNELS_Q8_ROWS_H

#include <stddef.h>
#include <stdint.h>

/* q (R, C) and s (R) from the fp32 matrix f, or when f is NULL from the
 * bf16 matrix h (R, C). A row of zeros gets scale 1. */
void q8_quantize_rows(int8_t *q, float *s, const float *f, const uint16_t *h, size_t R, size_t C);

#endif
