#!/usr/bin/env bash
# deberta_train.sh: the DeBERTa family end to end on a tiny random DeBERTa-V3
# (tests/fixtures/deberta/cli_v3, tools/oracle_deberta.py) with the
# SentencePiece Unigram tokenizer.json of tests/fixtures/tokenizers/
# deberta_v3_unigram, TSV files cut from SST-2, a few steps each:
#   - `pifi train --slm DIR` with --method base, pifi (stories260K's last
#     layer) and lora, --max-steps 3: each run completes; its model.safetensors
#     holds DeBERTa-V2's tensors under transformers' names (LoRA folded in, no
#     adapter left), its config.json says deberta-v2;
#   - `pifi eval RUN` gives the test accuracy the run recorded, `pifi predict`
#     labels a text;
#   - `pifi quantize --all` refuses in the family's own words (no int8 form);
#     the LLM layer alone is quantized and `pifi eval` reads that run.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/family_train.bash"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
family_slm "$T/slm" deberta/cli_v3 tokenizers/deberta_v3_unigram
family_data 24 8 8
common=(--slm "$T/slm" --batch 4 --max-len 24 --epochs 1 --max-steps 3 --eval-batch 8 --precision fp32)

for method in base pifi lora; do
  family_train "$method" "${common[@]}"
  ok "grep -qx encoder.rel_embeddings.weight \$T/$method.names"
  ok "grep -qx encoder.LayerNorm.weight \$T/$method.names"
  ok "grep -qx encoder.layer.1.attention.self.query_proj.weight \$T/$method.names"
  ok "! grep -q lora_ \$T/$method.names"
  ok "grep -q '\"model_type\":[[:space:]]*\"deberta-v2\"' \$T/$method/config.json"
  ok "[[ -s \$T/$method/tokenizer.json ]]"
done
tail -2 "$T/pifi.out"

# eval reproduces the recorded test accuracy; predict labels a text
for method in base lora; do family_eval_same "$T/$method"; done
family_predict "$T/pifi"

# the SLM has no int8 form: an error of its own; the LLM layer alone is quantized
"$PIFI" quantize "$T/base" -o "$T/q8" --all > "$T/q8.out" 2> "$T/q8.err"
ok '[[ $? -ne 0 ]] && grep -q "int8 quantization is not supported by the deberta family" $T/q8.err'
"$PIFI" quantize "$T/pifi" -o "$T/q8p" > "$T/q8p.out" 2> "$T/q8p.err"
ok '[[ $? -eq 0 ]]'
"$PIFI" eval "$T/q8p" > "$T/q8eval.out" 2> "$T/q8eval.err"
ok '[[ $? -eq 0 ]] && grep -q accuracy $T/q8eval.out'

echo "deberta_train: $pass checks passed, $fail failed"
[[ $fail -eq 0 ]]
