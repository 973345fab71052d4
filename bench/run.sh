#!/usr/bin/env bash
# run.sh: pifi against PyTorch on the same machine, the same threads, the same
# shapes and the same weights, one process per measurement, pifi and PyTorch
# alternating; prints a markdown table (and keeps the raw JSON lines).
#
#   bash bench/run.sh                  # everything (about half an hour on 2 cores)
#   QUICK=1 bash bench/run.sh          # MiniLM + SmolLM2 only, fewer steps
#   ONLY=big bash bench/run.sh         # BERT-base + the Llama-3.1-8B-shaped layer only
#
# Environment: PIFI (the binary, default build/pifi), PY (a Python with torch
# and transformers, default /root/oracle-venv/bin/python; bench/README.md),
# MODELS (all-MiniLM-L6-v2 and SmolLM2-135M-Instruct.Q4_1.gguf, default models/),
# THREADS (default: all cores), REPEAT (processes per cell, default 2),
# PRECS (default "fp32 bf16" where the CPU has native bf16, else "fp32"),
# OUT (default bench/results), OMP_WAIT_POLICY (default here: passive, for
# both sides: on a busy machine libgomp's spinning threads lose most of their
# time slices waiting for descheduled partners; docs/performance.md).
set -euo pipefail
cd "$(dirname "$0")/.."
PIFI=${PIFI:-build/pifi}
PY=${PY:-/root/oracle-venv/bin/python}
MODELS=${MODELS:-models}
THREADS=${THREADS:-$(nproc)}
REPEAT=${REPEAT:-2}
OUT=${OUT:-bench/results}
CACHE=${CACHE:-bench/.cache}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
mkdir -p "$OUT" "$CACHE"
RAW=$OUT/raw.jsonl
: > "$RAW"

[[ -x $PIFI ]] || { echo "run.sh: no $PIFI (cmake -S . -B build && cmake --build build -j)"; exit 2; }
"$PY" -c 'import torch, transformers' 2>/dev/null || { echo "run.sh: $PY lacks torch/transformers (bench/README.md)"; exit 2; }
[[ -f $MODELS/all-MiniLM-L6-v2/model.safetensors ]] || { echo "run.sh: no $MODELS/all-MiniLM-L6-v2 (scripts/get-models.sh)"; exit 2; }

# the models: SmolLM2's last layer (extracted once), BERT-base and a Llama-3.1-8B-shaped layer (random)
if [[ ! -f $CACHE/smol_last/model.safetensors ]]; then
  "$PIFI" extract --llm "$MODELS/SmolLM2-135M-Instruct.Q4_1.gguf" --layer -1 -o "$CACHE/smol_last" >&2
fi
[[ ${QUICK:-0} == 1 ]] || "$PY" bench/bench.py make-models "$CACHE"

# tag every JSON line with the configuration it belongs to
tag() { sed "s/^{/{\"config\":\"$1\",\"impl\":\"$2\",/"; }

# bf16 only where the CPU has it natively: on an AVX2-only CPU both pifi's
# bf16 and PyTorch's autocast are emulated, so the comparison there is fp32
# against fp32 (PRECS overrides)
BF16=$("$PIFI" bench --mode gemm --json | sed -n 's/.*"bf16":"\([a-z]*\)".*/\1/p')
if [[ $BF16 == native ]]; then PRECS=${PRECS:-fp32 bf16}; else PRECS=${PRECS:-fp32}; fi
echo "bf16 on this CPU: ${BF16:-unknown}; precisions measured: $PRECS" >&2

host() {
  echo "{\"config\":\"machine\",\"cpu\":\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)\",\"cores\":$(nproc),"\
"\"features\":\"$(grep -o -w -E 'avx512[a-z_0-9]*|avx2|amx[a-z_0-9]*' /proc/cpuinfo | sort -u | xargs)\",\"bf16\":\"$BF16\","\
"\"threads\":$THREADS,\"omp_wait_policy\":\"$OMP_WAIT_POLICY\",\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"pifi\":\"$("$PIFI" --version)\",\"torch\":\"$("$PY" -c 'import torch; print(torch.__version__)')\","\
"\"transformers\":\"$("$PY" -c 'import transformers; print(transformers.__version__)')\",\"date\":\"$(date -u +%FT%TZ)\"}" >> "$RAW"
}
host

# the GEMM peak of oneDNN here: 2048^3 in fp32 and bf16 (twice: the spread)
for _ in 1 2; do "$PIFI" bench --mode gemm --threads "$THREADS" --json | tag gemm pifi >> "$RAW"; done

# one cell: config name, slm, llm, mode, batch, steps, warmup
cell() {
  local name=$1 slm=$2 llm=$3 mode=$4 batch=$5 steps=$6 warmup=$7
  for _ in $(seq "$REPEAT"); do
    for prec in $PRECS; do
      echo "  $name $mode batch $batch $prec: pifi, pytorch" >&2
      /usr/bin/env OMP_NUM_THREADS="$THREADS" "$PIFI" bench --slm "$slm" --llm "$llm" --layer -1 --mode "$mode" \
        --batch "$batch" --max-len 100 --steps "$steps" --warmup "$warmup" --precision "$prec" \
        --threads "$THREADS" --json | tag "$name" pifi >> "$RAW"
      OMP_NUM_THREADS="$THREADS" "$PY" bench/bench.py run --slm "$slm" --llm "$llm" --mode "$mode" \
        --batch "$batch" --max-len 100 --steps "$steps" --warmup "$warmup" --precision "$prec" \
        --threads "$THREADS" 2>/dev/null | tag "$name" pytorch >> "$RAW"
    done
  done
}

if [[ ${QUICK:-0} == 1 ]]; then S=3; else S=5; fi
if [[ ${ONLY:-} != big ]]; then
  echo "MiniLM-L6 + SmolLM2-135M last layer" >&2
  cell minilm-smol "$MODELS/all-MiniLM-L6-v2" "$CACHE/smol_last" train 32 "$S" 1
  cell minilm-smol "$MODELS/all-MiniLM-L6-v2" "$CACHE/smol_last" infer 32 "$S" 1
  cell minilm-smol "$MODELS/all-MiniLM-L6-v2" "$CACHE/smol_last" infer 1 20 3
fi
if [[ ${QUICK:-0} != 1 ]]; then
  echo "BERT-base + Llama-3.1-8B-shaped layer (random weights)" >&2
  cell bertbase-llama8b "$CACHE/bert-base-random" "$CACHE/llama31-8b-layer" train 32 2 1
  cell bertbase-llama8b "$CACHE/bert-base-random" "$CACHE/llama31-8b-layer" infer 32 3 1
  cell bertbase-llama8b "$CACHE/bert-base-random" "$CACHE/llama31-8b-layer" infer 1 10 2
fi
# the peak again at the end (the table uses the best): the load may have changed
"$PIFI" bench --mode gemm --threads "$THREADS" --json | tag gemm pifi >> "$RAW"
"$PY" bench/bench.py table "$RAW" | tee "$OUT/table.md"
