/* wordnet.c: WordNet 3.0's dict files (Debian's wordnet-base,
 * /usr/share/wordnet) read as hostile input, for METEOR's synonym stage,
 * as NLTK's WordNetCorpusReader reads them:
 *
 *   index.POS  lemma pos n_synsets n_ptrs ptr... n_senses n_tagged offset...
 *   data.POS   offset lexfile ss_type w_cnt(hex) (word lex_id(hex))... ...
 *   POS.exc    inflected base...
 *
 * (lines starting with a space are the license header). Every file is read
 * whole and checked line by line: the counts against what follows, numbers
 * as digits, index.POS's pos column its file's, every data.POS line at the
 * byte offset it names, every synset offset of index.POS a line of
 * data.POS; a line that breaks a rule is "<file>: line N: <what>". Tokens
 * are split at ASCII whitespace (the real files are ASCII). A lemma or
 * exception listed twice: the last line counts, as in NLTK's dict. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/wordnet.h"
#include "pifi/fileio.h"

#define WN_MAX_FILE (256u << 20)

typedef struct {
    const char *key;
    uint32_t start, count;
} Entry;

typedef struct {
    Entry *e;
    size_t cap, n; /* cap a power of two, at least twice n */
} Map;

typedef struct {
    Map index, exc;
    uint32_t *offs;     /* index: the synset offsets of the lemmas */
    const char **exw;   /* exc: the base forms */
    uint32_t *ss_off, *ss_start, *ss_cnt; /* data: synsets by increasing offset, their names */
    const char **names;
    size_t n_offs, c_offs, n_exw, c_exw, n_ss, c_ss, n_names, c_names;
} Pos;

enum { WN_NOUN, WN_VERB, WN_ADJ, WN_ADV, WN_POS };
static const char *const POS_FILE[WN_POS] = {"noun", "verb", "adj", "adv"};
static const char POS_CHAR[WN_POS] = {'n', 'v', 'a', 'r'};

struct WordNet {
    char *buf[WORDNET_FILES]; /* slot 3 p: data.POS, 3 p + 1: index.POS, 3 p + 2: POS.exc */
    size_t len[WORDNET_FILES];
    Pos p[WN_POS];
};

static void slot_name(int slot, char name[32]) {
    const char *pos = POS_FILE[slot / 3];
    if (slot % 3 == 0) snprintf(name, 32, "data.%s", pos);
    else if (slot % 3 == 1) snprintf(name, 32, "index.%s", pos);
    else snprintf(name, 32, "%s.exc", pos);
}

/* ------------------------------------------------------------------------ */

static uint64_t hash(const char *s) {
    uint64_t h = 1469598103934665603u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static Entry *map_find(const Map *m, const char *key) {
    if (!m->cap) return NULL;
    for (size_t i = hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->e[i].key) return NULL;
        if (strcmp(m->e[i].key, key) == 0) return &m->e[i];
    }
}

/* insert or replace key -> (start, count); -1: out of memory */
static int map_put(Map *m, const char *key, uint32_t start, uint32_t count) {
    if (2 * (m->n + 1) > m->cap) {
        size_t nc = m->cap ? 2 * m->cap : 1024;
        Entry *e = calloc(nc, sizeof *e);
        if (!e) return -1;
        for (size_t i = 0; i < m->cap; i++)
            if (m->e[i].key) {
                size_t j = hash(m->e[i].key) & (nc - 1);
                while (e[j].key) j = (j + 1) & (nc - 1);
                e[j] = m->e[i];
            }
        free(m->e);
        m->e = e, m->cap = nc;
    }
    size_t i = hash(key) & (m->cap - 1);
    while (m->e[i].key && strcmp(m->e[i].key, key)) i = (i + 1) & (m->cap - 1);
    if (!m->e[i].key) m->n++;
    m->e[i] = (Entry){key, start, count};
    return 0;
}

