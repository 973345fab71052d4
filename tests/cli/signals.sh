#!/usr/bin/env bash
# signals.sh: SIGINT and SIGTERM at random moments of `pifi train` (loading,
# steps, the validation at an epoch's end, the test evaluation, the exit of
# a finished run): the status is always 130 / 143 (or 0 when the run had
# finished), never a crash; the message says what happened; --resume always
# continues, and the run ends bit-identical to one never interrupted. A
# second SIGINT stops at once (130) with the last checkpoint intact.
# Deterministic: each signal is sent once the process can take it (ready:
# it blocks them, from main's first statement); before that the kernel and
# the dynamic loader are still starting it, and the default action is the
# only possible one (docs/robustness.md). Every moment after that must pass.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
shm=/dev/shm; [[ -d $shm && -w $shm && $(df -Pk $shm | awk 'NR == 2 { print $4 }') -gt 3000000 ]] || shm=${TMPDIR:-/tmp}
T=$(mktemp -d "$shm/pifi-sig.XXXXXX")
trap '[[ -n ${PIFI_KEEP_TMP:-} ]] || rm -rf "$T"' EXIT

"$PIFI" extract --llm "$gguf" --layer -1 -o "$T/layer" >/dev/null
tsv "$DATA/sst2/stsa.binary.train" 32 > "$T/train.tsv"   # 4 steps an epoch
tsv "$DATA/sst2/stsa.binary.dev" 256 > "$T/valid.tsv"    # an evaluation that takes a moment
tsv "$DATA/sst2/stsa.binary.test" 128 > "$T/test.tsv"
# --save-every 3: epoch 1 ends unsaved (a signal in its validation waits for the save),
# epoch 2 ends saved (a signal in its validation stops at once)
common=(--slm "$slm" --llm-layer "$T/layer" --train "$T/train.tsv" --valid "$T/valid.tsv" --test "$T/test.tsv"
        --batch 8 --max-len 24 --epochs 2 --eval-batch 16 --save-every 3 --keep-checkpoint yes)
"$PIFI" train "${common[@]}" -o "$T/ref" > /dev/null 2>&1
ok '[[ $? -eq 0 ]]'

# ready PID: PID runs $PIFI (exec done: its name, cut to 15 characters as
# the kernel keeps it) and blocks SIGINT and SIGTERM (bits 2 and 15 of
# SigBlk): from then on a signal is pifi's to handle. Read in that order, so
# the mask read is pifi's, not that of the shell about to exec it.
exe_name=$(basename "$PIFI" | cut -c 1-15)
ready() {
  local comm blk
  for _ in $(seq 1 3000); do
    comm=$(cat "/proc/$1/comm" 2> /dev/null) || return 1
    blk=$(awk '/^SigBlk:/ { print $2 }' "/proc/$1/status" 2> /dev/null) || return 1
    [[ $comm == "$exe_name" && -n $blk ]] && (( (16#$blk & 0x4002) == 0x4002 )) && return 0
    sleep 0.01
  done
  return 1
}

# 20 signals; fewer under the sanitizers (scripts/sanitize.sh: the same
# paths, 3-5x slower), or PIFI_SIGNALS. A run that has finished is resumed
# once more (a signal in the short life of a finished run: its evaluation
# and its exit) and then started again, so most signals meet a training.
want_signals=${PIFI_SIGNALS:-$([[ -n ${PIFI_SANITIZED:-} ]] && echo 5 || echo 20)}
run=$T/run sent=0 finished=0 crashes=0 restarts=0 fin=0 # fin: 0 training, 1 finished, 2 resumed once finished
lines() { [[ -f $run/train_log.jsonl ]] && wc -l < "$run/train_log.jsonl" || echo 0; }
for i in $(seq 1 "$want_signals"); do
  if (( fin == 2 )); then rm -rf "$run"; restarts=$((restarts + 1)) fin=0; fi
  if [[ -f $run/config.json ]]; then "$PIFI" train --resume "$run" > /dev/null 2> "$T/err" &
  else "$PIFI" train "${common[@]}" -o "$run" > /dev/null 2> "$T/err" &
  fi
  pid=$!
  ready $pid
  case $((i % 3)) in
    0) sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.3 * r / 32768 }')" ;;         # loading
    1) sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.3 + 2.5 * r / 32768 }')" ;;   # anywhere
    2) n0=$(lines)                                                                     # an epoch's end
       for _ in $(seq 1 500); do
         n=$(lines); (( n > n0 && n % 4 == 0 )) && break
         kill -0 $pid 2> /dev/null || break
         sleep 0.01
       done ;;
  esac
  sig=$([[ $((i % 2)) -eq 0 ]] && echo INT || echo TERM)
  kill -$sig $pid 2> /dev/null
  sent=$((sent + 1))
  wait $pid; status=$?
  want=$([[ $sig == INT ]] && echo 130 || echo 143)
  if [[ $status -ne $want && $status -ne 0 ]]; then
    crashes=$((crashes + 1)); echo "FAIL: signal $i ($sig): status $status: $(tail -2 "$T/err")"
  elif [[ $status -ne 0 ]] && ! grep -q "^pifi: .*\(interrupted\|stopped\)" "$T/err"; then
    crashes=$((crashes + 1)); echo "FAIL: signal $i ($sig): no message: $(tail -2 "$T/err")"
  fi
  [[ $status -eq 0 ]] && finished=$((finished + 1))
  if (( fin == 1 )) || [[ $status -eq 0 ]]; then fin=$((fin + 1)); fi
  echo "signal $i: SIG$sig -> $status: $(grep -o "interrupted [a-z ]*\|stopp[a-z ]*" "$T/err" | head -1)"
  if [[ -f $run/checkpoint/state.safetensors ]] && ! "$PIFI" info "$run/checkpoint/state.safetensors" > /dev/null; then
    crashes=$((crashes + 1)); echo "FAIL: the checkpoint is unreadable after signal $i"
  fi
done
ok '[[ $crashes -eq 0 && $sent -ge $want_signals ]]'
if [[ -f $run/config.json ]]; then "$PIFI" train --resume "$run" > /dev/null 2> "$T/err"
else "$PIFI" train "${common[@]}" -o "$run" > /dev/null 2> "$T/err"
fi
ok '[[ $? -eq 0 ]]'
ok 'cmp -s $T/ref/model.safetensors $run/model.safetensors'
ok 'cmp -s $T/ref/checkpoint/state.safetensors $run/checkpoint/state.safetensors'
ok 'cmp -s $T/ref/metrics.json $run/metrics.json'

# a second SIGINT: out at once, the checkpoint intact, the resume bit-identical
"$PIFI" train "${common[@]}" -o "$T/two" > /dev/null 2> "$T/two.err" &
pid=$!
for _ in $(seq 1 1500); do [[ -f $T/two/checkpoint/state.safetensors ]] && break; sleep 0.01; done
kill -INT $pid; sleep 0.05; kill -INT $pid 2> /dev/null
wait $pid; status=$?
ok '[[ $status -eq 130 ]]'
ok 'grep -q "stopped at once by a second signal\|interrupted" $T/two.err'
ok '"$PIFI" info "$T/two/checkpoint/state.safetensors" > /dev/null'
"$PIFI" train --resume "$T/two" > /dev/null 2>&1
ok '[[ $? -eq 0 ]] && cmp -s $T/ref/model.safetensors $T/two/model.safetensors'
ok '[[ -z "$(find $T/two $run -name "*.tmp.*")" ]]'

echo "$sent signals ($finished after the run had finished; restarted $restarts times), no crash: $([[ $crashes -eq 0 ]] && echo yes || echo NO)"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
