# family_train.bash: what the end-to-end tests of one encoder family share
# (albert_train.sh, deberta_train.sh, modernbert_train.sh, mpnet_train.sh;
# sourced after common.bash, with T the test's temporary directory):
#   family_slm DIR ENCODER_FIXTURE TOKENIZER_FIXTURE
#                       a model directory: the fixture's config.json and
#                       model.safetensors, the tokenizer fixture's files;
#   family_data NTRAIN NVALID NTEST
#                       $T/{train,valid,test}.tsv cut from SST-2;
#   family_train METHOD ARGS...
#                       `pifi train` with $T's TSVs and ARGS (pifi: the
#                       stories260K layer added) into $T/METHOD; checks it
#                       completed; $T/METHOD.names: its model.safetensors'
#                       tensor names, one a line;
#   family_eval_same RUN    `pifi eval RUN --json` gives the recorded test accuracy;
#   family_predict RUN      `pifi predict RUN TEXT` labels a text;
#   family_int8 RUN         `pifi quantize RUN --all` writes a run `pifi eval` reads.
names() { python3 -c 'import json, struct, sys
f = open(sys.argv[1], "rb"); n = struct.unpack("<Q", f.read(8))[0]
print("\n".join(k for k in json.loads(f.read(n)) if k != "__metadata__"))' "$1"; }
test_acc() { python3 -c 'import json, sys; print("%.6f" % json.load(open(sys.argv[1]))["test"]["accuracy"])' "$1/metrics.json"; }

family_slm() {
  local fix=${PIFI_FIXTURES:?}
  mkdir -p "$1"
  cp "$fix/$2/config.json" "$fix/$2/model.safetensors" "$1/"
  cp "$fix/$3/"{tokenizer.json,tokenizer_config.json,special_tokens_map.json} "$1/"
}

family_data() {
  tsv "$DATA/sst2/stsa.binary.train" "$1" > "$T/train.tsv"
  tsv "$DATA/sst2/stsa.binary.dev" "$2" > "$T/valid.tsv"
  tsv "$DATA/sst2/stsa.binary.test" "$3" > "$T/test.tsv"
}

family_train() {
  local method=$1 extra=()
  shift
  [[ $method == pifi ]] && extra=(--llm "$gguf" --layer -1)
  "$PIFI" train --train "$T/train.tsv" --valid "$T/valid.tsv" --test "$T/test.tsv" "$@" --method "$method" \
    "${extra[@]}" -o "$T/$method" > "$T/$method.out" 2> "$T/$method.err"
  local st=$?
  ok "[[ $st -eq 0 && -s \$T/$method/metrics.json ]]"
  [[ $st -eq 0 ]] || cat "$T/$method.err"
  names "$T/$method/model.safetensors" > "$T/$method.names"
}

family_eval_same() {
  local acc
  acc=$(test_acc "$1")
  "$PIFI" eval "$1" --json > "$T/eval.json" 2> "$T/eval.err"
  ok "[[ $? -eq 0 && -n '$acc' ]] && grep -q '\"accuracy\":$acc' \$T/eval.json"
}

family_predict() {
  "$PIFI" predict "$1" "a gripping, beautifully acted film" > "$T/pred.json" 2> "$T/pred.err"
  ok '[[ $? -eq 0 ]] && grep -q "\"label\"" $T/pred.json'
}

family_int8() {
  "$PIFI" quantize "$1" -o "$T/q8" --all > "$T/q8.out" 2> "$T/q8.err"
  ok '[[ $? -eq 0 ]]'
  "$PIFI" eval "$T/q8" > "$T/q8eval.out" 2> "$T/q8eval.err"
  ok '[[ $? -eq 0 ]] && grep -q accuracy $T/q8eval.out'
}
