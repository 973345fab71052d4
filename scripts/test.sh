#!/usr/bin/env bash
# test.sh: the test suite. Installs missing Debian packages, builds, fetches
# the real default model (tests that need it skip, saying so, if it cannot be
# fetched), and runs every test with CTest.
#
# With CI=true (.ci/run sets it; so do most CI services) it also runs the
# unit tests again as on an AVX2-only CPU (when this one has AVX-512), fuzzes every
# parser for PIFI_FUZZ_SECONDS (default 60) each under ASan+UBSan, and runs
# the whole suite again built with ASan+UBSan, leak checking on, the CLI
# end-to-end tests included (scripts/sanitize.sh). Locally: the fuzz corpora
# are replayed only; PIFI_FUZZ_SECONDS=60 / PIFI_SANITIZE=1 ask for the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
# which CPU this ran on: the suite holds on AVX-512 (+ BF16) and on AVX2-only
# machines, and some tests take other paths on each (they say which)
cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | xargs || true)
feats=$(grep -o -w -E 'avx512[a-z_0-9]*|avx2|amx[a-z_0-9]*|fma' /proc/cpuinfo 2>/dev/null | sort -u | xargs || true)
echo "test: CPU ${cpu:-unknown}, $(nproc) cores; features: ${feats:-none of avx2/avx512/amx}"
[[ -n ${ONEDNN_MAX_CPU_ISA:-}${PIFI_MAX_ISA:-} ]] &&
  echo "test: capped: ONEDNN_MAX_CPU_ISA=${ONEDNN_MAX_CPU_ISA:-} PIFI_MAX_ISA=${PIFI_MAX_ISA:-}"
bash scripts/deps.sh
bash scripts/build.sh
echo "test: $(build/pifi info --cpu)"
export PIFI_MODELS=${PIFI_MODELS:-$PWD/models}
export PIFI_DATA=${PIFI_DATA:-$(cd .. && pwd)/shared/data}
export PIFI_SHARED=${PIFI_SHARED:-$(cd .. && pwd)/shared}
bash scripts/get-models.sh || echo "test: could not fetch all-MiniLM-L6-v2; the tests that need it will skip" >&2
CI=${CI:-}
# The parsers' fuzz harnesses, built with clang and ASan/UBSan: on CI each
# fuzzes for a minute; otherwise they replay their committed corpora (seeds
# and every input that once crashed them). docs/robustness.md.
if [[ $CI == true ]]; then fuzz_default=60; else fuzz_default=0; fi
PIFI_FUZZ_SECONDS=${PIFI_FUZZ_SECONDS:-$fuzz_default} bash scripts/fuzz.sh
ctest --test-dir build --output-on-failure -j2
# what the end-to-end tests counted (CTest keeps passing tests' output in its log)
grep -hE '^[0-9]+ of [0-9]+ bad inputs|^[0-9]+ kills, |disk full|ranks x|micro-batches of' \
  build/Testing/Temporary/LastTest.log 2>/dev/null | sed 's/^/summary: /' || true
# On a CPU with AVX-512, CI also runs the unit tests and the bf16 CLI test as
# an AVX2-only machine would (oneDNN and pifi's own kernels capped at AVX2,
# no native bf16), so a change made here cannot break those machines unseen.
if [[ $CI == true || -n ${PIFI_AVX2_PASS:-} ]] && grep -q -w avx512f /proc/cpuinfo; then
  echo "test: again as an AVX2-only CPU (ONEDNN_MAX_CPU_ISA=AVX2 PIFI_MAX_ISA=avx2)"
  ONEDNN_MAX_CPU_ISA=AVX2 PIFI_MAX_ISA=avx2 ctest --test-dir build --output-on-failure -j2 -R '^test_|cli_bf16_cpu'
fi
if [[ $CI == true || -n ${PIFI_SANITIZE:-} ]]; then
  bash scripts/sanitize.sh
fi
