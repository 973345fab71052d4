/* fileio.c: mmap, whole-file reads, and atomic writes (temp + fsync + rename),
 * with plain-words reasons for a full disk, and the sweep of temp files a
 * killed writer left behind. */
#include "pifi/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int pifi_map_open(PifiMap *map, const char *path, PifiErr *err) {
    map->data = NULL;
    map->size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return pifi_errf(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return pifi_errf(err, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return pifi_errf(err, "%s: not a regular file", path);
    }
    if (st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: cannot mmap: %s", path, strerror(e));
        }
        map->data = p;
        map->size = (size_t)st.st_size;
    }
    close(fd);
    return 0;
}

void pifi_map_close(PifiMap *map) {
    if (map->data) munmap((void *)map->data, map->size);
    map->data = NULL;
    map->size = 0;
}

int pifi_read_file(const char *path, size_t max_bytes, char **out, size_t *len, PifiErr *err) {
    if (max_bytes == 0) max_bytes = (size_t)1 << 30;
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return pifi_errf(err, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: out of memory", path);
    }
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > max_bytes) {
                free(buf);
                fclose(f);
                return pifi_errf(err, "%s: larger than the %zu-byte limit for this kind of file", path,
                                 max_bytes);
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                fclose(f);
                return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: out of memory", path);
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: read error", path);
    }
    if (n > max_bytes) {
        free(buf);
        return pifi_errf(err, "%s: larger than the %zu-byte limit for this kind of file", path, max_bytes);
    }
    buf[n] = 0;
    *out = buf;
    if (len) *len = n;
    return 0;
}

/* Why a write failed, in words: the disk is full, the file-size limit was
 * hit (ulimit -f: the process must ignore SIGXFSZ to see EFBIG), or errno's. */
static const char *write_reason(int e, char *buf, size_t n) {
    if (e == ENOSPC) snprintf(buf, n, "the disk is full (%s)", strerror(e));
    else if (e == EDQUOT) snprintf(buf, n, "the disk quota is exhausted (%s)", strerror(e));
    else if (e == EFBIG) snprintf(buf, n, "the file is too large for this process's file size limit (%s; ulimit -f)",
                                  strerror(e));
    else snprintf(buf, n, "%s", strerror(e));
    return buf;
}

int pifi_atomic_open(PifiAtomicFile *f, const char *path, PifiErr *err) {
    memset(f, 0, sizeof *f);
    f->fd = -1;
    size_t n = strlen(path) + 32;
    f->path = strdup(path);
    f->tmp_path = malloc(n);
    if (!f->path || !f->tmp_path) {
        pifi_atomic_abort(f);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: out of memory", path);
    }
    snprintf(f->tmp_path, n, "%s.tmp.%ld", path, (long)getpid());
    f->fd = open(f->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f->fd < 0) {
        int e = errno;
        free(f->path);
        free(f->tmp_path);
        f->path = f->tmp_path = NULL;
        char why[160];
        return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: cannot create: %s", path, write_reason(e, why, sizeof why));
    }
    return 0;
}

