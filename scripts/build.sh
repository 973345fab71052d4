#!/usr/bin/env bash
# build.sh: configure and build pifi into ./build (Release, -Werror).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
