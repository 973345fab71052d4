/* fuzz_squad.c: libFuzzer harness of the SQuAD readers and the official
 * metric (src/data/squad.c, squad_metric.c). The first byte picks the form:
 * even, SQuAD JSON (<tmp>/data.json); odd, JSON Lines (<tmp>/data.jsonl);
 * the rest is the file. A file that loads must hold what the reader
 * promises (every answer the context's text at its byte offset, ids
 * unique); then every question is scored with its own first answer and
 * with the question text as predictions, which must give exact match 1 and
 * F1 in [0, 1]. */
#include "fuzz_common.h"
#include "pifi/squad.h"

static const char *first_answer(void *ctx, int i) { return ((const SquadData *)ctx)->q[i].answers[0]; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char *dir;
    if (!dir) dir = fz_subdir(NULL);
    if (size < 1) return 0;
    char *path = fz_write(dir, (data[0] & 1) ? "data.jsonl" : "data.json", data + 1, size - 1);
    SquadData d;
    PifiErr err = {0};
    if (squad_load(&d, path, data[0] & 2, &err)) {
        fz_check_err(&err, "squad_load");
    } else {
        if (d.n < 1) fz_die("loaded no questions without an error");
        for (int i = 0; i < d.n; i++) {
            const SquadQuestion *q = &d.q[i];
            if (q->context < 0 || q->context >= d.n_contexts || q->n_answers < 1) fz_die("a question out of shape");
            const char *ctx = d.contexts[q->context];
            for (int a = 0; a < q->n_answers; a++) {
                size_t n = strlen(q->answers[a]);
                if (q->starts[a] < 0 || (size_t)q->starts[a] + n > strlen(ctx) ||
                    memcmp(ctx + q->starts[a], q->answers[a], n) != 0)
                    fz_die("an answer is not its context's text at its offset");
            }
            if (!squad_exact(q->answers[0], q->answers[0])) fz_die("an answer does not match itself");
            double f = squad_f1(q->question, q->answers[0]);
            if (!(f >= 0 && f <= 1)) fz_die("F1 outside [0, 1]");
            free(squad_normalize(q->question));
        }
        SquadScore s;
        if (squad_evaluate(&d, first_answer, &d, &s, &err) || s.exact_match != 100.0 || s.unanswered != 0)
            fz_die("the gold answers do not score 100");
        squad_free(&d);
    }
    free(path);
    return 0;
}
