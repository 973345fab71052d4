/* test_datasets.c: the named tasks on the real files in $PIFI_DATA (exact
 * counts and label distributions of shared/data/README.md, cp1252 lines,
 * carve sizes and determinism, IMDB speed) and the generic TSV/CSV/JSONL
 * readers on small files written here (quoting, columns, labels, one test
 * per bad-row error with its exact "file:line:" message, skip mode). The
 * real-data part is skipped with a message when PIFI_DATA is not set. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "pifi/dataset.h"
#include "pifi/metrics.h"
#include "test.h"

static const char *DATA; /* NULL: real-data tests skipped */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Counts per class of a split equal want[0..C). */
static int counts_are(const PifiDataset *ds, const int64_t *want) {
    int64_t c[16] = {0};
    dataset_label_counts(ds, c);
    int ok = 1;
    for (int k = 0; k < ds->num_classes; k++) ok &= c[k] == want[k];
    if (!ok) {
        fprintf(stderr, "  counts:");
        for (int k = 0; k < ds->num_classes; k++) fprintf(stderr, " %lld", (long long)c[k]);
        fprintf(stderr, "\n");
    }
    return ok;
}

static uint64_t fnv_texts(const PifiDataset *ds) {
    uint64_t h = 1469598103934665603ull;
    for (int64_t i = 0; i < ds->n; i++) {
        for (const char *p = ds->text[i]; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
        h = (h ^ (uint64_t)ds->label[i] ^ 0xff) * 1099511628211ull;
    }
    return h;
}

static int load(const char *task, PifiTaskSplits *ts, const PifiTaskOpts *o) {
    PifiErr err = {0};
    int rc = task_load(task, DATA, ts, o, &err);
    CHECKF(rc == 0, "%s: %s", task, err.msg);
    return rc;
}

static void print_task(const PifiTaskSplits *ts) {
    printf("task %-22s", ts->info->name);
    for (int s = 0; s < 3; s++) {
        if (!ts->available[s]) {
            printf(" %s=missing", split_name((PifiSplit)s));
            continue;
        }
        int64_t c[16];
        dataset_label_counts(&ts->split[s], c);
        printf(" %s=%lld(", split_name((PifiSplit)s), (long long)ts->split[s].n);
        for (int k = 0; k < ts->split[s].num_classes; k++) printf("%s%lld", k ? "/" : "", (long long)c[k]);
        printf(")");
    }
    if (ts->recoded) printf(" cp1252_lines=%lld", (long long)ts->recoded);
    if (ts->dropped) printf(" dropped=%lld", (long long)ts->dropped);
    printf("\n");
}

static int has_text(const PifiDataset *ds, const char *sub) {
    for (int64_t i = 0; i < ds->n; i++)
        if (strstr(ds->text[i], sub)) return 1;
    return 0;
}

static void test_official_splits(void) {
    PifiTaskSplits ts;
    if (load("sst2", &ts, NULL) == 0) {
        print_task(&ts);
        CHECK(ts.split[0].n == 6920 && ts.split[1].n == 872 && ts.split[2].n == 1821);
        CHECK(counts_are(&ts.split[0], (int64_t[]){3310, 3610}));
        CHECK(counts_are(&ts.split[1], (int64_t[]){428, 444}));
        CHECK(counts_are(&ts.split[2], (int64_t[]){912, 909}));
        CHECK(ts.split[0].text_pair == NULL && ts.info->num_classes == 2 && !ts.info->is_pair);
        CHECK(strcmp(ts.split[0].text[0], "a stirring , funny and finally transporting re-imagining of beauty "
                                          "and the beast and 1930s horror films") == 0);
        CHECK(ts.split[0].label[0] == 1 && strcmp(ts.split[0].label_names[1], "positive") == 0);
        task_splits_free(&ts);
    }
    if (load("sst5", &ts, NULL) == 0) {
        print_task(&ts);
        CHECK(ts.split[0].n == 8544 && ts.split[1].n == 1101 && ts.split[2].n == 2210);
        CHECK(ts.split[0].num_classes == 5);
        task_splits_free(&ts);
    }
    if (load("tweet_offensive", &ts, NULL) == 0) {
        print_task(&ts);
        CHECK(counts_are(&ts.split[0], (int64_t[]){7975, 3941}) && ts.split[0].n == 11916);
        CHECK(counts_are(&ts.split[1], (int64_t[]){865, 459}) && ts.split[1].n == 1324);
        CHECK(counts_are(&ts.split[2], (int64_t[]){620, 240}) && ts.split[2].n == 860);
        CHECK(!has_text(&ts.split[0], "&amp;")); /* entities decoded, as BeautifulSoup does */
        task_splits_free(&ts);
    }
}

static void test_tweet_sentiment_binary(void) {
    PifiTaskSplits ts;
    if (load("tweet_sentiment_binary", &ts, NULL) != 0) return;
    print_task(&ts);
    CHECK(!ts.available[PIFI_SPLIT_TRAIN]);
    CHECK(strstr(ts.why_missing[PIFI_SPLIT_TRAIN], "tweeteval_sentiment/train_text.txt is missing") != NULL);
    CHECK(ts.available[1] && ts.split[1].n == 1131 && counts_are(&ts.split[1], (int64_t[]){312, 819}));
    CHECK(ts.available[2] && ts.split[2].n == 6347 && counts_are(&ts.split[2], (int64_t[]){3972, 2375}));
    CHECK(ts.split[1].dropped == 869 && ts.split[2].dropped == 5937);
    task_splits_free(&ts);
    /* a trainer that needs train gets a clear error */
    PifiTaskOpts o = task_opts_default();
    o.need = PIFI_SPLIT_BIT(PIFI_SPLIT_TRAIN);
    PifiErr err = {0};
    CHECK(task_load("tweet_sentiment_binary", DATA, &ts, &o, &err) == -1);
    CHECK_MSG(err, "tweet_sentiment_binary: train split unavailable: ");
    CHECK_MSG(err, "train_text.txt is missing: the TweetEval sentiment training texts");
    printf("need train -> %s\n", err.msg);
}

static void test_carved(void) {
    PifiTaskSplits ts;
    /* cr: 1,368 neg / 2,407 pos, minus 2 + 2 lines without text; 10% per class
     * rounded (half up) to valid and to test */
    if (load("cr", &ts, NULL) == 0) {
        print_task(&ts);
        CHECK(ts.dropped == 4);
        CHECK(counts_are(&ts.split[2], (int64_t[]){137, 241}));
        CHECK(counts_are(&ts.split[1], (int64_t[]){137, 241}));
        CHECK(counts_are(&ts.split[0], (int64_t[]){1092, 1923}));
        task_splits_free(&ts);
    }
    if (load("mr", &ts, NULL) == 0) {
        print_task(&ts);
        CHECK(ts.recoded == 202);
        CHECK(counts_are(&ts.split[0], (int64_t[]){4265, 4265}));
        CHECK(counts_are(&ts.split[1], (int64_t[]){533, 533}) && counts_are(&ts.split[2], (int64_t[]){533, 533}));
        int found = 0;
        for (int s = 0; s < 3; s++) found |= has_text(&ts.split[s], "clich\xc3\xa9s"); /* clich\xe9s in cp1252 */
        CHECK(found);
        task_splits_free(&ts);
    }
    if (load("subj", &ts, NULL) == 0) {
        print_task(&ts);
        CHECK(ts.recoded == 113);
        CHECK(ts.split[0].n + ts.split[1].n + ts.split[2].n == 10000);
        CHECK(counts_are(&ts.split[2], (int64_t[]){500, 500}));
        task_splits_free(&ts);
    }
    if (load("trec", &ts, NULL) == 0) {
        print_task(&ts);
        CHECK(ts.recoded == 1);
        CHECK(ts.split[0].n + ts.split[1].n == 5452 && ts.split[2].n == 500);
        /* HF trec coarse ids: ABBR ENTY DESC HUM LOC NUM */
        CHECK(counts_are(&ts.split[2], (int64_t[]){9, 94, 138, 65, 81, 113}));
        int64_t tv[6], v[6];
        dataset_label_counts(&ts.split[0], tv);
        dataset_label_counts(&ts.split[1], v);
        CHECK(tv[0] + v[0] == 86 && tv[1] + v[1] == 1250 && tv[2] + v[2] == 1162);
        CHECK(v[0] == 9 && v[2] == 116 && ts.split[1].n == 546); /* 9+125+116+122+84+90 */
        CHECK(has_text(&ts.split[0], "sister\xc3\xb0" "city") || has_text(&ts.split[1], "sister\xc3\xb0" "city"));
        task_splits_free(&ts);
    }
    if (load("cola", &ts, NULL) == 0) {
        print_task(&ts);
        CHECK(counts_are(&ts.split[1], (int64_t[]){506, 1205}));
        CHECK(counts_are(&ts.split[0], (int64_t[]){2022, 4818}));
        CHECK(counts_are(&ts.split[2], (int64_t[]){162, 365}) && ts.split[2].n == 527);
        CHECK(ts.info->metrics[0] == PIFI_METRIC_MCC && ts.info->n_metrics == 3);
        task_splits_free(&ts);
    }
}

static void test_determinism(void) {
    PifiTaskSplits a, b, c;
    PifiTaskOpts o = task_opts_default();
    if (load("cr", &a, &o) != 0 || load("cr", &b, &o) != 0) return;
    o.split_seed = 7;
    if (load("cr", &c, &o) != 0) return;
    uint64_t ha = fnv_texts(&a.split[2]), hb = fnv_texts(&b.split[2]), hc = fnv_texts(&c.split[2]);
    CHECK(ha == hb);
    CHECK(ha != hc && a.split[2].n == c.split[2].n);
    /* the seed-2023 carve is the same on every machine (rng.h + integer sizes):
     * a golden hash of the test split's texts and labels */
    printf("cr seed 2023 test-split hash %016llx\n", (unsigned long long)ha);
    CHECKF(ha == 0x652428c17e9ddf09ull, "cr seed-2023 test split changed: hash %016llx", (unsigned long long)ha);
    task_splits_free(&a);
    task_splits_free(&b);
    task_splits_free(&c);
    /* --train-fraction: stratified, seeded */
    o = task_opts_default();
    o.train_fraction = 0.1;
    if (load("sst2", &a, &o) != 0) return;
    CHECK(counts_are(&a.split[0], (int64_t[]){331, 361}));
    CHECK(a.split[1].n == 872 && a.split[2].n == 1821);
    o.fraction_seed = 1;
    if (load("sst2", &b, &o) == 0) {
        CHECK(fnv_texts(&a.split[0]) != fnv_texts(&b.split[0]));
        task_splits_free(&b);
    }
    task_splits_free(&a);
}

static void test_imdb(void) {
    PifiTaskSplits ts;
    double t0 = now_s();
    if (load("imdb", &ts, NULL) != 0) return;
    double dt = now_s() - t0;
    print_task(&ts);
    printf("imdb: 50,000 files loaded and cleaned in %.2f s\n", dt);
    /* the time is reported, never asserted: timing is not a pass/fail criterion */
    CHECK(counts_are(&ts.split[0], (int64_t[]){10000, 10000}));
    CHECK(counts_are(&ts.split[1], (int64_t[]){2500, 2500}));
    CHECK(counts_are(&ts.split[2], (int64_t[]){12500, 12500}));
    int br = 0, dbl = 0;
    for (int s = 0; s < 3; s++)
        for (int64_t i = 0; i < ts.split[s].n; i++) {
            br += strstr(ts.split[s].text[i], "<br") != NULL;
            dbl += strstr(ts.split[s].text[i], "  ") != NULL;
        }
    CHECK(br == 0 && dbl == 0);
    /* test/neg/0_2.txt is the first test review (files ordered by id) */
    CHECK(ts.split[2].label[0] == 0 && ts.split[2].label[12500] == 1);
    task_splits_free(&ts);
    /* only the test split: train is not read */
    PifiTaskOpts o = task_opts_default();
    o.load = PIFI_SPLIT_BIT(PIFI_SPLIT_TEST);
    if (load("imdb", &ts, &o) == 0) {
        CHECK(!ts.available[0] && !ts.available[1] && ts.split[2].n == 25000);
        task_splits_free(&ts);
    }
}

static void test_nli(void) {
    PifiTaskSplits ts;
    if (load("snli", &ts, NULL) == 0) {
        print_task(&ts);
        CHECK(!ts.available[0] && strstr(ts.why_missing[0], "s1.train is missing") != NULL);
        CHECK(counts_are(&ts.split[1], (int64_t[]){3329, 3235, 3278}) && ts.split[1].n == 9842);
        CHECK(counts_are(&ts.split[2], (int64_t[]){3368, 3219, 3237}) && ts.split[2].n == 9824);
        CHECK(ts.info->is_pair && ts.split[1].text_pair != NULL);
        CHECK(strcmp(ts.split[1].text[0], "Two women are embracing while holding to go packages .") == 0);
        task_splits_free(&ts);
    }
    PifiTaskOpts o = task_opts_default();
    o.raw_text = 1;
    if (load("snli", &ts, &o) == 0) {
        CHECK(strcmp(ts.split[1].text[0], "Two women are embracing while holding to go packages . ") == 0);
        task_splits_free(&ts);
    }
    if (load("mnli", &ts, NULL) == 0) {
        print_task(&ts);
        CHECK(!ts.available[0] && !ts.available[1]);
        CHECK(strstr(ts.why_missing[1], "mnli/train.jsonl is missing") != NULL);
        CHECK(strstr(ts.why_missing[1], "dev_mismatched") != NULL);
        CHECK(ts.split[2].n == 9815 && counts_are(&ts.split[2], (int64_t[]){3479, 3123, 3213}));
        CHECK(strcmp(ts.split[2].text[0], "The new rights are nice enough") == 0);
        CHECK(strcmp(ts.split[2].text_pair[0], "Everyone really likes the newest benefits") == 0);
        CHECK(ts.split[2].label[0] == 1);
        task_splits_free(&ts);
    }
}

static void test_task_errors(void) {
    PifiTaskSplits ts;
    PifiErr err = {0};
    CHECK(task_load("sst3", DATA, &ts, NULL, &err) == -1);
    CHECK_MSG(err, "unknown task \"sst3\" (known: sst2, sst5");
    CHECK(task_load("sst2", "/nonexistent", &ts, NULL, &err) == -1);
    CHECK_MSG(err, "sst2: no folder /nonexistent/sst2 (set --data-dir or PIFI_DATA");
    CHECK(task_find("cola") && task_find("cola")->num_classes == 2 && task_count() == 12);
}

/* ---- generic files ---- */

static char TMP[1024];

static const char *write_tmp(const char *name, const char *content) {
    static char path[8][1200];
    static int slot;
    char *p = path[slot++ % 8];
    snprintf(p, 1200, "%s/%s", TMP, name);
    FILE *f = fopen(p, "wb");
    if (f) {
        fwrite(content, 1, strlen(content), f);
        fclose(f);
    }
    return p;
}

static void test_generic_csv(void) {
    const char *path = write_tmp("a.csv",
                                 "\xef\xbb\xbfid,text,label\r\n"
                                 "1,\"He said \"\"hi\"\", then left\",pos\r\n"
                                 "2,\"two\nlines, one field\",neg\r\n"
                                 "\r\n"
                                 "3,plain text,pos\r\n");
    PifiGenericOpts o = {0};
    o.clean = 0;
    PifiLabelMap m = {0};
    PifiDataset ds;
    PifiErr err = {0};
    int rc = dataset_load_generic(path, &o, &m, &ds, &err);
    CHECKF(rc == 0, "%s", err.msg);
    if (rc != 0) return;
    CHECK(ds.n == 3 && ds.num_classes == 2);
    CHECK(strcmp(ds.text[0], "He said \"hi\", then left") == 0);
    CHECK(strcmp(ds.text[1], "two\nlines, one field") == 0);
    CHECK(strcmp(ds.text[2], "plain text") == 0);
    CHECK(ds.label[0] == 0 && ds.label[1] == 1 && ds.label[2] == 0); /* order of first appearance */
    CHECK(strcmp(ds.label_names[0], "pos") == 0 && strcmp(ds.label_names[1], "neg") == 0);
    CHECK(m.frozen && !m.numeric);
    dataset_free(&ds);
    /* a valid file with the same map: known labels only (line 3 starts after a quoted newline) */
    path = write_tmp("b.csv", "text,label\n\"x\ny\",neg\nz,maybe\n");
    CHECK(dataset_load_generic(path, &o, &m, &ds, &err) == -1);
    char want[1400];
    snprintf(want, sizeof want, "%s:4: unknown label \"maybe\" (known: pos, neg)", path);
    CHECKF(strcmp(err.msg, want) == 0, "%s", err.msg);
    /* clean on: the cleaning of the tasks */
    o.clean = 1;
    path = write_tmp("c.csv", "text,label\n\"  a<br /><br />b &amp; c\t\",pos\n");
    CHECK(dataset_load_generic(path, &o, &m, &ds, &err) == 0);
    CHECK(ds.n == 1 && strcmp(ds.text[0], "a b & c") == 0);
    dataset_free(&ds);
    label_map_free(&m);
}

static void test_generic_tsv_jsonl(void) {
    /* TSV without header, columns by index, numeric labels */
    const char *path = write_tmp("a.tsv", "1\tgood one\n0\tbad one\n2\tso so\n");
    PifiGenericOpts o = {0};
    o.no_header = 1;
    o.text_col = "1";
    o.label_col = "0";
    PifiLabelMap m = {0};
    PifiDataset ds;
    PifiErr err = {0};
    CHECKF(dataset_load_generic(path, &o, &m, &ds, &err) == 0, "%s", err.msg);
    CHECK(ds.n == 3 && ds.num_classes == 3 && m.numeric);
    CHECK(ds.label[0] == 1 && ds.label[1] == 0 && ds.label[2] == 2 && strcmp(ds.text[2], "so so") == 0);
    dataset_free(&ds);
    label_map_free(&m);
    /* TSV with a header, pair by name, 1-based integer labels -> sorted ids */
    path = write_tmp("b.tsv", "premise\thypothesis\tstars\nA\tB\t5\nC\tD\t1\nE\tF\t3\n");
    PifiGenericOpts p = {0};
    p.text_col = "premise";
    p.pair_col = "hypothesis";
    p.label_col = "stars";
    CHECKF(dataset_load_generic(path, &p, &m, &ds, &err) == 0, "%s", err.msg);
    CHECK(ds.n == 3 && ds.text_pair && strcmp(ds.text_pair[1], "D") == 0);
    CHECK(ds.label[0] == 2 && ds.label[1] == 0 && ds.label[2] == 1 && strcmp(ds.label_names[2], "5") == 0);
    dataset_free(&ds);
    label_map_free(&m);
    /* JSONL: integer and string labels, pair, key by index */
    path = write_tmp("a.jsonl", "{\"s1\": \"caf\\u00e9\", \"s2\": \"b\", \"y\": 1}\n\n{\"s1\": \"c\", \"s2\": \"d\", \"y\": 0}\n");
    PifiGenericOpts j = {0};
    j.text_col = "0";
    j.pair_col = "s2";
    j.label_col = "y";
    CHECKF(dataset_load_generic(path, &j, &m, &ds, &err) == 0, "%s", err.msg);
    CHECK(ds.n == 2 && strcmp(ds.text[0], "caf\xc3\xa9") == 0 && ds.label[0] == 1 && m.numeric);
    dataset_free(&ds);
    label_map_free(&m);
    /* labels fixed in advance: names or indices */
    const char *names[] = {"neg", "pos"};
    CHECK(label_map_set(&m, names, 2, &err) == 0);
    path = write_tmp("c.jsonl", "{\"text\": \"x\", \"label\": \"pos\"}\n{\"text\": \"y\", \"label\": 0}\n");
    CHECKF(dataset_load_generic(path, NULL, &m, &ds, &err) == 0, "%s", err.msg);
    CHECK(ds.n == 2 && ds.label[0] == 1 && ds.label[1] == 0);
    dataset_free(&ds);
    label_map_free(&m);
}

/* One bad row: the exact message, then skip mode leaves it out. */
static void bad_case(const char *name, const char *content, const PifiGenericOpts *base, const char *want_tail,
                     int64_t good_rows) {
    const char *path = write_tmp(name, content);
    PifiGenericOpts o = base ? *base : (PifiGenericOpts){0};
    PifiLabelMap m = {0};
    PifiDataset ds;
    PifiErr err = {0};
    CHECK(dataset_load_generic(path, &o, &m, &ds, &err) == -1);
    char want[1400];
    snprintf(want, sizeof want, "%s:%s", path, want_tail);
    CHECKF(strcmp(err.msg, want) == 0, "got \"%s\" want \"%s\"", err.msg, want);
    label_map_free(&m);
    if (good_rows < 0) return; /* fatal even when skipping */
    o.skip_bad_rows = 1;
    int rc = dataset_load_generic(path, &o, &m, &ds, &err);
    CHECKF(rc == 0, "%s", err.msg);
    if (rc == 0) {
        CHECK(ds.n == good_rows && ds.skipped == 1);
        CHECKF(strcmp(ds.first_skip, want) == 0, "%s", ds.first_skip);
        dataset_free(&ds);
    }
    label_map_free(&m);
}

static void test_generic_errors(void) {
    bad_case("cols.tsv", "text\tlabel\tsrc\na\t0\tx\nb\t1\n", NULL, "3: 2 columns, expected 3 (as the header)", 1);
    bad_case("utf8.tsv", "text\tlabel\nok\t0\nbad \xe9t\xe9\t1\nfine\t1\n", NULL,
             "3: invalid UTF-8 at byte 4 of the line", 2);
    bad_case("utf8first.tsv", "\xff\t0\na\t1\nb\t0\n", &(PifiGenericOpts){.no_header = 1},
             "1: invalid UTF-8 at byte 0 of the line", 2);
    bad_case("cols2.tsv", "a\t0\nb\t1\tx\n", &(PifiGenericOpts){.no_header = 1},
             "2: 3 columns, expected 2 (as the first row)", 1);
    bad_case("empty.csv", "text,label\n\"  \",0\nx,1\n", &(PifiGenericOpts){.clean = 1}, "2: empty text", 1);
    bad_case("nolabel.csv", "text,label\nx,\ny,1\n", NULL, "2: empty label", 1);
    bad_case("json.jsonl", "{\"text\": \"a\", \"label\": 0}\n{\"text\": \"b\", \"label\": 1\n{\"text\": \"c\", \"label\": 1}\n",
             NULL, "2: not a JSON object", 2);
    bad_case("field.jsonl", "{\"text\": \"a\", \"label\": 0}\n{\"txt\": \"b\", \"label\": 1}\n", NULL,
             "2: no string field \"text\" (the text)", 1);
    bad_case("huge.jsonl", "{\"text\": \"a\", \"label\": 0}\n{\"text\": \"b\", \"label\": 2.2e39}\n", NULL,
             "2: no field \"label\" holding a string or integer label", 1); /* fuzz: (long long) of it was UB */
    bad_case("quote.csv", "text,label\n\"never closed,0\nx,1\n", NULL,
             "2: quoted field never closed (a \" is missing)", -1);
    bad_case("after.csv", "text,label\n\"a\"b,0\n", NULL, "2: text after the closing quote of a field", -1);
    /* header problems are never rows */
    PifiGenericOpts o = {0};
    o.text_col = "sentence";
    PifiLabelMap m = {0};
    PifiDataset ds;
    PifiErr err = {0};
    const char *path = write_tmp("hdr.tsv", "text\tlabel\na\t0\n");
    CHECK(dataset_load_generic(path, &o, &m, &ds, &err) == -1);
    CHECK_MSG(err, "no column \"sentence\" for the text (columns: text, label)");
    CHECK(dataset_load_generic("x.parquet", NULL, &m, &ds, &err) == -1);
    CHECK_MSG(err, "x.parquet: cannot tell the format from the name");
    label_map_free(&m);
}

static void test_clean_and_split(void) {
    const char *in = "A<br /><br/>b &lt;3 <3 <em>x</em>&#233;&#x263A;\xc2\xa0 end&bogus; \xe3\x80\x80";
    char *c = dataset_clean_text(in, strlen(in));
    CHECKF(c && strcmp(c, "A b <3 <3 x\xc3\xa9\xe2\x98\xba end&bogus;") == 0, "%s", c);
    free(c);
    /* carve on a synthetic set: sizes per class, disjoint, deterministic */
    PifiLabelMap m = {0};
    char buf[64 * 1024] = "text\tlabel\n";
    for (int i = 0; i < 1000; i++) {
        char row[64];
        snprintf(row, sizeof row, "row %d\t%d\n", i, i % 10 == 0 ? 1 : 0);
        strcat(buf, row);
    }
    const char *path = write_tmp("big.tsv", buf);
    PifiDataset ds, a, b, a2, b2;
    PifiErr err = {0};
    REQUIRE(dataset_load_generic(path, NULL, &m, &ds, &err) == 0);
    REQUIRE(dataset_carve(&ds, 0.25, 5, &a, &b, &err) == 0);
    CHECK(counts_are(&a, (int64_t[]){225, 25}) && counts_are(&b, (int64_t[]){675, 75}));
    REQUIRE(dataset_carve(&ds, 0.25, 5, &a2, &b2, &err) == 0);
    CHECK(fnv_texts(&a) == fnv_texts(&a2) && fnv_texts(&b) == fnv_texts(&b2));
    int overlap = 0;
    for (int64_t i = 0; i < a.n; i++)
        for (int64_t j = 0; j < b.n; j++) overlap += strcmp(a.text[i], b.text[j]) == 0;
    CHECK(overlap == 0);
    dataset_free(&a2);
    dataset_free(&b2);
    CHECK(dataset_subsample(&ds, 0.001, 1, &a2, &err) == 0 && counts_are(&a2, (int64_t[]){1, 1}));
    dataset_free(&a2);
    CHECK(dataset_subsample(&ds, 1.5, 1, &a2, &err) == -1);
    dataset_free(&a);
    dataset_free(&b);
    dataset_free(&ds);
    label_map_free(&m);
}

/* The data root's fallbacks (--data-dir, $PIFI_DATA, $XDG_CACHE_HOME,
 * $HOME), each checked with the environment set and restored after. */
static void test_data_root(void) {
    char *saved[3];
    const char *names[3] = {"PIFI_DATA", "XDG_CACHE_HOME", "HOME"};
    for (int i = 0; i < 3; i++) saved[i] = getenv(names[i]) ? strdup(getenv(names[i])) : NULL;
    char buf[4096];
    setenv("PIFI_DATA", "/p/data", 1);
    setenv("XDG_CACHE_HOME", "/x/cache", 1);
    setenv("HOME", "/h/home", 1);
    CHECK(strcmp(task_data_dir("/d/dir", buf, sizeof buf), "/d/dir") == 0);
    CHECK(strcmp(task_data_dir(NULL, buf, sizeof buf), "/p/data") == 0);
    setenv("PIFI_DATA", "", 1); /* empty counts as unset */
    CHECK(strcmp(task_data_dir("", buf, sizeof buf), "/x/cache/pifi/data") == 0);
    unsetenv("PIFI_DATA");
    unsetenv("XDG_CACHE_HOME");
    CHECK(strcmp(task_data_dir(NULL, buf, sizeof buf), "/h/home/.cache/pifi/data") == 0);
    unsetenv("HOME"); /* from the password database: some absolute path */
    const char *r = task_data_dir(NULL, buf, sizeof buf);
    CHECK(strstr(r, "/.cache/pifi/data") != NULL);
    for (int i = 0; i < 3; i++) {
        if (saved[i]) setenv(names[i], saved[i], 1);
        else unsetenv(names[i]);
        free(saved[i]);
    }
}

/* The registry's source and files columns (what `pifi data get` fetches):
 * every task has them, each needed file lies in the task's folder, each
 * fetched file has a well-formed pin or is one of the known unpinned
 * originals, and presence is read from the data root. */
static void test_task_files(void) {
    static const char *const UNPINNED[] = {"snli/labels.train", "snli/s1.train", "snli/s2.train", "mnli/train.jsonl"};
    for (int i = 0; i < task_count(); i++) {
        const PifiTaskInfo *t = task_at(i);
        const PifiTaskFile *f = task_files(t);
        CHECKF(task_source(t)[0] && f && f->path, "%s: no source or files", t->name);
        int needed = 0;
        for (; f && f->path; f++) {
            size_t n = strlen(t->data_subdir);
            CHECKF(!strncmp(f->path, t->data_subdir, n) && f->path[n] == '/', "%s: %s outside %s/", t->name,
                   f->path, t->data_subdir);
            needed += f->needed;
            if (!f->url) continue;
            int pinned = (f->sha256 && strlen(f->sha256) == 64) || (f->git_blob && strlen(f->git_blob) == 40);
            int known = 0;
            for (size_t k = 0; k < sizeof UNPINNED / sizeof *UNPINNED; k++) known |= !strcmp(f->path, UNPINNED[k]);
            CHECKF(pinned != known, "%s: %s %s", t->name, f->path, pinned ? "pinned but listed unpinned" : "not pinned");
        }
        CHECKF(needed > 0, "%s: no needed file", t->name);
        const char *missing = NULL;
        CHECKF(task_files_present(t, TMP, &missing) == 0 && missing != NULL, "%s: present in an empty folder",
               t->name);
    }
    const PifiTaskInfo *sst2 = task_find("sst2");
    const char *missing = "x";
    if (DATA) CHECK(task_files_present(sst2, DATA, &missing) == 2 && missing == NULL);
}

int main(void) {
    test_data_root();
    snprintf(TMP, sizeof TMP, "%s/datasets", test_tmp());
    mkdir(TMP, 0755);
    test_clean_and_split();
    test_generic_csv();
    test_generic_tsv_jsonl();
    test_generic_errors();
    const char *d = getenv("PIFI_DATA");
    struct stat st;
    char probe[1200];
    snprintf(probe, sizeof probe, "%s/sst2", d ? d : "");
    if (!d || !*d || stat(probe, &st) != 0) {
        printf("real-data tests SKIPPED: set PIFI_DATA to the shared data folder (%s)\n",
               d && *d ? "no sst2/ there" : "PIFI_DATA unset");
    } else {
        DATA = d;
        test_task_errors();
        test_official_splits();
        test_tweet_sentiment_binary();
        test_carved();
        test_determinism();
        test_nli();
        test_imdb();
    }
    test_task_files();
    TEST_DONE();
}
