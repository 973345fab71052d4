#!/usr/bin/env bash
# train_loop.sh: the training loop's reporting and run-directory rules (issue
# 19), on the real MiniLM and stories260K's last layer, TSV files cut from SST-2:
#   1. the progress line shows the epoch's mean loss so far (what metrics.json's
#      train_loss becomes) and the last step's, once per epoch end and never
#      with "0.0 ex/s"; the mean survives --resume (steps before the
#      checkpoint come back from the log) and the resumed run is bit-identical;
#   2. --max-steps inside the first epoch: that partial epoch is validated and
#      reported as such (text, --json, metrics.json agree), never "best epoch 0";
#   3. --drop-last: by default the rows left out are said (one line); "no"
#      trains on the short last batch (every row each epoch, the epoch's loss
#      the mean over rows), is stored in config.json and resumes as trained;
#      with 2 MPI ranks (a last batch of one row: one rank's share is empty)
#      and with --grad-accum it is the same run;
#   4. --resume of a complete run says so and prints its results, trains and
#      evaluates nothing (the log, metrics and model unchanged);
#   5. --keep-checkpoint: no (the default) removes checkpoint/ at the end, yes
#      keeps it, and --resume RUN --keep-checkpoint no prunes a complete run;
#   6. --resume --precision bf16 of an fp32 run continues in bf16, warns that
#      it is no longer bit-identical and records the change (config.json
#      "resumes", a line in train_log.jsonl).
set -u
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

"$PIFI" extract --llm "$gguf" --layer -1 -o "$T/layer" > /dev/null
tsv "$DATA/sst2/stsa.binary.train" 40 > "$T/train40.tsv"   # batch 8: 5 steps an epoch
tsv "$DATA/sst2/stsa.binary.train" 20 > "$T/train20.tsv"   # 2 full batches + 4 rows
tsv "$DATA/sst2/stsa.binary.train" 17 > "$T/train17.tsv"   # 2 full batches + 1 row
tsv "$DATA/sst2/stsa.binary.dev" 16 > "$T/valid.tsv"
tsv "$DATA/sst2/stsa.binary.test" 16 > "$T/test.tsv"
base=(--slm "$slm" --llm-layer "$T/layer" --valid "$T/valid.tsv" --test "$T/test.tsv" --batch 8 --max-len 24
      --eval-batch 16 --precision fp32)
num() { printf "%.4f" "$1"; }
# the epochs' train_loss values of a run's metrics.json, one a line
train_losses() { grep -o '"train_loss":[[:space:]]*[-0-9.e]*' "$1/metrics.json" | sed 's/.*[[:space:]:]//'; }
# the loss logged at step $2 of run $1
step_loss() { sed -n "s/^{\"step\":$2,.*\"loss\":\\([-0-9.e]*\\),.*/\\1/p" "$1/train_log.jsonl"; }

# ---- 1. the progress line: epoch mean and last step, through a --resume
"$PIFI" train "${base[@]}" --train "$T/train40.tsv" --epochs 2 --keep-checkpoint yes -o "$T/a" > "$T/a.out" 2> "$T/a.err"
ok '[[ $? -eq 0 ]]'
for e in 1 2; do
  s=$((5 * e))
  mean=$(train_losses "$T/a" | sed -n "${e}p")
  ok "[[ \$(grep -c 'step $s/10 ' \$T/a.err) -eq 1 ]]"   # the epoch's last step: one line
  ok "grep -q 'step $s/10 loss $(num "$mean") (epoch mean; last step $(num "$(step_loss "$T/a" $s)"))' \$T/a.err"
done
ok '! grep -q " 0\.0 ex/s" $T/a.err'
grep "step 5/10" "$T/a.err"
# stopped by a NaN at step 4 (checkpoint of step 2), resumed: the mean of epoch 1 counts steps 1-2
PIFI_FAULT_NAN_STEP=4 "$PIFI" train "${base[@]}" --train "$T/train40.tsv" --epochs 2 --keep-checkpoint yes \
  --save-every 2 -o "$T/b" > /dev/null 2> "$T/b.err"
