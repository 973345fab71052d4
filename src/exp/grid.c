/* grid.c: reading and checking an experiment grid (grid.h), and expanding
 * it into cells (grid_cells.c makes each). Errors name the file and, for
 * TOML, the line:
 *   grid.toml:12: unknown key "epoch" (did you mean "epochs"?) */
#include "exp/grid.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/path.h"
#include "exp/toml.h"
#include "pifi/compute.h"
#include "pifi/fileio.h"
#include "pifi/json.h"
#include "train/train_options.h"

static const int DEFAULT_SEEDS[] = {42, 1004, 2023, 2024, 2025};

static const char *const TOP_KEYS[] = {"slm", "llm", "tasks", "methods", "seeds", "layers", "train_fraction",
                                       "eval_tasks", "data_dir", "out", "keep", "train", "also", NULL};
static const char *const ALSO_KEYS[] = {"tasks", "methods", "seeds", "layers", "train_fraction", "llm", "llm_name",
                                        NULL};

static const char *const KEEP_NAMES[] = {"all", "model", "metrics"};

int grid_keep_parse(const char *s, ExpKeep *out) {
    for (int i = 0; i < 3; i++)
        if (!strcmp(s, KEEP_NAMES[i])) return *out = (ExpKeep)i, 0;
    return -1;
}

const char *grid_keep_name(ExpKeep k) { return KEEP_NAMES[k]; }

/* Where a table is: for messages. */
typedef struct {
    const char *file;
    const cJSON *lines;  /* TOML mirror of this table, NULL for JSON */
    const char *section; /* "" top level, "train", "also[2]", ... (JSON messages) */
    int toml;
} Loc;

static int loc_err(const Loc *l, const char *key, PifiErr *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int loc_err(const Loc *l, const char *key, PifiErr *err, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line = l->toml ? toml_line(l->lines, key) : 0;
    if (!line && l->toml) line = toml_line(l->lines, "");
    if (line) return pifi_errf(err, "%s:%d: %s", l->file, line, msg);
    if (l->section[0]) return pifi_errf(err, "%s: %s: %s", l->file, l->section, msg);
    return pifi_errf(err, "%s: %s", l->file, msg);
}

/* Optimal string alignment distance (a swap of two letters counts 1). */
static int edit_distance(const char *a, const char *b) {
    int na = (int)strlen(a), nb = (int)strlen(b);
    if (na > 40 || nb > 40) return 99;
    int d[41][41];
    for (int i = 0; i <= na; i++) d[i][0] = i;
    for (int j = 0; j <= nb; j++) d[0][j] = j;
    for (int i = 1; i <= na; i++)
        for (int j = 1; j <= nb; j++) {
            int c = a[i - 1] != b[j - 1];
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + c < v) v = d[i - 1][j - 1] + c;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[na][nb];
}

/* Every key of obj must be in known (NULL-terminated). */
static int check_keys(const cJSON *obj, const char *const *known, const Loc *l, PifiErr *err) {
    for (const cJSON *it = obj->child; it; it = it->next) {
        int ok = 0;
        for (int i = 0; known[i]; i++) ok |= strcmp(it->string, known[i]) == 0;
        if (ok) continue;
        const char *best = NULL;
        int bd = 99;
        for (int i = 0; known[i]; i++) {
            int d = edit_distance(it->string, known[i]);
            if (d < bd) bd = d, best = known[i];
        }
        if (best && bd <= 2 && bd < (int)strlen(it->string))
            return loc_err(l, it->string, err, "unknown key \"%s\" (did you mean \"%s\"?)", it->string, best);
        char list[512] = "";
        for (int i = 0; known[i]; i++) {
            strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, known[i], sizeof list - strlen(list) - 1);
        }
        return loc_err(l, it->string, err, "unknown key \"%s\" (known: %s)", it->string, list);
    }
    return 0;
}

/* [train]: the training options of the table (train/train_options.h) by
 * their keys, each checked as `pifi train` checks its flag. */
