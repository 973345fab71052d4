/* safetensors.h: reading and writing Hugging Face safetensors checkpoints.
 *
 * Reading maps files with mmap and never copies tensor data: a tensor's bytes
 * are touched only when the caller reads them. A SafeTensors handle is one
 * file, or a sharded set described by model.safetensors.index.json, whose
 * shards are opened lazily, on the first lookup of a tensor they hold.
 *
 * Every header is treated as hostile: sizes, offsets, overlaps, dtypes and
 * shapes are checked before anything is trusted. */
#ifndef PIFI_SAFETENSORS_H
#define PIFI_SAFETENSORS_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "pifi/dtype.h"
#include "pifi/err.h"

#define ST_MAX_DIMS 8

typedef struct {
    const char *name;
    PifiDType dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    int64_t numel;
    uint64_t nbytes;
    const void *data;  /* into the mmap; valid until st_close. Aligned to the
                          element size only if the writer made it so (the
                          safetensors library does; st_write does when given
                          tensors by decreasing element size); pifi_to_f32
                          copes with any alignment. */
    const char *file;  /* the file it lives in */
} StTensor;

typedef struct SafeTensors SafeTensors;

/* path: a .safetensors file, a model.safetensors.index.json, or a directory
 * holding either (index preferred when both exist). A pytorch_model.bin
 * (pickle) is refused with a message naming the conversion to safetensors. */
int st_open(SafeTensors **out, const char *path, PifiErr *err);
void st_close(SafeTensors *st);

/* Number of tensors and their names, sorted by name (all shards: from the
 * index when sharded, without opening any shard). */
int st_count(const SafeTensors *st);
const char *st_name(const SafeTensors *st, int i);

/* Look a tensor up by name (binary search). Returns 0 and fills *out, or -1
 * with err set ("<file>: missing tensor '<name>'", or the shard's header
 * error). The first lookup in a shard opens it, so lookups on one handle must
 * not run concurrently; the returned StTensor stays valid until st_close. */
int st_get(SafeTensors *st, const char *name, const StTensor **out, PifiErr *err);
/* Like st_get but a missing tensor returns 1 without setting err. */
int st_find(SafeTensors *st, const char *name, const StTensor **out, PifiErr *err);

/* Read a tensor as fp32 into dst after checking its shape equals the given
 * one (ndim dims). Any dtype converts. */
int st_read_f32(SafeTensors *st, const char *name, int ndim, const int64_t *shape, float *dst,
                PifiErr *err);

/* The "__metadata__" object (string values) of a single file, or the
 * "metadata" object of an index (values may be numbers, e.g. total_size);
 * NULL if absent. Valid until st_close. */
const cJSON *st_metadata(const SafeTensors *st);

/* Writing: tensors are laid out in the given order, header padded with
 * spaces to a multiple of 8 bytes, written atomically (temp file, fsync,
 * rename), so a failure leaves nothing at path. Names must be unique and not
 * "__metadata__"; dims non-negative. metadata may be NULL; it must be an
 * object of string values. */
typedef struct {
    const char *name;
    PifiDType dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const void *data; /* numel * dtype size bytes */
} StWriteTensor;

int st_write(const char *path, const StWriteTensor *tensors, int n, const cJSON *metadata,
             PifiErr *err);

#endif
