/* fileio.h: reading files (whole or by mmap) and writing them atomically.
 *
 * Writers never leave a half-written file under the final name: they write
 * "<path>.tmp.<pid>", fsync it, rename it over <path>, then fsync the
 * directory. */
#ifndef PIFI_FILEIO_H
#define PIFI_FILEIO_H

#include <stddef.h>
#include <stdint.h>

#include "pifi/err.h"

/* A read-only memory map of a whole file. size 0 is allowed (data == NULL). */
typedef struct {
    const uint8_t *data;
    size_t size;
} PifiMap;

int pifi_map_open(PifiMap *map, const char *path, PifiErr *err);
void pifi_map_close(PifiMap *map);

/* Read a whole file into a NUL-terminated heap buffer (*len excludes the NUL).
 * max_bytes guards against absurd inputs (0 = 1 GiB). */
int pifi_read_file(const char *path, size_t max_bytes, char **out, size_t *len, PifiErr *err);
/* The same for a file that may be gzip-compressed (a plain one is read as
 * it is); max_bytes bounds the decompressed size; a damaged or truncated
 * stream fails with "<path>: not a valid gzip file (...)" (core/gzfile.c). */
int pifi_read_file_gz(const char *path, size_t max_bytes, char **out, size_t *len, PifiErr *err);

/* Atomic writer: open a temp file next to path, write, then commit (fsync +
 * rename) or abort (unlink). */
typedef struct {
    char *path;     /* final name */
    char *tmp_path; /* temp name */
    int fd;
    int failed;     /* a write failed: commit refuses */
} PifiAtomicFile;

int pifi_atomic_open(PifiAtomicFile *f, const char *path, PifiErr *err);
int pifi_atomic_write(PifiAtomicFile *f, const void *buf, size_t n, PifiErr *err);
int pifi_atomic_commit(PifiAtomicFile *f, PifiErr *err);
void pifi_atomic_abort(PifiAtomicFile *f);

/* Failures name the final path and say why in words ("the disk is full",
 * "the file is too large for this process's file size limit"); the temp
 * file is removed. A process that wants EFBIG instead of dying at the
 * file-size limit must ignore SIGXFSZ. */

/* Remove the temp files "<name>.tmp.<pid>" in dir (not below) whose writer
 * process no longer exists (a writer killed with SIGKILL leaves one).
 * *removed (optional) counts them. -1 if one could not be removed. */
int pifi_remove_stale_temps(const char *dir, int *removed);

/* Convenience: write a whole buffer atomically. */
int pifi_write_file_atomic(const char *path, const void *buf, size_t n, PifiErr *err);

/* Join a directory and a file name into a heap string. */
char *pifi_path_join(const char *dir, const char *name);
int pifi_file_exists(const char *path);
int pifi_is_dir(const char *path);
/* 1 when path is a directory with no entries (besides . and ..). */
int pifi_dir_is_empty(const char *path);
/* mkdir -p; ok if it exists. */
int pifi_mkdirs(const char *path, PifiErr *err);

#endif