static int parse_train(const cJSON *t, TrainOpts *o, const Loc *l, PifiErr *err) {
    if (!cJSON_IsObject(t)) return loc_err(l, "train", err, "\"train\" must be a table of hyperparameters");
    const char *keys[64];
    int nk = 0;
    for (int i = 0; i < N_TRAIN_OPTIONS && nk < 63; i++)
        if (!TRAIN_OPTIONS[i].not_in_grid) keys[nk++] = TRAIN_OPTIONS[i].key;
    keys[nk] = NULL;
    for (const cJSON *it = t->child; it; it = it->next) {
        const TrainOption *r = train_option_by_key(it->string);
        if (r && r->not_in_grid)
            return loc_err(l, it->string, err, "\"%s\" is not a [train] key: %s", it->string, r->not_in_grid);
    }
    if (check_keys(t, keys, l, err)) return -1;
    for (const cJSON *it = t->child; it; it = it->next) {
        char msg[400];
        if (train_option_from_json(train_option_by_key(it->string), it, it->string, 1, o, msg, sizeof msg))
            return loc_err(l, it->string, err, "%s", msg);
    }
    return 0;
}

/* A list of strings / integers / numbers (a lone number is a list of one for train_fraction). */
static int get_strings(const cJSON *v, const char *k, const char **out, int *n, const Loc *l, PifiErr *err) {
    int c = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
    if (c < 1 || c > GRID_MAX_LIST)
        return loc_err(l, k, err, "\"%s\" must be a list of 1 to %d strings, e.g. [\"sst2\"]", k, GRID_MAX_LIST);
    int i = 0;
    for (const cJSON *it = v->child; it; it = it->next, i++) {
        if (!cJSON_IsString(it)) return loc_err(l, k, err, "\"%s\" must be a list of strings", k);
        out[i] = it->valuestring;
    }
    *n = c;
    return 0;
}

static int get_ints(const cJSON *v, const char *k, int lo, int hi, int *out, int *n, const Loc *l, PifiErr *err) {
    int c = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
    if (c < 1 || c > GRID_MAX_LIST)
        return loc_err(l, k, err, "\"%s\" must be a list of 1 to %d integers", k, GRID_MAX_LIST);
    int i = 0;
    for (const cJSON *it = v->child; it; it = it->next, i++) {
        double d = cJSON_IsNumber(it) ? it->valuedouble : NAN;
        if (!(d >= lo && d <= hi) || d != floor(d))
            return loc_err(l, k, err, "\"%s\" must hold integers in [%d, %d]", k, lo, hi);
        out[i] = (int)d;
    }
    *n = c;
    return 0;
}

static int get_fractions(const cJSON *v, const char *k, double *out, int *n, const Loc *l, PifiErr *err) {
    if (cJSON_IsNumber(v)) {
        if (!(v->valuedouble > 0 && v->valuedouble <= 1))
            return loc_err(l, k, err, "\"%s\" must be in (0, 1]", k);
        out[0] = v->valuedouble;
        *n = 1;
        return 0;
    }
    int c = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
    if (c < 1 || c > GRID_MAX_LIST) return loc_err(l, k, err, "\"%s\" must be a number in (0, 1] or a list of them", k);
    int i = 0;
    for (const cJSON *it = v->child; it; it = it->next, i++) {
        double d = cJSON_IsNumber(it) ? it->valuedouble : NAN;
        if (!(d > 0 && d <= 1)) return loc_err(l, k, err, "\"%s\" must hold numbers in (0, 1]", k);
        out[i] = d;
    }
    *n = c;
    return 0;
}

/* One block of cells: the top level or an [[also]] table (defaults from the top). */
typedef struct {
    const char *tasks[GRID_MAX_LIST];
    PifiMethod methods[GRID_MAX_LIST];
    int seeds[GRID_MAX_LIST], layers[GRID_MAX_LIST];
    double fractions[GRID_MAX_LIST];
    int n_tasks, n_methods, n_seeds, n_layers, n_fractions;
    int layers_given;
} Block;