/* grow *arr (elements of size sz) to hold n + 1 */
static int grow(void *arr, size_t sz, size_t n, size_t *cap) {
    if (n < *cap) return 0;
    size_t nc = *cap ? 2 * *cap : 256;
    void *p = realloc(*(void **)arr, nc * sz);
    if (!p) return -1;
    *(void **)arr = p, *cap = nc;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* lines and tokens */

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/* the next whitespace-separated token of the line at *p, NUL-terminated in place; NULL at its end */
static char *tok(char **p) {
    char *s = *p;
    while (is_ws(*s)) s++;
    if (!*s) return *p = s, NULL;
    char *t = s;
    while (*s && !is_ws(*s)) s++;
    if (*s) *s++ = '\0';
    *p = s;
    return t;
}

/* a decimal (base 10) or hex (16) number of at most 9 digits */
static int num(const char *t, int base, uint32_t *v) {
    if (!t || !*t || strlen(t) > 9) return -1;
    uint32_t x = 0;
    for (; *t; t++) {
        int d = *t >= '0' && *t <= '9' ? *t - '0'
                : base == 16 && *t >= 'a' && *t <= 'f' ? *t - 'a' + 10
                : base == 16 && *t >= 'A' && *t <= 'F' ? *t - 'A' + 10
                : -1;
        if (d < 0) return -1;
        x = x * (uint32_t)base + (uint32_t)d;
    }
    *v = x;
    return 0;
}

typedef struct {
    char file[32];
    char *buf, *next;
    size_t len, lineno;
    char *line;
    size_t at; /* the line's byte offset */
} Reader;

static void reader_init(Reader *r, const WordNet *wn, int slot) {
    memset(r, 0, sizeof *r);
    slot_name(slot, r->file);
    r->buf = r->next = wn->buf[slot];
    r->len = wn->len[slot];
}

/* the next line, NUL-terminated in place (0), or none left (1) */
static int next_line(Reader *r) {
    if (r->next >= r->buf + r->len) return 1;
    r->line = r->next;
    r->at = (size_t)(r->line - r->buf);
    r->lineno++;
    char *e = memchr(r->line, '\n', (size_t)(r->buf + r->len - r->line));
    if (e) *e = '\0', r->next = e + 1;
    else r->next = r->buf + r->len;
    return 0;
}

/* "<file>: line N: <what>" */
__attribute__((format(printf, 3, 4))) static int line_err(const Reader *r, PifiErr *err, const char *fmt, ...) {
    char m[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    return pifi_errf(err, "%s: line %zu: %s", r->file, r->lineno, m);
}
#define LINE_ERR(r, ...) line_err(r, err, __VA_ARGS__)

static int oom(PifiErr *err) { return pifi_errk(err, PIFI_ERR_RUNTIME, "out of memory"); }

/* ------------------------------------------------------------------------ */

/* "word(marker)" -> "word": NLTK's (.*?)(\([^()]*\))?$ */
static void strip_marker(char *w) {
    size_t n = strlen(w);
    if (!n || w[n - 1] != ')') return;
    for (size_t i = n - 1; i-- > 0;) {
        if (w[i] == ')') return;
        if (w[i] == '(') {
            w[i] = '\0';
            return;
        }
    }
}

static int load_data(WordNet *wn, int p, PifiErr *err) {
    Reader r;
    Pos *P = &wn->p[p];
    reader_init(&r, wn, 3 * p);
    while (next_line(&r) == 0) {
        if (r.line[0] == ' ' || r.line[0] == '\0') continue; /* the license header; an empty last line */
        char *s = r.line, *t = tok(&s);
        uint32_t off, lex, wc;
        if (!t || strlen(t) != 8 || num(t, 10, &off)) return LINE_ERR(&r, "the synset offset is not 8 digits");
        if (off != r.at) return LINE_ERR(&r, "the line names offset %u but starts at byte %zu", off, r.at);
        if (num(tok(&s), 10, &lex)) return LINE_ERR(&r, "the lexicographer file number is not a number");
        const char *type = tok(&s);
        if (!type || strlen(type) != 1 || !strchr("nvasr", type[0])) return LINE_ERR(&r, "bad synset type");
        if (num(tok(&s), 16, &wc) || wc == 0) return LINE_ERR(&r, "the word count is not a positive hex number");
        if (P->n_ss && off <= P->ss_off[P->n_ss - 1]) return LINE_ERR(&r, "offsets out of order");
        if (grow(&P->ss_off, sizeof *P->ss_off, P->n_ss, &P->c_ss)) return oom(err);
        size_t c = P->c_ss; /* the three arrays grow together */
        uint32_t *a = realloc(P->ss_start, c * sizeof *a);
        if (!a) return oom(err);
        P->ss_start = a;
        if (!(a = realloc(P->ss_cnt, c * sizeof *a))) return oom(err);
        P->ss_cnt = a;
        P->ss_off[P->n_ss] = off, P->ss_start[P->n_ss] = (uint32_t)P->n_names, P->ss_cnt[P->n_ss] = wc;
        for (uint32_t k = 0; k < wc; k++) {
            char *w = tok(&s);
            uint32_t lex_id;
            if (!w || num(tok(&s), 16, &lex_id)) return LINE_ERR(&r, "word %u of %u missing or without lex_id", k + 1, wc);
            strip_marker(w);
            if (grow(&P->names, sizeof *P->names, P->n_names, &P->c_names)) return oom(err);
            P->names[P->n_names++] = w;
        }
        P->n_ss++;
    }
    return 0;
}

static int find_synset(const Pos *P, uint32_t off) {
    size_t lo = 0, hi = P->n_ss;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (P->ss_off[mid] == off) return (int)mid;
        if (P->ss_off[mid] < off) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

static int load_index(WordNet *wn, int p, PifiErr *err) {
    Reader r;
    Pos *P = &wn->p[p];
    reader_init(&r, wn, 3 * p + 1);
    while (next_line(&r) == 0) {
        if (r.line[0] == ' ') continue; /* the license header */
        char *s = r.line, *lemma = tok(&s), *pos = tok(&s);
        uint32_t ns, np, nsense, x;
        if (!lemma) return LINE_ERR(&r, "empty line");
        if (!pos || strlen(pos) != 1 || pos[0] != POS_CHAR[p])
            return LINE_ERR(&r, "the part of speech is not %c", POS_CHAR[p]);
        if (num(tok(&s), 10, &ns) || ns == 0) return LINE_ERR(&r, "the synset count is not a positive number");
        if (num(tok(&s), 10, &np)) return LINE_ERR(&r, "the pointer count is not a number");
        for (uint32_t k = 0; k < np; k++)
            if (!tok(&s)) return LINE_ERR(&r, "ends within its %u pointer symbols", np);
        if (num(tok(&s), 10, &nsense) || nsense != ns) return LINE_ERR(&r, "the sense count is not the synset count %u", ns);
        if (!tok(&s)) return LINE_ERR(&r, "ends before the tagged sense count");
        uint32_t start = (uint32_t)P->n_offs;
        for (uint32_t k = 0; k < ns; k++) {
            const char *t = tok(&s);
            if (!t || strlen(t) != 8 || num(t, 10, &x)) return LINE_ERR(&r, "synset offset %u of %u is not 8 digits", k + 1, ns);
            if (find_synset(P, x) < 0) return LINE_ERR(&r, "synset offset %08u is not a line of data.%s", x, POS_FILE[p]);
            if (grow(&P->offs, sizeof *P->offs, P->n_offs, &P->c_offs)) return oom(err);
            P->offs[P->n_offs++] = x;
        }
        if (map_put(&P->index, lemma, start, ns)) return oom(err);
    }
    return 0;
}

static int load_exc(WordNet *wn, int p, PifiErr *err) {
    Reader r;
    Pos *P = &wn->p[p];
    reader_init(&r, wn, 3 * p + 2);
    while (next_line(&r) == 0) {
        char *s = r.line, *form = tok(&s), *t;
        if (!form) return LINE_ERR(&r, "empty line");
        uint32_t start = (uint32_t)P->n_exw;
        while ((t = tok(&s))) {
            if (grow(&P->exw, sizeof *P->exw, P->n_exw, &P->c_exw)) return oom(err);
            P->exw[P->n_exw++] = t;
        }
        if (P->n_exw - start > UINT32_MAX) return LINE_ERR(&r, "too many forms");
        if (map_put(&P->exc, form, start, (uint32_t)(P->n_exw - start))) return oom(err);
    }
    return 0;
}

static int parse(WordNet *wn, PifiErr *err) {
    for (int i = 0; i < WORDNET_FILES; i++)
        if (memchr(wn->buf[i], '\0', wn->len[i])) {
            char name[32];
            slot_name(i, name);
            return pifi_errf(err, "%s: holds a NUL byte", name);
        }
    for (int p = 0; p < WN_POS; p++)
        if (load_data(wn, p, err) || load_index(wn, p, err) || load_exc(wn, p, err)) return -1;
    return 0;
}

int wordnet_from_buffers(char *buf[WORDNET_FILES], const size_t len[WORDNET_FILES], WordNet **out, PifiErr *err) {
    *out = NULL;
    WordNet *wn = calloc(1, sizeof *wn);
    if (!wn) {
        for (int i = 0; i < WORDNET_FILES; i++) free(buf[i]);
        return oom(err);
    }
    for (int i = 0; i < WORDNET_FILES; i++) wn->buf[i] = buf[i], wn->len[i] = len[i];
    if (parse(wn, err)) return wordnet_free(wn), -1;
    *out = wn;
    return 0;
}

int wordnet_open(const char *dir, WordNet **out, PifiErr *err) {
    char *buf[WORDNET_FILES] = {0};
    size_t len[WORDNET_FILES] = {0};
    for (int i = 0; i < WORDNET_FILES; i++) {
        char name[32], path[4096];
        slot_name(i, name);
        int rc = (size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path
                     ? pifi_errf(err, "%s: path too long", dir)
                     : pifi_read_file(path, WN_MAX_FILE, &buf[i], &len[i], err);
        if (rc) {
            for (int k = 0; k < i; k++) free(buf[k]);
            return -1;
        }
    }
    if (wordnet_from_buffers(buf, len, out, err) == 0) return 0;
    if (!strstr(err->msg, dir)) { /* name the folder: "<dir>/index.noun: line N: ..." */
        char m[PIFI_ERR_MSG_MAX];
        snprintf(m, sizeof m, "%s", err->msg);
        pifi_errk(err, err->kind, "%s/%s", dir, m);
    }
    return -1;
}

void wordnet_free(WordNet *wn) {
    if (!wn) return;
    for (int i = 0; i < WORDNET_FILES; i++) free(wn->buf[i]);
    for (int p = 0; p < WN_POS; p++) {
        Pos *P = &wn->p[p];
        free(P->index.e), free(P->exc.e), free(P->offs), free(P->exw);
        free(P->ss_off), free(P->ss_start), free(P->ss_cnt), free(P->names);
    }
    free(wn);
}

/* ------------------------------------------------------------------------ */
/* synsets(word): morphy's forms of each part of speech, their synsets' names */

typedef struct {
    const char *old, *new;
} Subst;

static const Subst NOUN_SUB[] = {{"s", ""},     {"ses", "s"},   {"ves", "f"},   {"xes", "x"}, {"zes", "z"},
                                 {"ches", "ch"}, {"shes", "sh"}, {"men", "man"}, {"ies", "y"}};
static const Subst VERB_SUB[] = {{"s", ""},  {"ies", "y"}, {"es", "e"},  {"es", ""},
                                 {"ed", "e"}, {"ed", ""},   {"ing", "e"}, {"ing", ""}};
static const Subst ADJ_SUB[] = {{"er", ""}, {"est", ""}, {"er", "e"}, {"est", "e"}};

static const struct {
    const Subst *s;
    int n;
} SUBST[WN_POS] = {{NOUN_SUB, 9}, {VERB_SUB, 8}, {ADJ_SUB, 4}, {NULL, 0}};

/* the names of the synsets of form (if it is a lemma of P) */
static int walk_form(const Pos *P, const char *form, int (*fn)(void *, const char *), void *ctx) {
    const Entry *e = map_find(&P->index, form);
    if (!e) return 0;
    for (uint32_t k = 0; k < e->count; k++) {
        int s = find_synset(P, P->offs[e->start + k]); /* found: checked on loading */
        for (uint32_t j = 0; s >= 0 && j < P->ss_cnt[s]; j++) {
            int rc = fn(ctx, P->names[P->ss_start[s] + j]);
            if (rc) return rc;
        }
    }
    return 0;
}

int wordnet_synonyms(const WordNet *wn, const char *word, int (*fn)(void *ctx, const char *name), void *ctx) {
    size_t n = strlen(word);
    char *buf = malloc(n + 8);
    if (!buf) return -1;
    int rc = 0;
    for (int p = 0; p < WN_POS && !rc; p++) {
        const Pos *P = &wn->p[p];
        rc = walk_form(P, word, fn, ctx); /* filter_forms([form] + forms) */
        const Entry *x = map_find(&P->exc, word);
        if (x) {
            for (uint32_t k = 0; k < x->count && !rc; k++) rc = walk_form(P, P->exw[x->start + k], fn, ctx);
            continue;
        }
        for (int k = 0; k < SUBST[p].n && !rc; k++) {
            size_t lo = strlen(SUBST[p].s[k].old);
            if (lo > n || memcmp(word + n - lo, SUBST[p].s[k].old, lo)) continue;
            memcpy(buf, word, n - lo);
            strcpy(buf + n - lo, SUBST[p].s[k].new);
            rc = walk_form(P, buf, fn, ctx);
        }
    }
    free(buf);
    return rc;
}
