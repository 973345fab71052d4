/* squad.c: the SQuAD readers of pifi/squad.h. SQuAD v1.1 JSON
 * (data[].title, .paragraphs[].context, .qas[].id/.question/.answers[]
 * {text, answer_start}) and the Hugging Face datasets JSON Lines form (one
 * question per line: id, title, context, question, answers {text: [...],
 * answer_start: [...]}; equal consecutive contexts share one entry). Every
 * answer must be its context's text at answer_start (code points, as
 * Python counts them); a question that breaks a rule fails the load with
 * "<file>: question <id>: <what>", or is left out and counted (skip_bad).
 * SQuAD v2.0 (is_impossible true) is refused by name. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "pifi/fileio.h"
#include "pifi/json.h"
#include "pifi/squad.h"

#define SQUAD_MAX_BYTES (1024u << 20)

typedef struct {
    SquadData *d;
    const char *path;
    int skip_bad;
    int cap_q, cap_c;
    /* byte offset of each code point of the current context, and its count */
    int64_t *cp_bytes;
    int64_t n_cp, cap_cp;
} Reader;

static char *dup_str(const char *s) {
    size_t n = strlen(s);
    char *c = malloc(n + 1);
    if (c) memcpy(c, s, n + 1);
    return c;
}

/* A new context (title, text); its code point offsets computed. */
static int add_context(Reader *r, const char *title, const char *text, PifiErr *err) {
    SquadData *d = r->d;
    if (d->n_contexts == r->cap_c) {
        int nc = r->cap_c ? 2 * r->cap_c : 64;
        char **c = realloc(d->contexts, (size_t)nc * sizeof *c);
        char **t = c ? realloc(d->titles, (size_t)nc * sizeof *t) : NULL;
        if (c) d->contexts = c;
        if (t) d->titles = t;
        if (!c || !t) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        r->cap_c = nc;
    }
    char *tc = dup_str(text), *tt = dup_str(title ? title : "");
    if (!tc || !tt) {
        free(tc), free(tt);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    }
    d->contexts[d->n_contexts] = tc;
    d->titles[d->n_contexts] = tt;
    d->n_contexts++;
    /* code point -> byte offset (the JSON loader has checked it is UTF-8) */
    int64_t len = (int64_t)strlen(text);
    if (len + 1 > r->cap_cp) {
        int64_t *p = realloc(r->cp_bytes, (size_t)(len + 1) * sizeof *p);
        if (!p) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        r->cp_bytes = p, r->cap_cp = len + 1;
    }
    int64_t i = 0, n = 0;
    while (i < len) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)text + i, len - i, &c);
        if (k <= 0) return pifi_errf(err, "%s: a context is not valid UTF-8", r->path);
        r->cp_bytes[n++] = i;
        i += k;
    }
    r->cp_bytes[n] = len;
    r->n_cp = n;
    return 0;
}

/* The question's own checks: "" or what is wrong (msg). */
static int check_answer(const Reader *r, const char *ctx, const char *text, int64_t start, int a, int64_t *byte,
                        char *msg, size_t n) {
    if (!text[0]) return snprintf(msg, n, "answer %d is empty", a), -1;
    if (start < 0 || start > r->n_cp)
        return snprintf(msg, n, "answer %d's answer_start %lld is outside its context (%lld characters)", a,
                        (long long)start, (long long)r->n_cp), -1;
    int64_t b = r->cp_bytes[start], tl = (int64_t)strlen(text);
    if (b + tl > r->cp_bytes[r->n_cp] || memcmp(ctx + b, text, (size_t)tl) != 0 ||
        (b + tl < r->cp_bytes[r->n_cp] && ((unsigned char)ctx[b + tl] & 0xC0) == 0x80))
        return snprintf(msg, n, "answer %d \"%.40s\" is not the context's text at answer_start %lld", a, text,
                        (long long)start), -1;
    *byte = b;
    return 0;
}

/* One question of context ctx_i: id, question, and parallel arrays of n
 * answer texts and starts (items of JSON arrays, checked here). */
