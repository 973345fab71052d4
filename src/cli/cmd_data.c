/* cmd_data.c: `pifi data list` (the named tasks, whether their files are in
 * the data directory, where they come from) and `pifi data get TASK`: the
 * public originals downloaded into that directory in the layout the task
 * registry reads, each file checked against its pinned SHA-256 (or git blob
 * id) in a temp file and then renamed, so a half or wrong file never takes a
 * real name. What to fetch is the task registry's (src/data/tasks.c: the
 * source and files columns, the lists in task_files.c). The download itself
 * is cmd_data_fetch.c (libcurl, optional at build time). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/data_args.h"
#include "pifi/fileio.h"

static const char *HELP =
    "usage: pifi data list [--data-dir DIR]\n"
    "       pifi data get TASK [TASK...] [--data-dir DIR]     (TASK 'all': every task)\n"
    "\n"
    "The named tasks' data (docs/tasks.md). `list` says, for each task, whether its\n"
    "files are in the data directory and where they come from. `get` downloads the\n"
    "public originals into it, in the layout --task reads: each file is checked against\n"
    "the SHA-256 (or git blob id) pinned here before it gets its name; a file that is\n"
    "already there and correct is kept. Some originals have no pinned checksum (SNLI and\n"
    "MNLI training sets): they are fetched and said to be unchecked. IMDB is one archive\n"
    "of 50,000 files: `get imdb` says how to unpack it by hand.\n"
    "\n"
    "options:\n"
    "  --data-dir DIR   the data directory (default: $PIFI_DATA, else\n"
    "                   $XDG_CACHE_HOME/pifi/data, else ~/.cache/pifi/data), the same\n"
    "                   one `pifi train --task T` reads by default\n"
    "  -h, --help       this text\n"
    "\n"
    "environment:\n"
    "  PIFI_DATA_MIRROR   a URL prefix (https://, http:// or file://) that replaces\n"
    "                     https://raw.githubusercontent.com: files are then read from\n"
    "                     MIRROR/<owner>/<repo>/<commit>/<path in the repository>\n";

#define GITHUB_RAW "https://raw.githubusercontent.com"
#define MAX_FILE_BYTES (1LL << 30)

static const char *IMDB_HOWTO =
    "imdb is one archive of 50,000 files, which pifi does not unpack: download\n"
    "  https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz\n"
    "and run, in the data directory:\n"
    "  mkdir -p imdb && tar -xzf aclImdb_v1.tar.gz -C imdb aclImdb/README aclImdb/train/pos aclImdb/train/neg \\\n"
    "      aclImdb/test/pos aclImdb/test/neg\n";

/* SHA-256 and git blob id of a file, as lowercase hex. */
static int hash_file(const char *path, char sha256[65], char blob[41], PifiErr *err) {
    struct stat st;
    FILE *f = fopen(path, "rb");
    if (!f || fstat(fileno(f), &st)) {
        if (f) fclose(f);
        return pifi_errf(err, "%s: cannot read: %s", path, strerror(errno));
    }
    EVP_MD_CTX *a = EVP_MD_CTX_new(), *b = EVP_MD_CTX_new();
    int ok = a && b && EVP_DigestInit_ex(a, EVP_sha256(), NULL) && EVP_DigestInit_ex(b, EVP_sha1(), NULL);
    char head[64];
    int hn = snprintf(head, sizeof head, "blob %lld", (long long)st.st_size);
    ok = ok && EVP_DigestUpdate(b, head, (size_t)hn + 1); /* with its NUL */
    static const size_t CHUNK = 1 << 16;
    unsigned char *buf = malloc(CHUNK);
    size_t n;
    while (ok && buf && (n = fread(buf, 1, CHUNK, f)) > 0) ok = EVP_DigestUpdate(a, buf, n) && EVP_DigestUpdate(b, buf, n);
    ok = ok && buf && !ferror(f);
    unsigned char da[32], db[20];
    unsigned la = 0, lb = 0;
    ok = ok && EVP_DigestFinal_ex(a, da, &la) && EVP_DigestFinal_ex(b, db, &lb) && la == 32 && lb == 20;
    free(buf);
    EVP_MD_CTX_free(a);
    EVP_MD_CTX_free(b);
    fclose(f);
    if (!ok) return pifi_errk(err, PIFI_ERR_RUNTIME, "%s: cannot hash", path);
    for (int i = 0; i < 32; i++) snprintf(sha256 + 2 * i, 3, "%02x", da[i]);
    for (int i = 0; i < 20; i++) snprintf(blob + 2 * i, 3, "%02x", db[i]);
    return 0;
}

