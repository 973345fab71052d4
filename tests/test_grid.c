/* test_grid.c: experiment grid files: the TOML subset (values, tables,
 * arrays of tables, refused constructs with their line), the grid's keys and
 * values (unknown keys with a suggestion, types, tasks, methods, classes of
 * cross-domain tasks), cell expansion and naming, a second LLM in [[also]]
 * (llm, llm_name, labels pifi@NAME), JSON grids, the check of an existing
 * run's settings against its cell (its own LLM; keys an older pifi did not
 * write), and the committed grids in experiments/. */
#include <limits.h>

#include "exp/grid.h"
#include "exp/runner.h"
#include "exp/toml.h"
#include "pifi/fileio.h"
#include "train/runio.h"
#include "test.h"

static int parse(ExpGrid *g, const char *name, const char *text, PifiErr *err) {
    ExpOverrides ov = {0};
    return grid_parse(g, text, strlen(text), name, "/base", &ov, 0, err);
}

/* The grid must fail with a message containing want. */
static void bad(const char *name, const char *text, const char *want) {
    ExpGrid g;
    PifiErr err = {0};
    int rc = parse(&g, name, text, &err);
    CHECKF(rc == -1, "accepted: %s", text);
    if (rc == 0) grid_free(&g);
    CHECKF(strstr(err.msg, want) != NULL, "message \"%s\" lacks \"%s\"", err.msg, want);
}

static const char *HEAD = "slm = \"m\"\nllm = \"l.gguf\"\nout = \"o\"\n";

static void bad_body(const char *body, const char *want) {
    char text[4096];
    snprintf(text, sizeof text, "%s%s", HEAD, body);
    bad("grid.toml", text, want);
}

static void test_toml_values(void) {
    const char *t = "# comment\n"
                    "a = \"x\\ty\\u00e9\\\"\" # trailing comment\n"
                    "b = 'C:\\path'\n"
                    "c = 1_000\n"
                    "d = -2.5e-3\n"
                    "e = true\n"
                    "f = [\n  1, # one\n  2,\n]\n"
                    "\"quoted key\" = false\n"
                    "g = { x = 1, y = [\"a\"] }\n"
                    "[tab]\n"
                    "k = +3\n"
                    "[[arr]]\nv = 1\n[[arr]]\nv = 2\n";
    TomlDoc d;
    PifiErr err = {0};
    REQUIRE(toml_parse(t, strlen(t), "t.toml", &d, &err) == 0);
    CHECK(!strcmp(cJSON_GetObjectItem(d.root, "a")->valuestring, "x\ty\xc3\xa9\""));
    CHECK(!strcmp(cJSON_GetObjectItem(d.root, "b")->valuestring, "C:\\path"));
    CHECK(cJSON_GetObjectItem(d.root, "c")->valuedouble == 1000);
    CHECK(cJSON_GetObjectItem(d.root, "d")->valuedouble == -2.5e-3);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(d.root, "e")));
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(d.root, "f")) == 2);
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(d.root, "quoted key")));
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(d.root, "g"), "x")->valuedouble == 1);
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(d.root, "tab"), "k")->valuedouble == 3);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(d.root, "arr")) == 2);
    CHECK(toml_line(d.lines, "a") == 2);
    CHECK(toml_line(d.lines, "f") == 7);
    CHECK(toml_line(d.lines, "quoted key") == 11);
    CHECK(toml_line(toml_sub(d.lines, "tab", -1), "k") == 14);
    CHECK(toml_line(d.lines, "tab") == 13);
    CHECK(toml_line(toml_sub(d.lines, "arr", 1), "v") == 18);
    toml_free(&d);

    struct {
        const char *text, *want;
    } BAD[] = {
        {"a = \"open\n", "t.toml:1: unterminated string"},
        {"a.b = 1\n", "t.toml:1: dotted keys are not supported"},
        {"a = 1\na = 2\n", "t.toml:2: duplicate key \"a\""},
        {"[t]\n[t]\n", "t.toml:2: table [t] is defined twice"},
        {"a = \"\"\"x\"\"\"\n", "multi-line strings are not supported"},
        {"a = 2024-01-01\n", "t.toml:1: invalid"},
        {"a = \"\\q\"\n", "unknown escape"},
        {"a = 007\n", "leading zeros"},
        {"a 1\n", "expected '=' after the key \"a\""},
        {"a = 1 2\n", "t.toml:1: unexpected text after the value"},
        {"a = [1, 2\n", "expected ',' or ']'"},
        {"a = \n", "expected a value"},
        {"a = bare\n", "invalid value"},
        {"a = 1__0\n", "'_' must stand between digits"},
        {"a = 1\n[[a]]\n", "not an array of tables"},
        {"a = { x = 1,\n y = 2 }\n", "inline table"},
        {"a = \"\\uD800\"\n", "not a Unicode scalar value"},
        {"a = 99999999999999999999\n", "too large"},
        {"a = inf\n", "invalid value"},
        {"x = 1\n\n\n[t\n", "t.toml:4: expected ']'"},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        PifiErr e = {0};
        int rc = toml_parse(BAD[i].text, strlen(BAD[i].text), "t.toml", &d, &e);
        CHECKF(rc == -1, "accepted: %s", BAD[i].text);
        if (rc == 0) toml_free(&d);
        CHECKF(strstr(e.msg, BAD[i].want) != NULL, "\"%s\" lacks \"%s\"", e.msg, BAD[i].want);
    }
    /* deep nesting and a NUL byte are refused, not crashed on */
    char deep[200];
    size_t k = (size_t)snprintf(deep, sizeof deep, "a = ");
    for (int i = 0; i < 40; i++) deep[k++] = '[';
    deep[k] = 0;
    PifiErr e = {0};
    CHECK(toml_parse(deep, strlen(deep), "t.toml", &d, &e) == -1);
    CHECK_MSG(e, "nested too deeply");
    CHECK(toml_parse("a = 1\0", 6, "t.toml", &d, &e) == -1);
    CHECK_MSG(e, "NUL byte");
}

