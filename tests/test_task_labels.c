/* test_task_labels.c: a named task's classes put onto a run's by name
 * (src/data/task_labels.c, issue 19: cross-task evaluation compared class
 * indices): the rules (exact names in any order, then ignoring case when one
 * to one, then by index for a run with integer classes, else an error naming
 * both lists), and task_desc_load with a run's classes renumbering a small CR
 * written to a temp data root. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/tasks_desc.h"
#include "pifi/fileio.h"
#include "test.h"

static void test_rules(void) {
    const PifiTaskInfo *cr = task_find("cr"), *trec = task_find("trec");
    REQUIRE(cr && trec && cr->num_classes == 2 && !strcmp(cr->label_names[0], "negative"));
    int to[8];
    char note[512];
    PifiErr err = {0};
    /* the same names in the same order: identity, no note */
    const char *same[] = {"negative", "positive"};
    CHECK(task_labels_match(cr, same, 2, to, note, sizeof note, &err) == 0);
    CHECK(to[0] == 0 && to[1] == 1 && note[0] == 0);
    /* the opposite order (a file whose first row was "positive"): by name */
    const char *rev[] = {"positive", "negative"};
    CHECK(task_labels_match(cr, rev, 2, to, note, sizeof note, &err) == 0);
    CHECK(to[0] == 1 && to[1] == 0 && note[0] == 0);
    /* another case: by name ignoring case, with a note */
    const char *caps[] = {"Positive", "NEGATIVE"};
    CHECK(task_labels_match(cr, caps, 2, to, note, sizeof note, &err) == 0);
    CHECK(to[0] == 1 && to[1] == 0);
    CHECKF(strstr(note, "ignoring case: negative = NEGATIVE, positive = Positive") != NULL, "note: %s", note);
    /* names that differ only in case in the run: no one-to-one pairing */
    const char *twin[] = {"Negative", "NEGATIVE"};
    CHECK(task_labels_match(cr, twin, 2, to, note, sizeof note, &err) == -1);
    /* a run trained on integer labels: by index, with a note */
    const char *ints[] = {"0", "1"};
    CHECK(task_labels_match(cr, ints, 2, to, note, sizeof note, &err) == 0);
    CHECK(to[0] == 0 && to[1] == 1);
    CHECKF(strstr(note, "integers 0..1") && strstr(note, "by index: negative = 0, positive = 1"), "note: %s", note);
    /* integers that are not 0..K-1 are names like any other: no match */
    const char *stars[] = {"1", "2"};
    CHECK(task_labels_match(cr, stars, 2, to, note, sizeof note, &err) == -1);
    /* other names, or another number of classes: an error naming both lists */
    const char *other[] = {"good", "bad"};
    memset(&err, 0, sizeof err);
    CHECK(task_labels_match(cr, other, 2, to, note, sizeof note, &err) == -1);
    CHECK_MSG(err, "cr: its classes (negative, positive) cannot be matched by name to the run's (good, bad)");
    CHECK(err.kind == PIFI_ERR_INPUT);
    const char *three[] = {"negative", "positive", "neutral"};
    CHECK(task_labels_match(cr, three, 3, to, note, sizeof note, &err) == -1);
    CHECK_MSG(err, "(negative, positive, neutral)");
    const char *six[] = {"0", "1", "2", "3", "4", "5"};
    CHECK(task_labels_match(cr, six, 6, to, note, sizeof note, &err) == -1);
    /* six classes in another order (TREC) */
    const char *t6[] = {"NUM", "LOC", "HUM", "DESC", "ENTY", "ABBR"};
    CHECK(task_labels_match(trec, t6, 6, to, note, sizeof note, &err) == 0);
    for (int k = 0; k < 6; k++) CHECK(!strcmp(t6[to[k]], trec->label_names[k]));
}

/* CR from a data root holding 10 negative and 10 positive lines, loaded for
 * a run whose classes are (positive, negative): every label flipped, the
 * splits' names the run's. */
static void test_desc_load(void) {
    const char *tmp = getenv("PIFI_TESTS_TMP");
    char root[4096], dir[4200], file[4300];
    snprintf(root, sizeof root, "%s/task_labels.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (tmp && *tmp) mkdir(tmp, 0777); /* may exist */
    REQUIRE(mkdtemp(root) != NULL);
    snprintf(dir, sizeof dir, "%s/cr", root);
    REQUIRE(mkdir(dir, 0777) == 0);
    snprintf(file, sizeof file, "%s/custrev.all", dir);
    FILE *f = fopen(file, "w");
    REQUIRE(f != NULL);
    for (int i = 0; i < 20; i++) fprintf(f, "%d review number %d is %s\n", i % 2, i, i % 2 ? "good" : "bad");
    fclose(f);
    cJSON *desc = cJSON_CreateObject();
    cJSON_AddStringToObject(desc, "task", "cr");
    cJSON_AddStringToObject(desc, "data_dir", root);
    PifiTaskSplits plain, mapped;
    PifiErr err = {0};
    const char *rev[] = {"positive", "negative"};
    REQUIRE(task_desc_load(desc, PIFI_SPLITS_ALL, NULL, 0, &plain, &err) == 0);
    REQUIRE(task_desc_load(desc, PIFI_SPLITS_ALL, rev, 2, &mapped, &err) == 0);
    CHECK(mapped.label_note[0] == 0);
    int64_t total = 0;
    for (int s = 0; s < 3; s++) {
        REQUIRE(plain.available[s] && mapped.available[s] && plain.split[s].n == mapped.split[s].n);
        const PifiDataset *a = &plain.split[s], *b = &mapped.split[s];
        CHECK(b->num_classes == 2 && !strcmp(b->label_names[0], "positive") && !strcmp(b->label_names[1], "negative"));
        for (int64_t i = 0; i < a->n; i++) {
            CHECK(!strcmp(a->text[i], b->text[i]));
            CHECK(b->label[i] == 1 - a->label[i]);
            /* the text says which class it is: "good" lines are positive */
            CHECK(!strcmp(b->label_names[b->label[i]], strstr(b->text[i], "good") ? "positive" : "negative"));
        }
        total += a->n;
    }
    CHECK(total == 20);
    task_splits_free(&plain);
    task_splits_free(&mapped);
    /* integer classes: by index, the note kept with the splits */
    const char *ints[] = {"0", "1"};
    REQUIRE(task_desc_load(desc, PIFI_SPLIT_BIT(PIFI_SPLIT_TEST), ints, 2, &mapped, &err) == 0);
    CHECK(strstr(mapped.label_note, "matched by index") != NULL);
    task_splits_free(&mapped);
    /* no match: the error, nothing left allocated */
    const char *other[] = {"good", "bad"};
    CHECK(task_desc_load(desc, PIFI_SPLIT_BIT(PIFI_SPLIT_TEST), other, 2, &mapped, &err) == -1);
    CHECK_MSG(err, "(good, bad)");
    cJSON_Delete(desc);
    unlink(file);
    rmdir(dir);
    rmdir(root);
}

int main(void) {
    test_rules();
    test_desc_load();
    TEST_DONE();
}