/* 1 matches its pin, 0 differs, -1 nothing pinned. what: the checked hash's name. */
static int check_pin(const PifiTaskFile *f, const char *sha256, const char *blob, const char **what, const char **want,
                     const char **got) {
    if (f->sha256) {
        *what = "sha256", *want = f->sha256, *got = sha256;
        return !strcmp(f->sha256, sha256);
    }
    if (f->git_blob) {
        *what = "git blob id", *want = f->git_blob, *got = blob;
        return !strcmp(f->git_blob, blob);
    }
    return -1;
}

/* One file: kept when there and right, else downloaded, checked and renamed. */
static int get_file(const PifiTaskFile *f, const char *root, const char *mirror, PifiErr *err) {
    char *dest = pifi_path_join(root, f->path);
    char *tmp = dest ? malloc(strlen(dest) + 32) : NULL;
    char url[2048], sha[65], blob[41];
    const char *what = "", *want = "", *got = "";
    int rc = 0, fd = -1;
    if (!tmp) {
        rc = pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        goto out;
    }
    if (pifi_file_exists(dest)) {
        if ((rc = hash_file(dest, sha, blob, err))) goto out;
        int m = check_pin(f, sha, blob, &what, &want, &got);
        if (m == 0) {
            rc = pifi_errk(err, PIFI_ERR_RUNTIME, "%s: already there but not the original (%s %s, expected %s); "
                           "remove it to fetch it again", dest, what, got, want);
            goto out;
        }
        printf("%-40s already there%s\n", f->path, m == 1 ? ", checked" : " (no pinned checksum)");
        goto out;
    }
    char *slash = strrchr(dest, '/');
    *slash = 0;
    rc = pifi_mkdirs(dest, err);
    sprintf(tmp, "%s/.%s.part-XXXXXX", dest, slash + 1);
    *slash = '/';
    if (rc) goto out;
    snprintf(url, sizeof url, "%s/%s", mirror ? mirror : GITHUB_RAW, f->url);
    if ((fd = mkstemp(tmp)) < 0) {
        rc = pifi_errk(err, PIFI_ERR_RUNTIME, "%s: cannot create a temp file: %s", tmp, strerror(errno));
        goto out;
    }
    rc = data_fetch_url(url, fd, MAX_FILE_BYTES, err);
    if (rc == 0 && fsync(fd)) rc = pifi_errk(err, PIFI_ERR_RUNTIME, "%s: %s", tmp, strerror(errno));
    if (close(fd) && rc == 0) rc = pifi_errk(err, PIFI_ERR_RUNTIME, "%s: %s", tmp, strerror(errno));
    fd = -1;
    if (rc == 0) rc = hash_file(tmp, sha, blob, err);
    int m = rc == 0 ? check_pin(f, sha, blob, &what, &want, &got) : 0;
    if (rc == 0 && m == 0)
        rc = pifi_errk(err, PIFI_ERR_RUNTIME, "%s: %s mismatch: got %s, expected %s (from %s); nothing written",
                       f->path, what, got, want, url);
    if (rc == 0 && rename(tmp, dest))
        rc = pifi_errk(err, PIFI_ERR_RUNTIME, "%s: cannot rename into place: %s", dest, strerror(errno));
    if (rc) {
        unlink(tmp);
        goto out;
    }
    struct stat st;
    printf("%-40s fetched, %lld bytes, %s\n", f->path, stat(dest, &st) ? -1LL : (long long)st.st_size,
           m == 1 ? (f->sha256 ? "sha256 checked" : "git blob id checked") : "NOT checked (no pinned checksum)");
out:
    free(tmp);
    free(dest);
    return rc;
}