static void test_grid_cells(void) {
    const char *t = "slm = \"models/minilm\"\n"
                    "llm = \"/abs/smollm.gguf\"\n"
                    "out = \"runs\"\n"
                    "tasks = [\"sst2\", \"cola\"]\n"
                    "methods = [\"base\", \"pifi\"]\n"
                    "seeds = [1, 2]\n"
                    "layers = [-1, 3]\n"
                    "[[also]]\n"
                    "tasks = [\"sst2\"]\n"
                    "methods = [\"base\", \"pifi\"]\n"
                    "layers = [-1]\n"
                    "train_fraction = 0.1\n"
                    "[[also]]\n"
                    "methods = [\"base\"]\n" /* all repeats of the main block: no new cells */
                    "[eval_tasks]\n"
                    "sst2 = [\"cr\", \"mr\"]\n"
                    "[train]\n"
                    "epochs = 1\nmax_len = 32\nlr = 1e-4\noptimizer = \"adamw\"\nschedule = \"linear\"\nshuffle = false\n"
                    "drop_last = false\n";
    ExpGrid g;
    PifiErr err = {0};
    REQUIRE(parse(&g, "grid.toml", t, &err) == 0);
    /* main: 2 tasks x (base 1 + pifi 2 layers) x 2 seeds = 12; also: sst2 x 2 methods x 2 seeds = 4 */
    CHECKF(g.n_cells == 16, "%d cells", g.n_cells);
    CHECK(!strcmp(g.slm, "/base/models/minilm"));
    CHECK(!strcmp(g.llm, "/abs/smollm.gguf"));
    CHECK(!strcmp(g.out, "/base/runs"));
    CHECK(!strcmp(g.cells[0].dir, "/base/runs/runs/sst2/base/seed1"));
    CHECK(!strcmp(g.cells[2].label, "pifi") && g.cells[2].layer == -1);
    CHECK(!strcmp(g.cells[4].label, "pifi-L3") && g.cells[4].layer == 3);
    CHECK(!strcmp(g.cells[4].dir, "/base/runs/runs/sst2/pifi-L3/seed1"));
    CHECK(!strcmp(g.cells[12].label, "base-f0.1") && g.cells[12].train_fraction == 0.1);
    CHECK(!strcmp(g.cells[15].dir, "/base/runs/runs/sst2/pifi-f0.1/seed2"));
    CHECK(g.train.epochs == 1 && g.train.max_len == 32 && g.train.optim == OPT_ADAMW && g.train.sched == SCHED_LINEAR);
    CHECK(g.train.shuffle == 0 && g.train.batch == 32 && g.train.lr == 1e-4f);
    CHECK(g.train.drop_last == 0); /* [train] drop_last: --drop-last no */
    const ExpEvalTasks *ev = grid_evals_of(&g, "sst2");
    CHECK(ev && ev->n == 2 && !strcmp(ev->others[1], "mr"));
    CHECK(grid_evals_of(&g, "cola") == NULL);
    TrainOpts o;
    grid_cell_opts(&g, &g.cells[4], &o);
    CHECK(o.method == METHOD_PIFI && o.layer == 3 && o.seed == 1 && o.out == g.cells[4].dir && o.llm == g.llm);
    CHECK(o.drop_last == 0 && o.keep_checkpoint == 1); /* a cell's checkpoint goes by the grid's keep */
    grid_cell_opts(&g, &g.cells[0], &o);
    CHECK(o.method == METHOD_BASE && o.llm == NULL);
    cJSON *d = grid_cell_data(&g, &g.cells[12]);
    CHECK(!strcmp(cJSON_GetObjectItem(d, "task")->valuestring, "sst2"));
    CHECK(cJSON_GetObjectItem(d, "train_fraction")->valuedouble == (double)0.1f); /* as pifi train parses it */
    CHECK(cJSON_GetObjectItem(d, "train_fraction_seed")->valuedouble == 1);
    cJSON_Delete(d);
    grid_free(&g);

    /* defaults: 5 seeds, layer -1, fraction 1; no LLM kept when no method needs one */
    const char *t2 = "slm = \"m\"\nllm = \"l\"\nout = \"/o\"\ntasks = [\"cr\"]\nmethods = [\"base\", \"lora\"]\n";
    REQUIRE(parse(&g, "g.toml", t2, &err) == 0);
    CHECK(g.n_cells == 10 && g.llm == NULL);
    CHECK(g.cells[4].seed == 2025 && !strcmp(g.cells[5].label, "lora"));
    CHECK(g.train.drop_last == 1 && g.train.keep_checkpoint == 1); /* the authors' drop_last; keep decides */
    grid_free(&g);

    /* command-line paths win */
    ExpOverrides ov = {.out = "cli_out", .slm = "cli_slm"};
    REQUIRE(grid_parse(&g, t2, strlen(t2), "g.toml", "/base", &ov, 0, &err) == 0);
    CHECK(!strcmp(g.out, "cli_out") && !strcmp(g.slm, "cli_slm"));
    grid_free(&g);

    /* the same grid as JSON */
    const char *j = "{\"slm\": \"m\", \"llm\": \"l\", \"out\": \"/o\", \"tasks\": [\"sst2\"], \"methods\": [\"pifi\"],"
                    " \"seeds\": [7], \"train\": {\"epochs\": 2}, \"eval_tasks\": {\"sst2\": [\"cr\"]}}";
    REQUIRE(parse(&g, "grid.json", j, &err) == 0);
    CHECK(g.n_cells == 1 && g.train.epochs == 2 && !strcmp(g.cells[0].dir, "/o/runs/sst2/pifi/seed7"));
    CHECK(grid_evals_of(&g, "sst2") != NULL);
    grid_free(&g);
}

