#!/usr/bin/env bash
# mpi.sh: data-parallel training throughput on one machine: the same run
# (global batch B) with 1 process and with 2 MPI ranks (and more with
# RANKS="1 2 4"), the cores split evenly between the ranks. Reports examples/s
# (global, steps after the first 2) and, for several ranks, the time per step
# a rank spends in collectives (comm_ms of train_log.jsonl: the gradient
# all-reduce plus waiting for the slower rank).
#
#   bench/mpi.sh                       # ./build/pifi, models/all-MiniLM-L6-v2, SST-2
#   PIFI=build-mpi/pifi STEPS=30 BATCH=64 MAX_LEN=64 RANKS="1 2" bench/mpi.sh
#
# Method base (no LLM layer) unless LLM_LAYER=DIR (a `pifi extract` output).
set -euo pipefail
cd "$(dirname "$0")/.."
PIFI=${PIFI:-build/pifi}
SLM=${SLM:-models/all-MiniLM-L6-v2}
DATA=${PIFI_DATA:-../shared/data}
STEPS=${STEPS:-20}
BATCH=${BATCH:-32}
MAX_LEN=${MAX_LEN:-64}
RANKS=${RANKS:-"1 2"}
CORES=${CORES:-$(nproc)}
command -v mpirun > /dev/null || { echo "mpi.sh: mpirun not found (apt-get install openmpi-bin)" >&2; exit 1; }
[[ -x $PIFI && -f $SLM/model.safetensors && -f $DATA/sst2/stsa.binary.train ]] ||
  { echo "mpi.sh: needs $PIFI, $SLM and $DATA/sst2" >&2; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
awk -v n=$(((STEPS + 1) * BATCH)) 'BEGIN { print "text\tlabel" }
  NR <= n { l = $1; $1 = ""; sub(/^ /, ""); print $0 "\t" l }' "$DATA/sst2/stsa.binary.train" > "$T/train.tsv"
model=(--method base)
[[ -n ${LLM_LAYER:-} ]] && model=(--llm-layer "$LLM_LAYER")
args=(--slm "$SLM" "${model[@]}" --train "$T/train.tsv" --batch "$BATCH" --max-len "$MAX_LEN" --max-steps "$STEPS"
      --epochs 1)
MPI=(mpirun --oversubscribe --bind-to none)
[[ $(id -u) -eq 0 ]] && MPI+=(--allow-run-as-root)
export OMPI_MCA_btl=${OMPI_MCA_btl:-self,vader,tcp}

printf "%-6s %-8s %12s %10s %12s\n" ranks threads "examples/s" "s/step" "comm ms/step"
for n in $RANKS; do
  threads=$((CORES / n > 0 ? CORES / n : 1))
  rm -rf "$T/run"
  if [[ $n -eq 1 ]]; then
    OMP_NUM_THREADS=$threads "$PIFI" train "${args[@]}" -o "$T/run" > /dev/null 2> "$T/err" || { cat "$T/err"; exit 1; }
  else
    OMP_NUM_THREADS=$threads "${MPI[@]}" -np "$n" -x OMP_NUM_THREADS "$PIFI" train "${args[@]}" -o "$T/run" \
      > /dev/null 2> "$T/err" || { cat "$T/err"; exit 1; }
  fi
  awk -v n="$n" -v th="$threads" -v B="$BATCH" '
    { if (match($0, /"examples_per_s":[0-9.]+/)) eps = substr($0, RSTART + 17, RLENGTH - 17) + 0
      comm = 0; if (match($0, /"comm_ms":[0-9.]+/)) comm = substr($0, RSTART + 10, RLENGTH - 10) + 0 }
    NR > 2 { k++; se += B / eps; sc += comm }
    END { if (k == 0) { print "too few steps" > "/dev/stderr"; exit 1 }
          c = "-"; if (n > 1) c = sprintf("%.1f", sc / k)
          printf "%-6d %-8d %12.1f %10.3f %12s\n", n, th, B / (se / k), se / k, c }
  ' "$T/run/train_log.jsonl"
done
