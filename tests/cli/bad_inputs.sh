#!/usr/bin/env bash
# bad_inputs.sh: every bad input to the CLI gives exactly one line
# "pifi: <file or subject>: <what is wrong>" on stderr, a non-zero exit
# status (2 for bad input or usage) and writes nothing. One case per line.
set -u
PIFI=${PIFI_BIN:?PIFI_BIN must point at the pifi binary}
FIX=${PIFI_FIXTURES:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0

# expect STATUS SUBSTRING -- command...
expect() {
  local want_status=$1 want=$2; shift 3
  local err status lines
  err=$("$@" 2>&1 >/dev/null); status=$?
  lines=$(printf '%s\n' "$err" | grep -c .)
  if [[ $status -eq $want_status && $lines -le 2 && $err == pifi:* && $err == *"$want"* ]]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $*"
    echo "  status $status (want $want_status), stderr: $err"
  fi
}

model=$T/model
mkdir -p "$model"
cp "$FIX"/encoders/bert_tiny/config.json "$FIX"/encoders/bert_tiny/model.safetensors "$model"/
cp "$FIX"/tokenizers/bert_uncased/vocab.txt "$model"/ 2>/dev/null || true
good=$FIX/encoders/bert_tiny/model.safetensors

# --- safetensors ---
printf 'abc' > "$T/short.safetensors"
expect 2 "short.safetensors" -- "$PIFI" info "$T/short.safetensors"
python3 - "$good" "$T" <<'PY' 2>/dev/null || { head -c 8 "$good" > /dev/null; }
import json, struct, sys
good, T = sys.argv[1], sys.argv[2]
raw = open(good, 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
hdr = json.loads(raw[8:8 + n]); data = raw[8 + n:]
def write(name, h, d=data, hlen=None):
    js = json.dumps(h).encode()
    js += b' ' * (-len(js) % 8)
    open(f'{T}/{name}', 'wb').write(struct.pack('<Q', hlen if hlen is not None else len(js)) + js + d)
write('hdrlen.safetensors', hdr, hlen=10**9)
k = next(x for x in hdr if x != '__metadata__')
h = json.loads(json.dumps(hdr)); h[k]['data_offsets'][1] = len(data) + 4; h[k]['data_offsets'][0] = len(data) + 4 - (hdr[k]['data_offsets'][1] - hdr[k]['data_offsets'][0]); write('outside.safetensors', h)
ks = [x for x in hdr if x != '__metadata__']
h = json.loads(json.dumps(hdr)); h[ks[1]]['data_offsets'] = list(h[ks[0]]['data_offsets']); write('overlap.safetensors', h)
h = json.loads(json.dumps(hdr)); h[k]['dtype'] = 'Q7'; write('dtype.safetensors', h)
h = json.loads(json.dumps(hdr)); h[k]['shape'] = [h[k]['shape'][0] + 1] + h[k]['shape'][1:]; write('shape.safetensors', h)
js = b'{"a": [1, 2'; open(f'{T}/json.safetensors', 'wb').write(struct.pack('<Q', len(js)) + js)
PY
expect 2 "header" -- "$PIFI" info "$T/hdrlen.safetensors"
expect 2 "data section" -- "$PIFI" info "$T/outside.safetensors"
expect 2 "overlap" -- "$PIFI" info "$T/overlap.safetensors"
expect 2 "Q7" -- "$PIFI" info "$T/dtype.safetensors"
expect 2 "shape.safetensors" -- "$PIFI" info "$T/shape.safetensors"
expect 2 "json.safetensors" -- "$PIFI" info "$T/json.safetensors"

# --- a model whose tensors disagree with its config, or miss one ---
bad=$T/bad_model; mkdir -p "$bad"; cp "$model"/* "$bad"/
sed -i 's/"hidden_size": *[0-9]*/"hidden_size": 48/' "$bad/config.json"
expect 2 "model.safetensors" -- "$PIFI" encode --model "$bad" "hello"
miss=$T/miss_model; mkdir -p "$miss"; cp "$model"/config.json "$model"/vocab.txt "$miss"/
python3 - "$good" "$miss/model.safetensors" <<'PY'
import json, struct, sys
raw = open(sys.argv[1], 'rb').read(); n = struct.unpack('<Q', raw[:8])[0]
hdr = json.loads(raw[8:8 + n]); del hdr['embeddings.LayerNorm.bias']
js = json.dumps(hdr).encode(); js += b' ' * (-len(js) % 8)
open(sys.argv[2], 'wb').write(struct.pack('<Q', len(js)) + js + raw[8 + n:])
PY
expect 2 "embeddings.LayerNorm.bias" -- "$PIFI" encode --model "$miss" "hello"

# --- config.json ---
cfgbad=$T/cfg_model; mkdir -p "$cfgbad"; cp "$model"/* "$cfgbad"/
printf '{"model_type": "bert",\n  "vocab_size": }' > "$cfgbad/config.json"
expect 2 "invalid JSON at line 2" -- "$PIFI" info "$cfgbad"
printf '{"model_type": "t5"}' > "$cfgbad/config.json"
expect 2 'unsupported model_type "t5"' -- "$PIFI" info "$cfgbad"

# --- tokenizer: duplicate vocab entries ---
dup=$T/dup_model; mkdir -p "$dup"; cp "$model"/config.json "$model"/model.safetensors "$dup"/
{ cat "$model/vocab.txt"; echo "the"; } > "$dup/vocab.txt"
expect 2 "vocab.txt" -- "$PIFI" encode --model "$dup" "hello"

# --- input text that is not valid UTF-8 ---
expect 2 "not valid UTF-8" -- "$PIFI" encode --model "$model" $'ok \xff\xfe bad'

# --- pickle checkpoints are refused ---
pk=$T/pickle_model; mkdir -p "$pk"; cp "$model"/config.json "$pk"/; printf 'PK\003\004' > "$pk/pytorch_model.bin"
expect 2 "pickle" -- "$PIFI" info "$pk"

# --- CLI usage ---
expect 2 "unknown option" -- "$PIFI" encode --model "$model" --frobnicate x
expect 2 "needs a value" -- "$PIFI" encode --model
expect 2 "--batch" -- "$PIFI" encode --model "$model" --batch -3 x
expect 2 "unknown command" -- "$PIFI" frobnicate
expect 2 "out of range" -- "$PIFI" extract --llm "$FIX/pifi/llama/llm" --layer 9 -o "$T/never"
[[ ! -e $T/never ]] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: partial output left"; }

# --- LLM layers (pifi extract, --llm-layer) ---
llm=$FIX/pifi/llama/llm
expect 2 'unsupported LLM model_type "bert"' -- "$PIFI" extract --llm "$FIX/pifi/llama/slm" --layer -1 -o "$T/x1"
[[ ! -e $T/x1 ]] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: partial output left (x1)"; }
# config and tensors disagree
mis=$T/llm_mis; mkdir -p "$mis"; cp "$llm"/* "$mis"/
sed -i 's/"intermediate_size": *[0-9]*/"intermediate_size": 100/' "$mis/config.json"
expect 2 "config.json implies" -- "$PIFI" extract --llm "$mis" --layer -1 -o "$T/x2"
[[ ! -e $T/x2 ]] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: partial output left (x2)"; }
# an extracted layer whose hidden size does not match its config
"$PIFI" extract --llm "$llm" --layer -1 -o "$T/layer" > /dev/null
sed -i 's/"hidden_size":[[:space:]]*[0-9]*/"hidden_size": 128/' "$T/layer/config.json"
{ printf 'text\tlabel\n'; for i in 1 2 3 4; do printf '!\t0\n!\t1\n'; done; } > "$T/bang.tsv"  # ids < 1000
expect 2 "model.layers.2.input_layernorm.weight" -- "$PIFI" train --slm "$model" --llm-layer "$T/layer" \
  --train "$T/bang.tsv" --batch 2 -o "$T/r"
[[ ! -e $T/r ]] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: run dir left (r)"; }
# a truncated GGUF and an unknown quant type
g=$FIX/pifi/llama/llm.q8_0.gguf
head -c $(( $(stat -c %s "$g") - 100 )) "$g" > "$T/trunc.gguf"
expect 2 "trunc.gguf" -- "$PIFI" extract --llm "$T/trunc.gguf" --layer -1 -o "$T/x3"
[[ ! -e $T/x3 ]] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: partial output left (x3)"; }

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
