/* info_run.c: `pifi info RUN_DIR`, the part above the parameter table: what
 * the run was trained on (task or files), its method, seed and classes
 * (config.json), and what it scored (metrics.json: best epoch, test split,
 * other tasks). Fields that are absent or of the wrong type are left out. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/info.h"
#include "pifi/fileio.h"
#include "pifi/json.h"

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

static void copy_if(cJSON *to, const char *key, const cJSON *from, int (*is)(const cJSON *)) {
    const cJSON *v = get(from, key);
    if (v && is(v)) cJSON_AddItemToObject(to, key, cJSON_Duplicate(v, 1));
}
static int is_num(const cJSON *v) { return cJSON_IsNumber(v); }
static int is_str(const cJSON *v) { return cJSON_IsString(v); }

/* {n, loss, accuracy, macro_f1, mcc} (a generation run's: {n, loss, bleu,
 * chrf}) of a metrics.json entry, or NULL. */
static cJSON *scores(const cJSON *m) {
    if (!cJSON_IsObject(m) || !(cJSON_IsNumber(get(m, "accuracy")) || cJSON_IsNumber(get(m, "bleu")))) return NULL;
    cJSON *o = cJSON_CreateObject();
    static const char *const KEYS[] = {"n", "loss", "accuracy", "macro_f1", "mcc", "bleu", "chrf"};
    for (size_t i = 0; o && i < sizeof KEYS / sizeof *KEYS; i++) copy_if(o, KEYS[i], m, is_num);
    return o;
}

cJSON *info_run_summary(const char *dir, const cJSON *pifi) {
    cJSON *s = cJSON_CreateObject();
    if (!s) return NULL;
    const cJSON *data = get(pifi, "data"), *train = get(pifi, "train");
    copy_if(s, "method", pifi, is_str);
    if (cJSON_IsString(get(data, "task"))) {
        copy_if(s, "task", data, is_str);
        copy_if(s, "data_dir", data, is_str);
    } else if (cJSON_IsObject(data)) {
        cJSON *f = cJSON_AddObjectToObject(s, "files");
        static const char *const SPLITS[] = {"train", "valid", "test"};
        for (int i = 0; f && i < 3; i++) copy_if(f, SPLITS[i], data, is_str);
    }
    const cJSON *names = get(pifi, "label_names");
    if (cJSON_IsArray(names)) cJSON_AddItemToObject(s, "classes", cJSON_Duplicate(names, 1));
    copy_if(s, "seed", train, is_num);
    copy_if(s, "epochs", train, is_num);
    copy_if(s, "max_steps", train, is_num);
    /* an int8 run (pifi quantize): what is int8 and where it came from */
    const cJSON *q = get(pifi, "quantized");
    if (cJSON_IsObject(q)) {
        cJSON *o = cJSON_AddObjectToObject(s, "int8");
        const cJSON *parts = get(q, "int8");
        if (o && cJSON_IsArray(parts)) cJSON_AddItemToObject(o, "parts", cJSON_Duplicate(parts, 1));
        if (o) copy_if(o, "from", q, is_str);
    }
    /* metrics.json: absent while a run has not finished an epoch */
    char *mp = pifi_path_join(dir, "metrics.json");
    cJSON *m = NULL;
    PifiErr err = {0};
    if (mp && pifi_file_exists(mp) && pifi_json_load(mp, 1 << 26, &m, &err) == 0 && cJSON_IsObject(m)) {
        const cJSON *be = get(m, "best_epoch"), *epochs = get(m, "epochs"), *e;
        if (cJSON_IsNumber(be)) {
            cJSON_AddNumberToObject(s, "best_epoch", be->valuedouble);
            cJSON_ArrayForEach(e, epochs) {
                const cJSON *n = get(e, "epoch"), *acc = get(get(e, "valid"), "accuracy");
                const cJSON *bleu = get(get(e, "valid"), "bleu");
                if (cJSON_IsNumber(n) && n->valuedouble == be->valuedouble && cJSON_IsNumber(acc))
                    cJSON_AddNumberToObject(s, "valid_accuracy", acc->valuedouble);
                if (cJSON_IsNumber(n) && n->valuedouble == be->valuedouble && cJSON_IsNumber(bleu))
                    cJSON_AddNumberToObject(s, "valid_bleu", bleu->valuedouble);
            }
        }
        if (cJSON_IsArray(epochs)) cJSON_AddNumberToObject(s, "epochs_done", cJSON_GetArraySize(epochs));
        cJSON *t = scores(get(m, "test"));
        if (t) cJSON_AddItemToObject(s, "test", t);
        const cJSON *ev = get(m, "eval_tasks");
        cJSON *evo = cJSON_IsObject(ev) ? cJSON_AddObjectToObject(s, "eval_tasks") : NULL;
        cJSON_ArrayForEach(e, ev) {
            cJSON *sc = e->string ? scores(e) : NULL;
            if (sc) cJSON_AddItemToObject(evo, e->string, sc);
        }
    } else {
        cJSON_AddNullToObject(s, "test");
    }
    cJSON_Delete(m);
    free(mp);
    return s;
}

