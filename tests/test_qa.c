/* test_qa.c: extractive QA through the training path, with the real
 * all-MiniLM-L6-v2 and XQuAD-en: the article split (925 + 265 questions,
 * no article in both, none lost), a QA split's windows as TokData (the
 * tokens and labels of squad_features), a span model trained by
 * trainer_step on one batch of answer windows (the loss falls), and
 * qa_evaluate: the same answers, EM and F1 whatever the evaluation batch
 * (each window's logits scattered back to it from batches sorted by
 * length), its EM and F1 those of squad_evaluate on its answers. */
#include <math.h>
#include <string.h>

#include "data/qa_tasks.h"
#include "data/tasks_desc.h"
#include "pifi/fileio.h"
#include "test.h"
#include "train/qa_eval.h"
#include "train/trainer.h"

static char data_dir[1024], minilm[1024];

static void test_split(PifiTaskSplits *ts) {
    int files = -1;
    CHECK(qa_task_is("xquad_en", &files) && files == 0 && qa_task_is("squad", &files) && files == 1);
    CHECK(!qa_task_is("sst2", NULL));
    cJSON *desc = cJSON_CreateObject();
    cJSON_AddStringToObject(desc, "task", "xquad_en");
    cJSON_AddStringToObject(desc, "data_dir", data_dir);
    PifiErr err = {0};
    REQUIRE(task_desc_load(desc, PIFI_SPLITS_ALL, NULL, 0, ts, &err) == 0);
    cJSON_Delete(desc);
    CHECK(ts->available[0] && !ts->available[1] && ts->available[2]);
    const SquadData *tr = ts->split[0].squad, *te = ts->split[2].squad;
    REQUIRE(tr && te);
    CHECKF(tr->n == 925 && te->n == 265, "%d + %d questions", tr->n, te->n);
    CHECK(ts->split[0].n == 925 && ts->split[0].num_classes == 2);
    int shared = 0, articles = 0;
    for (int i = 0; i < tr->n_contexts; i++)
        for (int j = 0; j < te->n_contexts; j++) shared += !strcmp(tr->titles[i], te->titles[j]);
    for (int j = 0; j < te->n_contexts; j++) articles += j == 0 || strcmp(te->titles[j], te->titles[j - 1]);
    CHECKF(shared == 0, "%d contexts of a training article in the test split", shared);
    CHECKF(articles == 12 && tr->n_contexts + te->n_contexts == 240, "%d test articles, %d + %d paragraphs", articles,
           tr->n_contexts, te->n_contexts);
    for (int i = 0; i < te->n; i++) /* each answer still its context's text at its place */
        CHECK(!strncmp(te->contexts[te->q[i].context] + te->q[i].starts[0], te->q[i].answers[0],
                       strlen(te->q[i].answers[0])));
}

static void test_tokdata(const PifiTokenizer *tk, const PifiDataset *ds, TokData *td) {
    PifiErr err = {0};
    REQUIRE(tokdata_build_qa(td, tk, ds, 128, 64, &err) == 0);
    SquadFeatures f;
    REQUIRE(squad_features(ds->squad, tk, 128, 64, &f, "xquad", &err) == 0);
    CHECK(td->n == f.n && td->squad == ds->squad);
    int bad = 0;
    for (int w = 0; w < f.n; w++) {
        int len = 0;
        for (int t = 0; t < f.T; t++) len += f.mask[(size_t)w * f.T + t];
        bad += td->len[w] != len || memcmp(td->ids + td->off[w], f.ids + (size_t)w * f.T, len * sizeof(int32_t)) ||
               memcmp(td->type_ids + td->off[w], f.types + (size_t)w * f.T, len * sizeof(int32_t)) ||
               td->start[w] != f.start[w] || td->end[w] != f.end[w] || td->end[w] >= len;
    }
    CHECKF(bad == 0, "%d of %d windows differ from squad_features'", bad, f.n);
    squad_features_free(&f);
}

/* 12 steps on one batch of 8 answer windows: the span loss at least halves. */
static void test_train(Trainer *t, const TokData *td) {
    int64_t idx[8];
    int k = 0;
    for (int64_t w = 0; w < td->n && k < 8; w++)
        if (td->start[w] > 0) idx[k++] = w;
    REQUIRE(k == 8);
    Batch b = {0};
    PifiErr err = {0};
    REQUIRE(batch_fill(&b, td, idx, 8, &err) == 0);
    CHECK(b.start && b.end && b.start[0] == td->start[idx[0]] && b.end[7] == td->end[idx[7]]);
    double first = 0, loss = 0, gn;
    for (int s = 0; s < 12; s++) {
        REQUIRE(trainer_step(t, &b, 1e-4f, &loss, &gn, &err) == 0);
        if (s == 0) first = loss;
    }
    CHECKF(isfinite(first) && loss < 0.5 * first, "span loss %.4f after 12 steps on one batch, %.4f at the first",
           loss, first);
    printf("train: span loss %.4f -> %.4f in 12 steps on one batch\n", first, loss);
    batch_free(&b);
}

