#!/usr/bin/env bash
# info_predict.sh: what `pifi info` says about a run and an extracted layer,
# and `pifi predict` on empty texts (issue 19), with the real MiniLM and
# stories260K's last layer on a one-epoch run cut from SST-2:
#   - `pifi info RUN`: the run's data, method, classes, best epoch and test
#     scores above the parameter table (text and --json "run");
#   - `pifi info LAYER` (pifi extract): "decoder layer 4", the source, never
#     "encoder layers";
#   - `pifi predict RUN ""` and an empty stdin line: classified, with a
#     warning on stderr naming the input and a "warning" in its JSON line.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

"$PIFI" extract --llm "$gguf" --layer -1 -o "$T/layer" > /dev/null
tsv "$DATA/sst2/stsa.binary.train" 16 > "$T/train.tsv"
tsv "$DATA/sst2/stsa.binary.dev" 8 > "$T/valid.tsv"
tsv "$DATA/sst2/stsa.binary.test" 8 > "$T/test.tsv"
"$PIFI" train --slm "$slm" --llm-layer "$T/layer" --train "$T/train.tsv" --valid "$T/valid.tsv" --test "$T/test.tsv" \
  --batch 8 --max-len 16 --epochs 1 --seed 7 -o "$T/run" > /dev/null 2>&1
ok '[[ $? -eq 0 ]]'

# 1. info on a run: data, method, classes and scores, then the table
"$PIFI" info "$T/run" > "$T/info.txt"
ok '[[ $? -eq 0 ]]'
ok 'grep -q "^data          files: train .*train.tsv valid .*valid.tsv test .*test.tsv$" $T/info.txt'
ok 'grep -q "^method        pifi, seed 7, 1 epochs$" $T/info.txt'
ok 'grep -q "^classes       0, 1$" $T/info.txt'
ok 'grep -Eq "^best epoch    1 \(valid accuracy [0-9.]+\)$" $T/info.txt'
ok 'grep -Eq "^test          accuracy [0-9.]+  macro-F1 [0-9.]+  MCC -?[0-9.]+  \(8 examples\)$" $T/info.txt'
ok 'grep -q "^LLM layer " $T/info.txt'
"$PIFI" info --json "$T/run" > "$T/info.json"
ok '[[ $? -eq 0 ]] && grep -q ",\"run\":{\"method\":\"pifi\",\"files\":{" $T/info.json'
ok 'grep -Eq "\"best_epoch\":1,\"valid_accuracy\":[0-9.]+,.*\"test\":\{\"n\":8," $T/info.json'

# 2. info on an extracted layer: one decoder layer, named
"$PIFI" info "$T/layer" > "$T/layer.txt"
ok '[[ $? -eq 0 ]] && ! grep -q "encoder layers" $T/layer.txt'
ok 'grep -Eq "^decoder layer 4 +[0-9]+ +100.0%" $T/layer.txt'
ok 'grep -q "^architecture  1 llama decoder layer (layer 4, 0-based, of the source.s 5)" $T/layer.txt'
ok 'grep -q "^source        .*stories260K.gguf (pifi extract)" $T/layer.txt'
"$PIFI" info --json "$T/layer" > "$T/layer.json"
ok 'grep -q "\"extracted_layers\":\[4\]" $T/layer.json && grep -q "\"decoder layers\":" $T/layer.json'

# 3. empty texts are classified with a warning
"$PIFI" predict "$T/run" "a fine film" "" > "$T/p.jsonl" 2> "$T/p.err"
ok '[[ $? -eq 0 && $(wc -l < $T/p.jsonl) -eq 2 ]]'
ok 'grep -q "^pifi: predict: text 2: empty text: classified from the special tokens alone$" $T/p.err'
ok '[[ $(grep -c "^pifi:" $T/p.err) -eq 1 ]]'
ok 'sed -n 2p $T/p.jsonl | grep -q "\"warning\":\"empty text: classified from the special tokens alone\"}$"'
ok '! sed -n 1p $T/p.jsonl | grep -q "warning"'
printf 'a fine film\n  \nthe worst\n' | "$PIFI" predict "$T/run" > "$T/s.jsonl" 2> "$T/s.err"
ok '[[ $? -eq 0 && $(wc -l < $T/s.jsonl) -eq 3 ]] && grep -q "^pifi: predict: stdin line 2: empty text" $T/s.err'

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
