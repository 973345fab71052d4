#!/usr/bin/env bash
# same-arithmetic.sh: did a change leave training's arithmetic alone? Trains
# the same short runs with two pifi binaries, every method (base, pifi,
# pifi-random, pifi-unfrozen, lora) in fp32 and bf16, with Adam and AdamW,
# on real data (128 SST-2 rows, 2 epochs of 8 steps) with the real MiniLM and
# stories260K's last layer, and compares each pair byte for byte: the trained
# weights (model.safetensors), every number of metrics.json and of each
# step's train_log.jsonl line (wall times left out). Exits 1 when anything
# differs, naming it.
#
#   bash scripts/same-arithmetic.sh OLD_PIFI [NEW_PIFI]     # NEW: build/pifi
#   REF=main bash scripts/same-arithmetic.sh                # OLD built from a git ref into a temp worktree
#
# Runs take about a second each; the whole check a few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
MODELS=${PIFI_MODELS:-$PWD/models}
SHARED=${PIFI_SHARED:-$(cd .. && pwd)/shared}
DATA=${PIFI_DATA:-$SHARED/data}
command -v jq > /dev/null || { echo "same-arithmetic.sh: needs jq" >&2; exit 2; }
T=$(mktemp -d)
trap 'rm -rf "$T"; [[ -n ${WT:-} ]] && git worktree remove --force "$WT" 2> /dev/null; true' EXIT
if [[ -n ${REF:-} ]]; then
  WT=$T/ref
  git worktree add -q --detach "$WT" "$REF"
  cmake -S "$WT" -B "$WT/build" -DCMAKE_BUILD_TYPE=Release > /dev/null
  cmake --build "$WT/build" -j"$(nproc)" --target pifi_cli > /dev/null
  OLD=$WT/build/pifi
else
  OLD=${1:?usage: same-arithmetic.sh OLD_PIFI [NEW_PIFI], or REF=gitref same-arithmetic.sh}
  shift
fi
NEW=${1:-build/pifi}
slm=$MODELS/all-MiniLM-L6-v2
gguf=$SHARED/models/stories260K/stories260K.gguf
for f in "$OLD" "$NEW" "$slm/model.safetensors" "$gguf" "$DATA/sst2/stsa.binary.train"; do
  [[ -e $f ]] || { echo "same-arithmetic.sh: missing $f" >&2; exit 2; }
done
tsv() { printf 'text\tlabel\n'; awk -v n="$2" 'NR <= n { l = $1; $1 = ""; sub(/^ /, ""); print $0 "\t" l }' "$1"; }
tsv "$DATA/sst2/stsa.binary.train" 128 > "$T/train.tsv"
tsv "$DATA/sst2/stsa.binary.dev" 48 > "$T/valid.tsv"
tsv "$DATA/sst2/stsa.binary.test" 48 > "$T/test.tsv"
"$NEW" extract --llm "$gguf" --layer -1 -o "$T/layer" > /dev/null
data=(--train "$T/train.tsv" --valid "$T/valid.tsv" --test "$T/test.tsv" --batch 16 --max-len 24 --epochs 2
      --eval-batch 48 --seed 7)
# the numbers of a run, wall times and paths left out
numbers() {
  jq -S 'del(.. | .seconds?, .wall_seconds?, .elapsed?, .examples_per_s?, .time?) | del(.. | strings)' "$1/metrics.json"
  jq -S -c 'del(.seconds?, .elapsed?, .examples_per_s?, .time?, .ms?)' "$1/train_log.jsonl"
}
differ=0 n=0
for method in base pifi pifi-random pifi-unfrozen lora; do
  for prec in fp32 bf16; do
    for optim in adam adamw; do
      name=$method-$prec-$optim
      args=(--slm "$slm" --method "$method" --precision "$prec" --optimizer "$optim" "${data[@]}")
      [[ $method == base || $method == lora ]] || args+=(--llm-layer "$T/layer")
      for side in old new; do
        bin=$OLD; [[ $side == new ]] && bin=$NEW
        OMP_NUM_THREADS=2 "$bin" train "${args[@]}" -o "$T/$side-$name" > /dev/null 2> "$T/$side-$name.err" || {
          echo "$name: $side binary failed: $(tail -1 "$T/$side-$name.err")"; differ=1; continue 2; }
      done
      n=$((n + 1))
      if ! cmp -s "$T/old-$name/model.safetensors" "$T/new-$name/model.safetensors"; then
        echo "$name: model.safetensors differs"; differ=1
      elif ! diff <(numbers "$T/old-$name") <(numbers "$T/new-$name") > "$T/$name.diff"; then
        echo "$name: metrics or log differ:"; head -5 "$T/$name.diff"; differ=1
      else
        echo "$name: identical"
      fi
    done
  done
done
echo "same-arithmetic: $n run pairs compared: $([[ $differ -eq 0 ]] && echo all identical || echo DIFFERENCES)"
exit $differ
