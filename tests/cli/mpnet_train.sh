#!/usr/bin/env bash
# mpnet_train.sh: the MPNet family end to end on the real all-mpnet-base-v2
# (opt-in: `scripts/get-models.sh --mpnet`; skips, saying so, without it),
# TSV files cut from SST-2, 2 steps each:
#   - `pifi train --slm all-mpnet-base-v2` with --method base, pifi (stories260K's
#     last layer) and lora: each run completes; its model.safetensors holds
#     MPNet's tensors under transformers' names (the relative position bias
#     included; LoRA folded in, no adapter left);
#   - `pifi eval RUN` gives the test accuracy the run recorded, `pifi predict`
#     labels a text;
#   - `pifi quantize RUN --all` (MPNet's linear layers and embeddings int8)
#     writes a run that `pifi eval` reads.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
mpnet=$MODELS/all-mpnet-base-v2
if [[ ! -f $mpnet/model.safetensors ]]; then
  echo "SKIPPED: needs $mpnet (opt-in, 420 MB: scripts/get-models.sh --mpnet)"; exit 77
fi
source "$(dirname "${BASH_SOURCE[0]}")/family_train.bash"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
family_data 8 4 8
common=(--slm "$mpnet" --batch 4 --max-len 16 --epochs 1 --eval-batch 8 --precision fp32)

for method in base pifi lora; do
  family_train "$method" "${common[@]}"
  ok "grep -qx encoder.relative_attention_bias.weight \$T/$method.names"
  ok "grep -qx encoder.layer.11.attention.attn.q.weight \$T/$method.names"
  ok "! grep -q lora_ \$T/$method.names"
  ok "grep -q '\"model_type\":[[:space:]]*\"mpnet\"' \$T/$method/config.json"
done
tail -2 "$T/pifi.out"

# eval reproduces the recorded test accuracy; predict labels a text
family_eval_same "$T/base"
family_predict "$T/base"

# int8: MPNet's linear layers and word embeddings
family_int8 "$T/pifi"

echo "mpnet_train: $pass checks passed, $fail failed"
[[ $fail -eq 0 ]]
