/* info_models.c: `pifi info --models`: what pifi reads, from the tables
 * that define it (the encoder family registry, the LLM architecture table),
 * each with the line saying how its numbers are checked. docs/models.md
 * says the same for people; tests/cli/models_doc.sh keeps the two in step. */
#include <stdio.h>

#include "cli/info.h"
#include "models/decoders/llm_arch.h"
#include "models/encoders/encoder_family.h"
#include "models/seq2seq/seq2seq_family.h"

static void json_list(const char *const *v) {
    printf("[");
    for (int i = 0; v[i]; i++) {
        printf(i ? "," : "");
        cli_json_string(stdout, v[i]);
    }
    printf("]");
}

/* One family's JSON object: its name, model_types and how it is checked. */
static void json_family(int first, const char *name, const char *const *types, const char *checked) {
    printf("%s{\"name\":", first ? "" : ",");
    cli_json_string(stdout, name);
    printf(",\"model_types\":");
    json_list(types);
    printf(",\"checked\":");
    cli_json_string(stdout, checked);
    printf("}");
}

/* The same as text. */
static void text_family(const char *name, const char *const *types, const char *checked) {
    printf("  %-8s model_type", name);
    for (int k = 0; types[k]; k++) printf("%s %s", k ? "," : "", types[k]);
    printf("\n           checked: %s\n", checked);
}

int info_models(int json) {
    if (json) {
        printf("{\"encoder_families\":[");
        for (int i = 0; i < ENCODER_FAMILY_COUNT; i++)
            json_family(i == 0, ENCODER_FAMILIES[i]->name, ENCODER_FAMILIES[i]->model_types, ENCODER_FAMILIES[i]->checked);
        printf("],\"seq2seq_families\":[");
        for (int i = 0; SEQ2SEQ_FAMILIES[i]; i++)
            json_family(i == 0, SEQ2SEQ_FAMILIES[i]->name, SEQ2SEQ_FAMILIES[i]->model_types, SEQ2SEQ_FAMILIES[i]->checked);
        printf("],\"llm_architectures\":[");
        for (int i = 0; i < llm_arch_count(); i++) {
            const LlmArchInfo *a = llm_arch_row(i);
            printf("%s{\"model_type\":", i ? "," : "");
            cli_json_string(stdout, a->model_type);
            printf(",\"gguf\":");
            if (a->gguf) cli_json_string(stdout, a->gguf);
            else printf("null");
            printf(",\"checked\":");
            cli_json_string(stdout, a->checked);
            printf("}");
        }
        printf("]}\n");
        return 0;
    }
    printf("small models (--slm: a Hugging Face directory, picked by config.json's model_type; or a GGUF of a BERT, llama or qwen2 model):\n");
    for (int i = 0; i < ENCODER_FAMILY_COUNT; i++)
        text_family(ENCODER_FAMILIES[i]->name, ENCODER_FAMILIES[i]->model_types, ENCODER_FAMILIES[i]->checked);
    printf("encoder-decoder models (generation; read and checked, not yet trainable from the command line):\n");
    for (int i = 0; SEQ2SEQ_FAMILIES[i]; i++)
        text_family(SEQ2SEQ_FAMILIES[i]->name, SEQ2SEQ_FAMILIES[i]->model_types, SEQ2SEQ_FAMILIES[i]->checked);
    printf("LLM layers (--llm: a Hugging Face directory by model_type, or a GGUF by general.architecture):\n");
    for (int i = 0; i < llm_arch_count(); i++) {
        const LlmArchInfo *a = llm_arch_row(i);
        printf("  %-8s GGUF %s\n           checked: %s\n", a->model_type, a->gguf ? a->gguf : "(not read from GGUF)",
               a->checked);
    }
    printf("docs/models.md: the tokenizers, and where real checkpoints come from\n");
    return 0;
}
