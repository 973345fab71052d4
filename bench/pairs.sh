#!/usr/bin/env bash
# pairs.sh: one configuration measured in alternating pairs, each pair's
# ratio printed: pifi against PyTorch (the default), or against another pifi
# build (OTHER=path/to/pifi: is a change faster, on the same inputs?). For
# the questions bench/run.sh's full table answers too slowly or too noisily;
# the pairs run back to back, so a drifting machine affects both sides alike.
#
#   bash bench/pairs.sh big train bf16 3          # BERT-base + 8B-shaped layer, 3 pairs vs PyTorch autocast
#   bash bench/pairs.sh small infer fp32 5 1      # MiniLM + SmolLM2's layer, batch 1 latency, 5 pairs
#   OTHER=/tmp/pifi-old bash bench/pairs.sh small train bf16 3
#
# Arguments: CONFIG (small | big), MODE (train | infer), PRECISION (fp32 |
# bf16), PAIRS (default 3), BATCH (default 32). Environment as bench/run.sh
# (PIFI, PY, MODELS, THREADS, CACHE; models made by bench/run.sh or
# `bench.py make-models`); STEPS/WARMUP (default 2/1 for big, 5/1 for small).
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${1:?usage: pairs.sh small|big train|infer fp32|bf16 [PAIRS] [BATCH]} MODE=${2:?mode} PREC=${3:?precision}
PAIRS=${4:-3} BATCH=${5:-32}
PIFI=${PIFI:-build/pifi}
PY=${PY:-/root/oracle-venv/bin/python}
MODELS=${MODELS:-models}
THREADS=${THREADS:-$(nproc)}
CACHE=${CACHE:-bench/.cache}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} OMP_NUM_THREADS=$THREADS
case $CONFIG in
  small) slm=$MODELS/all-MiniLM-L6-v2 llm=$CACHE/smol_last steps=${STEPS:-5} ;;
  big) slm=$CACHE/bert-base-random llm=$CACHE/llama31-8b-layer steps=${STEPS:-2} ;;
  *) echo "pairs.sh: CONFIG is small or big" >&2; exit 2 ;;
esac
warmup=${WARMUP:-1}
command -v jq > /dev/null || { echo "pairs.sh: needs jq" >&2; exit 2; }
[[ -f $slm/config.json && -f $llm/model.safetensors ]] || { echo "pairs.sh: no $slm or $llm (bash bench/run.sh makes them)" >&2; exit 2; }
common=(--mode "$MODE" --batch "$BATCH" --max-len 100 --steps "$steps" --warmup "$warmup" --precision "$PREC" --threads "$THREADS")
pifi_run() { "$1" bench --slm "$slm" --llm "$llm" --layer -1 "${common[@]}" --json; }
if [[ -n ${OTHER:-} ]]; then
  ref_name="pifi ($OTHER)"
  ref_run() { pifi_run "$OTHER"; }
else
  ref_name="PyTorch $PREC"
  ref_run() { "$PY" bench/bench.py run --slm "$slm" --llm "$llm" "${common[@]}" 2>/dev/null; }
fi
# the number compared: examples/s, or ms per step at batch 1 (latency: lower is better)
if [[ $MODE == infer && $BATCH == 1 ]]; then key=.step_ms unit="ms (latency)"; else key=.examples_per_s unit="examples/s"; fi
echo "$CONFIG $MODE $PREC, batch $BATCH x 100, $THREADS threads: pifi ($PIFI) against $ref_name, $unit"
echo
echo "| pair | pifi | $ref_name | pifi / reference |"
echo "|---|---|---|---|"
ratios=()
for i in $(seq "$PAIRS"); do
  a=$(pifi_run "$PIFI" | jq "$key")
  b=$(ref_run | jq "$key")
  r=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", a / b }')
  ratios+=("$r")
  printf '| %d | %.4g | %.4g | %sx |\n' "$i" "$a" "$b" "$r"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
echo
echo "median ratio ${median}x over $PAIRS pairs"
