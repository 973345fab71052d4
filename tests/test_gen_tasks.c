/* test_gen_tasks.c: the generation tasks' data (src/data/gen_tasks.c,
 * core/gzfile.c, the generic reader's target column): Multi30K's three
 * official splits from the gzipped files in PIFI_DATA, both directions,
 * line for line; CNN/DailyMail as Hugging Face datasets writes it (CSV with
 * a quoted multi-line article, JSON Lines); a generic TSV with named
 * columns; and the bad inputs: a missing target column, unparallel files,
 * a damaged gzip, an empty target, a target and a second text together. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/gen_tasks.h"
#include "pifi/fileio.h"
#include "test.h"

static char dir[1024];

static void put(const char *name, const char *body, size_t n) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    REQUIRE(f);
    REQUIRE(fwrite(body, 1, n, f) == n);
    fclose(f);
}

static int load(const char *json, unsigned which, PifiTaskSplits *ts, PifiErr *err) {
    cJSON *d = cJSON_Parse(json);
    if (!d) return -2;
    int rc = gen_task_load(d, which, ts, err);
    cJSON_Delete(d);
    return rc;
}

static void test_multi30k(const char *data) {
    char js[2048];
    PifiTaskSplits ts;
    PifiErr err = {0};
    snprintf(js, sizeof js, "{\"task\": \"multi30k\", \"data_dir\": \"%s\"}", data);
    REQUIRE(load(js, PIFI_SPLITS_ALL, &ts, &err) == 0);
    CHECK(ts.available[0] && ts.available[1] && ts.available[2]);
    CHECKF(ts.split[0].n == 29000 && ts.split[1].n == 1014 && ts.split[2].n == 1000, "%lld %lld %lld",
           (long long)ts.split[0].n, (long long)ts.split[1].n, (long long)ts.split[2].n);
    PifiDataset *tr = &ts.split[0];
    REQUIRE(tr->target && tr->num_classes == 0 && !tr->text_pair);
    CHECK(!strcmp(tr->text[0], "Two young, White males are outside near many bushes."));
    CHECK(!strcmp(tr->target[0], "Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche."));
    CHECK(!strcmp(ts.split[2].target[0], "Ein Mann mit einem orangefarbenen Hut, der etwas anstarrt."));
    /* a subset keeps its targets */
    int64_t idx[2] = {1, 0};
    PifiDataset sub;
    REQUIRE(dataset_select(tr, idx, 2, &sub, &err) == 0);
    CHECK(sub.n == 2 && sub.target && !strcmp(sub.target[1], tr->target[0]) && !strcmp(sub.text[0], tr->text[1]));
    dataset_free(&sub);
    task_splits_free(&ts);
    snprintf(js, sizeof js, "{\"task\": \"multi30k_de_en\", \"data_dir\": \"%s\"}", data);
    REQUIRE(load(js, PIFI_SPLIT_BIT(PIFI_SPLIT_TEST), &ts, &err) == 0);
    CHECK(!ts.available[0] && ts.available[2] && ts.split[2].n == 1000);
    CHECK(!strcmp(ts.split[2].text[0], "Ein Mann mit einem orangefarbenen Hut, der etwas anstarrt."));
    task_splits_free(&ts);
}

