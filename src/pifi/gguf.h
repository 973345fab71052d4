/* gguf.h: reading GGUF files (llama.cpp's model format) and dequantizing
 * their tensors to fp32.
 *
 * A GGUF file is a header (magic "GGUF", version, tensor count, metadata
 * count), typed key/value metadata, one info record per tensor (name, dims,
 * ggml type, offset), then the tensor data, each tensor at an offset aligned
 * to general.alignment (default 32) from the start of the data section.
 * Versions 2 and 3 are read (little-endian only); version 1 is refused.
 *
 * The file is mapped with mmap and never copied: tensor data pointers point
 * into the map and stay valid until gguf_close. Every count, length, type,
 * offset and size in the file is checked against the file size before it is
 * trusted, so a hostile file gives an error, never a crash or a huge
 * allocation.
 *
 * Dimension order. GGUF stores dims the ggml way: ne[0] is the innermost,
 * contiguous dimension, so the order is REVERSED relative to PyTorch/numpy.
 * A PyTorch Linear weight of shape [out, in] is stored with ne = {in, out}:
 * each of the `out` rows holds `in` contiguous values (in the quantized
 * types, ne[0] / block_size blocks). gguf_tensor_shape_pt gives the PyTorch
 * order.
 *
 * Q/K permutation. llama.cpp's converter (convert_hf_to_gguf.py, for
 * llama-architecture models) reorders the rows of attn_q / attn_k weights
 * (and biases) so that rotary pairs are adjacent; gguf_unpermute_qk undoes
 * it to get the Hugging Face layout back. */
#ifndef PIFI_GGUF_H
#define PIFI_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "pifi/err.h"

#define GGUF_MAX_DIMS 4
#define GGUF_DEFAULT_ALIGNMENT 32

/* Metadata value types (the numbers are the file's). */
typedef enum {
    GGUF_TYPE_UINT8 = 0,
    GGUF_TYPE_INT8 = 1,
    GGUF_TYPE_UINT16 = 2,
    GGUF_TYPE_INT16 = 3,
    GGUF_TYPE_UINT32 = 4,
    GGUF_TYPE_INT32 = 5,
    GGUF_TYPE_FLOAT32 = 6,
    GGUF_TYPE_BOOL = 7,
    GGUF_TYPE_STRING = 8,
    GGUF_TYPE_ARRAY = 9,
    GGUF_TYPE_UINT64 = 10,
    GGUF_TYPE_INT64 = 11,
    GGUF_TYPE_FLOAT64 = 12,
    GGUF_TYPE_COUNT
} GgufValueType;

/* Tensor element types (ggml's numbering; gaps are retired types). */
typedef enum {
    GGML_TYPE_F32 = 0,
    GGML_TYPE_F16 = 1,
    GGML_TYPE_Q4_0 = 2,
    GGML_TYPE_Q4_1 = 3,
    GGML_TYPE_Q5_0 = 6,
    GGML_TYPE_Q5_1 = 7,
    GGML_TYPE_Q8_0 = 8,
    GGML_TYPE_Q8_1 = 9,
    GGML_TYPE_Q2_K = 10,
    GGML_TYPE_Q3_K = 11,
    GGML_TYPE_Q4_K = 12,
    GGML_TYPE_Q5_K = 13,
    GGML_TYPE_Q6_K = 14,
    GGML_TYPE_Q8_K = 15,
    GGML_TYPE_IQ2_XXS = 16,
    GGML_TYPE_IQ2_XS = 17,
    GGML_TYPE_IQ3_XXS = 18,
    GGML_TYPE_IQ1_S = 19,
    GGML_TYPE_IQ4_NL = 20,
    GGML_TYPE_IQ3_S = 21,
    GGML_TYPE_IQ2_S = 22,
    GGML_TYPE_IQ4_XS = 23,
    GGML_TYPE_I8 = 24,
    GGML_TYPE_I16 = 25,
    GGML_TYPE_I32 = 26,
    GGML_TYPE_I64 = 27,
    GGML_TYPE_F64 = 28,
    GGML_TYPE_IQ1_M = 29,
    GGML_TYPE_BF16 = 30,
    GGML_TYPE_TQ1_0 = 34,
    GGML_TYPE_TQ2_0 = 35,
    GGML_TYPE_MXFP4 = 39,
    GGML_TYPE_COUNT = 40
} GgmlType;

typedef struct {
    const char *name;            /* NUL-terminated copy */
    GgmlType type;
    int n_dims;                  /* 0..GGUF_MAX_DIMS, as stored */
    int64_t ne[GGUF_MAX_DIMS];   /* GGUF order: ne[0] innermost; unused dims are 1 */
    int64_t numel;
    uint64_t offset;             /* from the start of the data section */
    uint64_t nbytes;
    const void *data;            /* into the map; valid until gguf_close */
    const char *file;            /* path, for messages */
} GgufTensor;

typedef struct GgufFile GgufFile;

/* Map and validate a GGUF file. */
int gguf_open(GgufFile **out, const char *path, PifiErr *err);
void gguf_close(GgufFile *g);

const char *gguf_path(const GgufFile *g);
uint32_t gguf_version(const GgufFile *g);
uint64_t gguf_alignment(const GgufFile *g);
/* Byte offset of the data section in the file. */
uint64_t gguf_data_offset(const GgufFile *g);

/* ---- metadata ----
 * Keys are looked up exactly. Getters fail with "<file>: missing metadata
 * key '<key>'" or "<file>: metadata '<key>' is <type>, expected <type>".
 * Integer getters accept any integer type whose value fits the target (so a
 * count written as int32 reads with gguf_get_u32); gguf_get_f32 also accepts
 * float64; gguf_get_bool wants a bool. */
