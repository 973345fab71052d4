#!/usr/bin/env bash
# disk_full.sh: `pifi train` when a checkpoint cannot be written: past the
# file size limit (ulimit -f: pifi ignores SIGXFSZ, so write() fails with
# EFBIG) and, as root where tmpfs can be mounted, on a full disk (ENOSPC).
# Each time: one line naming the file and the reason, a non-zero status, the
# previous checkpoint intact and loadable, no temp file left, and after
# raising the limit / freeing space --resume ends bit-identical to a run that
# never failed.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
T=$(mktemp -d)
mnt=$T/small
cleanup() { mountpoint -q "$mnt" 2> /dev/null && umount "$mnt"; rm -rf "$T"; }
trap cleanup EXIT
no_temps() { [[ -z "$(find "$1" -name '*.tmp.*' 2> /dev/null)" ]]; }

"$PIFI" extract --llm "$gguf" --layer -1 -o "$T/layer" >/dev/null
tsv "$DATA/sst2/stsa.binary.train" 48 > "$T/train.tsv"
tsv "$DATA/sst2/stsa.binary.dev" 32 > "$T/valid.tsv"
common=(--slm "$slm" --llm-layer "$T/layer" --train "$T/train.tsv" --valid "$T/valid.tsv"
        --batch 8 --max-len 24 --max-steps 6 --save-every 2 --eval-batch 32 --keep-checkpoint yes)
"$PIFI" train "${common[@]}" -o "$T/ref" > /dev/null 2> "$T/ref.err"
ok '[[ $? -eq 0 ]]'

# --- file size limit (ulimit -f, 1 KiB blocks): the 275 MB state cannot be written
# a checkpoint first: stop a run (SIGKILL) once its first one exists
"$PIFI" train "${common[@]}" -o "$T/b" > /dev/null 2>&1 &
pid=$!
for _ in $(seq 1 1200); do [[ -f $T/b/checkpoint/state.safetensors ]] && break; sleep 0.02; done
kill -9 $pid; wait $pid 2> /dev/null
ok '[[ -f $T/b/checkpoint/state.safetensors ]]'
before=$(cksum < "$T/b/checkpoint/state.safetensors")
(ulimit -f 100000; exec "$PIFI" train --resume "$T/b") > /dev/null 2> "$T/b.err"
status=$?
ok '[[ $status -eq 1 ]]'
ok '[[ $(grep -c "cannot write" $T/b.err) -eq 1 ]]'
ok 'grep -q "state.safetensors: cannot write: the file is too large" $T/b.err'
ok 'grep -q "last complete checkpoint (step [0-9]*) is intact" $T/b.err'
ok '[[ "$(cksum < $T/b/checkpoint/state.safetensors)" == "$before" ]]'
ok '"$PIFI" info "$T/b/checkpoint/state.safetensors" > /dev/null'
ok 'no_temps $T/b'
grep "cannot write" "$T/b.err"
# no checkpoint ever written: the same words, then a resume starts at step 0
(ulimit -f 100000; exec "$PIFI" train "${common[@]}" -o "$T/c") > /dev/null 2> "$T/c.err"
ok '[[ $? -eq 1 ]] && grep -q "no checkpoint had been saved yet" $T/c.err && no_temps $T/c'
# the limit raised: both continue to the same end as the run that never failed
"$PIFI" train --resume "$T/b" > /dev/null 2> "$T/b2.err"
ok '[[ $? -eq 0 ]]'
"$PIFI" train --resume "$T/c" > /dev/null 2> "$T/c2.err"
ok '[[ $? -eq 0 ]] && grep -q "no checkpoint yet" $T/c2.err'
for r in b c; do
  ok "cmp -s \$T/ref/checkpoint/state.safetensors \$T/$r/checkpoint/state.safetensors"
  ok "cmp -s \$T/ref/model.safetensors \$T/$r/model.safetensors"
done

# --- a full disk: a 400 MiB tmpfs holds one 275 MB state but not a second beside it
mkdir -p "$mnt"
if [[ $(id -u) -eq 0 ]] && mount -t tmpfs -o size=400m tmpfs "$mnt" 2> /dev/null; then
  "$PIFI" train "${common[@]}" -o "$mnt/run" > /dev/null 2> "$T/d.err"
  ok '[[ $? -eq 1 ]]'
  ok '[[ $(grep -c "cannot write" $T/d.err) -eq 1 ]]'
  ok 'grep -q "cannot write.*the disk is full" $T/d.err && grep -q "(step 2) is intact" $T/d.err'
  grep "cannot write" "$T/d.err"
  ok '"$PIFI" info "$mnt/run/checkpoint/state.safetensors" > /dev/null'
  ok 'no_temps $mnt/run'
  mount -o remount,size=1200m "$mnt"
  "$PIFI" train --resume "$mnt/run" > /dev/null 2> "$T/d2.err"
  ok '[[ $? -eq 0 ]]'
  ok 'cmp -s $T/ref/checkpoint/state.safetensors $mnt/run/checkpoint/state.safetensors'
  ok 'cmp -s $T/ref/model.safetensors $mnt/run/model.safetensors'
else
  echo "tmpfs part skipped: needs root and mount -t tmpfs (running as uid $(id -u))"
fi

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
