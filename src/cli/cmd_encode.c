/* cmd_encode.c: `pifi encode --model DIR [--pair] TEXT...`: tokenize, run the
 * encoder, print one JSON line per input with ids, tokens and vectors. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "pifi.h"

static const char *HELP =
    "usage: pifi encode --model DIR [options] [TEXT...]\n"
    "\n"
    "Tokenize each TEXT (or each line of standard input when no TEXT is given)\n"
    "with the model's tokenizer, run the encoder (in fp32 unless --precision says\n"
    "otherwise: the output then matches transformers' to fp32 rounding), and print one JSON\n"
    "object per input on stdout: tokens, ids, type_ids and the CLS vector\n"
    "(last_hidden_state[0]).\n"
    "\n"
    "options:\n"
    "  --model DIR     Hugging Face model directory (config.json, model.safetensors,\n"
    "                  tokenizer.json or vocab.txt), or a BERT GGUF file (llama.cpp's\n"
    "                  \"bert\" layout, its tokenizer.ggml.* vocabulary)\n"
    "  --pair          inputs are sentence pairs: TEXT arguments taken two by two,\n"
    "                  stdin lines split at the first tab\n"
    "  --max-len N     truncate (longest_first) to N tokens incl. specials\n"
    "                  (default: the tokenizer's model_max_length)\n"
    "  --output WHAT   cls (default), pooled (also the pooler output), or hidden\n"
    "                  (also every token's hidden state)\n"
    "  --batch N       inputs per forward pass (default 32)\n"
    "  --precision P   fp32 (default) | bf16 | auto (bf16 where the CPU has it natively)\n"
    "  --threads N     size of the thread pool (default: OMP_NUM_THREADS or all cores)\n"
    "  -h, --help      this text\n";

typedef struct {
    char **text;
    char **pair;
    int n, cap;
} Inputs;

static int inputs_push(Inputs *in, char *text, char *pair) {
    if (in->n == in->cap) {
        int cap = in->cap ? in->cap * 2 : 64;
        char **t = realloc(in->text, cap * sizeof *t);
        if (t) in->text = t;
        char **p = realloc(in->pair, cap * sizeof *p);
        if (p) in->pair = p;
        if (!t || !p) return -1;
        in->cap = cap;
    }
    in->text[in->n] = text;
    in->pair[in->n] = pair;
    in->n++;
    return 0;
}

static void print_floats(FILE *f, const float *v, int n) {
    fputc('[', f);
    for (int i = 0; i < n; i++) fprintf(f, i ? ",%.8g" : "%.8g", v[i]);
    fputc(']', f);
}

static void print_ints(FILE *f, const int *v, int n) {
    fputc('[', f);
    for (int i = 0; i < n; i++) fprintf(f, i ? ",%d" : "%d", v[i]);
    fputc(']', f);
}

enum { OUT_CLS, OUT_POOLED, OUT_HIDDEN };

/* Inputs [first, first + count): one JSON line each. */
static int run_batch(pifi_encoder *enc, Inputs *in, int pair, int first, int count, int output) {
    pifi_embeddings *e;
    pifi_error err;
    const char *const *texts = (const char *const *)in->text + first;
    const char *const *pairs = pair ? (const char *const *)in->pair + first : NULL;
    if (pifi_embed(enc, count, texts, pairs, &e, &err)) {
        if (first == 0) fprintf(stderr, "pifi: %s\n", err.message); /* its input numbers are the user's */
        else fprintf(stderr, "pifi: batch of inputs %d-%d: %s (counted within the batch)\n", first + 1, first + count,
                     err.message);
        return err.code == PIFI_E_RUNTIME ? 1 : 2;
    }
    int C = pifi_encoder_dim(enc);
    for (int i = 0; i < count; i++) {
        FILE *o = stdout;
        int n = pifi_embeddings_len(e, i);
        const int *ids = pifi_embeddings_ids(e, i);
        fputs("{\"tokens\":[", o);
        for (int t = 0; t < n; t++) {
            if (t) fputc(',', o);
            const char *s = pifi_encoder_token(enc, ids[t]);
            cli_json_string(o, s ? s : "");
        }
        fputs("],\"ids\":", o);
        print_ints(o, ids, n);
        fputs(",\"type_ids\":", o);
        print_ints(o, pifi_embeddings_type_ids(e, i), n);
        fputs(",\"cls\":", o);
        print_floats(o, pifi_embeddings_hidden(e, i, 0), C);
        if (output == OUT_POOLED) {
            const float *pooled = pifi_embeddings_pooled(e, i);
            fputs(",\"pooled\":", o);
            if (pooled) print_floats(o, pooled, C);
            else fputs("null", o);
        }
        if (output == OUT_HIDDEN) {
            fputs(",\"hidden_states\":[", o);
            for (int t = 0; t < n; t++) {
                if (t) fputc(',', o);
                print_floats(o, pifi_embeddings_hidden(e, i, t), C);
            }
            fputc(']', o);
        }
        fputs("}\n", o);
    }
    pifi_embeddings_free(e);
    return 0;
}

