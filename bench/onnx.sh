#!/usr/bin/env bash
# onnx.sh: pifi's inference against ONNX Runtime on the model `pifi export
# --format onnx` writes of the same run: the same weights' shapes, threads,
# batch and length (random ids, every token real), one process per
# measurement, pifi and ONNX Runtime alternating, REPEAT times each. A
# benchmark, not a test: nothing in ctest runs it.
#
#   configs: MiniLM base (all-MiniLM-L6-v2 + head) and MiniLM + SmolLM2's last
#            layer (pifi), each a 2-step run trained here once and exported;
#   cells:   batch 1 and 32 x length 32 and 128;
#   columns: pifi fp32 and bf16 (`pifi bench --mode infer`, bf16 only where
#            the CPU has it natively), ONNX Runtime fp32 and its dynamic int8
#            quantization (bench/onnx_peer.py).
#
# Environment: PIFI (default build/pifi), PY (Python with onnxruntime, default
# ~/.cache/pifi/oracle-venv/bin/python), MODELS (default models/), DATA
# (default ../shared/data), THREADS (default: all cores), REPEAT (default 3),
# STEPS (default 10), OUT (default bench/results), OMP_WAIT_POLICY (default
# passive, as bench/run.sh). Prints a markdown table; raw JSON lines in
# $OUT/onnx.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
PIFI=${PIFI:-build/pifi}
PY=${PY:-$HOME/.cache/pifi/oracle-venv/bin/python}
MODELS=${MODELS:-models}
DATA=${DATA:-../shared/data}
THREADS=${THREADS:-$(nproc)}
REPEAT=${REPEAT:-3}
STEPS=${STEPS:-10}
OUT=${OUT:-bench/results}
CACHE=${CACHE:-bench/.cache}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
mkdir -p "$OUT" "$CACHE"
RAW=$OUT/onnx.jsonl
: > "$RAW"
[[ -x $PIFI ]] || { echo "onnx.sh: no $PIFI"; exit 2; }
"$PY" -c 'import onnxruntime' 2>/dev/null || { echo "onnx.sh: $PY lacks onnxruntime (pip install onnxruntime)"; exit 2; }
SLM=$MODELS/all-MiniLM-L6-v2 LLM=$MODELS/SmolLM2-135M-Instruct.Q4_1.gguf
[[ -f $SLM/model.safetensors && -f $LLM ]] || { echo "onnx.sh: needs $SLM and $LLM (scripts/get-models.sh)"; exit 2; }

# the two runs and their exports, once
awk 'BEGIN { print "text\tlabel" } NR <= 64 { l = $1; $1 = ""; sub(/^ /, ""); print $0 "\t" l }' \
  "$DATA/sst2/stsa.binary.train" > "$CACHE/onnx_train.tsv"
for cfg in base pifi; do
  run=$CACHE/onnx_$cfg
  if [[ ! -f $run/model.onnx ]]; then
    extra=(); [[ $cfg == pifi ]] && extra=(--llm "$LLM" --layer -1)
    "$PIFI" train --slm "$SLM" --method "$cfg" "${extra[@]}" --train "$CACHE/onnx_train.tsv" --max-steps 2 \
      --precision fp32 -o "$run" --overwrite > /dev/null 2>&1
    "$PIFI" export "$run" --format onnx -o "$run/model.onnx" >&2
  fi
done

BF16=$("$PIFI" bench --mode gemm --json | sed -n 's/.*"bf16":"\([a-z]*\)".*/\1/p')
PRECS="fp32"; [[ $BF16 == native ]] && PRECS="fp32 bf16"
tag() { sed "s/^{/{\"config\":\"$1\",/"; }
for _ in $(seq "$REPEAT"); do
  for cfg in base pifi; do
    llm=(); [[ $cfg == pifi ]] && llm=(--llm "$LLM" --layer -1)
    for batch in 1 32; do
      for len in 32 128; do
        echo "  $cfg batch $batch length $len" >&2
        for prec in $PRECS; do
          OMP_NUM_THREADS=$THREADS "$PIFI" bench --slm "$SLM" "${llm[@]}" --mode infer --batch "$batch" \
            --max-len "$len" --steps "$STEPS" --precision "$prec" --threads "$THREADS" --json |
            sed 's/^{/{"impl":"pifi",/' | tag "$cfg" >> "$RAW"
        done
        for q in "" --int8; do
          OMP_NUM_THREADS=$THREADS "$PY" bench/onnx_peer.py "$CACHE/onnx_$cfg/model.onnx" $q --batch "$batch" \
            --max-len "$len" --steps "$STEPS" --threads "$THREADS" 2>/dev/null | tag "$cfg" >> "$RAW"
        done
      done
    done
  done
done

"$PY" - "$RAW" "$THREADS" "$BF16" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
flags = next(l for l in open("/proc/cpuinfo") if l.startswith("flags")).split()
isa = "AVX-512" if "avx512f" in flags else "AVX2"
isa += "+BF16" if "avx512_bf16" in flags else ""
ort = next((r["onnxruntime"] for r in rows if "onnxruntime" in r), "?")
print(f"CPU: {cpu} ({isa}), {sys.argv[2]} threads, bf16 {sys.argv[3]}; ONNX Runtime {ort}; "
      "milliseconds per batch, median over processes of each process's median [min..max]")
print()
cols = [("pifi", "fp32"), ("pifi", "bf16"), ("onnxruntime", "fp32"), ("onnxruntime", "int8")]
print("| config | batch | length | pifi fp32 | pifi bf16 | ORT fp32 | ORT int8 | pifi fp32 / ORT fp32 | "
      "best pifi / ORT fp32 | best pifi / ORT int8 |")
print("|---|---|---|---|---|---|---|---|---|---|")
cells = {}
for r in rows:
    cells.setdefault((r["config"], r["batch"], r["max_len"]), {}).setdefault((r["impl"], r["precision"]), []).append(
        r["step_ms"])
for (cfg, b, t), c in sorted(cells.items()):
    med = {k: statistics.median(v) for k, v in c.items()}
    show = [f"{med[k]:.2f} [{min(c[k]):.2f}..{max(c[k]):.2f}]" if k in c else "-" for k in cols]
    best = min(v for k, v in med.items() if k[0] == "pifi")
    ratio = lambda a, d: f"{a / med[d]:.2f}x" if d in med else "-"
    print(f"| {cfg} | {b} | {t} | " + " | ".join(show) + " | " +
          " | ".join([ratio(med.get(("pifi", "fp32"), float("nan")), ("onnxruntime", "fp32")),
                      ratio(best, ("onnxruntime", "fp32")), ratio(best, ("onnxruntime", "int8"))]) + " |")
print()
print("Ratios are of latency (time per batch): below 1.00x pifi is faster.")
EOF
