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
FIX=${PIFI_FIXTURES:?}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
albert=$T/albert
mkdir "$albert"
cp "$FIX/encoders/albert_tiny/config.json" "$FIX/encoders/albert_tiny/model.safetensors" "$albert/"
cp "$FIX/tokenizers/albert_unigram/"{tokenizer.json,tokenizer_config.json,special_tokens_map.json} "$albert/"
tsv "$DATA/sst2/stsa.binary.train" 16 > "$T/train.tsv"
tsv "$DATA/sst2/stsa.binary.dev" 8 > "$T/valid.tsv"
tsv "$DATA/sst2/stsa.binary.test" 8 > "$T/test.tsv"
common=(--slm "$albert" --train "$T/train.tsv" --valid "$T/valid.tsv" --test "$T/test.tsv"
        --batch 4 --max-len 24 --epochs 1 --max-steps 3 --eval-batch 8 --precision fp32)
# the names of a safetensors file's tensors, one a line
names() { python3 -c 'import json, struct, sys
f = open(sys.argv[1], "rb"); n = struct.unpack("<Q", f.read(8))[0]
print("\n".join(k for k in json.loads(f.read(n)) if k != "__metadata__"))' "$1"; }
test_acc() { python3 -c 'import json, sys; print("%.6f" % json.load(open(sys.argv[1]))["test"]["accuracy"])' "$1/metrics.json"; }
layer=encoder.albert_layer_groups.0.albert_layers

for method in base pifi lora; do
  extra=()
  [[ $method == pifi ]] && extra=(--llm "$gguf" --layer -1)
  "$PIFI" train "${common[@]}" --method "$method" "${extra[@]}" -o "$T/$method" > "$T/$method.out" 2> "$T/$method.err"
  ok "[[ \$? -eq 0 && -s \$T/$method/metrics.json ]]"
  names "$T/$method/model.safetensors" > "$T/$method.names"
  ok "grep -qx $layer.0.attention.query.weight \$T/$method.names"
  ok "grep -qx $layer.0.full_layer_layer_norm.bias \$T/$method.names"
  ok "grep -qx encoder.embedding_hidden_mapping_in.weight \$T/$method.names"
  ok "! grep -q 'albert_layers\.1\|albert_layer_groups\.1\|encoder\.layer\.' \$T/$method.names"
  ok "! grep -q lora_ \$T/$method.names"
  ok "grep -q '\"model_type\":[[:space:]]*\"albert\"' \$T/$method/config.json"
done
[[ $fail -eq 0 ]] || cat "$T"/*.err
tail -2 "$T/lora.out"

# eval reproduces the recorded test accuracy; predict labels a text and a pair
acc=$(test_acc "$T/lora")
"$PIFI" eval "$T/lora" --json > "$T/eval.json" 2> "$T/eval.err"
ok "[[ \$? -eq 0 && -n '$acc' ]] && grep -q '\"accuracy\":$acc' \$T/eval.json"
"$PIFI" predict "$T/pifi" "a gripping, beautifully acted film" > "$T/pred.json" 2> "$T/pred.err"
ok '[[ $? -eq 0 ]] && grep -q "\"label\"" $T/pred.json'

# the trained encoder is an ALBERT checkpoint pifi reads back
"$PIFI" encode --model "$T/base" "an unexpectedly moving story" > "$T/enc.json" 2> "$T/enc.err"
ok '[[ $? -eq 0 ]] && grep -q "\"ids\"" $T/enc.json'

# int8: ALBERT's shared linear layers and word embeddings
"$PIFI" quantize "$T/pifi" -o "$T/q8" --all > "$T/q8.out" 2> "$T/q8.err"
ok '[[ $? -eq 0 ]]'
"$PIFI" eval "$T/q8" > "$T/q8eval.out" 2> "$T/q8eval.err"
ok '[[ $? -eq 0 ]] && grep -q accuracy $T/q8eval.out'

echo "albert_train: $pass checks passed, $fail failed"
[[ $fail -eq 0 ]]
