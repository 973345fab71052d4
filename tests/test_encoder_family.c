/* test_encoder_family.c: the registry of encoder families
 * (models/encoders/encoder_family.h): config.json's model_type picks the
 * family, an unknown one is refused naming every supported model_type, every
 * registered family fills every entry of its table, and the family-neutral
 * entry points reach the family (its trainable tensors cover the parameter
 * arena exactly, in order). */
#include <stddef.h>
#include <stdint.h>

#include "models/encoders/encoder_family.h"
#include "pifi/fileio.h"
#include "pifi/pifi_model.h"
#include "test.h"
#include "test_cx.h"

static const char *tmp_dir(void) {
    const char *t = getenv("PIFI_TESTS_TMP");
    return t ? t : "/tmp";
}

/* Every entry of every registered family's table is filled, and each of its
 * model_types finds it (and no other family). */
static void test_tables_filled(void) {
    CHECK(ENCODER_FAMILY_COUNT >= 1);
    for (int i = 0; i < ENCODER_FAMILY_COUNT; i++) {
        const EncoderFamily *f = ENCODER_FAMILIES[i];
        REQUIRE(f != NULL);
        const char *n = f->name ? f->name : "(no name)";
        CHECKF(f->name && f->name[0], "family %d has no name", i);
        CHECKF(f->model_types && f->model_types[0], "%s: no model_types", n);
        CHECKF(f->checked && f->checked[0], "%s: no line saying how it is checked", n);
        const void *entries[] = {
            (const void *)f->config_parse,        (const void *)f->config_params,
            (const void *)f->config_pooler_params, (const void *)f->config_flops,
            (const void *)f->config_lora_params,  (const void *)f->config_act_floats,
            (const void *)f->config_grad_scratch_floats, (const void *)f->config_widest,
            (const void *)f->config_int8,         (const void *)f->load,
            (const void *)f->free,                (const void *)f->forward,
            (const void *)f->output,              (const void *)f->backward,
            (const void *)f->tensors,             (const void *)f->export_tensors,
            (const void *)f->quantize,            (const void *)f->int8_parts,
            (const void *)f->lora_enable,
        };
        /* the list above names every entry: the table is its data fields (name, model_types, checked,
         * default_pooling), then these pointers */
        CHECKF(sizeof entries / sizeof entries[0] * sizeof(void *) + offsetof(EncoderFamily, config_parse) ==
                   sizeof *f,
               "%s: EncoderFamily has entries this test does not check", n);
        CHECKF(f->default_pooling >= POOL_CLS && f->default_pooling <= POOL_LAST, "%s: default_pooling %d", n,
               f->default_pooling);
        for (size_t e = 0; e < sizeof entries / sizeof entries[0]; e++)
            CHECKF(entries[e] != NULL, "%s: table entry %zu is empty", n, e);
        for (const char *const *t = f->model_types; t && *t; t++)
            CHECKF(encoder_family_find(*t) == f, "%s: model_type \"%s\" finds another family", n, *t);
    }
    CHECK(encoder_family_find("gpt2") == NULL);
    CHECK(encoder_family_find(NULL) == NULL);
}