static int data_list(const char *root) {
    printf("data directory: %s\n", root);
    printf("%-24s %-8s %s\n", "task", "status", "source");
    for (int i = 0; i < task_count(); i++) {
        const PifiTaskInfo *t = task_at(i);
        const char *missing;
        int p = task_files_present(t, root, &missing);
        printf("%-24s %-8s %s", t->name, p == 2 ? "present" : p ? "partial" : "absent", task_source(t));
        if (p == 1) printf("; missing %s", missing);
        printf("\n");
    }
    return 0;
}

/* 1 when pifi can fetch the task's files (not IMDB's archive). */
static int fetchable(const PifiTaskInfo *t) {
    const PifiTaskFile *f = task_files(t);
    return f && f->path && f->url;
}

static int data_get(const char *root, char **tasks, int n) {
    const char *mirror = getenv("PIFI_DATA_MIRROR");
    if (mirror && !*mirror) mirror = NULL;
    int all = n == 1 && !strcmp(tasks[0], "all");
    int count = all ? task_count() : n;
    for (int i = 0; i < count; i++) { /* every name is checked before anything is fetched */
        const PifiTaskInfo *t = all ? task_at(i) : task_find(tasks[i]);
        if (!t) return cli_usage_error("data", "unknown task '%s' (`pifi data list` lists them)", tasks[i]);
        if (!fetchable(t) && !all) {
            fprintf(stderr, "pifi: data: %s", IMDB_HOWTO);
            return 2;
        }
    }
    if (!data_fetch_available()) {
        fprintf(stderr, "pifi: data: this pifi was built without libcurl (install libcurl4-openssl-dev and "
                        "rebuild)\n");
        return 2;
    }
    PifiErr err = {0};
    for (int i = 0; i < count; i++) {
        const PifiTaskInfo *t = all ? task_at(i) : task_find(tasks[i]);
        if (!fetchable(t)) {
            fprintf(stderr, "pifi: data: skipping %s", IMDB_HOWTO);
            continue;
        }
        for (const PifiTaskFile *f = task_files(t); f->path; f++)
            if (get_file(f, root, mirror, &err)) return cli_fail(&err);
    }
    printf("data directory: %s (use it with --data-dir %s or PIFI_DATA)\n", root, root);
    return 0;
}

int cmd_data(int argc, char **argv) {
    enum { O_DATA_DIR = 256 };
    static const struct option LONG[] = {{"data-dir", 1, 0, O_DATA_DIR}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *dir = NULL;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = cli_getopt(argc, argv, ":h", LONG, "data")) != -1) {
        switch (c) {
        case O_DATA_DIR: dir = optarg; break;
        case 'h': fputs(HELP, stdout); return 0;
        case ':': return cli_usage_error("data", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("data", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) return cli_usage_error("data", "expects 'list' or 'get TASK'");
    const char *sub = argv[optind];
    int is_list = !strcmp(sub, "list"), is_get = !strcmp(sub, "get");
    if (!is_list && !is_get) return cli_usage_error("data", "unknown subcommand '%s' (list or get)", sub);
    if (is_list && optind + 1 < argc) return cli_usage_error("data", "list takes no argument");
    if (is_get && optind + 1 >= argc) return cli_usage_error("data", "get needs a TASK (or 'all')");
    char buf[4096];
    const char *root = task_data_dir(dir, buf, sizeof buf); /* the one --task reads */
    return is_list ? data_list(root) : data_get(root, argv + optind + 1, argc - optind - 1);
}
