#!/usr/bin/env bash
# models_doc.sh: docs/models.md names every encoder and encoder-decoder family, model_type and
# LLM architecture that `pifi info --models --json` lists from the tables,
# and every row of those tables says how it is checked. Needs no model.
set -u
PIFI=${PIFI_BIN:?}
DOC="$(dirname "${BASH_SOURCE[0]}")/../../docs/models.md"
pass=0 fail=0
ok() { if eval "$1"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }
J=$("$PIFI" info --models --json)
ok '[[ $? -eq 0 ]] && jq -e . <<< "$J" > /dev/null'
ok '[[ $(jq "[.encoder_families[], .seq2seq_families[], .llm_architectures[] | select((.checked // \"\") == \"\")] | length" <<< "$J") -eq 0 ]]'
for name in $(jq -r '.encoder_families[], .seq2seq_families[] | .name, .model_types[]' <<< "$J") \
            $(jq -r '.llm_architectures[] | .model_type, (.gguf // empty)' <<< "$J"); do
  ok "grep -q '\`$name\`' '$DOC'"
done
ok '"$PIFI" info --models | grep -q "^  mpnet "'
"$PIFI" info --models x > /dev/null 2>&1
ok '[[ $? -eq 2 ]]'
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
