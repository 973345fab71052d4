/* cmd_encode.c: `pifi encode --model DIR [--pair] TEXT...`: tokenize, run the
 * encoder, print one JSON line per input with ids, tokens and vectors. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "pifi/encoder.h"
#include "pifi/tokenizer.h"

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
    "                  tokenizer.json or vocab.txt)\n"
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

static void print_ints(FILE *f, const int32_t *v, int n) {
    fputc('[', f);
    for (int i = 0; i < n; i++) fprintf(f, i ? ",%d" : "%d", v[i]);
    fputc(']', f);
}

enum { OUT_CLS, OUT_POOLED, OUT_HIDDEN };

static int run_batch(Encoder *m, const PifiTokenizer *tk, Inputs *in, int first, int count,
                     const PifiEncodeOpts *opts, int output, PifiErr *err) {
    PifiEncoding *enc = calloc(count, sizeof *enc);
    int32_t *ids = NULL, *tt = NULL, *mask = NULL;
    int rc = -1, T = 0;
    if (!enc) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    for (int i = 0; i < count; i++) {
        char what[64];
        snprintf(what, sizeof what, "input %d", first + i + 1);
        if (tokenizer_encode(tk, in->text[first + i], in->pair[first + i], opts, &enc[i], err)) {
            pifi_err_prefix(err, what);
            goto done;
        }
        if (enc[i].n > T) T = enc[i].n;
    }
    ids = calloc((size_t)count * T, sizeof *ids);
    tt = calloc((size_t)count * T, sizeof *tt);
    mask = calloc((size_t)count * T, sizeof *mask);
    if (!ids || !tt || !mask) {
        pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        goto done;
    }
    int pad = tokenizer_pad_id(tk);
    for (int i = 0; i < count; i++) {
        for (int t = 0; t < T; t++) {
            size_t k = (size_t)i * T + t;
            int real = t < enc[i].n;
            ids[k] = real ? enc[i].ids[t] : pad;
            tt[k] = real ? enc[i].type_ids[t] : 0;
            mask[k] = real ? enc[i].attention_mask[t] : 0;
        }
    }
    if (encoder_forward(m, ids, tt, mask, count, T, err)) goto done;
    const float *h = encoder_output(m);
    int C = m->cfg.C;
    for (int i = 0; i < count; i++) {
        FILE *o = stdout;
        fputs("{\"tokens\":[", o);
        for (int t = 0; t < enc[i].n; t++) {
            if (t) fputc(',', o);
            const char *s = tokenizer_id_to_token(tk, enc[i].ids[t]);
            cli_json_string(o, s ? s : "");
        }
        fputs("],\"ids\":", o);
        print_ints(o, enc[i].ids, enc[i].n);
        fputs(",\"type_ids\":", o);
        print_ints(o, enc[i].type_ids, enc[i].n);
        fputs(",\"cls\":", o);
        print_floats(o, h + (size_t)i * T * C, C);
        if (output == OUT_POOLED) {
            fputs(",\"pooled\":", o);
            if (m->acts.pooled) print_floats(o, m->acts.pooled + (size_t)i * C, C);
            else fputs("null", o);
        }
        if (output == OUT_HIDDEN) {
            fputs(",\"hidden_states\":[", o);
            for (int t = 0; t < enc[i].n; t++) {
                if (t) fputc(',', o);
                print_floats(o, h + ((size_t)i * T + t) * C, C);
            }
            fputc(']', o);
        }
        fputs("}\n", o);
    }
    rc = 0;
done:
    for (int i = 0; i < count; i++) encoding_free(&enc[i]);
    free(enc);
    free(ids);
    free(tt);
    free(mask);
    return rc;
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
    PifiErr err = {0};
    PifiTokenizer *tk = NULL;
    Encoder m;
    if (tokenizer_load(&tk, model, &err)) {
        status = cli_fail(&err);
        goto out;
    }
    if (encoder_load(&m, model, &err) || encoder_set_precision(&m, prec, &err)) {
        if (m.param_mem) encoder_free(&m);
        tokenizer_free(tk);
        status = cli_fail(&err);
        goto out;
    }
    PifiEncodeOpts opts = pifi_encode_opts_default();
    opts.max_length = max_len ? max_len : tokenizer_model_max_length(tk);
    if (opts.max_length > m.cfg.maxT) opts.max_length = m.cfg.maxT;
    opts.truncation = PIFI_TRUNC_LONGEST_FIRST;
    for (int i = 0; i < in.n && !status; i += batch) {
        int count = in.n - i < batch ? in.n - i : batch;
        if (run_batch(&m, tk, &in, i, count, &opts, output, &err)) status = cli_fail(&err);
    }
    encoder_free(&m);
    tokenizer_free(tk);
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