static void test_grid_errors(void) {
    /* unknown keys: located, with the nearest known key */
    bad_body("tasks = [\"sst2\"]\nmethods = [\"base\"]\n[train]\nepochs = 1\nepoch = 2\n",
             "grid.toml:8: unknown key \"epoch\" (did you mean \"epochs\"?)");
    bad_body("tasks = [\"sst2\"]\nmethods = [\"base\"]\nseed = [1]\n",
             "grid.toml:6: unknown key \"seed\" (did you mean \"seeds\"?)");
    bad_body("tasks = [\"sst2\"]\nmethods = [\"base\"]\n[trian]\nepochs = 1\n",
             "grid.toml:6: unknown key \"trian\" (did you mean \"train\"?)");
    bad_body("tasks = [\"sst2\"]\nmethods = [\"base\"]\nzzzzzz = 1\n", "unknown key \"zzzzzz\" (known: slm, llm, tasks");
    bad_body("tasks = [\"sst2\"]\nmethods = [\"base\"]\n[[also]]\nmethod = [\"pifi\"]\n",
             "grid.toml:7: unknown key \"method\" (did you mean \"methods\"?)");
    bad("grid.json", "{\"slm\": \"m\", \"out\": \"o\", \"tasks\": [\"sst2\"], \"methods\": [\"base\"], \"train\": {\"lr\": 1, \"max_lenn\": 3}}",
        "grid.json: train: unknown key \"max_lenn\" (did you mean \"max_len\"?)");
    /* values */
    bad_body("tasks = [\"sst2\"]\nmethods = [\"base\"]\nseeds = \"42\"\n", "grid.toml:6: \"seeds\" must be a list of 1 to");
    bad_body("tasks = [\"sst2\"]\nmethods = [\"base\"]\nseeds = [1.5]\n", "\"seeds\" must hold integers");
    bad_body("tasks = [\"sst3\"]\nmethods = [\"base\"]\n", "grid.toml:4: unknown task \"sst3\"");
    bad_body("tasks = [\"sst2\"]\nmethods = [\"bass\"]\n", "grid.toml:5: unknown method \"bass\"");
    bad_body("tasks = [\"sst2\"]\nmethods = [\"base\"]\ntrain_fraction = 0\n", "\"train_fraction\" must be in (0, 1]");
    bad_body("tasks = [\"sst2\"]\nmethods = [\"base\"]\ntrain_fraction = 1.5\n", "\"train_fraction\" must be in (0, 1]");
    bad_body("tasks = [\"sst2\"]\nmethods = [\"base\"]\n[train]\nepochs = 0\n", "grid.toml:7: \"epochs\" must be an integer");
    bad_body("tasks = [\"sst2\"]\nmethods = [\"base\"]\n[train]\noptimizer = \"sgd\"\n", "\"optimizer\" must be");
    bad_body("tasks = [\"sst2\"]\nmethods = [\"base\"]\n[train]\nshuffle = 1\n", "\"shuffle\" must be true or false");
    bad_body("tasks = [\"sst2\"]\nmethods = [\"base\"]\n[train]\ndrop_last = \"no\"\n", "\"drop_last\" must be true or false");
    bad_body("tasks = [\"sst2\"]\nmethods = [\"base\"]\n[train]\nprecision = \"fp16\"\n", "\"precision\" must be");
    bad_body("tasks = [\"sst2\"]\n", "no \"methods\"");
    bad_body("methods = [\"base\"]\n", "no \"tasks\"");
    bad("g.toml", "out = \"o\"\ntasks = [\"sst2\"]\nmethods = [\"base\"]\n", "no \"slm\"");
    bad("g.toml", "slm = \"m\"\ntasks = [\"sst2\"]\nmethods = [\"base\"]\n", "no output directory");
    bad("g.toml", "slm = \"m\"\nout = \"o\"\ntasks = [\"sst2\"]\nmethods = [\"pifi\"]\n", "needs an LLM");
    bad_body("tasks = [\"sst2\"]\nmethods = [\"base\"]\n[eval_tasks]\nsst2 = [\"trec\"]\n", "needs the same classes");
    bad_body("tasks = [\"sst2\"]\nmethods = [\"base\"]\n[eval_tasks]\ncola = [\"cr\"]\n",
             "grid.toml:7: \"cola\" is not one of the grid's tasks");
    bad_body("tasks = [\"sst2\"]\nmethods = [\"base\"]\n[eval_tasks]\nsst2 = [\"sst2\"]\n", "evaluated on itself");
    bad_body("tasks = [\"sst2\"]\nmethods = [\"base\"]\nslm = \"again\"\n", "duplicate key \"slm\"");
    bad("grid.json", "{\"slm\": 3}", "\"slm\" must be a non-empty string");
    bad("grid.json", "[1, 2]", "a grid must be a table");
    bad("grid.json", "{\"slm\": ", "grid.json");
}

