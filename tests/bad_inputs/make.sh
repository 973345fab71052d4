#!/usr/bin/env bash
# make.sh: write every bad input of the catalogue (tests/bad_inputs/cases.tsv)
# into OUT_DIR, each made from a small valid piece (the fixtures in
# tests/fixtures, stories260K, MiniLM's config and tokenizer) corrupted with
# printf, head, dd, sed and cat only (no Python), so the catalogue is
# reproducible from the repository.
#
#   tests/bad_inputs/make.sh OUT_DIR
#
# Environment: PIFI_BIN (the pifi binary: one valid tiny run is trained, then
# corrupted), PIFI_FIXTURES (default tests/fixtures beside this script),
# PIFI_MODELS (all-MiniLM-L6-v2), PIFI_SHARED (models/stories260K).
set -euo pipefail
OUT=${1:?usage: make.sh OUT_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
FIX=${PIFI_FIXTURES:-$HERE/../fixtures}
MODELS=${PIFI_MODELS:-$HERE/../../models}
SHARED=${PIFI_SHARED:-$HERE/../../../shared}
PIFI=${PIFI_BIN:?PIFI_BIN must point at the pifi binary}
MINILM=$MODELS/all-MiniLM-L6-v2
STORIES=$SHARED/models/stories260K/stories260K.gguf
mkdir -p "$OUT"
cd "$OUT"

# ---- little-endian integers and files from pieces ----
u32() { local v=$1 i; for i in 0 1 2 3; do printf "\\$(printf '%03o' $(((v >> (8 * i)) & 255)))"; done; }
u64() { local v=$1 i; for i in 0 1 2 3 4 5 6 7; do printf "\\$(printf '%03o' $(((v >> (8 * i)) & 255)))"; done; }
zeros() { head -c "$1" /dev/zero; }
# st FILE HEADER_JSON DATA_BYTES: a safetensors file, the header length
# written as the JSON's byte count.
st() {
  local n
  n=$(printf '%s' "$2" | wc -c)
  { u64 "$n"; printf '%s' "$2"; zeros "$3"; } > "$1"
}
# gstr S: a GGUF string (u64 length + bytes)
gstr() { u64 ${#1}; printf '%s' "$1"; }
# patch FILE OFFSET BYTES...: overwrite bytes in place (printf escapes)
patch() { printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }

# ---- the valid pieces ----
# slm/: bert_tiny with the first 1000 entries of a BERT vocabulary (its size)
mkdir -p slm
cp "$FIX/encoders/bert_tiny/config.json" "$FIX/encoders/bert_tiny/model.safetensors" slm/
head -n 1000 "$FIX/tokenizers/bert_uncased/vocab.txt" > slm/vocab.txt
# good.tsv: a tiny labelled file (words inside that vocabulary)
{ printf 'text\tlabel\n'; for _ in 1 2 3 4; do printf 'the cat\tpos\na dog\tneg\n'; done; } > good.tsv
# run/: one valid PiFi run of one step (the fixture Llama's last layer), its checkpoint kept
"$PIFI" train --slm slm --llm "$FIX/pifi/llama/llm" --layer -1 --train good.tsv --valid good.tsv --batch 4 --max-steps 1 \
  --precision fp32 --threads 1 --keep-checkpoint yes -o run > /dev/null 2> run.log
# runcopy NAME: a copy of the valid run to corrupt
runcopy() { rm -rf "$1"; cp -r run "$1"; }
# statecopy NAME: the same as a run stopped before its end (no final metrics.json): --resume
# reads its checkpoint (a complete run's is not read: there is nothing to resume)
statecopy() { runcopy "$1"; rm "$1/metrics.json"; }

# ================= safetensors checkpoints =================
: > st_empty.safetensors
printf 'abc' > st_short.safetensors
{ u64 1000000000000; printf '{}'; } > st_hdrlen_absurd.safetensors
{ u64 4096; printf '{"a": {}}'; } > st_hdrlen_past_end.safetensors
st st_json_invalid.safetensors '{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]' 8
st st_not_object.safetensors '{"w": [1, 2, 3]}' 0
st st_dtype_unknown.safetensors '{"w": {"dtype": "Q7", "shape": [2], "data_offsets": [0, 8]}}' 8
st st_shape_size_mismatch.safetensors '{"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}' 8
st st_offsets_past_end.safetensors '{"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}' 8
st st_offsets_reversed.safetensors '{"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 0]}}' 8
st st_overlap.safetensors \
  '{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}' 12
st st_huge_elems.safetensors \
  '{"w": {"dtype": "F32", "shape": [1000000, 1000000000], "data_offsets": [0, 8]}}' 8
st st_negative_dim.safetensors '{"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}' 8
st st_duplicate_key.safetensors \
  '{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}' 16
st st_non_utf8.safetensors "$(printf '{"w\377": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}')" 8
head -c 4000 "$FIX/encoders/bert_tiny/model.safetensors" > st_truncated.safetensors

# ---- sharded index ----
mkdir -p idx_missing_shard idx_escape idx_no_map
cp slm/config.json slm/vocab.txt idx_missing_shard/
printf '{"metadata": {}, "weight_map": {"embeddings.word_embeddings.weight": "model-00001-of-00002.safetensors"}}' \
  > idx_missing_shard/model.safetensors.index.json
cp slm/config.json slm/vocab.txt idx_escape/
printf '{"weight_map": {"embeddings.word_embeddings.weight": "../slm/model.safetensors"}}' \
  > idx_escape/model.safetensors.index.json
cp slm/config.json slm/vocab.txt idx_no_map/
printf '{"metadata": {"total_size": 8}}' > idx_no_map/model.safetensors.index.json

# ================= GGUF =================
G=$FIX/pifi/llama/llm.q8_0.gguf
cp "$G" gguf_bad_magic.gguf; patch gguf_bad_magic.gguf 0 'GGML'
cp "$G" gguf_bad_version.gguf; patch gguf_bad_version.gguf 4 '\143\000\000\000'        # 99
cp "$G" gguf_huge_tensors.gguf; patch gguf_huge_tensors.gguf 8 '\377\377\377\377\377\377\377\017'
cp "$G" gguf_huge_kv.gguf; patch gguf_huge_kv.gguf 16 '\000\000\000\000\000\001\000\000'   # 2^40
head -c 60000 "$G" > gguf_truncated.gguf
# one key general.alignment = 3 (UINT32 = type 4), no tensors
{ printf 'GGUF'; u32 3; u64 0; u64 1; gstr general.alignment; u32 4; u32 3; } > gguf_bad_alignment.gguf
# one tensor of ggml type 99
{ printf 'GGUF'; u32 3; u64 1; u64 0; gstr w; u32 1; u64 32; u32 99; u64 0; zeros 32; } \
  > gguf_unknown_type.gguf
# encoders and tokenizers from GGUF: a model of no family (stories260K's
# general.architecture "llama" -> "mamba"), an unknown
# tokenizer.ggml.model ("bert" -> "bart"), a bert model missing a tensor
E=$FIX/gguf_encoder/tiny_f32.gguf
at=$(grep -obUa 'general.architecture' "$STORIES" | head -1 | cut -d: -f1)
cp "$STORIES" gguf_not_encoder.gguf; patch gguf_not_encoder.gguf $((at + 20 + 4 + 8)) 'mamba'
at=$(grep -obUa 'tokenizer.ggml.model' "$E" | head -1 | cut -d: -f1)
cp "$E" gguf_tok_model.gguf; patch gguf_tok_model.gguf $((at + 20 + 4 + 8)) 'bart'
at=$(grep -obUa 'blk.1.ffn_down.weight' "$E" | head -1 | cut -d: -f1)
cp "$E" gguf_enc_tensor.gguf; patch gguf_enc_tensor.gguf "$at" 'blk.1.ffn_dowm.weight'
# one key of value type 77
{ printf 'GGUF'; u32 3; u64 0; u64 1; gstr general.name; u32 77; u32 0; } > gguf_unknown_kv_type.gguf
# a real tiny Llama cut short (its last layer's bytes are gone)
if [[ -f $STORIES ]]; then head -c 900000 "$STORIES" > stories_truncated.gguf; fi

# ================= config.json: SLM =================
slmcfg() { # NAME SED_EXPR: a copy of slm/ with config.json edited
  rm -rf "$1"; cp -r slm "$1"; sed -i "$2" "$1/config.json"
}
slmcfg slm_cfg_negative_hidden 's/"hidden_size": 32/"hidden_size": -32/'
slmcfg slm_cfg_heads 's/"num_attention_heads": 4/"num_attention_heads": 5/'
slmcfg slm_cfg_vs_weights 's/"intermediate_size": 64/"intermediate_size": 48/'
slmcfg slm_cfg_invalid_json 's/"vocab_size": 1000/"vocab_size": }/'
slmcfg slm_cfg_non_utf8 "s/\"model_type\": \"bert\"/\"model_type\": \"bert$(printf '\377')\"/"
slmcfg slm_cfg_huge_vocab 's/"vocab_size": 1000/"vocab_size": 1000000000000/'
# an MPNet SLM (mpnet_tiny with slm/'s vocabulary) whose config its embeddings or bias cannot follow
mpnetcfg() { # NAME SED_EXPR
  rm -rf "$1"; mkdir -p "$1"; cp "$FIX/encoders/mpnet_tiny/config.json" "$FIX/encoders/mpnet_tiny/model.safetensors" \
    slm/vocab.txt "$1/"; sed -i "$2" "$1/config.json"
}
mpnetcfg slm_mpnet_pad 's/"pad_token_id": 1/"pad_token_id": 0/'
mpnetcfg slm_mpnet_buckets 's/"relative_attention_num_buckets": 32/"relative_attention_num_buckets": 8/'
mpnetcfg slm_mpnet_more_buckets 's/"relative_attention_num_buckets": 32/"relative_attention_num_buckets": 40/'

# ================= config.json and tensors: LLM =================
L=$FIX/pifi/llama/llm
llmcfg() { # NAME SED_EXPR
  rm -rf "$1"; mkdir -p "$1"; cp "$L/config.json" "$L/model.safetensors" "$1/"; sed -i "$2" "$1/config.json"
}
llmcfg llm_cfg_kv_heads 's/"num_key_value_heads": 2/"num_key_value_heads": 3/'
llmcfg llm_cfg_odd_head_dim 's/"head_dim": 16/"head_dim": 15/'
llmcfg llm_cfg_negative_ff 's/"intermediate_size": 96/"intermediate_size": -96/'
llmcfg llm_cfg_vs_tensors 's/"intermediate_size": 96/"intermediate_size": 100/'
llmcfg llm_cfg_absurd 's/"intermediate_size": 96/"intermediate_size": 1048576/; s/"hidden_size": 64/"hidden_size": 131072/; s/"head_dim": 16/"head_dim": 16384/'
llmcfg llm_cfg_duplicate_key 's/"hidden_size": 64/"hidden_size": 64, "hidden_size": 32/'
llmcfg llm_cfg_rope 's/"rope_type": "llama3"/"rope_type": "yarn2"/'
# one layer tensor stored as I32 (same size as F32: an integer tensor where weights belong)
rm -rf llm_dtype; mkdir -p llm_dtype; cp "$L/config.json" "$L/model.safetensors" llm_dtype/
sed -i 's/"model.layers.2.input_layernorm.weight":{"dtype":"F32"/"model.layers.2.input_layernorm.weight":{"dtype":"I32"/' \
  llm_dtype/model.safetensors
# the fixture Llama as GGUF with a config that disagrees: no config in GGUF, so
# a GGUF whose metadata says a bigger layer than its tensors hold
cp "$FIX/pifi/llama/llm.f32.gguf" gguf_meta_vs_tensors.gguf
k=$(grep -obUa 'llama.feed_forward_length' gguf_meta_vs_tensors.gguf | head -1 | cut -d: -f1)
patch gguf_meta_vs_tensors.gguf $((k + 25 + 4)) '\000\000\020\000'   # 96 -> 1048576
# ================= tokenizers =================
tokdir() { rm -rf "$1"; mkdir -p "$1"; cp slm/config.json slm/model.safetensors "$1/"; }
tokdir tok_json_no_model
printf '{"version": "1.0", "normalizer": null, "pre_tokenizer": null, "added_tokens": []}' \
  > tok_json_no_model/tokenizer.json
tokdir tok_json_non_utf8
{ printf '{"version": "1.0", "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "a\377": 1}}}'; } \
  > tok_json_non_utf8/tokenizer.json
tokdir tok_json_model_type
printf '{"model": {"type": "WordLevel", "vocab": {"a": 0}}}' > tok_json_model_type/tokenizer.json
# SentencePiece Unigram tokenizer.json files: ugjson NAME MODEL NORMALIZER PRE_TOKENIZER
ugjson() {
  tokdir "$1"
  printf '{"model": %s, "normalizer": %s, "pre_tokenizer": %s}' "$2" "$3" "$4" > "$1/tokenizer.json"
}
UGM='{"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["\u2581a", -1.0], ["a", -2.0]]}'
UGP='{"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": true}'
ugjson ug_unk_id '{"type": "Unigram", "unk_id": 3, "vocab": [["<unk>", 0.0], ["a", -1.0]]}' null null
ugjson ug_vocab_entry '{"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["a"]]}' null null
ugjson ug_no_unk '{"type": "Unigram", "vocab": [["a", -1.0]]}' null null
ugjson ug_charsmap_base64 "$UGM" '{"type": "Precompiled", "precompiled_charsmap": "AAE*AA=="}' "$UGP"
ugjson ug_charsmap_short "$UGM" '{"type": "Precompiled", "precompiled_charsmap": "AAEAAA=="}' "$UGP"
ugjson ug_replace_regex "$UGM" '{"type": "Replace", "pattern": {"Regex": "[a-z]+"}, "content": " "}' "$UGP"
ugjson ug_normalizer "$UGM" '{"type": "Nmt"}' "$UGP"
ugjson ug_pretok "$UGM" null '{"type": "Punctuation"}'
ugjson ug_prepend "$UGM" null '{"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "sometimes"}'
# byte-level BPE with a Split before ByteLevel (Llama-3 / Qwen2): only their two regexes
bpejson() {
  tokdir "$1"
  printf '{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": []}, "normalizer": null, "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": %s, "behavior": "%s", "invert": false}, {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]}}' "$2" "$3" > "$1/tokenizer.json"
}
bpejson bpe_split_pattern '{"Regex": "\\s+|\\p{L}+"}' Isolated
bpejson bpe_split_string '{"String": " "}' Isolated
bpejson bpe_split_behavior '{"String": " "}' MergedWithPrevious
tokdir vocab_empty; : > vocab_empty/vocab.txt
tokdir vocab_duplicate; { cat slm/vocab.txt; echo "[SEP]"; } > vocab_duplicate/vocab.txt
tokdir vocab_no_unk; grep -v '^\[UNK\]$' slm/vocab.txt > vocab_no_unk/vocab.txt
# vocab.json + merges.txt (RoBERTa's legacy pair), from the fixture BPE tokenizer's names
bpedir() {
  tokdir "$1"
  printf '{"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "a": 4, "b": 5, "ab": 6}' > "$1/vocab.json"
  printf '#version: 0.2\na b\n' > "$1/merges.txt"
  sed -i 's/"model_type": "bert"/"model_type": "roberta"/' "$1/config.json"
}
bpedir merges_malformed; printf '#version: 0.2\na b\nabc\n' > merges_malformed/merges.txt
bpedir merges_unknown; printf '#version: 0.2\na b\nx y\n' > merges_unknown/merges.txt
bpedir vocab_json_array; printf '["a", "b"]' > vocab_json_array/vocab.json
# MiniLM's real tokenizer.json, cut in the middle
if [[ -f $MINILM/tokenizer.json ]]; then
  tokdir tok_minilm_truncated
  head -c 300000 "$MINILM/tokenizer.json" > tok_minilm_truncated/tokenizer.json
fi

# ================= datasets =================
{ printf 'text\tlabel\n'; printf 'the cat\tpos\n'; printf 'a dog\tneg\textra\n'; } > ds_columns.tsv
{ printf 'text\tlabel\n'; printf 'the cat\tpos\n'; printf 'a \377 dog\tneg\n'; } > ds_utf8.tsv
{ printf 'text\tlabel\n'; printf 'the cat\tpos\n'; printf '\tneg\n'; } > ds_empty_text.tsv
{ printf 'text\tlabel\n'; printf 'the cat\tpos\n'; printf 'a dog\tmaybe\n'; } > ds_unknown_label.tsv
{ printf 'text\tlabel\n'; printf 'the cat\tpos\n'; printf 'a dog\t\n'; } > ds_empty_label.tsv
{ printf 'text,label\n'; printf '"the cat,pos\n'; printf 'a dog,neg\n'; } > ds_quote.csv
{ printf '{"text": "the cat", "label": "pos"}\n'; printf '{"text": "a dog", "label": \n'; } > ds_bad_line.jsonl
{ printf '{"text": "the cat", "label": "pos"}\n'; printf '{"text": "a dog"}\n'; } > ds_no_label.jsonl
: > ds_empty.tsv
mkdir -p data_empty   # a --data-dir without the task's files

# ================= WordNet (pifi score --metric meteor --wordnet DIR) =================
# wnd DIR DATA_NOUN INDEX_NOUN NOUN_EXC: a WordNet folder (printf formats), the other parts of speech empty
wnd() {
  mkdir -p "$1"; printf "$2" > "$1/data.noun"; printf "$3" > "$1/index.noun"; printf "$4" > "$1/noun.exc"
  local p; for p in verb adj adv; do : > "$1/data.$p"; : > "$1/index.$p"; : > "$1/$p.exc"; done
}
WN_DATA='  1 license\n00000012 05 n 02 dog 0 domestic_dog 0 000 | a dog\n'
wnd wn_offset '  1 license\n00000013 05 n 02 dog 0 domestic_dog 0 000 | a dog\n' '' ''
wnd wn_words "  1 license\n00000012 05 n 03 dog 0 domestic_dog 0 000 | a dog\n" '' ''
wnd wn_index_offset "$WN_DATA" 'dog n 1 0 1 0 00000099\n' ''
wnd wn_index_senses "$WN_DATA" 'dog n 2 0 1 0 00000012\n' ''
wnd wn_exc_empty "$WN_DATA" 'dog n 1 0 1 0 00000012\n' 'dogs dog\n\ncats cat\n'
mkdir -p wn_missing


runcopy run_cfg_truncated; head -c 200 run/config.json > run_cfg_truncated/config.json
runcopy run_cfg_no_pifi; sed -i 's/"pifi":/"pifo":/' run_cfg_no_pifi/config.json
runcopy run_cfg_epochs; sed -i 's/"epochs":[[:space:]]*3,/"epochs": -3,/' run_cfg_epochs/config.json
runcopy run_cfg_batch; sed -i 's/"batch":[[:space:]]*4,/"batch": 1e12,/' run_cfg_batch/config.json
runcopy run_cfg_lr; sed -i 's/"lr":[[:space:]]*[0-9.e+-]*,/"lr": -1,/' run_cfg_lr/config.json
runcopy run_cfg_lr_inf; sed -i 's/"lr":[[:space:]]*[0-9.e+-]*,/"lr": 1e999,/' run_cfg_lr_inf/config.json
runcopy run_cfg_layer; sed -i 's/"layer":[[:space:]]*-1,/"layer": 1e10,/' run_cfg_layer/config.json
runcopy run_cfg_duplicate_key; sed -i 's/"lr":/"lr": 1, "lr":/' run_cfg_duplicate_key/config.json
runcopy run_cfg_max_len; sed -i 's/"max_len":[[:space:]]*100,/"max_len": 0,/' run_cfg_max_len/config.json
runcopy run_cfg_labels   # three classes, a head of two
sed -i 's/"label_names":[[:space:]]*\["pos", "neg"\]/"label_names": ["pos", "neg", "meh"]/; s/"num_classes":[[:space:]]*2,/"num_classes": 3,/' \
  run_cfg_labels/config.json
runcopy run_cfg_num_classes; sed -i 's/"num_classes":[[:space:]]*2,/"num_classes": 7,/' run_cfg_num_classes/config.json
runcopy run_model_truncated; head -c 5000 run/model.safetensors > run_model_truncated/model.safetensors
runcopy run_model_missing; rm run_model_missing/model.safetensors
statecopy run_state_truncated; head -c 5000 run/checkpoint/state.safetensors > run_state_truncated/checkpoint/state.safetensors
# the header keeps its length: one padding space less for the one character more
statecopy run_state_step
sed -i '0,/"step":"1"/s//"step":"-5"/; 0,/]}} /s//]}}/' run_state_step/checkpoint/state.safetensors
statecopy run_state_best; sed -i '0,/"best_epoch":"0"/s//"best_epoch":"7"/' run_state_best/checkpoint/state.safetensors
statecopy run_state_method; sed -i '0,/"method":"pifi"}/s//"method":"base"}/' run_state_method/checkpoint/state.safetensors
statecopy run_state_epoch; sed -i '0,/"epoch":"0"/s//"epoch":"9"/' run_state_epoch/checkpoint/state.safetensors
mkdir -p not_a_run; printf 'hello\n' > not_a_run/notes.txt
printf 'a file\n' > existing_file
