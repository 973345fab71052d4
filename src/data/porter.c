/* porter.c: NLTK's PorterStemmer, mode NLTK_EXTENSIONS (porter.h), rule
 * for rule as nltk/stem/porter.py writes it: the irregular forms first,
 * words of at most two code points kept, then steps 1a, 1b, 1c, 2, 3, 4,
 * 5a, 5b, each a list of (suffix, replacement, condition) of which the
 * first whose suffix ends the word decides (its condition false: the word
 * stays). Words are code points; only a e i o u are vowels, y is a vowel
 * after a consonant, everything else (digits, non-ASCII) a consonant. */
#include "data/porter.h"

#include <string.h>

static int is_vowel(int32_t c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

/* _is_consonant(word, i): a y is a consonant at the start or after a vowel */
static int is_cons(const int32_t *w, size_t i) {
    if (is_vowel(w[i])) return 0;
    if (w[i] != 'y') return 1;
    int negate = 0;
    while (i > 0 && w[i] == 'y') negate = !negate, i--;
    return (!is_vowel(w[i])) != negate;
}

/* _measure: the number of "vc" in the consonant/vowel sequence of w[0, n) */
static int measure(const int32_t *w, size_t n) {
    int m = 0, prev_vowel = 0, prev_cons = 0;
    for (size_t i = 0; i < n; i++) {
        int c = is_vowel(w[i]) ? 0 : w[i] != 'y' ? 1 : i == 0 ? 1 : !prev_cons;
        if (c && prev_vowel) m++;
        prev_vowel = !c, prev_cons = c;
    }
    return m;
}

static int contains_vowel(const int32_t *w, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!is_cons(w, i)) return 1;
    return 0;
}

static int ends_double(const int32_t *w, size_t n) { return n >= 2 && w[n - 1] == w[n - 2] && is_cons(w, n - 1); }

/* _ends_cvc, with NLTK's two-letter vowel-consonant case */
static int ends_cvc(const int32_t *w, size_t n) {
    if (n >= 3 && is_cons(w, n - 3) && !is_cons(w, n - 2) && is_cons(w, n - 1) && w[n - 1] != 'w' && w[n - 1] != 'x' &&
        w[n - 1] != 'y')
        return 1;
    return n == 2 && !is_cons(w, 0) && is_cons(w, 1);
}

static int ends_with(const PyStr *w, const char *s) {
    size_t k = strlen(s);
    if (k > w->n) return 0;
    for (size_t i = 0; i < k; i++)
        if (w->c[w->n - k + i] != (unsigned char)s[i]) return 0;
    return 1;
}

static int append(PyStr *w, const char *s) {
    for (; *s; s++)
        if (pystr_push(w, (unsigned char)*s)) return -1;
    return 0;
}

static int same(const PyStr *w, const char *s) { return w->n == strlen(s) && ends_with(w, s); }

typedef enum { C_NONE, C_M0, C_M1, C_ION, C_LOGI, C_DOUBLE, C_CVC_E, C_Y, C_LL } Cond;

typedef struct {
    const char *suffix, *rep; /* rep "\x01": the word's last letter (step 1b's *d) */
    Cond cond;
} Rule;

/* the rule's condition on the stem w[0, stem) of the word w[0, n) */
static int cond_holds(Cond c, const int32_t *w, size_t stem, size_t n) {
    switch (c) {
    case C_NONE: return 1;
    case C_M0: return measure(w, stem) > 0;
    case C_M1: return measure(w, stem) > 1;
    case C_ION: return measure(w, stem) > 1 && (w[stem - 1] == 's' || w[stem - 1] == 't');
    case C_LOGI: return measure(w, n - 3) > 0;
    case C_DOUBLE: return w[n - 1] != 'l' && w[n - 1] != 's' && w[n - 1] != 'z';
    case C_CVC_E: return measure(w, stem) == 1 && ends_cvc(w, stem);
    case C_Y: return stem > 1 && is_cons(w, stem - 1);
    case C_LL: return measure(w, n - 1) > 1;
    }
    return 0;
}

/* _apply_rule_list */
static int apply_rules(PyStr *w, const Rule *r, size_t nr) {
    for (size_t i = 0; i < nr; i++) {
        size_t stem;
        if (strcmp(r[i].suffix, "*d") == 0 && ends_double(w->c, w->n)) stem = w->n - 2;
        else if (ends_with(w, r[i].suffix)) stem = w->n - strlen(r[i].suffix);
        else continue;
        if (!cond_holds(r[i].cond, w->c, stem, w->n)) return 0;
        int32_t last = w->n ? w->c[w->n - 1] : 0;
        w->n = stem;
        if (strcmp(r[i].rep, "\x01") == 0) return pystr_push(w, last);
        return append(w, r[i].rep);
    }
    return 0;
}
#define APPLY(w, rules) apply_rules(w, rules, sizeof rules / sizeof rules[0])

