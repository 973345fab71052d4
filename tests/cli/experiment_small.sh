#!/usr/bin/env bash
# experiment_small.sh: `pifi experiment` end to end on experiments/ci_small.toml
# (base and PiFi x 2 seeds on 10% of SST-2, max length 32, 1 epoch, plus the
# cross-domain test on CR), with the real MiniLM and a real LLM layer
# (SmolLM2-135M's last when models/ has it, else stories260K's, extracted
# here). The grid is interrupted in its second cell and run again: that cell
# resumes, the rest train; then results.csv has every cell, results.md and
# the plots exist (PNG signature), a third run skips every cell quickly, and
# `pifi train` of the resumed cell with its seed gives the same weights and
# metrics. --report redraws from results.csv; a bad key and changed settings
# are refused before anything trains. Last, the grid with a second LLM source
# ([[also]] llm = stories260K's GGUF, llm_name = "stories260K", one seed, 2% of
# SST-2 to keep it short): the finished cells are skipped (one with a
# config.json as an older pifi wrote it, without train.grad_accum), the one
# new cell pifi@stories260K trains with its own LLM and gets its own rows,
# table line and curve. (The order of a table's lines and Δ/p of such cells
# against base: tests/test_stats.c.) Then --keep model and --keep metrics
# prune the finished cells, which stay finished.
set -u
PIFI=${PIFI_BIN:?}
MODELS=${PIFI_MODELS:-models}
DATA=${PIFI_DATA:-../shared/data}
SHARED=${PIFI_SHARED:-../shared}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
slm=$MODELS/all-MiniLM-L6-v2
gguf=$MODELS/SmolLM2-135M-Instruct.Q4_1.gguf
[[ -f $gguf ]] || gguf=$SHARED/models/stories260K/stories260K.gguf
if [[ ! -f $slm/model.safetensors || ! -f $DATA/sst2/stsa.binary.train || ! -f $gguf ]]; then
  echo "SKIPPED: needs $slm (scripts/get-models.sh), $DATA/sst2 and an LLM GGUF"; exit 77
