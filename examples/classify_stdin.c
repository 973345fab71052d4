/* classify_stdin.c: a trained run as a filter, through the installed
 * library alone.
 *
 *   classify_stdin RUN_DIR < texts.txt > labels.tsv
 *
 * Opens the run directory `pifi train` (or pifi_train) wrote and classifies
 * each line of stdin: one line out per line in, "label<TAB>probability"
 * (the probability of that label, 6 decimals). Lines are classified in
 * batches of up to 32. Build against an installed pifi:
 *
 *   cc classify_stdin.c $(pkg-config --cflags --libs pifi) -o classify_stdin */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pifi.h"

#define BATCH 32
#define LINE_MAX_BYTES (1 << 20)

static int fail(const char *what, const pifi_error *err) {
    fprintf(stderr, "classify_stdin: %s: %s\n", what, err->message);
    return err->code == PIFI_E_RUNTIME ? 1 : 2;
}

/* Classify texts[0..n) and print one line each; 0 or an exit status. */
static int flush(pifi_run *run, char **texts, int n, float *probs) {
    int labels[BATCH];
    pifi_error err;
    if (pifi_predict(run, n, (const char *const *)texts, NULL, probs, labels, NULL, &err)) return fail("predict", &err);
    int K = pifi_run_num_classes(run);
    for (int i = 0; i < n; i++)
        printf("%s\t%.6f\n", pifi_run_label(run, labels[i]), probs[(size_t)i * K + labels[i]]);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: classify_stdin RUN_DIR < texts.txt\n");
        return 2;
    }
    pifi_run *run;
    pifi_error err;
    if (pifi_run_open(argv[1], NULL, &run, &err)) return fail(argv[1], &err);
    float *probs = malloc(sizeof(float) * BATCH * (size_t)pifi_run_num_classes(run));
    char *texts[BATCH] = {0};
    char *line = malloc(LINE_MAX_BYTES);
    int n = 0, rc = probs && line ? 0 : 1;
    while (rc == 0 && fgets(line, LINE_MAX_BYTES, stdin)) {
        size_t len = strlen(line);
        if (len && line[len - 1] == '\n') line[--len] = '\0';
        if (len && line[len - 1] == '\r') line[--len] = '\0';
        if (!(texts[n] = malloc(len + 1))) {
            rc = 1;
            break;
        }
        memcpy(texts[n], line, len + 1);
        if (++n == BATCH) {
            rc = flush(run, texts, n, probs);
            for (int i = 0; i < n; i++) free(texts[i]);
            n = 0;
        }
    }
    if (rc == 0 && n) rc = flush(run, texts, n, probs);
    for (int i = 0; i < n; i++) free(texts[i]);
    free(line);
    free(probs);
    pifi_run_close(run);
    if (rc == 0 && ferror(stdin)) {
        fprintf(stderr, "classify_stdin: reading stdin failed\n");
        rc = 1;
    }
    return rc;
}
