#!/usr/bin/env bash
# s2s_decode.sh: bench/s2s_decode.c (greedy and beam decoding time of the
# Multi30K T5, random weights) built against each given build directory's
# libpifi.a, then run for each in turn, REPEAT times, alternating.
#
#   bash bench/s2s_decode.sh BUILD_DIR [BUILD_DIR ...]
#   (env: N, BATCH, MAX_NEW, BEAMS, REPEAT, PIFI_DATA; OMP_NUM_THREADS, OMP_WAIT_POLICY: passive unless set)
#
# A build directory's sources are found from its CMakeCache.txt, so an older
# checkout's build (before/after) links against its own headers.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
data=${PIFI_DATA:-$root/../shared/data}
bins=()
for b in "$@"; do
  b=$(cd "$b" && pwd)
  src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$b/CMakeCache.txt")
  mpi=$(grep -q PIFI_HAVE_MPI "$b/CMakeFiles/pifi_objects.dir/flags.make" 2>/dev/null && mpicc --showme:link || true)
  out=$b/s2s_decode
  cc -O2 -std=c11 -D_GNU_SOURCE -fopenmp -I"$src/src" -isystem /usr/include/cjson "$here/s2s_decode.c" \
    "$b/libpifi.a" -lcjson -lgsl -lgslcblas -ldnnl -lutf8proc -lcrypto -lz -lm $mpi -o "$out"
  bins+=("$out")
done
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} # a shared machine: no spinning threads (docs/performance.md)
for ((i = 0; i < ${REPEAT:-1}; i++)); do
  for bin in "${bins[@]}"; do
    echo "== $bin"
    "$bin" "$root/experiments/multi30k-t5" "$data" "${N:-256}" "${BATCH:-64}" "${MAX_NEW:-40}" "${BEAMS:-5}"
  done
done
