#!/usr/bin/env bash
# train_decoder_slm.sh: a decoder-only LM as the SLM (the decoder family) and
# --method llm-layer-only, end to end on stories260K's GGUF (llama, 5
# layers, C 64):
#   - `pifi train --slm FILE.gguf --method base` trains and leaves a run that
#     is a checkpoint of its own: config.json (model_type llama, pooling
#     "last": the family's default, recorded), tokenizer.gguf (the GGUF's
#     tokenizer alone) that tokenizes as the GGUF does, `pifi eval` reads it;
#     `--pooling cls` overrides the default; --method lora trains the
#     adapters and saves them merged;
#   - `--method llm-layer-only --llm FILE --layer 2` (no --slm) trains the
#     head on the LLM's embeddings and layer 2 (frozen: the run's copy of
#     the layer equals the one a base run starts from), its config.json
#     names the layer, `pifi eval` and `pifi predict` read the run; --slm
#     with it is refused.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
tsv "$DATA/sst2/stsa.binary.train" 48 > "$T/train.tsv"
tsv "$DATA/sst2/stsa.binary.dev" 16 > "$T/valid.tsv"
small=(--batch 8 --max-len 32 --max-steps 2 --train "$T/train.tsv" --valid "$T/valid.tsv")
key() { jq -r "$2" "$1/config.json"; }

"$PIFI" train --slm "$gguf" --method base "${small[@]}" -o "$T/base" > /dev/null 2> "$T/err"
ok '[[ $? -eq 0 ]]' || cat "$T/err"
ok '[[ $(key $T/base .model_type) == llama && $(key $T/base .num_hidden_layers) == 5 && $(key $T/base .pifi.pooling) == last ]]'
ok '[[ -f $T/base/tokenizer.gguf && $(stat -c %s $T/base/tokenizer.gguf) -lt 100000 ]]'
texts=("Once upon a time, there was a little girl." "The cat sat on the mat!" "")
ids() { "$PIFI" encode --model "$1" "${texts[@]}" 2>/dev/null | jq -c .ids; }
ok '[[ -n $(ids "$gguf") && "$(ids "$gguf")" == "$(ids "$T/base")" ]]'
"$PIFI" eval "$T/base" --data "$T/valid.tsv" > "$T/eval.out" 2> /dev/null
ok '[[ $? -eq 0 ]] && grep -q "16 examples" $T/eval.out'

"$PIFI" train --slm "$gguf" --method base --pooling cls "${small[@]}" -o "$T/cls" > /dev/null 2>&1
ok '[[ $(key $T/cls .pifi.pooling) == cls ]]'
"$PIFI" train --slm "$gguf" --method lora "${small[@]}" -o "$T/lora" > /dev/null 2> "$T/err"
ok '[[ $? -eq 0 ]] && "$PIFI" eval "$T/lora" --data "$T/valid.tsv" > /dev/null 2>&1' || cat "$T/err"

"$PIFI" train --method llm-layer-only --llm "$gguf" --layer 2 "${small[@]}" -o "$T/llo" > /dev/null 2> "$T/err"
ok '[[ $? -eq 0 ]]' || cat "$T/err"
ok '[[ $(key $T/llo .pifi_decoder.first_layer) == 2 && $(key $T/llo .pifi_decoder.final_norm) == false && $(key $T/llo .pifi.pooling) == last ]]'
"$PIFI" eval "$T/llo" --data "$T/valid.tsv" > "$T/eval.out" 2> /dev/null
ok '[[ $? -eq 0 ]] && grep -q "16 examples" $T/eval.out'
ok '"$PIFI" predict "$T/llo" "a fine film" 2> /dev/null | jq -e .probs > /dev/null'
# frozen: layer 2's weights in the run are the LLM's, as the base run (2 steps) changed its own
hashes() { python3 - "$1" "$2" <<'EOF_PY'
import json, struct, sys, hashlib
f = open(sys.argv[1], "rb"); n = struct.unpack("<Q", f.read(8))[0]; h = json.loads(f.read(n)); base = 8 + n
t = h[sys.argv[2]]; f.seek(base + t["data_offsets"][0])
print(hashlib.sha256(f.read(t["data_offsets"][1] - t["data_offsets"][0])).hexdigest())
EOF_PY
}
w=model.layers.2.mlp.down_proj.weight
ok '[[ $(hashes $T/llo/model.safetensors $w) != $(hashes $T/base/model.safetensors $w) ]]'
"$PIFI" train --method llm-layer-only --llm "$gguf" --layer 2 "${small[@]}" --max-steps 1 -o "$T/llo1" > /dev/null 2>&1
ok '[[ $(hashes $T/llo/model.safetensors $w) == $(hashes $T/llo1/model.safetensors $w) ]]'
err=$("$PIFI" train --method llm-layer-only --slm "$slm" --llm "$gguf" --layer 2 "${small[@]}" -o "$T/bad" 2>&1 >/dev/null)
ok '[[ $? -ne 0 && $err == *"give no --slm"* ]]' || echo "$err"

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