ok '[[ $? -eq 1 ]] && grep -q "last good checkpoint (step 2)" $T/b.err'
"$PIFI" train --resume "$T/b" > /dev/null 2> "$T/b2.err"
ok '[[ $? -eq 0 ]] && grep -q "resuming .* at step 2 " $T/b2.err'
mean=$(train_losses "$T/a" | sed -n 1p)
ok "grep -q 'step 5/10 loss $(num "$mean") (epoch mean; last step ' \$T/b2.err"
grep "step 5/10" "$T/b2.err"
for f in metrics.json model.safetensors checkpoint/state.safetensors; do ok "cmp -s \$T/a/$f \$T/b/$f"; done

# ---- 2. --max-steps before the first epoch ends: a partial epoch, validated
"$PIFI" train "${base[@]}" --train "$T/train40.tsv" --max-steps 2 -o "$T/p" > "$T/p.out" 2> "$T/p.err"
ok '[[ $? -eq 0 ]]'
cat "$T/p.out"
va=$(sed -n '/"partial"/,/"accuracy"/s/.*"accuracy":[[:space:]]*\([0-9.e-]*\).*/\1/p' "$T/p/metrics.json")
ok '[[ -n $va ]] && grep -q "stopped at step 2 of epoch 1 (--max-steps; 5 steps an epoch); valid accuracy $(num $va)" $T/p.out'
ok '! grep -q "best epoch 0" $T/p.out'
ok 'grep -Eq "\"best_epoch\":[[:space:]]*1,?$" $T/p/metrics.json && grep -q "\"best_epoch_partial\":[[:space:]]*true" $T/p/metrics.json'
ok 'grep -Eq "\"steps_in_epoch\":[[:space:]]*2," $T/p/metrics.json && [[ $(wc -l < $T/p/train_log.jsonl) -eq 2 ]]'
ok 'grep -q "epoch 1 (stopped by --max-steps at step 2 of 5): train loss .*, valid accuracy $(num $va)" $T/p.err'
"$PIFI" train "${base[@]}" --train "$T/train40.tsv" --max-steps 2 -o "$T/pj" --json > "$T/pj.out" 2> /dev/null
ok 'grep -q "\"steps\":2,\"best_epoch\":1,\"best_epoch_partial\":true,\"best_epoch_steps\":2,\"steps_per_epoch\":5,\"valid_accuracy\":$(printf %.6f $va)," $T/pj.out'
ok 'cmp -s $T/p/model.safetensors $T/pj/model.safetensors'

# ---- 3. --drop-last
"$PIFI" train "${base[@]}" --train "$T/train20.tsv" --epochs 2 -o "$T/d1" > /dev/null 2> "$T/d1.err"
ok '[[ $? -eq 0 && $(wc -l < $T/d1/train_log.jsonl) -eq 4 ]]'
ok '[[ $(grep -c "drop-last" $T/d1.err) -eq 1 ]]'
ok 'grep -q "^pifi: drop-last: 4 of 20 training rows are left out of each epoch (a different 4 each epoch); --drop-last no keeps them$" $T/d1.err'
ok 'grep -Eq "\"drop_last\":[[:space:]]*true" $T/d1/config.json'
"$PIFI" train "${base[@]}" --train "$T/train20.tsv" --epochs 2 --drop-last no --keep-checkpoint yes -o "$T/d0" \
  > /dev/null 2> "$T/d0.err"
ok '[[ $? -eq 0 && $(wc -l < $T/d0/train_log.jsonl) -eq 6 ]] && ! grep -q "drop-last" $T/d0.err'
ok 'grep -Eq "\"drop_last\":[[:space:]]*false" $T/d0/config.json'
ok 'grep -q "step 3/6 " $T/d0.err && grep -q "^{\"step\":3,\"epoch\":1.0000," $T/d0/train_log.jsonl'
# the epoch's loss: the mean over its 20 rows (the last batch of 4 weighs half)
want=$(awk -v a="$(step_loss "$T/d0" 1)" -v b="$(step_loss "$T/d0" 2)" -v c="$(step_loss "$T/d0" 3)" \
  'BEGIN { printf "%.12f", (a + b + c * 0.5) / 2.5 }')
