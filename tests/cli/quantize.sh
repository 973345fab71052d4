#!/usr/bin/env bash
# quantize.sh: `pifi quantize` writes a run in int8 form that needs no fp32
# copy of its int8 weights (issue 19): tiny runs on the real MiniLM (a PiFi
# run with stories260K's last layer, referenced; a base run; a pifi-unfrozen
# run with its layer bundled) are quantized, and
#   - OUT has no fp32 copy: its weights file is I8 + F32, under a third of the
#     fp32 run's with --all; the layer is bundled in int8 form, no checkpoint;
#   - OUT stands alone: the source run moved away and the layer file deleted,
#     `pifi eval OUT` gives exactly the accuracy quantize measured on the
#     in-memory int8 model, and `pifi predict OUT` labels the test texts with
#     that same accuracy; `pifi info OUT` reads it;
#   - `pifi train --resume OUT`, a base run without --all, an int8 run as
#     RUN_DIR, an OUT that is not a run and an int8 run of the earlier layout
#     are one-line errors;
#   - peak RSS (VmHWM) of `pifi predict` on the int8 base run (--all) is
#     below the fp32 run's by at least half the weights' bytes int8 saves.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
# one-line errors: exit 2, one "pifi:" line (then maybe the hint)
err2() { "$PIFI" "$@" > /dev/null 2> "$T/e.err"; [[ $? -eq 2 && $(grep -c '^pifi: ' "$T/e.err") -eq 1 ]]; }
size() { stat -c %s "$1"; }

tsv "$DATA/sst2/stsa.binary.train" 64 > "$T/train.tsv"
tsv "$DATA/sst2/stsa.binary.dev" 16 > "$T/valid.tsv"
tsv "$DATA/sst2/stsa.binary.test" 48 > "$T/test.tsv"
tail -n +2 "$T/test.tsv" | cut -f1 > "$T/texts.txt"
tail -n +2 "$T/test.tsv" | cut -f2 > "$T/gold.txt"
cp "$gguf" "$T/layer.gguf" # a layer file the int8 run must not need
common=(--slm "$slm" --train "$T/train.tsv" --valid "$T/valid.tsv" --test "$T/test.tsv"
        --batch 8 --max-len 16 --max-steps 2 --eval-batch 64 --precision fp32)
"$PIFI" train "${common[@]}" --llm "$T/layer.gguf" --layer -1 -o "$T/run" > /dev/null 2>&1
ok '[[ $? -eq 0 && -s $T/run/model.safetensors ]]'
"$PIFI" train "${common[@]}" --method base -o "$T/base" > /dev/null 2>&1
ok '[[ $? -eq 0 ]]'
"$PIFI" train "${common[@]}" --method pifi-unfrozen --llm "$T/layer.gguf" --layer -1 --bundle -o "$T/unf" > /dev/null 2>&1
ok '[[ $? -eq 0 && -s $T/unf/llm_layer/model.safetensors ]]'

# accuracy of `pifi predict RUN` on the test texts (labels as the run names them)
predict_acc() {
  "$PIFI" predict "$1" --precision fp32 --batch 64 --input "$T/texts.txt" > "$T/pred.jsonl" || return 1
  sed -E 's/.*"label":"([^"]*)".*/\1/' "$T/pred.jsonl" | paste - "$T/gold.txt" |
    awk -F'\t' '{ n++; if ($1 == $2) k++ } END { printf "%.6f\n", k / n }'
}
json_field() { sed -E "s/.*\"$2\":([^,}]*).*/\1/" "$1"; }

for v in q:run: qall:run:--all qbase:base:--all qunf:unf:; do
  IFS=: read -r out src flag <<< "$v"
  "$PIFI" quantize "$T/$src" -o "$T/$out" $flag --precision fp32 --batch 64 --json > "$T/j-$out" 2> "$T/e-$out"
  ok "[[ \$? -eq 0 ]] && grep -q '\"accuracy_after\"' \$T/j-$out"
  ok "[[ -s \$T/$out/model.safetensors && ! -e \$T/$out/quantized.safetensors && ! -e \$T/$out/checkpoint ]]"
  ok "grep -q '\"layout\":[[:space:]]*2' \$T/$out/config.json"
done
# what is int8 and where: the layer bundled in int8 form, the SLM int8 with --all only
for out in q qall qunf; do
  ok "[[ -s \$T/$out/llm_layer/config.json ]] && \"\$PIFI\" info --json \$T/$out/llm_layer/model.safetensors | grep -q '\"dtypes\":\"F32,I8\"'"
  ok "grep -q '\"llm\":[[:space:]]*\"llm_layer\"' \$T/$out/config.json"
