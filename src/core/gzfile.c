/* gzfile.c: pifi_read_file_gz, a whole file that may be gzip-compressed
 * (zlib's gzread reads a plain file as it is), with the decompressed size
 * bounded and a damaged stream reported naming the file. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pifi/fileio.h"

int pifi_read_file_gz(const char *path, size_t max_bytes, char **out, size_t *len, PifiErr *err) {
    if (max_bytes == 0) max_bytes = (size_t)1 << 30;
    *out = NULL;
    gzFile f = gzopen(path, "rb");
    if (!f) return pifi_errf(err, "%s: cannot open: %s", path, errno ? strerror(errno) : "zlib could not");
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    int rc = -1;
    if (!buf) {
        pifi_errk(err, PIFI_ERR_RUNTIME, "%s: out of memory", path);
        goto done;
    }
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > max_bytes) {
                pifi_errf(err, "%s: larger than the %zu-byte limit for this kind of file (decompressed)", path,
                          max_bytes);
                goto done;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                pifi_errk(err, PIFI_ERR_RUNTIME, "%s: out of memory", path);
                goto done;
            }
            buf = nb, cap *= 2;
        }
        size_t want = cap - n - 1;
        if (want > (1u << 30)) want = 1u << 30;
        int got = gzread(f, buf + n, (unsigned)want);
        if (got < 0) {
            int zerr;
            const char *m = gzerror(f, &zerr);
            pifi_errf(err, "%s: not a valid gzip file (%s)", path, m && *m ? m : "zlib error");
            goto done;
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    int zerr = Z_OK;
    const char *m = gzerror(f, &zerr);
    if (zerr != Z_OK && zerr != Z_STREAM_END) {
        pifi_errf(err, "%s: not a valid gzip file (%s)", path, m && *m ? m : "zlib error");
        goto done;
    }
    if (n > max_bytes) {
        pifi_errf(err, "%s: larger than the %zu-byte limit for this kind of file (decompressed)", path, max_bytes);
        goto done;
    }
    buf[n] = '\0';
    *out = buf, *len = n, buf = NULL, rc = 0;
done:
    free(buf);
    gzclose(f);
    return rc;
}
