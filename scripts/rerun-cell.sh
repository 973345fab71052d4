#!/usr/bin/env bash
# rerun-cell.sh: the reproduction study's exactness check. Retrain one
# finished cell of experiments/table1.toml with a plain `pifi train` (its
# task, method, layer, seed, train fraction and hyperparameters, read from
# the cell's config.json; the models from $PIFI_MODELS and ../shared) into
# experiments/results/rerun/<task>_<method>_seed<S>/, then compare every
# number of the two runs: validation metrics of each epoch, the chosen epoch,
# test metrics and each cross-domain evaluation (all digits; only wall times
# are left out). Writes compare.txt there (docs/results.md quotes it) and
# exits 1 when anything differs. The rerun keeps its metrics and logs, not
# its weights.
#
#   bash scripts/rerun-cell.sh experiments/results/table1/runs/sst2/pifi/seed42
#   COMPARE_ONLY=1 bash scripts/rerun-cell.sh CELL_DIR    # compare an existing rerun again
set -euo pipefail
cd "$(dirname "$0")/.."
CELL=${1:?usage: rerun-cell.sh CELL_DIR (experiments/results/table1/runs/TASK/METHOD/seedS)}
PIFI=${PIFI:-./build/pifi}
MODELS=${PIFI_MODELS:-$PWD/models}
SHARED=${PIFI_SHARED:-$(cd .. && pwd)/shared}
export PIFI_DATA=${PIFI_DATA:-$SHARED/data}
command -v jq >/dev/null || { echo "rerun-cell.sh: needs jq (apt-get install jq)" >&2; exit 2; }
[[ -x $PIFI ]] || { echo "rerun-cell.sh: no $PIFI (bash scripts/build.sh)" >&2; exit 2; }
[[ -f $CELL/cell.json && -f $CELL/metrics.json ]] || { echo "rerun-cell.sh: $CELL: not a finished cell" >&2; exit 2; }

cfg=$CELL/config.json
q() { jq -r "$1" "$cfg"; }
method=$(q .pifi.method) task=$(q .pifi.data.task) seed=$(q .pifi.train.seed)
args=(--slm "$MODELS/all-MiniLM-L6-v2" --method "$method" --task "$task" --seed "$seed"
      --epochs "$(q .pifi.train.epochs)" --batch "$(q .pifi.train.batch)" --lr "$(q .pifi.train.lr)"
      --max-len "$(q .pifi.train.max_len)" --precision "$(q .pifi.train.precision)")
llm=$(q '.pifi.llm // empty')
if [[ -n $llm ]]; then
  base=$(basename "$llm")
  for d in "$MODELS" "$SHARED/models/stories260K"; do [[ -f $d/$base ]] && llm=$d/$base; done
  [[ -f $llm ]] || { echo "rerun-cell.sh: the cell's LLM $base is not in $MODELS or $SHARED/models" >&2; exit 2; }
  args+=(--llm "$llm" --layer "$(q .pifi.layer)")
fi
frac=$(q '.pifi.data.train_fraction // empty')
[[ -n $frac ]] && args+=(--train-fraction "$frac")
evals=$(cd "$CELL" && ls eval_*.json 2>/dev/null | sed 's/^eval_//; s/\.json$//' | paste -sd, - || true)
[[ -n $evals ]] && args+=(--eval-task "$evals")

label=$(basename "$(dirname "$CELL")")
OUT=experiments/results/rerun/${task}_${label}_seed$seed
mkdir -p "$(dirname "$OUT")"
if [[ ${COMPARE_ONLY:-0} != 1 ]]; then
  echo "rerun-cell.sh: $PIFI train ${args[*]} -o $OUT" >&2
  "$PIFI" train "${args[@]}" -o "$OUT" --overwrite
  echo "$("$PIFI" --version), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src include CMakeLists.txt 2>/dev/null || echo ' + uncommitted changes')" > "$OUT/built_from.txt"
fi
[[ -f $OUT/metrics.json ]] || { echo "rerun-cell.sh: no $OUT/metrics.json" >&2; exit 2; }
rm -rf "$OUT/checkpoint" "$OUT"/model*.safetensors "$OUT"/tokenizer* "$OUT"/vocab.txt "$OUT"/special_tokens_map.json "$OUT"/merges.txt

# the numbers of each run, wall times left out
numbers() { # metrics.json [eval dir]
  jq -S '{epochs, best_epoch, test}' "$1"
}
diffs=0
report() { echo "$1" >> "$OUT/compare.txt"; }
: > "$OUT/compare.txt"
report "cell:  $CELL"
report "rerun: $OUT (trained by $(cat "$OUT/built_from.txt" 2>/dev/null || echo 'an unrecorded build'))"
report "command: pifi train ${args[*]//$PWD\//}"
if cmp -s <(numbers "$CELL/metrics.json") <(numbers "$OUT/metrics.json"); then
  report "validation (each epoch), chosen epoch, test ($task): identical, test accuracy $(jq .test.accuracy "$OUT/metrics.json")"
else
  report "validation, chosen epoch or test ($task): DIFFERENT"; diffs=1
fi
for t in ${evals//,/ }; do
  if cmp -s <(jq -S 'del(.seconds)' "$CELL/eval_$t.json") <(jq -S ".eval_tasks.\"$t\" | del(.seconds)" "$OUT/metrics.json"); then
    report "cross-domain $t: identical, accuracy $(jq .accuracy "$CELL/eval_$t.json")"
  else
    report "cross-domain $t: DIFFERENT"; diffs=1
  fi
done
cat "$OUT/compare.txt"
exit $diffs