fi
if ! gnuplot -e 'set terminal pngcairo' >/dev/null 2>&1; then
  echo "FAIL: gnuplot with pngcairo is missing (scripts/deps.sh installs gnuplot-nox)"; exit 1
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { if eval "$1"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }
is_png() { [[ $(head -c 8 "$1" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]]; }

"$PIFI" extract --llm "$gguf" --layer -1 -o "$T/layer" >/dev/null
ok '[[ -f $T/layer/model.safetensors ]]'
grid=$SRC/experiments/ci_small.toml
run=("$PIFI" experiment "$grid" -o "$T/out" --slm "$slm" --llm "$T/layer" --data-dir "$DATA")
cell2=$T/out/runs/sst2/base-f0.1/seed1004

# 1. interrupted in the second cell
t0=$(date +%s)
"${run[@]}" > "$T/a.out" 2> "$T/a.err" &
pid=$!
for _ in $(seq 1 3000); do
  [[ -f $cell2/train_log.jsonl && $(wc -l < "$cell2/train_log.jsonl") -ge 3 ]] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.1
done
kill -INT $pid
wait $pid; status=$?
ok '[[ $status -eq 130 ]]'
ok 'grep -q "Continue with the same command" $T/a.err'
ok '[[ $(wc -l < $T/out/results.csv) -eq 3 ]]' # header, cell 1 on sst2 and on cr
"$PIFI" experiment "$grid" -o "$T/out" --slm "$slm" --llm "$T/layer" --data-dir "$DATA" --dry-run > "$T/dry.out" 2>&1
ok '[[ $? -eq 0 ]] && grep -q "^done .*base-f0.1/seed42" $T/dry.out && grep -q "^resume .*base-f0.1/seed1004" $T/dry.out'
ok 'grep -q "1 done, 1 to resume, 0 to restart, 2 new; about [0-9]* min left$" $T/dry.out' # the time left: the finished cell's pace

# 2. run again: the second cell resumes, the others train
"${run[@]}" > "$T/b.out" 2> "$T/b.err"
ok '[[ $? -eq 0 ]]'
t1=$(date +%s)
echo "grid of 4 cells (interrupted once): $((t1 - t0)) s"
ok 'grep -q "resuming $cell2 (grid: about [0-9]* min left)" $T/b.err'
ok 'grep -q "2 trained, 1 resumed, 1 finished already, 0 failed; 3 cross-domain" $T/b.out' # cell 1 was tested on cr before the interruption
csv=$T/out/results.csv
ok '[[ $(head -1 $csv) == "task,eval_task,method,layer,seed,train_fraction,accuracy,macro_f1,mcc,valid_accuracy,best_epoch,steps,seconds,run_dir" ]]'
ok '[[ $(wc -l < $csv) -eq 9 ]]'
for cell in "base,,42" "base,,1004" "pifi,own,42" "pifi,own,1004"; do
  for ev in sst2 cr; do
    ok "grep -q '^sst2,$ev,$cell,0.1,0\\.[0-9]*,0\\.[0-9]*,-\\?[0-9.e-]*,0\\.[0-9]*,1,21,[0-9.]*,' \$csv"
  done
done
ok '[[ -s $T/out/results.md ]] && grep -q "^## sst2, train fraction 0.1" $T/out/results.md'
ok 'grep -q "^## sst2 → cr" $T/out/results.md && grep -q "^| pifi | 2 | " $T/out/results.md'
ok 'is_png $T/out/plots/bars_sst2_f0.1.png && is_png $T/out/plots/bars_sst2_on_cr_f0.1.png'
ok 'is_png $T/out/plots/curves_sst2_f0.1.png && [[ ! -e $T/out/plots/curves_sst2_on_cr_f0.1.png ]]'
ok 'grep -q "^!\[sst2: training curves, mean over seeds (train fraction 0.1)\](plots/curves_sst2_f0.1.png)" $T/out/results.md'
ok '[[ $(ls $T/out/plots/curves/*.png | wc -l) -eq 4 ]]'
for f in "$T"/out/plots/curves/*.png; do ok "is_png $f"; done
ok '[[ -f $cell2/eval_cr.json && -f $cell2/cell.json ]]'

# 3. a third run skips every cell, quickly, and changes nothing
cp "$csv" "$T/results.before"
s0=$(date +%s%N)
"${run[@]}" > "$T/c.out" 2> "$T/c.err"
ok '[[ $? -eq 0 ]]'
s1=$(date +%s%N)
ms=$(((s1 - s0) / 1000000))
echo "rerun of the finished grid: $ms ms"
ok '[[ $ms -lt 20000 ]]'
ok '[[ $(grep -c "finished already" $T/c.err) -eq 4 ]] && ! grep -q "training" $T/c.err'
ok 'cmp -s $csv $T/results.before'

# Under the sanitizers (scripts/sanitize.sh, 5x slower) steps 4 and 7 are
# left out: they run the same training and grid code as steps 1-3, whose
# memory safety the sanitized run checks; their results are checked by the
# normal run.
san=${PIFI_SANITIZED:-}
# 4. the resumed cell, trained again with `pifi train` and its seed: the same weights and metric
if [[ -z $san ]]; then
"$PIFI" train --slm "$slm" --method base --task sst2 --data-dir "$DATA" --train-fraction 0.1 --seed 1004 \
  --epochs 1 --max-len 32 --batch 32 --eval-batch 128 -o "$T/rep" --json > "$T/rep.json" 2> /dev/null
ok '[[ $? -eq 0 ]]'
ok 'cmp -s $cell2/model.safetensors $T/rep/model.safetensors'
acc_grid=$(awk -F, '$2 == "sst2" && $3 == "base" && $5 == 1004 { printf "%.6f", $7 }' "$csv")
acc_train=$(sed 's/.*"test_accuracy":\([0-9.]*\).*/\1/' "$T/rep.json")
echo "cell sst2/base-f0.1/seed1004: grid $acc_grid, pifi train $acc_train"
ok '[[ -n $acc_grid && $acc_grid == "$acc_train" ]]'
fi

# 5. --report redraws results.md and the plots from results.csv alone
rm -rf "$T/out/results.md" "$T/out/plots"
"$PIFI" experiment --report "$T/out" > "$T/r.out" 2> "$T/r.err"
ok '[[ $? -eq 0 ]] && [[ -s $T/out/results.md ]] && is_png $T/out/plots/bars_sst2_f0.1.png'
ok 'is_png $T/out/plots/curves_sst2_f0.1.png'
ok '[[ $(ls $T/out/plots/curves/*.png | wc -l) -eq 4 ]]'

# 6. refused before anything runs: an unknown key (with its line), changed settings
sed 's/^epochs = 1/epoch = 1/' "$grid" > "$T/bad.toml"
line=$(grep -n '^epoch = 1' "$T/bad.toml" | cut -d: -f1)
"$PIFI" experiment "$T/bad.toml" -o "$T/bad_out" --slm "$slm" --llm "$T/layer" --data-dir "$DATA" > /dev/null 2> "$T/bad.err"
ok '[[ $? -eq 2 ]] && grep -q "bad.toml:$line: unknown key \"epoch\" (did you mean \"epochs\"?)" $T/bad.err'
ok '[[ ! -e $T/bad_out ]]'
sed 's/^epochs = 1/epochs = 2/' "$grid" > "$T/changed.toml"
"$PIFI" experiment "$T/changed.toml" -o "$T/out" --slm "$slm" --llm "$T/layer" --data-dir "$DATA" > /dev/null 2> "$T/ch.err"
ok '[[ $? -eq 2 ]] && grep -q "was trained with train.epochs = 1 but the grid says 2" $T/ch.err'
"$PIFI" experiment "$grid" --jobs 2 > /dev/null 2>&1
ok '[[ $? -eq 2 ]]'

# 7. a second LLM source in the same grid
s260=$SHARED/models/stories260K/stories260K.gguf
if [[ -n $san ]]; then
  echo "(sanitized run: steps 4 and 7 left out)"
elif [[ -f $s260 ]]; then
  sed -z -E -i 's/,[[:space:]]*"grad_accum":[[:space:]]*[0-9]+//' "$cell2/config.json" # as an older pifi wrote it
  ok '! grep -q grad_accum $cell2/config.json'
  two=$T/two.toml
  { cat "$grid"; printf '\n[[also]]\nmethods = ["pifi"]\nseeds = [42]\ntrain_fraction = 0.02\nllm = "%s"\nllm_name = "stories260K"\n' \
      "$s260"; } > "$two"
  run2=("$PIFI" experiment "$two" -o "$T/out" --slm "$slm" --llm "$T/layer" --data-dir "$DATA")
  c260=$T/out/runs/sst2/pifi@stories260K-f0.02/seed42
  "${run2[@]}" --dry-run > "$T/dry2.out" 2>&1
  ok '[[ $? -eq 0 ]] && grep -q "^new  *$c260\$" $T/dry2.out && grep -q "^done .*base-f0.1/seed1004" $T/dry2.out'
  ok 'grep -q "5 cells: 4 done, 0 to resume, 0 to restart, 1 new; 1 cell not timed yet$" $T/dry2.out' # no finished cell of its fraction
  u0=$(date +%s)
  "${run2[@]}" > "$T/d.out" 2> "$T/d.err"
  ok '[[ $? -eq 0 ]]'
  echo "the grid with a second LLM (1 new cell): $(($(date +%s) - u0)) s"
  ok 'grep -q "1 trained, 0 resumed, 4 finished already, 0 failed; 1 cross-domain" $T/d.out'
  ok 'grep -q "\"llm\":[[:space:]]*\"$(realpath "$s260")\"" $c260/config.json'
  ok '[[ $(wc -l < $csv) -eq 11 ]]'
  ok "grep -q '^sst2,sst2,pifi@stories260K,-1,42,0.02,0\\.[0-9]*,' \$csv && grep -q '^sst2,cr,pifi@stories260K,-1,42,0.02,' \$csv"
  ok 'grep -q "^## sst2, train fraction 0.02" $T/out/results.md && grep -q "^| pifi@stories260K | 1 | " $T/out/results.md'
  ok 'grep -q "^| pifi | 2 | " $T/out/results.md && is_png $T/out/plots/bars_sst2_f0.02.png'
  ok 'is_png "$T/out/plots/curves/sst2_pifi@stories260K_f0.02_seed42.png"'
else
  echo "(no $s260: the second LLM source is not tested)"
fi

# 8. keep: "model" drops the finished cells' checkpoints, "metrics" their
# weights too (cell.json says so); the cells stay finished, results unchanged
"${run[@]}" --keep model > "$T/k1.out" 2> "$T/k1.err"
ok '[[ $? -eq 0 ]] && grep -q "0 trained, 0 resumed, 4 finished already, 0 failed" $T/k1.out'
cp "$csv" "$T/results.before" # the rows of this grid's cells (step 7's cell is not one of them)
ok '[[ -z $(find $T/out/runs/sst2/base-f0.1 $T/out/runs/sst2/pifi-f0.1 -name checkpoint) ]]'
ok '[[ -f $cell2/model.safetensors ]]'
"${run[@]}" --keep metrics > "$T/k2.out" 2> "$T/k2.err"
ok '[[ $? -eq 0 ]] && grep -q "0 trained, 0 resumed, 4 finished already, 0 failed" $T/k2.out'
ok '[[ -z $(find $T/out/runs/sst2/base-f0.1 $T/out/runs/sst2/pifi-f0.1 -type f ! -name config.json ! -name metrics.json ! -name train_log.jsonl ! -name cell.json ! -name eval_cr.json) ]]'
ok 'grep -q "\"weights\":[[:space:]]*\"removed\"" $cell2/cell.json'
"${run[@]}" > "$T/k3.out" 2> "$T/k3.err"
ok '[[ $? -eq 0 ]] && grep -q "0 trained, 0 resumed, 4 finished already, 0 failed" $T/k3.out'
ok 'cmp -s $csv $T/results.before'
{ sed 's/^sst2 = \["cr"\]/sst2 = ["cr", "mr"]/' "$grid"; } > "$T/mr.toml"
"$PIFI" experiment "$T/mr.toml" -o "$T/out" --slm "$slm" --llm "$T/layer" --data-dir "$DATA" > "$T/k4.out" 2> "$T/k4.err"
ok '[[ $? -ne 0 ]] && grep -q "cannot add the evaluation on mr: the cell.s weights were removed" $T/k4.err'
"${run[@]}" --keep nothing > /dev/null 2> "$T/k5.err"
ok '[[ $? -eq 2 ]] && grep -q "\-\-keep nothing: must be all, model or metrics" $T/k5.err'

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