static int add_question(Reader *r, const cJSON *id, const cJSON *question, const cJSON *const *texts,
                        const cJSON *const *starts, int n, const cJSON *impossible, PifiErr *err) {
    SquadData *d = r->d;
    char msg[256] = "";
    const char *qid = cJSON_IsString(id) ? id->valuestring : NULL;
    const char *ctx = d->contexts[d->n_contexts - 1];
    int64_t *bytes = NULL;
    if (!qid || !qid[0]) snprintf(msg, sizeof msg, "a question has no \"id\" string");
    else if (cJSON_IsTrue(impossible))
        return pifi_errf(err, "%s: question %s: is_impossible is true: SQuAD v2.0's unanswerable questions are not "
                         "supported (v1.1 only)", r->path, qid);
    else if (!cJSON_IsString(question)) snprintf(msg, sizeof msg, "no \"question\" string");
    else if (n <= 0) snprintf(msg, sizeof msg, "no answers");
    if (!msg[0] && !(bytes = malloc((size_t)n * sizeof *bytes)))
        return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    for (int a = 0; !msg[0] && a < n; a++) {
        if (!cJSON_IsString(texts[a])) snprintf(msg, sizeof msg, "answer %d has no \"text\" string", a);
        else if (!cJSON_IsNumber(starts[a]) || !(fabs(starts[a]->valuedouble) < 9e15) ||
                 starts[a]->valuedouble != floor(starts[a]->valuedouble)) /* never cast what int64 cannot hold */
            snprintf(msg, sizeof msg, "answer %d has no integer \"answer_start\" (below 9e15)", a);
        else check_answer(r, ctx, texts[a]->valuestring, (int64_t)starts[a]->valuedouble, a, &bytes[a], msg,
                          sizeof msg);
    }
    if (msg[0]) {
        free(bytes);
        if (!r->skip_bad) return pifi_errf(err, "%s: question %s: %s", r->path, qid ? qid : "(no id)", msg);
        if (!d->skipped++) snprintf(d->first_skip, sizeof d->first_skip, "question %s: %s", qid ? qid : "(no id)", msg);
        return 0;
    }
    if (d->n == r->cap_q) {
        int nc = r->cap_q ? 2 * r->cap_q : 256;
        SquadQuestion *q = realloc(d->q, (size_t)nc * sizeof *q);
        if (!q) {
            free(bytes);
            return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
        }
        d->q = q, r->cap_q = nc;
    }
    SquadQuestion *q = &d->q[d->n];
    memset(q, 0, sizeof *q);
    q->starts = bytes;
    q->context = d->n_contexts - 1;
    q->id = dup_str(qid);
    q->question = dup_str(question->valuestring);
    q->answers = calloc((size_t)n, sizeof *q->answers);
    int ok = q->id && q->question && q->answers;
    for (int a = 0; ok && a < n; a++) ok = (q->answers[q->n_answers++] = dup_str(texts[a]->valuestring)) != NULL;
    d->n++; /* counted even half-made: squad_free frees it */
    return ok ? 0 : pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
}

/* SQuAD JSON: data -> paragraphs -> qas -> answers */
static int read_json(Reader *r, const cJSON *root, PifiErr *err) {
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (!cJSON_IsArray(data)) return pifi_errf(err, "%s: no \"data\" array (SQuAD v1.1 JSON expected)", r->path);
    const cJSON *art, *par, *qa;
    cJSON_ArrayForEach(art, data) {
        const cJSON *title = cJSON_GetObjectItemCaseSensitive(art, "title");
        const cJSON *pars = cJSON_GetObjectItemCaseSensitive(art, "paragraphs");
        if (!cJSON_IsArray(pars)) return pifi_errf(err, "%s: an article has no \"paragraphs\" array", r->path);
        cJSON_ArrayForEach(par, pars) {
            const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(par, "context");
            const cJSON *qas = cJSON_GetObjectItemCaseSensitive(par, "qas");
            if (!cJSON_IsString(ctx) || !cJSON_IsArray(qas))
                return pifi_errf(err, "%s: a paragraph lacks a \"context\" string or a \"qas\" array", r->path);
            if (add_context(r, cJSON_IsString(title) ? title->valuestring : "", ctx->valuestring, err)) return -1;
            cJSON_ArrayForEach(qa, qas) {
                const cJSON *answers = cJSON_GetObjectItemCaseSensitive(qa, "answers");
                int n = cJSON_IsArray(answers) ? cJSON_GetArraySize(answers) : 0;
                const cJSON **texts = calloc((size_t)(n ? n : 1), sizeof *texts);
                const cJSON **starts = calloc((size_t)(n ? n : 1), sizeof *starts);
                if (!texts || !starts) {
                    free(texts), free(starts);
                    return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
                }
                for (int a = 0; a < n; a++) {
                    const cJSON *ans = cJSON_GetArrayItem(answers, a);
                    texts[a] = cJSON_GetObjectItemCaseSensitive(ans, "text");
                    starts[a] = cJSON_GetObjectItemCaseSensitive(ans, "answer_start");
                }
                int rc = add_question(r, cJSON_GetObjectItemCaseSensitive(qa, "id"),
                                      cJSON_GetObjectItemCaseSensitive(qa, "question"), texts, starts, n,
                                      cJSON_GetObjectItemCaseSensitive(qa, "is_impossible"), err);
                free(texts), free(starts);
                if (rc) return -1;
            }
        }
    }
    return 0;
}