static int read_stdin(Inputs *in, int pair) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        if (n > 0 && line[n - 1] == '\n') line[--n] = 0;
        if (n > 0 && line[n - 1] == '\r') line[--n] = 0;
        char *text = strdup(line), *second = NULL;
        if (!text) return -1;
        if (pair) {
            char *tab = strchr(text, '\t');
            if (!tab) {
                free(text);
                free(line);
                fprintf(stderr, "pifi: encode: stdin line %d: --pair expects two tab-separated texts\n",
                        in->n + 1);
                return -2;
            }
            *tab = 0;
            second = tab + 1;
        }
        if (inputs_push(in, text, second)) return -1;
    }
    free(line);
    return 0;
}

int cmd_encode(int argc, char **argv) {
    static const struct option LONG[] = {
        {"model", required_argument, 0, 'm'}, {"pair", no_argument, 0, 'p'},
        {"max-len", required_argument, 0, 'l'}, {"output", required_argument, 0, 'o'},
        {"batch", required_argument, 0, 'b'}, {"precision", required_argument, 0, 'P'},
        {"threads", required_argument, 0, 'T'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *model = NULL;
    int pair = 0, max_len = 0, output = OUT_CLS, batch = 32;
    PifiPrecision prec = PIFI_PREC_FP32;
    opterr = 0;
    optind = 1;
    int c;
    while ((c = cli_getopt(argc, argv, ":h", LONG, "encode")) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'p': pair = 1; break;
        case 'l':
            if (cli_parse_int("encode", "--max-len", optarg, 2, 1 << 20, &max_len)) return 2;
            break;
        case 'b':
            if (cli_parse_int("encode", "--batch", optarg, 1, 1 << 16, &batch)) return 2;
            break;
        case 'o':
            if (strcmp(optarg, "cls") == 0) output = OUT_CLS;
            else if (strcmp(optarg, "pooled") == 0) output = OUT_POOLED;
            else if (strcmp(optarg, "hidden") == 0) output = OUT_HIDDEN;
            else return cli_usage_error("encode", "--output must be cls, pooled or hidden, not '%s'", optarg);
            break;
        case 'P': if (cli_parse_precision("encode", optarg, &prec)) return 2; break;
        case 'T': if (cli_parse_threads("encode", optarg)) return 2; break;
        case 'h': fputs(HELP, stdout); return 0;
        case ':': return cli_usage_error("encode", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("encode", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (!model) return cli_usage_error("encode", "--model DIR is required");
    Inputs in = {0};
    int status = 0;
    if (optind < argc) {
        int n = argc - optind;
        if (pair && n % 2) {
            status = cli_usage_error("encode", "--pair needs an even number of texts, got %d", n);
            goto out;
        }
        for (int i = optind; i < argc; i += pair ? 2 : 1)
            if (inputs_push(&in, argv[i], pair ? argv[i + 1] : NULL)) goto oom;
    } else {
        int r = read_stdin(&in, pair);
        if (r == -2) {
            status = 2;
            goto out;
        }
        if (r) goto oom;
    }
    pifi_error err;
    pifi_encoder *enc;
    pifi_encoder_params ep = pifi_encoder_default_params();
    ep.precision = cli_api_precision(prec);
    ep.max_len = max_len;
    if (pifi_encoder_open(model, &ep, &enc, &err)) {
        status = cli_fail_api(&err);
        goto out;
    }
    for (int i = 0; i < in.n && !status; i += batch) {
        int count = in.n - i < batch ? in.n - i : batch;
        status = run_batch(enc, &in, pair, i, count, output);
    }
    pifi_encoder_close(enc);
out:
    if (optind >= argc)
        for (int i = 0; i < in.n; i++) free(in.text[i]);
    free(in.text);
    free(in.pair);
    return status;
oom:
    fprintf(stderr, "pifi: encode: out of memory\n");
    status = 1;
    goto out;
}
