#!/usr/bin/env bash
# serve_predict.sh: `pifi serve` answers /predict with what `pifi predict`
# gives, on the tiny run of serve_common.bash (pifi predict --precision fp32
# on the same run is the reference, 100 SST-2 texts):
#  - bit for bit when the server's forward passes are pifi predict's: the
#    100 texts as batch requests of 32, 32, 32 and 4 texts to a server with
#    --max-batch-size 32 (pifi predict's --batch), one after the other: each
#    score, read back as the float it prints, has pifi predict's 6 decimals;
#  - to fp32 rounding when requests are batched across clients: the 100
#    texts as 100 one-text requests from 16 clients at once (checked: fewer
#    forward passes than requests); each input's classes in the same order
#    and each score within 2e-6 of pifi predict's (another batch pads to
#    another length: pifi predict --batch 1 and --batch 32 differ as much).
# Also: raw_scores are the logits the scores are the softmax of; truncate
# (422 without it over the run's max length; with it, pifi predict's
# answer); /embed's vectors (unit length, the same alone as in a batch);
# /info; /health; the JSON log lines; SIGTERM ends it with status 0.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/serve_common.bash"
T=$(mktemp -d)
trap 'kill $SPID 2> /dev/null; rm -rf "$T"' EXIT
SPID=""

serve_run "$T/run"
ok '[[ $? -eq 0 ]]'
awk 'NR > 200 && NR <= 300 { $1 = ""; sub(/^ /, ""); print }' "$DATA/sst2/stsa.binary.train" > "$T/texts.txt"
ok '[[ $(wc -l < $T/texts.txt) -eq 100 ]]'
long=$(for i in $(seq 150); do printf 'word%d ' "$i"; done) # over the run's 100 tokens
printf '%s\n' "$long" >> "$T/texts.txt"
# the reference: the command line, one process, batches of 32
"$PIFI" predict "$T/run" --precision fp32 --input "$T/texts.txt" > "$T/cli.jsonl"
ok '[[ $? -eq 0 && $(wc -l < $T/cli.jsonl) -eq 101 ]]'
# each input's classes by probability, highest first, as "label score" (pifi predict's 6 decimals)
jq -r '.probs | to_entries | sort_by(-.value) | map("\(.key) \(.value)") | join(" ")' "$T/cli.jsonl" |
  awk '{ for (i = 2; i <= NF; i += 2) $i = sprintf("%.6f", $i); print }' > "$T/expected.txt"
# a server response's list for one input, the same way (its floats in full)
as_lines() { jq -r '.[] | map("\(.label) \(.score)") | join(" ")'; }
# exact EXPECTED GOT: each score read back as the float32 it was printed from
# (9 digits) and printed as pifi predict prints it: the same lines
exact() {
  python3 -c '
import struct, sys
for line in sys.stdin:
    f = line.split()
    for i in range(1, len(f), 2):
        f[i] = "%.6f" % struct.unpack("f", struct.pack("f", float(f[i])))[0]
    print(" ".join(f))' < "$2" | diff "$1" - > "$T/exact.diff" || { head -4 "$T/exact.diff"; false; }
}
# same EXPECTED GOT: line by line the same classes in the same order, and each
# score within 2e-6 of what pifi predict printed
same() {
  awk 'NR == FNR { want[FNR] = $0; next }
       { n = split(want[FNR], w, " "); m = split($0, g, " ")
         bad = n != m || n == 0
         for (i = 1; i <= n && !bad; i += 2) bad = w[i] != g[i] || (w[i + 1] - g[i + 1])^2 > (2e-6)^2
         if (bad) { printf "input %d: pifi predict %s, pifi serve %s\n", FNR, want[FNR], $0; errs++ } }
       END { exit errs > 0 || FNR == 0 }' "$1" "$2"
}

serve_start "$T/run" --precision fp32 --max-batch-size 32 --max-wait-ms 5
ok '[[ $? -eq 0 ]]'
curl -s -o /dev/null -w '%{http_code}' "$URL/health" > "$T/health"
ok '[[ $(cat $T/health) == 200 ]]'
curl -s "$URL/info" > "$T/info.json"
ok 'jq -e ".model_type.classifier.id2label[\"0\"] == \"0\" and .method == \"pifi\" and .precision == \"fp32\" and .max_input_length == 100 and .embed_dim == 384 and .version == \"$(sed -nE "s/^#define PIFI_VERSION \"(.*)\"$/\1/p" "$PIFI_SOURCE_DIR/include/pifi.h")\"" $T/info.json > /dev/null'

# pifi predict's forward passes: batches of 32, 32, 32 and 4 ([[text], ...]), one at a time
for b in 0 1 2 3; do
  sed -n "$((b * 32 + 1)),$((b < 3 ? b * 32 + 32 : 100))p" "$T/texts.txt" | jq -R '[.]' | jq -cs '{inputs: .}' > "$T/batch$b.json"
  curl -s -m 120 -H 'Content-Type: application/json' --data-binary "@$T/batch$b.json" -o "$T/batch$b.out" "$URL/predict"
