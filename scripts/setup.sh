#!/usr/bin/env bash
# setup.sh: from a fresh Debian machine to the main job: install packages,
# build, fetch the default model, then run the main job.
# Main job for now: encode sentences with all-MiniLM-L6-v2 (the SST-2
# fine-tune replaces it once `pifi train` exists).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
export PIFI_MODELS=${PIFI_MODELS:-$PWD/models}
export PIFI_DATA=${PIFI_DATA:-$(cd .. && pwd)/shared/data}
bash scripts/get-models.sh
model="$PIFI_MODELS/all-MiniLM-L6-v2"
./build/pifi info "$model"
echo
if [[ -f $PIFI_DATA/sst2/stsa.binary.test ]]; then
  echo "encoding the first 5 SST-2 test sentences (CLS vectors, first 6 dims shown):"
  head -n 5 "$PIFI_DATA/sst2/stsa.binary.test" | cut -d' ' -f2- | ./build/pifi encode --model "$model" |
    python3 -c 'import json,sys
for l in sys.stdin:
    o=json.loads(l); print(len(o["ids"]), "tokens", " ".join("%+.4f"%v for v in o["cls"][:6]))'
else
  ./build/pifi encode --model "$model" "a gorgeous, witty, seductive movie."
fi
