#!/usr/bin/env bash
# serve.sh: `pifi serve` under load, against PyTorch + transformers behind
# Python's threaded HTTP server (bench/serve_peer.py) with the same run, the
# same threads and the same requests (wrk, bench/wrk_predict.lua: one text
# per POST /predict). A benchmark, not a test: nothing in ctest runs it.
#
#   1. throughput, p50/p99 latency and peak RSS at 1, 8 and 64 concurrent
#      connections, pifi then the peer, DUR seconds each (default 20);
#   2. the load test: pifi serve at 64 connections for LOAD seconds (default
#      60), its RSS sampled every second: the largest of the first 10 s and of
#      the last 10 s within 10 %, every response 200; then a second server
#      with a queue of 4 requests: only 200 and 503 (+ Retry-After), and it
#      still answers /health after.
#
# Environment: PIFI (default build/pifi), PY (Python with torch and
# transformers, default ~/.cache/pifi/oracle-venv/bin/python), MODELS
# (all-MiniLM-L6-v2, default models/), DATA (default ../shared/data), RUN (a
# `base` run to serve; default: one trained here on 256 SST-2 rows, fp32),
# THREADS (default: all cores), DUR, LOAD, OUT (default bench/results),
# OMP_WAIT_POLICY (default passive, as bench/run.sh).
# Prints a markdown table; raw JSON lines in $OUT/serve.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
PIFI=${PIFI:-build/pifi}
PY=${PY:-$HOME/.cache/pifi/oracle-venv/bin/python}
MODELS=${MODELS:-models}
DATA=${DATA:-../shared/data}
THREADS=${THREADS:-$(nproc)}
DUR=${DUR:-20}
LOAD=${LOAD:-60}
OUT=${OUT:-bench/results}
CACHE=${CACHE:-bench/.cache}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} # as bench/run.sh: both sides, a busy machine
mkdir -p "$OUT" "$CACHE"
RAW=$OUT/serve.jsonl
: > "$RAW"
command -v wrk > /dev/null || { echo "serve.sh: wrk is needed (apt-get install wrk)"; exit 2; }
[[ -x $PIFI ]] || { echo "serve.sh: no $PIFI"; exit 2; }
"$PY" -c 'import torch, transformers' 2>/dev/null || { echo "serve.sh: $PY lacks torch/transformers"; exit 2; }

RUN=${RUN:-$CACHE/serve_run}
if [[ ! -f $RUN/model.safetensors ]]; then
  awk 'BEGIN { print "text\tlabel" } NR <= 256 { l = $1; $1 = ""; sub(/^ /, ""); print $0 "\t" l }' \
    "$DATA/sst2/stsa.binary.train" > "$CACHE/serve_train.tsv"
  "$PIFI" train --slm "$MODELS/all-MiniLM-L6-v2" --method base --train "$CACHE/serve_train.tsv" --epochs 1 \
    --precision fp32 -o "$RUN" --overwrite >&2
fi

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
flags=$(grep -m1 '^flags' /proc/cpuinfo)
isa=AVX2; [[ $flags == *avx512f* ]] && isa=AVX-512; [[ $flags == *avx512_bf16* ]] && isa="$isa+BF16"
PORT=0 PID=0

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_up() {
  for _ in $(seq 600); do
    curl -sf "http://127.0.0.1:$PORT/health" > /dev/null && return 0
    kill -0 "$PID" 2> /dev/null || return 1
    sleep 0.1
  done
  return 1
}
start_pifi() { # extra serve options in "$@"
  PORT=$(free_port)
  "$PIFI" serve "$RUN" --port "$PORT" --threads "$THREADS" --precision fp32 "$@" 2> "$CACHE/serve.log" > /dev/null &
  PID=$!
  wait_up || { echo "serve.sh: pifi serve did not come up"; tail -5 "$CACHE/serve.log"; exit 1; }
}
start_peer() {
  PORT=$(free_port)
  OMP_NUM_THREADS=$THREADS "$PY" bench/serve_peer.py "$RUN" "$PORT" "$THREADS" 2> "$CACHE/peer.log" &
  PID=$!
  wait_up || { echo "serve.sh: the Python peer did not come up"; tail -5 "$CACHE/peer.log"; exit 1; }
}
stop() { kill -TERM "$PID" 2> /dev/null; wait "$PID" 2> /dev/null || true; }
peak_kb() { awk '/VmHWM/ { print $2 }' "/proc/$PID/status"; }
load() { # connections seconds -> the WRK JSON line
  wrk -t $(($1 < 2 ? 1 : 2)) -c "$1" -d "${2}s" --timeout 30s --latency -s bench/wrk_predict.lua "http://127.0.0.1:$PORT" |
    sed -n 's/^WRK //p'
}

