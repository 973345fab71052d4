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
# mpi_setup: MPI=(mpirun ...) for a test's multi-rank runs: OpenMPI on
# loopback, oversubscribed, as root where needed; under scripts/sanitize.sh
# OpenMPI's plugins stay loaded (no dlclose) and the slow unwinder walks
# through them, so that the LeakSanitizer suppressions of
# tests/sanitizers/lsan.supp can name OpenMPI's own leaks. Returns 1 when
# there is no mpirun or pifi was built without MPI.
mpi_setup() {
  command -v mpirun > /dev/null && ! grep -q "built without MPI" "$PIFI" || return 1
  export OMPI_MCA_btl=${OMPI_MCA_btl:-self,tcp} OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
  MPI=(mpirun --oversubscribe -x OMP_NUM_THREADS)
  if [[ -n ${PIFI_SANITIZED:-} ]]; then
    export ASAN_OPTIONS="${ASAN_OPTIONS:-}:fast_unwind_on_malloc=0" OMPI_MCA_mca_base_component_disable_dlclose=1
    MPI+=(-x ASAN_OPTIONS -x LSAN_OPTIONS -x UBSAN_OPTIONS -x OMPI_MCA_mca_base_component_disable_dlclose)
  fi
  [[ $(id -u) -eq 0 ]] && MPI+=(--allow-run-as-root)
  return 0
}
