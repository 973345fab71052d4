#!/usr/bin/env bash
# fuzz.sh: build the libFuzzer harnesses of pifi's parsers (fuzz/) with clang
# -fsanitize=fuzzer,address,undefined into build-fuzz/, then run each for
# $PIFI_FUZZ_SECONDS seconds (default 60; 0 = only replay the committed seed
# corpus, a quick regression check), $PIFI_FUZZ_JOBS at a time (default 2).
# Fails if any harness crashes, leaks, trips a sanitizer, times out or runs
# out of memory; the input that did it is left in build-fuzz/artifacts/<name>/.
# Prints and writes to build-fuzz/fuzz-summary.txt the executions each
# harness reached.
#
#   scripts/fuzz.sh                    # all harnesses, 60 s each
#   PIFI_FUZZ_SECONDS=600 scripts/fuzz.sh gguf safetensors
#
# New inputs found go to build-fuzz/corpus/<name>/ (seeded from
# fuzz/corpus/<name>/, which is never written to).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${PIFI_FUZZ_SECONDS:-60}
JOBS=${PIFI_FUZZ_JOBS:-2}
B=build-fuzz

# name  max_len  dict
HARNESSES="
json             16384  json
safetensors      16384  json
st_index          8192  json
gguf             32768  gguf
gguf_dequant      4096  -
llm_gguf         65536  gguf
gguf_encoder     16384  gguf
encoder_config    4096  json
t5_config         4096  json
llm_config        4096  json
bart_config       4096  json
tokenizer_json   32768  tokenizer
vocab_txt        16384  tokenizer
bpe_files        16384  tokenizer
tokenizer_side    4096  tokenizer
charsmap         16384  -
encode            2048  tokenizer
dataset          16384  -
runio            16384  json
s2s_state         4096  json
squad            16384  json
mt_metrics        4096  -
nlg_metrics       4096  -
wordnet          16384  -
serve_request    65536  json
"

command -v clang >/dev/null || { echo "fuzz: clang is needed (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }
mkdir -p "$B"
if ! { CC=clang cmake -S fuzz -B "$B" && cmake --build "$B" -j"$JOBS"; } >"$B/build.log" 2>&1; then
  tail -30 "$B/build.log" >&2
  echo "fuzz: build failed (log: $B/build.log)" >&2
  exit 2
fi

want=("$@")
selected() {
  ((${#want[@]} == 0)) && return 0
  local w
  for w in "${want[@]}"; do [[ $w == "$1" || $w == "fuzz_$1" ]] && return 0; done
  return 1
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# run NAME MAXLEN DICT: one harness; its log is $B/logs/NAME.log
run() {
  local name=$1 maxlen=$2 dict=$3 bin=$B/fuzz_$1
  local corpus=$B/corpus/$name art=$B/artifacts/$name/ log=$B/logs/$name.log
  mkdir -p "$corpus" "$art" "$B/logs"
  local args=(-max_len="$maxlen" -rss_limit_mb=2048 -timeout=30 -artifact_prefix="$art" -print_final_stats=1)
  [[ $dict != - ]] && args+=(-dict=fuzz/dict/$dict.dict)
  if ((SECONDS_EACH > 0)); then
    args+=(-max_total_time="$SECONDS_EACH" "$corpus" "fuzz/corpus/$name")
  else
    args+=(-runs=0 "fuzz/corpus/$name")
  fi
  "$bin" "${args[@]}" >"$log" 2>&1
}

names=() pids=()
while read -r name maxlen dict; do
  [[ -z $name ]] && continue
  selected "$name" || continue
  if [[ ! -x $B/fuzz_$name ]]; then
    echo "fuzz: $name not built (its parser is not there yet), skipped" >&2
    continue
  fi
  [[ -d fuzz/corpus/$name ]] || mkdir -p "$B/corpus/$name"
  while (($(jobs -rp | wc -l) >= JOBS)); do sleep 1; done
  echo "fuzz: $name (${SECONDS_EACH}s, max_len $maxlen)" >&2
  run "$name" "$maxlen" "$dict" &
  names+=("$name") pids+=($!)
done <<<"$HARNESSES"

summary=$B/fuzz-summary.txt
fail=0
{
  printf '# %s, %s s per harness, clang %s\n' "$(date -u +%FT%TZ)" "$SECONDS_EACH" \
    "$(clang -dumpversion)"
  printf '%-16s %12s %10s %8s %7s  %s\n' harness executions exec/s cov corpus status
  # note ctlmsg: an error message held a newline or control byte from the input
} >"$summary"
for i in "${!names[@]}"; do
  name=${names[$i]} log=$B/logs/${names[$i]}.log
  status=ok
  wait "${pids[$i]}" || status=FAIL
  grep -aqE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: UndefinedBehaviorSanitizer|fuzz harness:|^fuzz: [^n]' \
    "$log" && status=FAIL
  execs=$(grep -aoE 'stat::number_of_executed_units: *[0-9]+' "$log" | tail -1 | grep -oE '[0-9]+$' || true)
  rate=$(grep -aoE 'stat::average_exec_per_sec: *[0-9]+' "$log" | tail -1 | grep -oE '[0-9]+$' || true)
  cov=$(grep -aoE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || true)
  corp=$(grep -aoE 'corp: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || true)
  note=""
  grep -aq '^fuzz: note: multi-line error message' "$log" && note=" (note ctlmsg)"
  printf '%-16s %12s %10s %8s %7s  %s\n' "$name" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${corp:-?}" \
    "$status$note" >>"$summary"
  if [[ $status != ok ]]; then
    fail=1
    echo "fuzz: $name FAILED; log $log, inputs in $B/artifacts/$name/:" >&2
    grep -aE 'ERROR:|runtime error:|SUMMARY:|fuzz harness:|^fuzz: [^n]|Test unit written' "$log" | head -20 >&2
  fi
done
cat "$summary"
exit "$fail"