static int parse_block(const cJSON *t, Block *b, const Loc *l, PifiErr *err) {
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(t, "tasks"))) {
        if (get_strings(v, "tasks", b->tasks, &b->n_tasks, l, err)) return -1;
        for (int i = 0; i < b->n_tasks; i++) {
            const PifiTaskInfo *ti = task_find(b->tasks[i]);
            if (!ti) return loc_err(l, "tasks", err, "unknown task \"%s\" (docs/tasks.md lists them)", b->tasks[i]);
            b->tasks[i] = ti->name;
        }
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(t, "methods"))) {
        const char *names[GRID_MAX_LIST];
        if (get_strings(v, "methods", names, &b->n_methods, l, err)) return -1;
        for (int i = 0; i < b->n_methods; i++)
            if (method_parse(names[i], &b->methods[i]))
                return loc_err(l, "methods", err,
                               "unknown method \"%s\" (base, pifi, pifi-unfrozen, pifi-random or lora)", names[i]);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(t, "seeds")) &&
        get_ints(v, "seeds", 0, INT_MAX, b->seeds, &b->n_seeds, l, err))
        return -1;
    if ((v = cJSON_GetObjectItemCaseSensitive(t, "layers"))) {
        if (get_ints(v, "layers", -100000, 100000, b->layers, &b->n_layers, l, err)) return -1;
        b->layers_given = 1;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(t, "train_fraction")) &&
        get_fractions(v, "train_fraction", b->fractions, &b->n_fractions, l, err))
        return -1;
    return 0;
}

static char *resolve(const char *base_dir, const char *p) {
    if (p[0] == '/' || !base_dir || !base_dir[0] || !strcmp(base_dir, ".")) return strdup(p);
    return pifi_path_join(base_dir, p);
}

static int is_extracted_layer(const char *path) {
    if (!pifi_is_dir(path)) return 0;
    char *cp = pifi_path_join(path, "config.json");
    cJSON *c = NULL;
    PifiErr e = {0};
    int ext = cp && pifi_file_exists(cp) && pifi_json_load(cp, 1 << 20, &c, &e) == 0 &&
              cJSON_GetObjectItemCaseSensitive(c, "pifi_extract") != NULL;
    cJSON_Delete(c);
    free(cp);
    return ext;
}

/* The cells of one block; llm: 0 the top level's llm, k > 0 g->llms[k - 1]. */
static int expand(ExpGrid *g, const Block *b, int llm, const Loc *l, PifiErr *err) {
    const char *llm_path = llm ? g->llms[llm - 1].path : g->llm;
    int extracted = llm ? g->llms[llm - 1].extracted : g->llm_extracted;
    if (!b->n_tasks) return loc_err(l, "tasks", err, "no \"tasks\" (e.g. tasks = [\"sst2\"])");
    if (!b->n_methods) return loc_err(l, "methods", err, "no \"methods\" (e.g. methods = [\"base\", \"pifi\"])");
    int seeds_default = b->n_seeds == 0, layers_default = b->n_layers == 0, frac_default = b->n_fractions == 0;
    int n_seeds = seeds_default ? 5 : b->n_seeds, n_layers = layers_default ? 1 : b->n_layers;
    int n_fr = frac_default ? 1 : b->n_fractions;
    for (int ti = 0; ti < b->n_tasks; ti++)
        for (int fi = 0; fi < n_fr; fi++)
            for (int mi = 0; mi < b->n_methods; mi++) {
                PifiMethod m = b->methods[mi];
                int nl = method_has_llm(m) ? n_layers : 1;
                if (llm && !method_has_llm(m))
                    return loc_err(l, "methods", err,
                                   "method %s plugs no LLM layer, so a block with its own llm cannot train it (those "
                                   "cells are the top level's): set methods = [\"pifi\", ...] in this block",
                                   method_name(m));
                if (method_has_llm(m) && !llm_path)
                    return loc_err(l, "methods", err, "method %s needs an LLM: set llm = \"PATH\"", method_name(m));
                if (method_has_llm(m) && extracted && b->layers_given)
                    return loc_err(l, "layers", err, "llm is a layer extracted with `pifi extract`: it holds one "
                                                     "layer, so \"layers\" cannot choose; give the LLM itself");
                for (int li = 0; li < nl; li++)
                    for (int si = 0; si < n_seeds; si++) {
                        int layer = !method_has_llm(m) ? 0
                                    : extracted        ? INT_MIN
                                    : layers_default   ? -1
                                                       : b->layers[li];
                        int seed = seeds_default ? DEFAULT_SEEDS[si] : b->seeds[si];
                        double fr = frac_default ? 1.0 : b->fractions[fi];
                        if (grid_add_cell(g, b->tasks[ti], m, layer, seed, fr, llm, err)) return -1;
                    }
            }
    return 0;
}

