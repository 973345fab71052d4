#!/usr/bin/env bash
# train_gguf_slm.sh: a BERT GGUF (llama.cpp's "bert" layout) as the SLM:
#   - `pifi train --slm FILE.gguf` trains from the tiny fixture
#     (tests/fixtures/gguf_encoder/tiny_f32.gguf) and leaves a run that is a
#     BERT checkpoint of its own: config.json (model_type bert, the GGUF's
#     sizes) and the vocabulary as vocab.txt + tokenizer_config.json, which
#     tokenize as the GGUF does (`pifi encode` ids, run vs GGUF) and which
#     `pifi eval` reads;
#   - with $PIFI_MODELS/all-MiniLM-L6-v2.gguf (tools/oracle_gguf_encoder.py
#     --convert, not fetched: that part is skipped, saying so) the losses of
#     two steps are those of the safetensors original, digit for digit;
#   - a GGUF that is no model pifi reads as an SLM (quants.gguf: llama
#     metadata without the model's sizes): one error line. (A decoder GGUF,
#     stories260K's, is an SLM of the decoder family: train_decoder_slm.sh.)
set -u
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
FIX=${PIFI_FIXTURES:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
tsv "$DATA/sst2/stsa.binary.train" 48 > "$T/train.tsv"
tsv "$DATA/sst2/stsa.binary.dev" 16 > "$T/valid.tsv"
small=(--method base --batch 8 --max-len 32 --max-steps 2 --train "$T/train.tsv" --valid "$T/valid.tsv")
tiny=$FIX/gguf_encoder/tiny_f32.gguf

"$PIFI" train --slm "$tiny" "${small[@]}" -o "$T/run" > /dev/null 2> "$T/run.err"
ok '[[ $? -eq 0 ]]' || cat "$T/run.err"
ok 'grep -q "\"model_type\":[[:space:]]*\"bert\"" $T/run/config.json && grep -q "\"hidden_size\":[[:space:]]*32" $T/run/config.json'
ok '[[ $(wc -l < $T/run/vocab.txt) -eq 1200 ]] && grep -q "\"do_lower_case\":[[:space:]]*true" $T/run/tokenizer_config.json'
texts=("The man was in the NEW house!" "he said: there are two of them" "Café 12 naïve 日本")
ids() { "$PIFI" encode --model "$1" "${texts[@]}" 2>/dev/null | sed 's/.*"ids":\(\[[^]]*\]\).*/\1/'; }
ok '[[ -n $(ids "$tiny") && "$(ids "$tiny")" == "$(ids "$T/run")" ]]'
"$PIFI" eval "$T/run" --data "$T/valid.tsv" > "$T/eval.out" 2> /dev/null
ok '[[ $? -eq 0 ]] && grep -q "16 examples" $T/eval.out'

if [[ -f $MODELS/all-MiniLM-L6-v2.gguf ]]; then
  "$PIFI" train --slm "$MODELS/all-MiniLM-L6-v2.gguf" "${small[@]}" -o "$T/g" > /dev/null 2>&1
  "$PIFI" train --slm "$slm" "${small[@]}" -o "$T/s" > /dev/null 2>&1
  losses() { grep -o '"loss":[^,}]*' "$1/train_log.jsonl"; }
  echo "MiniLM: GGUF losses $(losses "$T/g" | tr '\n' ' '); safetensors $(losses "$T/s" | tr '\n' ' ')"
  ok '[[ -n $(losses $T/g) && "$(losses $T/g)" == "$(losses $T/s)" ]]'
else
  echo "MiniLM: $MODELS/all-MiniLM-L6-v2.gguf not made (tools/oracle_gguf_encoder.py --convert): that part skipped"
fi

err=$("$PIFI" train --slm "$FIX/gguf/quants.gguf" "${small[@]}" -o "$T/bad" 2>&1 >/dev/null)
ok '[[ $? -ne 0 && $(grep -c . <<< "$err") -eq 1 && $err == *"missing metadata key '"'"'llama.embedding_length'"'"'"* ]]' || echo "$err"

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
