/* cmd_score.c: `pifi score --metric M ...`: score any system's predictions
 * file with one of the metrics of one table (the official SQuAD v1.1
 * evaluation, sacreBLEU's BLEU and chrF, rouge-score's ROUGE, NLTK's
 * METEOR, pycocoevalcap's BLEU-1..4), printed as the metric's reference implementation prints it (or,
 * where it prints nothing of its own, as JSON with Python's float repr). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/utf8.h"
#include "pifi/fileio.h"
#include "pifi/json.h"
#include "pifi/mt_metrics.h"
#include "pifi/nlg_metrics.h"
#include "pifi/squad.h"
#include "pifi.h"

/* What a metric reads: the gold data (several reference files for the
 * translation metrics) and the predictions. */
#define SCORE_MAX_REFS 16
typedef struct {
    const char *data, *pred;
    const char *refs[SCORE_MAX_REFS];
    int n_refs;
    int skip_bad;
    int rouge_stem;            /* --rouge-stem: rouge-score's use_stemmer=True */
    const char *rouge_newline; /* --rouge-newline S: S in a segment is a line break (rougeLsum's sentences) */
    const char *wordnet;       /* --wordnet DIR: WordNet's dict files for METEOR */
    const char *model;         /* --model DIR: BERTScore's encoder */
    int idf;                   /* --idf: BERTScore's idf weights */
    int batch_size;            /* --batch-size N: BERTScore's matching batches (0: 64) */
    int segments;              /* --segments: also each segment's scores (BERTScore) */
} ScoreArgs;

/* Python's repr of a float (the shortest text that reads back the same
 * double), which json.dumps prints. */
static void py_float(FILE *f, double v) {
    char buf[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, v);
        if (strtod(buf, NULL) == v) break;
    }
    if (!isfinite(v)) snprintf(buf, sizeof buf, "%s", isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
    else if (!strpbrk(buf, ".eEn")) strcat(buf, ".0"); /* 100 -> 100.0 */
    fputs(buf, f);
}

/* ------------------------------------------------------------------------ */
/* squad */

typedef struct {
    const cJSON *pred;
    const SquadData *d;
} SquadPreds;

static const char *squad_pred_of(void *ctx, int i) {
    SquadPreds *p = ctx;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(p->pred, p->d->q[i].id);
    return v ? v->valuestring : NULL; /* strings only: checked on loading */
}

