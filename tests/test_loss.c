/* test_loss.c: crossentropy_ignore (src/train/loss.c), the loss of the
 * sequence-to-sequence trainer, against torch.nn.CrossEntropyLoss with
 * ignore_index and label smoothing (tests/fixtures/loss/, tools/oracle_loss.py):
 * the mean loss within 1e-6 and every d loss / d logit within 1e-6, the
 * ignored rows' gradients exactly 0; and a batch with no counted row. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "pifi/fileio.h"
#include "pifi/json.h"
#include "test.h"
#include "train/loss.h"

static void floats(const cJSON *a, float *out) {
    int i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, a) out[i++] = (float)v->valuedouble;
}

static void test_case(const cJSON *c) {
    int N = cJSON_GetObjectItem(c, "N")->valueint, K = cJSON_GetObjectItem(c, "K")->valueint;
    float eps = (float)cJSON_GetObjectItem(c, "smoothing")->valuedouble;
    float *z = malloc((size_t)N * K * sizeof *z), *want = malloc((size_t)N * K * sizeof *want),
          *d = malloc((size_t)N * K * sizeof *d);
    double *rows = malloc((size_t)N * sizeof *rows);
    int32_t *y = malloc((size_t)N * sizeof *y);
    REQUIRE(z && want && d && rows && y);
    floats(cJSON_GetObjectItem(c, "logits"), z);
    floats(cJSON_GetObjectItem(c, "dlogits"), want);
    int i = 0, ignored = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItem(c, "labels")) {
        y[i] = v->valueint < 0 ? -1 : v->valueint;
        ignored += y[i++] < 0;
    }
    int64_t count;
    double loss = crossentropy_ignore(z, y, N, K, eps, d, rows, &count);
    double worst = 0;
    int zero = 1;
    for (int r = 0; r < N; r++)
        for (int k = 0; k < K; k++) {
            double e = fabs(d[r * K + k] - want[r * K + k]);
            if (e > worst) worst = e;
            if (y[r] < 0 && d[r * K + k] != 0.0f) zero = 0;
        }
    const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
    double lw = cJSON_GetObjectItem(c, "loss")->valuedouble;
    printf("%-14s loss %.8f (torch %.8f), worst |dlogit| %.2e\n", name, loss, lw, worst);
    CHECKF(fabs(loss - lw) <= 1e-6 * fmax(1, fabs(lw)), "%s: loss", name);
    CHECKF(worst <= 1e-6 && zero && count == N - ignored, "%s: gradients", name);
    free(z), free(want), free(d), free(rows), free(y);
}

static void test_fixture(void) {
    char p[1200];
    snprintf(p, sizeof p, "%s/loss/ce_ignore.json", test_fixtures());
    cJSON *fx;
    PifiErr err = {0};
    REQUIRE(pifi_json_load(p, 1 << 20, &fx, &err) == 0);
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(fx, "cases")) test_case(c);
    cJSON_Delete(fx);
}

int main(void) {
    test_fixture();
    float z[6] = {1, 2, 3, 4, 5, 6}, d[6];
    int32_t y[2] = {-1, -1};
    double rows[2];
    int64_t count = 7;
    CHECK(crossentropy_ignore(z, y, 2, 3, 0.1f, d, rows, &count) == 0.0 && count == 0 && d[0] == 0 && d[5] == 0);
    TEST_DONE();
}