static void test_evaluate(PifiModel *m, const PifiTokenizer *tk, PifiDataset *test) {
    SquadData *d = test->squad;
    int n_all = d->n;
    d->n = 12; /* the first 12 questions (the rest are put back before they are freed) */
    PifiErr err = {0};
    TokData td;
    REQUIRE(tokdata_build_qa(&td, tk, test, 128, 64, &err) == 0);
    char *a1[12], *a2[12];
    float s1[12], s2[12];
    QaScore q1, q2;
    CHECKF(qa_evaluate(m, &td, 1, 30, &q1, a1, s1, &err) == 0, "%s", err.msg);
    CHECKF(qa_evaluate(m, &td, 5, 30, &q2, a2, s2, &err) == 0, "%s", err.msg);
    int differ = 0;
    for (int i = 0; i < 12; i++) differ += strcmp(a1[i], a2[i]) != 0;
    CHECKF(differ == 0, "%d of 12 answers differ between evaluation batches of 1 and 5", differ);
    /* the reference: each window alone, in window order, then squad_answers */
    const SquadFeatures *f = td.qa;
    float *st = malloc((size_t)f->n * f->T * sizeof *st), *en = malloc((size_t)f->n * f->T * sizeof *en);
    char *ref[12];
    float rs[12];
    Batch b = {0};
    for (int64_t w = 0; w < f->n; w++) {
        REQUIRE(batch_fill(&b, &td, &w, 1, &err) == 0 && pifi_span_forward(m, b.ids, b.type_ids, b.mask, 1, b.T,
                                                                            &err) == 0);
        for (int t = 0; t < f->T; t++) {
            st[w * f->T + t] = t < b.T ? m->span.logits[2 * t] : -1e30f;
            en[w * f->T + t] = t < b.T ? m->span.logits[2 * t + 1] : -1e30f;
        }
    }
    batch_free(&b);
    REQUIRE(squad_answers(d, f, st, en, 20, 30, ref, rs, &err) == 0);
    differ = 0;
    for (int i = 0; i < 12; i++) differ += strcmp(ref[i], a2[i]) != 0 || fabsf(rs[i] - s2[i]) > 1e-3f;
    CHECKF(differ == 0, "%d of 12 answers differ from those of each window alone", differ);
    for (int i = 0; i < 12; i++) free(ref[i]);
    free(st), free(en);
    CHECKF(q1.exact_match == q2.exact_match && q1.f1 == q2.f1 && fabs(q1.loss - q2.loss) < 1e-4,
           "EM %g / %g, F1 %g / %g, loss %g / %g", q1.exact_match, q2.exact_match, q1.f1, q2.f1, q1.loss, q2.loss);
    double em = 0, f1 = 0;
    for (int i = 0; i < 12; i++) {
        int e = 0;
        double f = 0;
        for (int g = 0; g < d->q[i].n_answers; g++) {
            e = e || squad_exact(a1[i], d->q[i].answers[g]);
            f = fmax(f, squad_f1(a1[i], d->q[i].answers[g]));
        }
        em += e, f1 += f;
    }
    CHECK(fabs(q1.exact_match - 100.0 * em / 12) < 1e-9 && fabs(q1.f1 - 100.0 * f1 / 12) < 1e-9);
    CHECK(q1.questions == 12 && q1.windows == td.n && q1.windows >= 12);
    printf("evaluate: 12 questions in %lld windows: EM %.2f F1 %.2f loss %.4f\n", (long long)q1.windows,
           q1.exact_match, q1.f1, q1.loss);
    for (int i = 0; i < 12; i++) free(a1[i]), free(a2[i]);
    tokdata_free(&td);
    d->n = n_all;
}

/* Everything on the trained model; REQUIRE returns from here. */
static void run(PifiTaskSplits *ts) {
    test_split(ts);
    PifiErr err = {0};
    TrainOpts o;
    train_opts_default(&o);
    o.slm = minilm;
    o.method = METHOD_BASE;
    o.span = 1;
    o.max_len = 128;
    o.batch = 8;
    Trainer t;
    REQUIRE(trainer_setup(&t, &o, 2, &err) == 0);
    CHECK(t.model.span.on && !t.model.hp.head_w1 && t.model.hp_count == 2 * t.model.C + 2);
    if (tokenizer_load(&t.tk, minilm, &err) == 0) {
        TokData td;
        test_tokdata(t.tk, &ts->split[0], &td);
        test_train(&t, &td);
        test_evaluate(&t.model, t.tk, &ts->split[2]);
        tokdata_free(&td);
    }
    trainer_free(&t);
}

int main(void) {
    snprintf(data_dir, sizeof data_dir, "%s", test_env("PIFI_DATA", "../shared/data"));
    snprintf(minilm, sizeof minilm, "%s/all-MiniLM-L6-v2", test_env("PIFI_MODELS", "models"));
    char xq[1200];
    snprintf(xq, sizeof xq, "%s/squad_v1.1_dev_subset_xquad/xquad.en.json", data_dir);
    if (!pifi_file_exists(xq) || !pifi_is_dir(minilm)) TEST_SKIP("XQuAD-en or all-MiniLM-L6-v2 missing");
    PifiTaskSplits ts;
    memset(&ts, 0, sizeof ts);
    run(&ts);
    task_splits_free(&ts);
    TEST_DONE();
}
