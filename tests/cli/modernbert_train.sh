#!/usr/bin/env bash
# modernbert_train.sh: the ModernBERT family end to end on a tiny random
# ModernBERT (tests/fixtures/encoders/modernbert_tiny: 4 layers, global and
# sliding-window attention, RoPE, GeGLU, vocabulary 3000 with pad id 1) with
# the byte-level BPE tokenizer of tests/fixtures/tokenizers/roberta_bpe
# (tokenizer.json), TSV files cut from SST-2, a few steps each:
#   - `pifi train --slm DIR` with --method base and pifi (stories260K's last
#     layer): each run completes; its model.safetensors holds ModernBertModel's
#     tensors under transformers' names (layer 0 without attn_norm), its
#     config.json is the model's as written (2.0 stays 2.0, which transformers
#     5's typed ModernBertConfig needs) with "pifi" added;
#   - --method lora and `pifi quantize` are refused with the family's own
#     one-line errors;
#   - `pifi eval RUN` gives the test accuracy the run recorded, `pifi predict`
#     labels a text, `pifi encode --model RUN` reads the trained encoder back.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/family_train.bash"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mb=$T/modernbert
family_slm "$mb" encoders/modernbert_tiny tokenizers/roberta_bpe
family_data 16 8 8
common=(--slm "$mb" --batch 4 --max-len 24 --epochs 1 --max-steps 3 --eval-batch 8 --precision fp32)

for method in base pifi; do
  family_train "$method" "${common[@]}"
  ok "grep -qx layers.3.attn.Wqkv.weight \$T/$method.names"
  ok "grep -qx layers.1.attn_norm.weight \$T/$method.names"
  ok "grep -qx final_norm.weight \$T/$method.names"
  ok "! grep -q 'layers.0.attn_norm\|encoder\.layer\.' \$T/$method.names"
  ok "grep -q '\"model_type\":[[:space:]]*\"modernbert\"' \$T/$method/config.json"
  # the model's config.json as written (2.0 stays 2.0: transformers 5 refuses 2 for a float field)
  ok "grep -q '\"initializer_cutoff_factor\": 2.0,' \$T/$method/config.json && grep -q '\"pifi\":' \$T/$method/config.json"
done
tail -2 "$T/pifi.out"

# LoRA and int8: the family's own errors, one line each
"$PIFI" train "${common[@]}" --train "$T/train.tsv" --valid "$T/valid.tsv" --test "$T/test.tsv" --method lora \
  -o "$T/lora" > "$T/lora.out" 2> "$T/lora.err"
ok '[[ $? -ne 0 ]] && grep -q "lora: not supported by the modernbert family" $T/lora.err && [[ $(wc -l < $T/lora.err) -eq 1 ]]'
"$PIFI" quantize "$T/base" -o "$T/q8" --all > "$T/q8.out" 2> "$T/q8.err"
ok '[[ $? -ne 0 ]] && grep -q "int8: not supported by the modernbert family" $T/q8.err'

# eval reproduces the recorded test accuracy; predict labels a text; encode reads the run back
family_eval_same "$T/pifi"
family_predict "$T/base"
"$PIFI" encode --model "$T/base" "an unexpectedly moving story" > "$T/enc.json" 2> "$T/enc.err"
ok '[[ $? -eq 0 ]] && grep -q "\"ids\"" $T/enc.json'

echo "modernbert_train: $pass checks passed, $fail failed"
[[ $fail -eq 0 ]]