static void test_user_files(void) {
    PifiTaskSplits ts;
    PifiErr err = {0};
    char js[4096];
    /* CNN/DailyMail as datasets' to_csv writes it: a quoted article with a newline and "" */
    const char *csv = "article,highlights,id\n"
                      "\"(CNN) -- A first line.\nA \"\"second\"\" line.\",One highlight .,a1\n"
                      "Second article,\"Two\nhighlights\",a2\n";
    put("cnn_train.csv", csv, strlen(csv));
    const char *jl = "{\"article\": \"An article \\u00e9.\", \"highlights\": \"A summary.\", \"id\": \"x\"}\n";
    put("cnn_test.jsonl", jl, strlen(jl));
    snprintf(js, sizeof js, "{\"task\": \"cnn_dailymail\", \"train\": \"%s/cnn_train.csv\", \"test\": \"%s/cnn_test.jsonl\"}",
             dir, dir);
    REQUIRE(load(js, PIFI_SPLITS_ALL, &ts, &err) == 0);
    CHECK(ts.split[0].n == 2 && !ts.available[1] && strstr(ts.why_missing[1], "--valid"));
    CHECK(!strcmp(ts.split[0].text[0], "(CNN) -- A first line.\nA \"second\" line."));
    CHECK(!strcmp(ts.split[0].target[1], "Two\nhighlights"));
    CHECK(ts.split[2].n == 1 && !strcmp(ts.split[2].text[0], "An article \xc3\xa9.") &&
          !strcmp(ts.split[2].target[0], "A summary."));
    task_splits_free(&ts);
    /* a generic TSV with its own columns */
    const char *tsv = "en\tfr\tnote\nHello .\tBonjour .\tx\nThank you\tMerci\ty\n";
    put("pairs.tsv", tsv, strlen(tsv));
    snprintf(js, sizeof js,
             "{\"task\": \"seq2seq\", \"train\": \"%s/pairs.tsv\", \"source_col\": \"en\", \"target_col\": \"fr\"}", dir);
    REQUIRE(load(js, PIFI_SPLIT_BIT(PIFI_SPLIT_TRAIN), &ts, &err) == 0);
    CHECK(ts.split[0].n == 2 && !strcmp(ts.split[0].target[1], "Merci"));
    task_splits_free(&ts);
    /* bad inputs */
    snprintf(js, sizeof js,
             "{\"task\": \"seq2seq\", \"train\": \"%s/pairs.tsv\", \"source_col\": \"en\", \"target_col\": \"de\"}", dir);
    CHECK(load(js, PIFI_SPLITS_ALL, &ts, &err) == -1);
    CHECK_MSG(err, "no column \"de\" for the target text (columns: en, fr, note)");
    snprintf(js, sizeof js, "{\"task\": \"seq2seq\", \"test\": \"%s/pairs.tsv\"}", dir);
    CHECK(load(js, PIFI_SPLITS_ALL, &ts, &err) == -1);
    CHECK_MSG(err, "seq2seq: no --train file was given");
    const char *empty = "source\ttarget\nA\t\n";
    put("empty.tsv", empty, strlen(empty));
    snprintf(js, sizeof js, "{\"task\": \"seq2seq\", \"train\": \"%s/empty.tsv\"}", dir);
    CHECK(load(js, PIFI_SPLITS_ALL, &ts, &err) == -1);
    CHECK_MSG(err, "empty.tsv:2: empty target text");
    PifiGenericOpts o = {0};
    o.pair_col = "fr", o.target_col = "fr";
    PifiDataset ds;
    char p[1200];
    snprintf(p, sizeof p, "%s/pairs.tsv", dir);
    CHECK(dataset_load_generic(p, &o, NULL, &ds, &err) == -1);
    CHECK_MSG(err, "not a second text");
}

/* A data root holding a damaged and an unparallel Multi30K. */
static void test_bad_parallel(const char *data) {
    char sub[1200], src[1300], p[1300];
    snprintf(sub, sizeof sub, "%s/root/multi30k", dir);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cd '%s' && printf 'a\\nb\\n' | gzip > train.en.gz && "
             "printf 'x\\n' | gzip > train.de.gz && cp '%s/multi30k/val.en.gz' val.en.gz && "
             "head -c 2000 '%s/multi30k/val.de.gz' > val.de.gz", sub, sub, data, data);
    REQUIRE(system(cmd) == 0);
    PifiTaskSplits ts;
    PifiErr err = {0};
    char js[2048];
    snprintf(js, sizeof js, "{\"task\": \"multi30k\", \"data_dir\": \"%s/root\"}", dir);
    CHECK(load(js, PIFI_SPLIT_BIT(PIFI_SPLIT_TRAIN), &ts, &err) == -1);
    CHECK_MSG(err, "train.en.gz has 2 lines");
    CHECK_MSG(err, "train.de.gz has 1: the files of a split must be parallel");
    CHECK(load(js, PIFI_SPLIT_BIT(PIFI_SPLIT_VALID), &ts, &err) == -1);
    CHECK_MSG(err, "val.de.gz: not a valid gzip file");
    /* gzfile on a plain file reads it as it is */
    snprintf(p, sizeof p, "%s/plain.txt", dir);
    put("plain.txt", "plain\n", 6);
    char *buf;
    size_t n;
    REQUIRE(pifi_read_file_gz(p, 0, &buf, &n, &err) == 0);
    CHECK(n == 6 && !strcmp(buf, "plain\n"));
    free(buf);
    snprintf(src, sizeof src, "%s/val.en.gz", sub);
    CHECK(pifi_read_file_gz(src, 1000, &buf, &n, &err) == -1);
    CHECK_MSG(err, "larger than the 1000-byte limit");
}

static void fresh_dir(void) {
    snprintf(dir, sizeof dir, "%s/gen_tasks", test_tmp());
    char cmd[2200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    REQUIRE(system(cmd) == 0);
}

int main(void) {
    fresh_dir();
    int files;
    CHECK(gen_task_is("multi30k", &files) && !files);
    CHECK(gen_task_is("cnn_dailymail", &files) && files);
    CHECK(!gen_task_is("sst2", NULL));
    test_user_files();
    const char *data = test_env("PIFI_DATA", "../shared/data");
    char probe[1200];
    snprintf(probe, sizeof probe, "%s/multi30k/train.en.gz", data);
    if (!pifi_file_exists(probe)) TEST_SKIP("no Multi30K under %s", data);
    test_multi30k(data);
    test_bad_parallel(data);
    TEST_DONE();
}
