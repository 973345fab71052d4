/* main.c: `pifi COMMAND ...`: dispatch to the commands. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "pifi/compute.h"
#include "cli/stopsig.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    int takes_stop; /* takes SIGINT/SIGTERM/SIGUSR1 itself: they stay blocked from main's first statement (stopsig.h) */
    const char *help;
} COMMANDS[] = {
    {"info", cmd_info, 0, "describe a model directory, checkpoint or GGUF file"},
    {"encode", cmd_encode, 0, "tokenize texts and run the encoder: ids, CLS vectors, hidden states"},
    {"train", cmd_train, 1, "fine-tune a classifier: plain (base), PiFi, or the paper's ablations"},
    {"eval", cmd_eval, 0, "metrics of a trained run on a task split or a file"},
    {"predict", cmd_predict, 0, "labels and probabilities of texts with a trained run (JSON lines)"},
    {"generate", cmd_generate, 0, "a trained generation run's output for each text (T5, BART: translation, summaries)"},
    {"experiment", cmd_experiment, 0, "a resumable grid of runs with results.csv, statistics and plots"},
    {"data", cmd_data, 0, "the named tasks' data: list what is there, get the public originals"},
    {"select-layer", cmd_select_layer, 0, "rank an LLM's layers for a small model and a task, without training each"},
    {"extract", cmd_extract, 0, "copy one decoder layer out of an LLM (HF dir or GGUF), reading only its bytes"},
    {"quantize", cmd_quantize, 0, "int8 weights of a trained run for inference, and the accuracy change"},
    {"score", cmd_score, 0, "score a predictions file with a metric's reference definition (SQuAD EM/F1)"},
    {"export", cmd_export, 0, "a trained run's whole classifier as one ONNX graph, tokenizer next to it"},
    {"serve", cmd_serve, 1, "an HTTP server for a trained run: /predict /embed /health /info /metrics"},
    {"bench", cmd_bench, 0, "fixed-shape training or inference throughput, and the GEMM peak"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: pifi COMMAND [OPTIONS]\n\n"
               "PiFi: plug one frozen LLM decoder layer into a small model and fine-tune it.\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(f, "  %-12s %s\n", COMMANDS[i].name, COMMANDS[i].help);
    fprintf(f, "\n'pifi COMMAND --help' describes each command.\n");
}

/* A bug in pifi (pifi_bug): its message, then the library aborts. */
static void on_bug(const char *msg) {
    fprintf(stderr, "pifi: %s\n", msg);
    fflush(stderr);
}

int main(int argc, char **argv) {
    /* first, while this is the only thread: a stop signal that comes from
     * here on waits for the command that takes it, and the others get the
     * mask back before they do anything (stopsig.h) */
    stop_block();
    /* a write past `ulimit -f` fails with EFBIG and a message (every writer
     * goes through fileio.c) instead of killing the process */
    signal(SIGXFSZ, SIG_IGN);
    pifi_set_bug_handler(on_bug);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("pifi 0.1.0\n");
        return 0;
    }
    const char *isa_note = pifi_kernel_isa_note(); /* PIFI_MAX_ISA set to something unknown: said, not silent */
    if (isa_note) fprintf(stderr, "pifi: warning: %s\n", isa_note);
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (strcmp(argv[1], COMMANDS[i].name) == 0) {
            if (!COMMANDS[i].takes_stop) stop_unblock();
            return COMMANDS[i].fn(argc - 1, argv + 1);
        }
    fprintf(stderr, "pifi: unknown command '%s'\nhint: 'pifi --help' lists the commands\n", argv[1]);
    return 2;
}
