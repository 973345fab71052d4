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
FIX=${PIFI_FIXTURES:?}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mb=$T/modernbert
mkdir "$mb"
cp "$FIX/encoders/modernbert_tiny/config.json" "$FIX/encoders/modernbert_tiny/model.safetensors" "$mb/"
cp "$FIX/tokenizers/roberta_bpe/"{tokenizer.json,tokenizer_config.json,special_tokens_map.json} "$mb/"
tsv "$DATA/sst2/stsa.binary.train" 16 > "$T/train.tsv"
tsv "$DATA/sst2/stsa.binary.dev" 8 > "$T/valid.tsv"
tsv "$DATA/sst2/stsa.binary.test" 8 > "$T/test.tsv"
common=(--slm "$mb" --train "$T/train.tsv" --valid "$T/valid.tsv" --test "$T/test.tsv"
        --batch 4 --max-len 24 --epochs 1 --max-steps 3 --eval-batch 8 --precision fp32)
# the names of a safetensors file's tensors, one a line
names() { python3 -c 'import json, struct, sys
f = open(sys.argv[1], "rb"); n = struct.unpack("<Q", f.read(8))[0]
print("\n".join(k for k in json.loads(f.read(n)) if k != "__metadata__"))' "$1"; }
test_acc() { python3 -c 'import json, sys; print("%.6f" % json.load(open(sys.argv[1]))["test"]["accuracy"])' "$1/metrics.json"; }

for method in base pifi; do
  extra=()
  [[ $method == pifi ]] && extra=(--llm "$gguf" --layer -1)
  "$PIFI" train "${common[@]}" --method "$method" "${extra[@]}" -o "$T/$method" > "$T/$method.out" 2> "$T/$method.err"
  ok "[[ \$? -eq 0 && -s \$T/$method/metrics.json ]]"
  names "$T/$method/model.safetensors" > "$T/$method.names"
  ok "grep -qx layers.3.attn.Wqkv.weight \$T/$method.names"
  ok "grep -qx layers.1.attn_norm.weight \$T/$method.names"
  ok "grep -qx final_norm.weight \$T/$method.names"
  ok "! grep -q 'layers.0.attn_norm\|encoder\.layer\.' \$T/$method.names"
  ok "grep -q '\"model_type\":[[:space:]]*\"modernbert\"' \$T/$method/config.json"
  # the model's config.json as written (2.0 stays 2.0: transformers 5 refuses 2 for a float field)
  ok "grep -q '\"initializer_cutoff_factor\": 2.0,' \$T/$method/config.json && grep -q '\"pifi\":' \$T/$method/config.json"
done
[[ $fail -eq 0 ]] || cat "$T"/*.err
tail -2 "$T/pifi.out"

# LoRA and int8: the family's own errors, one line each
"$PIFI" train "${common[@]}" --method lora -o "$T/lora" > "$T/lora.out" 2> "$T/lora.err"
ok '[[ $? -ne 0 ]] && grep -q "lora: not supported by the modernbert family" $T/lora.err && [[ $(wc -l < $T/lora.err) -eq 1 ]]'
"$PIFI" quantize "$T/base" -o "$T/q8" --all > "$T/q8.out" 2> "$T/q8.err"
ok '[[ $? -ne 0 ]] && grep -q "int8: not supported by the modernbert family" $T/q8.err'

# eval reproduces the recorded test accuracy; predict labels a text; encode reads the run back
acc=$(test_acc "$T/pifi")
"$PIFI" eval "$T/pifi" --json > "$T/eval.json" 2> "$T/eval.err"
ok "[[ \$? -eq 0 && -n '$acc' ]] && grep -q '\"accuracy\":$acc' \$T/eval.json"
"$PIFI" predict "$T/base" "a gripping, beautifully acted film" > "$T/pred.json" 2> "$T/pred.err"
ok '[[ $? -eq 0 ]] && grep -q "\"label\"" $T/pred.json'
"$PIFI" encode --model "$T/base" "an unexpectedly moving story" > "$T/enc.json" 2> "$T/enc.err"
ok '[[ $? -eq 0 ]] && grep -q "\"ids\"" $T/enc.json'

echo "modernbert_train: $pass checks passed, $fail failed"
[[ $fail -eq 0 ]]
