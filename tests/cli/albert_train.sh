#!/usr/bin/env bash
# albert_train.sh: the ALBERT family end to end on a tiny random ALBERT
# (tests/fixtures/encoders/albert_tiny: E 16 -> C 32, one layer's weights run
# by its 3 layers, vocabulary 2000) with the SentencePiece Unigram tokenizer
# of tests/fixtures/tokenizers/albert_unigram (AlbertConverter's
# tokenizer.json), TSV files cut from SST-2, a few steps each:
#   - `pifi train --slm DIR` with --method base, pifi (stories260K's last
#     layer) and lora: each run completes; its model.safetensors holds the one
#     shared layer under transformers' AlbertModel names (LoRA folded in, no
#     adapter left), config.json says albert;
#   - `pifi eval RUN` gives the test accuracy the run recorded, `pifi predict`
#     labels a text (and a pair);
#   - `pifi encode --model RUN` reads the trained encoder back;
#   - `pifi quantize RUN --all` writes an int8 run that `pifi eval` reads.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/family_train.bash"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
albert=$T/albert
family_slm "$albert" encoders/albert_tiny tokenizers/albert_unigram
family_data 16 8 8
common=(--slm "$albert" --batch 4 --max-len 24 --epochs 1 --max-steps 3 --eval-batch 8 --precision fp32)
layer=encoder.albert_layer_groups.0.albert_layers

for method in base pifi lora; do
  family_train "$method" "${common[@]}"
  ok "grep -qx $layer.0.attention.query.weight \$T/$method.names"
  ok "grep -qx $layer.0.full_layer_layer_norm.bias \$T/$method.names"
  ok "grep -qx encoder.embedding_hidden_mapping_in.weight \$T/$method.names"
  ok "! grep -q 'albert_layers\.1\|albert_layer_groups\.1\|encoder\.layer\.' \$T/$method.names"
  ok "! grep -q lora_ \$T/$method.names"
  ok "grep -q '\"model_type\":[[:space:]]*\"albert\"' \$T/$method/config.json"
done
tail -2 "$T/lora.out"

# eval reproduces the recorded test accuracy; predict labels a text
family_eval_same "$T/lora"
family_predict "$T/pifi"

# the trained encoder is an ALBERT checkpoint pifi reads back
"$PIFI" encode --model "$T/base" "an unexpectedly moving story" > "$T/enc.json" 2> "$T/enc.err"
ok '[[ $? -eq 0 ]] && grep -q "\"ids\"" $T/enc.json'

# int8: ALBERT's shared linear layers and word embeddings
family_int8 "$T/pifi"

echo "albert_train: $pass checks passed, $fail failed"
[[ $fail -eq 0 ]]