static double num(const cJSON *o, const char *k) {
    const cJSON *v = get(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static void print_scores(const char *label, const cJSON *sc) {
    if (num(sc, "bleu") >= 0) { /* a generation run */
        printf("%-13s BLEU %.2f  chrF2 %.2f  loss %.4f  (%.0f sentences)\n", label, num(sc, "bleu"), num(sc, "chrf"),
               num(sc, "loss"), num(sc, "n"));
        return;
    }
    printf("%-13s accuracy %.4f  macro-F1 %.4f  MCC %.4f", label, num(sc, "accuracy"), num(sc, "macro_f1"),
           num(sc, "mcc"));
    if (num(sc, "n") >= 0) printf("  (%.0f examples)", num(sc, "n"));
    printf("\n");
}

void info_run_print(const char *dir, const cJSON *s) {
    const cJSON *v, *files = get(s, "files");
    printf("run           %s\n", dir);
    if (cJSON_IsString(v = get(s, "task"))) {
        printf("task          %s", v->valuestring);
        if (cJSON_IsString(v = get(s, "data_dir"))) printf(" (data root %s)", v->valuestring);
        printf("\n");
    } else if (files) {
        printf("data          files:");
        cJSON_ArrayForEach(v, files) printf(" %s %s", v->string, v->valuestring);
        printf("\n");
    }
    const cJSON *q = get(s, "int8");
    if (cJSON_IsObject(q)) {
        printf("int8          inference only (pifi quantize): int8");
        const cJSON *p;
        cJSON_ArrayForEach(p, get(q, "parts")) printf("%s%s", p == get(q, "parts")->child ? " " : ", ",
                                                      cJSON_IsString(p) ? p->valuestring : "?");
        if (cJSON_IsString(v = get(q, "from"))) printf("; from %s", v->valuestring);
        printf(" (the table below counts the trained model's parameters)\n");
    }
    if (cJSON_IsString(v = get(s, "method"))) printf("method        %s", v->valuestring);
    if (num(s, "seed") >= 0) printf(", seed %.0f", num(s, "seed"));
    if (num(s, "epochs") >= 0) printf(", %.0f epochs", num(s, "epochs"));
    if (num(s, "max_steps") > 0) printf(" (at most %.0f steps)", num(s, "max_steps"));
    printf("\n");
    if (cJSON_IsArray(v = get(s, "classes"))) {
        const cJSON *c;
        printf("classes      ");
        cJSON_ArrayForEach(c, v) printf("%s%s", c == v->child ? " " : ", ", cJSON_IsString(c) ? c->valuestring : "?");
        printf("\n");
    }
    if (!cJSON_HasObjectItem(s, "epochs_done") && !cJSON_HasObjectItem(s, "best_epoch")) {
        printf("metrics       none yet (no metrics.json)\n");
        return;
    }
    if (num(s, "best_epoch") > 0) {
        printf("best epoch    %.0f", num(s, "best_epoch"));
        if (num(s, "valid_accuracy") >= 0) printf(" (valid accuracy %.4f)", num(s, "valid_accuracy"));
        if (num(s, "valid_bleu") >= 0) printf(" (valid BLEU %.2f)", num(s, "valid_bleu"));
        printf("\n");
    } else if (num(s, "epochs_done") >= 0) {
        printf("epochs done   %.0f\n", num(s, "epochs_done"));
    }
    if (cJSON_IsObject(v = get(s, "test"))) print_scores("test", v);
    else if (files && !get(files, "test")) printf("test          none (no test file)\n");
    else printf("test          not evaluated yet\n");
    const cJSON *e;
    cJSON_ArrayForEach(e, get(s, "eval_tasks")) {
        char label[64];
        snprintf(label, sizeof label, "on %.40s", e->string);
        print_scores(label, e);
    }
}
