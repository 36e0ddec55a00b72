#!/usr/bin/env bash
# Configures and builds the engine, its tests and benchmarks in build/ (Release, warnings on).
# Extra arguments go to cmake's configure step, e.g. scripts/build.sh -DRFM_CUDA=OFF.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" > build/configure.log 2>&1 || { cat build/configure.log; exit 1; }
cmake --build build -j "$(nproc)" 2>&1 | grep -E "error|warning|Built target" || true
test -x build/rfm || { echo "build failed: see above"; exit 1; }
