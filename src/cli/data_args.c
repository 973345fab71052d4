/* data_args.c: the data flags' description (data/data_spec.c), its errors
 * printed the command line's way. */
#include "cli/data_args.h"

#include <stdio.h>

cJSON *data_args_json(const DataArgs *a, const char *cmd) {
    PifiErr err = {0};
    cJSON *o;
    if (data_spec_json(a, &o, &err) == 0) return o;
    fprintf(stderr, "pifi: %s: %s\n", cmd, err.msg);
    if (!a->task && !a->train && !a->valid && !a->test) fprintf(stderr, "hint: 'pifi %s --help' lists the tasks\n", cmd);
    return NULL;
}
