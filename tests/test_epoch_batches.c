/* test_epoch_batches.c: how an epoch is cut into batches (tokdata.h,
 * --drop-last): with drop_last every batch is full and the last n % B rows of
 * the (shuffled) order are left out, a different set each epoch; without it
 * the last batch is the n % B left and every row is seen once an epoch; the
 * weights of the epoch's mean loss make it the mean over rows (and exactly
 * the plain mean of the steps when every batch is full). */
#include "test.h"
#include "train/tokdata.h"

enum { N = 140, B = 32 };

static void test_counts(void) {
    CHECK(epoch_steps(N, B, 1) == 4 && epoch_steps(N, B, 0) == 5);
    CHECK(epoch_steps(128, B, 1) == 4 && epoch_steps(128, B, 0) == 4); /* n a multiple of B: the same */
    CHECK(epoch_steps(20, B, 1) == 0 && epoch_steps(20, B, 0) == 1);   /* fewer rows than a batch */
    CHECK(epoch_steps(0, B, 0) == 0);
    for (int s = 0; s < 4; s++) CHECK(epoch_batch_rows(N, B, 1, s) == B && epoch_batch_rows(N, B, 0, s) == B);
    CHECK(epoch_batch_rows(N, B, 0, 4) == 12 && epoch_batch_rows(N, B, 1, 4) == 0);
    CHECK(epoch_batch_rows(N, B, 0, 5) == 0 && epoch_batch_rows(N, B, 0, -1) == 0);
    CHECK(epoch_step_weight(N, B, 0, 0) == 1.0 && epoch_step_weight(N, B, 0, 4) == 12.0 / 32.0);
}

/* The rows the batches of an epoch take, as train_run cuts them. */
static int seen_rows(int drop_last, int64_t epoch, char seen[N]) {
    int64_t order[N];
    epoch_order(order, N, 2023, epoch, 1);
    memset(seen, 0, N);
    int rows = 0;
    for (int64_t s = 0; s < epoch_steps(N, B, drop_last); s++)
        for (int i = 0; i < epoch_batch_rows(N, B, drop_last, s); i++, rows++) seen[order[s * B + i]]++;
    return rows;
}

static void test_coverage(void) {
    char seen[N], first[N];
    CHECK(seen_rows(0, 0, seen) == N);
    int once = 1;
    for (int i = 0; i < N; i++) once &= seen[i] == 1;
    CHECK(once); /* --drop-last no: every row, once */
    CHECK(seen_rows(1, 0, first) == N - 12);
    CHECK(seen_rows(1, 1, seen) == N - 12);
    int differ = 0;
    for (int i = 0; i < N; i++) differ += first[i] != seen[i];
    CHECKF(differ > 0, "the same 12 rows left out in epochs 1 and 2"); /* shuffled: another 12 each epoch */
}

/* The epoch's mean loss as train_run adds it up: sum(loss * w) / sum(w). */
static void test_mean(void) {
    double loss[5] = {0.7, 0.6, 0.65, 0.5, 0.9}, sum = 0, w = 0;
    for (int s = 0; s < 5; s++) sum += loss[s] * epoch_step_weight(N, B, 0, s), w += epoch_step_weight(N, B, 0, s);
    double rows = 0;
    for (int s = 0; s < 5; s++) rows += loss[s] * epoch_batch_rows(N, B, 0, s);
    CHECKF(fabs(sum / w - rows / N) < 1e-15, "%.17g vs %.17g", sum / w, rows / N); /* the mean over the 140 rows */
    sum = 0, w = 0;
    for (int s = 0; s < 4; s++) sum += loss[s] * epoch_step_weight(N, B, 1, s), w += epoch_step_weight(N, B, 1, s);
    CHECK(sum / w == (loss[0] + loss[1] + loss[2] + loss[3]) / 4); /* full batches: the plain mean, bit for bit */
}

int main(void) {
    test_counts();
    test_coverage();
    test_mean();
    TEST_DONE();
}