echo "# pifi serve against PyTorch + transformers (stdlib HTTP server)"
echo
echo "CPU: $cpu ($isa), $THREADS threads for the model; run $RUN (base, fp32); wrk 2 threads, ${DUR} s per cell"
echo
echo "| server | connections | requests/s | p50 ms | p99 ms | peak RSS MB | statuses |"
echo "|---|---|---|---|---|---|---|"
for c in 1 8 64; do
  for who in pifi python; do
    if [[ $who == pifi ]]; then start_pifi; else start_peer; fi
    load 2 3 > /dev/null # warm up
    j=$(load "$c" "$DUR")
    rss=$(peak_kb)
    stop
    echo "{\"server\": \"$who\", \"connections\": $c, \"peak_rss_kb\": $rss, \"wrk\": $j}" >> "$RAW"
    "$PY" -c 'import json, sys
j = json.loads(sys.argv[1])
print("| %s | %s | %.1f | %.1f | %.1f | %.0f | %s |" % (sys.argv[2], sys.argv[3], j["rps"], j["p50_ms"], j["p99_ms"],
      int(sys.argv[4]) / 1024, j["statuses"]))' "$j" "$who" "$c" "$rss"
  done
done

echo
echo "## Load test: 64 connections for $LOAD s"
start_pifi
( for _ in $(seq "$LOAD"); do awk '/VmRSS/ { print $2 }' "/proc/$PID/status" 2> /dev/null; sleep 1; done ) > "$CACHE/rss.txt" &
SAMPLER=$!
j=$(load 64 "$LOAD")
wait "$SAMPLER" || true
stop
first=$(head -10 "$CACHE/rss.txt" | sort -n | tail -1) last=$(tail -10 "$CACHE/rss.txt" | sort -n | tail -1)
echo "{\"load\": $j, \"rss_first10_kb\": $first, \"rss_last10_kb\": $last}" >> "$RAW"
"$PY" -c 'import json, sys
j, first, last = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ok = set(j["statuses"]) <= {"200"} and j["errors_connect"] == 0 and abs(last - first) <= 0.1 * first
print("%d requests (%.1f/s), p99 %.1f ms, statuses %s; RSS max of the first 10 s %.1f MB, of the last 10 s %.1f MB (%+.1f %%): %s"
      % (j["requests"], j["rps"], j["p99_ms"], j["statuses"], first / 1024, last / 1024, 100 * (last - first) / first,
         "holds" if ok else "DOES NOT HOLD"))' "$j" "$first" "$last"

echo
echo "## A queue of 4: 503 + Retry-After, nothing else"
start_pifi --max-queue 4 --max-batch-size 4
j=$(load 64 "$DUR")
alive=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/health" || true)
stop
echo "{\"small_queue\": $j, \"health_after\": \"$alive\"}" >> "$RAW"
"$PY" -c 'import json, sys
j = json.loads(sys.argv[1])
ok = set(j["statuses"]) <= {"200", "503"} and "503" in j["statuses"] and sys.argv[2] == "200"
print("statuses %s, /health after: %s: %s" % (j["statuses"], sys.argv[2], "holds" if ok else "DOES NOT HOLD"))' "$j" "$alive"
