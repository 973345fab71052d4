/* train_predict.c: pifi from a C program, through the public header alone.
 *
 *   train_predict SLM_DIR TRAIN_FILE OUT_DIR [LLM_LAYER_DIR]
 *
 * Trains a classifier on TRAIN_FILE (TSV, CSV or JSONL with "text" and
 * "label" columns) from the small model in SLM_DIR, with the frozen layer
 * LLM_LAYER_DIR (`pifi extract`) plugged in when given (PiFi), else plain
 * fine-tuning; one epoch, progress on stderr. Then opens the run it wrote
 * and classifies one sentence. Build: cc train_predict.c -lpifi (the
 * library and its dependencies; CMake's target `example_train_predict`). */
#include <stdio.h>

#include "pifi.h"

static void on_progress(const pifi_progress *p, void *user) {
    (void)user;
    if (p->event == PIFI_PROGRESS_STEP && (p->step == p->steps || p->step % 10 == 0))
        fprintf(stderr, "%s: step %lld/%lld, loss %.4f\n", p->phase, p->step, p->steps, p->loss_mean);
}

static void on_log(const char *line, void *user) {
    (void)user;
    fprintf(stderr, "pifi: %s\n", line);
}

static int fail(const char *what, const pifi_error *err) {
    fprintf(stderr, "train_predict: %s: %s (%s)\n", what, err->message, pifi_strerror(err->code));
    return err->code == PIFI_E_RUNTIME ? 1 : 2;
}

int main(int argc, char **argv) {
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: train_predict SLM_DIR TRAIN_FILE OUT_DIR [LLM_LAYER_DIR]\n");
        return 2;
    }
    pifi_error err;
    pifi_train_options *o = pifi_train_options_new();
    if (!o) return 1;
    /* the model, then a few of the option table's keys (pifi_train_option_key lists them) */
    const char *settings[][2] = {
        {"slm", argv[1]}, {"method", argc == 5 ? "pifi" : "base"}, {"epochs", "1"}, {"batch", "8"},
        {"max_len", "32"}, {"lr", "5e-5"}, {"precision", "fp32"}, {"overwrite", "true"},
    };
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        if (pifi_train_options_set(o, settings[i][0], settings[i][1], &err)) return fail(settings[i][0], &err);
    if (argc == 5 && pifi_train_options_set(o, "llm_layer", argv[4], &err)) return fail("llm_layer", &err);

    pifi_data data = {0};
    data.train = argv[2];
    pifi_callbacks cb = {.progress = on_progress, .log = on_log};
    pifi_train_result res;
    pifi_status st = pifi_train(o, &data, argv[3], &cb, &res, &err);
    pifi_train_options_free(o);
    if (st) return fail("train", &err);
    printf("trained: %lld steps in %.1f s\n", res.steps, res.seconds);

    pifi_run *run;
    if (pifi_run_open(argv[3], NULL, &run, &err)) return fail("open", &err);
    const char *text = "a gripping, funny and moving film";
    float probs[256];
    int label;
    if (pifi_run_num_classes(run) > 256) return 1;
    if (pifi_predict(run, 1, &text, NULL, probs, &label, NULL, &err)) {
        pifi_run_close(run);
        return fail("predict", &err);
    }
    printf("\"%s\": %s (%.4f)\n", text, pifi_run_label(run, label), probs[label]);
    pifi_run_close(run);
    return 0;
}
