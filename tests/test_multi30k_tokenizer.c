/* test_multi30k_tokenizer.c: the Unigram tokenizer of the small T5 that
 * issue 22's Multi30K runs train from scratch (experiments/multi30k-t5/,
 * tools/make_multi30k_t5.py: trained by `tokenizers`' UnigramTrainer,
 * NFKC, Metaspace, T5's </s> post-processor) gives HF's ids
 * (tests/fixtures/tokenizers/multi30k_t5_ids.txt) on all 2,000 lines of
 * Multi30K's test split, English and German (PIFI_DATA). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pifi/fileio.h"
#include "pifi/tokenizer.h"
#include "test.h"

static char *next_line(char **p) {
    char *s = *p, *e = strchr(s, '\n');
    if (!e) return NULL;
    *e = '\0';
    *p = e + 1;
    return s;
}

static void run(const char *data) {
    char p[1200], *ids, *en, *de;
    size_t n;
    PifiErr err = {0};
    snprintf(p, sizeof p, "%s/tokenizers/multi30k_t5_ids.txt", test_fixtures());
    REQUIRE(pifi_read_file(p, 1 << 24, &ids, &n, &err) == 0);
    snprintf(p, sizeof p, "%s/multi30k/test_2016_flickr.en.gz", data);
    REQUIRE(pifi_read_file_gz(p, 1 << 24, &en, &n, &err) == 0);
    snprintf(p, sizeof p, "%s/multi30k/test_2016_flickr.de.gz", data);
    REQUIRE(pifi_read_file_gz(p, 1 << 24, &de, &n, &err) == 0);
    PifiTokenizer *tk;
    snprintf(p, sizeof p, "%s/../../experiments/multi30k-t5", test_fixtures());
    REQUIRE(tokenizer_load(&tk, p, &err) == 0);
    PifiEncodeOpts o = pifi_encode_opts_default();
    PifiEncoding enc = {0};
    char *ip = ids, *tp[2] = {en, de};
    int cases = 0, same = 0;
    for (int lang = 0; lang < 2; lang++)
        for (char *text; (text = next_line(&tp[lang]));) {
            char *want = next_line(&ip);
            REQUIRE(want);
            REQUIRE(tokenizer_encode(tk, text, NULL, &o, &enc, &err) == 0);
            char got[8192];
            size_t k = 0;
            for (int i = 0; i < enc.n && k < sizeof got - 16; i++) k += (size_t)snprintf(got + k, sizeof got - k, "%s%d", i ? " " : "", enc.ids[i]);
            cases++;
            if (!strcmp(got, want)) same++;
            else if (cases - same <= 3) printf("\"%s\": pifi %s, HF %s\n", text, got, want);
        }
    printf("%d/%d Multi30K test lines tokenized as HF does\n", same, cases);
    CHECK(cases == 2000 && same == cases);
    encoding_free(&enc);
    tokenizer_free(tk);
    free(ids), free(en), free(de);
}

int main(void) {
    const char *data = test_env("PIFI_DATA", "../shared/data");
    char probe[1200];
    snprintf(probe, sizeof probe, "%s/multi30k/test_2016_flickr.en.gz", data);
    if (!pifi_file_exists(probe)) TEST_SKIP("no Multi30K under %s", data);
    run(data);
    TEST_DONE();
}
