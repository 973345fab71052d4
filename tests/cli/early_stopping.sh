#!/usr/bin/env bash
# early_stopping.sh: --early-stopping-patience N ends a run when N
# validations in a row have not improved on the best (--metric-for-best,
# accuracy by default), on the real MiniLM (base method) and SST-2 rows.
# With --lr 0 the weights never change, so the validation accuracy of every
# epoch equals the first's: epoch 1 is the best, and patience 2 ends a run of
# 6 epochs after epoch 3.
#   1. the run ends after epoch 3, keeps and tests epoch 1, says so on stdout
#      and in metrics.json ("stopped_early"), records the patience in config.json;
#   2. --resume of the early-stopped run says it is complete and changes nothing;
#   3. a run stopped by a failure at step 5 (after epoch 2's checkpoint) and
#      resumed stops where the uninterrupted one did, with the same numbers;
#   4. patience 0 (the default): every epoch runs;
#   5. without a validation split the patience is refused.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

tsv "$DATA/sst2/stsa.binary.train" 16 > "$T/train.tsv"   # batch 8: 2 steps an epoch
tsv "$DATA/sst2/stsa.binary.dev" 16 > "$T/valid.tsv"
tsv "$DATA/sst2/stsa.binary.test" 16 > "$T/test.tsv"
base=(--slm "$slm" --method base --train "$T/train.tsv" --test "$T/test.tsv" --batch 8 --max-len 16
      --eval-batch 16 --precision fp32 --lr 0)
# the numbers of a run's metrics.json that an interruption must not change
numbers() { jq -S '{epochs, best_epoch, test, stopped_early}' "$1/metrics.json"; }

# ---- 1. patience 2: epochs 1, 2, 3, then the end
"$PIFI" train "${base[@]}" --valid "$T/valid.tsv" --epochs 6 --early-stopping-patience 2 -o "$T/a" \
  > "$T/a.out" 2> "$T/a.err"
ok '[[ $? -eq 0 ]]' || tail -3 "$T/a.err"
ok '[[ $(jq ".epochs | length" $T/a/metrics.json) -eq 3 ]]'
ok '[[ $(jq .best_epoch $T/a/metrics.json) -eq 1 ]]'
ok '[[ $(jq -c .stopped_early $T/a/metrics.json) == "{\"after_epoch\":3,\"best_epoch\":1,\"patience\":2,\"metric\":\"accuracy\"}" ]]'
ok '[[ $(jq .test.n $T/a/metrics.json) -eq 16 ]]'
ok 'grep -q "best epoch 1 (valid accuracy [0-9.]*); stopped early after epoch 3 (--early-stopping-patience 2" $T/a.out'
ok '[[ $(jq .pifi.train.early_stopping_patience $T/a/config.json) -eq 2 && $(jq -r .pifi.train.metric_for_best $T/a/config.json) == accuracy ]]'
ok '[[ ! -e $T/a/checkpoint/state.safetensors ]]'   # complete: nothing to resume

# ---- 2. --resume of the early-stopped run: complete, nothing trained
cp "$T/a/metrics.json" "$T/a.metrics"
"$PIFI" train --resume "$T/a" --json > "$T/a2.out" 2> "$T/a2.err"
ok '[[ $? -eq 0 ]] && grep -q "is complete: nothing to resume" $T/a2.err'
ok '[[ $(jq .stopped_early_after_epoch $T/a2.out) -eq 3 && $(jq .complete_already $T/a2.out) == true ]]'
ok 'cmp -s $T/a.metrics $T/a/metrics.json'

# ---- 3. interrupted after epoch 2's checkpoint, resumed: stops after epoch 3 as well
PIFI_FAULT_NAN_STEP=5 "$PIFI" train "${base[@]}" --valid "$T/valid.tsv" --epochs 6 --early-stopping-patience 2 \
  --keep-checkpoint yes -o "$T/b" > /dev/null 2> "$T/b.err"
ok '[[ $? -eq 1 ]] && grep -q "last good checkpoint (step 4)" $T/b.err'
"$PIFI" train --resume "$T/b" > "$T/b2.out" 2> "$T/b2.err"
ok '[[ $? -eq 0 ]] && grep -q "stopped early after epoch 3" $T/b2.out'
ok 'cmp -s <(numbers $T/a) <(numbers $T/b)'

# ---- 4. patience 0, the default: every epoch
"$PIFI" train "${base[@]}" --valid "$T/valid.tsv" --epochs 4 -o "$T/c" > "$T/c.out" 2> /dev/null
ok '[[ $? -eq 0 ]] && [[ $(jq ".epochs | length" $T/c/metrics.json) -eq 4 ]]'
ok '[[ $(jq .stopped_early $T/c/metrics.json) == null ]] && ! grep -q "stopped early" $T/c.out'

# ---- 5. no validation split
"$PIFI" train "${base[@]}" --epochs 4 --early-stopping-patience 1 -o "$T/d" > /dev/null 2> "$T/d.err"
ok '[[ $? -eq 2 ]] && grep -q "early-stopping-patience .*watches the validation split" $T/d.err'

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
