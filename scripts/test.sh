#!/usr/bin/env bash
# test.sh: the test suite. Installs missing Debian packages, builds, fetches
# the real default model (tests that need it skip, saying so, if it cannot be
# fetched), and runs every test with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
export PIFI_MODELS=${PIFI_MODELS:-$PWD/models}
export PIFI_DATA=${PIFI_DATA:-$(cd .. && pwd)/shared/data}
export PIFI_SHARED=${PIFI_SHARED:-$(cd .. && pwd)/shared}
bash scripts/get-models.sh || echo "test: could not fetch all-MiniLM-L6-v2; the tests that need it will skip" >&2
# The parsers' fuzz harnesses, built with clang and ASan/UBSan, replaying
# their committed corpora (seeds and every input that once crashed them).
# Long runs: PIFI_FUZZ_SECONDS=60 bash scripts/fuzz.sh (docs/robustness.md).
PIFI_FUZZ_SECONDS=${PIFI_FUZZ_SECONDS:-0} bash scripts/fuzz.sh
ctest --test-dir build --output-on-failure -j2