/* config.json's model_type picks the family; the family reads the rest. */
static void test_dispatch(void) {
    static const struct {
        const char *fixture, *model_type;
        EncoderArch arch;
        const EncoderFamily *family;
    } CASES[] = {{"bert_tiny", "bert", ENC_BERT, &ENCODER_FAMILY_BERT},
                 {"roberta_tiny", "roberta", ENC_ROBERTA, &ENCODER_FAMILY_BERT},
                 {"electra_tiny", "electra", ENC_ELECTRA, &ENCODER_FAMILY_BERT},
                 {"minilm_tiny", "bert", ENC_BERT, &ENCODER_FAMILY_BERT},
                 {"mpnet_tiny", "mpnet", ENC_MPNET, &ENCODER_FAMILY_MPNET},
                 {"mpnet_long", "mpnet", ENC_MPNET, &ENCODER_FAMILY_MPNET},
                 /* arch is the BERT family's; DeBERTa leaves it 0 */
                 {"../deberta/encoders/deberta_v1_tiny", "deberta", ENC_BERT, &ENCODER_FAMILY_DEBERTA},
                 {"../deberta/encoders/deberta_v3_tiny", "deberta-v2", ENC_BERT, &ENCODER_FAMILY_DEBERTA},
                 {"albert_tiny", "albert", ENC_ALBERT, &ENCODER_FAMILY_ALBERT},
                 {"albert_square", "albert", ENC_ALBERT, &ENCODER_FAMILY_ALBERT},
                 {"modernbert_tiny", "modernbert", ENC_BERT, &ENCODER_FAMILY_MODERNBERT},
                 {"modernbert_bias", "modernbert", ENC_BERT, &ENCODER_FAMILY_MODERNBERT}};
    const char *fx = getenv("PIFI_FIXTURES");
    REQUIRE(fx != NULL);
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char dir[1024], path[1100];
        snprintf(dir, sizeof dir, "%s/encoders/%s", fx, CASES[i].fixture);
        snprintf(path, sizeof path, "%s/config.json", dir);
        PifiErr err = {0};
        EncoderConfig cfg;
        int rc = encoder_config_load(&cfg, path, &err);
        CHECKF(rc == 0, "%s: %s", CASES[i].fixture, err.msg);
        if (rc) continue;
        CHECKF(cfg.family == encoder_family_find(CASES[i].model_type) && cfg.family == CASES[i].family,
               "%s: read by the wrong family", CASES[i].fixture);
        CHECK(!strcmp(cfg.model_type, CASES[i].model_type));
        CHECK(cfg.arch == CASES[i].arch);

        /* the loaded encoder reaches its family: the trainable tensors tile the arena in order */
        Encoder m;
        rc = encoder_load(&m, dir, test_cx_fp32(), &err);
        CHECKF(rc == 0, "%s: %s", CASES[i].fixture, err.msg);
        if (rc) continue;
        CHECK(m.cfg.family == cfg.family);
        EncoderTensor rows[ENCODER_TENSORS_MAX];
        int n = encoder_tensors(&m, rows, ENCODER_TENSORS_MAX);
        CHECKF(n > 0, "%s: no tensors", CASES[i].fixture);
        int64_t off = 0;
        int tiled = 1;
        for (int r = 0; r < n; r++) {
            tiled &= rows[r].w == m.param_mem + off && rows[r].n > 0 && rows[r].name && rows[r].name[0];
            off += rows[r].n;
        }
        CHECKF(tiled && off == encoder_param_count(&m), "%s: the tensors do not tile the arena (%lld of %lld)",
               CASES[i].fixture, (long long)off, (long long)encoder_param_count(&m));
        CHECK(encoder_tensors(&m, rows, n - 1) == -1); /* too small a table is refused */
        /* from the config alone: the parameters PiFi uses, plus the pooler, are the arena */
        int64_t want = encoder_config_params(&cfg) + (m.has_pooler ? encoder_config_pooler_params(&cfg) : 0);
        CHECKF(want == encoder_param_count(&m), "%s: config says %lld parameters, the arena has %lld",
               CASES[i].fixture, (long long)want, (long long)encoder_param_count(&m));
        encoder_free(&m);
    }
}

/* An unknown model_type: one line naming every supported one, from the table. */
static void test_unknown_refused(void) {
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/enc_family", tmp_dir());
    PifiErr err = {0};
    REQUIRE(pifi_mkdirs(dir, &err) == 0);
    snprintf(path, sizeof path, "%s/config.json", dir);
    const char *t5 = "{\"model_type\": \"t5\", \"vocab_size\": 10}";
    REQUIRE(pifi_write_file_atomic(path, t5, strlen(t5), &err) == 0);
    EncoderConfig cfg;
    CHECK(encoder_config_load(&cfg, path, &err) == -1);
    CHECK_MSG(err, "unsupported model_type \"t5\"");
    CHECK(strchr(err.msg, '\n') == NULL);
    for (int i = 0; i < ENCODER_FAMILY_COUNT; i++)
        for (const char *const *t = ENCODER_FAMILIES[i]->model_types; *t; t++) {
            char quoted[64];
            snprintf(quoted, sizeof quoted, " %s", *t);
            CHECK_MSG(err, quoted);
        }
    char list[512];
    encoder_family_supported(list, sizeof list);
    CHECK(!strcmp(list, "bert, roberta, electra, mpnet, deberta, deberta-v2, llama, qwen2, albert, modernbert"));
    CHECK_MSG(err, list);
    Encoder m;
    CHECK(encoder_load(&m, dir, test_cx_fp32(), &err) == -1);
    CHECK_MSG(err, "unsupported model_type \"t5\"");
}

int main(void) {
    test_tables_filled();
    test_dispatch();
    test_unknown_refused();
    TEST_DONE();
}
