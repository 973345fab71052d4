/* eta.c: the grid's time left, from its finished cells (eta.h). */
#include "exp/eta.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exp/runner.h"
#include "pifi/fileio.h"
#include "pifi/json.h"

/* cell.json's (or cell_time.json's) "seconds" in dir; NaN without it. */
static double seconds_in(const char *dir, const char *name) {
    char *p = pifi_path_join(dir, name);
    cJSON *j = NULL;
    PifiErr e = {0};
    double s = NAN;
    if (p && pifi_file_exists(p) && pifi_json_load(p, 1 << 20, &j, &e) == 0) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "seconds");
        if (cJSON_IsNumber(v) && v->valuedouble >= 0) s = v->valuedouble;
    }
    cJSON_Delete(j);
    free(p);
    return s;
}

static int same_kind(const ExpCell *a, const ExpCell *b) {
    return !strcmp(a->task, b->task) && a->train_fraction == b->train_fraction;
}

void exp_eta(const ExpGrid *g, int from, ExpEta *out) {
    memset(out, 0, sizeof *out);
    int n = g->n_cells;
    CellState *st = malloc((size_t)n * sizeof *st + 1);
    double *sec = malloc((size_t)n * sizeof *sec + 1);
    if (!st || !sec) {
        free(st);
        free(sec);
        return;
    }
    for (int i = 0; i < n; i++) {
        st[i] = cell_state(&g->cells[i]);
        sec[i] = st[i] == CELL_DONE ? seconds_in(g->cells[i].dir, "cell.json") : NAN;
    }
    for (int i = from < 0 ? 0 : from; i < n; i++) {
        if (st[i] == CELL_DONE) continue;
        double sum = 0;
        int k = 0;
        for (int j = 0; j < n; j++)
            if (!isnan(sec[j]) && same_kind(&g->cells[j], &g->cells[i])) {
                sum += sec[j];
                k++;
            }
        if (k == 0) {
            out->untimed++;
            continue;
        }
        double left = sum / k;
        if (st[i] == CELL_RESUME) {
            double spent = seconds_in(g->cells[i].dir, "cell_time.json");
            if (!isnan(spent)) left = left > spent ? left - spent : 0;
        }
        out->seconds += left;
        out->timed++;
    }
    free(st);
    free(sec);
}

void exp_eta_format(const ExpEta *e, char *out, size_t n) {
    char untimed[64] = "";
    if (e->untimed) snprintf(untimed, sizeof untimed, "%d cell%s not timed yet", e->untimed, e->untimed == 1 ? "" : "s");
    if (e->timed == 0) {
        snprintf(out, n, "%s", untimed);
        return;
    }
    long m = lround(e->seconds / 60);
    char t[48];
    if (m >= 60) snprintf(t, sizeof t, "%ld h %02ld min", m / 60, m % 60);
    else snprintf(t, sizeof t, "%ld min", m < 1 ? 1 : m);
    if (e->untimed) snprintf(out, n, "about %s left, %s", t, untimed);
    else snprintf(out, n, "about %s left", t);
}
