/* imdb.c: the aclImdb layout, one review per file: <split>/neg/<id>_<rating>.txt
 * (label 0) and <split>/pos/... (label 1). Files are read in order of their
 * numeric id so the dataset is the same on every filesystem. 25,000 small
 * files per split: names are listed with one readdir pass, then the files
 * are read (openat/read into a per-thread buffer) and cleaned on all OpenMP
 * threads, and appended in id order. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/data_internal.h"

#define IMDB_MAX_FILE (16u << 20) /* a review is a few KiB; refuse anything absurd */

typedef struct {
    long long id; /* from "<id>_<rating>.txt"; 2^62 (sorted last) when the name is different */
    char *name;
} ReviewFile;

static int cmp_review(const void *a, const void *b) {
    const ReviewFile *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void free_names(ReviewFile *v, size_t n) {
    for (size_t i = 0; i < n; i++) free(v[i].name);
    free(v);
}

/* The *.txt names in dir, sorted by id. */
static int list_reviews(const char *dir, DIR *d, ReviewFile **out, size_t *count, PifiErr *err) {
    size_t n = 0, cap = 16384;
    ReviewFile *v = pifi_malloc(cap * sizeof *v, err);
    if (!v) return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".txt") != 0 || e->d_name[0] == '.') continue;
        if (n == cap) {
            ReviewFile *nv = realloc(v, 2 * cap * sizeof *v);
            if (!nv) {
                free_names(v, n);
                return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: out of memory", dir);
            }
            v = nv;
            cap *= 2;
        }
        long long id = -1, rating = -1;
        char tail[8];
        if (sscanf(e->d_name, "%lld_%lld%7s", &id, &rating, tail) != 3 || strcmp(tail, ".txt") != 0)
            id = rating = -1;
        v[n].id = id < 0 ? (long long)1 << 62 : id;
        v[n].name = strdup(e->d_name);
        if (!v[n].name) {
            free_names(v, n);
            return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: out of memory", dir);
        }
        n++;
    }
    qsort(v, n, sizeof *v, cmp_review);
    *out = v;
    *count = n;
    return 0;
}

/* Read and convert one review file (dfd/name) into *text. Returns a TEXT_*
 * code, or -1 with *why set for an I/O problem. */
static int read_review(int dfd, const char *name, unsigned flags, char **buf, size_t *cap, char **text,
                       size_t *bad, const char **why) {
    *text = NULL;
    int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        *why = strerror(errno);
        if (fd >= 0) close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode) || (size_t)st.st_size > IMDB_MAX_FILE) {
        close(fd);
        *why = "not a regular file of at most 16 MiB";
        return -1;
    }
    size_t size = (size_t)st.st_size;
    if (size + 1 > *cap) {
        char *nb = realloc(*buf, size + 1);
        if (!nb) {
            close(fd);
            return TEXT_NOMEM;
        }
        *buf = nb;
        *cap = size + 1;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, *buf + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (got != size) {
        *why = "short read";
        return -1;
    }
    return text_make(*buf, size, flags, text, bad, NULL);
}

static int read_label_dir(const char *split_dir, const char *sub, int32_t label, unsigned flags,
                          PifiDataset *out, PifiErr *err) {
    char dir[4096];
    if (snprintf(dir, sizeof dir, "%s/%s", split_dir, sub) >= (int)sizeof dir)
        return pifi_errf(err, "%s: path too long", split_dir);
    DIR *d = opendir(dir);
    if (!d) return pifi_errf(err, "%s: cannot open folder: %s", dir, strerror(errno));
    ReviewFile *files = NULL;
    size_t n = 0;
    if (list_reviews(dir, d, &files, &n, err) != 0) {
        closedir(d);
        return -1;
    }
    int dfd = dirfd(d), rc = 0;
    char **texts = n ? calloc(n, sizeof *texts) : NULL;
    int *codes = n ? calloc(n, sizeof *codes) : NULL;
    size_t *bads = n ? calloc(n, sizeof *bads) : NULL;
    const char **whys = n ? calloc(n, sizeof *whys) : NULL;
    if (n == 0) rc = pifi_errf(err, "%s: no review files (*.txt)", dir);
    else if (!texts || !codes || !bads || !whys) rc = pifi_errk(err, PIFI_ERR_RUNTIME, "%s: out of memory", dir);
    if (rc == 0) {
        /* the files are independent: read them on all threads, keep the order */
#pragma omp parallel
        {
            char *buf = NULL;
            size_t cap = 0;
#pragma omp for schedule(dynamic, 256)
            for (size_t i = 0; i < n; i++)
                codes[i] = read_review(dfd, files[i].name, flags, &buf, &cap, &texts[i], &bads[i], &whys[i]);
            free(buf);
        }
        for (size_t i = 0; i < n && rc == 0; i++) {
            if (codes[i] == -1) rc = pifi_errf(err, "%s/%s: cannot read: %s", dir, files[i].name, whys[i]);
            else if (codes[i] != TEXT_OK) {
                char path[4400];
                snprintf(path, sizeof path, "%s/%.255s", dir, files[i].name);
                rc = text_fail(err, path, 0, codes[i], bads[i]);
            } else {
                rc = dataset_push(out, texts[i], NULL, label, err);
                texts[i] = NULL;
            }
        }
    }
    for (size_t i = 0; i < n && texts; i++) free(texts[i]);
    free(texts);
    free(codes);
    free(bads);
    free(whys);
    free_names(files, n);
    closedir(d);
    return rc;
}

int read_imdb(const char *split_dir, unsigned text_flags, PifiDataset *out, PifiErr *err) {
    memset(out, 0, sizeof *out);
    int rc = read_label_dir(split_dir, "neg", 0, text_flags, out, err);
    if (rc == 0) rc = read_label_dir(split_dir, "pos", 1, text_flags, out, err);
    if (rc != 0) dataset_free(out);
    return rc;
}
