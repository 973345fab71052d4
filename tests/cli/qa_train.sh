#!/usr/bin/env bash
# qa_train.sh: extractive question answering end to end (issue 23) on a
# tiny slice of XQuAD-en (a few paragraphs of two articles for training, of
# a third for testing) as the user's SQuAD files (--task squad), with the
# real MiniLM, a few steps each:
#   - `pifi train` with --method base and pifi (stories260K's last layer,
#     the sequence through it): each run completes, prints the test exact
#     match and F1, and records them in metrics.json; config.json says
#     "span" and has the QA options;
#   - `pifi eval RUN` prints the EM/F1 the run recorded;
#   - `pifi predict RUN --squad FILE` prints one answer with a score per
#     question, and --official writes what `pifi score --metric squad`
#     scores to the same EM/F1 as `pifi eval --data FILE`;
#   - a QA run refuses texts to classify, a classifier refuses questions,
#     `pifi quantize` and `pifi export` refuse a QA run by name, and `pifi
#     train --resume` of a complete QA run reads its results back.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
xquad=$DATA/squad_v1.1_dev_subset_xquad/xquad.en.json
[[ -f $xquad ]] || { echo "SKIPPED: needs $xquad"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
python3 - "$xquad" "$T" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))["data"]
def cut(articles, paragraphs):
    return {"version": "1.1", "data": [{"title": a["title"], "paragraphs": a["paragraphs"][:paragraphs]}
                                       for a in articles]}
json.dump(cut(data[:2], 2), open(sys.argv[2] + "/train.json", "w"))
json.dump(cut(data[2:3], 2), open(sys.argv[2] + "/test.json", "w"))
PY
nq=$(python3 -c 'import json, sys; print(sum(len(p["qas"]) for a in json.load(open(sys.argv[1]))["data"] for p in a["paragraphs"]))' "$T/test.json")
common=(--task squad --train "$T/train.json" --test "$T/test.json" --slm "$slm" --batch 4 --max-len 96
        --doc-stride 32 --epochs 1 --max-steps 3 --eval-batch 8 --precision fp32)
metric() { python3 -c 'import json, sys; print("%.6f" % json.load(open(sys.argv[1]))["test"][sys.argv[2]])' "$1/metrics.json" "$2"; }

for method in base pifi; do
  extra=()
  [[ $method == pifi ]] && extra=(--llm "$gguf" --layer -1)
  "$PIFI" train "${common[@]}" --method "$method" "${extra[@]}" -o "$T/$method" > "$T/$method.out" 2> "$T/$method.err"
  ok "[[ \$? -eq 0 && -s \$T/$method/metrics.json ]]"
  ok "grep -q 'test exact match [0-9.]*  F1 [0-9.]*' \$T/$method.out"
  ok "grep -q '\"span\":[[:space:]]*true' \$T/$method/config.json && grep -q '\"doc_stride\":[[:space:]]*32' \$T/$method/config.json"
  ok "grep -q '\"metric_for_best\":[[:space:]]*\"f1\"' \$T/$method/config.json"
  # eval prints what the run recorded
  em=$(metric "$T/$method" exact_match) f1=$(metric "$T/$method" f1)
  "$PIFI" eval "$T/$method" --json > "$T/$method.eval" 2> "$T/$method.eval.err"
  ok "[[ \$? -eq 0 ]] && grep -q '\"exact_match\":$em,\"f1\":$f1' \$T/$method.eval"
  "$PIFI" eval "$T/$method" > "$T/$method.eval.txt" 2>&1
  ok "grep -q 'exact match [0-9.]*  F1 [0-9.]* (SQuAD v1.1' \$T/$method.eval.txt"
done
[[ $fail -eq 0 ]] || cat "$T"/*.err
grep -q "ayer-attention" <<< "$("$PIFI" train --help)"
ok '[[ $? -eq 0 ]]'
ok "grep -q '\"layer_attention\":[[:space:]]*\"bidirectional\"' \$T/pifi/config.json"
ok "! grep -q '\"layer_attention\"' \$T/base/config.json" # a base run plugs no layer

# predict: an answer and a score per question; the official form scores as eval does
"$PIFI" predict "$T/pifi" --squad "$T/test.json" > "$T/answers.jsonl" 2> "$T/answers.err"
ok "[[ \$? -eq 0 && \$(grep -c '\"answer\":\".*\",\"score\":-\\?[0-9]' \$T/answers.jsonl) -eq $nq ]]"
"$PIFI" predict "$T/pifi" --squad "$T/test.json" --official > "$T/pred.json" 2>> "$T/answers.err"
"$PIFI" score --metric squad --data "$T/test.json" --pred "$T/pred.json" > "$T/score.json" 2>&1
"$PIFI" eval "$T/pifi" --data "$T/test.json" --json > "$T/eval_file.json" 2>&1
read -r s_em s_f1 < <(python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); print("%.6f %.6f" % (s["exact_match"], s["f1"]))' "$T/score.json")
ok "grep -q '\"exact_match\":$s_em,\"f1\":$s_f1' \$T/eval_file.json"
ok "grep -q '\"exact_match\":$(metric "$T/pifi" exact_match),\"f1\":$(metric "$T/pifi" f1)' \$T/eval_file.json"

# the wrong kind of input, either way
"$PIFI" predict "$T/base" "a text to classify" > /dev/null 2> "$T/refuse.err"
ok "[[ \$? -eq 2 ]] && grep -q 'answers questions: give --squad FILE' \$T/refuse.err"
printf 'text\tlabel\na\t0\nb\t1\nc\t0\nd\t1\n' > "$T/cls.tsv"
"$PIFI" train --slm "$slm" --method base --train "$T/cls.tsv" --batch 2 --max-steps 1 --epochs 1 --max-len 16 \
  -o "$T/cls" > /dev/null 2>&1
"$PIFI" predict "$T/cls" --squad "$T/test.json" > /dev/null 2> "$T/refuse2.err"
ok "[[ \$? -ne 0 ]] && grep -q 'is a classifier' \$T/refuse2.err"
"$PIFI" eval "$T/cls" --task squad --data "$T/test.json" > /dev/null 2> "$T/refuse3.err"
ok "[[ \$? -ne 0 ]] && grep -q 'is a classifier; the data are questions' \$T/refuse3.err"

# not yet for QA runs: int8 and ONNX refuse them by name
"$PIFI" quantize "$T/base" -o "$T/q8" > /dev/null 2> "$T/q8.err"
ok "[[ \$? -ne 0 ]] && grep -q 'question answering run cannot be quantized' \$T/q8.err"
if grep -q "export" <<< "$("$PIFI" --help 2>&1)"; then
  "$PIFI" export "$T/base" --format onnx -o "$T/qa.onnx" > /dev/null 2> "$T/onnx.err"
  ok "[[ \$? -ne 0 ]] && grep -q 'question answering run cannot be exported' \$T/onnx.err"
fi

# a complete QA run: --resume reads its results back
"$PIFI" train --resume "$T/base" > "$T/resume.out" 2>&1
ok "[[ \$? -eq 0 ]] && grep -q 'complete already' \$T/resume.out && grep -q 'test exact match' \$T/resume.out"

echo "qa_train: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
