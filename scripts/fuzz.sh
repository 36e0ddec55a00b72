#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build-fuzz/ and runs each for FUZZ_SECONDS
# (default 60), seeded with the .npy fixtures; a crash, leak or sanitizer report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
mkdir -p build-fuzz
CXX=clang++ cmake -S . -B build-fuzz -DRFM_FUZZ=ON -DRFM_TESTS=OFF -DRFM_CUDA=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo > build-fuzz/configure.log 2>&1 ||
  { cat build-fuzz/configure.log; exit 1; }
cmake --build build-fuzz --target fuzz_npy fuzz_csv -j "$(nproc)" 2>&1 | grep -E "error|warning:" || true
corpus=$(mktemp -d)
mkdir -p "$corpus/npy" "$corpus/csv"
cp tests/data/npy_*.npy "$corpus/npy/"
printf 'x,y\n1,2\n3.5,-4e3\n' > "$corpus/csv/seed.csv"
for target in npy csv; do
  echo "fuzz_$target: ${seconds} s"
  log="$corpus/$target.log"
  if ! build-fuzz/fuzz_$target -max_total_time="$seconds" -rss_limit_mb=2048 \
      -print_final_stats=1 "$corpus/$target" > "$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz_$target found a problem (reproducer above)"
    exit 1
  fi
  grep -E "stat::number_of_executed_units" "$log" || true
done
rm -rf "$corpus"
