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
tmp=$(mktemp -d)
build-cuda/rfm grok --device cuda --p 97 --iters 5 --out "$tmp/grok-p97" --force
# The same accuracy curve on both devices: add mod 61, 30 iterations, test_acc column by column.
build-cuda/rfm grok --device cpu --iters 30 --quiet --out "$tmp/cpu61" --force
build-cuda/rfm grok --device cuda --iters 30 --quiet --out "$tmp/cuda61" --force
paste -d, "$tmp/cpu61/metrics.csv" "$tmp/cuda61/metrics.csv" | awk -F, -v half=12 '
  NR == 1 { for (i = 1; i <= NF; i++) if ($i == "test_acc") { col = i; break }; half = NF / 2; next }
  { d = $col - $(col + half); if (d < 0) d = -d; if (d > worst) worst = d }
  END { printf "gpu_check: add mod 61 test accuracy, largest cpu/cuda difference %g\n", worst;
        exit worst > 0.002 }' || { echo "gpu_check: accuracy curves differ"; exit 1; }
# Issue 4's large case (n = 54,780; the memory estimate is printed at the start): opt in with
# GPU_CHECK_LONG=1, it takes minutes.
if [ "${GPU_CHECK_LONG:-0}" = 1 ]; then
  time build-cuda/rfm grok --device cuda --p 331 --frac 0.5 --iters 30 --out "$tmp/grok-p331" --force
fi
echo "gpu_check: all passed"
