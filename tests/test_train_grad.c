/* test_train_grad.c: training against PyTorch autograd (fixtures/train/,
 * written by tools/oracle_train.py), for each method: the gradient of every
 * trainable tensor on one batch (within 1e-4 relative to the tensor's
 * largest), then 10 optimizer steps: the losses and gradient norms within
 * 1e-4 and the final values of a few tensors. Dropout is off in the oracle.
 * The *_mpnet cases train an MPNet SLM (its relative position bias too),
 * the *_albert cases an ALBERT SLM (its one layer of weights, run by every
 * layer, and LoRA on its shared query and value), the *_modernbert cases a
 * ModernBERT SLM (its own layout behind Encoder.priv; no LoRA), the
 * *_decoder cases a decoder-only LM (fixtures/decoders/llama_tiny: LlamaModel,
 * GQA) pooled at the last real token, as the decoder family's runs pool. The
 * checks are test_train_oracle.h's, shared with test_deberta.c. */
#include "test_train_oracle.h"

static const char *CASES[] = {"base",       "pifi_llama", "pifi_gemma2",      "pifi_qwen2", "pifi_unfrozen_llama",
                              "lora",       "base_adamw", "base_mpnet", "pifi_llama_mpnet", "lora_mpnet",
                              "base_albert", "pifi_llama_albert", "lora_albert", "base_modernbert",
                              "pifi_llama_modernbert", "base_decoder", "pifi_llama_decoder", "lora_decoder"};

int main(void) {
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/train/%s", test_fixtures(), CASES[i]);
        train_oracle_case(dir, CASES[i], NULL, train_oracle_family_view);
    }
    TEST_DONE();
}
