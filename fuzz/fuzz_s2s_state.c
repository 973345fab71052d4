/* fuzz_s2s_state.c: libFuzzer harness of a generation run's checkpoint as
 * `pifi train --resume` reads it (src/train/s2s_runio.c): the input is
 * written to <tmp>/run/checkpoint/state.safetensors and loaded by
 * s2s_runio_load_state into a trainer table of two small tensors (as a
 * T5 + plug trainer registers them). An accepted state must hold the
 * progress in range (steps, the epochs the run has, a best epoch among
 * them, a BLEU in [0, 100]); a refusal must leave a one-line message. */
#include "fuzz_common.h"
#include "train/s2s_runio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char *dir, *ck;
    if (!dir) {
        dir = fz_subdir("run");
        ck = fz_subdir("run/checkpoint");
    }
    free(fz_write(ck, "state.safetensors", data, size));
    static float w0[6], w1[4];
    S2STrainer t;
    memset(&t, 0, sizeof t);
    PifiErr err = {0};
    if (params_add(&t.pt, "shared.weight", w0, 2, 3, 2, 1, &err) || params_add(&t.pt, "l_in.weight", w1, 1, 4, 0, 1, &err) ||
        params_alloc(&t.pt, &err))
        fz_die("cannot build the trainer table");
    S2SProgress p;
    if (s2s_runio_load_state(&t, &p, "base", 3, dir, &err)) {
        fz_check_err(&err, "s2s_runio_load_state");
    } else {
        if (p.step < 0 || p.epoch < 0 || p.epoch > 3 || p.step_in_epoch < 0 || p.step_in_epoch > p.step ||
            p.best_epoch < 0 || p.best_epoch > p.epoch || !(p.best_valid >= 0 && p.best_valid <= 100) ||
            !(p.seconds >= 0) || t.step != p.step)
            fz_die("s2s_runio_load_state accepted a progress out of range");
    }
    params_free(&t.pt);
    return 0;
}
