#!/usr/bin/env bash
# generation.sh: the command line of a generation run (issue 22), on the
# Multi30K T5 of experiments/ initialised at random and 48 Multi30K pairs:
#   1. pifi train --task seq2seq prints the test BLEU and chrF, --json too;
#   2. pifi generate RUN TEXT... prints one line a text, --json objects, the
#      texts of --input alike, and the run's test sources decode to its
#      test_generations.txt;
#   3. pifi eval RUN: the run's own test split scores the BLEU training
#      printed, --output writes test_generations.txt again; another split
#      of the task by --task;
#   4. pifi info RUN: the test BLEU; the run drew curve.png (where gnuplot is);
#   5. one-line errors: --num-beams 0, pifi predict of a generation run, a
#      generation option on a classification task, --source-col for a
#      classification file.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
[[ -f $DATA/multi30k/train.en.gz ]] || { echo "SKIPPED: no $DATA/multi30k"; exit 77; }
t5=$(dirname "${BASH_SOURCE[0]}")/../../experiments/multi30k-t5

pairs() { # pairs SPLIT FROM N: a TSV of Multi30K's English and German lines
  echo -e "source\ttarget"
  paste <(zcat "$DATA/multi30k/$1.en.gz") <(zcat "$DATA/multi30k/$1.de.gz") | sed -n "$(($2 + 1)),$(($2 + $3))p"
}
pairs train 0 48 > "$T/train.tsv"
pairs val 0 8 > "$T/valid.tsv"
pairs val 8 8 > "$T/test.tsv"
base=(--task seq2seq --train "$T/train.tsv" --valid "$T/valid.tsv" --test "$T/test.tsv" --slm "$t5" --init random
      --method base --batch 8 --epochs 2 --lr 1e-3 --max-len 24 --max-target-len 24 --num-beams 2
      --max-new-tokens 6 --precision fp32)

"$PIFI" train "${base[@]}" -o "$T/run" > "$T/train.out" 2> "$T/train.err"
ok '[[ $? -eq 0 ]] && grep -q "^test BLEU [0-9.]*  chrF2 [0-9.]* (sacreBLEU, 13a)$" $T/train.out'
ok 'grep -q "valid BLEU" $T/train.out'
ok 'grep -q "decoding valid" $T/train.err'
bleu=$(sed -n 's/^test BLEU \([0-9.]*\) .*/\1/p' "$T/train.out")

"$PIFI" generate "$T/run" "A man is riding a bike." "Two dogs play." > "$T/gen.out"
ok '[[ $? -eq 0 && $(wc -l < $T/gen.out) -eq 2 ]]'
"$PIFI" generate "$T/run" --json "A man." > "$T/gen.json"
ok 'grep -q "^{\"source\":\"A man.\",\"output\":\".*\"}$" $T/gen.json'
cut -f1 "$T/test.tsv" | tail -n +2 > "$T/test.src"
"$PIFI" generate "$T/run" --input "$T/test.src" > "$T/test.gen"
ok 'cmp -s $T/test.gen $T/run/test_generations.txt'
"$PIFI" generate "$T/run" --input "$T/test.src" --num-beams 1 --max-new-tokens 3 > "$T/greedy.gen"
ok '[[ $? -eq 0 && $(wc -l < $T/greedy.gen) -eq 8 ]]'

"$PIFI" eval "$T/run" --output "$T/eval.gen" > "$T/eval.out" 2> /dev/null
ok '[[ $? -eq 0 ]] && grep -q "^BLEU $bleu " $T/eval.out && cmp -s $T/eval.gen $T/run/test_generations.txt'
"$PIFI" eval "$T/run" --split valid --json > "$T/eval.json" 2> /dev/null
ok 'grep -q "\"split\":\"valid\",\"n\":8," $T/eval.json'

"$PIFI" info "$T/run" > "$T/info.out"
ok 'grep -q "^test          BLEU $bleu " $T/info.out'
ok '[[ -s $T/run/curve.png ]] || ! command -v gnuplot > /dev/null'
"$PIFI" generate "$T/run" --num-beams 0 x > /dev/null 2> "$T/e1"
ok '[[ $? -eq 2 && $(wc -l < $T/e1) -le 2 ]] && grep -q "num-beams" $T/e1'
"$PIFI" predict "$T/run" x > /dev/null 2> "$T/e2"
ok '[[ $? -ne 0 ]] && grep -q "a generation run" $T/e2'
tail -n +2 "$T/train.tsv" | awk -F'\t' '{print $1 "\t" (NR % 2)}' | sed '1i text\tlabel' > "$T/cls.tsv"
"$PIFI" train --train "$T/cls.tsv" --slm "$MODELS/all-MiniLM-L6-v2" --method base --num-beams 3 -o "$T/cls" \
  > /dev/null 2> "$T/e3"
ok '[[ $? -ne 0 ]] && grep -q "num-beams is a generation task" $T/e3'
"$PIFI" train --train "$T/cls.tsv" --slm "$MODELS/all-MiniLM-L6-v2" --method base --source-col text -o "$T/cls" \
  > /dev/null 2> "$T/e4"
ok '[[ $? -ne 0 ]] && grep -q "source-col is a generation task" $T/e4'

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