static int step1a(PyStr *w) {
    static const Rule R[] = {{"sses", "ss", C_NONE}, {"ies", "i", C_NONE}, {"ss", "ss", C_NONE}, {"s", "", C_NONE}};
    if (ends_with(w, "ies") && w->n == 4) return w->n = 1, append(w, "ie");
    return APPLY(w, R);
}

static int step1b(PyStr *w) {
    static const Rule R[] = {{"at", "ate", C_NONE}, {"bl", "ble", C_NONE}, {"iz", "ize", C_NONE},
                             {"*d", "\x01", C_DOUBLE}, {"", "e", C_CVC_E}};
    if (ends_with(w, "ied")) {
        int four = w->n == 4;
        w->n -= 3;
        return append(w, four ? "ie" : "i");
    }
    if (ends_with(w, "eed")) {
        if (measure(w->c, w->n - 3) > 0) w->n -= 1; /* eed -> ee */
        return 0;
    }
    if (ends_with(w, "ed") && contains_vowel(w->c, w->n - 2)) w->n -= 2;
    else if (ends_with(w, "ing") && contains_vowel(w->c, w->n - 3)) w->n -= 3;
    else return 0;
    return APPLY(w, R);
}

static int step1c(PyStr *w) {
    static const Rule R[] = {{"y", "i", C_Y}};
    return APPLY(w, R);
}

static int step2(PyStr *w) {
    static const Rule R[] = {
        {"ational", "ate", C_M0}, {"tional", "tion", C_M0}, {"enci", "ence", C_M0}, {"anci", "ance", C_M0},
        {"izer", "ize", C_M0},    {"bli", "ble", C_M0},     {"alli", "al", C_M0},   {"entli", "ent", C_M0},
        {"eli", "e", C_M0},       {"ousli", "ous", C_M0},   {"ization", "ize", C_M0}, {"ation", "ate", C_M0},
        {"ator", "ate", C_M0},    {"alism", "al", C_M0},    {"iveness", "ive", C_M0}, {"fulness", "ful", C_M0},
        {"ousness", "ous", C_M0}, {"aliti", "al", C_M0},    {"iviti", "ive", C_M0}, {"biliti", "ble", C_M0},
        {"fulli", "ful", C_M0},   {"logi", "log", C_LOGI},
    };
    while (ends_with(w, "alli") && measure(w->c, w->n - 4) > 0) w->n -= 2; /* alli -> al, then step 2 again */
    return APPLY(w, R);
}

static int step3(PyStr *w) {
    static const Rule R[] = {{"icate", "ic", C_M0}, {"ative", "", C_M0}, {"alize", "al", C_M0}, {"iciti", "ic", C_M0},
                             {"ical", "ic", C_M0},  {"ful", "", C_M0},   {"ness", "", C_M0}};
    return APPLY(w, R);
}

static int step4(PyStr *w) {
    static const Rule R[] = {
        {"al", "", C_M1},   {"ance", "", C_M1}, {"ence", "", C_M1}, {"er", "", C_M1},  {"ic", "", C_M1},
        {"able", "", C_M1}, {"ible", "", C_M1}, {"ant", "", C_M1},  {"ement", "", C_M1}, {"ment", "", C_M1},
        {"ent", "", C_M1},  {"ion", "", C_ION}, {"ou", "", C_M1},   {"ism", "", C_M1}, {"ate", "", C_M1},
        {"iti", "", C_M1},  {"ous", "", C_M1},  {"ive", "", C_M1},  {"ize", "", C_M1},
    };
    return APPLY(w, R);
}

static void step5a(PyStr *w) {
    if (!ends_with(w, "e")) return;
    int m = measure(w->c, w->n - 1);
    if (m > 1 || (m == 1 && !ends_cvc(w->c, w->n - 1))) w->n--;
}

static int step5b(PyStr *w) {
    static const Rule R[] = {{"ll", "l", C_LL}};
    return APPLY(w, R);
}

/* NLTK_EXTENSIONS' irregular forms: {form, stem} */
static const char *const POOL[][2] = {
    {"sky", "sky"},         {"skies", "sky"},     {"dying", "die"},       {"lying", "lie"},
    {"tying", "tie"},       {"news", "news"},     {"innings", "inning"},  {"inning", "inning"},
    {"outings", "outing"},  {"outing", "outing"}, {"cannings", "canning"}, {"canning", "canning"},
    {"howe", "howe"},       {"proceed", "proceed"}, {"exceed", "exceed"}, {"succeed", "succeed"},
};

int porter_stem(PyStr *w) {
    for (size_t i = 0; i < sizeof POOL / sizeof POOL[0]; i++)
        if (same(w, POOL[i][0])) return w->n = 0, append(w, POOL[i][1]);
    if (w->n <= 2) return 0;
    if (step1a(w) || step1b(w) || step1c(w) || step2(w) || step3(w) || step4(w)) return -1;
    step5a(w);
    return step5b(w);
}
