#!/usr/bin/env bash
# train_protocols.sh: the paper's protocols on `pifi train` (issue #5), with
# the real MiniLM, stories260K's layers read from its GGUF, and small TSV
# files cut from SST-2 (labels named negative/positive, as SST-2's):
#   --seeds 1,2 --layer -1,-2: four runs in OUT/runs/..., results.csv,
#     results.md and the summary (mean +- std per layer) on stdout; the same
#     command again finds every run finished;
#   --seeds with one seed: an ordinary run directory;
#   --eval-task cr: CR's test metrics in metrics.json and in the report;
#   bad lists (empty entry, not a number, duplicates, a layer the LLM does
#     not have) and bad combinations: one error line, exit 2.
set -u
PIFI=${PIFI_BIN:?}
MODELS=${PIFI_MODELS:-models}
DATA=${PIFI_DATA:-../shared/data}
SHARED=${PIFI_SHARED:-../shared}
slm=$MODELS/all-MiniLM-L6-v2
gguf=$SHARED/models/stories260K/stories260K.gguf
if [[ ! -f $slm/model.safetensors || ! -f $DATA/sst2/stsa.binary.train || ! -f $DATA/cr/custrev.all || ! -f $gguf ]]; then
  echo "SKIPPED: needs $slm (scripts/get-models.sh), $DATA/sst2, $DATA/cr and $gguf"; exit 77
fi
if ! gnuplot -e 'set terminal pngcairo' >/dev/null 2>&1; then
  echo "FAIL: gnuplot with pngcairo is missing (scripts/deps.sh installs gnuplot-nox)"; exit 1
fi
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { if eval "$1"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }
# one-line usage errors: exit 2, one "pifi:" line (then the hint)
usage2() { "$PIFI" train "$@" > /dev/null 2> "$T/u.err"; [[ $? -eq 2 && $(grep -c '^pifi:' "$T/u.err") -eq 1 ]]; }

# TSV with named labels; a negative row first, so the classes are (negative, positive) as SST-2's
tsv() {
  printf 'text\tlabel\n'
  awk -v n="$2" 'BEGIN { split("negative positive", L) }
    NR <= n { l = L[$1 + 1]; $1 = ""; sub(/^ /, ""); row[NR] = $0 "\t" l; if (!neg && l == "negative") neg = NR }
    END { print row[neg]; for (i = 1; i <= n; i++) if (i != neg) print row[i] }' "$1"
}
tsv "$DATA/sst2/stsa.binary.train" 96 > "$T/train.tsv"
tsv "$DATA/sst2/stsa.binary.dev" 32 > "$T/valid.tsv"
tsv "$DATA/sst2/stsa.binary.test" 32 > "$T/test.tsv"
common=(--slm "$slm" --llm "$gguf" --train "$T/train.tsv" --valid "$T/valid.tsv" --test "$T/test.tsv"
        --batch 8 --max-len 16 --max-steps 3 --eval-batch 64)

# 1. a sweep: 2 layers x 2 seeds
"$PIFI" train "${common[@]}" --seeds 1,2 --layer -1,-2 -o "$T/sweep" > "$T/sweep.out" 2> "$T/sweep.err"
ok '[[ $? -eq 0 ]]'
for d in pifi/seed1 pifi/seed2 pifi-L-2/seed1 pifi-L-2/seed2; do
  ok "[[ -s \$T/sweep/runs/train/$d/metrics.json && -s \$T/sweep/runs/train/$d/model.safetensors ]]"
done
ok 'grep -Eq "\"layer\":[[:space:]]*-2," $T/sweep/runs/train/pifi-L-2/seed2/config.json'
ok '[[ $(wc -l < $T/sweep/results.csv) -eq 5 && -s $T/sweep/results.md ]]'
ok 'grep -Eq "^  pifi +2 +[0-9.]+ ± " $T/sweep.out && grep -Eq "^  pifi-L-2 +2 " $T/sweep.out'
ok 'grep -q "4 trained" $T/sweep.out'
# the same command again: every run is finished
"$PIFI" train "${common[@]}" --seeds 1,2 --layer -1,-2 -o "$T/sweep" > "$T/again.out" 2> "$T/again.err"
ok '[[ $? -eq 0 ]] && grep -q "4 finished already" $T/again.out && [[ $(grep -c "finished already" $T/again.err) -eq 4 ]]'
# a seed's run is the `pifi train --seed` run (same weights)
"$PIFI" train "${common[@]}" --seed 2 --layer -2 -o "$T/one" > /dev/null 2>&1
ok '[[ $? -eq 0 ]] && cmp -s $T/one/model.safetensors $T/sweep/runs/train/pifi-L-2/seed2/model.safetensors'
# --json summary
"$PIFI" train "${common[@]}" --seeds 1,2 --layer -1,-2 -o "$T/sweep" --json > "$T/sweep.json" 2> /dev/null
ok '[[ $? -eq 0 ]] && grep -q "\"accuracy_mean\"" $T/sweep.json && grep -q "\"layer\":-2" $T/sweep.json'

# 2. one seed in --seeds: an ordinary run; --eval-task cr: CR's test split in metrics.json
"$PIFI" train "${common[@]}" --seeds 7 --eval-task cr -o "$T/cr" > "$T/cr.out" 2> "$T/cr.err"
ok '[[ $? -eq 0 && -s $T/cr/config.json && ! -e $T/cr/runs ]]'
ok 'grep -q "on cr (test): accuracy" $T/cr.out'
ok 'grep -q "\"eval_tasks\"" $T/cr/metrics.json && grep -Eq "\"n\":[[:space:]]*378," $T/cr/metrics.json'
ok 'grep -Eq "\"seed\":[[:space:]]*7," $T/cr/config.json'

# 3. bad lists and combinations: one line, exit 2
ok 'usage2 "${common[@]}" --seeds 1,,2 -o "$T/x" && grep -q "empty entry" $T/u.err'
ok 'usage2 "${common[@]}" --seeds x -o "$T/x" && grep -q "not an integer" $T/u.err'
ok 'usage2 "${common[@]}" --seeds 42,1004,42 -o "$T/x" && grep -q "listed twice" $T/u.err'
ok 'usage2 "${common[@]}" --seeds 1,2 --seed 3 -o "$T/x"'
ok 'usage2 "${common[@]}" --layer -1,-99 -o "$T/x" && grep -q "layers" $T/u.err'
ok 'usage2 "${common[@]}" --layer -1,-1 -o "$T/x" && grep -q "listed twice" $T/u.err'
ok 'usage2 "${common[@]}" --layer -1,4 -o "$T/x" && grep -q "same layer" $T/u.err'
ok 'usage2 --slm "$slm" --method base --train "$T/train.tsv" --seeds 1,2 -o "$T/x" && grep -q "test split" $T/u.err'
ok 'usage2 "${common[@]}" --method base --layer -1,-2 -o "$T/x"'
ok 'usage2 "${common[@]}" --eval-task sst5 -o "$T/x" && grep -q "classes" $T/u.err'
ok 'usage2 "${common[@]}" --eval-task nosuch -o "$T/x"'
ok 'usage2 "${common[@]}" --seeds 1,2 --overwrite -o "$T/x"'
ok 'usage2 --resume "$T/sweep"'
ok '[[ ! -e $T/x ]]'

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
