#!/usr/bin/env bash
# test.sh: the test suite. Installs missing Debian packages, builds, fetches
# the real default model (tests that need it skip, saying so, if it cannot be
# fetched), and runs every test with CTest.
#
# With CI=true (.ci/run sets it; so do most CI services) it also fuzzes every
# parser for PIFI_FUZZ_SECONDS (default 60) each under ASan+UBSan, and runs
# the whole suite again built with ASan+UBSan, leak checking on, the CLI
# end-to-end tests included (scripts/sanitize.sh). Locally: the fuzz corpora
# are replayed only; PIFI_FUZZ_SECONDS=60 / PIFI_SANITIZE=1 ask for the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
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
if [[ $CI == true || -n ${PIFI_SANITIZE:-} ]]; then
  bash scripts/sanitize.sh
fi