/* A second LLM source: [[also]] with llm and llm_name. */
static const char *TWO_LLMS = "slm = \"m\"\n"
                              "llm = \"/abs/smol.gguf\"\n"
                              "out = \"/o\"\n"
                              "tasks = [\"sst2\"]\n"
                              "methods = [\"base\", \"pifi\"]\n"
                              "seeds = [1, 2]\n"
                              "[[also]]\n"
                              "methods = [\"pifi\", \"pifi-random\"]\n"
                              "llm = \"models/stories260K.gguf\"\n"
                              "llm_name = \"stories260K\"\n"
                              "seeds = [1]\n"
                              "[[also]]\n" /* the same name and path again: the same LLM */
                              "methods = [\"pifi\"]\n"
                              "llm = \"models/stories260K.gguf\"\n"
                              "llm_name = \"stories260K\"\n"
                              "layers = [-2]\n"
                              "train_fraction = 0.1\n"
                              "[[also]]\n" /* already there: no new cells */
                              "methods = [\"pifi\"]\n"
                              "llm = \"models/stories260K.gguf\"\n"
                              "llm_name = \"stories260K\"\n"
                              "seeds = [1]\n";

static void test_grid_llms(void) {
    ExpGrid g;
    PifiErr err = {0};
    REQUIRE(parse(&g, "grid.toml", TWO_LLMS, &err) == 0);
    /* top: base, pifi x 2 seeds; also 1: 2 methods x seed 1; also 2: pifi at layer -2, 10% x 2 seeds */
    REQUIRE(g.n_cells == 8);
    CHECK(g.n_llms == 1 && !strcmp(g.llms[0].name, "stories260K"));
    CHECK(!strcmp(g.llms[0].path, "/base/models/stories260K.gguf"));
    CHECK(!strcmp(g.llm, "/abs/smol.gguf"));
    /* the top level's cells keep their labels and directories */
    CHECK(!strcmp(g.cells[0].dir, "/o/runs/sst2/base/seed1") && g.cells[0].llm == 0);
    CHECK(!strcmp(g.cells[2].label, "pifi") && g.cells[2].llm == 0);
    CHECK(!strcmp(g.cells[2].dir, "/o/runs/sst2/pifi/seed1"));
    CHECK(!strcmp(g.cells[4].label, "pifi@stories260K") && g.cells[4].llm == 1 && g.cells[4].layer == -1);
    CHECK(!strcmp(g.cells[4].dir, "/o/runs/sst2/pifi@stories260K/seed1"));
    CHECK(!strcmp(g.cells[5].label, "pifi-random@stories260K") && g.cells[5].seed == 1);
    CHECK(!strcmp(g.cells[6].label, "pifi@stories260K-L-2-f0.1") && g.cells[6].layer == -2);
    CHECK(!strcmp(g.cells[7].dir, "/o/runs/sst2/pifi@stories260K-L-2-f0.1/seed2"));
    TrainOpts o;
    grid_cell_opts(&g, &g.cells[4], &o);
    CHECK(o.method == METHOD_PIFI && o.llm == g.llms[0].path && o.layer == -1 && o.seed == 1);
    grid_cell_opts(&g, &g.cells[2], &o);
    CHECK(o.llm == g.llm);
    grid_cell_opts(&g, &g.cells[0], &o);
    CHECK(o.llm == NULL);
    int ex = -1;
    CHECK(grid_cell_llm(&g, &g.cells[6], &ex) == g.llms[0].path && ex == 0);
    char m[64];
    grid_cell_method(&g, &g.cells[5], m, sizeof m);
    CHECK(!strcmp(m, "pifi-random@stories260K"));
    grid_cell_method(&g, &g.cells[2], m, sizeof m);
    CHECK(!strcmp(m, "pifi"));
    grid_free(&g);

    /* only an [[also]] block plugs a layer: no top-level llm needed */
    const char *t = "slm = \"m\"\nout = \"/o\"\ntasks = [\"sst2\"]\nmethods = [\"base\"]\nseeds = [3]\n"
                    "[[also]]\nmethods = [\"pifi\"]\nllm = \"/l/x.gguf\"\nllm_name = \"x.v2-a_b\"\n";
    REQUIRE(parse(&g, "g.toml", t, &err) == 0);
    CHECK(g.n_cells == 2 && g.llm == NULL && !strcmp(g.cells[1].dir, "/o/runs/sst2/pifi@x.v2-a_b/seed3"));
    grid_cell_opts(&g, &g.cells[1], &o);
    CHECK(o.llm && !strcmp(o.llm, "/l/x.gguf"));
    grid_free(&g);

    /* JSON */
    const char *j = "{\"slm\": \"m\", \"out\": \"/o\", \"tasks\": [\"sst2\"], \"methods\": [\"base\"], \"seeds\": [3],"
                    " \"also\": [{\"methods\": [\"pifi-unfrozen\"], \"llm\": \"/l.gguf\", \"llm_name\": \"s\"}]}";
    REQUIRE(parse(&g, "g.json", j, &err) == 0);
    CHECK(g.n_cells == 2 && !strcmp(g.cells[1].label, "pifi-unfrozen@s"));
    grid_free(&g);

    /* errors, with the [[also]] block's lines (HEAD is 3 lines, the body's [[also]] on line 6) */
    const char *top = "tasks = [\"sst2\"]\nmethods = [\"base\", \"pifi\"]\n";
    char b[1024];
    snprintf(b, sizeof b, "%s[[also]]\nmethods = [\"pifi\"]\nllm = \"s.gguf\"\n", top);
    bad_body(b, "grid.toml:8: a block with its own llm needs llm_name");
    snprintf(b, sizeof b, "%s[[also]]\nmethods = [\"pifi\"]\nllm_name = \"s\"\n", top);
    bad_body(b, "grid.toml:8: \"llm_name\" names the block's own LLM: set llm");
    snprintf(b, sizeof b, "%s[[also]]\nmethods = [\"pifi\"]\nllm = \"s.gguf\"\nllm_name = \"a b\"\n", top);
    bad_body(b, "grid.toml:9: \"llm_name\" must be 1 to 24 letters");
    snprintf(b, sizeof b, "%s[[also]]\nmethods = [\"pifi\"]\nllm = \"s.gguf\"\nllm_name = \"\"\n", top);
    bad_body(b, "\"llm_name\" must be 1 to 24");
    snprintf(b, sizeof b, "%s[[also]]\nmethods = [\"pifi\"]\nllm = \"s.gguf\"\nllm_name = \"%s\"\n", top,
             "abcdefghijklmnopqrstuvwxy"); /* 25 */
    bad_body(b, "\"llm_name\" must be 1 to 24");
    snprintf(b, sizeof b, "%s[[also]]\nmethods = [\"pifi\"]\nllm = \"s.gguf\"\nllm_name = \"../x\"\n", top);
    bad_body(b, "\"llm_name\" must be 1 to 24");
    snprintf(b, sizeof b, "%s[[also]]\nmethods = [\"pifi\"]\nllm = \"s.gguf\"\nllm_name = 3\n", top);
    bad_body(b, "grid.toml:9: \"llm_name\" must be");
    snprintf(b, sizeof b, "%s[[also]]\nmethods = [\"pifi\"]\nllm = 3\nllm_name = \"s\"\n", top);
    bad_body(b, "grid.toml:8: \"llm\" must be a non-empty string");
    snprintf(b, sizeof b, "%s[[also]]\nmethods = [\"base\", \"pifi\"]\nllm = \"s.gguf\"\nllm_name = \"s\"\n", top);
    bad_body(b, "grid.toml:7: method base plugs no LLM layer");
    snprintf(b, sizeof b, "%s[[also]]\nmethods = [\"lora\"]\nllm = \"s.gguf\"\nllm_name = \"s\"\n", top);
    bad_body(b, "grid.toml:7: method lora plugs no LLM layer");
    snprintf(b, sizeof b, "%s[[also]]\nllm = \"s.gguf\"\nllm_name = \"s\"\n", top); /* methods from the top: base */
    bad_body(b, "grid.toml:6: method base plugs no LLM layer");
    snprintf(b, sizeof b,
             "%s[[also]]\nmethods = [\"pifi\"]\nllm = \"s.gguf\"\nllm_name = \"s\"\n"
             "[[also]]\nmethods = [\"pifi\"]\nllm = \"t.gguf\"\nllm_name = \"s\"\n",
             top);
    bad_body(b, "grid.toml:13: llm_name \"s\" already names another llm (/base/s.gguf)");
    snprintf(b, sizeof b, "%s[[also]]\nmethods = [\"pifi\"]\nllm = \"s.gguf\"\nllm_nam = \"s\"\n", top);
    bad_body(b, "grid.toml:9: unknown key \"llm_nam\" (did you mean \"llm_name\"?)");
    bad("g.toml",
        "slm = \"m\"\nout = \"o\"\ntasks = [\"sst2\"]\nmethods = [\"pifi\"]\n[[also]]\nllm = \"s\"\nllm_name = \"s\"\n",
        "g.toml:4: method pifi needs an LLM"); /* the top level's pifi has none */
}

