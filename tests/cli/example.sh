#!/usr/bin/env bash
# example.sh: examples/train_predict.c, a program built against include/pifi.h
# alone, trains a PiFi classifier (the real MiniLM, stories260K's last layer
# extracted) on 32 SST-2 rows for one epoch and classifies one sentence; the
# run it wrote is a run like any other: `pifi info` reads it, and `pifi
# predict` gives the same label and probability.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
EX=${PIFI_EXAMPLE_BIN:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

"$PIFI" extract --llm "$gguf" --layer -1 -o "$T/layer" > /dev/null
tsv "$DATA/sst2/stsa.binary.train" 32 > "$T/train.tsv"
"$EX" 2> "$T/usage.err" > /dev/null
ok '[[ $? -eq 2 ]] && grep -q "^usage: train_predict" $T/usage.err'
"$EX" "$slm" "$T/train.tsv" "$T/run" "$T/layer" > "$T/out.txt" 2> "$T/err.txt"
ok '[[ $? -eq 0 ]]'
ok 'grep -Eq "^trained: 4 steps in [0-9.]+ s$" $T/out.txt'
ok 'grep -q "step 4/4, loss " $T/err.txt'
line=$(grep '^"a gripping' "$T/out.txt")
ok '[[ -n $line ]]'
label=$(sed -E 's/.*": ([^ ]+) \(([0-9.]+)\)$/\1/' <<< "$line")
prob=$(sed -E 's/.*\(([0-9.]+)\)$/\1/' <<< "$line")
# the same run through the command line
"$PIFI" info "$T/run" > "$T/info.txt"
ok '[[ $? -eq 0 ]] && grep -q "^method        pifi, seed 2023, 1 epochs$" $T/info.txt'
"$PIFI" predict "$T/run" "a gripping, funny and moving film" > "$T/p.jsonl"
ok '[[ $? -eq 0 ]]'
ok "grep -q '\"label\":\"$label\"' \$T/p.jsonl"
cli_prob=$(sed -E "s/.*\"probs\":\\{.*\"$label\":([0-9.]+).*/\\1/" "$T/p.jsonl")
ok "[[ \$(printf '%.4f' $cli_prob) == $prob ]]"
echo "example: $line (pifi predict: $label $cli_prob)"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