int pifi_atomic_write(PifiAtomicFile *f, const void *buf, size_t n, PifiErr *err) {
    const uint8_t *p = buf;
    while (n > 0) {
        ssize_t w = write(f->fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            char why[160];
            f->failed = 1;
            return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: cannot write: %s", f->path, write_reason(e, why, sizeof why));
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void fsync_parent_dir(const char *path) {
    char *copy = strdup(path);
    if (!copy) return;
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(copy);
}

int pifi_atomic_commit(PifiAtomicFile *f, PifiErr *err) {
    if (f->failed) {
        pifi_atomic_abort(f);
        return -1;
    }
    if (fsync(f->fd) != 0) {
        int e = errno;
        char why[160];
        pifi_errk(err, PIFI_ERR_RUNTIME, "%s: cannot write (fsync): %s", f->path, write_reason(e, why, sizeof why));
        pifi_atomic_abort(f);
        return -1;
    }
    if (close(f->fd) != 0) {
        int e = errno;
        f->fd = -1;
        char why[160];
        pifi_errk(err, PIFI_ERR_RUNTIME, "%s: cannot write (close): %s", f->path, write_reason(e, why, sizeof why));
        pifi_atomic_abort(f);
        return -1;
    }
    f->fd = -1;
    if (rename(f->tmp_path, f->path) != 0) {
        int e = errno;
        pifi_errk(err, PIFI_ERR_RUNTIME, "%s: rename failed: %s", f->path, strerror(e));
        pifi_atomic_abort(f);
        return -1;
    }
    fsync_parent_dir(f->path);
    free(f->path);
    free(f->tmp_path);
    f->path = f->tmp_path = NULL;
    return 0;
}

void pifi_atomic_abort(PifiAtomicFile *f) {
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
    if (f->tmp_path) unlink(f->tmp_path);
    free(f->path);
    free(f->tmp_path);
    f->path = f->tmp_path = NULL;
}

int pifi_write_file_atomic(const char *path, const void *buf, size_t n, PifiErr *err) {
    PifiAtomicFile f;
    if (pifi_atomic_open(&f, path, err)) return -1;
    if (pifi_atomic_write(&f, buf, n, err)) {
        pifi_atomic_abort(&f);
        return -1;
    }
    return pifi_atomic_commit(&f, err);
}

char *pifi_path_join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *s = malloc(a + b + 2);
    if (!s) return NULL;
    memcpy(s, dir, a);
    size_t k = a;
    if (a > 0 && dir[a - 1] != '/') s[k++] = '/';
    memcpy(s + k, name, b + 1);
    return s;
}

int pifi_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int pifi_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int pifi_dir_is_empty(const char *path) {
    DIR *d = opendir(path);
    if (!d) return 0;
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n == 0;
}

int pifi_mkdirs(const char *path, PifiErr *err) {
    char *p = strdup(path);
    if (!p) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            pifi_errk(err, PIFI_ERR_RUNTIME, "%s: cannot create directory: %s", p, strerror(e));
            free(p);
            return -1;
        }
        *s = '/';
    }
    if (mkdir(p, 0755) != 0 && errno != EEXIST) {
        int e = errno;
        pifi_errk(err, PIFI_ERR_RUNTIME, "%s: cannot create directory: %s", p, strerror(e));
        free(p);
        return -1;
    }
    free(p);
    return pifi_is_dir(path) ? 0 : pifi_errf(err, "%s: exists and is not a directory", path);
}

/* "<name>.tmp.<pid>": the pid, or 0 when name is not an atomic writer's temp. */
static long temp_owner(const char *name) {
    const char *t = strstr(name, ".tmp.");
    if (!t || t == name) return 0;
    while (strstr(t + 1, ".tmp.")) t = strstr(t + 1, ".tmp.");
    const char *d = t + 5;
    if (!*d) return 0;
    long pid = 0;
    for (; *d; d++) {
        if (*d < '0' || *d > '9' || pid > 1L << 30) return 0;
        pid = pid * 10 + (*d - '0');
    }
    return pid;
}

int pifi_remove_stale_temps(const char *dir, int *removed) {
    if (removed) *removed = 0;
    DIR *dp = opendir(dir);
    if (!dp) return 0;
    int rc = 0;
    for (struct dirent *de; (de = readdir(dp));) {
        long pid = temp_owner(de->d_name);
        if (pid <= 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* its writer may still be running */
        char *p = pifi_path_join(dir, de->d_name);
        if (p && pifi_file_exists(p) && unlink(p) == 0) {
            if (removed) (*removed)++;
        } else if (p && pifi_file_exists(p)) {
            rc = -1;
        }
        free(p);
    }
    closedir(dp);
    return rc;
}