static int parse_evals(ExpGrid *g, const cJSON *v, const Loc *l, PifiErr *err) {
    if (!cJSON_IsObject(v))
        return loc_err(l, "eval_tasks", err, "\"eval_tasks\" must be a table: task = [\"other\", ...]");
    Loc sub = {l->file, toml_sub(l->lines, "eval_tasks", -1), "eval_tasks", l->toml};
    for (const cJSON *it = v->child; it; it = it->next) {
        const PifiTaskInfo *ti = task_find(it->string);
        if (!ti) return loc_err(&sub, it->string, err, "unknown task \"%s\"", it->string);
        int trained = 0;
        for (int i = 0; i < g->n_cells; i++) trained |= g->cells[i].task == ti->name;
        if (!trained) return loc_err(&sub, it->string, err, "\"%s\" is not one of the grid's tasks", it->string);
        if (g->n_evals >= GRID_MAX_LIST) return loc_err(&sub, it->string, err, "too many eval_tasks entries");
        ExpEvalTasks *e = &g->evals[g->n_evals++];
        e->task = ti->name;
        if (get_strings(it, it->string, e->others, &e->n, &sub, err)) return -1;
        for (int i = 0; i < e->n; i++) {
            const PifiTaskInfo *o = task_find(e->others[i]);
            if (!o) return loc_err(&sub, it->string, err, "unknown task \"%s\"", e->others[i]);
            if (o == ti) return loc_err(&sub, it->string, err, "\"%s\" is evaluated on itself anyway", o->name);
            if (o->num_classes != ti->num_classes || o->is_pair != ti->is_pair)
                return loc_err(&sub, it->string, err, "\"%s\" has %d classes and \"%s\" %d: cross-domain evaluation "
                                                      "needs the same classes",
                               ti->name, ti->num_classes, o->name, o->num_classes);
            for (int k = 0; k < o->num_classes; k++)
                if (strcmp(o->label_names[k], ti->label_names[k]))
                    return loc_err(&sub, it->string, err, "\"%s\" and \"%s\" name their classes differently",
                                   ti->name, o->name);
            e->others[i] = o->name;
        }
    }
    return 0;
}

static int check_data(const ExpGrid *g, const char *task, PifiErr *err) {
    const PifiTaskInfo *ti = task_find(task);
    char root[4096];
    char *dir = pifi_path_join(task_data_dir(g->data_dir, root, sizeof root), ti->data_subdir);
    int ok = dir && pifi_is_dir(dir);
    int rc = ok ? 0 : pifi_errf(err, "%s: task %s: no data folder %s (set data_dir, --data-dir or $PIFI_DATA)",
                                g->path, task, dir ? dir : "?");
    free(dir);
    return rc;
}

static int check_paths(const ExpGrid *g, PifiErr *err) {
    int gguf = pifi_has_suffix(g->slm, ".gguf"); /* a GGUF encoder is one file */
    char *cfg = gguf ? NULL : pifi_path_join(g->slm, "config.json");
    int ok = gguf ? pifi_file_exists(g->slm) : cfg && pifi_file_exists(cfg);
    free(cfg);
    if (!ok)
        return gguf ? pifi_errf(err, "%s: slm %s: no such file", g->path, g->slm)
                    : pifi_errf(err, "%s: slm %s: not a model directory (no config.json)", g->path, g->slm);
    int need_llm = 0;
    for (int i = 0; i < g->n_cells; i++) need_llm |= method_has_llm(g->cells[i].method) && g->cells[i].llm == 0;
    if (need_llm && !pifi_file_exists(g->llm) && !pifi_is_dir(g->llm))
        return pifi_errf(err, "%s: llm %s does not exist", g->path, g->llm);
    for (int i = 0; i < g->n_llms; i++)
        if (!pifi_file_exists(g->llms[i].path) && !pifi_is_dir(g->llms[i].path))
            return pifi_errf(err, "%s: llm %s (llm_name \"%s\") does not exist", g->path, g->llms[i].path,
                             g->llms[i].name);
    for (int i = 0; i < g->n_cells; i++)
        if ((i == 0 || g->cells[i].task != g->cells[i - 1].task) && check_data(g, g->cells[i].task, err)) return -1;
    for (int i = 0; i < g->n_evals; i++)
        for (int j = 0; j < g->evals[i].n; j++)
            if (check_data(g, g->evals[i].others[j], err)) return -1;
    return 0;
}