int64_t gguf_kv_count(const GgufFile *g);
/* A GGUF file at path (written atomically) holding no tensors and the
 * metadata of g whose keys start with prefix, and general.architecture,
 * byte for byte: e.g. "tokenizer." for the tokenizer alone. */
int gguf_write_metadata(const GgufFile *g, const char *prefix, const char *path, PifiErr *err);
const char *gguf_kv_key(const GgufFile *g, int64_t i);
GgufValueType gguf_kv_type(const GgufFile *g, int64_t i);
/* Index of a key, or -1 if absent. */
int64_t gguf_find_key(const GgufFile *g, const char *key);

int gguf_get_u32(const GgufFile *g, const char *key, uint32_t *out, PifiErr *err);
int gguf_get_i32(const GgufFile *g, const char *key, int32_t *out, PifiErr *err);
int gguf_get_u64(const GgufFile *g, const char *key, uint64_t *out, PifiErr *err);
int gguf_get_i64(const GgufFile *g, const char *key, int64_t *out, PifiErr *err);
int gguf_get_f32(const GgufFile *g, const char *key, float *out, PifiErr *err);
int gguf_get_f64(const GgufFile *g, const char *key, double *out, PifiErr *err);
int gguf_get_bool(const GgufFile *g, const char *key, int *out, PifiErr *err);
/* *out is NUL-terminated and owned by g; *len (may be NULL) counts bytes
 * without the NUL (a GGUF string may hold NUL bytes). */
int gguf_get_str(const GgufFile *g, const char *key, const char **out, uint64_t *len,
                 PifiErr *err);

/* Arrays. gguf_get_arr_info works for every array (a nested array reports
 * elem = GGUF_TYPE_ARRAY, and no accessor below reads its elements). */
int gguf_get_arr_info(const GgufFile *g, const char *key, GgufValueType *elem, uint64_t *n,
                      PifiErr *err);
/* Array of strings: strs[i] NUL-terminated, lens[i] bytes (lens may be
 * NULL). Owned by g. */
int gguf_get_arr_str(const GgufFile *g, const char *key, uint64_t *n, const char *const **strs,
                     const uint64_t **lens, PifiErr *err);
/* Array of numbers or bools, raw: data points into the file at the first
 * element, little-endian and possibly unaligned (memcpy it). */
int gguf_get_arr_data(const GgufFile *g, const char *key, GgufValueType *elem, uint64_t *n,
                      const void **data, PifiErr *err);
/* Copy a numeric array converting each element; n must equal its length.
 * gguf_get_arr_i64 wants integer (or bool) elements; gguf_get_arr_f32 takes
 * any number. */
int gguf_get_arr_i64(const GgufFile *g, const char *key, int64_t *dst, uint64_t n, PifiErr *err);
int gguf_get_arr_f32(const GgufFile *g, const char *key, float *dst, uint64_t n, PifiErr *err);

/* "UINT32", "STRING", ...; "?" when out of range. */
const char *gguf_value_type_name(GgufValueType t);

/* ---- tensors ---- (in file order) */
int64_t gguf_tensor_count(const GgufFile *g);
const GgufTensor *gguf_tensor_at(const GgufFile *g, int64_t i);
/* 0 and *out set if found; 1 if there is no such tensor. */
int gguf_find_tensor(const GgufFile *g, const char *name, const GgufTensor **out);
/* Same, but a missing tensor is an error "<file>: missing tensor '<name>'". */
int gguf_get_tensor(const GgufFile *g, const char *name, const GgufTensor **out, PifiErr *err);

/* PyTorch-order shape: shape[i] = ne[n_dims - 1 - i]. Returns n_dims. */
int gguf_tensor_shape_pt(const GgufTensor *t, int64_t shape[GGUF_MAX_DIMS]);

/* ---- ggml types and dequantization (gguf_dequant.c) ---- */
/* "Q4_K", ...; NULL for an id ggml does not define. */
const char *gguf_type_name(GgmlType type);
/* Elements per block and bytes per block; 0 for an unknown id. */
int64_t gguf_type_block_size(GgmlType type);
int64_t gguf_type_block_bytes(GgmlType type);
/* Whether gguf_dequantize handles the type: F32, F16, BF16, F64, I8, I16,
 * I32, I64 (integers convert by value), Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K,
 * Q3_K, Q4_K, Q5_K, Q6_K, Q8_K. The others (Q8_1, IQ*, TQ*, MXFP4) open but
 * do not dequantize. */
int gguf_type_can_dequantize(GgmlType type);

/* Dequantize n elements (a multiple of the type's block size) of packed
 * type-`type` data at src into dst[n]. Results equal the gguf Python
 * package's gguf.quants.dequantize bit for bit. what names the data in
 * errors. */
int gguf_dequantize(GgmlType type, const void *src, float *dst, int64_t n, const char *what,
                    PifiErr *err);
/* A whole tensor into dst[t->numel], in storage order (ne[0] fastest), i.e.
 * a row-major array of the PyTorch-order shape. */
int gguf_tensor_to_f32(const GgufTensor *t, float *dst, PifiErr *err);

/* Undo llama.cpp's Q/K row permutation. The converter did, with w of
 * PyTorch shape [rows, cols] (cols = 1 for a bias) and n_head the number of
 * heads of that projection (n_head_kv for attn_k):
 *   w.reshape(n_head, 2, rows/n_head/2, cols).swapaxes(1, 2).reshape(rows, cols)
 * This writes dst[rows][cols] with the original (Hugging Face) row order.
 * rows must be a multiple of 2 * n_head; src and dst must not overlap. */
int gguf_unpermute_qk(const float *src, float *dst, int64_t rows, int64_t cols, int64_t n_head,
                      PifiErr *err);

#endif