/* One JSON Lines record */
static int read_record(Reader *r, const cJSON *o, long long line, PifiErr *err) {
    const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(o, "context");
    const cJSON *ans = cJSON_GetObjectItemCaseSensitive(o, "answers");
    const cJSON *tx = cJSON_GetObjectItemCaseSensitive(ans, "text");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(ans, "answer_start");
    if (!cJSON_IsString(ctx)) return pifi_errf(err, "%s:%lld: no \"context\" string", r->path, line);
    if (!cJSON_IsArray(tx) || !cJSON_IsArray(st) || cJSON_GetArraySize(tx) != cJSON_GetArraySize(st))
        return pifi_errf(err, "%s:%lld: \"answers\" must hold arrays \"text\" and \"answer_start\" of one length",
                         r->path, line);
    SquadData *d = r->d;
    if (!d->n_contexts || strcmp(d->contexts[d->n_contexts - 1], ctx->valuestring) != 0) {
        const cJSON *title = cJSON_GetObjectItemCaseSensitive(o, "title");
        if (add_context(r, cJSON_IsString(title) ? title->valuestring : "", ctx->valuestring, err)) return -1;
    }
    int n = cJSON_GetArraySize(tx);
    const cJSON **texts = calloc((size_t)(n ? n : 1), sizeof *texts);
    const cJSON **starts = calloc((size_t)(n ? n : 1), sizeof *starts);
    if (!texts || !starts) {
        free(texts), free(starts);
        return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    }
    for (int a = 0; a < n; a++) texts[a] = cJSON_GetArrayItem(tx, a), starts[a] = cJSON_GetArrayItem(st, a);
    int rc = add_question(r, cJSON_GetObjectItemCaseSensitive(o, "id"), cJSON_GetObjectItemCaseSensitive(o, "question"),
                          texts, starts, n, cJSON_GetObjectItemCaseSensitive(o, "is_impossible"), err);
    free(texts), free(starts);
    return rc;
}

static int read_jsonl(Reader *r, PifiErr *err) {
    char *buf;
    size_t len;
    if (pifi_read_file(r->path, SQUAD_MAX_BYTES, &buf, &len, err)) return -1;
    int rc = 0;
    long long line = 0;
    for (size_t i = 0; rc == 0 && i < len;) {
        size_t e = i;
        while (e < len && buf[e] != '\n') e++;
        line++;
        size_t s = i;
        while (s < e && (buf[s] == ' ' || buf[s] == '\t' || buf[s] == '\r')) s++;
        if (s < e) {
            char what[64];
            snprintf(what, sizeof what, "line %lld", line);
            cJSON *o;
            if (pifi_json_parse(buf + i, e - i, what, &o, err)) {
                pifi_err_prefix(err, r->path);
                rc = -1;
            } else {
                if (!cJSON_IsObject(o)) rc = pifi_errf(err, "%s:%lld: expected a JSON object", r->path, line);
                else if (pifi_json_unique_keys(o, what, err)) rc = pifi_err_prefix(err, r->path);
                else rc = read_record(r, o, line, err);
                cJSON_Delete(o);
            }
        }
        i = e + 1;
    }
    free(buf);
    return rc;
}

/* Ids are unique (the predictions file is keyed by them). */
static int cmp_id(const void *a, const void *b) {
    return strcmp((*(const SquadQuestion *const *)a)->id, (*(const SquadQuestion *const *)b)->id);
}

static int check_unique(const Reader *r, PifiErr *err) {
    SquadData *d = r->d;
    const SquadQuestion **s = malloc((size_t)(d->n ? d->n : 1) * sizeof *s);
    if (!s) return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory");
    for (int i = 0; i < d->n; i++) s[i] = &d->q[i];
    qsort(s, (size_t)d->n, sizeof *s, cmp_id);
    int rc = 0;
    for (int i = 1; i < d->n && !rc; i++)
        if (strcmp(s[i - 1]->id, s[i]->id) == 0)
            rc = pifi_errf(err, "%s: question id %s appears twice", r->path, s[i]->id);
    free(s);
    return rc;
}

int squad_load(SquadData *d, const char *path, int skip_bad, PifiErr *err) {
    memset(d, 0, sizeof *d);
    Reader r = {d, path, skip_bad, 0, 0, NULL, 0, 0};
    int rc;
    size_t n = strlen(path);
    if (n >= 6 && strcmp(path + n - 6, ".jsonl") == 0) {
        rc = read_jsonl(&r, err);
    } else {
        cJSON *root;
        rc = pifi_json_load(path, SQUAD_MAX_BYTES, &root, err);
        if (rc == 0) {
            rc = pifi_json_unique_keys(root, path, err);
            if (rc == 0) rc = cJSON_IsObject(root) ? read_json(&r, root, err)
                                                   : pifi_errf(err, "%s: expected a JSON object", path);
            cJSON_Delete(root);
        }
    }
    if (rc == 0 && d->n == 0) rc = pifi_errf(err, "%s: no questions", path);
    if (rc == 0) rc = check_unique(&r, err);
    free(r.cp_bytes);
    if (rc) squad_free(d);
    return rc;
}

void squad_free(SquadData *d) {
    for (int i = 0; i < d->n; i++) {
        SquadQuestion *q = &d->q[i];
        for (int a = 0; a < q->n_answers; a++) free(q->answers[a]);
        free(q->answers), free(q->starts), free(q->id), free(q->question);
    }
    for (int c = 0; c < d->n_contexts; c++) free(d->contexts[c]), free(d->titles[c]);
    free(d->q), free(d->contexts), free(d->titles);
    memset(d, 0, sizeof *d);
}