/* Write dir/config.json as a run of cell c would, with its settings changed by edit. */
static void write_run(const ExpGrid *g, const ExpCell *c, const char *dir, void (*edit)(cJSON *pifi)) {
    PifiErr err = {0};
    TrainOpts o;
    grid_cell_opts(g, c, &o);
    cJSON *data = grid_cell_data(g, c);
    cJSON *p = runio_opts_json(&o, 2, NULL, data);
    if (edit) edit(p);
    cJSON *cfg = cJSON_CreateObject();
    cJSON_AddNumberToObject(cfg, "hidden_size", 8);
    cJSON_AddItemToObject(cfg, "pifi", p);
    REQUIRE(pifi_mkdirs(dir, &err) == 0);
    char path[1200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    REQUIRE(runio_write_json(path, cfg, &err) == 0);
    cJSON_Delete(cfg);
    cJSON_Delete(data);
}

static void drop_old_keys(cJSON *p) { /* as an older pifi wrote it */
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(p, "train"), "grad_accum");
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(p, "train"), "drop_last");
    cJSON_DeleteItemFromObjectCaseSensitive(p, "pooling");
    cJSON_DeleteItemFromObjectCaseSensitive(p, "keep_checkpoint");
}

static void kept_last_batch(cJSON *p) { /* trained with --drop-last no */
    cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "train");
    cJSON_ReplaceItemInObjectCaseSensitive(t, "drop_last", cJSON_CreateFalse());
}

