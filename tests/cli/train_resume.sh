#!/usr/bin/env bash
# train_resume.sh: `pifi train` end to end on real data (SST-2) with the real
# MiniLM and a real LLM layer (stories260K's last layer, from its GGUF), a few
# steps: the run directory is complete, `pifi eval` and `pifi predict` read it,
# and a run interrupted with SIGINT and continued with --resume ends with
# weights and optimizer state bit-identical to an uninterrupted run.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

"$PIFI" extract --llm "$gguf" --layer -1 -o "$T/layer" >/dev/null
ok '[[ -f $T/layer/model.safetensors ]]'
# small TSV files cut from SST-2 (the generic reader), to keep the test short
tsv "$DATA/sst2/stsa.binary.train" 400 > "$T/train.tsv"
tsv "$DATA/sst2/stsa.binary.dev" 64 > "$T/valid.tsv"
tsv "$DATA/sst2/stsa.binary.test" 64 > "$T/test.tsv"
common=(--slm "$slm" --llm-layer "$T/layer" --train "$T/train.tsv" --valid "$T/valid.tsv" --test "$T/test.tsv"
        --batch 8 --max-len 24 --max-steps 12 --eval-batch 64 --keep-checkpoint yes)

# uninterrupted
"$PIFI" train "${common[@]}" -o "$T/a" > "$T/a.out" 2> "$T/a.err"
ok '[[ $? -eq 0 ]]'
for f in config.json model.safetensors metrics.json train_log.jsonl tokenizer.json checkpoint/state.safetensors; do
  ok "[[ -s \$T/a/$f ]]"
done
ok '[[ $(wc -l < $T/a/train_log.jsonl) -eq 12 ]]'
ok 'grep -q "test accuracy" $T/a.out'

# interrupted after a few steps, then resumed
"$PIFI" train "${common[@]}" --save-every 4 -o "$T/b" > "$T/b.out" 2> "$T/b.err" &
pid=$!
for _ in $(seq 1 600); do
  [[ -f $T/b/train_log.jsonl && $(wc -l < "$T/b/train_log.jsonl") -ge 5 ]] && break
  sleep 0.05
done
kill -INT $pid
wait $pid; status=$?
ok '[[ $status -eq 130 ]]'
ok 'grep -q "pifi train --resume" $T/b.err'
steps_done=$(wc -l < "$T/b/train_log.jsonl")
"$PIFI" train --resume "$T/b" > "$T/b2.out" 2> "$T/b2.err"
ok '[[ $? -eq 0 ]]'
ok 'grep -q "resuming" $T/b2.err'
echo "interrupted after $steps_done of 12 steps, resumed"
ok 'cmp -s $T/a/checkpoint/state.safetensors $T/b/checkpoint/state.safetensors'
ok 'cmp -s $T/a/model.safetensors $T/b/model.safetensors'
ok '[[ $(wc -l < $T/b/train_log.jsonl) -eq 12 ]]'

# refuses to overwrite a run, and refuses extra flags on resume
"$PIFI" train "${common[@]}" -o "$T/a" > /dev/null 2> "$T/c.err"
ok '[[ $? -eq 2 ]] && grep -q "already holds a run" $T/c.err'
"$PIFI" train --resume "$T/a" --lr 1 > /dev/null 2> "$T/d.err"
ok '[[ $? -eq 2 ]]'

# eval and predict read the run
"$PIFI" eval "$T/a" --json > "$T/eval.json"
ok '[[ $? -eq 0 ]] && grep -q "\"accuracy\"" $T/eval.json && grep -q "\"confusion\"" $T/eval.json'
"$PIFI" eval "$T/a" --task cr --split valid --data-dir "$DATA" > "$T/cr.txt"
ok '[[ $? -eq 0 ]] && grep -q "accuracy" $T/cr.txt'
printf 'a gorgeous, witty, seductive movie.\nthe worst film of the year.\n' | "$PIFI" predict "$T/a" > "$T/pred.jsonl"
ok '[[ $(wc -l < $T/pred.jsonl) -eq 2 ]] && grep -q "\"probs\"" $T/pred.jsonl'
# bad labels file
printf 'text\tlabel\ngood\t1\nbad\t0\n' > "$T/tiny.tsv"
"$PIFI" train --slm "$slm" --method base --train "$T/tiny.tsv" -o "$T/tiny" > /dev/null 2> "$T/tiny.err"
ok '[[ $? -eq 2 ]] && grep -q "fewer than one batch" $T/tiny.err'

# pifi info on a run: the paper's parameter table
"$PIFI" info "$T/a" > "$T/info.txt"
ok '[[ $? -eq 0 ]] && grep -q "LLM layer" $T/info.txt && grep -q "frozen" $T/info.txt'

# the frozen layer is referenced by path and checked by hash; --bundle copies it
"$PIFI" extract --llm "$gguf" --layer -1 -o "$T/layer2" >/dev/null
"$PIFI" train "${common[@]/$T\/layer/$T/layer2}" --max-steps 2 -o "$T/ref" > /dev/null 2>&1
ok '[[ $? -eq 0 ]]'
"$PIFI" extract --llm "$gguf" --layer -2 -o "$T/layer2" --overwrite > /dev/null
"$PIFI" eval "$T/ref" > /dev/null 2> "$T/ref.err"
ok '[[ $? -ne 0 ]] && grep -q "changed since this run was trained" $T/ref.err'
"$PIFI" train "${common[@]}" --max-steps 2 --bundle -o "$T/bun" > /dev/null 2>&1
ok '[[ $? -eq 0 && -f $T/bun/llm_layer/model.safetensors ]]'
mv "$T/bun" "$T/bun_moved"
"$PIFI" eval "$T/bun_moved" > /dev/null 2> "$T/bun.err"
ok '[[ $? -eq 0 ]]'

# a diverging run stops with the step and keeps the last good checkpoint
# (PIFI_FAULT_NAN_STEP poisons the logits of that step: the real detection path)
PIFI_FAULT_NAN_STEP=5 "$PIFI" train "${common[@]}" --save-every 2 -o "$T/nan" > /dev/null 2> "$T/nan.err"
ok '[[ $? -eq 1 ]] && grep -q "loss is nan at step 5" $T/nan.err && grep -q "last good checkpoint (step 4)" $T/nan.err'
ok '[[ -f $T/nan/checkpoint/state.safetensors ]]'
"$PIFI" train --resume "$T/nan" > /dev/null 2>&1
ok '[[ $? -eq 0 ]] && cmp -s $T/a/checkpoint/state.safetensors $T/nan/checkpoint/state.safetensors'

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
