/* q8.h: int8 weights with one fp32 scale per row (kernels/q8_rows.h, which
 * also quantizes), the form `pifi quantize` gives the encoder's and the LLM
 * layer's matrices: reading one back from a checkpoint, where it is an I8
 * tensor <name> (rows, cols) next to an F32 tensor <name>_scale (rows). */
#ifndef PIFI_MODELS_Q8_H
#define PIFI_MODELS_Q8_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/q8_rows.h"
#include "pifi/err.h"
#include "pifi/safetensors.h"

/* Copy the I8 tensor name (rows, cols) and its scales from st into q and s;
 * a tensor of another dtype or shape, or a scale that is not positive and
 * finite, is an error naming the file and the tensor. */
int q8_read(SafeTensors *st, const char *name, size_t rows, size_t cols, int8_t *q, float *s, PifiErr *err);

/* The rows F32 scales at s (any alignment) of the tensor name in file are
 * positive and finite; else an error naming the first that is not. */
int q8_check_scales(const void *s, size_t rows, const char *file, const char *name, PifiErr *err);

#endif
