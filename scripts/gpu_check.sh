#!/usr/bin/env bash
# The GPU backend's checks in one command, for a machine with an NVIDIA GPU (issue 4): builds
# with the CUDA backend required in build-cuda/, runs the CUDA test suite (every GPU routine
# against the CPU oracle), `rfm info`, `rfm bench --device cuda`, and a short `rfm grok` on the
# GPU. Extra arguments go to cmake's configure step, e.g. -DCMAKE_CUDA_ARCHITECTURES=90.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version \
  --format=csv,noheader || echo "gpu_check: nvidia-smi not found"
mkdir -p build-cuda
cmake -S . -B build-cuda -DCMAKE_BUILD_TYPE=Release -DRFM_CUDA=ON "$@" \
  > build-cuda/configure.log 2>&1 || { cat build-cuda/configure.log; exit 1; }
cmake --build build-cuda -j "$(nproc)" 2>&1 | grep -E "error|warning" || true
test -x build-cuda/rfm_tests || { echo "gpu_check: build failed (see above)"; exit 1; }

build-cuda/rfm info
# The CUDA suite must run, not skip: a skip here means the GPU is not usable.
out=$(build-cuda/rfm_tests -ts=cuda 2>&1) || { echo "$out"; echo "gpu_check: CUDA tests failed"; exit 1; }
echo "$out" | tail -4
if echo "$out" | grep -q "GPU test skipped"; then
  echo "gpu_check: the CUDA tests skipped: no usable device (see rfm info above)"
  exit 1
fi
build-cuda/rfm bench --device cuda
build-cuda/rfm grok --device cuda --p 97 --iters 5 --out "$(mktemp -d)/grok-p97" --force
echo "gpu_check: all passed"