have=$(printf "%.12f" "$(train_losses "$T/d0" | sed -n 1p)")
echo "drop-last no, epoch 1: train loss $have (rows-weighted mean of the steps: $want)"
ok '[[ $have == "$want" ]]'
# a resume (checkpoint of step 4, the short batch of epoch 2 after it) trains as config.json says
PIFI_FAULT_NAN_STEP=6 "$PIFI" train "${base[@]}" --train "$T/train20.tsv" --epochs 2 --drop-last no \
  --keep-checkpoint yes --save-every 1 -o "$T/d0r" > /dev/null 2>&1
ok '[[ $? -eq 1 ]]'
"$PIFI" train --resume "$T/d0r" > /dev/null 2> "$T/d0r.err"
ok '[[ $? -eq 0 ]]'
for f in metrics.json model.safetensors checkpoint/state.safetensors; do ok "cmp -s \$T/d0/$f \$T/d0r/$f"; done
# a run whose config.json predates --drop-last resumes dropping, as it was trained
mkdir -p "$T/old"
grep -v '"drop_last"' "$T/d1/config.json" > "$T/old/config.json"
"$PIFI" train --resume "$T/old" > /dev/null 2> "$T/old.err"
ok '[[ $? -eq 0 && $(wc -l < $T/old/train_log.jsonl) -eq 4 ]] && cmp -s $T/d1/model.safetensors $T/old/model.safetensors'
# 17 rows: a last batch of 1 row; 2 ranks (rank 0's share of it is empty) and --grad-accum 3 are the same run
CHECK=$PWD/test_train_dist
[[ -x $CHECK ]] || CHECK=$(dirname "$PIFI")/tests/test_train_dist
"$PIFI" train "${base[@]}" --train "$T/train17.tsv" --epochs 2 --lr 2e-5 --drop-last no --keep-checkpoint yes -o "$T/m1" > /dev/null 2>&1
ok '[[ $? -eq 0 && $(wc -l < $T/m1/train_log.jsonl) -eq 6 ]]'
"$PIFI" train "${base[@]}" --train "$T/train17.tsv" --epochs 2 --lr 2e-5 --drop-last no --keep-checkpoint yes --grad-accum 3 \
  -o "$T/ma" > /dev/null 2>&1
ok '[[ $? -eq 0 ]] && "$CHECK" losses $T/m1/train_log.jsonl $T/ma/train_log.jsonl 1e-5 &&
    "$CHECK" tensors $T/m1/checkpoint/state.safetensors $T/ma/checkpoint/state.safetensors 1e-5 384'
if mpi_setup; then
  MPI+=(-np 2 -x PIFI_DIST_CHECK=1)
  "${MPI[@]}" "$PIFI" train "${base[@]}" --train "$T/train17.tsv" --epochs 2 --lr 2e-5 --drop-last no --keep-checkpoint yes \
    -o "$T/m2" > /dev/null 2> "$T/m2.err"
  ok '[[ $? -eq 0 ]] && grep -q "\"ranks\":2" $T/m2/train_log.jsonl' || true
  grep -q '"ranks":2' "$T/m2/train_log.jsonl" 2> /dev/null || tail -3 "$T/m2.err"
  ok '"$CHECK" losses $T/m1/train_log.jsonl $T/m2/train_log.jsonl 1e-5 &&
      "$CHECK" tensors $T/m1/checkpoint/state.safetensors $T/m2/checkpoint/state.safetensors 1e-5 384'
else
  echo "the 2-rank part of 3 is left out: no mpirun, or pifi built without MPI"
