#!/usr/bin/env bash
# Builds the engine with AddressSanitizer and UndefinedBehaviorSanitizer in build-asan/ and runs
# the whole test suite under them (issue 9). Any report fails the run (-fno-sanitize-recover).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build-asan
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRFM_SANITIZE=address,undefined \
  -DRFM_CUDA=OFF > build-asan/configure.log 2>&1 || { cat build-asan/configure.log; exit 1; }
cmake --build build-asan -j "$(nproc)" 2>&1 | grep -E "error|warning:" || true
test -x build-asan/rfm_tests || { echo "sanitizer build failed"; exit 1; }
# OpenBLAS and libgomp keep thread-local pools alive at exit; their allocations are not ours.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
cd build-asan && ctest --output-on-failure
