#!/usr/bin/env bash
# kill_resume.sh: `pifi train` killed with SIGKILL again and again (at random
# moments, and while a checkpoint is being written: --save-every 1), each
# time continued with --resume (or started again when it died before writing
# config.json), ends bit-identical to an uninterrupted run: model.safetensors,
# checkpoint/state.safetensors, metrics.json and the log's steps and losses.
# After every kill the last checkpoint is complete (pifi info reads it) and no
# temp file survives the next start. Real MiniLM + stories260K's last layer,
# a small TSV cut from SST-2 (as train_resume.sh).
set -u
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
# a RAM disk when there is one: every step writes a 275 MB checkpoint
shm=/dev/shm; [[ -d $shm && -w $shm && $(df -Pk $shm | awk 'NR == 2 { print $4 }') -gt 3000000 ]] || shm=${TMPDIR:-/tmp}
T=$(mktemp -d "$shm/pifi-kill.XXXXXX")
trap '[[ -n ${PIFI_KEEP_TMP:-} ]] || rm -rf "$T"' EXIT

"$PIFI" extract --llm "$gguf" --layer -1 -o "$T/layer" >/dev/null
tsv "$DATA/sst2/stsa.binary.train" 32 > "$T/train.tsv"   # 4 steps an epoch, 3 epochs
tsv "$DATA/sst2/stsa.binary.dev" 32 > "$T/valid.tsv"
tsv "$DATA/sst2/stsa.binary.test" 32 > "$T/test.tsv"
common=(--slm "$slm" --llm-layer "$T/layer" --train "$T/train.tsv" --valid "$T/valid.tsv" --test "$T/test.tsv"
        --batch 8 --max-len 24 --epochs 3 --eval-batch 32 --save-every 1 --keep-checkpoint yes)

"$PIFI" train "${common[@]}" -o "$T/ref" > /dev/null 2> "$T/ref.err"
ok '[[ $? -eq 0 ]]'

run=$T/run
kills=0 resumes=0 restarts=0 last_step=0 want_kills=${PIFI_KILLS:-$([[ -n ${PIFI_SANITIZED:-} ]] && echo 6 || echo 22)} finished=0
for attempt in $(seq 1 200); do
  if [[ -f $run/config.json ]]; then
    "$PIFI" train --resume "$run" > "$T/out" 2> "$T/err" &
    resumes=$((resumes + 1))
  else
    "$PIFI" train "${common[@]}" -o "$run" > "$T/out" 2> "$T/err" &
    restarts=$((restarts + 1))
  fi
  pid=$!
  if (( kills < want_kills )); then
    if (( kills % 3 == 2 )); then  # while a checkpoint is being written
      for _ in $(seq 1 300); do
        compgen -G "$run/checkpoint/state.safetensors.tmp.$pid" > /dev/null && break
        kill -0 $pid 2> /dev/null || break
        sleep 0.01
      done
    else                           # anywhere: loading, a step, an evaluation, a save
      sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.05 + 1.2 * r / 32768 }')"
    fi
    if kill -9 $pid 2> /dev/null; then
      kills=$((kills + 1))
      wait $pid 2> /dev/null
      # the last checkpoint is whole: its header and sizes check out
      if [[ -f $run/checkpoint/state.safetensors ]]; then
        "$PIFI" info "$run/checkpoint/state.safetensors" > /dev/null 2> "$T/info.err" ||
          { fail=$((fail + 1)); echo "FAIL: after kill $kills: $(cat "$T/info.err")"; }
      fi
      continue
    fi
  fi
  wait $pid; status=$?
  if [[ $status -ne 0 ]]; then
    fail=$((fail + 1)); echo "FAIL: attempt $attempt exited $status: $(tail -2 "$T/err")"; break
  fi
  # what the resume said: the checkpoint's step never goes back
  step=$(sed -n 's/.*resuming .* at step \([0-9]*\) .*/\1/p' "$T/err")
  [[ -n $step && $step -lt $last_step ]] && { fail=$((fail + 1)); echo "FAIL: resumed at $step < $last_step"; }
  finished=1
  break
done
ok '[[ $finished -eq 1 ]]'
ok '[[ $kills -ge $want_kills ]]'
ok 'cmp -s $T/ref/model.safetensors $run/model.safetensors'
ok 'cmp -s $T/ref/checkpoint/state.safetensors $run/checkpoint/state.safetensors'
ok 'cmp -s $T/ref/metrics.json $run/metrics.json'
steps_losses() { sed 's/"epoch":[^,]*,//; s/,"lr".*//' "$1"; }
ok '[[ "$(steps_losses $T/ref/train_log.jsonl)" == "$(steps_losses $run/train_log.jsonl)" ]]' ||
  diff <(steps_losses $T/ref/train_log.jsonl) <(steps_losses $run/train_log.jsonl) | head -5
ok '[[ $(wc -l < $run/train_log.jsonl) -eq 12 ]]'
ok '[[ -z "$(find $run -name "*.tmp.*")" ]]'

# resume of a run that died before its first checkpoint: step 0, same result
mkdir -p "$T/early"
cp "$T/ref/config.json" "$T/early/"
"$PIFI" train --resume "$T/early" > /dev/null 2> "$T/early.err"
ok '[[ $? -eq 0 ]] && grep -q "no checkpoint yet" $T/early.err'
ok 'cmp -s $T/ref/model.safetensors $T/early/model.safetensors'
# a directory without config.json is no run to resume
mkdir -p "$T/none"
"$PIFI" train --resume "$T/none" > /dev/null 2> "$T/none.err"
ok '[[ $? -ne 0 ]] && grep -q "config.json" $T/none.err'

echo "$kills kills, resumed $resumes times (restarted $restarts), final weights bit-identical: $([[ $fail -eq 0 ]] && echo yes || echo NO)"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