fi
"$PIFI" train "${base[@]}" --train "$T/train20.tsv" --drop-last maybe -o "$T/x" > /dev/null 2> "$T/x.err"
ok '[[ $? -eq 2 ]] && grep -q "^pifi: train: --drop-last must be yes or no, not .maybe.$" $T/x.err'

# ---- 4. --resume of a complete run: its results, nothing trained or evaluated
cp "$T/a/train_log.jsonl" "$T/a.log.before"
cp "$T/a/metrics.json" "$T/a.metrics.before"
"$PIFI" train --resume "$T/a" > "$T/r.out" 2> "$T/r.err"
ok '[[ $? -eq 0 ]] && grep -q "is complete: nothing to resume" $T/r.err && ! grep -q "resuming\|epoch 3" $T/r.err'
ok '! grep -q "step .*/10" $T/r.err'
ok 'cmp -s $T/a.log.before $T/a/train_log.jsonl && cmp -s $T/a.metrics.before $T/a/metrics.json'
ok '[[ "$(sed "s/ in [0-9.]* s,/,/" $T/a.out)" == "$(sed "s/ (complete already: nothing trained or evaluated now),/,/" $T/r.out)" ]]' ||
  { cat "$T/a.out" "$T/r.out"; }
"$PIFI" train --resume "$T/a" --json > "$T/rj.out" 2> /dev/null
ok 'grep -q "\"complete_already\":true" $T/rj.out && grep -q "\"steps\":10," $T/rj.out'
ok 'grep -q "\"test_accuracy\":$(sed -n "s/^test accuracy \([0-9.]*\) .*/\1/p" $T/a.out)" $T/rj.out'

# ---- 5. --keep-checkpoint
ok '[[ ! -e $T/p/checkpoint ]] && grep -Eq "\"keep_checkpoint\":[[:space:]]*false" $T/p/config.json'
ok '[[ -f $T/a/checkpoint/state.safetensors ]] && grep -Eq "\"keep_checkpoint\":[[:space:]]*true" $T/a/config.json'
"$PIFI" train --resume "$T/a" --keep-checkpoint no > /dev/null 2> "$T/k.err"
ok '[[ $? -eq 0 && ! -e $T/a/checkpoint ]] && grep -q "is complete" $T/k.err'
ok 'grep -Eq "\"keep_checkpoint\":[[:space:]]*false" $T/a/config.json'
"$PIFI" train --resume "$T/p" > /dev/null 2> "$T/k2.err"   # no checkpoint at all: still complete
ok '[[ $? -eq 0 ]] && grep -q "is complete" $T/k2.err'

# ---- 6. --resume with another precision (and --threads): allowed, announced, recorded
PIFI_FAULT_NAN_STEP=4 "$PIFI" train "${base[@]}" --train "$T/train40.tsv" --epochs 1 --save-every 2 -o "$T/pr" \
  > /dev/null 2>&1
ok '[[ $? -eq 1 ]]'
"$PIFI" train --resume "$T/pr" --precision bf16 --threads 1 > "$T/pr.out" 2> "$T/pr.err"
ok '[[ $? -eq 0 ]]' || tail -2 "$T/pr.err"
ok 'grep -q "continues in bf16, so it is no longer bit-identical to an uninterrupted run" $T/pr.err'
ok 'grep -Eq "\"precision\":[[:space:]]*\"bf16\"" $T/pr/config.json && grep -q "\"precision_was\":[[:space:]]*\"fp32\"" $T/pr/config.json'
ok 'grep -q "^{\"step\":2,\"resume\":{\"precision\":\"bf16\",\"precision_was\":\"fp32\",\"threads\":1}}$" $T/pr/train_log.jsonl'
ok '[[ $(grep -c "\"loss\"" $T/pr/train_log.jsonl) -eq 5 ]]'
"$PIFI" train --resume "$T/pr" --epochs 2 > /dev/null 2> "$T/pr2.err"   # still not any other flag
ok '[[ $? -eq 2 ]] && grep -q "(--precision, --threads, --max-memory, --grad-accum and --keep-checkpoint excepted)" $T/pr2.err'

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
