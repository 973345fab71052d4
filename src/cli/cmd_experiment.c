/* cmd_experiment.c: `pifi experiment GRID`: the paper's protocols as a
 * resumable grid of runs (tasks x methods x seeds x layers), with
 * results.csv, results.md (mean +- std, difference and Welch p-value against
 * base) and plots; `--report OUT` redraws the report from results.csv. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/compute_args.h"
#include "cli/progress.h"
#include "exp/grid.h"
#include "exp/report.h"
#include "exp/runner.h"
#include "pifi/fileio.h"

static const char *HELP =
    "usage: pifi experiment GRID.toml|GRID.json [-o OUT_DIR] [--dry-run] [options]\n"
    "       pifi experiment --report OUT_DIR\n"
    "\n"
    "Train every cell of an experiment grid (tasks x methods x seeds x layers x\n"
    "train fractions), each as one `pifi train` run in OUT_DIR/runs/<task>/<method>[@<llm_name>]\n"
    "[-L<layer>][-f<fraction>]/seed<seed>/, plus the grid's cross-domain evaluations. Finished\n"
    "cells are skipped and interrupted ones resumed, so the same command continues a\n"
    "grid after Ctrl-C or a crash. Writes OUT_DIR/results.csv (one row per cell and\n"
    "evaluation set), OUT_DIR/results.md (mean +- std over seeds, difference and Welch's\n"
    "t-test p-value against base) and OUT_DIR/plots/ (a training curve per run, a bar\n"
    "chart per task). The grid format is in docs/experiments.md.\n"
    "\n"
    "options:\n"
    "  -o, --out DIR      output directory (default: the grid's \"out\")\n"
    "  --slm DIR          the SLM, instead of the grid's \"slm\"\n"
    "  --llm PATH         the LLM or extracted layer, instead of the grid's top-level \"llm\"\n"
    "                     ([[also]] blocks with their own llm keep it)\n"
    "  --data-dir DIR     the data root, instead of the grid's \"data_dir\"\n"
    "  --keep WHAT        what a finished cell keeps, instead of the grid's \"keep\": all (the\n"
    "                     final model and the checkpoint; the default), model (no checkpoint),\n"
    "                     metrics (no weights: metrics, logs, configs; a few hundred kB a cell)\n"
    "  --dry-run          list the cells and their state (new, done, resume, restart)\n"
    "  --jobs N           cells run at once; only 1 (each run already uses every core)\n"
    "  --report DIR       rewrite DIR/results.md and DIR/plots from DIR/results.csv\n"
    "  --max-memory SIZE  memory budget of each cell (2G, 512M): a cell whose estimate is\n"
    "                     over it fails at once; an allocation past it fails (RLIMIT_DATA)\n"
    "  -h, --help         this text\n";

static int report_only(const char *dir) {
    char *p = pifi_path_join(dir, "results.csv");
    PifiErr err = {0};
    ExpResults r;
    if (!p) return 1;
    int rc = results_read_csv(&r, p, &err);
    free(p);
    if (rc) return cli_fail(&err);
    rc = report_write(&r, dir, REPORT_CURVES_ALL, cli_log, NULL, &err);
    printf("%s: %d rows; wrote %s/results.md and %s/plots/\n", dir, r.n, dir, dir);
    results_free(&r);
    return rc ? cli_fail(&err) : 0;
}

int cmd_experiment(int argc, char **argv) {
    enum { O_SLM = 256, O_LLM, O_DATA_DIR, O_DRY, O_JOBS, O_REPORT, O_MAX_MEMORY, O_KEEP };
    static const struct option LONG[] = {
        {"out", 1, 0, 'o'},      {"slm", 1, 0, O_SLM},   {"llm", 1, 0, O_LLM},       {"data-dir", 1, 0, O_DATA_DIR},
        {"dry-run", 0, 0, O_DRY}, {"jobs", 1, 0, O_JOBS}, {"report", 1, 0, O_REPORT}, {"help", 0, 0, 'h'},
        {"max-memory", 1, 0, O_MAX_MEMORY}, {"keep", 1, 0, O_KEEP},
        {0, 0, 0, 0},
    };
    ExpOverrides ov = {0};
    ExpRunOpts ro = {0};
    const char *report = NULL;
    int c, jobs = 1;
    opterr = 0;
    optind = 1;
    while ((c = cli_getopt(argc, argv, ":ho:", LONG, "experiment")) != -1) {
        switch (c) {
        case 'o': ov.out = optarg; break;
        case O_SLM: ov.slm = optarg; break;
        case O_LLM: ov.llm = optarg; break;
        case O_DATA_DIR: ov.data_dir = optarg; break;
        case O_DRY: ro.dry_run = 1; break;
        case O_KEEP: {
            ExpKeep k;
            if (grid_keep_parse(optarg, &k))
                return cli_usage_error("experiment", "--keep %s: must be all, model or metrics", optarg);
            ov.keep = optarg;
            break;
        }
        case O_JOBS:
            if (cli_parse_int("experiment", "--jobs", optarg, 1, 1024, &jobs)) return 2;
            if (jobs != 1)
                return cli_usage_error("experiment", "--jobs %d: cells run one at a time for now (each uses every "
                                                     "core through OpenMP)", jobs);
            break;
        case O_REPORT: report = optarg; break;
        case O_MAX_MEMORY: if (cli_parse_max_memory("experiment", optarg)) return 2; break;
        case 'h': fputs(HELP, stdout); return 0;
        case ':': return cli_usage_error("experiment", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("experiment", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (report) {
        if (optind < argc || ov.out || ov.slm || ov.llm || ov.data_dir || ov.keep || ro.dry_run)
            return cli_usage_error("experiment", "--report DIR takes no grid and no other option");
        return report_only(report);
    }
    if (optind != argc - 1) return cli_usage_error("experiment", "expects exactly one GRID file");
    PifiErr err = {0};
    ExpGrid g;
    if (grid_load(&g, argv[optind], &ov, &err)) return cli_fail(&err);
    Progress progress;
    TrainCallbacks cb = cli_train_callbacks(&progress); /* the grid's lines, each run's bar, on stderr */
    ro.cb = &cb;
    ro.proc = cli_cell_processes();
    /* exp_run handles SIGINT/SIGTERM: the running cell saves its state and the grid stops */
    ExpRunStats st;
    int rc = exp_run(&g, &ro, &st, &err);
    int status = 0;
    if (st.interrupted) {
        fprintf(stderr, "pifi: experiment: interrupted; the cell's state is saved. Continue with the same command.\n");
        status = 128 + st.interrupted;
    } else if (rc) {
        status = cli_fail(&err);
    }
    if (!ro.dry_run && (rc == 0 || st.trained + st.skipped + st.resumed > 0))
        printf("%s: %d cells: %d trained, %d resumed, %d finished already, %d failed; %d cross-domain evaluations\n"
               "results: %s/results.csv, %s/results.md, %s/plots/\n",
               g.out, st.cells, st.trained, st.resumed, st.skipped, st.failed, st.evals, g.out, g.out, g.out);
    grid_free(&g);
    return status;
}
