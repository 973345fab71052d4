# common.bash: what the end-to-end CLI tests share (sourced, not a test: the
# CTest glob takes tests/cli/*.sh). Paths from the environment CTest sets
# (tests/CMakeLists.txt), the real MiniLM and stories260K's GGUF (the test
# skips, exit 77, without them or SST-2), an ok() that counts checks, and
# tsv FILE N: the first N lines of an SST-2 file as a TSV with a header.
PIFI=${PIFI_BIN:?}
MODELS=${PIFI_MODELS:-models}
DATA=${PIFI_DATA:-../shared/data}
SHARED=${PIFI_SHARED:-../shared}
slm=$MODELS/all-MiniLM-L6-v2
gguf=$SHARED/models/stories260K/stories260K.gguf
if [[ ! -f $slm/model.safetensors || ! -f $DATA/sst2/stsa.binary.train || ! -f $gguf ]]; then
  echo "SKIPPED: needs $slm (scripts/get-models.sh), $DATA/sst2 and $gguf"; exit 77
fi
pass=0 fail=0
ok() { if eval "$1"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }
tsv() { printf 'text\tlabel\n'; awk -v n="$2" 'NR <= n { l = $1; $1 = ""; sub(/^ /, ""); print $0 "\t" l }' "$1"; }