static void two_epochs(cJSON *p) {
    cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "train");
    cJSON_ReplaceItemInObjectCaseSensitive(t, "epochs", cJSON_CreateNumber(2));
}

static void top_llm(cJSON *p) {
    cJSON_ReplaceItemInObjectCaseSensitive(p, "llm", cJSON_CreateString("/abs/smol.gguf"));
}

/* An existing run is compared with its own cell, with its own LLM. */
static void test_check_config(void) {
    ExpGrid g;
    PifiErr err = {0};
    char out[1024];
    snprintf(out, sizeof out, "%s/grid_check", test_tmp());
    ExpOverrides ov = {.out = out};
    REQUIRE(grid_parse(&g, TWO_LLMS, strlen(TWO_LLMS), "grid.toml", "/base", &ov, 0, &err) == 0);
    const ExpCell *top = &g.cells[2], *alt = &g.cells[4]; /* pifi, pifi@stories260K (seed 1) */
    char path[1200];
    snprintf(path, sizeof path, "%s/config.json", alt->dir);
    remove(path); /* from an earlier run of this test */
    CHECK(cell_check_config(&g, alt, &err) == 0); /* no run yet */
    write_run(&g, alt, alt->dir, NULL);
    CHECKF(cell_check_config(&g, alt, &err) == 0, "%s", err.msg);
    write_run(&g, alt, alt->dir, drop_old_keys); /* grad_accum, drop_last, pooling unrecorded: their defaults */
    CHECKF(cell_check_config(&g, alt, &err) == 0, "%s", err.msg);
    write_run(&g, alt, alt->dir, kept_last_batch);
    CHECK(cell_check_config(&g, alt, &err) == -1);
    CHECK_MSG(err, "was trained with train.drop_last = false but the grid says true");
    write_run(&g, alt, alt->dir, two_epochs);
    CHECK(cell_check_config(&g, alt, &err) == -1);
    CHECK_MSG(err, "was trained with train.epochs = 2 but the grid says 3");
    write_run(&g, alt, alt->dir, top_llm); /* trained with the top level's LLM */
    CHECK(cell_check_config(&g, alt, &err) == -1);
    CHECK_MSG(err, "was trained with llm = \"/abs/smol.gguf\" but the grid says \"/base/models/stories260K.gguf\"");
    write_run(&g, top, top->dir, NULL);
    CHECKF(cell_check_config(&g, top, &err) == 0, "%s", err.msg);
    write_run(&g, alt, top->dir, NULL); /* the other LLM's run in the top level's directory */
    CHECK(cell_check_config(&g, top, &err) == -1);
    CHECK_MSG(err, "pifi/seed1: was trained with llm = \"/base/models/stories260K.gguf\"");
    grid_free(&g);
}