/* An [[also]] block's own llm and llm_name: *llm = its index + 1 in g->llms
 * (a name given twice must name the same path), 0 when the block has none. */
static int also_llm(ExpGrid *g, const cJSON *t, const char *base_dir, const Loc *l, int *llm, PifiErr *err) {
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(t, "llm");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "llm_name");
    *llm = 0;
    if (!path && !name) return 0;
    if (!path)
        return loc_err(l, "llm_name", err, "\"llm_name\" names the block's own LLM: set llm = \"PATH\" too");
    if (!cJSON_IsString(path) || !path->valuestring[0])
        return loc_err(l, "llm", err, "\"llm\" must be a non-empty string (a path)");
    if (!name)
        return loc_err(l, "llm", err, "a block with its own llm needs llm_name = \"NAME\" (its cells are "
                                      "labelled <method>@NAME, e.g. pifi@stories260K)");
    const char *s = cJSON_IsString(name) ? name->valuestring : "";
    size_t n = strlen(s);
    int ok = n >= 1 && n <= GRID_LLM_NAME_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
             s[i] == '_' || s[i] == '.' || s[i] == '-';
    if (!ok)
        return loc_err(l, "llm_name", err, "\"llm_name\" must be 1 to %d letters, digits, '_', '.' or '-'",
                       GRID_LLM_NAME_MAX);
    char *p = resolve(base_dir, path->valuestring);
    if (!p) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    for (int i = 0; i < g->n_llms; i++) {
        if (strcmp(g->llms[i].name, s)) continue;
        int same = !strcmp(g->llms[i].path, p);
        free(p);
        if (!same)
            return loc_err(l, "llm_name", err, "llm_name \"%s\" already names another llm (%s)", s, g->llms[i].path);
        *llm = i + 1;
        return 0;
    }
    if (g->n_llms >= GRID_MAX_LIST) {
        free(p);
        return loc_err(l, "llm", err, "more than %d llm_name entries", GRID_MAX_LIST);
    }
    ExpLlm *e = &g->llms[g->n_llms];
    e->name = strdup(s);
    e->path = p;
    if (!e->name) {
        free(p);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    }
    e->extracted = is_extracted_layer(p);
    *llm = ++g->n_llms;
    return 0;
}

