#!/usr/bin/env bash
# mpnet_train.sh: the MPNet family end to end on the real all-mpnet-base-v2
# (opt-in: `scripts/get-models.sh --mpnet`; skips, saying so, without it),
# TSV files cut from SST-2, 2 steps each:
#   - `pifi train --slm all-mpnet-base-v2` with --method base, pifi (stories260K's
#     last layer) and lora: each run completes; its model.safetensors holds
#     MPNet's tensors under transformers' names (the relative position bias
#     included; LoRA folded in, no adapter left);
#   - `pifi eval RUN` gives the test accuracy the run recorded, `pifi predict`
#     labels a text;
#   - `pifi quantize RUN --all` (MPNet's linear layers and embeddings int8)
#     writes a run that `pifi eval` reads.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
mpnet=$MODELS/all-mpnet-base-v2
if [[ ! -f $mpnet/model.safetensors ]]; then
  echo "SKIPPED: needs $mpnet (opt-in, 420 MB: scripts/get-models.sh --mpnet)"; exit 77
fi
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
tsv "$DATA/sst2/stsa.binary.train" 8 > "$T/train.tsv"
tsv "$DATA/sst2/stsa.binary.dev" 4 > "$T/valid.tsv"
tsv "$DATA/sst2/stsa.binary.test" 8 > "$T/test.tsv"
common=(--slm "$mpnet" --train "$T/train.tsv" --valid "$T/valid.tsv" --test "$T/test.tsv"
        --batch 4 --max-len 16 --epochs 1 --eval-batch 8 --precision fp32)
# the names of a safetensors file's tensors, one a line
names() { python3 -c 'import json, struct, sys
f = open(sys.argv[1], "rb"); n = struct.unpack("<Q", f.read(8))[0]
print("\n".join(k for k in json.loads(f.read(n)) if k != "__metadata__"))' "$1"; }
test_acc() { python3 -c 'import json, sys; print("%.6f" % json.load(open(sys.argv[1]))["test"]["accuracy"])' "$1/metrics.json"; }

for method in base pifi lora; do
  extra=()
  [[ $method == pifi ]] && extra=(--llm "$gguf" --layer -1)
  "$PIFI" train "${common[@]}" --method "$method" "${extra[@]}" -o "$T/$method" > "$T/$method.out" 2> "$T/$method.err"
  ok "[[ \$? -eq 0 && -s \$T/$method/metrics.json ]]"
  names "$T/$method/model.safetensors" > "$T/$method.names"
  ok "grep -qx encoder.relative_attention_bias.weight \$T/$method.names"
  ok "grep -qx encoder.layer.11.attention.attn.q.weight \$T/$method.names"
  ok "! grep -q lora_ \$T/$method.names"
  ok "grep -q '\"model_type\":[[:space:]]*\"mpnet\"' \$T/$method/config.json"
done
tail -2 "$T/pifi.out"

# eval reproduces the recorded test accuracy; predict labels a text
acc=$(test_acc "$T/base")
"$PIFI" eval "$T/base" --json > "$T/eval.json" 2> "$T/eval.err"
ok "[[ \$? -eq 0 && -n '$acc' ]] && grep -q '\"accuracy\":$acc' \$T/eval.json"
"$PIFI" predict "$T/base" "a gripping, beautifully acted film" > "$T/pred.json" 2> "$T/pred.err"
ok '[[ $? -eq 0 ]] && grep -q "\"label\"" $T/pred.json'

# int8: MPNet's linear layers and word embeddings
"$PIFI" quantize "$T/pifi" -o "$T/q8" --all > "$T/q8.out" 2> "$T/q8.err"
ok '[[ $? -eq 0 ]]'
"$PIFI" eval "$T/q8" > "$T/q8eval.out" 2> "$T/q8eval.err"
ok '[[ $? -eq 0 ]] && grep -q accuracy $T/q8eval.out'

echo "mpnet_train: $pass checks passed, $fail failed"
[[ $fail -eq 0 ]]
