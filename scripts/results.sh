#!/usr/bin/env bash
# results.sh: write docs/results.md, the reproduction study's report, from the
# committed grid results (experiments/results/table1/results.csv and its run
# directories). Every number in it is generated, none typed: the tables are
# `pifi experiment --report`'s, redrawn here; the text around them is
# docs/results/intro.md (what was run), docs/results/layer-scale.md (what the
# layer does to the CLS vector: tools/layer_scale.py's measurement, made with
# transformers) and docs/results/conclusions.md (what it shows), with the
# machine, versions and model hashes filled in.
#
#   bash scripts/results.sh            # after `pifi experiment experiments/table1.toml`
set -euo pipefail
cd "$(dirname "$0")/.."
PIFI=${PIFI:-./build/pifi}
MODELS=${PIFI_MODELS:-$PWD/models}
SHARED=${PIFI_SHARED:-$(cd .. && pwd)/shared}
export PIFI_DATA=${PIFI_DATA:-$SHARED/data}
OUT=experiments/results/table1
DOC=docs/results.md
[[ -x $PIFI ]] || { echo "results.sh: no $PIFI (bash scripts/build.sh)" >&2; exit 2; }
[[ -f $OUT/results.csv ]] || { echo "results.sh: no $OUT/results.csv: run pifi experiment experiments/table1.toml" >&2; exit 2; }

"$PIFI" experiment --report "$OUT" > /dev/null
PROBE=experiments/results/lr_probe
if [[ -f $PROBE/results.csv ]]; then "$PIFI" experiment --report "$PROBE" > /dev/null; fi

cells=$("$PIFI" experiment experiments/table1.toml --dry-run 2>&1 | tail -1)
# report_tables DIR [SED_ARGS...]: DIR/results.md (pifi experiment --report's)
# as docs/results.md holds it, SED_ARGS applied first: the per-run training
# curves are not committed, so their links go; plot links made relative to docs/
report_tables() {
  local dir=$1; shift
  sed "$@" -e '/| curves |$/{s/ curves |$//;n;s/---|$//;}' \
      -e 's| \[[0-9]*\](plots/curves/[^)]*)||g' -e 's/ | |$/ |/' \
      -e "s|](plots/|](../$dir/plots/|g" "$dir/results.md"
}
hash() { if [[ -f $1 ]]; then sha256sum "$1" | cut -c1-64; else echo "(not here)"; fi; }

tmp=$(mktemp "$DOC.tmp.XXXXXX")
trap 'rm -f "$tmp"' EXIT
{
  sed -e "s|@CELLS@|$cells|" \
      -e "s|@DATE@|$(date -u +%F)|" \
      -e "s|@PIFI@|$("$PIFI" --version)|" \
      -e "s|@COMMIT@|$(git rev-parse --short HEAD 2>/dev/null || echo unknown)|" \
      -e "s|@CPU@|$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores|" \
      -e "s|@ISA@|$(grep -m1 -o -w 'amx_bf16\|avx512_bf16' /proc/cpuinfo || echo 'no bf16 instructions')|" \
      -e "s|@ONEDNN@|$(dpkg-query -W -f='${Version}' libdnnl-dev 2>/dev/null || echo unknown)|" \
      -e "s|@GCC@|$(gcc -dumpfullversion 2>/dev/null || echo unknown)|" \
      -e "s|@H_MINILM@|$(hash "$MODELS/all-MiniLM-L6-v2/model.safetensors")|" \
      -e "s|@H_SMOL@|$(hash "$MODELS/SmolLM2-135M-Instruct.Q4_1.gguf")|" \
      -e "s|@H_S260@|$(hash "$SHARED/models/stories260K/stories260K.gguf")|" \
      docs/results/intro.md
  echo
  # the generated tables
  report_tables "$OUT" -e '1s|^# Experiment results$|## The tables|'
  echo
  # the exactness check: cells retrained by scripts/rerun-cell.sh, compared number by number
  if compgen -G "experiments/results/rerun/*/compare.txt" > /dev/null; then
    echo "## Exactness check"
    echo
    echo "A finished cell retrained with a plain \`pifi train\` (\`bash scripts/rerun-cell.sh CELL_DIR\`),"
    echo "its numbers compared with the cell's to the last digit (experiments/results/rerun/):"
    for f in experiments/results/rerun/*/compare.txt; do
      echo
      sed 's/^/    /' "$f"
    done
    echo
  fi
  # what the layer does to the CLS vector (tools/layer_scale.py, measured with transformers)
  if [[ -f docs/results/layer-scale.md ]]; then cat docs/results/layer-scale.md; echo; fi
  # the learning-rate probe (experiments/lr_probe.toml), once it has run: its
  # report one heading level down, its plot links made relative to docs/
  if [[ -f $PROBE/results.csv ]]; then
    cat docs/results/lr-probe.md
    echo
    report_tables "$PROBE" -e '1,/^## /{/^## /!d;}' -e 's/^## /### /'
    echo
  fi
  cat docs/results/conclusions.md
} > "$tmp"
# every table's rule line has as many columns as its header (a table that
# renders as text would hide its numbers)
awk '/^\|---/ { if (gsub(/\|/, "|") != gsub(/\|/, "|", prev)) { print FILENAME ": line " NR ": table rule and header differ in columns" > "/dev/stderr"; bad = 1 } }
     { prev = $0 } END { exit bad }' "$tmp"
mv "$tmp" "$DOC"
trap - EXIT
echo "wrote $DOC ($cells)"