static int score_squad(const ScoreArgs *a) {
    SquadData d;
    PifiErr err = {0};
    if (squad_load(&d, a->data, a->skip_bad, &err)) {
        fprintf(stderr, "pifi: score: %s\n", err.msg);
        return err.kind == PIFI_ERR_RUNTIME ? 1 : 2;
    }
    if (d.skipped)
        fprintf(stderr, "pifi: score: %s: %lld bad questions left out (--skip-bad-rows); the first: %s\n", a->data,
                (long long)d.skipped, d.first_skip);
    cJSON *pred = NULL;
    int rc = 2;
    if (pifi_json_load(a->pred, 1024u << 20, &pred, &err) || pifi_json_unique_keys(pred, a->pred, &err)) {
        fprintf(stderr, "pifi: score: %s\n", err.msg);
        goto done;
    }
    if (!cJSON_IsObject(pred)) {
        fprintf(stderr, "pifi: score: %s: expected a JSON object {question id: answer text}\n", a->pred);
        goto done;
    }
    const cJSON *v;
    cJSON_ArrayForEach(v, pred) if (!cJSON_IsString(v)) {
        fprintf(stderr, "pifi: score: %s: the answer to question %s is not a string\n", a->pred, v->string);
        goto done;
    }
    SquadPreds sp = {pred, &d};
    for (int i = 0; i < d.n; i++)
        if (!squad_pred_of(&sp, i)) fprintf(stderr, "Unanswered question %s will receive score 0.\n", d.q[i].id);
    SquadScore s;
    if (squad_evaluate(&d, squad_pred_of, &sp, &s, &err)) {
        fprintf(stderr, "pifi: score: %s\n", err.msg);
        goto done;
    }
    printf("{\"exact_match\": ");
    py_float(stdout, s.exact_match);
    printf(", \"f1\": ");
    py_float(stdout, s.f1);
    printf("}\n");
    rc = 0;
done:
    cJSON_Delete(pred);
    squad_free(&d);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* bleu, chrf: line-aligned text files, as sacreBLEU's command line reads them */

typedef struct {
    char *buf;
    char **line;
    int n;
} Lines;

static void lines_free(Lines *l) {
    free(l->buf), free(l->line);
    memset(l, 0, sizeof *l);
}

/* The lines of path ("\n"-separated, a final "\r" dropped, no final empty line); 0 or an exit status. */
static int read_lines(const char *path, Lines *l) {
    PifiErr err = {0};
    size_t len;
    memset(l, 0, sizeof *l);
    if (pifi_read_file(path, 1024u << 20, &l->buf, &len, &err)) {
        fprintf(stderr, "pifi: score: %s\n", err.msg);
        return err.kind == PIFI_ERR_RUNTIME ? 1 : 2;
    }
    size_t bad;
    if (!utf8_valid(l->buf, len, &bad)) {
        fprintf(stderr, "pifi: score: %s: not valid UTF-8 at byte %zu\n", path, bad);
        lines_free(l);
        return 2;
    }
    if (memchr(l->buf, '\0', len)) {
        fprintf(stderr, "pifi: score: %s: holds a NUL byte\n", path);
        lines_free(l);
        return 2;
    }
    int cap = 1;
    for (size_t i = 0; i < len; i++) cap += l->buf[i] == '\n';
    if (!(l->line = malloc((size_t)cap * sizeof *l->line))) {
        lines_free(l);
        return 1;
    }
    for (char *p = l->buf; p < l->buf + len;) {
        char *e = memchr(p, '\n', (size_t)(l->buf + len - p));
        if (e) *e = '\0';
        size_t n = strlen(p);
        if (n && p[n - 1] == '\r') p[n - 1] = '\0';
        l->line[l->n++] = p;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}


static void print_counts(const char *key, const int64_t *v, int n) {
    printf(", \"%s\": [", key);
    for (int i = 0; i < n; i++) printf("%s%lld", i ? ", " : "", (long long)v[i]);
    printf("]");
}

/* The hypotheses and the reference files, one reference line per
 * hypothesis; 0 or an exit status (what was read is freed either way). */
typedef struct {
    Lines h, r[SCORE_MAX_REFS];
    const char *const *refs[SCORE_MAX_REFS];
    int nr;
} Corpus;

static void corpus_free(Corpus *c) {
    lines_free(&c->h);
    for (int i = 0; i < c->nr; i++) lines_free(&c->r[i]);
    c->nr = 0;
}

static int load_corpus(const ScoreArgs *a, Corpus *c) {
    memset(c, 0, sizeof *c);
    int rc = read_lines(a->pred, &c->h);
    for (; rc == 0 && c->nr < a->n_refs; c->nr++) {
        rc = read_lines(a->refs[c->nr], &c->r[c->nr]);
        if (rc) break;
        c->refs[c->nr] = (const char *const *)c->r[c->nr].line;
        if (c->r[c->nr].n != c->h.n) {
            fprintf(stderr, "pifi: score: %s has %d lines, %s has %d: one reference line per hypothesis\n",
                    a->refs[c->nr], c->r[c->nr].n, a->pred, c->h.n);
            rc = 2;
            c->nr++;
            break;
        }
    }
    if (rc) corpus_free(c);
    return rc;
}

/* hypotheses and references loaded, then the metric */
static int score_mt(const ScoreArgs *a, int chrf) {
    Corpus cp;
    int rc = load_corpus(a, &cp);
    if (rc) return rc;
    Lines h = cp.h;
    const char *const *const *refs = cp.refs;
    PifiErr err = {0};
    if (rc == 0 && !chrf) {
        BleuScore b;
        if (bleu_corpus((const char *const *)h.line, h.n, refs, a->n_refs, &b, &err)) {
            fprintf(stderr, "pifi: score: %s\n", err.msg);
            rc = 1;
        } else {
            printf("{\"name\": \"BLEU\", \"score\": ");
            py_float(stdout, b.score);
            print_counts("counts", b.counts, 4);
            print_counts("totals", b.totals, 4);
            printf(", \"precisions\": [");
            for (int k = 0; k < 4; k++) printf("%s", k ? ", " : ""), py_float(stdout, b.precisions[k]);
            printf("], \"bp\": ");
            py_float(stdout, b.bp);
            printf(", \"sys_len\": %lld, \"ref_len\": %lld}\n", (long long)b.sys_len, (long long)b.ref_len);
        }
    } else if (rc == 0) {
        ChrfScore c;
        if (chrf_corpus((const char *const *)h.line, h.n, refs, a->n_refs, &c, &err)) {
            fprintf(stderr, "pifi: score: %s\n", err.msg);
            rc = 1;
        } else {
            printf("{\"name\": \"chrF2\", \"score\": ");
            py_float(stdout, c.score);
            print_counts("stats", c.stats, 18);
            printf("}\n");
        }
    }
    corpus_free(&cp);
    return rc;
}

static int score_bleu(const ScoreArgs *a) { return score_mt(a, 0); }
static int score_chrf(const ScoreArgs *a) { return score_mt(a, 1); }

/* ------------------------------------------------------------------------ */
/* rouge, meteor */

/* --rouge-newline S: each S of every segment becomes "\n" and spaces (ROUGE
 * reads both as separators; rougeLsum's sentences are the lines) */
static void mark_newlines(Lines *l, const char *s) {
    size_t k = strlen(s);
    for (int i = 0; i < l->n && k; i++)
        for (char *p = strstr(l->line[i], s); p; p = strstr(p + k, s)) {
            memset(p, ' ', k);
            *p = '\n';
        }
}

static int score_rouge(const ScoreArgs *a) {
    Corpus cp;
    int rc = load_corpus(a, &cp);
    if (rc) return rc;
    if (a->rouge_newline) {
        mark_newlines(&cp.h, a->rouge_newline);
        for (int i = 0; i < cp.nr; i++) mark_newlines(&cp.r[i], a->rouge_newline);
    }
    RougePRF s[ROUGE_TYPES];
    PifiErr err = {0};
    if (rouge_corpus((const char *const *)cp.h.line, cp.h.n, cp.refs, cp.nr, a->rouge_stem, s, &err)) {
        fprintf(stderr, "pifi: score: %s\n", err.msg);
        rc = err.kind == PIFI_ERR_RUNTIME ? 1 : 2;
    } else {
        printf("{\"name\": \"ROUGE\", \"use_stemmer\": %s, \"segments\": %d, \"aggregate\": \"mean\"",
               a->rouge_stem ? "true" : "false", cp.h.n);
        for (int t = 0; t < ROUGE_TYPES; t++) {
            printf(", \"%s\": {\"precision\": ", ROUGE_NAMES[t]);
            py_float(stdout, s[t].precision);
            printf(", \"recall\": ");
            py_float(stdout, s[t].recall);
            printf(", \"fmeasure\": ");
            py_float(stdout, s[t].fmeasure);
            printf("}");
        }
        printf("}\n");
    }
    corpus_free(&cp);
    return rc;
}

static int score_meteor(const ScoreArgs *a) {
    const char *dir = a->wordnet ? a->wordnet : "/usr/share/wordnet";
    WordNet *wn;
    PifiErr err = {0};
    if (wordnet_open(dir, &wn, &err)) {
        fprintf(stderr, "pifi: score: %s%s\n", err.msg,
                a->wordnet ? "" : " (Debian's wordnet-base installs WordNet there; --wordnet DIR names another)");
        return err.kind == PIFI_ERR_RUNTIME ? 1 : 2;
    }
    Corpus cp;
    int rc = load_corpus(a, &cp);
    double m;
    if (rc == 0 && meteor_corpus(wn, (const char *const *)cp.h.line, cp.h.n, cp.refs, cp.nr, &m, &err)) {
        fprintf(stderr, "pifi: score: %s\n", err.msg);
        rc = err.kind == PIFI_ERR_RUNTIME ? 1 : 2;
    } else if (rc == 0) {
        printf("{\"name\": \"METEOR\", \"segments\": %d, \"meteor\": ", cp.h.n);
        py_float(stdout, m);
        printf("}\n");
    }
    if (rc == 0) corpus_free(&cp);
    wordnet_free(wn);
    return rc;
}

static int score_coco_bleu(const ScoreArgs *a) {
    Corpus cp;
    int rc = load_corpus(a, &cp);
    if (rc) return rc;
    CocoBleu b;
    PifiErr err = {0};
    if (coco_bleu_corpus((const char *const *)cp.h.line, cp.h.n, cp.refs, cp.nr, &b, &err)) {
        fprintf(stderr, "pifi: score: %s\n", err.msg);
        rc = err.kind == PIFI_ERR_RUNTIME ? 1 : 2;
    } else { /* nlg-eval's names */
        printf("{\"name\": \"COCO BLEU\", \"segments\": %d", cp.h.n);
        for (int k = 0; k < 4; k++) {
            printf(", \"Bleu_%d\": ", k + 1);
            py_float(stdout, b.bleu[k]);
        }
        print_counts("correct", b.correct, 4);
        print_counts("guess", b.guess, 4);
        printf(", \"testlen\": %lld, \"reflen\": %lld}\n", (long long)b.testlen, (long long)b.reflen);
    }
    corpus_free(&cp);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* bertscore */

static int score_bertscore(const ScoreArgs *a) {
    if (!a->model) return cli_usage_error("score", "--metric bertscore needs --model DIR (the encoder)");
    pifi_encoder_params ep = pifi_encoder_default_params();
    ep.precision = PIFI_PRECISION_FP32;
    pifi_encoder *enc = NULL;
    pifi_error err;
    pifi_status st = pifi_encoder_open(a->model, &ep, &enc, &err);
    if (st != PIFI_OK) {
        fprintf(stderr, "pifi: score: %s\n", err.message);
        return st == PIFI_E_RUNTIME ? 1 : 2;
    }
    Corpus cp;
    int rc = load_corpus(a, &cp);
    if (rc) {
        pifi_encoder_close(enc);
        return rc;
    }
    pifi_bertscore_params bp = pifi_bertscore_default_params();
    bp.idf = a->idf;
    if (a->batch_size) bp.batch_size = a->batch_size;
    pifi_bertscore_result mean, *seg = a->segments ? malloc((size_t)cp.h.n * sizeof *seg) : NULL;
    if (a->segments && !seg) {
        fprintf(stderr, "pifi: score: out of memory\n");
        rc = 1;
    } else if (cp.h.n == 0) {
        fprintf(stderr, "pifi: score: %s: no segments\n", a->pred);
        rc = 2;
    } else if ((st = pifi_bertscore(enc, cp.h.n, (const char *const *)cp.h.line, cp.nr, cp.refs, &bp, seg, &mean,
                                    &err)) != PIFI_OK) {
        fprintf(stderr, "pifi: score: %s\n", err.message);
        rc = st == PIFI_E_RUNTIME ? 1 : 2;
    } else {
        printf("{\"name\": \"BERTScore\", \"model\": ");
        cli_json_string(stdout, a->model);
        printf(", \"idf\": %s, \"batch_size\": %d, \"segments\": %d, \"precision\": ", a->idf ? "true" : "false",
               bp.batch_size, cp.h.n);
        py_float(stdout, mean.precision);
        printf(", \"recall\": ");
        py_float(stdout, mean.recall);
        printf(", \"f1\": ");
        py_float(stdout, mean.f1);
        if (seg) {
            const char *key[3] = {"P", "R", "F1"};
            for (int k = 0; k < 3; k++) {
                printf(", \"%s\": [", key[k]);
                for (int i = 0; i < cp.h.n; i++) {
                    if (i) printf(", ");
                    py_float(stdout, k == 0 ? seg[i].precision : k == 1 ? seg[i].recall : seg[i].f1);
                }
                printf("]");
            }
        }
        printf("}\n");
    }
    free(seg);
    corpus_free(&cp);
    pifi_encoder_close(enc);
    return rc;
}

/* ------------------------------------------------------------------------ */

static const struct {
    const char *name;
    int (*fn)(const ScoreArgs *a);
    const char *help;
} METRICS[] = {
    {"squad", score_squad,
     "the official SQuAD v1.1 evaluation: --data a SQuAD v1.1 JSON file (or the\n"
     "                   HF datasets JSON Lines form), --pred {question id: answer text}; prints\n"
     "                   {\"exact_match\": EM, \"f1\": F1} in percent, as the official script does"},
    {"bleu", score_bleu,
     "sacreBLEU's corpus BLEU with its defaults (13a tokenizer, exp smoothing):\n"
     "                   --pred hypotheses, --data references (repeat --data for more\n"
     "                   references), one segment per line"},
    {"chrf", score_chrf,
     "sacreBLEU's corpus chrF (character 6-grams, beta 2), files as for bleu"},
    {"rouge", score_rouge,
     "Google rouge-score's ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum, precision,\n"
     "                   recall and F-measure, the mean over the segments (several references:\n"
     "                   per type the best, as score_multi); files as for bleu"},
    {"meteor", score_meteor,
     "NLTK's METEOR (meteor_score: exact, Porter stem and WordNet synonym\n"
     "                   matches; words split at whitespace), the mean over the segments\n"
     "                   (several references: the best); files as for bleu"},
    {"coco-bleu", score_coco_bleu,
     "BLEU-1..4 as pycocoevalcap's Bleu(4) computes them (what nlg-eval reports\n"
     "                   as Bleu_1..Bleu_4, fractions): words split at whitespace, the\n"
     "                   closest reference length; files as for bleu"},
    {"bertscore", score_bertscore,
     "BERTScore as the bert-score package computes it (greedy cosine matching,\n"
     "                   no baseline rescaling): precision, recall and F1, the mean over\n"
     "                   the segments (several references: per segment the best); --model DIR\n"
     "                   the encoder (its last layer; fp32), --idf, --batch-size; files as\n"
     "                   for bleu"},
};
#define N_METRICS (sizeof METRICS / sizeof METRICS[0])

static void help(void) {
    printf("usage: pifi score --metric M --data GOLD [--data GOLD2 ...] --pred PREDICTIONS\n"
           "       pifi score --metric M --hyp HYPOTHESES --ref REFERENCES [--ref REFS2 ...]\n"
           "\n"
           "Score any system's predictions with a metric's reference definition.\n"
           "\n"
           "metrics:\n");
    for (size_t i = 0; i < N_METRICS; i++) printf("  %-16s %s\n", METRICS[i].name, METRICS[i].help);
    printf("\noptions:\n"
           "  --metric M       the metric (above)\n"
           "  --data F, --ref F  the gold file (all but squad: repeat for more references)\n"
           "  --pred F, --hyp F  the predictions file\n"
           "  --skip-bad-rows  leave malformed gold questions out (counted) instead of stopping\n"
           "  --rouge-stem     rouge: Porter-stem words longer than 3 letters (use_stemmer=True)\n"
           "  --rouge-newline S  rouge: S in a segment is a line break (rougeLsum's sentences are\n"
           "                   the lines of a segment), e.g. \"<n>\"\n"
           "  --wordnet DIR    meteor: WordNet 3.0's dict files (default /usr/share/wordnet)\n"
           "  --model DIR      bertscore: the encoder (a Hugging Face directory pifi reads)\n"
           "  --idf            bertscore: weight tokens by their idf over the references\n"
           "  --batch-size N   bertscore: pairs per matching batch (default 64, as bert-score;\n"
           "                   padding inside a batch changes scores slightly, as there)\n"
           "  --segments       bertscore: also each segment's P, R and F1\n"
           "  -h, --help       this text\n");
}

int cmd_score(int argc, char **argv) {
    enum { O_METRIC = 256, O_DATA, O_PRED, O_SKIP, O_STEM, O_NEWLINE, O_WORDNET, O_MODEL, O_IDF, O_BATCH, O_SEG };
    static const struct option LONG[] = {
        {"metric", 1, 0, O_METRIC},      {"data", 1, 0, O_DATA},         {"ref", 1, 0, O_DATA},
        {"pred", 1, 0, O_PRED},          {"hyp", 1, 0, O_PRED},          {"skip-bad-rows", 0, 0, O_SKIP},
        {"rouge-stem", 0, 0, O_STEM},    {"rouge-newline", 1, 0, O_NEWLINE}, {"wordnet", 1, 0, O_WORDNET},
        {"model", 1, 0, O_MODEL},        {"idf", 0, 0, O_IDF},           {"batch-size", 1, 0, O_BATCH},
        {"segments", 0, 0, O_SEG},       {"help", 0, 0, 'h'},            {0, 0, 0, 0},
    };
    const char *metric = NULL;
    ScoreArgs a = {0};
    int c;
    opterr = 0;
    optind = 1;
    while ((c = cli_getopt(argc, argv, ":h", LONG, "score")) != -1) {
        switch (c) {
        case O_METRIC: metric = optarg; break;
        case O_DATA:
            if (a.n_refs == SCORE_MAX_REFS) return cli_usage_error("score", "at most %d --data files", SCORE_MAX_REFS);
            a.data = a.refs[a.n_refs++] = optarg;
            break;
        case O_PRED: a.pred = optarg; break;
        case O_SKIP: a.skip_bad = 1; break;
        case O_STEM: a.rouge_stem = 1; break;
        case O_NEWLINE:
            if (!*optarg) return cli_usage_error("score", "--rouge-newline needs a non-empty string");
            a.rouge_newline = optarg;
            break;
        case O_WORDNET: a.wordnet = optarg; break;
        case O_MODEL: a.model = optarg; break;
        case O_IDF: a.idf = 1; break;
        case O_BATCH:
            if (cli_parse_int("score", "--batch-size", optarg, 1, 1 << 20, &a.batch_size)) return 2;
            break;
        case O_SEG: a.segments = 1; break;
        case 'h': help(); return 0;
        case ':': return cli_usage_error("score", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("score", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc) return cli_usage_error("score", "unexpected argument '%s'", argv[optind]);
    if (metric && strcmp(metric, "squad") == 0 && a.n_refs > 1)
        return cli_usage_error("score", "--metric squad takes one --data file");
    if (!metric || !a.data || !a.pred) return cli_usage_error("score", "--metric, --data and --pred are required");
    if ((a.rouge_stem || a.rouge_newline) && strcmp(metric, "rouge") != 0)
        return cli_usage_error("score", "--rouge-stem and --rouge-newline are for --metric rouge");
    if (a.wordnet && strcmp(metric, "meteor") != 0) return cli_usage_error("score", "--wordnet is for --metric meteor");
    if ((a.model || a.idf || a.batch_size || a.segments) && strcmp(metric, "bertscore") != 0)
        return cli_usage_error("score", "--model, --idf, --batch-size and --segments are for --metric bertscore");
    char names[256];
    size_t k = 0;
    for (size_t i = 0; i < N_METRICS; i++) {
        if (strcmp(metric, METRICS[i].name) == 0) return METRICS[i].fn(&a);
        k += (size_t)snprintf(names + k, sizeof names - k, "%s%s", i ? ", " : "", METRICS[i].name);
    }
    return cli_usage_error("score", "unknown metric '%s' (%s)", metric, names);
}
