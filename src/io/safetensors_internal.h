/* safetensors_internal.h: what the safetensors reader's two files share.
 *
 * safetensors.c parses and validates one .safetensors file into an StFile;
 * safetensors_index.c builds the public SafeTensors handle on top of one
 * StFile or of a sharded set of them described by an index. */
#ifndef PIFI_SAFETENSORS_INTERNAL_H
#define PIFI_SAFETENSORS_INTERNAL_H

#include "pifi/fileio.h"
#include "pifi/safetensors.h"

/* Header lengths above this are refused before anything is allocated. */
#define ST_HEADER_MAX 100000000ull

/* One opened .safetensors file. All zero when not open. */
typedef struct {
    char *path;            /* as opened; StTensor.file points here */
    PifiMap map;           /* the whole file */
    cJSON *header;         /* parsed header; tensor names point into it */
    const cJSON *metadata; /* its "__metadata__" object, or NULL */
    StTensor *tensors;     /* [n], sorted by name, names unique */
    int n;
} StFile;

/* Map and validate one file. On failure f is left all zero. */
int st_file_open(StFile *f, const char *path, PifiErr *err);
void st_file_close(StFile *f);
/* Binary search by name; NULL if absent. */
const StTensor *st_file_find(const StFile *f, const char *name);

/* The refusal of a pickle checkpoint (path names the .bin or .pt file). Returns -1. */
int st_refuse_pickle(const char *path, PifiErr *err);

#endif
