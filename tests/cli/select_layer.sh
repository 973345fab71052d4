#!/usr/bin/env bash
# select_layer.sh: `pifi select-layer` end to end, on the real MiniLM, SST-2
# rows cut into TSV files and fixtures/select_layer/llm (a five-layer Llama
# whose layers drown their input in noise, all but layer 3:
# tools/make_select_layer_fixture.py):
#   1. --help, and the usage errors (no --llm, a bad --layers, an extracted
#      layer instead of a whole LLM);
#   2. the table: a header, one row per layer ranked 1..5, the pick marked
#      and named, the last layer marked; the informative layer 3 is the pick;
#   3. --json: the same ranking as one object (pick, last, every layer with
#      rank, metric, loss, Fisher, seconds), the same numbers on a second run;
#   4. --layers -1,3 probes those two only, with the same scores as in the
#      full run; no --valid: 20% of train is carved for scoring, and said;
#      --max-examples caps the rows, and says so.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
command -v jq > /dev/null || { echo "SKIPPED: needs jq"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
llm=${PIFI_FIXTURES:?}/select_layer/llm
tsv "$DATA/sst2/stsa.binary.train" 300 > "$T/train.tsv"
tsv "$DATA/sst2/stsa.binary.dev" 100 > "$T/valid.tsv"
run=(--slm "$slm" --llm "$llm" --train "$T/train.tsv" --max-len 32 --precision fp32 --probe-epochs 10)

# ---- 1. help and usage errors
"$PIFI" select-layer --help > "$T/help"
ok '[[ $? -eq 0 ]] && grep -q "usage: pifi select-layer" $T/help && grep -q -- "--probe-epochs N" $T/help'
ok 'grep -q "select-layer" <("$PIFI" --help)'
"$PIFI" select-layer --slm "$slm" --train "$T/train.tsv" > /dev/null 2> "$T/e1"
ok '[[ $? -eq 2 ]] && grep -q "pifi: select-layer: --llm PATH is required" $T/e1'
"$PIFI" select-layer "${run[@]}" --layers 1,x > /dev/null 2> "$T/e2"
ok '[[ $? -eq 2 ]] && grep -q "layers expects N,N,..." $T/e2'
"$PIFI" extract --llm "$llm" --layer 3 -o "$T/one" > /dev/null
"$PIFI" select-layer --slm "$slm" --llm "$T/one" --train "$T/train.tsv" > /dev/null 2> "$T/e3"
ok '[[ $? -eq 2 ]] && grep -q "holds one layer; select-layer ranks the layers of a whole LLM" $T/e3'

# ---- 2. the table
"$PIFI" select-layer "${run[@]}" --valid "$T/valid.tsv" > "$T/table" 2> "$T/table.err"
ok '[[ $? -eq 0 ]]'
cat "$T/table"
ok 'head -1 $T/table | grep -Eq "^rank +layer +accuracy +sd +loss +Fisher +seconds$"'
ok '[[ $(grep -Ec "^ +[1-5] +[0-4] +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.e+-]+ +[0-9.]+" $T/table) -eq 5 ]]'
ok '[[ $(awk "NR > 1 && NR <= 6 { print \$1 }" $T/table | tr "\n" " ") == "1 2 3 4 5 " ]]'
ok '[[ $(grep -c "<- pick" $T/table) -eq 1 ]] && grep -Eq "^ +1 +3 .*<- pick$" $T/table'
ok 'grep -Eq "^ +[2-5] +4 .*<- last layer$" $T/table'
ok 'grep -q "^pick: layer 3 (valid accuracy 0\.[0-9]*, loss [0-9.]*); the last layer 4: accuracy" $T/table'
ok 'grep -q "^300 training and 100 validation vectors, 90 steps a probe, 3 probe(s) a layer" $T/table'
ok '[[ $(grep -c "select-layer: layer [0-4] ([1-5]/5): valid accuracy" $T/table.err) -eq 5 ]]'

# ---- 3. --json
"$PIFI" select-layer "${run[@]}" --valid "$T/valid.tsv" --json > "$T/a.json" 2> /dev/null
ok '[[ $? -eq 0 ]] && jq -e . $T/a.json > /dev/null'
ok 'jq -e ".metric == \"accuracy\" and .num_layers == 5 and .classes == 2 and .n_train == 300 and .n_valid == 100 and .probe_steps == 90 and .probe_seeds == 3" $T/a.json > /dev/null'
ok 'jq -e ".pick.layer == 3 and .pick.rank == 1 and .last.layer == 4 and (.layers | length) == 5" $T/a.json > /dev/null'
ok 'jq -e "[.layers[].layer] == [0,1,2,3,4] and ([.layers[].rank] | sort) == [1,2,3,4,5]" $T/a.json > /dev/null'
ok 'jq -e "all(.layers[]; has(\"metric\") and has(\"metric_sd\") and has(\"loss\") and has(\"fisher\") and has(\"seconds\") and .metric == .accuracy)" $T/a.json > /dev/null'
# the table's numbers are the JSON's
ok '[[ $(jq -r ".pick.metric" $T/a.json | xargs printf "%.4f") == "$(awk "/<- pick/ { print \$3 }" $T/table)" ]]'
"$PIFI" select-layer "${run[@]}" --valid "$T/valid.tsv" --json > "$T/b.json" 2> /dev/null
scores() { jq -c "[.layers[] | [.layer, .rank, .metric, .metric_sd, .loss, .train_loss, .fisher]]" "$1"; }
ok '[[ $(scores $T/a.json) == "$(scores $T/b.json)" ]]'

# ---- 4. a subset, no validation file, a cap
"$PIFI" select-layer "${run[@]}" --valid "$T/valid.tsv" --layers -1,3 --json > "$T/c.json" 2> /dev/null
ok '[[ $? -eq 0 ]] && jq -e "[.layers[].layer] == [4,3] and .pick.layer == 3 and .last.layer == 4" $T/c.json > /dev/null'
ok '[[ $(jq -c "[.layers[3] | .metric, .loss]" $T/a.json) == "$(jq -c "[.layers[1] | .metric, .loss]" $T/c.json)" ]]'
"$PIFI" select-layer "${run[@]}" --layers 3 --max-examples 100 --json > "$T/d.json" 2> "$T/d.err"
ok '[[ $? -eq 0 ]] && jq -e ".n_train == 100 and .n_valid == 60 and .last == null" $T/d.json > /dev/null'
ok 'grep -q "no validation split: the layers are scored on 20% of the training rows (60, seeded)" $T/d.err'
ok 'grep -q "probing on 100 of 240 training and 60 of 60 validation rows (--max-examples 100" $T/d.err'

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