/* The committed grids parse (paths unchecked: models may be absent). */
static void test_committed(void) {
    const char *src = test_env("PIFI_FIXTURES", "tests/fixtures");
    static const char *FILES[] = {"ci_small.toml", "table1.toml", "lr_probe.toml"};
    for (int i = 0; i < (int)(sizeof FILES / sizeof *FILES); i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/../../experiments/%s", src, FILES[i]);
        FILE *f = fopen(path, "rb");
        if (!f) {
            printf("(%s not found: skipped)\n", path);
            continue;
        }
        char buf[16384];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        ExpGrid g;
        PifiErr err = {0};
        int rc = grid_parse(&g, buf, n, FILES[i], "experiments", NULL, 0, &err);
        CHECKF(rc == 0, "%s: %s", FILES[i], err.msg);
        if (rc) continue;
        if (i == 0) CHECK(g.n_cells == 4 && g.train.epochs == 1 && g.train.max_len == 32);
        if (i == 1) { /* 3 x (5 + 2 at 10% + PiFi with stories260K) x 5 */
            CHECKF(g.n_cells == 120, "table1: %d cells", g.n_cells);
            CHECK(g.n_llms == 1 && !strcmp(g.llms[0].name, "stories260K"));
            /* SST-2 complete first (5 methods, 2 at 10%, stories260K), then CoLA, then TweetEval */
            CHECK(g.n_cells == 120 && !strcmp(g.cells[35].label, "pifi@stories260K") &&
                  !strcmp(g.cells[35].task, "sst2") && !strcmp(g.cells[40].task, "cola") &&
                  !strcmp(g.cells[119].task, "tweet_offensive"));
            CHECK(g.n_cells == 120 && !strcmp(g.cells[0].label, "base") && !strcmp(g.cells[5].label, "pifi"));
        }
        if (i == 2) /* SST-2 base and PiFi x 5 seeds at a fifth of the authors' rate */
            CHECKF(g.n_cells == 10 && g.train.lr == 1e-5f, "lr_probe: %d cells, lr %g", g.n_cells,
                   (double)g.train.lr);
        grid_free(&g);
    }
}

int main(void) {
    test_toml_values();
    test_grid_cells();
    test_grid_errors();
    test_grid_llms();
    test_check_config();
    test_committed();
    TEST_DONE();
}
