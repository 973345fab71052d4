#!/usr/bin/env bash
# setup.sh: from a fresh Debian machine to the main job: install packages,
# build, fetch the default models, then fine-tune a classifier on SST-2 twice,
# plain fine-tuning (base) and PiFi (the last decoder layer of SmolLM2-135M
# plugged into all-MiniLM-L6-v2), and compare their test accuracy.
# Defaults are the authors' (3 epochs, batch 32, Adam 5e-5, best epoch by
# validation accuracy), in fp32 (so the numbers are the same on CPUs with and
# without native bf16; README.md's table is this script's output). Runs go to
# ${PIFI_RUNS:-runs}/.
set -euo pipefail
cd "$(dirname "$0")/.."
t_start=$(date +%s)
bash scripts/deps.sh
bash scripts/build.sh
export PIFI_MODELS=${PIFI_MODELS:-$PWD/models}
export PIFI_DATA=${PIFI_DATA:-$(cd .. && pwd)/shared/data}
RUNS=${PIFI_RUNS:-$PWD/runs}
bash scripts/get-models.sh
pifi=./build/pifi
slm="$PIFI_MODELS/all-MiniLM-L6-v2"
llm="$PIFI_MODELS/SmolLM2-135M-Instruct.Q4_1.gguf"
layer="$PIFI_MODELS/layers/smollm2-135m-last"
mkdir -p "$RUNS" "$PIFI_MODELS/layers"
[[ -f $layer/model.safetensors ]] || $pifi extract --llm "$llm" --layer -1 -o "$layer"
echo
$pifi info --slm "$slm" --llm-layer "$layer"
echo
$pifi info --cpu
$pifi train --slm "$slm" --method base --task sst2 --precision fp32 -o "$RUNS/sst2-base" --overwrite --json | tee "$RUNS/sst2-base.json"
$pifi train --slm "$slm" --llm-layer "$layer" --task sst2 --precision fp32 -o "$RUNS/sst2-pifi" --overwrite --json | tee "$RUNS/sst2-pifi.json"
python3 - "$RUNS/sst2-base.json" "$RUNS/sst2-pifi.json" <<'PY'
import json, sys
rows = [json.loads(open(p).read().strip().splitlines()[-1]) for p in sys.argv[1:]]
print("\nSST-2 test (1,821 sentences), all-MiniLM-L6-v2, 3 epochs, fp32, seed 2023, best epoch by validation accuracy")
print(f"{'method':<8} {'accuracy':>9} {'macro-F1':>9} {'valid acc':>10} {'best epoch':>10} {'minutes':>8}")
for r in rows:
    print(f"{r['method']:<8} {r['test_accuracy']:>9.4f} {r['test_macro_f1']:>9.4f} {r['valid_accuracy']:>10.4f} "
          f"{r['best_epoch']:>10} {r['seconds'] / 60:>8.1f}")
d = rows[1]['test_accuracy'] - rows[0]['test_accuracy']
print(f"PiFi - base: {100 * d:+.2f} points of accuracy")
PY
echo "setup: $(( ($(date +%s) - t_start + 30) / 60 )) minutes in all on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
