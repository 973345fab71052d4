#!/usr/bin/env bash
# options.sh: long options must be spelt in full in every command (issue 19:
# getopt_long took `--epoch 1` for --epochs). An abbreviation, or a prefix of
# several options, is one usage error naming the full option(s), exit 2; an
# option spelt in full (also as --opt=value, and one that is a prefix of
# another, like extract's --layer of --layers) still works. Needs no model:
# each accepted command line fails later, at its missing inputs.
set -u
PIFI=${PIFI_BIN:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { if eval "$1"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }
# refused CMD ARGS... -- SUGGESTION: exit 2, one "pifi:" line, naming the option given and the full one(s)
refused() {
  local args=() a
  while [[ $1 != -- ]]; do args+=("$1"); shift; done
  "$PIFI" "${args[@]}" > /dev/null 2> "$T/err" < /dev/null
  local st=$?
  [[ $st -eq 2 && $(grep -c '^pifi:' "$T/err") -eq 1 ]] && grep -qF "$2" "$T/err" || { cat "$T/err"; return 1; }
}

ok 'refused train --epoch 1 -- "pifi: train: unknown option '"'--epoch'"' (did you mean --epochs?)"'
ok 'refused train --slm x --epoch=1 -- "unknown option '"'--epoch'"' (did you mean --epochs?)"'
ok 'refused train --eval x -- "(did you mean --eval-batch or --eval-task?)"'
ok 'refused eval RUN --jso -- "pifi: eval: unknown option '"'--jso'"' (did you mean --json?)"'
ok 'refused predict RUN text --bat 4 -- "(did you mean --batch?)"'
ok 'refused info --sl x -- "(did you mean --slm?)"'
ok 'refused encode --mod x text -- "(did you mean --model?)"'
ok 'refused extract --lay 1 -- "(did you mean --layer or --layers?)"'
ok 'refused quantize RUN --al -- "(did you mean --all?)"'
ok 'refused bench --llm-l x -- "(did you mean --llm-layer?)"'
ok 'refused data list --data-d x -- "(did you mean --data-dir?)"'
ok 'refused experiment grid.toml --dry -- "(did you mean --dry-run?)"'
# unknown options that begin no option: the commands' own message
ok 'refused train --nope -- "pifi: train: unknown option '"'--nope'"'" && ! grep -q "did you mean" $T/err'

# spelt in full: parsed, and the command goes on to its inputs
"$PIFI" train --epochs 1 > /dev/null 2> "$T/full.err"
ok '[[ $? -eq 2 ]] && grep -q "slm DIR is required" $T/full.err'
"$PIFI" train --epochs=1 > /dev/null 2> "$T/full2.err"
ok '[[ $? -eq 2 ]] && grep -q "slm DIR is required" $T/full2.err'
"$PIFI" extract --layer 1 --llm "$T/none.gguf" -o "$T/out" > /dev/null 2> "$T/layer.err"
ok '! grep -q "did you mean" $T/layer.err && grep -q "none.gguf" $T/layer.err'
"$PIFI" eval "$T/norun" --json > /dev/null 2> "$T/eval.err"
ok '! grep -q "option" $T/eval.err && grep -q "norun" $T/eval.err'

# --help's --slm line lists every encoder family's model type `pifi info --models` reads (both from the
# family registry; the encoder-decoder families are not trainable from the command line yet)
"$PIFI" train --help > "$T/help" 2>&1
for t in $("$PIFI" info --models --json | jq -r '.encoder_families[].model_types[]'); do
  ok 'tr -s " \n" "  " < $T/help | grep -q "model_type is one of.*\b'"$t"'\b"'
done

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