done
ok '"$PIFI" info --json $T/q/model.safetensors | grep -q "\"dtypes\":\"F32\""'
ok '"$PIFI" info --json $T/qall/model.safetensors | grep -q "\"dtypes\":\"F32,I8\""'
ok '[[ ! -e $T/qbase/llm_layer ]] && "$PIFI" info --json $T/qbase/model.safetensors | grep -q "\"dtypes\":\"F32,I8\""'
# no fp32 copy: with --all the weights are under a third of the fp32 run's (int8: 1 byte of 4)
ok '[[ $(( 3 * $(size $T/qall/model.safetensors) )) -lt $(size $T/run/model.safetensors) ]]'
ok '[[ $(( 3 * $(size $T/qbase/model.safetensors) )) -lt $(size $T/base/model.safetensors) ]]'
# the layer alone: the int8 file under a third of its fp32 weights (4 bytes per parameter)
lp=$("$PIFI" info --json "$T/q/llm_layer/model.safetensors" | sed -E 's/.*"total":([0-9]+).*/\1/')
ok '[[ $lp -gt 0 && $(( 3 * $(size $T/q/llm_layer/model.safetensors) )) -lt $(( 4 * lp )) ]]'

# OUT stands alone: source runs moved, the layer file gone
mv "$T/run" "$T/run.moved"
mv "$T/unf" "$T/unf.moved"
rm "$T/layer.gguf"
for out in q qall qbase qunf; do
  after=$(json_field "$T/j-$out" accuracy_after)
  "$PIFI" eval "$T/$out" --precision fp32 --batch 64 --json > "$T/v-$out" 2> "$T/ve-$out"
  ok "[[ \$? -eq 0 && \$(json_field \$T/v-$out accuracy) == $after ]]"
  ok "[[ \$(predict_acc \$T/$out) == $after ]]"
  "$PIFI" info "$T/$out" > "$T/i-$out" 2>&1
  ok "[[ \$? -eq 0 ]]"
done
ok 'grep -q "LLM layer" $T/i-q && grep -q "llm_layer" $T/i-q'
ok 'grep -q "^int8 .*inference only" $T/i-q && grep -q "^int8 .*inference only" $T/i-qall'
# the default arithmetic (bf16 where the CPU has it) on the int8 weights works too
"$PIFI" eval "$T/qall" > /dev/null 2>&1
ok '[[ $? -eq 0 ]]'

# one-line errors
ok 'err2 train --resume $T/qall && grep -q "an int8 run (pifi quantize) is for inference only" $T/e.err'
ok 'err2 quantize $T/base -o $T/qb2 && grep -q "pass --all" $T/e.err'
ok 'err2 quantize $T/qall -o $T/qq --all && grep -q "already an int8 run" $T/e.err'
ok 'err2 quantize $T/base -o $T/qbase --all && grep -q "pass --overwrite" $T/e.err'
mkdir -p "$T/notrun" && touch "$T/notrun/keep"
ok 'err2 quantize $T/base -o $T/notrun --all && grep -q "not a run or an empty directory" $T/e.err && [[ -f $T/notrun/keep ]]'
"$PIFI" quantize "$T/base" -o "$T/qbase" --all --overwrite --precision fp32 > /dev/null 2>&1
ok '[[ $? -eq 0 && -s $T/qbase/model.safetensors && $(ls -d $T/qbase.* 2>/dev/null | wc -l) -eq 0 ]]'
# the fp32 run needs its layer file (gone), the int8 runs do not
"$PIFI" eval "$T/run.moved" > /dev/null 2>&1
ok '[[ $? -ne 0 ]]'
# the earlier layout (quantized.safetensors beside the fp32 weights) is refused, not half-loaded
cp -r "$T/run.moved" "$T/old"
sed -i -E '0,/"pifi":[[:space:]]*\{/s//"pifi": {"quantized": {"file": "quantized.safetensors"},/' "$T/old/config.json"
ok 'err2 eval $T/old && grep -q "earlier pifi quantize" $T/e.err'

# peak RSS of predict (VmHWM after the predictions, before exit): the int8 base run (--all) below the
# fp32 one by at least half of the weight bytes int8 saves
peak_kb() {
  local fifo="$T/fifo" out="$T/peak.out" pid i
  rm -f "$fifo" "$out"; mkfifo "$fifo"
  "$PIFI" predict "$1" --precision fp32 --batch 16 < "$fifo" > "$out" 2> /dev/null &
  pid=$!
  exec 9> "$fifo"
  cat "$T/texts.txt" >&9
  for i in $(seq 1 3000); do
    [[ -s $out && $(wc -l < "$out") -ge 48 || ! -e /proc/$pid/status ]] && break
    sleep 0.1
  done
  awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status"
  exec 9>&-
  wait "$pid"
}
rss32=$(peak_kb "$T/base")
rss8=$(peak_kb "$T/qbase")
saved_kb=$(( ($(size $T/base/model.safetensors) - $(size $T/qbase/model.safetensors)) / 1024 ))
echo "peak RSS of predict: fp32 base run $rss32 kB, its int8 form (--all) $rss8 kB (weights: $saved_kb kB less)"
if [[ -n ${PIFI_SANITIZED:-} ]]; then # ASan's quarantine and shadow memory blur RSS: lower is all it shows
  ok '[[ -n $rss32 && -n $rss8 && $rss8 -lt $rss32 ]]'
else
  ok '[[ -n $rss32 && -n $rss8 && $(( rss8 + saved_kb / 2 )) -lt $rss32 ]]'
fi

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