static int build(ExpGrid *g, const cJSON *root, const cJSON *lines, const char *name, const char *base_dir,
                 const ExpOverrides *ov, int check, PifiErr *err) {
    int toml = lines != NULL;
    Loc top = {name, lines, "", toml};
    if (!cJSON_IsObject(root)) return pifi_errf(err, "%s: a grid must be a table (JSON object)", name);
    if (check_keys(root, TOP_KEYS, &top, err)) return -1;
    const cJSON *v;
#define STRKEY(key, dst)                                                                                  \
    if ((v = cJSON_GetObjectItemCaseSensitive(root, key))) {                                             \
        if (!cJSON_IsString(v) || !v->valuestring[0])                                                    \
            return loc_err(&top, key, err, "\"%s\" must be a non-empty string (a path)", key);            \
        dst = resolve(base_dir, v->valuestring);                                                         \
    }
    STRKEY("slm", g->slm)
    STRKEY("llm", g->llm)
    STRKEY("data_dir", g->data_dir)
    STRKEY("out", g->out)
#undef STRKEY
    const ExpOverrides none = {0};
    if (!ov) ov = &none;
#define OVERRIDE(f)          \
    if (ov->f) {             \
        free(g->f);          \
        g->f = strdup(ov->f); \
    }
    OVERRIDE(slm)
    OVERRIDE(llm)
    OVERRIDE(data_dir)
    OVERRIDE(out)
#undef OVERRIDE
    const char *keep = ov->keep;
    if (!keep && (v = cJSON_GetObjectItemCaseSensitive(root, "keep"))) {
        if (!cJSON_IsString(v)) return loc_err(&top, "keep", err, "\"keep\" must be \"all\", \"model\" or \"metrics\"");
        keep = v->valuestring;
    }
    if (keep && grid_keep_parse(keep, &g->keep))
        return loc_err(&top, "keep", err, "keep \"%s\": must be \"all\", \"model\" or \"metrics\"", keep);
    if (!g->slm) return loc_err(&top, "slm", err, "no \"slm\": the small model's directory (or --slm DIR)");
    if (!g->out) return loc_err(&top, "out", err, "no output directory: out = \"DIR\" in the grid, or -o DIR");
    if (g->llm) g->llm_extracted = is_extracted_layer(g->llm);
    train_opts_default(&g->train);
    g->train.precision = pifi_precision_default(); /* as `pifi train` */
    g->train.keep_checkpoint = 1; /* a cell's checkpoint goes by the grid's keep (pruned after its evaluations) */
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "train"))) {
        Loc tl = {name, toml_sub(lines, "train", -1), "train", toml};
        if (!toml) tl.lines = NULL;
        if (parse_train(v, &g->train, cJSON_IsObject(v) ? &tl : &top, err)) return -1;
    }
    Block main_b;
    memset(&main_b, 0, sizeof main_b);
    if (parse_block(root, &main_b, &top, err) || expand(g, &main_b, 0, &top, err)) return -1;
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "also"))) {
        if (!cJSON_IsArray(v))
            return loc_err(&top, "also", err, "\"also\" must be an array of tables ([[also]] in TOML)");
        int i = 0;
        for (const cJSON *it = v->child; it; it = it->next, i++) {
            char sec[32];
            snprintf(sec, sizeof sec, "also[%d]", i);
            Loc al = {name, toml_sub(lines, "also", i), sec, toml};
            if (!cJSON_IsObject(it)) return loc_err(&top, "also", err, "each \"also\" entry must be a table");
            if (check_keys(it, ALSO_KEYS, &al, err)) return -1;
            Block b = main_b; /* what it does not say comes from the top level */
            int llm = 0;
            if (also_llm(g, it, base_dir, &al, &llm, err)) return -1;
            if (llm && g->llms[llm - 1].extracted) { /* one layer: the top level's layers do not apply */
                b.n_layers = 0;
                b.layers_given = 0;
            }
            if (parse_block(it, &b, &al, err) || expand(g, &b, llm, &al, err)) return -1;
        }
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "eval_tasks")) && parse_evals(g, v, &top, err)) return -1;
    int need_llm = 0;
    for (int i = 0; i < g->n_cells; i++) need_llm |= method_has_llm(g->cells[i].method) && g->cells[i].llm == 0;
    if (!need_llm) {
        free(g->llm);
        g->llm = NULL;
    }
    return check ? check_paths(g, err) : 0;
}

int grid_parse(ExpGrid *g, const char *text, size_t n, const char *name, const char *base_dir,
               const ExpOverrides *ov, int check, PifiErr *err) {
    memset(g, 0, sizeof *g);
    g->path = strdup(name);
    if (!g->path) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    size_t len = strlen(name);
    int json = len >= 5 && !strcmp(name + len - 5, ".json");
    int rc;
    if (json) {
        cJSON *root = NULL;
        rc = pifi_json_parse(text, n, name, &root, err);
        if (rc == 0) rc = build(g, root, NULL, name, base_dir, ov, check, err);
        cJSON_Delete(root); /* the cells name tasks from the registry, not from the tree */
    } else {
        TomlDoc d;
        rc = toml_parse(text, n, name, &d, err);
        if (rc == 0) {
            rc = build(g, d.root, d.lines, name, base_dir, ov, check, err);
            toml_free(&d);
        }
    }
    if (rc) grid_free(g);
    return rc;
}

int grid_load(ExpGrid *g, const char *path, const ExpOverrides *ov, PifiErr *err) {
    char *text;
    size_t n;
    memset(g, 0, sizeof *g);
    if (pifi_read_file(path, 1 << 20, &text, &n, err)) return -1;
    char *base = strdup(path);
    if (!base) {
        free(text);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    }
    char *slash = strrchr(base, '/');
    if (slash) *slash = 0;
    else strcpy(base, ".");
    int rc = grid_parse(g, text, n, path, base, ov, 1, err);
    free(base);
    free(text);
    return rc;
}

void grid_free(ExpGrid *g) {
    for (int i = 0; i < g->n_cells; i++) free(g->cells[i].dir);
    free(g->cells);
    free(g->path);
    free(g->slm);
    free(g->llm);
    free(g->data_dir);
    free(g->out);
    free(g->own_task);
    cJSON_Delete(g->data);
    for (int i = 0; i < g->n_llms; i++) {
        free(g->llms[i].name);
        free(g->llms[i].path);
    }
    memset(g, 0, sizeof *g);
}