done
for b in 0 1 2 3; do as_lines < "$T/batch$b.out"; done > "$T/got_batches.txt"
ok 'exact <(head -100 $T/expected.txt) $T/got_batches.txt'

# 100 requests of one text each, from 16 clients at once
mkdir "$T/resp"
head -100 "$T/texts.txt" | nl -ba -w1 -s$'\t' > "$T/numbered.txt"
one() { # LINE: "N<TAB>text"
  local n=${1%%$'\t'*} text=${1#*$'\t'}
  curl -s -m 120 -H 'Content-Type: application/json' --data-binary "$(jq -cn --arg t "$text" '{inputs: $t}')" \
    -o "$T/resp/$n.json" -w '%{http_code}\n' "$URL/predict" > "$T/resp/$n.code"
}
export -f one; export T URL
tr '\n' '\0' < "$T/numbered.txt" | xargs -0 -P 16 -I{} bash -c 'one "$1"' _ {}
ok '[[ $(cat $T/resp/*.code | grep -c "^200$") -eq 100 ]] || { cat $T/resp/*.code | sort | uniq -c; grep -v "status\":200" $SERVE_ERR | head -3; false; }'
for n in $(seq 100); do jq -c '[.]' "$T/resp/$n.json" | as_lines; done > "$T/got.txt"
ok 'same <(head -100 $T/expected.txt) $T/got.txt'
# the compute thread batched requests together: fewer forward passes than requests
passes=$(curl -s "$URL/metrics" | sed -nE 's/^pifi_batch_size_count ([0-9]+)$/\1/p')
ok '[[ -n $passes && $passes -lt 100 ]] || { echo "forward passes: $passes"; false; }'

# raw_scores: the logits the scores are the softmax of
text=$(sed -n 1p "$T/texts.txt")
post /predict "$(jq -cn --arg t "$text" '{inputs: $t, raw_scores: true}')" > "$T/raw.out"
ok 'tail -1 $T/raw.out | grep -q "HTTP 200"'
head -1 "$T/raw.out" | jq -r '(map(.score) | max) as $m | (map(.score - $m | exp) | add) as $s
  | map("\(.label) \((.score - $m | exp) / $s)") | join(" ")' > "$T/softmax.txt"
ok 'same <(head -1 $T/expected.txt) $T/softmax.txt'
ok '[[ $(head -1 $T/raw.out | jq "[.[].score] | .[0] >= .[1]") == true ]]'

# truncate: over the run's length is refused unless asked for, then pifi predict's answer
post /predict "$(jq -cn --arg t "$long" '{inputs: $t}')" > "$T/long.out"
ok 'tail -1 $T/long.out | grep -q "HTTP 422" && head -1 $T/long.out | jq -e ".error_type == \"Validation\" and (.error | test(\"tokens\"))" > /dev/null'
post /predict "$(jq -cn --arg t "$long" '{inputs: $t, truncate: true}')" > "$T/trunc.out"
ok 'same <(sed -n 101p $T/expected.txt) <(head -1 $T/trunc.out | jq -c "[.]" | as_lines)'

# /embed: one unit vector per input, the same alone and in a batch
post /embed "$(jq -cn --arg t "$text" '{inputs: $t}')" > "$T/e1.out"
post /embed "$(jq -cn --arg t "$text" --arg u "$(sed -n 2p "$T/texts.txt")" '{inputs: [$u, $t]}')" > "$T/e2.out"
post /embed "$(jq -cn --arg t "$text" '{inputs: [$t], normalize: false}')" > "$T/e3.out"
ok 'tail -1 $T/e1.out | grep -q "HTTP 200" && [[ $(head -1 $T/e1.out | jq ".[0] | length") -eq 384 ]]'
ok '[[ $(head -1 $T/e1.out | jq ".[0] | map(. * .) | add | . - 1 | fabs < 1e-5") == true ]]'
ok '[[ $(jq -n --slurpfile a <(head -1 $T/e1.out) --slurpfile b <(head -1 $T/e2.out) \
  "[\$a[0][0], \$b[0][1]] | transpose | map(.[0] - .[1] | fabs) | max < 1e-6") == true ]]'
ok '[[ $(head -1 $T/e3.out | jq ".[0] | map(. * .) | add | . - 1 | fabs > 1e-3") == true ]]'

# the log: one JSON line per request, with its id, status, inputs and times
ok '[[ $(grep -c "\"path\":\"/predict\",\"status\":200,\"inputs\":1,\"tokens\":[0-9]*,\"queue_ms\":[0-9.]*,\"compute_ms\":[0-9.]*" $SERVE_ERR) -ge 100 ]]'
ok 'jq -e . $SERVE_ERR > /dev/null'
serve_stop
ok '[[ $SERVE_STATUS -eq 0 ]] || { echo "exit status $SERVE_STATUS"; false; }'
ok 'tail -1 $SERVE_ERR | grep -q "\"event\":\"stopped\""'
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
